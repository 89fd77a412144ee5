#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_policy
short_description: Declare the backup policy of a Jira or Confluence Cloud site (organization Backup & Restore API)
version_added: 0.3.0
description:
  - Makes sure the organization has a backup policy for the product O(product) of the site O(cloud_id), with the
    settings given, through the organization-level Backup & Restore API.
  - The policy is found among all the organization's policies (every page) by its site and product. When there is
    none it is created (C(POST orgs/{orgId}/cloud/{cloudId}/policies)); otherwise only the fields that differ are
    sent (C(PUT orgs/{orgId}/policies/{policyId})). Options left out are not compared.
  - A policy is not a backup; run one with M(atlassian_ops.backup.backup_run).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.org_connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_org
attributes:
  check_mode:
    support: full
    details:
      - Reads the policies and reports what would be created or changed; sends no write.
  diff_mode:
    support: full
    details:
      - Shows exactly the fields that would change (all the declared ones when the policy is created).
options:
  cloud_id:
    description:
      - The cloud id of the site (shown in C(https://<site>.atlassian.net/_edge/tenant_info)).
    type: str
    required: true
  product:
    description:
      - The product the policy backs up.
    type: str
    choices: [jira, confluence]
    required: true
  include_attachments:
    description:
      - Whether backups include attachments. Left out, an existing policy keeps its setting and a new one gets
        V(true).
    type: bool
  include_personal_spaces:
    description:
      - Confluence only (a Jira policy with it set fails before any request). Whether backups include personal
        spaces. Left out, an existing policy keeps its setting and a new Confluence policy gets V(true).
    type: bool
  storage_id:
    description:
      - The id of an external storage (see M(atlassian_ops.backup.backup_storage)) the policy exports to. Left out,
        the policy keeps its storage, or a new one uses Atlassian's.
    type: str
  state:
    description:
      - Only V(present) is supported; the API has no way to delete a policy.
    type: str
    choices: [present]
    default: present
notes:
  - The Backup & Restore API is in Atlassian's early access program (Enterprise plan); the account must be an
    organization admin. Its documentation is partial, so answers are read tolerantly (status spellings, lists bare or
    wrapped, C(policyId) or C(id)).
seealso:
  - module: atlassian_ops.backup.backup_run
  - module: atlassian_ops.backup.backup_info
"""

EXAMPLES = r"""
- name: Backup policies as code
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Confluence, with attachments and personal spaces
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence
        include_attachments: true
        include_personal_spaces: true
      register: confluence_policy

    - name: Jira, without attachments
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: jira
        include_attachments: false

    - name: Show the policy id
      ansible.builtin.debug:
        msg: "{{ confluence_policy.policy_id }}"
"""

RETURN = r"""
policy_id:
  description: The id of the policy.
  returned: success, except a creation in check mode
  type: str
  sample: 4d0c7a4e-6f1b-4b8e-9d52-1f0b3a9c2e77
policy:
  description:
    - The policy as the API returned it (after the change, if one was made). In check mode, the policy as it would
      be (the fields sent, on top of the current ones).
  returned: always
  type: dict
  sample: {"policyId": "4d0c7a4e-6f1b-4b8e-9d52-1f0b3a9c2e77", "productType": "CONFLUENCE",
           "includeAttachments": true, "includePersonalSpaces": true, "status": "ACTIVE"}
diff:
  description: The fields that change, before and after (API field names). Empty dicts when nothing changes.
  returned: always
  type: dict
  sample: {"before": {"includeAttachments": false}, "after": {"includeAttachments": true}}
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Changed includeAttachments of the confluence backup policy of site 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371.
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 409
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: POST
url:
  description: The URL of the request that failed, without credentials.
  returned: on failure of an HTTP request
  type: str
  sample: https://api.atlassian.com/public/backup-management/v2/orgs/0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/backups
response:
  description: A short, redacted excerpt of the service's answer to the request that failed.
  returned: on failure, when the service answered
  type: str
  sample: '{"errors":[{"status":403,"title":"The user is not an organization admin."}]}'
request_id:
  description: The service's request or trace id of the answer that failed, for Atlassian support.
  returned: on failure, when the service sent one
  type: str
  sample: 7f3a9c1e5b2d4f60
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.api import (
    api_product,
    field,
    policy_view,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import find_policy

ARGUMENT_SPEC = dict(
    cloud_id=dict(type="str", required=True),
    product=dict(type="str", required=True, choices=["jira", "confluence"]),
    include_attachments=dict(type="bool"),
    include_personal_spaces=dict(type="bool"),
    storage_id=dict(type="str"),
    state=dict(type="str", default="present", choices=["present"]),
)

# option -> (API field, value on creation when the option is left out)
FIELDS = (
    ("include_attachments", "includeAttachments", True),
    ("include_personal_spaces", "includePersonalSpaces", True),
    ("storage_id", "storageId", None),
)


def desired_fields(params, creating):
    fields = {}
    for option, api_field, on_create in FIELDS:
        if option == "include_personal_spaces" and params["product"] != "confluence":
            continue
        value = params[option]
        if value is None and creating:
            value = on_create
        if value is not None:
            fields[api_field] = value
    return fields


def changed_fields(current, desired):
    """The API fields of ``desired`` whose value differs in the ``current`` policy document."""
    paths = {"storageId": ("storageId", "details.storageId")}
    before, after = {}, {}
    for api_field, value in desired.items():
        now = field(current, *paths.get(api_field, (api_field,)))
        if now != value:
            before[api_field], after[api_field] = now, value
    return before, after


def run(module, api, params):
    what = "%s backup policy of site %s" % (params["product"], params["cloud_id"])
    current = find_policy(api, params["cloud_id"], params["product"])
    if current is None:
        body = dict(desired_fields(params, creating=True), product=api_product(params["product"]))
        result = dict(changed=True, diff=dict(before={}, after=body))
        if module.check_mode:
            return dict(result, policy=body, msg="Check mode: would create the %s." % what)
        created = api.create_policy(params["cloud_id"], body)
        return dict(result, policy=created, policy_id=policy_view(created or {})["policy_id"],
                    msg="Created the %s." % what)

    policy_id = policy_view(current)["policy_id"]
    before, after = changed_fields(current, desired_fields(params, creating=False))
    if not after:
        return dict(changed=False, policy=current, policy_id=policy_id, diff=dict(before={}, after={}),
                    msg="The %s is as declared." % what)
    result = dict(changed=True, policy_id=policy_id, diff=dict(before=before, after=after))
    names = ", ".join(sorted(after))
    if module.check_mode:
        return dict(result, policy=dict(current, **after), msg="Check mode: would change %s of the %s." % (names, what))
    updated = api.update_policy(policy_id, after)
    return dict(result, policy=updated if isinstance(updated, dict) else dict(current, **after),
                msg="Changed %s of the %s." % (names, what))


def main():
    def check(module, api, params):
        if params["include_personal_spaces"] is not None and params["product"] != "confluence":
            module.fail_json(msg="include_personal_spaces applies to Confluence only; remove it from the %s policy "
                                 "of site %s." % (params["product"], params["cloud_id"]))
        return run(module, api, params)

    run_org_module(ARGUMENT_SPEC, check, "apply the backup policy", supports_check_mode=True)


if __name__ == "__main__":
    main()
