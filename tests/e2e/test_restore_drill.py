# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role restore_drill through ansible-playbook, against the emulator (issue 21).

The emulator's Data Center instance at /confluence is backed up; the drill restores into a second instance on the
same emulator, /confluence-drill, which starts empty. A restore loads the spaces and pages of the restored zip's
entities.xml (``dc_restore_lose_pages`` makes it bring back fewer). Jobs end after 2 polls (``dc_job_polls`` in
conftest), so nothing races the wall clock. The Cloud drill restores an organization backup into the emulator's
second site, example-restore. Five playbook runs in all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import hashlib
import json
import os
import time
import zipfile

import pytest

from conftest import CANARY_USER, DC_CONTEXT, DC_PAT, RESTORE_SITE, SITE

prometheus_parser = pytest.importorskip("prometheus_client.parser")
zipstream = pytest.importorskip("atlassian_emulator.zipstream")
content = pytest.importorskip("atlassian_emulator.content")

DRILL_CONTEXT = "/confluence-drill"
# The credentials are in the environment of ansible-playbook only, as an AWX credential puts them: the play blanks
# them for the modules, as on a backup host reached over SSH, so the role must read and pass them itself.
PLAYBOOK = [{
    "name": "The drill, its report saved even when it fails", "hosts": "localhost", "gather_facts": False,
    "environment": {"ATLASSIAN_PAT": "", "ATLASSIAN_USERNAME": "", "ATLASSIAN_API_TOKEN": ""},
    "tasks": [{"name": "Run the role", "block": [
        {"name": "Restore drill", "ansible.builtin.include_role": {"name": "atlassian_ops.backup.restore_drill"}}],
        "always": [{"name": "Save the report", "check_mode": False, "ansible.builtin.copy": {
            "content": "{{ restore_drill_report | default({}) | to_nice_json }}", "dest": "{{ result_file }}",
            "mode": "0600"}}]}],
}]
# The default content of the emulator's Data Center instance (content.py): the i-th key of dc_spaces with 4 (i + 1)
# pages and i + 1 blog posts.
SPACES = [{"key": key, "name": key.capitalize(), "type": "global", "status": "current", "pages": 4 * (i + 1),
           "blog_posts": i + 1} for i, key in enumerate(["DOC", "TEAM", "ARCHIVE", "HR"])]
TIME = "%Y-%m-%dT%H:%M:%SZ"


def epoch(text):
    return calendar.timegm(time.strptime(text, TIME))


def drill(run_playbook, emulator, tmp_path, check=False, **variables):
    playbook = tmp_path / "drill.yml"
    playbook.write_text(json.dumps(PLAYBOOK))
    (tmp_path / "textfile").mkdir(exist_ok=True)
    extra = {"restore_drill_name": "wiki", "restore_drill_backup_dir": str(tmp_path / "backups"),
             "restore_drill_url": emulator.url + DRILL_CONTEXT, "restore_drill_textfile_dir": str(tmp_path / "textfile"),
             "restore_drill_report_dir": str(tmp_path / "drills"),
             "restore_drill_poll_interval": "0.1", "restore_drill_wait_timeout": "120"}
    extra.update(variables)
    run = run_playbook(name=str(playbook), module=None, check=check, env={"ATLASSIAN_PAT": DC_PAT}, **extra)
    with open(str(tmp_path / ("drill-%d.log" % len(run_playbook.runs))), "w") as handle:
        handle.write(run.output)  # the whole run, for a failure's reader
    return run


def samples(path):
    """{metric name: value} of the drill textfile, every sample labelled target wiki, type confluence_datacenter."""
    with open(path) as handle:
        text = handle.read()
    found = {}
    for family in prometheus_parser.text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            assert sample.labels == {"target": "wiki", "type": "confluence_datacenter"}, sample
            found[sample.name] = sample.value
    return found


def non_get(emulator, since=0):
    return [(r["method"], r["path"]) for r in emulator.state()["requests"][since:] if r["method"] not in ("GET", "HEAD")]


