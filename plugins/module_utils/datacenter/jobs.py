# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Confluence Data Center modules share beyond the endpoints: waiting for a job.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import (
    DONE,
    FAILED,
    RUNNING,
    TransientResponse,
    poll_until,
)

# A job that answers 404 this many times in a row is gone (one 404 can come from a node that does not know it yet:
# the 8.x backup manager "does not support Confluence cluster").
GONE_AFTER = 3


def wait_for_job(api, view, params, clock, sleep, on_poll=None):
    """Poll the job until FINISHED (returned as ``(view, elapsed)``), FAILED or CANCELLED (``JobFailed``).

    ``view`` is the job as already read (it counts as the first poll when terminal). QUEUED, PROCESSING,
    IN_PROGRESS, CANCELLING and words not known yet all mean "not finished". Raises ``WaitTimeout`` after
    ``params["wait_timeout"]`` seconds, and :class:`TaskFailed` when the job answers 404 three times in a row.
    A body that is not a job (a proxy's page) is polled again, like a 503.
    """
    pending = [view]
    missing = [0]

    def fetch():
        if pending:
            return pending.pop()
        try:
            raw = api.job(view["id"])
        except dc.DcApiError as exc:
            raise TransientResponse(exc.message)
        if raw is None:
            missing[0] += 1
            if missing[0] >= GONE_AFTER:
                raise TaskFailed("Job %s is gone: GET jobs/%s answered 404 %d times in a row (Confluence answers so "
                                 "for a job that does not exist or that this account may not see: only system "
                                 "administrators and the job's owner may)." % (view["id"], view["id"], GONE_AFTER),
                                 job_id=view["id"], status="gone")
            raise TransientResponse("GET jobs/%s answered 404" % view["id"])
        missing[0] = 0
        return dc.job_view(raw)

    def classify(current):
        if current["state"] == dc.FINISHED:
            return DONE
        if current["state"] in (dc.FAILED, dc.CANCELLED):
            return FAILED
        return RUNNING

    final, elapsed, _polls = poll_until(fetch, classify, params["wait_timeout"], params["poll_interval"],
                                        clock=clock, sleep=sleep, on_poll=on_poll, describe=dc.describe)
    return final, elapsed
