# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""confluence_backup through ansible-playbook against the emulator, over real HTTP."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import stat

from conftest import CANARY_TOKEN, CANARY_USER, all_text_under

import base64


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def zips(dest):
    return sorted(n for n in os.listdir(dest) if n.endswith(".zip"))


def assert_clean_dest(dest):
    leftovers = [n for n in os.listdir(dest) if n.endswith((".part", ".tmp", ".state.json"))]
    assert not leftovers, leftovers


def test_first_backup_matches_emulator_and_rerun_is_idempotent(emulator, run_playbook, dest):
    run = run_playbook(dest=dest, max_age="24h")
    assert run.rc == 0, run
    res = run.result
    assert res["changed"] is True and res["triggered"] is True, run
    assert res["status"] == "complete"
    state = emulator.state()
    assert state["runbackup_posts"] == 1
    assert res["sha256"] == state["backup"]["sha256"]
    assert res["size"] == state["backup"]["size"]
    assert res["file_name"] == state["backup"]["file_name"]
    path = res["path"]
    assert os.path.basename(path).startswith("confluence-127.0.0.1_")
    assert path.endswith("Z.zip")
    assert sha256_of(path) == state["backup"]["sha256"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path + ".sha256") as handle:
        assert handle.read() == "%s  %s\n" % (res["sha256"], os.path.basename(path))
    with open(res["manifest_path"]) as handle:
        manifest = json.load(handle)
    assert manifest["sha256"] == res["sha256"] and manifest["size"] == res["size"]
    assert manifest["server_file_name"] == res["file_name"]
    assert manifest["site"] == emulator.url
    for key in ("create_seconds", "download_seconds", "bytes_per_second", "next_allowed_at", "msg"):
        assert key in res
    assert res["create_seconds"] > 0 and res["bytes_per_second"] > 0 and res["next_allowed_at"] is None
    assert_clean_dest(dest)
    # Authorization never went to the media host.
    assert state["media_log"] and not any(e["authorization"] for e in state["media_log"])

    requests_before = len(emulator.state()["requests"])
    again = run_playbook(dest=dest, max_age="24h")
    assert again.rc == 0, again
    assert again.result["changed"] is False, again
    assert again.result["path"] == path and again.result["sha256"] == res["sha256"]
    after = emulator.state()
    assert len(after["requests"]) == requests_before, "an idempotent run must not call the site"
    assert zips(dest) == [os.path.basename(path)]


def test_check_mode_never_posts(emulator, run_playbook, dest):
    run = run_playbook(dest=dest, check=True)
    assert run.rc == 0, run
    assert run.result["changed"] is True
    assert run.result["would_trigger"] is True and run.result["would_download"] is True
    state = emulator.state()
    assert state["runbackup_posts"] == 0
    assert all(r["method"] == "GET" for r in state["requests"])
    assert os.listdir(dest) == []


def test_check_mode_idempotent_when_fresh_backup_present(emulator, run_playbook, dest):
    assert run_playbook(dest=dest).rc == 0
    posts = emulator.state()["runbackup_posts"]
    run = run_playbook(dest=dest, max_age="1h", check=True)
    assert run.rc == 0 and run.result["changed"] is False, run
    assert emulator.state()["runbackup_posts"] == posts


def test_frequency_limit_downloads_latest_backup(emulator, run_playbook, dest):
    emulator.seed(state="complete", age_seconds=7200)  # the site holds a backup from 2 h ago, limit active
    run = run_playbook(dest=dest)
    assert run.rc == 0, run
    res = run.result
    assert res["triggered"] is False and res["changed"] is True
    assert res["status"] == "frequency_limited"
    assert res["next_allowed_at"] and res["next_allowed_at"].endswith("Z")
    state = emulator.state()
    assert res["sha256"] == state["backup"]["sha256"]
    assert "Backup frequency is limited" in res["msg"]
    # Again: the latest backup is already in dest, verified: no change, no download.
    media_before = len(state["media_log"])
    again = run_playbook(dest=dest)
    assert again.rc == 0 and again.result["changed"] is False, again
    assert len(emulator.state()["media_log"]) == media_before
    assert len(zips(dest)) == 1


