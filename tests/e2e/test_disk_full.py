# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A backup that meets a full file system fails cleanly, removes its partial file and keeps older backups.

Two ways to fill the disk, both real kernel errors seen by the module process:

* ``tmpfs``: dest is a 6 MiB tmpfs the test mounts (needs root and the right to mount; skipped otherwise).
  The new backup does not fit: ENOSPC.
* ``rlimit``: the test sets RLIMIT_FSIZE to 4 MiB on ansible-playbook (inherited by the module, SIGXFSZ
  ignored). Growing the file past it fails with EFBIG. Works for any user.

Each is run with parallel ranges (the file is preallocated, so it fails before the download) and with one
stream (no preallocation, so it fails in the middle of the download).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import resource
import signal
import subprocess

import pytest

MIB = 1024 * 1024


def _digest_tree(folder):
    result = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as handle:
            result[name] = hashlib.sha256(handle.read()).hexdigest()
    return result


@pytest.fixture
def small_fs(tmp_path):
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the rlimit variant covers this machine")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount_point)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (%s); the rlimit variant covers this machine" % done.stdout.strip())
    try:
        yield str(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 * MIB, 4 * MIB))


def _fill_and_fail(emulator, run_playbook, dest, mode, preexec=None):
    # An older backup of 2 MiB, verified, with its sidecars.
    emulator.reset(backup_size=2 * MIB)
    older = run_playbook(dest=dest, preexec=preexec)
    assert older.rc == 0 and not older.result.get("failed"), older
    before = _digest_tree(dest)
    assert len(before) == 3
    # Today's backup is 5 MiB: it does not fit.
    emulator.reset(backup_size=5 * MIB, media_ranges=(mode == "ranges"))
    run = run_playbook(dest=dest, preexec=preexec, download_connections=4)
    assert run.result["failed"] is True, run
    return run, before


@pytest.mark.parametrize("mode", ["ranges", "stream"])
def test_full_file_system(emulator, run_playbook, small_fs, mode):
    run, before = _fill_and_fail(emulator, run_playbook, small_fs, mode)
    assert "No space left on the device" in run.result["msg"], run.result["msg"]
    assert "partial file was removed" in run.result["msg"]
    # Nothing half-written is left, and the older backup and its manifest are untouched.
    assert _digest_tree(small_fs) == before


@pytest.mark.parametrize("mode", ["ranges", "stream"])
def test_file_size_limit(emulator, run_playbook, dest, mode):
    run, before = _fill_and_fail(emulator, run_playbook, dest, mode, preexec=_limit_file_size)
    assert "File too large" in run.result["msg"], run.result["msg"]
    assert "partial file was removed" in run.result["msg"]
    assert _digest_tree(dest) == before
