# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lock per backup target that outlives the task that takes it (module ``backup_lock``; no Ansible imports).

A module's process ends with its task, so it cannot hold an flock for the tasks that follow. ``acquire`` forks a
small detached holder process that takes ``flock(LOCK_EX | LOCK_NB)`` on the lock file, writes one JSON line that
describes itself (the holder line) and keeps the lock until it gets SIGTERM (``release``), its ttl runs out, or the
process it watches (the ansible-playbook that runs the play) is gone. The kernel drops the flock when the holder
exits, however it exits, so a crashed or killed holder never leaves a stale lock.

Everything the holder needs is imported here, before the fork: Ansible removes the module's payload while the
holder still runs, so the holder must import nothing later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf

PROC = "/proc"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
# How often the holder checks that the watched process is still there (seconds).
WATCH_INTERVAL = 2.0
# How long ``release`` waits for the holder to let go after SIGTERM, and how often it looks (seconds).
RELEASE_TIMEOUT = 10.0
RELEASE_POLL = 0.05
# How long ``acquire`` waits for the holder's report (a safety net: it comes at once unless the file system hangs).
REPORT_TIMEOUT = 60.0
# The most of a lock file read for its holder line.
MAX_LINE = 65536
_CLOCK = getattr(time, "CLOCK_BOOTTIME", None)


class LockError(Exception):
    """The lock could not be taken, read or released (not: the lock is busy)."""


def _now():
    """Seconds on a clock that keeps running while the machine sleeps (a ttl is a span of real time)."""
    if _CLOCK is not None:
        try:
            return time.clock_gettime(_CLOCK)
        except OSError:  # pragma: no cover
            pass
    return time.monotonic()


def new_token():
    return binascii.hexlify(os.urandom(16)).decode("ascii")


def boot_id():
    try:
        with open(BOOT_ID) as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None


# --- processes ---------------------------------------------------------------------------------------------------

