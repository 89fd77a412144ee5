# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One truth about every backup (issue 18): what a manifest says is what every module acts on.

Each test reproduces one defect of the issue from outside, through ansible-playbook against the emulator: a backup
whose verification failed must count nowhere, what was taken is recorded (not what was asked), a job picked up by
``job_id`` is not downloaded twice, check mode never waits, and a secret pasted with a line break neither breaks the
run nor leaks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile
from datetime import datetime, timedelta, timezone

from conftest import DC_CONTEXT, DC_PAT

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import site_label, write_sidecars
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256 as sha256_file

from test_backup_verify import flip_byte_in_member


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def manifest_of(path):
    with open(path[:-4] + ".json") as handle:
        return json.load(handle)


def reseal(path):
    """Rewrite the sidecars for the file's current bytes: as if the service had served it that way."""
    record = dict(manifest_of(path), size=os.path.getsize(path), sha256=sha256_file(path))
    write_sidecars(path, record)


def good_older_backup(dest, url, days_ago):
    """A good backup of the same site and kind, ``days_ago`` days old, with its sidecars."""
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=days_ago)
    name = "confluence-%s-%s.zip" % (site_label(url), when.strftime("%Y%m%dT%H%M%SZ"))
    path = os.path.join(dest, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>\n")
        archive.writestr("exportDescriptor.properties", "exportType=all\nbackupAttachments=true\n")
    record = {"format": 1, "product": "confluence", "deployment": "cloud", "site": url, "site_label": site_label(url),
              "file": name, "size": os.path.getsize(path), "sha256": sha256_file(path),
              "backup_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "verified": "zip-structure",
              "include_attachments": True, "include_attachments_from": "archive"}
    write_sidecars(path, record)
    return path


# ------------------------------------------------------------------------------------------------------- defect 1
def test_a_backup_that_failed_verification_counts_nowhere(emulator, run_playbook, dest, tmp_path):
    older = good_older_backup(dest, emulator.url, days_ago=2)
    first = run_playbook(dest=dest, max_age="24h")
    assert ok(first) and first.result["changed"], first
    bad = first.result["path"]
    # The site served a zip with one bad member CRC: its sha256 and size are those of what was served.
    flip_byte_in_member(bad, "attachments/0/0/data.bin")
    reseal(bad)

    check = run_playbook.module("backup_verify", path=bad, level="archive")
    assert check.result["failed"] and check.result["failure_recorded"] is True, check
    assert "Recorded in the manifest" in check.result["msg"]
    manifest = manifest_of(bad)
    assert manifest["verified"] is False and manifest["verification_failure"]["level"] == "archive", manifest
    assert manifest["verification_failure"]["replaced"] == "zip-structure"

    # Retention: the failed backup neither fills today's slot nor pushes the good one out.
    pruned = run_playbook.module("backup_prune", path=dest, product="confluence", keep_daily=1)
    assert ok(pruned), pruned
    assert [k["path"] for k in pruned.result["kept"]] == [older], pruned
    assert [u["path"] for u in pruned.result["unverified"]] == [bad], pruned
    assert "its last verification failed (archive:" in pruned.result["unverified"][0]["reason"]
    assert os.path.exists(older) and os.path.exists(bad) and not pruned.result["deleted"]

    # Metrics: the failed verification shows.
    prom = str(tmp_path / "site.prom")
    metrics = run_playbook.module("backup_metrics", path=prom, target="site", type="confluence_cloud",
                                  status="success", manifest=bad[:-4] + ".json")
    assert ok(metrics), metrics
    assert [line for line in metrics.result["content"].splitlines()
            if line.startswith("atlassian_backup_verification_ok")][0].endswith(" 0")

    # max_age: the failed backup is never handed back as tonight's verified one.
    again = run_playbook(dest=dest, max_age="24h")
    assert ok(again), again
    assert again.result["path"] != bad and again.result["path"] != older, again
    passed = run_playbook.module("backup_verify", path=again.result["path"], level="archive")
    assert ok(passed), passed

    # Check mode of a failing verification writes nothing, and a pass at a shallower level does not clear it.
    shallow = run_playbook.module("backup_verify", path=bad, level="checksum")
    assert ok(shallow) and manifest_of(bad)["verified"] is False, shallow


def test_a_deeper_pass_clears_the_failure_and_the_backup_counts_again(emulator, run_playbook, dest):
    first = run_playbook(dest=dest, max_age="24h")
    path = first.result["path"]
    original = open(path, "rb").read()
    flip_byte_in_member(path, "attachments/0/0/data.bin")
    reseal(path)
    failing = run_playbook.module("backup_verify", path=path, level="archive", check=True)
    assert failing.result["failed"] and failing.result["changed"] is True, failing
    assert failing.result["failure_recorded"] is False and manifest_of(path)["verified"] == "zip-structure"
    run_playbook.module("backup_verify", path=path, level="archive")
    assert manifest_of(path)["verified"] is False
    with open(path, "wb") as handle:  # the backup repaired (say, copied back from the off-site copy)
        handle.write(original)
    reseal(path)
    passed = run_playbook.module("backup_verify", path=path, level="inventory")
    assert ok(passed) and passed.result["changed"], passed
    manifest = manifest_of(path)
    assert manifest["verified"] == "zip-structure" and "verification_failure" not in manifest, manifest
    again = run_playbook(dest=dest, max_age="24h")
    assert ok(again) and again.result["changed"] is False and again.result["path"] == path, again


# ------------------------------------------------------------------------------------------------------- defect 2
def test_attachments_are_recorded_as_taken_and_max_age_reuses_only_that_kind(emulator, run_playbook, dest):
    emulator.config(frequency_limit_seconds=0)
    without = run_playbook(dest=dest, max_age="24h", include_attachments=False)
    assert ok(without) and without.result["include_attachments"] is False, without
    manifest = manifest_of(without.result["path"])
    assert manifest["include_attachments"] is False and manifest["include_attachments_from"] == "archive"

    wanted = run_playbook(dest=dest, max_age="24h", include_attachments=True)
    assert ok(wanted) and wanted.result["changed"] is True, wanted
    assert wanted.result["path"] != without.result["path"] and wanted.result["include_attachments"] is True
    assert manifest_of(wanted.result["path"])["include_attachments"] is True
    assert emulator.state()["runbackup_posts"] == 2

    # Retention keeps one backup of each kind: they are two series.
    pruned = run_playbook.module("backup_prune", path=dest, product="confluence", keep_daily=1)
    assert ok(pruned) and pruned.result["series"] == 2 and not pruned.result["deleted"], pruned


def test_a_backup_the_site_held_is_recorded_as_its_archive_says(emulator, run_playbook, dest):
    """use_latest under the frequency limit: the site's newest backup was made without attachments by someone else;
    the run that asked for attachments says so, and the manifest records what the archive holds."""
    emulator.seed(state="complete", age_seconds=600)
    emulator.config(frequency_limit_seconds=86400)
    first = run_playbook(dest=dest, max_age="24h", include_attachments=False)
    assert ok(first), first
    # The seeded backup was made with attachments (the emulator's default): the archive says so, not the request.
    assert first.result["include_attachments"] is True, first
    assert manifest_of(first.result["path"])["include_attachments_from"] == "archive"
    assert "taken with attachments" in first.result["msg"]


# ------------------------------------------------------------------------------------------------------- defect 3
def test_a_datacenter_job_picked_up_by_job_id_is_not_downloaded_twice(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SITE", state="FINISHED", owner="someone-else")
    args = dict(deployment="datacenter", url=emulator.url + DC_CONTEXT, dest=dest, job_id=placed["id"],
                poll_interval=0.1, wait_timeout=60)
    first = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT}, **args)
    assert ok(first) and first.result["changed"], first
    again = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT}, **args)
    assert ok(again) and again.result["changed"] is False and again.result["path"] == first.result["path"], again
    assert sorted(n for n in os.listdir(dest) if n.endswith(".zip")) == [os.path.basename(first.result["path"])]


