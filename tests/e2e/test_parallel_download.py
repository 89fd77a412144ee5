# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared download engine through confluence_backup: parallel ranges, fallback, link expiry, resume."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import stat
import time

import psutil

from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.ranged import MIN_SPLIT
from test_confluence_backup import assert_clean_dest, sha256_of, zips

MIB = 1024 * 1024


def media_gets(state):
    return [e for e in state["media_log"] if e["status"] in (200, 206)]


def max_overlap(entries):
    """The largest number of media responses that were being sent at the same moment."""
    events = []
    for entry in entries:
        events.append((entry["started"], 1))
        events.append((entry["finished"] or entry["started"], -1))
    best = current = 0
    for _when, step in sorted(events):
        current += step
        best = max(best, current)
    return best


def part_state(dest):
    for name in os.listdir(dest):
        if name.endswith(".part.state.json"):
            with open(os.path.join(dest, name)) as handle:
                return json.load(handle)
    return None


def wait_for(what, condition, deadline=120):
    """Poll the emulator until ``condition()`` holds: the test waits for a state, never for an amount of time
    (the deadline only bounds a broken run)."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < end, "%s did not happen within %d s" % (what, deadline)
        time.sleep(0.05)


def test_parallel_ranges_fill_one_file(emulator, run_playbook, dest):
    # 12 MiB over 4 connections: 4 segments of 3 MiB, none large enough to split. Each answer is held after its
    # headers until all four are open, so they overlap by construction, not by how fast the machine is.
    emulator.reset(backup_size=12 * MIB + 77)
    emulator.faults({"kind": "hold", "host": "media", "name": "open", "after_bytes": 0, "count": 4})
    res = run_released(emulator, run_playbook, "open", lambda gets: sum(1 for e in gets if e.get("held")) == 4,
                       dest=dest, download_connections=4)
    assert not res.get("failed"), res
    state = emulator.state()
    assert res["download_mode"] == "ranges" and res["download_connections"] == 4
    assert res["sha256"] == state["backup"]["sha256"] == sha256_of(res["path"])
    assert stat.S_IMODE(os.stat(res["path"]).st_mode) == 0o600
    gets = media_gets(state)
    # Ranges, over 4 connections at the same time.
    assert all(e["status"] == 206 for e in gets) and len(gets) == 4
    assert max_overlap(gets) == 4, gets
    assert len({e["peer_port"] for e in gets}) == 4
    # The signed link came from the site once; no Authorization ever reached the media host.
    assert res["link_refreshes"] == 1 and not any(e["authorization"] for e in state["media_log"])
    assert_clean_dest(dest)


def run_released(emulator, run_playbook, name, ready, **kwargs):
    """Start the playbook, wait until ``ready(media GETs)`` holds, release the answers held under ``name``, and
    return the module's result once the playbook has ended."""
    proc = run_playbook.start(**kwargs)
    try:
        wait_for("the state to release %r at" % name, lambda: ready(media_gets(emulator.state())))
        emulator.release(name)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, proc.returncode
    with open(proc.result_file) as handle:
        return json.load(handle)