def test_frequency_limit_without_backup_fails_clearly_or_skips(emulator, run_playbook, dest):
    emulator.seed(state="none", last_trigger_age_seconds=3600)
    run = run_playbook(dest=dest)
    assert run.rc == 0 and run.result["failed"] is True, run
    assert "holds no completed backup" in run.result["msg"]
    assert run.result["next_allowed_at"]
    skipped = run_playbook(dest=dest, on_frequency_limit="skip")
    assert skipped.result.get("failed") is not True and skipped.result["changed"] is False, skipped
    assert skipped.result["status"] == "frequency_limited" and skipped.result["next_allowed_at"]
    failed = run_playbook(dest=dest, on_frequency_limit="fail")
    assert failed.result["failed"] is True and "on_frequency_limit is 'fail'" in failed.result["msg"]
    assert os.listdir(dest) == []


def test_frequency_limit_text_variants(emulator, run_playbook, dest):
    for style in ("seed", "legacy500", "jira412"):
        emulator.reset(frequency_text=style)
        emulator.seed(state="complete", age_seconds=3 * 3600 + 120)
        run = run_playbook(dest=dest, on_frequency_limit="skip")
        assert run.result["status"] == "frequency_limited", (style, run)
        assert run.result["next_allowed_at"], (style, run)


def test_backup_already_in_progress_is_joined(emulator, run_playbook, dest):
    # Running until the module has polled 3 times, however long ansible-playbook takes to start.
    emulator.seed(state="running", duration=2.0, elapsed=0.5, polls=3)
    run = run_playbook(dest=dest)
    assert run.rc == 0, run
    assert run.result["triggered"] is False and run.result["changed"] is True
    assert "already running" in run.result["msg"]
    state = emulator.state()
    assert state["runbackup_posts"] == 0
    assert run.result["sha256"] == state["backup"]["sha256"]


def test_failed_backup_reports_service_words(emulator, run_playbook, dest):
    emulator.reset(fail_at_percent=40, failed_message="Export failed: attachment store unavailable")
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    msg = run.result["msg"]
    assert "FAILED" in msg and "40 %" in msg and "Export failed: attachment store unavailable" in msg
    assert run.result["status"] == "failed"
    assert os.listdir(dest) == []


def test_throttling_storm_is_survived(emulator, run_playbook, dest):
    emulator.faults(
        {"kind": "http", "match": "getprogress", "status": 429, "retry_after": "1", "count": 2},
        {"kind": "http", "match": "getprogress", "status": 503, "retry_after": "date:1", "count": 1},
        {"kind": "http", "match": "runbackup", "method": "POST", "status": 429, "retry_after": "0", "count": 2},
        {"kind": "http", "match": "getprogress", "status": 503, "count": 2},
        {"kind": "http", "match": "/wiki/download", "status": 503, "count": 1},
        {"kind": "http", "host": "media", "match": "/binary", "status": 429, "retry_after": "0", "count": 1},
    )
    run = run_playbook(dest=dest)
    assert run.rc == 0 and not run.result.get("failed"), run
    state = emulator.state()
    assert run.result["sha256"] == state["backup"]["sha256"]
    assert len(state["fault_log"]) == 9, state["fault_log"]
    assert run.result["http_retries"] >= 8
    # The two 429 POSTs never reached the application; exactly one backup was started.
    assert state["runbackup_posts"] == 3 and state["last_trigger"] is not None


def test_post_is_not_resent_after_503(emulator, run_playbook, dest):
    emulator.faults({"kind": "http", "match": "runbackup", "method": "POST", "status": 503, "count": 5})
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    assert "HTTP 503" in run.result["msg"] and "run again later" in run.result["msg"]
    assert emulator.state()["runbackup_posts"] == 1


def test_dropped_connection_is_resumed(emulator, run_playbook, dest):
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1000000, "count": 1},
                    {"kind": "drop", "host": "media", "after_bytes": 700000, "count": 1})
    run = run_playbook(dest=dest, download_connections=1)
    assert run.rc == 0 and not run.result.get("failed"), run
    state = emulator.state()
    assert run.result["sha256"] == state["backup"]["sha256"] == sha256_of(run.result["path"])
    assert run.result["download_attempts"] == 3
    last = state["backup"]["size"] - 1
    ranges = [e["range"] for e in state["media_log"]]
    assert ranges == ["bytes=0-", "bytes=1000000-%d" % last, "bytes=1700000-%d" % last], ranges
    # The signed link was fetched once; the resumes reused it.
    assert run.result["link_refreshes"] == 1 and emulator.state()["requests"][-1]["host"] == "media"
    assert_clean_dest(dest)


