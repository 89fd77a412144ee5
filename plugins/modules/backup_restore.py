#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_restore
short_description: Restore a backup into another site, with explicit consents (organization Backup & Restore API)
version_added: 0.3.0
description:
  - Restores a Jira or Confluence backup from Atlassian's storage into the site O(cloud_id) of the same
    organization (C(POST orgs/{orgId}/cloud/{destCloudId}/restores)), waits for it and fetches the URL of the
    post-operation report.
  - It cannot start by accident. It refuses before any request unless O(confirm=true), and refuses before any
    write when the backup is IN PROGRESS, FAILED, EXPIRED or older than 14 days (the backup is read first).
  - When the service's validation stops the restore, the failing checks the user listed in O(consents) are
    consented to (C(POST .../restores/revalidate)). When any failing check is not in O(consents) the task fails,
    listing each one with what it means, and the restore waits for a re-run with those consents.
  - A restore of the same backup into the same site that is already running, or waiting for consents, is joined,
    not started again. One that finished within the last 7 days (the service restores a backup once in 7 days) is
    reported unchanged, with its post-operation report.
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
      - Reads the backup and the restores once and reports whether a restore would start, or a running one be
        joined (RV(would_restore), RV(would_join)); never waits. It sends no write, so the service's validation
        (which needs a restore to be created) does not run in check mode.
  diff_mode:
    support: none
options:
  backup_id:
    description:
      - The backup to restore.
    type: str
    required: true
  cloud_id:
    description:
      - The cloud id of the destination site, another site of the same organization.
    type: str
    required: true
  product:
    description:
      - The product restored. Left out, it is read from the backup.
    type: str
    choices: [jira, confluence]
  include_attachments:
    description:
      - Whether attachments are restored (only when the backup has them).
    type: bool
    default: true
  include_users_and_groups:
    description:
      - Whether users and groups are restored into the destination site.
    type: bool
    default: true
  consents:
    description:
      - The validation checks you accept, by name. Only the ones that fail are sent.
      - V(Consent_Conflicting_Space_Check) spaces or projects that already exist on the destination are skipped;
        V(Consent_Conflicting_Group_Check) groups with the same names are merged (users may gain permissions);
        V(Consent_Product_License_Check) the destination's plan is lower than the backed up site's;
        V(Consent_TDP_Shard_Check) the sites are on different shards; V(Consent_Site_License_Check) the
        destination is on a free trial; V(Accept_Custom_Group_Check) or V(Deny_Custom_Group_Check) restore custom
        groups or not.
    type: list
    elements: str
    default: []
  confirm:
    description:
      - Must be V(true), because a restore writes into the destination site. Without it the task fails before any request.
    type: bool
    default: false
notes:
  - The service does not document the shape of C(GET orgs/{orgId}/restores/{restoreId}), C(GET orgs/{orgId}/restores)
    and the start answer. The restore's id and status are read under their documented names first (C(restoreId) or
    C(id); C(status) or C(state), any case); when a name is missing, by shape (issue 19), as the job inside a
    one-element list, a plural key or a C(result)/C(data) nesting, its id under any key ending in C(id)/C(Id)/C(ID)
    that does not name another object (C(cloudId), C(policyId)...), its status under any key named like status or
    state; a list under any key holding a list of objects, its total under a key that says total, or none. Each field
    read so is named, with its path, in a warning (once per run) so that it can be reported.
  - The shape of a failing validation is not documented; the module finds the known check names wherever they
    appear in the service's answer.
  - The service restores a given backup once in 7 days; backups larger than 60 GB need a support ticket.
  - The Backup & Restore API is in Atlassian's early access program (Enterprise plan); the account must be an
    organization admin.
seealso:
  - module: atlassian_ops.backup.backup_run
  - module: atlassian_ops.backup.backup_import
"""

EXAMPLES = r"""
- name: Restore last week's Confluence backup into the staging site
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: The site's Confluence backup policy
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence

    - name: A backup no older than 7 days
      atlassian_ops.backup.backup_run:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence
        max_age: 7d
      register: weekly

    - name: Restore it; conflicting spaces are skipped and same-name groups merged, knowingly
      atlassian_ops.backup.backup_restore:
        backup_id: "{{ weekly.backup_id }}"
        cloud_id: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
        consents:
          - Consent_Conflicting_Space_Check
          - Consent_Conflicting_Group_Check
        confirm: true
        wait_timeout: 12h
      register: restored

    - name: Where the report is
      ansible.builtin.debug:
        msg: "{{ restored.post_op_report_url }}"
"""

RETURN = r"""
restore_id:
  description: The id of the restore started or joined.
  returned: when there is one
  type: str
  sample: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
status:
  description:
    - The restore's status, normalized to V(COMPLETE), V(IN_PROGRESS), V(VALIDATION_FAILED), V(FAILED)... or the
      service's own word, folded to upper-snake case.
  returned: when there is a restore
  type: str
  sample: COMPLETE
service_status:
  description: The status exactly as the service wrote it.
  returned: when there is a restore
  type: str
  sample: COMPLETED
failing_checks:
  description: The validation checks that failed (before the consents were given), by name.
  returned: always
  type: list
  elements: str
  sample: [Consent_Conflicting_Space_Check]
unconsented_checks:
  description: The failing checks missing from O(consents), each with what it means.
  returned: when the task failed for want of consent
  type: list
  elements: str
  sample: ["Consent_Conflicting_Group_Check: Groups with the same names already exist on the destination site..."]
migration_id:
  description: The id of the migration that carried out the restore.
  returned: when the service gave one
  type: str
  sample: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a
post_op_report_url:
  description: The URL of the post-operation report of the restore.
  returned: when the restore finished and the service gave one
  type: str
  sample: https://example-restore.atlassian.net/admin/migration/9f8e7d6c/post-op-report.csv
restore:
  description: The restore as the API last returned it.
  returned: when there is a restore
  type: dict
  sample: {"restoreId": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "status": "COMPLETED"}
would_restore:
  description: In check mode, whether a real run would start a restore.
  returned: in check mode
  type: bool
  sample: true
would_join:
  description:
    - In check mode, whether a restore of this backup into this site is running, which a real run would join (and
      wait for, unless O(wait=false)). Check mode reads the restores once and never waits.
  returned: in check mode
  type: bool
  sample: false
http_status:
  description: The HTTP status of a refusal.
  returned: when the service refused the restore
  type: int
  sample: 409
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Restored backup 1f6c0e0a into site b3e2f1a0; the post-operation report is at https://...
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
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.restore import run_restore

ARGUMENT_SPEC = dict(
    backup_id=dict(type="str", required=True),
    cloud_id=dict(type="str", required=True),
    product=dict(type="str", choices=["jira", "confluence"]),
    include_attachments=dict(type="bool", default=True),
    include_users_and_groups=dict(type="bool", default=True),
    consents=dict(type="list", elements="str", default=[]),
    confirm=dict(type="bool", default=False),
)


def main():
    run_org_module(ARGUMENT_SPEC, run_restore, "restore the backup", wait=True, supports_check_mode=True)


if __name__ == "__main__":
    main()
