# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 8: every answer a start gets in the wild, with the site still showing the older backup after it.

The three answers (docs/emulator_evidence.md): 406 or 200 with seed 000's "Backup is already in progress.
CloudHistory{... status='QUEUED' ...}", and 200 with an empty body. Right after the start the site shows the
previous COMPLETE backup for a few polls, then its idle body. The phases are counted in polls, not seconds, so
nothing here races the wall clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

TRIGGER_REPLIES = ("406_history", "200_history", "200_empty")
# The service's answer shapes: the newest evidence (PyPI client, 2026-06) and seed 000's (2026-03), each with the
# other zip layout and JSON spacing, so every variant meets every trigger answer.
SHAPES = {
    "pypi-2026": {"filename_style": "bare", "percentage_style": "percent", "json_style": "compact",
                  "zip_layout": "nested"},
    "seed-000": {"filename_style": "filestore", "percentage_style": "plain", "json_style": "spaced",
                 "zip_layout": "flat"},
}


def site_with_an_older_backup(emulator, reply, stale=2, idle=2, **config):
    """A site that holds a 5-day-old COMPLETE backup and allows a new one."""
    emulator.reset(trigger_reply=reply, stale_polls_after_trigger=stale, idle_polls_after_trigger=idle, **config)
    state = emulator.seed(state="complete", age_seconds=5 * 86400, last_trigger_age_seconds=2 * 86400)
    return state["backup"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("reply", TRIGGER_REPLIES)
def test_the_new_backup_is_downloaded_never_the_older_one(emulator, run_playbook, dest, reply, shape):
    older = site_with_an_older_backup(emulator, reply, **SHAPES[shape])
    run = run_playbook(dest=dest)
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    state = emulator.state()
    new = state["backup"]
    assert state["runbackup_posts"] == 1
    assert state["previous"]["id"] == older["id"] != new["id"]
    assert res["triggered"] is True and res["changed"] is True, run
    assert res["backup_id"] == new["id"] and res["file_name"] == new["file_name"], run
    assert res["sha256"] == new["sha256"] != older.get("sha256")
    with open(res["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert manifest["triggered_by_this_run"] is True and manifest["backup_id"] == new["id"]
    assert manifest["start_request"]["http_status"] == (406 if reply == "406_history" else 200)
    assert manifest["start_request"]["outcome"] == ("in_progress" if reply == "406_history" else "started")
    if reply == "200_empty":
        assert "backup_request" not in res
    else:
        assert res["backup_request"]["status"] == "QUEUED"
        assert res["backup_request_id"].startswith("mplus-") and res["backup_request"]["has_attachments"] is True
        assert manifest["start_request"]["cloud_history"]["backup_id"] == res["backup_request_id"]
    # The older backup was shown to the module for two polls and never fetched.
    assert not any(older["id"] in entry["path"] for entry in state["media_log"])
    # The summary says what happened in the admin's words; the API's raw answer is in the result, not in msg.
    assert res["msg"].startswith("Started a new backup of ") and "the site acknowledged it" in res["msg"], res["msg"]
    assert "HTTP" not in res["msg"] and "already in progress" not in res["msg"], res["msg"]
    assert res["start_answer"] == {k: manifest["start_request"][k] for k in ("http_status", "outcome", "message")}


@pytest.mark.parametrize("shown", ("previous", "idle"))
@pytest.mark.parametrize("reply", TRIGGER_REPLIES)
def test_a_site_that_never_shows_the_new_backup_fails_after_the_grace(emulator, run_playbook, dest, reply, shown):
    # The site accepts the start and then shows only the older backup (or its idle body) for as long as anyone asks.
    forever = 10 ** 6
    site_with_an_older_backup(emulator, reply, stale=forever if shown == "previous" else 0,
                              idle=forever if shown == "idle" else 0)
    run = run_playbook(dest=dest, start_timeout="1s")
    assert run.result["failed"] is True, run
    res = run.result
    assert res["status"] == "not_started" and res["triggered"] is True, run
    assert "no new backup appeared" in res["msg"] and "start_timeout (now 1s)" in res["msg"], res["msg"]
    if shown == "previous":
        assert "only the backup from before this run's request" in res["msg"]
    else:
        assert "no backup at all" in res["msg"]
    assert os.listdir(dest) == [], "nothing may be written when no new backup appeared"
    assert emulator.state()["media_log"] == []


@pytest.mark.parametrize("reply", TRIGGER_REPLIES)
def test_wait_false_reports_the_started_backup(emulator, run_playbook, reply):
    site_with_an_older_backup(emulator, reply)
    run = run_playbook(wait=False)
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    assert res["triggered"] is True and res["changed"] is True
    assert res["status"] == "running" and res["percentage"] == 0, res
    assert res["service_status"] == (None if reply == "200_empty" else "QUEUED"), res
    assert "Not waiting" in res["msg"]
    assert emulator.state()["runbackup_posts"] == 1