def drill_instance(emulator):
    return emulator.state()["dc_instances"][DRILL_CONTEXT]


def test_check_mode_restores_nothing_then_the_drill_of_a_good_backup_passes(emulator, run_playbook, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    taken = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT}, deployment="datacenter",
                                url=emulator.url + DC_CONTEXT, dest=str(backups), poll_interval=0.1, wait_timeout=120)
    assert taken.rc == 0 and not taken.result.get("failed"), taken
    with open(taken.result["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert "inventory" not in manifest, "straight from the download: the drill verifies it at level inventory first"

    seen = len(emulator.state()["requests"])
    checked = drill(run_playbook, emulator, tmp_path, check=True, restore_drill_allow_same_host=True)
    report = checked.result
    assert checked.rc == 0 and report["status"] == "check_mode", checked
    assert report["restore"]["would_restore"] is True and report["backup"]["path"] == taken.result["path"]
    assert non_get(emulator, seen) == [], "check mode sends no write"
    assert drill_instance(emulator)["uploads"] == [] and drill_instance(emulator)["jobs"] == []
    with open(taken.result["manifest_path"]) as handle:
        assert json.load(handle) == manifest, "check mode writes no manifest"
    assert not os.listdir(str(tmp_path / "textfile")) and not (tmp_path / "drills").exists()

    run = drill(run_playbook, emulator, tmp_path, restore_drill_allow_same_host=True)
    report = run.result
    assert run.rc == 0 and report["status"] == "passed" and report["passed"] is True, run
    assert "Drilling %s (backup time %s): the newest of 1 verified backup(s)" % (
        os.path.basename(taken.result["path"]), manifest["backup_time"]) in run.output
    assert report["backup"]["verified_now"] is True and report["backup"]["verified_level"] == "inventory"
    assert report["inventory"]["by_space"]["HR"] == {"pages": 16, "blog_posts": 4}, report["inventory"]
    assert report["found_spaces_percent"] == 100.0 and report["found_pages_percent"] == 100.0
    assert report["found"] == {"spaces": 4, "pages": 40} and report["missing_spaces"] == [] == report["short_spaces"]
    restore = report["restore"]
    assert restore["status"] == "complete" and restore["job_id"], restore
    assert report["restore_seconds"] == round(restore["upload_seconds"] + restore["job_seconds"], 3) > 0
    assert report["backup_time"] == manifest["backup_time"]
    assert report["backup_age_seconds"] == epoch(report["drill_time"]) - epoch(manifest["backup_time"]) >= 0
    assert "restored in %s s (RTO)" % report["restore_seconds"] in report["line"], report["line"]
    upload = drill_instance(emulator)["uploads"]
    assert len(upload) == 1 and upload[0]["sha256"] == taken.result["sha256"]

    with open(report["report_path"]) as handle:
        assert json.load(handle) == report
    assert os.path.dirname(report["report_path"]) == str(tmp_path / "drills")
    metrics = samples(report["textfile"])
    assert metrics == {
        "atlassian_backup_drill_last_run_success": 1,
        "atlassian_backup_drill_last_run_timestamp_seconds": epoch(report["drill_time"]),
        "atlassian_backup_drill_last_success_timestamp_seconds": epoch(report["drill_time"]),
        "atlassian_backup_drill_restore_seconds": report["restore_seconds"],
        "atlassian_backup_drill_backup_timestamp_seconds": epoch(manifest["backup_time"]),
        "atlassian_backup_drill_backup_age_seconds": report["backup_age_seconds"],
        "atlassian_backup_drill_found_spaces_ratio": 1,
        "atlassian_backup_drill_found_pages_ratio": 1,
    }
    with open(taken.result["manifest_path"]) as handle:
        assert json.load(handle)["inventory"]["pages"] == 40, "the verification recorded its counts"


def place_backup(folder, name, spaces, verified=True, deployment="datacenter"):
    """A site backup ``confluence-<site label>-<UTC time>`` as the scheduled role leaves it: the zip (the emulator's
    entities.xml of ``spaces``), its .sha256 and its manifest, verified at level inventory (counts space by space), or
    with its last verification failed when ``verified`` is False."""
    zip_path = os.path.join(folder, name + ".zip")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("entities.xml", zipstream.entities_xml({"body_size": 64}, "wiki.example.com", spaces=spaces))
        archive.writestr("exportDescriptor.properties", "#Confluence export\nexportType=all\n")
    with open(zip_path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    with open(zip_path + ".sha256", "w") as handle:
        handle.write("%s  %s.zip\n" % (digest, name))
    label, stamp = name[len("confluence-"):].rsplit("-", 1)
    when = time.strftime(TIME, time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    manifest = {"format": 1, "product": "confluence", "deployment": deployment, "site_label": label,
                "scope": "site", "space_keys": [], "file": name + ".zip", "size": os.path.getsize(zip_path),
                "sha256": digest, "backup_time": when,
                "verified": "zip-structure", "verified_level": "inventory", "verified_at": "2026-11-22T03:00:00Z",
                "inventory_status": "counted",
                "inventory": {"spaces": len(spaces), "pages": sum(s["pages"] for s in spaces),
                              "blog_posts": sum(s["blog_posts"] for s in spaces), "comments": 0, "attachments": 0,
                              "by_space": dict((s["key"], {"pages": s["pages"], "blog_posts": s["blog_posts"]})
                                               for s in spaces)}}
    if not verified:
        manifest.update(verified=False, verification_failure={"level": "archive", "at": "2026-11-23T03:00:00Z",
                                                              "reason": "member entities.xml has a bad CRC"})
    with open(os.path.join(folder, name + ".json"), "w") as handle:
        json.dump(manifest, handle)
    return zip_path, manifest


def place_content_export(folder, name):
    """The zip of a confluence_export run (export.json at its top, no entities.xml) with its .sha256 and its manifest
    (kind content-export), good: it is no site backup, so the drill never picks it, however new."""
    zip_path = os.path.join(folder, name + ".zip")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("export.json", json.dumps({"format": 1, "kind": "content-export", "items": {}, "files": {}}))
    with open(zip_path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    with open(zip_path + ".sha256", "w") as handle:
        handle.write("%s  %s.zip\n" % (digest, name))
    stamp = name.rsplit("-", 1)[1]
    with open(os.path.join(folder, name + ".json"), "w") as handle:
        json.dump({"format": 1, "product": "confluence", "kind": "content-export", "deployment": "cloud",
                   "site_label": "wiki.example.com", "file": name + ".zip", "size": os.path.getsize(zip_path),
                   "sha256": digest, "verified": "zip-structure", "verified_level": "inventory",
                   "backup_time": time.strftime(TIME, time.strptime(stamp, "%Y%m%dT%H%M%SZ"))}, handle)
    return zip_path


def test_a_restore_that_brings_back_fewer_pages_fails_the_drill_naming_the_shortfall(emulator, run_playbook, tmp_path):
    emulator.config(dc_restore_lose_pages={"DOC": 3})
    backups = tmp_path / "backups"
    backups.mkdir()
    good, manifest = place_backup(str(backups), "confluence-wiki.example.com-20261122T020304Z", SPACES)
    newer = place_backup(str(backups), "confluence-wiki.example.com-20261123T020304Z", SPACES, verified=False)[0]
    # The newest good zip of the folder is a content export: not a site backup, never drilled.
    place_content_export(str(backups), "confluence-wiki.example.com-content-export-20261124T020304Z")

    run = drill(run_playbook, emulator, tmp_path)
    report = run.result
    assert run.rc != 0 and report["status"] == "failed" and report["passed"] is False, run
    assert report["backup"]["path"] == good and report["backup"]["verified_now"] is False, report["backup"]
    assert report["backup"]["passed_over"] == [{
        "path": newer, "backup_time": "2026-11-23T02:03:04Z",
        "reason": "its last verification failed (archive: member entities.xml has a bad CRC)"}]
    assert "Passed over, as not verified: %s (its last verification failed" % os.path.basename(newer) in run.output
    assert report["failed_task"] == "Count the drill site's spaces and pages against the backup's inventory"
    assert report["short_spaces"] == [{"key": "DOC", "kind": "pages", "expected": 4, "found": 1}]
    assert report["found"] == {"spaces": 4, "pages": 37} and report["found_pages_percent"] == 92.5
    assert report["found_spaces_percent"] == 100.0 and report["missing_spaces"] == []
    assert "short: DOC 1 of 4 pages" in report["msg"] and report["restore_seconds"] > 0
    failure = [line for line in run.output.splitlines() if "wiki (confluence_datacenter): FAILED" in line]
    assert failure and "short: DOC 1 of 4 pages" in failure[-1], run.output[-3000:]
    recap = [line for line in run.output.splitlines() if line.startswith("localhost ")]
    assert recap and "failed=1" in recap[-1], "the play fails visibly: %s" % recap

    with open(report["report_path"]) as handle:
        assert json.load(handle)["status"] == "failed"
    metrics = samples(report["textfile"])
    assert metrics["atlassian_backup_drill_last_run_success"] == 0
    assert "atlassian_backup_drill_last_success_timestamp_seconds" not in metrics, "no drill has passed yet"
    assert metrics["atlassian_backup_drill_restore_seconds"] == report["restore_seconds"]
    assert metrics["atlassian_backup_drill_found_pages_ratio"] == 0.925
    assert metrics["atlassian_backup_drill_backup_timestamp_seconds"] == epoch(manifest["backup_time"])


def test_a_cloud_drill_restores_the_newest_organization_backup_into_the_sandbox(emulator, run_playbook, tmp_path):
    """The organization backup of the source site restored into the sandbox site, its content compared with the
    inventory of the folder's backup of the same site (the default site: DOC, TEAM and its admin's personal space)."""
    emulator.config(org_restore_failing_checks=[], org_restore_seconds=0.5)
    backups = tmp_path / "backups"
    backups.mkdir()
    spaces = [{"key": "DOC", "name": "Documentation", "type": "global", "status": "current", "pages": 12, "blog_posts": 2},
              {"key": "TEAM", "name": "Team", "type": "global", "status": "current", "pages": 7, "blog_posts": 1},
              {"key": content.personal_key(CANARY_USER), "name": "backup-bot", "type": "personal", "status": "current",
               "pages": 1, "blog_posts": 0}]
    place_backup(str(backups), "confluence-example.atlassian.net-20261122T020304Z", spaces, deployment="cloud")
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True,
                                             "includePersonalSpaces": True})
    placed = emulator.control("org/backup", {"policyId": policy["policyId"], "status": "COMPLETE", "age_seconds": 3600})

    run = drill(run_playbook, emulator, tmp_path, restore_drill_type="confluence_cloud",
                restore_drill_url=emulator.url + "/sites/example-restore", restore_drill_source_cloud_id=SITE,
                restore_drill_cloud_id=RESTORE_SITE)
    report = run.result
    assert run.rc == 0 and report["status"] == "passed", run
    restored = report["restore"]
    assert restored["status"] == "COMPLETE" and restored["backup_id"] == placed["backupId"], restored
    # From the restore's creation to its completion by the service's clock: org_restore_seconds on the emulator's.
    assert restored["post_op_report_url"] and report["restore_seconds"] == restored["seconds"]
    assert abs(report["restore_seconds"] - 0.5) < 0.01, report["restore_seconds"]
    assert report["backup_time"] == restored["backup_time"] != report["backup"]["backup_time"], "the RPO is the org backup's"
    assert report["backup_age_seconds"] == epoch(report["drill_time"]) - epoch(restored["backup_time"]) >= 3600
    assert report["found"] == {"spaces": 3, "pages": 20}
    assert "organization backup %s of" % placed["backupId"] in report["line"]
    restores = emulator.state()["org"]["restores"]
    assert [(r["backupId"], r["cloudId"]) for r in restores] == [(placed["backupId"], RESTORE_SITE)]
