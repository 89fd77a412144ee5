# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center: backups, restores and job control through ansible-playbook against the emulator (issue 11).

Jobs made through the API run for 2 polls (``dc_job_polls`` in conftest), so nothing here races the wall clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pytest
import requests

from conftest import COLLECTIONS_ROOT, DC_ADMIN, DC_CONTEXT, DC_PASSWORD, DC_PAT, DC_USER, DC_USER_PASSWORD

FAST = dict(poll_interval=0.1, wait_timeout=120)


def ok(run):
    """The playbook succeeded and so did the module (the one-task playbooks ignore its errors)."""
    return run.rc == 0 and not (run.result or {}).get("failed")


def dc_url(emulator):
    return emulator.url + DC_CONTEXT


def dc(emulator):
    return emulator.state()["dc"]


def pat_env():
    """PAT from the environment (ATLASSIAN_PAT); the suite's Cloud username and token are there too."""
    return {"ATLASSIAN_PAT": DC_PAT}


def basic(user=DC_ADMIN, password=DC_PASSWORD):
    """Basic credentials from the environment (so that no file of the test holds them), no PAT."""
    return {"ATLASSIAN_USERNAME": user, "ATLASSIAN_API_TOKEN": password, "ATLASSIAN_PAT": None}


def backup(run_playbook, emulator, env=None, **args):
    merged = dict(FAST, deployment="datacenter", url=dc_url(emulator))
    merged.update(args)
    return run_playbook.module("confluence_backup", env=env if env is not None else pat_env(), **merged)


def server_bytes(emulator, job_id):
    """The backup as the server serves it, fetched independently of the module."""
    response = requests.get("%s/rest/api/backup-restore/jobs/%s/download" % (dc_url(emulator), job_id),
                            auth=(DC_ADMIN, DC_PASSWORD), timeout=60)
    response.raise_for_status()
    return response.content


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_backup_zip(path, export_type="all", payload_size=64 * 1024, space_key=None):
    """A Data Center-like backup: entities.xml and exportDescriptor.properties at the top, a large stored member."""
    piece = hashlib.sha256(path.encode()).digest() * 2048  # 64 KiB, not all zeros
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("entities.xml", "<?xml version='1.0' encoding='UTF-8'?>\n<hibernate-generic/>\n")
        descriptor = "#Confluence export\nexportType=%s\n" % export_type
        if space_key:
            descriptor += "spaceKey=%s\n" % space_key
        archive.writestr("exportDescriptor.properties", descriptor)
        with archive.open("attachments/1/1/data.bin", "w", force_zip64=True) as member:
            left = payload_size
            while left > 0:
                member.write(piece[:min(left, len(piece))])
                left -= len(piece)
    return path