def test_connections_are_reused_between_segments(emulator, run_playbook, dest):
    # 80 MiB over 2 connections: segments of 32, 32 and 16 MiB. The first answer (the probe, which carries
    # segment 1) is held after its headers, so the other connection takes segment 2, then segment 3, then the
    # halves it splits off segment 1, however fast or slow this machine is.
    # What the engine guarantees: a segment read to its end hands its connection back, and the same worker's
    # next request goes out on it. So every request but the held one comes from one client port.
    size = 80 * MIB
    emulator.reset(backup_size=size)
    emulator.faults({"kind": "hold", "host": "media", "name": "probe", "after_bytes": 0})

    def others_done(gets):
        others = [e for e in gets if not e.get("held")]
        # A segment is split only while 2 * MIN_SPLIT or more is left of it: below that, nothing new starts.
        left = size - sum(e["bytes_sent"] for e in others)
        return (gets and gets[0].get("held") == "probe" and others and all(e["finished"] for e in others)
                and left < 2 * MIN_SPLIT)

    result = run_released(emulator, run_playbook, "probe", others_done, dest=dest, download_connections=2)
    assert not result.get("failed"), result
    state = emulator.state()
    assert result["sha256"] == state["backup"]["sha256"] == sha256_of(result["path"])
    gets = media_gets(state)
    held, others = gets[0], gets[1:]
    assert held["held"] == "probe" and held["released"]
    # Segments 2 and 3 at least, and the splits of segment 1: one connection for all of them.
    assert len(others) >= 2 and not any(e.get("held") for e in others)
    assert len({e["peer_port"] for e in others}) == 1, [(e["range"], e["peer_port"]) for e in gets]
    assert held["peer_port"] not in {e["peer_port"] for e in others}
    assert result["download_connections"] == 2
    assert_clean_dest(dest)


def test_falls_back_to_one_stream_without_ranges(emulator, run_playbook, dest):
    emulator.reset(media_ranges=False)
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1000000, "count": 1})
    run = run_playbook(dest=dest, download_connections=8)
    assert run.rc == 0 and not run.result.get("failed"), run
    res, state = run.result, emulator.state()
    assert res["download_mode"] == "stream" and res["download_connections"] == 1
    assert res["sha256"] == state["backup"]["sha256"] == sha256_of(res["path"])
    # The server ignores Range, so the retry after the drop starts over from byte 0.
    gets = media_gets(state)
    assert [e["status"] for e in gets] == [200, 200] and gets[1]["bytes_sent"] == state["backup"]["size"]
    assert_clean_dest(dest)


def test_stream_that_restarts_then_resumes_keeps_a_true_sha256(emulator, run_playbook, dest):
    # Half the servers ignore Range: whole file, cut; resumed range, cut; whole file again (restart), cut;
    # resumed range to the end. The digest must be that of the restarted stream, not of the first one.
    emulator.reset(media_ranges="alternate")
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1000000},
                    {"kind": "drop", "host": "media", "after_bytes": 700000},
                    {"kind": "drop", "host": "media", "after_bytes": 500000})
    run = run_playbook(dest=dest, download_connections=1)
    assert run.rc == 0 and not run.result.get("failed"), run
    res, state = run.result, emulator.state()
    assert [e["status"] for e in media_gets(state)] == [200, 206, 200, 206]
    assert res["download_mode"] == "stream"
    assert res["sha256"] == state["backup"]["sha256"] == sha256_of(res["path"])
    with open(res["path"] + ".sha256") as handle:
        assert handle.read().split()[0] == state["backup"]["sha256"]
    assert_clean_dest(dest)


def test_falls_back_to_one_stream_without_length(emulator, run_playbook, dest):
    # Chunked answers, no Content-Length, and "Content-Range: bytes 0-N/*".
    emulator.reset(media_content_length=False)
    run = run_playbook(dest=dest, download_connections=4)
    assert run.rc == 0 and not run.result.get("failed"), run
    res, state = run.result, emulator.state()
    assert res["download_mode"] == "stream" and res["download_connections"] == 1
    assert res["sha256"] == state["backup"]["sha256"] == sha256_of(res["path"])
    # The first answer covered a range of a file of unknown size; the whole file was asked for next.
    assert [e["range"] for e in media_gets(state)] == ["bytes=0-%d" % (32 * MIB - 1), None]
    assert_clean_dest(dest)


