# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A started job is never lost (issue 19): whatever the organization API's 2xx start answer looks like, the
backup, export or restore it started is found (by its documented id, by shape, or in the list that holds it) and
followed to its end, with exactly one POST; when nothing names it, the task fails cleanly, naming the listing call.

The emulator serves each answer shape through ``org_start_answer`` (tests/emulator/atlassian_emulator/org_backup.py);
``org_list_hides_new`` makes the lists leave out what was started, so that only the answer can name it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from conftest import DC_CONTEXT, DC_PAT, ORG_ID, RESTORE_SITE, SITE, SNAP_URL_TOKEN
from test_org_backup import bid, many_policies, org, pid, placed_backup, policy
from test_snapshots import export

STYLES = ("documented", "empty", "nested", "list", "plural", "opaque", "echo")
BY_NAME = ("documented", "list", "plural")
BY_SHAPE = ("nested",)


def posts(emulator, suffix):
    return [r for r in org(emulator)["requests"] if r["method"] == "POST" and r["path"].endswith(suffix)]


def warned(run, words):
    return any(words in warning for warning in run.result.get("warnings", []))


@pytest.mark.parametrize("style", STYLES)
def test_a_started_backup_is_found_whatever_the_answer_says(emulator, run_playbook, style):
    emulator.config(org_start_answer=style, org_backup_seconds=0.5)
    p = policy(emulator)
    run = run_playbook.module("backup_run", cloud_id=SITE, product="confluence", poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed"), run
    started = [b for b in org(emulator)["backups"] if b["policyId"] == pid(p)]
    assert len(started) == 1 and run.result["backup_id"] == bid(started[0]), (run.result, started)
    assert run.result["status"] == "COMPLETE" and run.result["triggered"] is True
    assert len(posts(emulator, "/backups")) == 1
    if style in BY_SHAPE:
        assert warned(run, "read by its shape"), run.result.get("warnings")
    elif style not in BY_NAME:
        assert warned(run, "found backup %s as the new one in GET" % run.result["backup_id"]), run.result


@pytest.mark.parametrize("style", ("nested", "opaque", "echo"))
def test_a_started_export_is_found_whatever_the_answer_says(emulator, run_playbook, style):
    emulator.reset(org_export_seconds=0.3, org_start_answer=style)
    storage = run_playbook.module("backup_storage", name="acme-backups", region="eu-central-1", prefix="conf",
                                  role_identifier="arn:aws:iam::123456789012:role/atl", principal_tag="atl",
                                  cloud_id=SITE)
    backup = placed_backup(emulator, pid(policy(emulator, storageId=storage.result["storage_id"])))
    run = run_playbook.module("backup_export", backup_id=bid(backup), poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed") and run.result["status"] == "COMPLETE", run
    exports = org(emulator)["exports"]
    assert len(exports) == 1 and run.result["export_id"] in (exports[0].get("exportId"), exports[0].get("id"))
    assert run.result["export_id"] != bid(backup), "the backup id the request echoed is not the export's"
    assert len(posts(emulator, "/exports")) == 1


@pytest.mark.parametrize("style", ("nested", "opaque", "echo", "empty"))
def test_a_started_restore_is_found_and_its_validation_read(emulator, run_playbook, style):
    emulator.config(org_start_answer=style)
    backup = placed_backup(emulator, pid(policy(emulator)))
    run = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True,
                              consents=["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"],
                              poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed"), run
    restores = org(emulator)["restores"]
    assert len(restores) == 1 and run.result["restore_id"] in (restores[0].get("restoreId"), restores[0].get("id"))
    assert run.result["restore_id"] != bid(backup) and run.result["status"] == "COMPLETE"
    assert len(posts(emulator, "/restores")) == 1


def test_an_answer_that_names_nothing_and_a_list_that_never_shows_it_fail_cleanly(emulator, run_playbook):
    emulator.config(org_start_answer="opaque", org_list_hides_new=True, org_backup_seconds=3600)
    p = policy(emulator)
    run = run_playbook.module("backup_run", cloud_id=SITE, product="confluence", poll_interval="0.1s")
    assert run.result["failed"] and run.result["status"] == "unknown", run
    msg = run.result["msg"]
    assert "accepted the backup request" in msg and "Request accepted." in msg, msg
    assert "GET orgs/%s/policies/%s/backups" % (ORG_ID, pid(p)) in msg, msg
    assert "nothing was requested a second time" in msg
    assert len(posts(emulator, "/backups")) == 1
    # Run again once the list shows it: the running backup is joined, not started a second time.
    emulator.config(org_list_hides_new=False)
    again = run_playbook.module("backup_run", cloud_id=SITE, product="confluence", wait=False)
    assert again.rc == 0 and not again.result.get("failed") and again.result["triggered"] is False, again
    assert len(posts(emulator, "/backups")) == 1


# ------------------------------------------------------------------------------------ Snapshots: the link
@pytest.mark.parametrize("shape", ("a", "b"))
@pytest.mark.parametrize("style", ("unlisted", "nested", "only"))
def test_a_finished_snapshots_task_is_downloaded_from_the_link_it_gives(emulator, run_playbook, dest, shape, style):
    emulator.config(snapshots_shape=shape, snapshots_done_link=style)
    run = export(run_playbook, emulator, dest=dest)
    assert run.rc == 0 and not run.result.get("failed") and run.result["status"] == "complete", run
    assert os.path.getsize(run.result["path"]) == run.result["size"] and emulator.state()["snapshots"]["posts"] == 1
    assert warned(run, "read by its shape (") and "download link at " in " ".join(run.result["warnings"]), run.result
    assert SNAP_URL_TOKEN not in " ".join(run.result["warnings"])


def test_two_different_links_are_refused_quoting_both(emulator, run_playbook, dest):
    emulator.config(snapshots_shape="a", snapshots_done_link="two")
    run = export(run_playbook, emulator, dest=dest)
    assert run.result["failed"] and "refusing to guess which file is the export" in run.result["msg"], run
    assert "archive.primaryLocation" in run.result["msg"] and "archive.mirrorLocation" in run.result["msg"]
    assert SNAP_URL_TOKEN not in run.result["msg"]
    assert not [n for n in os.listdir(dest) if n.endswith(".zip")]


# --------------------------------------------------------------------------- paging: nothing skipped or repeated
@pytest.mark.parametrize("counting", ("index0", "index1", "items"))
def test_every_policy_is_found_once_whatever_start_counts(emulator, run_playbook, counting):
    many_policies(emulator, org_page_start=counting)
    run = run_playbook.module("backup_info", resource="policies")
    ids = [item.get("policyId") or item.get("id") for item in run.result["items"]]
    assert run.rc == 0 and len(ids) == 26 and len(set(ids)) == 26, run.result.get("msg")
    # A policy on the last page is found: no duplicate is created.
    found = run_playbook.module("backup_policy", cloud_id="site-00", product="jira", include_attachments=True)
    assert found.rc == 0 and found.result["changed"] is False, found
    assert len(org(emulator)["policies"]) == 26


# --------------------------------------------------------------------------- Confluence Data Center: the job
@pytest.mark.parametrize("style, scope", [("nested", "site"), ("empty", "site"), ("empty", "space")])
def test_a_started_datacenter_backup_is_found_whatever_the_answer_says(emulator, run_playbook, dest, style, scope):
    emulator.config(dc_start_answer=style)
    args = dict(scope=scope, space_keys=["DOC"]) if scope == "space" else {}
    run = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT}, deployment="datacenter",
                              url=emulator.url + DC_CONTEXT, dest=dest, poll_interval=0.1, wait_timeout=60, **args)
    assert run.rc == 0 and not run.result.get("failed") and run.result["changed"], run
    jobs = emulator.state()["dc"]["jobs"]
    assert len(jobs) == 1 and run.result["job_id"] == jobs[0]["id"] and os.path.exists(run.result["path"]), run
    assert warned(run, "read by its shape" if style == "nested" else "is the new one in GET jobs"), run.result
    assert len([r for r in emulator.state()["dc"]["requests"] if r["method"] == "POST"]) == 1