# --------------------------------------------------------------------- backups
def test_site_backup_with_basic_auth_is_downloaded_verified(emulator, run_playbook, dest):
    run = backup(run_playbook, emulator, env=basic(), dest=dest)
    assert ok(run) and run.result["changed"] is True and run.result["triggered"] is True, run
    result = run.result
    assert result["status"] == "complete" and result["scope"] == "site" and result["job"]["state"] == "FINISHED"
    jobs = dc(emulator)["jobs"]
    assert len(jobs) == 1 and jobs[0]["jobScope"] == "SITE" and jobs[0]["owner"] == DC_ADMIN
    assert jobs[0]["internal"]["skipAttachments"] is False
    body = server_bytes(emulator, result["job_id"])
    assert hashlib.sha256(body).hexdigest() == result["sha256"] == sha256_file(result["path"])
    assert os.path.basename(result["path"]).startswith("confluence-127.0.0.1_")
    with open(result["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert manifest["deployment"] == "datacenter" and manifest["job_id"] == result["job_id"]
    assert manifest["server_file_name"] == jobs[0]["fileName"] and manifest["scope"] == "site"
    with open(result["checksum_path"]) as handle:
        assert handle.read().split()[0] == result["sha256"]
    auth = set(r["auth"] for r in dc(emulator)["requests"])
    assert auth == {"basic"}, auth


def test_space_backup_of_two_keys_with_a_pat(emulator, run_playbook, dest):
    run = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["TEAM", "DOC"], include_attachments=False,
                 keep_permanently=True, file_name_prefix="nightly-")
    assert ok(run) and run.result["status"] == "complete", run
    job = dc(emulator)["jobs"][0]
    assert job["jobScope"] == "SPACE" and job["spaceKeys"] in ("TEAM,DOC", "DOC,TEAM")
    assert job["fileName"].startswith("nightly-") and "fileDeleteTime" not in job
    assert run.result["space_keys"] == ["DOC", "TEAM"]
    assert sorted(run.result["job"]["space_keys"]) == ["DOC", "TEAM"]
    assert "-space-DOC_TEAM-" in os.path.basename(run.result["path"])
    assert set(r["auth"] for r in dc(emulator)["requests"]) == {"bearer"}
    with zipfile.ZipFile(run.result["path"]) as archive:
        assert "exportType=space" in archive.read("exportDescriptor.properties").decode()


def test_a_space_backup_already_queued_is_joined_not_started_again(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SPACE", state="PROCESSING", owner=DC_USER,
                             spaceKeys=["DOC", "TEAM"], polls=3)
    run = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["DOC", "TEAM"])
    assert ok(run) and run.result["triggered"] is False and run.result["job_id"] == placed["id"], run
    assert "joined" in run.result["msg"]
    assert len(dc(emulator)["jobs"]) == 1 and dc(emulator)["writes"] == 0


def test_overlapping_spaces_are_refused_by_the_server_and_explained(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SPACE", state="PROCESSING", spaceKeys=["DOC"], polls=50)
    run = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["DOC", "TEAM"])
    assert run.result["failed"] and run.result["status"] == "not_started" and run.result["http_status"] == 409, run
    assert "job %s of DOC" % placed["id"] in run.result["msg"] and "already in PROGRESS or QUEUED" in run.result["msg"]
    assert len(dc(emulator)["jobs"]) == 1
    assert not os.listdir(dest)


def test_a_site_backup_started_by_this_account_is_joined(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SITE", state="QUEUED", owner=DC_ADMIN, polls=2)
    run = backup(run_playbook, emulator, env=basic(), dest=dest)
    assert ok(run) and run.result["job_id"] == placed["id"] and run.result["triggered"] is False, run
    assert dc(emulator)["writes"] == 0


def test_queued_behind_another_job_then_done(emulator, run_playbook, dest):
    ahead = emulator.dc_job(operation="RESTORE", scope="SPACE", state="PROCESSING", owner="someone", polls=4)
    run = backup(run_playbook, emulator, dest=dest)
    assert ok(run) and run.result["status"] == "complete", run
    jobs = dict((j["id"], j) for j in dc(emulator)["jobs"])
    mine = jobs[run.result["job_id"]]
    assert jobs[ahead["id"]]["jobState"] == "FINISHED"
    assert mine["startProcessingTime"] >= jobs[ahead["id"]]["finishProcessingTime"]


def test_a_failed_job_fails_with_confluences_reason(emulator, run_playbook, dest):
    emulator.dc_job(operation="BACKUP", scope="SITE", state="PROCESSING", owner=DC_ADMIN, polls=1, outcome="FAILED",
                    errorMessage="Backup failed: Confluence was restarted")
    run = backup(run_playbook, emulator, env=basic(), dest=dest)
    assert run.result["failed"] and run.result["status"] == "failed", run
    assert "Backup failed: Confluence was restarted" in run.result["msg"] and "Traceback" not in run.output
    assert not os.listdir(dest)


def test_a_cancelled_job_named_by_job_id_fails_saying_who(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SITE", state="CANCELLED", owner=DC_ADMIN)
    run = backup(run_playbook, emulator, dest=dest, job_id=placed["id"])
    assert run.result["failed"] and run.result["status"] == "cancelled" and "cancelled" in run.result["msg"], run
    assert dc(emulator)["writes"] == 0


def test_wait_false_then_job_id_downloads_that_job(emulator, run_playbook, dest):
    started = backup(run_playbook, emulator, dest=dest, wait=False)
    assert ok(started) and started.result["changed"] is True and started.result["path"] is None, started
    assert "job_id: %s" % started.result["job_id"] in started.result["msg"]
    later = backup(run_playbook, emulator, dest=dest, job_id=started.result["job_id"])
    assert ok(later) and later.result["job_id"] == started.result["job_id"], later
    assert later.result["sha256"] == hashlib.sha256(server_bytes(emulator, later.result["job_id"])).hexdigest()
    assert len(dc(emulator)["jobs"]) == 1


def test_a_backup_the_server_already_deleted_is_reported_as_gone(emulator, run_playbook, dest):
    placed = emulator.dc_job(operation="BACKUP", scope="SITE", state="FINISHED", owner=DC_ADMIN,
                             age_seconds=4 * 86400)
    assert placed["fileExists"] is False
    run = backup(run_playbook, emulator, dest=dest, job_id=placed["id"])
    assert run.result["failed"] and run.result["status"] == "gone", run
    assert "no longer on the server" in run.result["msg"] and "keep_permanently" in run.result["msg"]
    assert not os.listdir(dest)


def test_max_age_rerun_sends_no_request(emulator, run_playbook, dest):
    first = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["DOC"], max_age="1d")
    assert ok(first) and first.result["changed"] is True, first
    before = len(dc(emulator)["requests"])
    again = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["DOC"], max_age="1d")
    assert ok(again) and again.result["changed"] is False and again.result["path"] == first.result["path"], again
    assert len(dc(emulator)["requests"]) == before
    other = backup(run_playbook, emulator, dest=dest, scope="space", space_keys=["TEAM"], max_age="1d", check=True)
    assert other.result["changed"] is True and other.result["would_trigger"] is True, other


