#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_info
short_description: List regions, storages, policies, backups, exports, imports or restores of an organization
version_added: 0.3.0
description:
  - Reads one kind of resource of the organization-level Backup & Restore API, every page of it, and returns the
    items as the API gives them. Changes nothing.
  - Paging follows Atlassian's guide (C(start) is the page index counted from 0, C(pageSize) items a page) until
    a short page or C(totalItems).
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
      - Read-only; it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - Read-only.
options:
  resource:
    description:
      - What to list.
      - V(backups) lists the backups of O(policy_id), or of the policies of O(cloud_id) and O(product) (each
        optional), or of every policy.
      - V(regions) (the regions a storage can be created in) is read with a C(POST) that changes nothing, as the
        API defines it.
    type: str
    choices: [regions, storages, policies, backups, exports, imports, restores]
    required: true
  policy_id:
    description:
      - With V(backups), the policy whose backups to list.
    type: str
  cloud_id:
    description:
      - Only items of this site (storages, policies, backups, restores).
    type: str
  product:
    description:
      - Only items of this product (storages, policies, backups, exports, restores).
    type: str
    choices: [jira, confluence]
notes:
  - V(imports) uses C(GET orgs/{orgId}/imports), the path symmetric to exports, which seed 001 does not list.
seealso:
  - module: atlassian_ops.backup.backup_policy
  - module: atlassian_ops.backup.backup_run
"""

EXAMPLES = r"""
- name: What the organization has
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Every backup policy
      atlassian_ops.backup.backup_info:
        resource: policies
      register: policies

    - name: The Confluence backups of one site
      atlassian_ops.backup.backup_info:
        resource: backups
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence
      register: backups

    - name: Count them
      ansible.builtin.debug:
        msg: "{{ policies['items'] | length }} policies, {{ backups['items'] | length }} Confluence backups"
"""

RETURN = r"""
items:
  description: Every item, as the API returns it (its field names), from all pages; C([]) when there is none.
  returned: always
  type: list
  elements: raw
  sample: [{"policyId": "4d0c7a4e-6f1b-4b8e-9d52-1f0b3a9c2e77", "productType": "CONFLUENCE", "status": "ACTIVE"}]
msg:
  description: How many items were found.
  returned: always
  type: str
  sample: 3 policies.
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

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module

ARGUMENT_SPEC = dict(
    resource=dict(type="str", required=True,
                  choices=["regions", "storages", "policies", "backups", "exports", "imports", "restores"]),
    policy_id=dict(type="str"),
    cloud_id=dict(type="str"),
    product=dict(type="str", choices=["jira", "confluence"]),
)


def matches(raw, params):
    view = org.policy_view(raw)
    return (not params["cloud_id"] or view["cloud_id"] in (None, params["cloud_id"])) and \
        (not params["product"] or view["product"] in (None, params["product"]))


def run(module, api, params):
    resource = params["resource"]
    if resource == "regions":
        items = api.regions()
    elif resource == "storages":
        items = api.storages(params["cloud_id"], params["product"])
    elif resource == "policies":
        items = [raw for raw in api.policies() if matches(raw, params)]
    elif resource == "backups":
        if params["policy_id"]:
            policy_ids = [params["policy_id"]]
        else:
            policy_ids = [org.policy_view(raw)["policy_id"] for raw in api.policies() if matches(raw, params)]
        items = [raw for policy_id in policy_ids for raw in api.backups(policy_id)]
    elif resource == "exports":
        items = api.exports(params["product"])
    elif resource == "imports":
        items = [raw for raw in api.imports() if matches(raw, params)]
    else:
        items = api.restores(params["cloud_id"], params["product"])
    return dict(changed=False, items=items, msg="%d %s." % (len(items), resource))


def main():
    run_org_module(ARGUMENT_SPEC, run, "list the resources", supports_check_mode=True)


if __name__ == "__main__":
    main()
