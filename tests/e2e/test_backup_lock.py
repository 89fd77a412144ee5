# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_lock through real ansible-playbook runs: a lock that outlives its task, busy runs that name the holder,
release by token only, check mode that starts nothing, and a lock freed when its ansible-playbook is gone.

The tests check the lock from outside, with their own flock, never through the module under test. Runs whose lock
must outlive their ansible-playbook use ``watch_playbook: false``; every test leaves no holder running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import signal
import time

import pytest

from conftest import SAVE

DEADLINE = 30.0
OWNER = "scheduled_backup site-a"
# Longer than a test, short enough that a holder the finalizer missed would not linger for long.
TTL = "10m"


def flock_free(path):
    """Whether a non-blocking exclusive flock on ``path`` succeeds (taken and let go at once)."""
    if not os.path.exists(path):
        return True
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            assert exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def wait_until(predicate, what, deadline=DEADLINE):
    """Poll a state; the deadline is a safety net, not a timing assumption."""
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "%s did not happen within %d s" % (what, deadline)
        time.sleep(0.05)


def holder_line(path):
    with open(path) as handle:
        return json.loads(handle.readline())


def has_open(pid, path):
    """Whether process ``pid`` has ``path`` open (so it is the holder, not a recycled pid)."""
    wanted = os.stat(path)
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for name in fds:
        try:
            info = os.stat("/proc/%d/fd/%s" % (pid, name))
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (wanted.st_dev, wanted.st_ino):
            return True
    return False


@pytest.fixture
def lock_path(tmp_path):
    """The lock file of a test; afterwards no holder may run: one still holding it gets SIGTERM, and the lock must
    then be free."""
    path = str(tmp_path / "locks" / "site-a.lock")
    os.makedirs(os.path.dirname(path))
    yield path
    if flock_free(path):
        return
    try:
        pid = holder_line(path)["pid"]
    except (ValueError, KeyError, OSError):
        pid = None
    if pid and has_open(pid, path):
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: flock_free(path), "the lock freed after the test")


def lock_task(run_playbook, check=False, **args):
    """One backup_lock task through ansible-playbook, like ``run_playbook.module`` (whose own ``token`` parameter is
    the API token of the harness, so it cannot pass the lock's O(token))."""
    playbook = os.path.join(os.path.dirname(args["path"]), os.pardir, "lock-%d.yml" % len(run_playbook.runs))
    task = {"name": "Run backup_lock", "atlassian_ops.backup.backup_lock": args, "register": "result",
            "ignore_errors": True}
    save = {"name": "Save the result", "check_mode": False,
            SAVE: {"content": "{{ result | to_nice_json }}", "dest": "{{ result_file }}"}}
    with open(playbook, "w") as handle:
        json.dump([{"name": "One module", "hosts": "localhost", "gather_facts": False, "tasks": [task, save]}], handle)
    return run_playbook(name=os.path.abspath(playbook), check=check, module="backup_lock")


def acquire(run_playbook, path, check=False, **args):
    args = dict(dict(path=path, owner=OWNER, ttl=TTL, watch_playbook=False), **args)
    return lock_task(run_playbook, check=check, **args)


def release(run_playbook, path, token, check=False):
    return lock_task(run_playbook, check=check, path=path, state="released", token=token)


def test_second_run_finds_the_lock_busy_and_names_the_holder(run_playbook, lock_path):
    first = acquire(run_playbook, lock_path)
    assert first.rc == 0, first
    result = first.result
    assert result["acquired"] is True and result["changed"] is False, first
    assert result["token"] and result["holder"]["token"] == result["token"]
    pid = result["holder_pid"]
    assert result["holder"]["pid"] == pid and result["holder"]["owner"] == OWNER
    assert result["watch_pid"] is None and result["holder"]["watch_pid"] is None
    assert result["expires"] == result["holder"]["expires"]
    # The task returned while the holder still holds the lock (it kept none of the module's output open).
    assert not flock_free(lock_path)
    assert has_open(pid, lock_path)
    assert holder_line(lock_path) == result["holder"]
    assert oct(os.stat(lock_path).st_mode & 0o777) == "0o600"

    second = acquire(run_playbook, lock_path, owner="scheduled_backup site-a (again)")
    assert second.rc == 0, second
    busy = second.result
    assert busy["acquired"] is False and busy["changed"] is False and not busy.get("failed"), second
    assert busy["token"] is None and busy["expires"] is None
    assert busy["holder_pid"] == pid and busy["holder"] == result["holder"]
    assert busy["msg"] == "Lock %s is busy: held by pid %d on host %s since %s (owner %s)." % (
        lock_path, pid, result["holder"]["host"], result["holder"]["started"], OWNER)

    third = acquire(run_playbook, lock_path, fail_when_busy=True)
    assert third.result["failed"] is True, third
    assert third.result["msg"] == busy["msg"]
    assert third.result["holder_pid"] == pid and third.result["acquired"] is False
    assert holder_line(lock_path) == result["holder"] and has_open(pid, lock_path)

    released = release(run_playbook, lock_path, result["token"])
    assert released.rc == 0 and released.result["released"] is True, released
    assert flock_free(lock_path)


