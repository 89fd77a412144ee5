#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_storage
short_description: Declare an external (Amazon S3) storage for backups (organization Backup & Restore API)
version_added: 0.3.0
description:
  - Makes sure the organization has an external storage, an Amazon S3 bucket and prefix that backups can be
    exported to, through the organization-level Backup & Restore API (C(POST orgs/{orgId}/storages)).
  - A storage is found by its bucket O(name) and O(prefix) among all the organization's storages (every page).
    When it exists it is returned unchanged; the API has no way to change or delete a storage, so a storage that
    exists with other settings is reported, not altered.
  - The region is checked against the regions the service offers the organization (C(POST
    orgs/{orgId}/storages/regions)) before anything is created.
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
      - Reads the storages and the regions; never creates a storage.
  diff_mode:
    support: full
    details:
      - Shows the storage that would be created.
options:
  name:
    description:
      - The S3 bucket's name.
    type: str
    required: true
  region:
    description:
      - The bucket's AWS region; it must be one the service offers the organization.
    type: str
    required: true
  prefix:
    description:
      - The prefix (folder) in the bucket under which backups are kept.
    type: str
    required: true
  role_identifier:
    description:
      - The ARN of the IAM role Atlassian assumes to write to the bucket.
    type: str
    required: true
  principal_tag:
    description:
      - The principal tag the role's trust policy expects.
    type: str
    required: true
  cloud_id:
    description:
      - The cloud id of the site whose backups the storage holds.
    type: str
    required: true
  state:
    description:
      - Only V(present) is supported; the API has no way to delete a storage.
    type: str
    choices: [present]
    default: present
notes:
  - Atlassian no longer lets new customers store backups in Amazon S3; organizations that used it can go on
    (reference, section 4.4). The Backup & Restore API is in Atlassian's early access program.
seealso:
  - module: atlassian_ops.backup.backup_policy
  - module: atlassian_ops.backup.backup_export
"""

EXAMPLES = r"""
- name: An S3 bucket for Confluence backups
  atlassian_ops.backup.backup_storage:
    org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
    name: acme-atlassian-backups
    region: eu-central-1
    prefix: confluence
    role_identifier: arn:aws:iam::123456789012:role/atlassian-backup
    principal_tag: atlassian-backup
    cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
  register: storage
"""

RETURN = r"""
storage_id:
  description: The id of the storage.
  returned: success, except a creation in check mode
  type: str
  sample: 7e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b
storage:
  description: The storage as the API returned it (in check mode, the storage that would be created).
  returned: always
  type: dict
  sample: {"storageId": "7e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b", "storageName": "acme-atlassian-backups",
           "storageRegion": "eu-central-1", "storagePrefix": "confluence"}
diff:
  description: The storage before and after (empty before when created; empty both when it exists).
  returned: always
  type: dict
  sample: {"before": {}, "after": {"storageName": "acme-atlassian-backups"}}
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Created the storage acme-atlassian-backups/confluence.
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

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.api import field
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    region=dict(type="str", required=True),
    prefix=dict(type="str", required=True),
    role_identifier=dict(type="str", required=True),
    principal_tag=dict(type="str", required=True),
    cloud_id=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present"]),
)


def desired(params):
    return {"storageName": params["name"], "storageRegion": params["region"], "storagePrefix": params["prefix"],
            "storageType": "aws", "roleIdentifier": params["role_identifier"],
            "principalTag": params["principal_tag"], "cloudId": params["cloud_id"]}


def run(module, api, params):
    body = desired(params)
    label = "%s/%s" % (params["name"], params["prefix"])
    for raw in api.storages():
        if field(raw, "storageName", "name") == params["name"] and field(raw, "storagePrefix", "prefix") == \
                params["prefix"]:
            other = sorted(k for k, v in body.items() if field(raw, k) not in (None, v))
            msg = "The storage %s exists." % label
            if other:
                module.warn("The storage %s exists with other %s than declared; the API cannot change a storage. "
                            "Declare another prefix for a new one." % (label, ", ".join(other)))
            return dict(changed=False, storage=raw, storage_id=field(raw, "storageId", "id"),
                        diff=dict(before={}, after={}), msg=msg)
    regions = [r if isinstance(r, str) else field(r, "region", "name", "storageRegion") for r in api.regions()]
    if regions and params["region"] not in regions:
        raise TaskFailed("The service offers no storage in region %s to this organization; it offers: %s." % (
            params["region"], ", ".join(str(r) for r in regions)))
    result = dict(changed=True, diff=dict(before={}, after=body))
    if module.check_mode:
        return dict(result, storage=body, msg="Check mode: would create the storage %s." % label)
    created = api.create_storage(body) or {}
    return dict(result, storage=created, storage_id=field(created, "storageId", "id"),
                msg="Created the storage %s." % label)


def main():
    run_org_module(ARGUMENT_SPEC, run, "apply the backup storage", supports_check_mode=True)


if __name__ == "__main__":
    main()
