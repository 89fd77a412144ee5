# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiter: poll until a job is done, on a monotonic deadline.

No Ansible imports. Transient errors (HTTP 429/5xx, lost connections, bodies
that are not what the API usually sends) are absorbed within the time budget;
the last one is reported if time runs out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    AtlassianConnectionError,
    AtlassianError,
    AtlassianTimeout,
)

DONE = "done"
FAILED = "failed"
RUNNING = "running"


class WaitTimeout(AtlassianError):
    def __init__(self, message, last=None, elapsed=None, polls=0):
        super(WaitTimeout, self).__init__(message)
        self.last = last
        self.elapsed = elapsed
        self.polls = polls


class JobFailed(AtlassianError):
    def __init__(self, message, last=None, elapsed=None):
        super(JobFailed, self).__init__(message)
        self.last = last
        self.elapsed = elapsed


class TransientResponse(AtlassianError):
    """Raised by a fetch function for a body that should be polled again."""


def is_transient(exc):
    if isinstance(exc, (AtlassianConnectionError, AtlassianTimeout, TransientResponse)):
        return True
    if isinstance(exc, AtlassianApiError):
        return exc.status in (429, 500, 502, 503, 504)
    return False


def poll_until(fetch, classify, timeout, interval, clock=time.monotonic, sleep=time.sleep,
               on_poll=None, max_consecutive_errors=None, describe=None):
    """Call ``fetch()`` until ``classify(result)`` says DONE or FAILED.

    Returns ``(result, elapsed_seconds, polls)``. Raises :class:`JobFailed`
    (with the last result) or :class:`WaitTimeout`. ``describe(result)`` gives
    the human text used in messages. Non-transient errors propagate.
    """
    start = clock()
    deadline = start + float(timeout)
    polls = 0
    errors = 0
    last = None
    last_error = None
    while True:
        polls += 1
        try:
            result = fetch()
        except AtlassianError as exc:
            if not is_transient(exc):
                raise
            errors += 1
            last_error = exc
            if max_consecutive_errors is not None and errors > max_consecutive_errors:
                raise
        else:
            errors = 0
            last = result
            state = classify(result)
            if on_poll:
                on_poll(result, clock() - start)
            if state == DONE:
                return result, clock() - start, polls
            if state == FAILED:
                raise JobFailed(describe(result) if describe else "the job failed", result, clock() - start)
        now = clock()
        if now + interval > deadline:
            elapsed = now - start
            what = describe(last) if (describe and last is not None) else "no valid answer yet"
            msg = "Still not finished after %d s (%d polls); last state: %s." % (elapsed, polls, what)
            if last_error is not None and errors:
                msg += " Last error: %s." % last_error.message
            raise WaitTimeout(msg, last, elapsed, polls)
        sleep(interval)


def check_mode_join(result, params, how, read):
    """Check mode met a running job: fill ``result`` with what a real run would do, and never wait.

    ``params``: the workflow's (``download``, ``dest``, ``wait_timeout_text``); ``read`` names what was read once
    (``the site``, ``the job``). Returns ``result``.
    """
    fetch = bool(params.get("download", True) and params.get("dest"))
    result.update(changed=fetch, would_download=fetch)
    result["msg"] = "Check mode: %s A real run would wait for it (up to wait_timeout, %s)%s; check mode read %s " \
                    "once and does not wait." % (how, params["wait_timeout_text"],
                                                 (" and download it to %s" % params["dest"]) if fetch else "", read)
    return result
