# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ranged engine's bookkeeping: segment plans, splits, resume checks and the out-of-order sha256."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer import download as dl
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer import ranged as rg

MIB = 1024 * 1024


def test_plan_one_connection_is_one_segment():
    assert dl._plan(10 * MIB, 1, rg.SEGMENT_SIZE) == [[0, 10 * MIB, 0]]


def test_plan_covers_the_file_in_order():
    total = 200 * MIB + 5
    plan = dl._plan(total, 4, 32 * MIB)
    assert rg._valid_segments(plan, total)
    assert [seg[1] - seg[0] for seg in plan] == [32 * MIB] * 6 + [8 * MIB + 5]
    # Smaller than connections x segment size: one segment per connection.
    assert [seg[1] - seg[0] for seg in dl._plan(100 * MIB, 4, 32 * MIB)] == [25 * MIB] * 4
    # A small file is split across the connections, never below MIN_SPLIT.
    assert len(dl._plan(8 * MIB, 4, 32 * MIB)) == 4
    assert len(dl._plan(3 * MIB, 8, 32 * MIB)) == 2


@given(total=st.integers(min_value=1, max_value=10 ** 12), connections=st.integers(min_value=1, max_value=16))
def test_plan_is_always_valid(total, connections):
    assert rg._valid_segments(dl._plan(total, connections, rg.SEGMENT_SIZE), total)


def test_valid_segments_rejects_gaps_overlaps_and_garbage():
    assert not rg._valid_segments([[0, 10, 0], [11, 20, 0]], 20)
    assert not rg._valid_segments([[0, 10, 0], [9, 20, 0]], 20)
    assert not rg._valid_segments([[0, 10, 11]], 10)
    assert not rg._valid_segments([[0, 10, -1]], 10)
    assert not rg._valid_segments([[0, 10, 0]], 11)
    assert not rg._valid_segments([[0, "10", 0]], 10)
    assert not rg._valid_segments("garbage", 10)
    assert not rg._valid_segments([], 0)


class _FakeJob(object):
    def __init__(self, fd, total):
        self.fd = fd
        self.total = total
        self.mode = None

    class dl(object):
        chunk_size = 64 * 1024
        connections = 4


def _ranged(tmp_path, content, segments):
    path = str(tmp_path / "file.part")
    with open(path, "wb") as handle:
        handle.write(b"\0" * len(content))
    fd = os.open(path, os.O_RDWR)
    job = _FakeJob(fd, len(content))
    ranged = rg._Ranged(job, len(content), None, segments)
    ranged.hasher = rg._FrontHasher(ranged, fd, 64 * 1024, depth=3)
    return ranged, fd


def _write(ranged, fd, content, seg, count, in_memory):
    """What a worker does: write, then report under the lock; the hasher may take the block."""
    pos = seg[0] + seg[2]
    block = bytearray(content[pos:pos + count])
    os.pwrite(fd, block, pos)
    with ranged.cond:
        if in_memory:
            kept, _buffer = ranged.hasher.take(seg, memoryview(block), pos, count)
            assert kept == count
        else:
            seg[2] += count
            ranged.hasher._advance()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_front_hasher_equals_sha256_whatever_the_write_order(tmp_path_factory, data):
    size = data.draw(st.integers(min_value=1, max_value=200000))
    content = os.urandom(size)
    cuts = sorted(set(data.draw(st.lists(st.integers(min_value=1, max_value=size - 1), max_size=6))
                      if size > 1 else []))
    bounds = [0] + cuts + [size]
    segments = [[bounds[i], bounds[i + 1], 0] for i in range(len(bounds) - 1)]
    ranged, fd = _ranged(tmp_path_factory.mktemp("h"), content, segments)
    try:
        # Write the segments in random interleaved steps of random sizes.
        while any(seg[2] < seg[1] - seg[0] for seg in segments):
            open_segs = [seg for seg in segments if seg[2] < seg[1] - seg[0]]
            seg = data.draw(st.sampled_from(open_segs))
            left = seg[1] - seg[0] - seg[2]
            count = data.draw(st.integers(min_value=1, max_value=min(left, 70000)))
            _write(ranged, fd, content, seg, count, data.draw(st.booleans()))
        assert ranged.hasher.finish().hexdigest() == hashlib.sha256(content).hexdigest()
    finally:
        ranged.hasher.abandon()
        os.close(fd)


def test_front_hasher_hashes_blocks_at_the_front_from_memory(tmp_path):
    content = os.urandom(8 * 64 * 1024)
    segments = [[0, len(content), 0]]
    ranged, fd = _ranged(tmp_path, content, segments)
    try:
        for _index in range(8):
            _write(ranged, fd, content, segments[0], 64 * 1024, True)
            ranged.hasher.thread.join(0.01)
        digest = ranged.hasher.finish()
        assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
        assert ranged.hasher.read_back < len(content)
    finally:
        os.close(fd)


def test_split_takes_the_far_half_of_the_busiest_segment(tmp_path):
    total = 64 * MIB
    segments = [[0, 32 * MIB, 0], [32 * MIB, total, 0]]
    ranged, fd = _ranged_light(tmp_path, total, segments)
    try:
        with ranged.cond:
            first, second = ranged._claim(), ranged._claim()
            assert (first, second) == (segments[0], segments[1])
            first[2] = 30 * MIB          # nearly done
            second[2] = 4 * MIB          # 28 MiB to go
            stolen = ranged._claim()
        assert stolen[1] == total and stolen[0] == second[1]
        assert stolen[0] % rg.ALIGN == 0 and 32 * MIB + 4 * MIB < stolen[0] < total
        assert rg._valid_segments(ranged.segments, total)
        # Too little left anywhere: nothing more to take.
        with ranged.cond:
            for seg in ranged.segments:
                seg[2] = seg[1] - seg[0] - 1024
            assert ranged._claim() is None
    finally:
        ranged.hasher.abandon()
        os.close(fd)


def _ranged_light(tmp_path, total, segments):
    path = str(tmp_path / "sparse.part")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, total)
    job = _FakeJob(fd, total)
    ranged = rg._Ranged(job, total, None, segments)
    ranged.hasher = rg._FrontHasher(ranged, fd, 64 * 1024)
    return ranged, fd


def test_boot_id_is_read_or_none():
    value = rg._boot_id()
    assert value is None or len(value) > 8


def test_hasher_thread_is_daemon_and_stops(tmp_path):
    ranged, fd = _ranged_light(tmp_path, MIB, [[0, MIB, 0]])
    try:
        assert ranged.hasher.thread.daemon
        ranged.hasher.abandon()
        assert not ranged.hasher.thread.is_alive()
        assert threading.active_count() >= 1
    finally:
        os.close(fd)