def test_partial_file_is_resumed_by_the_next_run(emulator, run_playbook, dest):
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1500000, "count": 1},
                    {"kind": "drop", "host": "media", "after_bytes": 0, "count": 10})
    first = run_playbook(dest=dest, retries=1, download_connections=1)
    assert first.result["failed"] is True, first
    assert "resume" in first.result["msg"]
    parts = [n for n in os.listdir(dest) if n.endswith(".part")]
    # Preallocated to the full size; the state file says how much of it is written.
    assert len(parts) == 1 and os.path.getsize(os.path.join(dest, parts[0])) == emulator.state()["backup"]["size"]
    with open(os.path.join(dest, parts[0] + ".state.json")) as handle:
        assert json.load(handle)["segments"][0][2] == 1500000
    assert not zips(dest)
    emulator.faults()
    second = run_playbook(dest=dest)
    assert second.rc == 0 and not second.result.get("failed"), second
    assert second.result["resumed_from"] == 1500000
    assert second.result["sha256"] == emulator.state()["backup"]["sha256"]
    # The second run asked for a new backup, was refused (frequency limit) and resumed the latest one.
    assert second.result["triggered"] is False and second.result["status"] == "frequency_limited"
    assert_clean_dest(dest)


def test_wrong_token_is_a_clear_401(emulator, run_playbook, dest):
    run = run_playbook(dest=dest, token="not-the-right-token")
    assert run.result["failed"] is True, run
    assert "HTTP 401" in run.result["msg"] and "credentials were refused" in run.result["msg"]
    assert "not-the-right-token" not in run.output and "not-the-right-token" not in json.dumps(run.result)


def test_progress_variants(emulator, run_playbook, dest):
    for config in ({"percentage_style": "percent", "filename_style": "bare", "trigger_reply": "200_empty"},
                   {"percentage_style": "legacy", "report_size": True, "json_style": "spaced"}):
        emulator.reset(**config)
        emulator.faults({"kind": "non_json", "match": "getprogress", "count": 2},
                        {"kind": "truncate_json", "match": "getprogress", "count": 1})
        run = run_playbook(dest=dest)
        assert run.rc == 0 and not run.result.get("failed"), (config, run.result.get("msg"))
        assert run.result["sha256"] == emulator.state()["backup"]["sha256"]
        assert len(emulator.state()["fault_log"]) == 3


def test_canary_token_never_leaks(emulator, run_playbook, dest, tmp_path):
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 500000, "count": 1})
    runs = [run_playbook(dest=dest, verbosity=3),
            run_playbook(dest=dest, verbosity=3, check=True),
            run_playbook(dest=dest, verbosity=3, token=CANARY_TOKEN + "x")]
    secret_forms = [CANARY_TOKEN, base64.b64encode(("%s:%s" % (CANARY_USER, CANARY_TOKEN)).encode()).decode()]
    for run in runs:
        for secret in secret_forms:
            assert secret not in run.output
            assert secret not in json.dumps(run.result)
    for name, text in all_text_under(str(tmp_path)):
        if name.endswith("emulator-config.json"):
            continue
        for secret in secret_forms:
            assert secret not in text, name
    assert runs[0].rc == 0 and runs[2].result["failed"] is True


def test_unreachable_site_fails_after_the_clients_retries_only(emulator, run_playbook, dest):
    # A mistyped host (DNS) and a closed port: the first read fails after the client's own retries, not once per
    # re-read, and the message names the host, the cause and the same count as http_retries.
    for url, cause in (("http://no-such-site.invalid", "the host name no-such-site.invalid does not resolve (DNS)"),
                       ("http://127.0.0.1:9", "127.0.0.1 refused the connection")):
        run = run_playbook(dest=dest, site_url=url, retries=2)
        assert run.result["failed"] is True, run
        msg = run.result["msg"]
        assert cause in msg and "failed after 3 attempt(s) (2 retried)" in msg, msg
        assert run.result["http_retries"] == 2, run.result
    assert emulator.state()["requests"] == []
    assert os.listdir(dest) == []