# ------------------------------------------------------------------------------------------------------- defect 4
def test_check_mode_meets_a_running_cloud_backup_and_does_not_wait(emulator, run_playbook, dest):
    emulator.seed(state="running", duration=3600)
    run = run_playbook(dest=dest, check=True, wait_timeout="1h", poll_interval="0.2s")
    assert ok(run), run
    assert run.result["msg"].startswith("Check mode:") and "does not wait" in run.result["msg"], run
    assert run.result["would_download"] is True and run.result["changed"] is True
    state = emulator.state()
    assert state["runbackup_posts"] == 0
    assert sum(1 for r in state["requests"] if "getprogress" in r["path"]) == 1, state["requests"]


def test_check_mode_meets_a_running_datacenter_job_and_does_not_wait(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SPACE", state="PROCESSING", owner="someone",
                             spaceKeys=["DOC"], polls=1000)
    run = run_playbook.module("confluence_backup", check=True, env={"ATLASSIAN_PAT": DC_PAT},
                              deployment="datacenter", url=emulator.url + DC_CONTEXT, dest=dest, scope="space",
                              space_keys=["DOC"], wait_timeout="1h", poll_interval=0.1)
    assert ok(run) and run.result["job_id"] == placed["id"], run
    assert run.result["msg"].startswith("Check mode:") and "does not wait" in run.result["msg"], run
    polls = [r for r in emulator.state()["dc"]["requests"] if "/jobs/%s" % placed["id"] in r["path"]]
    assert not polls, polls
    assert not os.listdir(dest)


# ------------------------------------------------------------------------------------------------------- defect 5
def test_a_datacenter_token_with_a_trailing_line_break_works_and_never_leaks(emulator, run_playbook, dest):
    """The token as a vault block scalar (or an environment file) gives it: with a line break at the end. The suite's
    leak guard checks every output and file of the run for it."""
    args = dict(deployment="datacenter", url=emulator.url + DC_CONTEXT, dest=dest, poll_interval=0.1, wait_timeout=60)
    run = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT + "\n"}, **args)
    assert ok(run) and run.result["changed"], run
    tabbed = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT[:8] + "\t" + DC_PAT[8:]}, **args)
    assert tabbed.result["failed"] and "personal_access_token holds" in tabbed.result["msg"], tabbed
    assert len(emulator.state()["dc"]["jobs"]) == 1


# ------------------------------------------------------------------------------------- every reader: restore
def test_a_restore_refuses_a_backup_whose_verification_failed(emulator, run_playbook, tmp_path):
    src = str(tmp_path / "space.zip")
    with zipfile.ZipFile(src, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>\n")
        archive.writestr("exportDescriptor.properties", "exportType=space\nspaceKey=DOC\nbackupAttachments=true\n")
    write_sidecars(src, {"format": 1, "product": "confluence", "file": "space.zip", "size": os.path.getsize(src),
                         "sha256": sha256_file(src), "verified": False,
                         "verification_failure": {"level": "archive", "reason": "a bad member CRC",
                                                  "at": "2026-11-21T02:03:04Z"}})
    run = run_playbook.module("confluence_restore", env={"ATLASSIAN_PAT": DC_PAT}, url=emulator.url + DC_CONTEXT,
                              scope="space", src=src, poll_interval=0.1, wait_timeout=60)
    assert run.result["failed"] and "failed its last verification (archive: a bad member CRC" in run.result["msg"], run
    assert not emulator.state()["dc"]["requests"]
