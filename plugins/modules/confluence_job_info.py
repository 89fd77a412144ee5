#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_job_info
short_description: List Confluence Data Center backup and restore jobs, or read one
version_added: 0.3.0
description:
  - Reads the backup and restore jobs of Confluence Data Center 8.3 or later (C(GET /rest/api/backup-restore/jobs)),
    with the API's filters, or one job by O(job_id). Changes nothing.
  - A system administrator sees every job; another account sees its own.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_datacenter
attributes:
  check_mode:
    support: full
    details:
      - The module only reads; it runs the same way in check mode.
  diff_mode:
    support: none
options:
  job_id:
    description:
      - Read this job only. RV(jobs) then holds it alone, or nothing when Confluence does not know it (or this
        account may not see it).
    type: int
  job_scope:
    description:
      - Only jobs of this scope.
    type: str
    choices: [site, space]
  job_operation:
    description:
      - Only backups or only restores.
    type: str
    choices: [backup, restore]
  job_states:
    description:
      - Only jobs in these states.
    type: list
    elements: str
    choices: [QUEUED, PROCESSING, FINISHED, CANCELLING, CANCELLED, FAILED]
  space_key:
    description:
      - Only jobs that cover this space.
    type: str
  owner:
    description:
      - Only jobs created by this user name.
    type: str
  from_date:
    description:
      - Only jobs created at or after this time, in the API's format C(yyyy-MM-ddTHH:mm:ss.SSSZ), for example
        V(2026-11-01T00:00:00.000Z) (a time without milliseconds or zone is completed with C(.000Z)).
    type: str
  to_date:
    description:
      - Only jobs created at or before this time, like O(from_date).
    type: str
  limit:
    description:
      - At most this many jobs, newest first (the API's default is 25).
    type: int
"""

EXAMPLES = r"""
- name: Jobs still waiting or running on the server
  atlassian_ops.backup.confluence_job_info:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    job_states: [QUEUED, PROCESSING]
  register: active

- name: Failed backups of this month
  atlassian_ops.backup.confluence_job_info:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    job_operation: backup
    job_states: [FAILED]
    from_date: "2026-11-01T00:00:00.000Z"
  register: failed

- name: One job
  atlassian_ops.backup.confluence_job_info:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    job_id: 42
  register: one
"""

RETURN = r"""
jobs:
  description: The jobs, newest first (as Confluence lists them).
  returned: always
  type: list
  elements: dict
  sample: [{"id": 42, "operation": "backup", "scope": "space", "state": "FINISHED", "space_keys": ["DOC", "TEAM"]}]
  contains: &job
    id:
      description: The job's id.
      type: int
      sample: 42
    operation:
      description: V(backup) or V(restore).
      type: str
      sample: backup
    scope:
      description: V(site) or V(space).
      type: str
      sample: space
    state:
      description:
        - V(QUEUED), V(PROCESSING) (also when Confluence says C(IN_PROGRESS)), V(FINISHED), V(CANCELLING),
          V(CANCELLED) or V(FAILED); another word Confluence sends is kept as it is.
      type: str
      sample: FINISHED
    service_state:
      description: The C(jobState) exactly as Confluence sent it.
      type: str
      sample: FINISHED
    space_keys:
      description: The keys of the job's spaces (Confluence sends one comma-separated string).
      type: list
      elements: str
      sample: [DOC, TEAM]
    owner:
      description: The user name of the account that created the job.
      type: str
      sample: admin
    file_name:
      description: The backup's file name on the server (the restored file's, for a restore).
      type: str
      sample: backup-space-20261122-020304.zip
    file_exists:
      description: Whether the file is still on the server.
      type: bool
      sample: true
    file_delete_time:
      description: When Confluence deletes the backup file (none for a backup kept permanently).
      type: str
      sample: "2026-11-25T02:03:04Z"
    create_time:
      description: When the job was created.
      type: str
      sample: "2026-11-22T02:00:00Z"
    start_processing_time:
      description: When Confluence started to process it, after any time in the queue.
      type: str
      sample: "2026-11-22T02:00:01Z"
    finish_processing_time:
      description: When it finished.
      type: str
      sample: "2026-11-22T02:03:04Z"
    cancel_time:
      description: When it was cancelled.
      type: str
      sample: "2026-11-22T02:01:00Z"
    cancelled_by:
      description: Who cancelled it.
      type: str
      sample: admin
    error_message:
      description: Confluence's reason for a failed job.
      type: str
      sample: "Restore failed: the file is not a space backup"
job:
  description: With O(job_id), the job (null when Confluence does not know it).
  returned: when O(job_id) is given
  type: dict
  contains: *job
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 400
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: GET
url:
  description: The URL of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: https://wiki.example.com/confluence/rest/api/backup-restore/jobs
response:
  description: A short, redacted excerpt of the server's answer to the request that failed.
  returned: on failure, when the server answered
  type: str
  sample: '{"statusCode":400,"message":"invalid filter"}'
request_id:
  description: The server's request id of the answer that failed.
  returned: on failure, when the server sent one
  type: str
  sample: 1a2b3c
"""

import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module

ARGUMENT_SPEC = dict(
    job_id=dict(type="int"),
    job_scope=dict(type="str", choices=["site", "space"]),
    job_operation=dict(type="str", choices=["backup", "restore"]),
    job_states=dict(type="list", elements="str", choices=list(dc.STATES)),
    space_key=dict(type="str", no_log=False),
    owner=dict(type="str"),
    from_date=dict(type="str"),
    to_date=dict(type="str"),
    limit=dict(type="int"),
)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{3})?(Z|[+-]\d{2}:?\d{2})?$")


def api_date(module, name, value):
    """A time in the API's ``yyyy-MM-ddTHH:mm:ss.SSSZ``; milliseconds and zone completed when left out."""
    if value in (None, ""):
        return None
    match = _DATE.match(value.strip())
    if not match:
        module.fail_json(msg="%s must look like 2026-11-01T00:00:00.000Z (the API's yyyy-MM-ddTHH:mm:ss.SSSZ), "
                             "got %r." % (name, value))
    return match.group(1) + (match.group(2) or ".000") + (match.group(3) or "Z").replace(":", "")


def prepare(module, params):
    if params.get("limit") is not None and params["limit"] < 1:
        module.fail_json(msg="limit must be 1 or more (got %s)." % params["limit"])
    for name in ("from_date", "to_date"):
        params[name] = api_date(module, name, params.get(name))


def run(module, params):
    api = dc.DataCenterApi(module.client(), warn=module.warn)
    if params.get("job_id") is not None:
        raw = api.job(params["job_id"])
        view = dc.job_view(raw) if raw is not None else None
        return dict(changed=False, job=view, jobs=[view] if view else [])
    raws = api.jobs(scope=params.get("job_scope"), operation=params.get("job_operation"),
                    states=params.get("job_states"), space_key=params.get("space_key"), owner=params.get("owner"),
                    from_date=params.get("from_date"), to_date=params.get("to_date"), limit=params.get("limit"))
    return dict(changed=False, jobs=[dc.job_view(raw) for raw in raws])


def main():
    run_module(ARGUMENT_SPEC, run, "list the Confluence jobs", prepare=prepare, datacenter=True,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
