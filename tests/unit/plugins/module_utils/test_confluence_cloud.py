# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cloud workflow's decisions after a start request, on a scripted site and a fake clock (issue 8)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud import api as obm
from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud.backup import BackupFailed, CloudBackup
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import UTC

POST_TIME = 1774427732.0  # the start request's Date, epoch seconds
OLD = obm.parse_progress('{"fileName":"old-uuid","size":0,"currentStatus":"COMPLETE","alternativePercentage":"100",'
                         '"concurrentBackupInProgress":false,"time":%d,"isOutdated":false}' % ((POST_TIME - 86400) * 1000))
IDLE = obm.parse_progress('{"size":0,"concurrentBackupInProgress":false,"time":0,"isOutdated":false}')
RUNNING = obm.parse_progress('{"size":0,"currentStatus":"PROCESSING","alternativePercentage":"40%%",'
                             '"concurrentBackupInProgress":false,"time":%d,"isOutdated":false}' % (POST_TIME * 1000))
NEW = obm.parse_progress('{"fileName":"new-uuid","size":0,"currentStatus":"COMPLETE","alternativePercentage":"100",'
                         '"concurrentBackupInProgress":false,"time":%d,"isOutdated":false}' % ((POST_TIME + 600) * 1000))
# A backup other than the pre-request one, but finished a day before the request: not this run's.
OTHER_OLD = obm.parse_progress('{"fileName":"other-uuid","size":0,"currentStatus":"COMPLETE",'
                               '"alternativePercentage":"100","concurrentBackupInProgress":false,"time":%d,'
                               '"isOutdated":false}' % ((POST_TIME - 86000) * 1000))
HISTORY = "Backup is already in progress. CloudHistory{cloudId='c', status='QUEUED', backupId='mplus-1', " \
          "creationTime='2026-03-25T08:35:32.398721536Z', lastModifiedTime='x', hasAttachments=true}"


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedApi(object):
    """getprogress answers from a list (the last one repeats); runbackup answers once."""

    def __init__(self, before, after, answer):
        self.before = before
        self.after = list(after)
        self.answer = answer
        self.posted = False

    def progress(self):
        if not self.posted:
            return self.before
        return self.after.pop(0) if len(self.after) > 1 else self.after[0]

    def run_backup(self, include_attachments):
        self.posted = True
        return dict(self.answer)


def answer(status=406, text=HISTORY, outcome="in_progress", server_time=POST_TIME):
    return {"status": status, "message": text, "history": obm.parse_cloud_history(text), "wait_seconds": None,
            "server_time": server_time, "outcome": outcome}


def run(before, after, start_answer, start_timeout=300.0):
    clock = FakeClock()
    client = type("Client", (), {"clock": clock, "sleep": clock.sleep, "base_url": "https://example.atlassian.net"})()
    params = dict(url="https://example.atlassian.net", include_attachments=True, dest=None, max_age=None,
                  wait=True, wait_timeout=3600.0, poll_interval=30.0, start_timeout=start_timeout, download=False,
                  on_frequency_limit="use_latest", verify="structure", check_mode=False, max_age_text=None,
                  wait_timeout_text="1h", start_timeout_text="5m")
    job = CloudBackup(params, client, now=lambda: datetime.fromtimestamp(POST_TIME, UTC))
    job.api = ScriptedApi(before, after, start_answer)
    return job.run()


@pytest.mark.parametrize("start_answer", [answer(), answer(status=200, outcome="started"),
                                          answer(status=200, text="", outcome="started")])
def test_the_older_backup_shown_after_the_start_is_never_the_result(start_answer):
    result = run(OLD, [OLD, OLD, IDLE, RUNNING, NEW], start_answer)
    assert result["backup_id"] == "new-uuid" and result["triggered"] is True


def test_a_different_backup_older_than_the_request_is_not_the_result():
    result = run(IDLE, [OTHER_OLD, OTHER_OLD, NEW], answer(status=200, outcome="started"))
    assert result["backup_id"] == "new-uuid"


@pytest.mark.parametrize("shown,words", [(OLD, "only the backup from before this run's request (old-uuid"),
                                         (IDLE, "no backup at all")])
def test_a_site_that_never_shows_a_new_backup_fails_after_start_timeout(shown, words):
    with pytest.raises(BackupFailed) as info:
        run(OLD, [shown], answer(), start_timeout=120.0)
    failure = info.value
    assert words in failure.msg and "no new backup appeared" in failure.msg
    assert failure.fields["status"] == "not_started" and failure.fields["triggered"] is True
    assert 120.0 < failure.fields["create_seconds"] <= 180.0


def test_a_new_backup_that_vanishes_for_longer_than_start_timeout_fails():
    with pytest.raises(BackupFailed) as info:
        run(OLD, [RUNNING, IDLE], answer(), start_timeout=60.0)
    assert "was seen (PROCESSING, 40 %) and then" in info.value.msg


@pytest.mark.parametrize("history_status,created_delta,server_time,expected", [
    ("QUEUED", 0, POST_TIME, True),          # created at the request: this request started it
    ("IN_PROGRESS", -3600, POST_TIME, False),  # created an hour earlier: someone else's
    ("QUEUED", None, None, True),            # no times to compare: QUEUED means just created
    ("IN_PROGRESS", None, None, False),
])
def test_triggered_follows_what_a_406_shows(history_status, created_delta, server_time, expected):
    import time
    created = ("creationTime='%s', " % time.strftime("%Y-%m-%dT%H:%M:%S.1Z", time.gmtime(POST_TIME + created_delta))
               if created_delta is not None else "")
    text = "Backup is already in progress. CloudHistory{status='%s', %sbackupId='mplus-2'}" % (history_status, created)
    result = run(OLD, [RUNNING, NEW], answer(text=text, server_time=server_time))
    assert result["triggered"] is expected and result["changed"] is expected
    assert result["backup_request"]["status"] == history_status


def test_a_406_without_cloud_history_still_waits_for_a_new_backup():
    result = run(OLD, [OLD, NEW], answer(text="Backup is already in progress", server_time=None))
    assert result["backup_id"] == "new-uuid" and result["triggered"] is False
