#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_import
short_description: Import an exported backup back into Atlassian's storage (organization Backup & Restore API)
version_added: 0.3.0
description:
  - Copies a backup that was exported to the policy's external storage back into Atlassian's storage (C(POST
    orgs/{orgId}/imports)), so that it can be restored, and waits for the copy (C(GET
    orgs/{orgId}/cloud/{cloudId}/imports/{importId})).
  - Idempotent where the service lists imports. A backup already imported, or being imported, is not imported
    again; the existing import is returned or joined. Where the service has no list of imports (see the notes),
    each run starts an import, with a warning.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.org_connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_org
attributes:
  check_mode:
    support: full
    details:
      - Reads the backup and the imports once and reports whether an import would start, or a running one be joined
        (RV(would_start), RV(would_join)); never starts one and never waits.
  diff_mode:
    support: none
options:
  backup_id:
    description:
      - The backup to import.
    type: str
    required: true
  cloud_id:
    description:
      - The cloud id of the backup's site. Left out, it is read from the backup.
    type: str
  product:
    description:
      - The backup's product. Left out, it is read from the backup.
    type: str
    choices: [jira, confluence]
notes:
  - The service does not document the shape of C(GET orgs/{orgId}/cloud/{cloudId}/imports/{importId}), C(GET
    orgs/{orgId}/imports) and the start answer. The import's id and status are read under their documented names first
    (C(importId) or C(id); C(status) or C(state), any case); when a name is missing, by shape (issue 19), as the job
    inside a one-element list, a plural key or a C(result)/C(data) nesting, its id under any key ending in
    C(id)/C(Id)/C(ID) that does not name another object (C(cloudId), C(policyId)...), its status under any key named
    like status or state; a list under any key holding a list of objects, its total under a key that says total, or
    none. Each field read so is named, with its path, in a warning (once per run) so that it can be reported.
  - Import works only for a backup exported earlier with M(atlassian_ops.backup.backup_export).
  - The imports are found with C(GET orgs/{orgId}/imports), which seed 001 does not list (it is the path
    symmetric to exports); where the service answers 404 there, the module warns and starts an import.
  - The Backup & Restore API is in Atlassian's early access program (Enterprise plan); the account must be an
    organization admin. Statuses are read tolerantly; an unknown one counts as running until O(wait_timeout).
seealso:
  - module: atlassian_ops.backup.backup_export
  - module: atlassian_ops.backup.backup_run
"""

EXAMPLES = r"""
- name: Bring an exported backup back into Atlassian's storage, to restore it
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: The external storage and the policy connected to it
      atlassian_ops.backup.backup_storage:
        name: acme-atlassian-backups
        region: eu-central-1
        prefix: jira
        role_identifier: arn:aws:iam::123456789012:role/atlassian-backup
        principal_tag: atlassian-backup
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
      register: storage

    - name: The Jira policy
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: jira
        storage_id: "{{ storage.storage_id }}"

    - name: A backup, exported
      atlassian_ops.backup.backup_run:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: jira
        max_age: 7d
      register: weekly

    - name: Export it
      atlassian_ops.backup.backup_export:
        backup_id: "{{ weekly.backup_id }}"

    - name: Import it back (once; a re-run finds the import)
      atlassian_ops.backup.backup_import:
        backup_id: "{{ weekly.backup_id }}"
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: jira
      register: imported
"""

RETURN = r"""
import_id:
  description: The id of the import started, joined or found.
  returned: when there is one (not when check mode would start one)
  type: str
  sample: 0b8e6c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e
backup_id:
  description: The backup.
  returned: always
  type: str
  sample: 1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88
cloud_id:
  description: The backup's site.
  returned: always
  type: str
  sample: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
product:
  description: The backup's product.
  returned: always
  type: str
  sample: confluence
status:
  description:
    - The import's status, normalized to V(COMPLETE), V(IN_PROGRESS), V(FAILED)... or the service's own word,
      folded to upper-snake case.
  returned: when there is an import
  type: str
  sample: COMPLETE
service_status:
  description: The status exactly as the service wrote it.
  returned: when there is an import
  type: str
  sample: COMPLETED
import:
  description: The import as the API last returned it.
  returned: when there is an import
  type: dict
  sample: {"importId": "0b8e6c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e", "status": "COMPLETED"}
would_start:
  description: In check mode, whether a real run would start an import of the backup.
  returned: in check mode
  type: bool
  sample: true
would_join:
  description:
    - In check mode, whether an import of the backup is running, which a real run would join (and wait for, unless
      O(wait=false)). Check mode reads once and never waits.
  returned: in check mode
  type: bool
  sample: false
http_status:
  description: The HTTP status of a refusal.
  returned: when the service refused the import
  type: int
  sample: 400
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Started import 0b8e6c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e of backup 1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88.
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
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

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import transfer

ARGUMENT_SPEC = dict(
    backup_id=dict(type="str", required=True),
    cloud_id=dict(type="str"),
    product=dict(type="str", choices=["jira", "confluence"]),
)


def main():
    run_org_module(ARGUMENT_SPEC, lambda module, api, params: transfer("import", module, api, params),
                   "import the backup", wait=True, supports_check_mode=True)


if __name__ == "__main__":
    main()