def test_release_needs_the_holders_token(run_playbook, lock_path):
    first = acquire(run_playbook, lock_path)
    token, pid = first.result["token"], first.result["holder_pid"]

    wrong = release(run_playbook, lock_path, "0" * 32)
    assert wrong.rc == 0, wrong
    assert wrong.result["released"] is False and wrong.result["changed"] is False
    assert "another token" in wrong.result["msg"] and "pid %d" % pid in wrong.result["msg"]
    assert not flock_free(lock_path) and has_open(pid, lock_path)

    right = release(run_playbook, lock_path, token)
    assert right.rc == 0, right
    assert right.result["released"] is True and right.result["changed"] is False
    assert right.result["holder_pid"] == pid and right.result["token"] == token
    assert flock_free(lock_path)

    # A third run takes it again, with a new token and a new holder; then it is released.
    third = acquire(run_playbook, lock_path, owner="third run")
    assert third.result["acquired"] is True, third
    assert third.result["token"] != token and third.result["holder_pid"] != pid
    assert not flock_free(lock_path)
    again = release(run_playbook, lock_path, third.result["token"])
    assert again.result["released"] is True, again
    assert flock_free(lock_path)

    # Nobody holds it now: nothing to release, not a failure.
    late = release(run_playbook, lock_path, token)
    assert late.rc == 0 and late.result["released"] is False, late
    assert "nobody holds the lock" in late.result["msg"]


def test_released_without_a_token_fails(run_playbook, lock_path):
    run = run_playbook.module("backup_lock", path=lock_path, state="released")
    assert run.result["failed"] is True
    assert "token" in run.result["msg"]


def test_check_mode_starts_no_holder(run_playbook, lock_path):
    probe = acquire(run_playbook, lock_path, check=True)
    assert probe.rc == 0, probe
    assert probe.result["would_acquire"] is True and probe.result["acquired"] is False, probe
    assert probe.result["token"] is None and probe.result["holder"] is None
    assert not os.path.exists(lock_path), "check mode created the lock file"

    first = acquire(run_playbook, lock_path)
    pid = first.result["holder_pid"]
    before = holder_line(lock_path)

    probe = acquire(run_playbook, lock_path, check=True, owner="a check run")
    assert probe.result["would_acquire"] is False and probe.result["acquired"] is False, probe
    assert probe.result["holder_pid"] == pid and probe.result["holder"] == before
    assert "busy" in probe.result["msg"] and "pid %d" % pid in probe.result["msg"]
    assert holder_line(lock_path) == before and has_open(pid, lock_path)

    plan = release(run_playbook, lock_path, first.result["token"], check=True)
    assert plan.rc == 0 and plan.result["released"] is False, plan
    assert "would send SIGTERM to pid %d" % pid in plan.result["msg"]
    assert not flock_free(lock_path) and has_open(pid, lock_path) and holder_line(lock_path) == before

    release(run_playbook, lock_path, first.result["token"])
    assert flock_free(lock_path)


def test_lock_is_freed_when_its_ansible_playbook_is_gone(run_playbook, lock_path):
    """A playbook that takes the lock and never releases it: the holder sees its ansible-playbook go and lets go."""
    run = run_playbook.module("backup_lock", path=lock_path, owner=OWNER, ttl=TTL)
    assert run.rc == 0, run
    result = run.result
    assert result["acquired"] is True, run
    watched = result["watch_pid"]
    assert watched and result["holder"]["watch_pid"] == watched
    assert watched != os.getpid()
    # ansible-playbook has exited: the holder lets go within a few seconds (it looks every 2 s).
    wait_until(lambda: flock_free(lock_path), "the lock freed after ansible-playbook ended")


def test_missing_folder_fails(run_playbook, tmp_path):
    path = str(tmp_path / "no-such-folder" / "x.lock")
    run = run_playbook.module("backup_lock", path=path)
    assert run.result["failed"] is True
    assert "does not exist" in run.result["msg"]
    assert not os.path.exists(os.path.dirname(path))
