# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""snapshots_export through ansible-playbook against the emulator's Snapshots app, in every answer shape (issue 12).

The app's fields are undocumented, so the emulator answers in three shapes (a: taskId/Location/downloadUrl, b:
id/links.status/302 to a storage host, file: the zip at once) and every behaviour is checked in each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

import pytest

from conftest import COLLECTION, DC_PAT, SNAP_KEY, SNAP_URL_TOKEN

SHAPES = ["a", "b", "file"]
FAST = dict(poll_interval=0.1, wait_timeout=60)


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def endpoint(emulator):
    return "%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN)


def snapshots(emulator):
    return emulator.state()["snapshots"]


def env_for(emulator, key=SNAP_KEY, **extra):
    env = {"SNAPSHOTS_BACKUP_URL": endpoint(emulator), "SNAPSHOTS_API_KEY": key}
    env.update(extra)
    return env


def export(run_playbook, emulator, env=None, check=False, verbosity=0, **args):
    merged = dict(FAST, url="https://example.atlassian.net")
    merged.update(args)
    return run_playbook.module("snapshots_export", env=env or env_for(emulator), check=check, verbosity=verbosity,
                               **merged)


def listed_spaces(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("snapshots.json").decode())["spaces"]


@pytest.mark.parametrize("shape", SHAPES)
def test_all_spaces(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape)
    run = export(run_playbook, emulator, dest=dest)
    assert ok(run) and run.result["changed"] is True and run.result["status"] == "complete", run
    path = run.result["path"]
    assert os.path.basename(path).startswith("snapshots-example.atlassian.net-") and path.endswith(".zip")
    assert listed_spaces(path) == ["DOC", "TEAM", "ARCHIVE", "HR"] and run.result["spaces"] == "all"
    with open(run.result["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert manifest["spaces"] == "all" and manifest["site"] == "https://example.atlassian.net"
    assert manifest["endpoint_host"].startswith("127.0.0.1:") and SNAP_URL_TOKEN not in json.dumps(manifest)
    assert (run.result["task_id"] is None) == (shape == "file")
    assert snapshots(emulator)["posts"] == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_a_list_of_spaces(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape)
    run = export(run_playbook, emulator, dest=dest, spaces=["TEAM", "DOC"])
    assert ok(run) and run.result["spaces"] == ["DOC", "TEAM"], run
    assert sorted(listed_spaces(run.result["path"])) == ["DOC", "TEAM"]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_csv_of_spaces(emulator, run_playbook, dest, tmp_path, shape):
    emulator.config(snapshots_shape=shape)
    csv_path = tmp_path / "spaces.csv"
    csv_path.write_text("Space key\nHR\n\nARCHIVE\n")
    run = export(run_playbook, emulator, dest=dest, spaces_csv=str(csv_path))
    assert ok(run) and run.result["spaces"] == ["ARCHIVE", "HR"], run
    assert sorted(listed_spaces(run.result["path"])) == ["ARCHIVE", "HR"]


@pytest.mark.parametrize("content,words", [
    ("", "holds no space key"),
    ("key\n", "holds no space key"),
    ("DOC\nTE AM\n", "line 2: 'TE AM' is not a space key"),
    ("DOC\nTEAM\ndoc\n", "line 3: doc repeats line 1"),
    ("DOC,TEAM\nHR\n", "line 1 has 2 values"),
])
def test_malformed_csvs_are_refused_before_any_request(emulator, run_playbook, dest, tmp_path, content, words):
    csv_path = tmp_path / "spaces.csv"
    csv_path.write_text(content)
    run = export(run_playbook, emulator, dest=dest, spaces_csv=str(csv_path))
    assert run.result["failed"] and words in run.result["msg"], run
    assert not snapshots(emulator)["requests"] and not os.listdir(dest)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_wrong_key_is_a_clear_401(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape)
    run = export(run_playbook, emulator, env=env_for(emulator, key="not-the-key-000000"), dest=dest)
    assert run.result["failed"] and run.result["http_status"] == 401, run
    assert "api_key" in run.result["msg"] and "api_key_header" in run.result["msg"], run
    assert "not-the-key-000000" not in run.output and not os.listdir(dest)


@pytest.mark.parametrize("shape", ["a", "b"])
def test_a_failed_task_says_why(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape, snapshots_fail=True)
    run = export(run_playbook, emulator, dest=dest)
    assert run.result["failed"] and run.result["status"] == "failed", run
    assert "the Snapshots database is being migrated" in run.result["msg"] and not os.listdir(dest)


@pytest.mark.parametrize("shape", ["a", "b"])
def test_a_task_that_never_ends_stops_at_wait_timeout(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape, snapshots_never_finish=True)
    run = export(run_playbook, emulator, dest=dest, wait_timeout=1, poll_interval=0.2)
    assert run.result["failed"] and run.result["status"] == "running", run
    assert "wait_timeout (1)" in run.result["msg"] and not os.listdir(dest)


@pytest.mark.parametrize("shape", SHAPES)
def test_max_age_rerun_sends_nothing_and_check_mode_posts_nothing(emulator, run_playbook, dest, shape):
    emulator.config(snapshots_shape=shape)
    checked = export(run_playbook, emulator, dest=dest, check=True, max_age="1d")
    assert ok(checked) and checked.result["would_export"] is True and not snapshots(emulator)["requests"], checked
    first = export(run_playbook, emulator, dest=dest, max_age="1d")
    assert ok(first) and first.result["changed"] is True, first
    before = len(snapshots(emulator)["requests"])
    again = export(run_playbook, emulator, dest=dest, max_age="1d")
    assert ok(again) and again.result["changed"] is False and again.result["path"] == first.result["path"], again
    assert len(snapshots(emulator)["requests"]) == before and snapshots(emulator)["posts"] == 1
    other = export(run_playbook, emulator, dest=dest, max_age="1d", spaces=["DOC"], check=True)
    assert other.result["would_export"] is True, other


def test_the_key_never_reaches_the_storage_host_and_never_shows(emulator, run_playbook, dest):
    emulator.config(snapshots_shape="b", snapshots_require_pat=True, snapshots_pats=[DC_PAT])
    run = export(run_playbook, emulator, env=env_for(emulator, ATLASSIAN_PAT=DC_PAT), dest=dest, verbosity=3)
    assert ok(run), run
    media = emulator.state()["media_log"]
    assert media, "shape b downloads through the storage host"
    for entry in media:
        names = [n.lower() for n in entry.get("header_names", [])]
        assert "jira-snapshots-api-key" not in names and "authorization" not in names, entry
    for secret in (SNAP_KEY, SNAP_URL_TOKEN, DC_PAT):
        assert secret not in run.output and secret not in json.dumps(run.result)
    bearer = [r for r in snapshots(emulator)["requests"] if r.get("authorization") == "bearer"]
    assert bearer, "the PAT went to the endpoint as Bearer"


def test_a_missing_pat_on_a_server_that_needs_one(emulator, run_playbook, dest):
    emulator.config(snapshots_require_pat=True, snapshots_pats=[DC_PAT])
    run = export(run_playbook, emulator, env=env_for(emulator, ATLASSIAN_PAT=None), dest=dest)
    assert run.result["failed"] and run.result["http_status"] == 401, run


def test_no_endpoint_or_no_key_fails_before_any_request(emulator, run_playbook, dest):
    run = export(run_playbook, emulator, env={"SNAPSHOTS_BACKUP_URL": None, "SNAPSHOTS_API_KEY": SNAP_KEY}, dest=dest)
    assert run.result["failed"] and "endpoint is required" in run.result["msg"], run
    run = export(run_playbook, emulator, env={"SNAPSHOTS_BACKUP_URL": endpoint(emulator), "SNAPSHOTS_API_KEY": None},
                 dest=dest)
    assert run.result["failed"] and "api_key is required" in run.result["msg"], run
    assert not snapshots(emulator)["requests"]


def test_the_playbook_keeps_the_confluence_backup_and_the_snapshots_export_side_by_side(emulator, run_playbook,
                                                                                        tmp_path):
    dest = str(tmp_path / "side-by-side")
    run = run_playbook(name=os.path.join(COLLECTION, "playbooks", "confluence_backup.yml"),
                       env=env_for(emulator), module=None, atlassian_backup_dest=dest,
                       atlassian_backup_poll_interval=1, atlassian_backup_snapshots=True)
    assert run.rc == 0, run
    names = sorted(os.listdir(dest))
    assert any(n.startswith("confluence-") and n.endswith(".zip") for n in names), names
    assert any(n.startswith("snapshots-") and n.endswith(".zip") for n in names), names


def test_retry_warnings_name_the_host_only(emulator, run_playbook, dest):
    """Warnings are not masked by no_log: a retried poll must not print the secret URL."""
    emulator.faults({"match": "/tasks/", "status": 503, "count": 2})
    run = export(run_playbook, emulator, dest=dest)
    assert ok(run) and run.result["http_retries"] == 2, run
    assert "Retrying GET a URL on 127.0.0.1:" in run.output, run.output[-2000:]


def test_a_redirect_loop_on_the_start_says_so_and_shows_no_secret_url(emulator, run_playbook, dest):
    """Found by make chaos: the retry warning quoted the endpoint's URL (its token), a failure after a 302 to the
    POST named only the GET that followed, and a failed download with nothing kept offered to resume from it."""
    emulator.reset(snapshots_shape="file")
    emulator.faults({"kind": "redirect", "match": "/snapshots/api/backup/", "count": 1000})
    run = export(run_playbook, emulator, dest=dest, retries=1, retry_max_delay=1)
    assert not ok(run), run
    msg = run.result["msg"]
    assert "the app answered HTTP 302, naming the URL to follow" in msg, msg
    assert "Retrying GET a URL on 127.0.0.1:" in run.output and "more than 10 redirects" in run.output, run.output
    assert SNAP_URL_TOKEN not in run.output and SNAP_URL_TOKEN not in json.dumps(run.result), run.output[-3000:]
    assert "resume from the partial file" not in msg and not os.listdir(dest), (msg, os.listdir(dest))


def test_a_key_copied_with_a_line_break_is_refused_without_showing_it(emulator, run_playbook, dest):
    run = export(run_playbook, emulator, env=env_for(emulator, key=SNAP_KEY + "\nextra"), dest=dest)
    assert run.result["failed"] and "api_key holds spaces or control characters" in run.result["msg"], run
    assert not snapshots(emulator)["requests"]