def test_expired_link_is_fetched_again_mid_transfer(emulator, run_playbook, dest):
    # Links live 60 s; the emulator's clock jumps 61 s at the cut, so the retry meets an expired link.
    emulator.reset(backup_size=4 * MIB, link_ttl_seconds=60)
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1500000, "count": 1, "advance_seconds": 61})
    run = run_playbook(dest=dest, download_connections=2)
    assert run.rc == 0 and not run.result.get("failed"), run
    res, state = run.result, emulator.state()
    assert res["sha256"] == state["backup"]["sha256"] == sha256_of(res["path"])
    assert 401 in [e["status"] for e in state["media_log"]]
    assert res["link_refreshes"] >= 2
    assert sum(1 for r in state["requests"] if r["host"] == "site" and "/wiki/download/" in r["path"]) >= 2
    # The bytes before the cut were kept: nothing was fetched twice.
    assert sum(e["bytes_sent"] for e in media_gets(state)) == state["backup"]["size"]
    assert_clean_dest(dest)


def test_stopped_parallel_download_resumes_only_missing_segments(emulator, run_playbook, dest):
    emulator.reset(backup_size=10 * MIB)
    # The first segment gets 1,000,000 bytes, then every connection is cut at once: the run gives up.
    emulator.faults({"kind": "drop", "host": "media", "after_bytes": 1000000, "count": 1},
                    {"kind": "drop", "host": "media", "after_bytes": 0, "count": 1000})
    first = run_playbook(dest=dest, download_connections=4, retries=1)
    assert first.result["failed"] is True and "resume" in first.result["msg"], first
    state_file = part_state(dest)
    assert state_file["mode"] == "ranges"
    kept = sum(seg[2] for seg in state_file["segments"])
    assert kept == 1000000 and not zips(dest)
    emulator.faults()
    before = len(emulator.state()["media_log"])
    second = run_playbook(dest=dest, download_connections=4)
    assert second.rc == 0 and not second.result.get("failed"), second
    state = emulator.state()
    assert second.result["resumed_from"] == kept
    assert second.result["sha256"] == state["backup"]["sha256"] == sha256_of(second.result["path"])
    fetched = sum(e["bytes_sent"] for e in media_gets({"media_log": state["media_log"][before:]}))
    assert fetched == state["backup"]["size"] - kept
    assert_clean_dest(dest)


def test_killed_download_resumes_where_it_was(emulator, run_playbook, dest):
    # 16 MiB over 4 connections (4 segments of 4 MiB); each answer is held after 3 MiB until the test releases it
    # (never, here), so the run stops at 75 % however fast or slow this machine is, and is SIGKILLed there once its
    # checkpoint shows 40 % written (no race with the transfer, no stall that ends on its own).
    emulator.reset(backup_size=16 * MIB)
    emulator.faults({"kind": "hold", "host": "media", "name": "stall", "after_bytes": 3 * MIB, "count": 4})
    size = 16 * MIB
    proc = run_playbook.start(dest=dest, download_connections=4)

    def checkpointed():
        """The bytes the checkpoint records once it reaches 40 %; 0 before."""
        state_file = part_state(dest)
        kept = sum(seg[2] for seg in state_file["segments"]) if state_file else 0
        return kept if kept >= 0.4 * size else 0
    written = wait_for("a checkpoint of 40 %", checkpointed)
    # Ansible starts the module in a session of its own: kill every descendant, then the playbook.
    tree = psutil.Process(proc.pid).children(recursive=True)
    for child in tree:
        child.send_signal(signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(tree, timeout=10)
    assert 0.4 * size <= written < size, written
    emulator.release("stall")
    emulator.faults()
    before = len(emulator.state()["media_log"])
    second = run_playbook(dest=dest, download_connections=4)
    assert second.rc == 0 and not second.result.get("failed"), second
    state = emulator.state()
    assert "resumed_from" in second.result, second
    assert second.result["resumed_from"] >= written
    assert second.result["sha256"] == state["backup"]["sha256"] == sha256_of(second.result["path"])
    fetched = sum(e["bytes_sent"] for e in media_gets({"media_log": state["media_log"][before:]}))
    assert fetched == size - second.result["resumed_from"] <= 0.6 * size
    assert_clean_dest(dest)
