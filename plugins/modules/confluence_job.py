#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_job
short_description: Cancel a Confluence Data Center backup or restore job, or clear the queue
version_added: 0.3.0
description:
  - Cancels one backup or restore job of Confluence Data Center 8.3 or later (C(PUT /jobs/<id>/cancel)), or every
    queued job at once (C(PUT /jobs/clear-queue)).
  - Idempotent. A job that is already cancelled, cancelling, finished or failed is left as it is and the task
    reports no change; clearing an empty queue changes nothing.
  - Confluence stops a queued job at once; a job being processed goes through C(CANCELLING) first.
  - Clearing the queue does not touch the job being processed at that moment.
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
      - Reads the job (or the queued jobs) and reports what would be cancelled; sends no cancel.
  diff_mode:
    support: full
    details:
      - With O(job_id), the job's state before and after.
options:
  job_id:
    description:
      - The job to act on. Required unless O(clear_queue=true).
    type: int
  state:
    description:
      - V(cancelled) cancels the job unless it has already ended.
    type: str
    choices: [cancelled]
    default: cancelled
  clear_queue:
    description:
      - Cancel every job waiting in the queue (a system administrator's right). Cannot be combined with O(job_id).
    type: bool
    default: false
notes:
  - Cancelling another user's job, and clearing the queue, need a Confluence system administrator.
seealso:
  - module: atlassian_ops.backup.confluence_job_info
"""

EXAMPLES = r"""
- name: Stop a backup that was started by mistake
  atlassian_ops.backup.confluence_job:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    job_id: 42
    state: cancelled

- name: Before a maintenance window, drop every job that has not started yet
  atlassian_ops.backup.confluence_job:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    clear_queue: true
  register: cleared

- name: Say how many
  ansible.builtin.debug:
    msg: "{{ cleared.cancelled_count }} queued job(s) cancelled"
"""

RETURN = r"""
changed:
  description: Whether a job was cancelled (in check mode, would be).
  returned: always
  type: bool
  sample: true
job_id:
  description: The job acted on.
  returned: when O(job_id) is given
  type: int
  sample: 42
job:
  description:
    - The job after the request (before it, in check mode), with the keys documented for
      RV(atlassian_ops.backup.confluence_job_info#module:job).
  returned: when O(job_id) is given
  type: dict
  sample: {"id": 42, "operation": "backup", "scope": "site", "state": "CANCELLED", "cancelled_by": "admin"}
status:
  description:
    - The job's state after the request in the words of every Data Center module, V(cancelled), V(running) (also
      while C(CANCELLING)), V(queued), V(complete) or V(failed).
  returned: when O(job_id) is given
  type: str
  sample: cancelled
cancelled_count:
  description: How many queued jobs were cancelled (in check mode, would be).
  returned: when O(clear_queue=true)
  type: int
  sample: 2
cancelled_jobs:
  description:
    - The ids of the queued jobs this account saw before clearing the queue (in check mode, those that would be
      cancelled). A system administrator sees every job; another account, its own.
  returned: when O(clear_queue=true)
  type: list
  elements: int
  sample: [43, 44]
diff:
  description: The job's state before and after, with O(job_id) in diff mode.
  returned: in diff mode, with O(job_id)
  type: dict
  sample: {"before": {"state": "QUEUED"}, "after": {"state": "CANCELLED"}}
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 403
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: PUT
url:
  description: The URL of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: https://wiki.example.com/confluence/rest/api/backup-restore/jobs/clear-queue
response:
  description: A short, redacted excerpt of the server's answer to the request that failed.
  returned: on failure, when the server answered
  type: str
  sample: '{"statusCode":403,"message":"user is not a system administrator"}'
request_id:
  description: The server's request id of the answer that failed.
  returned: on failure, when the server sent one
  type: str
  sample: 1a2b3c
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

ARGUMENT_SPEC = dict(
    job_id=dict(type="int"),
    state=dict(type="str", default="cancelled", choices=["cancelled"]),
    clear_queue=dict(type="bool", default=False),
)
# A job in these states is left alone.
ENDED = (dc.FINISHED, dc.FAILED, dc.CANCELLED, dc.CANCELLING)
QUEUE_LIMIT = 1000


def prepare(module, params):
    if params["clear_queue"] and params.get("job_id") is not None:
        module.fail_json(msg="Give either job_id (one job) or clear_queue: true (every queued job), not both.")
    if not params["clear_queue"] and params.get("job_id") is None:
        module.fail_json(msg="job_id is required (or clear_queue: true to cancel every queued job).")


def cancel_job(module, api, params):
    raw = api.job(params["job_id"])
    if raw is None:
        raise TaskFailed("Confluence knows no job %s, or this account may not see it (only system administrators "
                         "and the job's owner may). Nothing was cancelled." % params["job_id"],
                         job_id=params["job_id"], changed=False)
    before = dc.job_view(raw)
    result = dict(changed=False, job_id=before["id"], job=before, status=dc.status_word(before))
    if before["state"] in ENDED:
        result["msg"] = "Job %s is %s already; nothing to cancel." % (before["id"], before["service_state"])
        return result
    if module.check_mode:
        result.update(changed=True, msg="Check mode: would cancel %s." % dc.describe(before))
        after = dict(before, state=dc.CANCELLED if before["state"] == dc.QUEUED else dc.CANCELLING)
    else:
        after = dc.job_view(api.cancel(before["id"]))
        result.update(changed=True, job=after, status=dc.status_word(after),
                      msg="Cancelled %s; it is %s now." % (dc.describe(before), after["service_state"]))
    if module._diff:
        result["diff"] = {"before": {"state": before["state"]}, "after": {"state": after["state"]}}
    return result


def clear_queue(module, api):
    queued = [dc.job_view(raw) for raw in api.jobs(states=[dc.QUEUED], limit=QUEUE_LIMIT)]
    ids = [view["id"] for view in queued if view["state"] == dc.QUEUED]
    if module.check_mode:
        return dict(changed=bool(ids), cancelled_count=len(ids), cancelled_jobs=ids,
                    msg="Check mode: would cancel %d queued job(s)%s (a system administrator sees every job; another "
                        "account, its own)." % (len(ids), (": %s" % ", ".join(str(i) for i in ids)) if ids else ""))
    # Sent even when this account sees no queued job: another user's may be there, and a refusal (403) is news.
    count = api.clear_queue()
    return dict(changed=count > 0, cancelled_count=count, cancelled_jobs=ids,
                msg="Confluence cancelled %d queued job(s)%s." % (
                    count, (" (this account saw %s queued)" % ", ".join(str(i) for i in ids)) if ids else ""))


def run(module, params):
    api = dc.DataCenterApi(module.client(), warn=module.warn)
    if params["clear_queue"]:
        return clear_queue(module, api)
    return cancel_job(module, api, params)


def main():
    run_module(ARGUMENT_SPEC, run, "act on the Confluence job", prepare=prepare, datacenter=True,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
