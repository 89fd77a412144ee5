#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_run
short_description: Run a backup of a backup policy and wait for it (organization Backup & Restore API)
version_added: 0.3.0
description:
  - Runs a backup of a Jira or Confluence Cloud site with its backup policy (C(POST orgs/{orgId}/backups)) and
    waits for it, through the organization-level Backup & Restore API. The backup stays in Atlassian's storage
    (14 days); export it to your own storage with M(atlassian_ops.backup.backup_export).
  - Idempotent. When the policy has a COMPLETE backup younger than O(max_age), it is returned and nothing is
    started. A backup of the policy that is already running is joined, not started again.
  - A refused start (one backup every 7 days after the last complete one; no backup while one runs) fails with
    the service's words and, computed from the last complete backup, RV(next_allowed_at).
  - INCOMPLETE ends the task with a warning that quotes what the service says is missing (also in RV(warning) and
    RV(msg)); FAILED and EXPIRED fail it.
  - Ages (O(max_age), the 7-day rule) are measured on the service's clock, read from the C(Date) header of its
    answers, so that a host whose clock is off does not ask for a backup the service refuses.
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
      - Reads the policy and its backups once and reports whether a backup would be started, or a running one
        joined (RV(would_start), RV(would_join)); never starts one and never waits.
  diff_mode:
    support: none
options:
  policy_id:
    description:
      - The policy to run. Give it, or O(cloud_id) and O(product) to find the policy of that site and product.
    type: str
  cloud_id:
    description:
      - The cloud id of the site, to find its policy with O(product).
    type: str
  product:
    description:
      - The product, to find the policy with O(cloud_id).
    type: str
    choices: [jira, confluence]
  max_age:
    description:
      - When the policy has a COMPLETE backup younger than this, return it and start nothing.
      - Seconds, or a duration such as V(24h), V(7d). Omit it to always start a backup (which the service refuses
        within 7 days of the last complete one). For a nightly schedule, V(7d) reuses the week's backup on the six
        nights the service would refuse a new one.
    type: raw
notes:
  - The service does not document the shape of C(GET orgs/{orgId}/backups/{backupId}), C(GET
    orgs/{orgId}/policies/{policyId}/backups) and the start answer. The backup's id and status are read under their
    documented names first (C(backupId) or C(id); C(status) or C(state), any case); when a name is missing, by shape
    (issue 19), as the job inside a one-element list, a plural key or a C(result)/C(data) nesting, its id under any
    key ending in C(id)/C(Id)/C(ID) that does not name another object (C(cloudId), C(policyId)...), its status under
    any key named like status or state; a list under any key holding a list of objects, its total under a key that
    says total, or none. Each field read so is named, with its path, in a warning (once per run) so that it can be
    reported.
  - The Backup & Restore API is in Atlassian's early access program (Enterprise plan); the account must be an
    organization admin. Its statuses are read tolerantly (C(IN PROGRESS), C(IN_PROGRESS), C(CREATED),
    C(COMPLETE), C(COMPLETED), any case); an unknown status counts as running until O(wait_timeout) and is
    reported verbatim.
seealso:
  - module: atlassian_ops.backup.backup_policy
  - module: atlassian_ops.backup.backup_export
"""

EXAMPLES = r"""
- name: Weekly backups of a site's Jira and Confluence
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Make sure the Confluence policy exists
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence

    - name: Run a backup unless one younger than 7 days is complete, and wait for it
      atlassian_ops.backup.backup_run:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence
        max_age: 7d
        wait_timeout: 10h
        poll_interval: 1m
      register: confluence_backup

    - name: Show it
      ansible.builtin.debug:
        msg: "{{ confluence_backup.backup_id }} is {{ confluence_backup.status }}"
"""

RETURN = r"""
backup_id:
  description: The id of the backup started, joined or reused.
  returned: when there is one (not when check mode would start one)
  type: str
  sample: 1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88
status:
  description:
    - The backup's status, normalized to V(COMPLETE), V(INCOMPLETE), V(IN_PROGRESS), V(FAILED), V(EXPIRED), or
      the service's own word, folded to upper-snake case, when it is not one of those.
  returned: when there is a backup
  type: str
  sample: COMPLETE
service_status:
  description: The status exactly as the service wrote it.
  returned: when there is a backup
  type: str
  sample: COMPLETED
backup:
  description: The backup as the API last returned it.
  returned: when there is a backup
  type: dict
  sample: {"backupId": "1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88", "status": "COMPLETED", "product": "CONFLUENCE"}
policy_id:
  description: The policy the backup belongs to.
  returned: always
  type: str
  sample: 4d0c7a4e-6f1b-4b8e-9d52-1f0b3a9c2e77
triggered:
  description: Whether this run started the backup.
  returned: always
  type: bool
  sample: true
next_allowed_at:
  description:
    - When the service will allow the next backup of this policy (UTC, ISO 8601), computed as 7 days after the
      last complete backup.
  returned: when the policy has a complete backup
  type: str
  sample: "2026-11-29T02:00:00Z"
would_start:
  description:
    - In check mode, whether a real run would start a backup. RV(msg) says when the service would refuse it (7 days
      after the last complete backup).
  returned: in check mode
  type: bool
  sample: true
would_join:
  description:
    - In check mode, whether a backup of the policy is running, which a real run would join (and wait for, unless
      O(wait=false)). Check mode reads the backups once and never waits.
  returned: in check mode
  type: bool
  sample: false
warning:
  description: Why the backup is INCOMPLETE, in the service's words (also given as a warning).
  returned: when the backup is INCOMPLETE
  type: str
  sample: "Backup 1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88 is INCOMPLETE: 2 spaces could not be backed up: ARCHIVE"
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Started backup 1f6c0e0a-4b58-4c0b-9a7e-3b2d1c0e9f88 of the confluence policy; it is COMPLETE.
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

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.run import run_backup

ARGUMENT_SPEC = dict(
    policy_id=dict(type="str"),
    cloud_id=dict(type="str"),
    product=dict(type="str", choices=["jira", "confluence"]),
    max_age=dict(type="raw"),
)


def main():
    run_org_module(ARGUMENT_SPEC, run_backup, "run the backup", wait=True, optional_durations=("max_age",),
                   supports_check_mode=True)


if __name__ == "__main__":
    main()