def _stat_fields(pid, proc=PROC):
    """The fields of /proc/<pid>/stat after the command name (field 3 first), or None when there is no such process."""
    try:
        with open(os.path.join(proc, str(pid), "stat"), "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None
    end = text.rfind(")")
    if end < 0:
        return None
    return text[end + 1:].split()


def process_start(pid, proc=PROC):
    """The start time of a live process (field 22 of /proc/<pid>/stat, clock ticks since boot), None when it is gone.

    A zombie counts as gone: it has exited, only its parent has not collected it yet.
    """
    fields = _stat_fields(pid, proc)
    if not fields or len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def alive(pid, proc=PROC):
    """Whether process ``pid`` runs (and is not a zombie)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if os.path.isdir(proc):
        return process_start(pid, proc) is not None
    try:  # pragma: no cover - systems without /proc
        os.kill(pid, 0)
    except OSError as exc:  # pragma: no cover
        return exc.errno == errno.EPERM
    return True  # pragma: no cover


def _parent(pid, proc=PROC):
    try:
        with open(os.path.join(proc, str(pid), "status")) as handle:
            for line in handle:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError, IndexError):
        return None
    return None


def _is_playbook(pid, proc=PROC):
    """Whether the command line of ``pid`` runs ansible-playbook (its program, or the script its interpreter runs)."""
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            argv = handle.read().decode("utf-8", "replace").split("\0")
    except (IOError, OSError):
        return False
    return any(os.path.basename(arg).startswith("ansible-playbook") for arg in argv[:2])


def find_playbook(pid=None, proc=PROC):
    """(pid, start time) of the topmost ancestor of ``pid`` (default: this process's parent) that runs
    ansible-playbook, or (None, None) when there is none (a module run over SSH, or by AWX's own process)."""
    pid = os.getppid() if pid is None else pid
    found = None
    seen = set()
    while pid and pid > 1 and pid not in seen:
        seen.add(pid)
        if _is_playbook(pid, proc):
            found = pid
        pid = _parent(pid, proc)
    if found is None:
        return None, None
    start = process_start(found, proc)
    return (found, start) if start is not None else (None, None)


def _has_open(pid, path, proc=PROC):
    """Whether process ``pid`` has the file ``path`` open: True, False, or None when that cannot be told."""
    try:
        wanted = os.stat(path)
        fds = os.listdir(os.path.join(proc, str(pid), "fd"))
    except OSError as exc:
        return False if exc.errno == errno.ENOENT else None
    for name in fds:
        try:
            info = os.stat(os.path.join(proc, str(pid), "fd", name))
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (wanted.st_dev, wanted.st_ino):
            return True
    return False


# --- the lock file -----------------------------------------------------------------------------------------------

def parse_holder(data):
    """The holder line (the first line of ``data``, bytes or text) as a dict, or None when it is not one.

    A holder line is a JSON object with an integer ``pid``; anything else (an empty file, a line cut short, garbage)
    gives None.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    line = (data or "").split("\n", 1)[0].strip()
    if not line:
        return None
    try:
        holder = json.loads(line)
    except ValueError:
        return None
    if not isinstance(holder, dict):
        return None
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    return holder


def read_holder(path):
    """The holder line of the lock file, or None (no file, unreadable, or no holder line in it)."""
    try:
        with open(path, "rb") as handle:
            return parse_holder(handle.read(MAX_LINE))
    except (IOError, OSError):
        return None


def describe(holder):
    """``held by pid N on host H since T (owner O)`` for messages."""
    if not holder:
        return "held by a process whose holder line cannot be read"
    return "held by pid %s on host %s since %s (owner %s)" % (
        holder.get("pid"), holder.get("host") or "?", holder.get("started") or "?", holder.get("owner") or "not given")


def held_seconds(holder, now):
    """Whole seconds since the holder line's ``started`` (UTC) at ``now`` (Unix seconds), or None when it has none.

    ``started`` is the wall-clock time the holder took the lock, so this is what an admin reading the line would
    count. A ``started`` after ``now`` (clocks of two hosts apart) counts as 0.
    """
    started = mf.parse_time((holder or {}).get("started"))
    if started is None:
        return None
    return max(0, int(now - started.timestamp()))


def _check_folder(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LockError("The folder of the lock file %s does not exist (%s); create it first." % (path, folder))
    if os.path.isdir(path):
        raise LockError("The lock file %s is a folder; give the path of a file." % path)


def is_free(path):
    """Whether nobody holds the lock: takes it without waiting and lets it go at once. Creates nothing."""
    _check_folder(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return True
        raise LockError("Could not open the lock file %s: %s" % (path, exc.strerror or exc))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                return False
            raise LockError("Could not test the lock file %s: %s" % (path, exc.strerror or exc))
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


# --- acquire -----------------------------------------------------------------------------------------------------

def acquire(path, owner=None, ttl=12 * 3600, watch_pid=None, watch_start=None, interval=WATCH_INTERVAL, token=None,
            report_timeout=REPORT_TIMEOUT):
    """Take the lock ``path`` for a detached holder process.

    ``watch_pid``: the holder lets go when that process is gone (or runs with another start time than
    ``watch_start``, read now when not given); it looks every ``interval`` seconds. ``ttl`` in seconds.
    Returns ``dict(acquired=True, token, holder)`` or, when another process holds the lock, ``dict(acquired=False,
    holder)`` (holder None when its line cannot be read). Raises LockError when the lock cannot be taken.
    """
    _check_folder(path)
    if ttl is None or ttl <= 0:
        raise LockError("ttl must be more than 0 seconds (got %r)." % (ttl,))
    if watch_pid is not None and watch_start is None:
        watch_start = process_start(watch_pid)
        if watch_start is None:
            raise LockError("The process to watch, pid %s, is gone." % watch_pid)
    token = token or new_token()
    facts = dict(owner=owner, host=socket.gethostname(), boot_id=boot_id(), watch_pid=watch_pid)
    for stream in ("stdout", "stderr"):  # nothing buffered may be written twice by the fork
        handle = getattr(sys, stream, None)
        if handle is not None:
            try:
                handle.flush()
            except (IOError, OSError, ValueError):
                pass
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError as exc:
        os.close(read_end)
        os.close(write_end)
        raise LockError("Could not start the lock holder: %s" % (exc.strerror or exc))
    if child == 0:  # pragma: no cover - runs in the forked processes (the tests see what they do)
        os.close(read_end)
        _detach_and_hold(write_end, path, token, facts, ttl, watch_pid, watch_start, interval)
    os.close(write_end)
    try:
        report = _read_report(read_end, report_timeout)
    finally:
        os.close(read_end)
        _reap(child)
    word, _sep, rest = report.partition(" ")
    if word == "ok":
        return dict(acquired=True, token=token, holder=json.loads(rest))
    if word == "busy":
        return dict(acquired=False, token=None, holder=read_holder(path))
    if word == "error":
        raise LockError(rest)
    raise LockError("The lock holder for %s ended without a report%s." % (path, (": %r" % report) if report else ""))


def _read_report(fd, timeout):
    """Everything the holder writes on the pipe until it closes it (no sleeps; ``timeout`` is a safety net)."""
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockError("The lock holder did not report within %d s (is the file system of the lock file "
                            "hanging?)." % timeout)
        ready = select.select([fd], [], [], remaining)[0]
        if not ready:
            continue
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8", "replace").strip()


def _reap(pid):
    """Collect the short-lived first child (the holder is its child, adopted by init once it exits)."""
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:  # pragma: no cover
                continue
            return


def _say(fd, text):
    try:
        os.write(fd, text.encode("utf-8"))
        return True
    except OSError:
        return False


def _close_fds(keep):
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover
        fds = None
    if fds is None:  # pragma: no cover
        top = max(keep)
        os.closerange(3, top)
        os.closerange(top + 1, 65536)
        return
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _detach_and_hold(report, path, token, facts, ttl, watch_pid, watch_start, interval):  # pragma: no cover
    """In the first child: a new session, no terminal, no inherited fds but ``report``; then fork the holder.

    Never returns: every path ends in os._exit, so nothing of the caller (its finally blocks, atexit handlers, the
    Ansible payload clean-up) runs twice.
    """
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        if null > 2:
            os.close(null)
        _close_fds((report,))
        os.chdir("/")
        holder = os.fork()
        if holder == 0:
            code = _hold(report, path, token, facts, ttl, watch_pid, watch_start, interval)
        else:
            code = 0
    except BaseException as exc:  # noqa: pylint: disable=broad-except
        _say(report, "error Could not start the lock holder: %s\n" % exc)
    finally:
        os._exit(code)


def _hold(report, path, token, facts, ttl, watch_pid, watch_start, interval):  # pragma: no cover
    """The holder: take the lock, write the holder line, report, keep the lock; returns the exit code."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        _say(report, "error Could not open the lock file %s: %s\n" % (path, exc.strerror or exc))
        return 1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            _say(report, "busy\n")
            return 0
        _say(report, "error Could not lock %s: %s\n" % (path, exc.strerror or exc))
        return 1
    started = time.time()
    deadline = _now() + ttl
    holder = dict(pid=os.getpid(), token=token, owner=facts["owner"], host=facts["host"], started=mf.format_epoch(started),
                  expires=mf.format_epoch(started + ttl), boot_id=facts["boot_id"], watch_pid=facts["watch_pid"])
    line = (json.dumps(holder, sort_keys=False) + "\n").encode("utf-8")
    try:
        # Over the old line, then cut: a reader sees the old line or the new one as the first line, never a mix.
        os.pwrite(fd, line, 0)
        os.ftruncate(fd, len(line))
    except OSError as exc:
        _say(report, "error Could not write the holder line to %s: %s\n" % (path, exc.strerror or exc))
        return 1
    if not _say(report, "ok %s\n" % json.dumps(holder)):
        return 1  # the caller is gone and never learnt the token: nobody could release this lock
    os.close(report)
    while True:
        remaining = deadline - _now()
        if remaining <= 0:
            return 0
        if watch_pid is not None and process_start(watch_pid) != watch_start:
            return 0
        time.sleep(min(interval, remaining))


# --- release -----------------------------------------------------------------------------------------------------

def release(path, token, timeout=RELEASE_TIMEOUT, poll=RELEASE_POLL, check=False):
    """Make the holder whose line carries ``token`` let go of the lock ``path``.

    Returns ``dict(released, holder, pid, reason)``. ``released`` is False, and nothing is done, when nobody holds
    the lock, when another holder (another token) holds it, or when the holder runs on another host. In check mode
    (``check``) nothing is done and ``reason`` says what would be. Raises LockError when the holder did not let go
    within ``timeout`` seconds.
    """
    _check_folder(path)
    holder = read_holder(path)
    result = dict(released=False, holder=holder, pid=holder.get("pid") if holder else None)
    if not os.path.exists(path):
        result.update(holder=None, pid=None, reason="nobody holds the lock (there is no lock file)")
        return result
    if is_free(path):
        result["reason"] = "nobody holds the lock (it was released already, or its holder ended)"
        return result
    if holder is None:
        result["reason"] = "the lock is held, but its holder line cannot be read, so it cannot be matched to the token"
        return result
    if holder.get("token") != token:
        result["reason"] = "the lock is %s, with another token" % describe(holder)
        return result
    pid = holder["pid"]
    here = (socket.gethostname(), boot_id())
    if holder.get("host") != here[0] or (holder.get("boot_id") and here[1] and holder.get("boot_id") != here[1]):
        result["reason"] = "the lock is %s, not by this host (%s); release it there" % (describe(holder), here[0])
        return result
    opened = _has_open(pid, path)
    if opened is False or (opened is None and not alive(pid)):
        result["reason"] = ("pid %s of the holder line no longer holds the lock file; another process is taking the "
                            "lock" % pid)
        return result
    if check:
        result["reason"] = "would send SIGTERM to pid %s and wait until the lock is free" % pid
        return result
    start = process_start(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise LockError("Could not signal the lock holder pid %s: %s" % (pid, exc.strerror or exc))
    deadline = time.monotonic() + timeout
    while True:
        now = process_start(pid)
        if is_free(path) or now is None or now != start:
            result.update(released=True, reason="sent SIGTERM to pid %s, which let go of the lock" % pid)
            return result
        if time.monotonic() >= deadline:
            raise LockError("Sent SIGTERM to the lock holder pid %s, but the lock %s was still held after %d s."
                            % (pid, path, timeout))
        time.sleep(poll)