def test_times_with_milliseconds_and_an_offset_are_read_as_utc(emulator, run_playbook, dest):
    """A server that writes times like Java's SSSZ (one hour east): backup_time and the manifest's are UTC (so that
    max_age compares like with like), the server's own text is kept beside it."""
    emulator.config(dc_time_style="java")
    first = backup(run_playbook, emulator, dest=dest, max_age="1h")
    assert ok(first), first
    server = dc(emulator)["jobs"][0]["finishProcessingTime"]
    assert server.endswith("+0100") and "." in server
    assert first.result["backup_time"].endswith("Z") and first.result["backup_time"][11:13] != server[11:13]
    with open(first.result["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert manifest["backup_time"] == first.result["backup_time"] and manifest["server_backup_time"] == server
    again = backup(run_playbook, emulator, dest=dest, max_age="1h")
    assert ok(again) and again.result["changed"] is False, again


def test_check_mode_reads_only(emulator, run_playbook, dest):
    run = backup(run_playbook, emulator, dest=dest, check=True)
    assert ok(run) and run.result["would_trigger"] is True, run
    assert dc(emulator)["writes"] == 0 and not dc(emulator)["jobs"]


def test_a_user_without_admin_rights_is_refused_clearly(emulator, run_playbook, dest):
    run = backup(run_playbook, emulator, env=basic(DC_USER, DC_USER_PASSWORD), dest=dest)
    assert run.result["failed"] and run.result["http_status"] == 403, run
    assert "permission to create site backups" in run.result["msg"] and "system administrator" in run.result["msg"]
    assert not dc(emulator)["jobs"]


def test_wrong_pat_is_a_clear_401(emulator, run_playbook, dest):
    run = backup(run_playbook, emulator, env={"ATLASSIAN_PAT": "not-the-token-0000"}, dest=dest)
    assert run.result["failed"] and run.result["http_status"] == 401 and "personal_access_token" in run.result["msg"], run


def test_in_progress_spelling_is_read_like_processing(emulator, run_playbook, dest):
    emulator.config(dc_processing_word="IN_PROGRESS")
    run = backup(run_playbook, emulator, dest=dest)
    assert ok(run) and run.result["status"] == "complete", run


def test_passwords_and_pat_never_show_at_vvv(emulator, run_playbook, dest):
    for env in (basic(), pat_env()):
        run = backup(run_playbook, emulator, env=env, dest=dest, verbosity=3)
        assert ok(run), run
        for secret in (DC_PASSWORD, DC_PAT):
            assert secret not in run.output
        assert "api_token" in run.output or "personal_access_token" in run.output


# -------------------------------------------------------------------- restores
def restore(run_playbook, emulator, env=None, **args):
    merged = dict(FAST, url=dc_url(emulator))
    merged.update(args)
    return run_playbook.module("confluence_restore", env=env if env is not None else pat_env(), **merged)


def test_restore_from_the_restore_folder(emulator, run_playbook):
    emulator.dc_restore_file(scope="SPACE", name="Confluence-space-export-DOC.zip", kind="space")
    run = restore(run_playbook, emulator, scope="space", file_name="Confluence-space-export-DOC.zip",
                  skip_reindex=True)
    assert ok(run) and run.result["status"] == "complete" and run.result["changed"] is True, run
    job = dc(emulator)["jobs"][0]
    assert job["jobOperation"] == "RESTORE" and job["fileName"] == "Confluence-space-export-DOC.zip"
    assert job["internal"]["skipReindex"] is True


def test_a_missing_file_name_is_refused_before_any_write(emulator, run_playbook):
    emulator.dc_restore_file(scope="SITE", name="other.zip", kind="site")
    run = restore(run_playbook, emulator, scope="site", file_name="missing.zip", confirm=True)
    assert run.result["failed"] and "missing.zip is not in the server's site restore folder" in run.result["msg"], run
    assert "other.zip" in run.result["msg"]
    assert dc(emulator)["writes"] == 0


def test_a_site_restore_without_confirm_sends_nothing(emulator, run_playbook, tmp_path):
    src = make_backup_zip(str(tmp_path / "site.zip"))
    run = restore(run_playbook, emulator, scope="site", src=src)
    assert run.result["failed"] and "confirm: true" in run.result["msg"], run
    assert not dc(emulator)["requests"]


def test_a_file_that_is_not_a_zip_is_refused_locally(emulator, run_playbook, tmp_path):
    src = tmp_path / "backup.zip"
    src.write_bytes(b"<html>this is a login page</html>" * 100)
    run = restore(run_playbook, emulator, scope="space", src=str(src))
    assert run.result["failed"] and "is not a zip file" in run.result["msg"], run
    assert not dc(emulator)["requests"]


def test_a_site_backup_for_a_space_restore_is_refused_locally(emulator, run_playbook, tmp_path):
    src = make_backup_zip(str(tmp_path / "site.zip"), export_type="all")
    run = restore(run_playbook, emulator, scope="space", src=src)
    assert run.result["failed"] and "is a site backup" in run.result["msg"], run
    assert not dc(emulator)["requests"]


def test_a_damaged_src_is_caught_by_its_sha256_sidecar(emulator, run_playbook, tmp_path):
    src = make_backup_zip(str(tmp_path / "space.zip"), export_type="space", space_key="DOC")
    with open(src + ".sha256", "w") as handle:
        handle.write("%s  space.zip\n" % ("0" * 64))
    run = restore(run_playbook, emulator, scope="space", src=src)
    assert run.result["failed"] and "does not match its space.zip.sha256" in run.result["msg"], run
    assert not dc(emulator)["requests"]


def test_upload_restore_streams_with_content_length(emulator, run_playbook, tmp_path):
    src = make_backup_zip(str(tmp_path / "space.zip"), export_type="space", space_key="DOC",
                          payload_size=24 * 1024 * 1024)
    with open(src + ".sha256", "w") as handle:
        handle.write("%s  space.zip\n" % sha256_file(src))
    run = restore(run_playbook, emulator, scope="space", src=src, verbosity=1)
    assert ok(run) and run.result["status"] == "complete", run
    assert run.result["sha256"] == sha256_file(src) and run.result["uploaded_bytes"] == os.path.getsize(src)
    assert run.result["upload_progress"][-1].startswith("100%")
    upload = dc(emulator)["uploads"][0]
    assert upload["sha256"] == sha256_file(src) and upload["field"] == "file" and upload["is_zip"] is True
    assert upload["had_content_length"] is True and upload["chunked"] is False
    assert upload["token"] in ("no-check", "nocheck")
    assert "upload_progress" in run.output  # shown at -v


def test_a_proxy_that_refuses_chunked_bodies_takes_the_upload(emulator, run_playbook, tmp_path):
    emulator.config(dc_refuse_chunked_uploads=True)
    src = make_backup_zip(str(tmp_path / "site.zip"))
    run = restore(run_playbook, emulator, scope="site", src=src, confirm=True, wait=False)
    assert ok(run) and run.result["job_id"], run


def test_check_mode_restore_uploads_nothing(emulator, run_playbook, tmp_path):
    src = make_backup_zip(str(tmp_path / "site.zip"))
    run = restore(run_playbook, emulator, scope="site", src=src, confirm=True, check=True)
    assert ok(run) and run.result["would_restore"] is True, run
    assert dc(emulator)["writes"] == 0 and not dc(emulator)["uploads"]


def test_a_restore_that_fails_says_why(emulator, run_playbook):
    emulator.config(dc_restore_outcome="FAILED", dc_restore_error="Restore failed: disk full on the server")
    emulator.dc_restore_file(scope="SITE", name="site.zip", kind="site")
    run = restore(run_playbook, emulator, scope="site", file_name="site.zip", confirm=True)
    assert run.result["failed"] and run.result["status"] == "failed", run
    assert "disk full on the server" in run.result["msg"]


def test_a_running_restore_of_the_same_file_is_joined(emulator, run_playbook):
    emulator.dc_restore_file(scope="SITE", name="site.zip", kind="site")
    placed = emulator.dc_job(operation="RESTORE", scope="SITE", state="PROCESSING", fileName="site.zip", polls=2)
    run = restore(run_playbook, emulator, scope="site", file_name="site.zip", confirm=True)
    assert ok(run) and run.result["job_id"] == placed["id"] and run.result["changed"] is False, run
    assert dc(emulator)["writes"] == 0


# ------------------------------------------------------------------ job control
def job_module(run_playbook, emulator, name="confluence_job", **args):
    return run_playbook.module(name, env=pat_env(), url=dc_url(emulator), **args)


def test_cancel_a_queued_job_then_rerun_unchanged(emulator, run_playbook):
    emulator.dc_job(operation="BACKUP", scope="SITE", state="PROCESSING", polls=20)
    queued = emulator.dc_job(operation="BACKUP", scope="SPACE", state="QUEUED", spaceKeys=["HR"])
    checked = job_module(run_playbook, emulator, job_id=queued["id"], check=True, diff=True)
    assert checked.result["changed"] is True and checked.result["diff"]["after"]["state"] == "CANCELLED", checked
    assert dc(emulator)["writes"] == 0
    run = job_module(run_playbook, emulator, job_id=queued["id"], state="cancelled")
    assert ok(run) and run.result["changed"] is True and run.result["status"] == "cancelled", run
    again = job_module(run_playbook, emulator, job_id=queued["id"])
    assert ok(again) and again.result["changed"] is False, again
    assert dc(emulator)["writes"] == 1


def test_clear_queue_then_rerun_unchanged(emulator, run_playbook):
    emulator.dc_job(operation="BACKUP", scope="SITE", state="PROCESSING", polls=50)
    ids = [emulator.dc_job(operation="BACKUP", scope="SPACE", state="QUEUED", spaceKeys=[key])["id"]
           for key in ("HR", "ARCHIVE")]
    checked = job_module(run_playbook, emulator, clear_queue=True, check=True)
    assert checked.result["changed"] is True and checked.result["cancelled_count"] == 2, checked
    assert dc(emulator)["writes"] == 0
    run = job_module(run_playbook, emulator, clear_queue=True)
    assert ok(run) and run.result["cancelled_count"] == 2 and sorted(run.result["cancelled_jobs"]) == sorted(ids)
    states = dict((j["id"], j["jobState"]) for j in dc(emulator)["jobs"])
    assert all(states[i] == "CANCELLED" for i in ids) and list(states.values()).count("PROCESSING") == 1
    again = job_module(run_playbook, emulator, clear_queue=True)
    assert ok(again) and again.result["changed"] is False and again.result["cancelled_count"] == 0, again
    # The PUT is sent again (a non-administrator sees only its own jobs), and changes nothing.
    assert dc(emulator)["writes"] == 2


def test_job_info_filters(emulator, run_playbook):
    emulator.dc_job(operation="RESTORE", scope="SITE", state="PROCESSING", polls=50)
    emulator.dc_job(operation="BACKUP", scope="SPACE", state="FINISHED", spaceKeys=["DOC"])
    emulator.dc_job(operation="RESTORE", scope="SITE", state="FAILED", errorMessage="boom")
    emulator.dc_job(operation="BACKUP", scope="SITE", state="QUEUED")
    run = job_module(run_playbook, emulator, name="confluence_job_info", job_operation="backup",
                     job_states=["FINISHED", "QUEUED"])
    assert ok(run) and [j["state"] for j in run.result["jobs"]] == ["QUEUED", "FINISHED"], run
    one = job_module(run_playbook, emulator, name="confluence_job_info", job_id=run.result["jobs"][1]["id"])
    assert one.result["job"]["space_keys"] == ["DOC"], one
    none = job_module(run_playbook, emulator, name="confluence_job_info", job_id=999)
    assert ok(none) and none.result["jobs"] == [] and none.result["job"] is None, none
    bad = job_module(run_playbook, emulator, name="confluence_job_info", from_date="yesterday")
    assert bad.result["failed"] and "2026-11-01T00:00:00.000Z" in bad.result["msg"], bad


@pytest.mark.parametrize("module", ["confluence_job", "confluence_job_info", "confluence_restore"])
def test_dc_modules_need_credentials(emulator, run_playbook, module):
    args = {"confluence_job": dict(job_id=1), "confluence_job_info": {},
            "confluence_restore": dict(scope="space", file_name="x.zip")}[module]
    run = run_playbook.module(module, env={"ATLASSIAN_USERNAME": None, "ATLASSIAN_API_TOKEN": None,
                                           "ATLASSIAN_PAT": None}, url=dc_url(emulator), **args)
    assert run.result["failed"] and "personal_access_token" in run.result["msg"], run
    assert not dc(emulator)["requests"]


def module_peak_rss(args_path, env):
    """Run confluence_restore as Ansible runs it (Python, JSON arguments); its result and its own peak RSS."""
    code = ("import resource,subprocess,sys; out=subprocess.run(sys.argv[1:],stdout=subprocess.PIPE).stdout; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(out.decode())")
    module = "ansible_collections.atlassian_ops.backup.plugins.modules.confluence_restore"
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", module, args_path], env=env,
                          stdout=subprocess.PIPE, universal_newlines=True, timeout=600, check=True)
    peak, out = proc.stdout.split("\n", 1)
    return json.loads(out.strip().splitlines()[-1]), int(peak) * 1024


def test_a_restore_upload_over_1_gib_keeps_the_modules_memory_flat(emulator, tmp_path):
    """The module's own peak RSS is under 100 MiB and the same for a 16 MiB and a 1.1 GiB upload."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT, ATLASSIAN_PAT=DC_PAT)
    peaks = {}
    for name, size in (("small", 16 * 1024 * 1024), ("large", 1100 * 1024 * 1024)):
        src = make_backup_zip(str(tmp_path / ("%s.zip" % name)), export_type="space", space_key="DOC",
                              payload_size=size)
        args_path = str(tmp_path / "args.json")
        with open(args_path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": {"url": dc_url(emulator), "scope": "space", "src": src,
                                               "wait": False}}, handle)
        result, peaks[name] = module_peak_rss(args_path, env)
        assert not result.get("failed") and result["uploaded_bytes"] == os.path.getsize(src), result
        upload = dc(emulator)["uploads"][-1]
        assert upload["bytes"] == os.path.getsize(src) and upload["is_zip"] is True
        os.unlink(src)
    print("peak RSS of the module: %s" % peaks)
    assert peaks["large"] < 100 * 1024 * 1024, peaks
    assert peaks["large"] - peaks["small"] < 8 * 1024 * 1024, peaks
