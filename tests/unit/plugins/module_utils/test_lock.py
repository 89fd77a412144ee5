# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lock of module backup_lock (_lock): a real detached holder process, real flocks, real signals.

Every wait is for a state (the lock free, a process gone), polled with a generous deadline as a safety net only.
Every test leaves no holder running (the ``holders`` fixture kills what a test left).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import lock as _lock

COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(_lock.__file__), *([os.pardir] * 5)))
DEADLINE = 30.0


def wait_until(predicate, what, deadline=DEADLINE, interval=0.02):
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "%s did not happen within %d s" % (what, deadline)
        time.sleep(interval)


def flock_free(path):
    """Whether a non-blocking exclusive flock on ``path`` succeeds (taken and let go at once), independent of _lock."""
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


@pytest.fixture
def lock_path(tmp_path):
    return str(tmp_path / "site-a.lock")


@pytest.fixture
def holders(lock_path):
    """Pids of holders a test started; any still running at the end is killed, and the lock must then be free."""
    pids = []
    yield pids
    line = _lock.read_holder(lock_path)
    if line:
        pids.append(line["pid"])
    for pid in pids:
        if _lock.alive(pid) and _lock._has_open(pid, lock_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    if os.path.exists(lock_path):
        wait_until(lambda: flock_free(lock_path), "the lock freed after the test")


def test_acquire_writes_the_holder_line_and_holds_the_lock(lock_path, holders):
    outcome = _lock.acquire(lock_path, owner="scheduled_backup site-a", ttl=60)
    holder = outcome["holder"]
    holders.append(holder["pid"])
    assert outcome["acquired"] is True
    assert outcome["token"] and holder["token"] == outcome["token"]
    assert holder["pid"] not in (os.getpid(), os.getppid()) and _lock.alive(holder["pid"])
    assert holder["owner"] == "scheduled_backup site-a"
    assert holder["watch_pid"] is None
    assert set(holder) == {"pid", "token", "owner", "host", "started", "expires", "boot_id", "watch_pid"}
    started = time.strptime(holder["started"], "%Y-%m-%dT%H:%M:%SZ")
    expires = time.strptime(holder["expires"], "%Y-%m-%dT%H:%M:%SZ")
    assert calendar.timegm(expires) - calendar.timegm(started) == 60
    assert oct(os.stat(lock_path).st_mode & 0o777) == oct(0o600 & ~current_umask())
    with open(lock_path) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == holder
    assert not flock_free(lock_path)
    assert not _lock.is_free(lock_path)
    # The holder is detached: in a session of its own (started by the first child, whose child it is, so it is not
    # a session leader that could get a terminal), and not a child of this process.
    assert os.getsid(holder["pid"]) not in (os.getsid(0), holder["pid"])
    assert _lock._parent(holder["pid"]) != os.getpid()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_second_acquire_finds_the_lock_busy_and_names_the_holder(lock_path, holders):
    first = _lock.acquire(lock_path, owner="run one", ttl=60)
    holders.append(first["holder"]["pid"])
    second = _lock.acquire(lock_path, owner="run two", ttl=60)
    assert second == dict(acquired=False, token=None, holder=first["holder"])
    text = _lock.describe(second["holder"])
    assert text == "held by pid %d on host %s since %s (owner run one)" % (
        first["holder"]["pid"], first["holder"]["host"], first["holder"]["started"])
    # Still the first holder's line, and still held.
    assert _lock.read_holder(lock_path) == first["holder"]
    assert not flock_free(lock_path)


def test_release_by_token_frees_the_lock_and_a_new_acquire_succeeds(lock_path, holders):
    first = _lock.acquire(lock_path, owner="run one", ttl=60)
    pid = first["holder"]["pid"]
    holders.append(pid)
    outcome = _lock.release(lock_path, first["token"])
    assert outcome["released"] is True and outcome["pid"] == pid
    assert flock_free(lock_path)
    wait_until(lambda: not _lock.alive(pid), "the holder's exit")
    again = _lock.acquire(lock_path, owner="run two", ttl=60)
    holders.append(again["holder"]["pid"])
    assert again["acquired"] and again["token"] != first["token"]
    assert _lock.release(lock_path, again["token"])["released"] is True
    # Released twice: nothing held, nothing done.
    outcome = _lock.release(lock_path, again["token"])
    assert outcome["released"] is False and "nobody holds the lock" in outcome["reason"]


def test_release_with_a_wrong_token_changes_nothing(lock_path, holders):
    first = _lock.acquire(lock_path, owner="run one", ttl=60)
    pid = first["holder"]["pid"]
    holders.append(pid)
    outcome = _lock.release(lock_path, "not-the-token")
    assert outcome["released"] is False
    assert "another token" in outcome["reason"] and "pid %d" % pid in outcome["reason"]
    assert _lock.alive(pid) and not flock_free(lock_path)
    assert _lock.read_holder(lock_path) == first["holder"]
    # In check mode the right token only says what would be done.
    outcome = _lock.release(lock_path, first["token"], check=True)
    assert outcome["released"] is False and outcome["reason"].startswith("would send SIGTERM to pid %d" % pid)
    assert _lock.alive(pid) and not flock_free(lock_path)
    assert _lock.release(lock_path, first["token"])["released"] is True


def test_release_never_signals_a_pid_that_does_not_hold_the_file(lock_path, holders):
    """A line with the token, but a pid that is some other process: no signal, released false."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        # Another process holds the flock; the file's line claims the bystander with our token.
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder = dict(pid=bystander.pid, token="tok", owner=None, host=_lock.socket.gethostname(),
                      started="2026-01-01T00:00:00Z", expires="2026-01-01T12:00:00Z", boot_id=_lock.boot_id(),
                      watch_pid=None)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        outcome = _lock.release(lock_path, "tok")
        assert outcome["released"] is False and "no longer holds the lock file" in outcome["reason"]
        assert bystander.poll() is None
        os.close(fd)
    finally:
        bystander.kill()
        bystander.wait()


def test_release_of_a_line_from_another_host_changes_nothing(lock_path, holders):
    first = _lock.acquire(lock_path, ttl=60)
    holders.append(first["holder"]["pid"])
    moved = dict(first["holder"], host="elsewhere.example.com")
    with open(lock_path, "r+") as handle:  # rewrite the line in place; the flock stays with the holder
        handle.write(json.dumps(moved) + "\n")
    outcome = _lock.release(lock_path, first["token"])
    assert outcome["released"] is False and "not by this host" in outcome["reason"]
    assert not flock_free(lock_path)


def test_release_when_nobody_holds_it(lock_path, tmp_path):
    outcome = _lock.release(lock_path, "tok")
    assert outcome == dict(released=False, holder=None, pid=None,
                           reason="nobody holds the lock (there is no lock file)")
    stale = dict(pid=1, token="tok", host="h")
    with open(lock_path, "w") as handle:
        handle.write(json.dumps(stale) + "\n")
    outcome = _lock.release(lock_path, "tok")
    assert outcome["released"] is False and outcome["reason"].startswith("nobody holds the lock (it was released")


@pytest.mark.parametrize("data", [
    b"", b"\n", b"not json\n", b"[1, 2]\n", b'"text"\n', b"{}\n", b'{"pid": "12"}\n', b'{"pid": true}\n',
    b'{"pid": 0}\n', b'{"pid": -4}\n', b'{"pid": 12, "tok', b"\xff\xfe\x00garbage", b"null\n",
])
def test_holder_lines_that_are_garbage_give_none(data, lock_path):
    assert _lock.parse_holder(data) is None
    with open(lock_path, "wb") as handle:
        handle.write(data)
    assert _lock.read_holder(lock_path) is None
    assert _lock.describe(None) == "held by a process whose holder line cannot be read"


def test_holder_line_is_the_first_line_only():
    line = b'{"pid": 12, "token": "t"}\n{"pid": 13, "token": "old tail"}\n'
    assert _lock.parse_holder(line) == {"pid": 12, "token": "t"}
    assert _lock.parse_holder('{"pid": 12}') == {"pid": 12}
    assert _lock.read_holder("/nonexistent/folder/x.lock") is None


def test_held_seconds_counts_from_the_holder_lines_start_at_the_given_time():
    holder = {"pid": 12, "started": "2026-11-22T02:00:00Z"}
    start = calendar.timegm((2026, 11, 22, 2, 0, 0))
    assert _lock.held_seconds(holder, start + 13 * 3600 + 5) == 13 * 3600 + 5
    assert _lock.held_seconds(holder, start + 0.9) == 0
    assert _lock.held_seconds(holder, start - 60) == 0, "a start in the future (another host's clock) counts as 0"
    for unreadable in (None, {}, {"pid": 12}, {"pid": 12, "started": "yesterday"}, {"pid": 12, "started": 5}):
        assert _lock.held_seconds(unreadable, start) is None, unreadable


def test_held_seconds_of_a_real_holder(lock_path, holders):
    outcome = _lock.acquire(lock_path, owner="run one", ttl=60)
    holders.append(outcome["holder"]["pid"])
    started = calendar.timegm(time.strptime(outcome["holder"]["started"], "%Y-%m-%dT%H:%M:%SZ"))
    assert _lock.held_seconds(outcome["holder"], started + 7200) == 7200


def test_ttl_expiry_frees_the_lock(lock_path, holders):
    outcome = _lock.acquire(lock_path, ttl=0.2, interval=0.05)
    pid = outcome["holder"]["pid"]
    holders.append(pid)
    assert outcome["acquired"]
    wait_until(lambda: flock_free(lock_path), "the lock freed by the ttl")
    wait_until(lambda: not _lock.alive(pid), "the holder's exit after its ttl")


def test_watched_process_gone_frees_the_lock(lock_path, holders):
    watched = subprocess.Popen(["sleep", "60"])
    try:
        outcome = _lock.acquire(lock_path, ttl=600, watch_pid=watched.pid, interval=0.05)
        pid = outcome["holder"]["pid"]
        holders.append(pid)
        assert outcome["holder"]["watch_pid"] == watched.pid
        assert not flock_free(lock_path)
    finally:
        watched.kill()
        watched.wait()
    wait_until(lambda: flock_free(lock_path), "the lock freed after the watched process ended")
    wait_until(lambda: not _lock.alive(pid), "the holder's exit after the watched process ended")


def test_watched_process_that_is_already_gone_is_refused(lock_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    with pytest.raises(_lock.LockError, match="is gone"):
        _lock.acquire(lock_path, ttl=60, watch_pid=gone.pid)
    assert not os.path.exists(lock_path)


def test_the_caller_gets_its_output_closed_at_once(lock_path, holders):
    """Like Ansible: the caller's stdout and stderr are pipes read to EOF. The holder must not keep them open,
    or the reader would wait for the holder's ttl (60 s, beyond the timeout)."""
    code = ("import json,sys; from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import lock as _lock; "
            "print(json.dumps(_lock.acquire(sys.argv[1], owner='child', ttl=60)))")
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
    proc = subprocess.run([sys.executable, "-c", code, lock_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.PIPE, env=env, timeout=30, check=True)
    outcome = json.loads(proc.stdout.decode())
    holders.append(outcome["holder"]["pid"])
    assert proc.stderr == b""
    assert outcome["acquired"] and _lock.alive(outcome["holder"]["pid"])
    assert not flock_free(lock_path)
    fds = "/proc/%d/fd" % outcome["holder"]["pid"]
    targets = dict((int(fd), os.readlink(os.path.join(fds, fd))) for fd in os.listdir(fds))
    assert [targets.pop(fd) for fd in (0, 1, 2)] == [os.devnull] * 3
    assert list(targets.values()) == [os.path.realpath(lock_path)]
    assert os.readlink("/proc/%d/cwd" % outcome["holder"]["pid"]) == "/"
    assert _lock.release(lock_path, outcome["token"])["released"]


def test_errors(tmp_path):
    with pytest.raises(_lock.LockError, match="does not exist"):
        _lock.acquire(str(tmp_path / "missing" / "x.lock"))
    with pytest.raises(_lock.LockError, match="is a folder"):
        _lock.acquire(str(tmp_path))
    with pytest.raises(_lock.LockError, match="ttl must be more than 0"):
        _lock.acquire(str(tmp_path / "x.lock"), ttl=0)
    with pytest.raises(_lock.LockError, match="does not exist"):
        _lock.is_free(str(tmp_path / "missing" / "x.lock"))
    assert _lock.is_free(str(tmp_path / "x.lock")) and not os.path.exists(str(tmp_path / "x.lock"))


def test_unopenable_lock_file_is_an_error_reported_by_the_holder(tmp_path):
    """The holder opens the file; what it reports on the pipe becomes the LockError (even for root)."""
    path = tmp_path / "x.lock"
    path.symlink_to(tmp_path / "missing" / "target.lock")  # its folder exists; the file it points into cannot be made
    with pytest.raises(_lock.LockError, match="Could not open the lock file .*x.lock: No such file or directory"):
        _lock.acquire(str(path), ttl=60)


def test_find_playbook_takes_the_topmost_ansible_playbook_ancestor(tmp_path):
    proc = tmp_path / "proc"
    # 50 runs a module (sh -c python ...) under a worker (41) of ansible-playbook (40), started by a shell (30).
    tree = {50: (45, ["/usr/bin/python3", "/home/u/.ansible/tmp/AnsiballZ_backup_lock.py"]),
            45: (41, ["/bin/sh", "-c", "python3 AnsiballZ_backup_lock.py && sleep 0"]),
            41: (40, ["/usr/bin/python3", "/usr/local/bin/ansible-playbook", "site.yml"]),
            40: (30, ["/usr/bin/python3", "/usr/local/bin/ansible-playbook", "site.yml"]),
            30: (1, ["bash", "-c", "echo ansible-playbook is run below"])}
    for pid, (ppid, argv) in tree.items():
        folder = proc / str(pid)
        folder.mkdir(parents=True)
        (folder / "status").write_text("Name:\tx\nState:\tS (sleeping)\nPPid:\t%d\n" % ppid)
        (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        fields = ["S"] + ["0"] * 18 + [str(1000 + pid)] + ["0"] * 10
        (folder / "stat").write_text("%d (a (weird) name) %s\n" % (pid, " ".join(fields)))
    assert _lock.find_playbook(50, proc=str(proc)) == (40, 1040)
    assert _lock.find_playbook(30, proc=str(proc)) == (None, None)
    assert _lock.process_start(40, proc=str(proc)) == 1040
    (proc / "40" / "stat").write_text("40 (x) Z " + " ".join(["0"] * 30) + "\n")
    assert _lock.process_start(40, proc=str(proc)) is None
    assert _lock.find_playbook(50, proc=str(proc)) == (None, None)


def test_find_playbook_in_a_real_process_tree(tmp_path):
    """A script named ansible-playbook runs a shell that runs Python: the latter finds the script's process."""
    script = tmp_path / "ansible-playbook"
    script.write_text("import os, subprocess, sys\n"
                      "print(os.getpid(), flush=True)\n"
                      "subprocess.run(['/bin/sh', '-c', sys.argv[1] + ' -c \"%s\"' % sys.argv[2]], check=True)\n")
    code = ("import json; from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import lock as _lock; "
            "print(json.dumps(_lock.find_playbook()))")
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT)
    proc = subprocess.run([sys.executable, str(script), sys.executable, code], stdout=subprocess.PIPE, env=env,
                          timeout=60, check=True, universal_newlines=True)
    playbook_pid, found = proc.stdout.splitlines()
    pid, start = json.loads(found)
    assert pid == int(playbook_pid) and isinstance(start, int)
    assert _lock.process_start(os.getpid()) is not None
