#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_lock
short_description: Make sure two runs for the same backup target never overlap (an flock per target)
version_added: 0.3.0
description:
  - Takes or releases a lock per backup target, an C(flock) on a lock file on the host that runs the module (usually
    C(localhost)). A second run for the same target finds the lock busy and is told who holds it.
  - A module's process ends with its task, so the lock is held by a small detached holder process that the module
    starts. The holder takes the lock and writes one JSON line into the lock file (the holder line, see RV(holder)).
    It keeps the lock until O(state=released) with its RV(token), until O(ttl) runs out, or until the
    C(ansible-playbook) process that runs the play is gone (see O(watch_playbook)), whichever comes first.
  - The kernel drops the lock when the holder exits, however it exits. A crashed or killed holder, or a playbook
    killed with C(SIGKILL), never leaves a stale lock behind. A holder line left in the file by a holder that has
    ended means nothing; only the C(flock) counts.
  - When the lock is busy, the module does not fail (unless O(fail_when_busy)). It returns RV(acquired=false) and
    the holder, and failing, skipping or ending the play is the caller's choice.
  - The result never reports a change (C(changed) is always false), in both states. The lock is run-time state,
    not configuration, so a play that takes and releases it stays idempotent.
  - Linux only, because the module reads C(/proc).
  - Do not delete the lock file while it may be held. A run that then creates a new file would take a second lock.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - With O(state=acquired), only tests whether the lock is free. The module takes it and lets it go at once, in
        its own process, and returns RV(would_acquire). No holder is started, and a missing lock file is not
        created.
      - With O(state=released), nothing is signalled. RV(msg) says what a real run would do.
  diff_mode:
    support: none
options:
  path:
    description:
      - The lock file, one per backup target, for example C(/srv/backups/confluence/example.atlassian.net.lock).
      - Its folder must exist. The file is created with mode C(0600) when it is missing, and it is never deleted.
      - Every run that must not overlap with another uses the same path.
    type: path
    required: true
  state:
    description:
      - V(acquired) takes the lock, or reports who holds it.
      - V(released) makes the holder started with O(token) let go of the lock.
    type: str
    choices: [acquired, released]
    default: acquired
  owner:
    description:
      - Free text that says who holds the lock, written into the holder line and shown to the runs that find the
        lock busy, for example V(scheduled_backup example.atlassian.net).
    type: str
  ttl:
    description:
      - The longest time the lock is held, in seconds or as a duration such as V(90m), V(12h) or V(1d). After it,
        the holder lets go even when nobody released the lock, for a run that was stopped without C(always:) running
        and without the C(ansible-playbook) process being watched.
      - Make it longer than the longest run.
    type: raw
    default: 12h
  token:
    description:
      - With O(state=released), the RV(token) that O(state=acquired) returned. Only the holder with this token is
        signalled, so a run never releases a lock that another run took.
      - Required with O(state=released).
    type: str
  fail_when_busy:
    description:
      - Fail, with the message that names the holder, when the lock is busy, instead of returning
        RV(acquired=false).
    type: bool
    default: false
  stale_after:
    description:
      - When the lock is busy, a holder that took it longer ago than this (in seconds or as a duration such as
        V(12h)) is flagged as stale (RV(stale)), with a warning. Its run has lasted longer than a run is expected to,
        so it may be dead, for example a run whose controller was lost over SSH, whose holder keeps the lock until
        O(ttl). The lock is still respected; the warning says how to free it.
      - Not set (the default), no holder is flagged.
    type: raw
  watch_playbook:
    description:
      - Let go of the lock, within a few seconds, when the C(ansible-playbook) process that runs the play is gone.
        This covers a playbook killed with C(SIGKILL). It is the topmost ancestor of the module's process whose
        program, or the script its interpreter runs, is named C(ansible-playbook). It is returned as RV(watch_pid).
      - When the module does not run under C(ansible-playbook) on the same host (over SSH, or under a controller
        that runs Ansible another way), nothing is watched, and only O(state=released) and O(ttl) end the lock.
      - Set it to V(false) for a lock that must outlive the playbook run that takes it. O(ttl) still applies.
    type: bool
    default: true
notes:
  - The holder is started with a double fork. It runs in a session of its own, with no terminal, and with its
    standard input and output on C(/dev/null). It outlives the task, not the O(ttl).
seealso:
  - module: atlassian_ops.backup.backup_prune
"""

EXAMPLES = r"""
- name: Take the lock of the site's backups (a second run for the same site finds it busy)
  atlassian_ops.backup.backup_lock:
    path: /srv/backups/confluence/example.atlassian.net.lock
    owner: scheduled_backup example.atlassian.net
    ttl: 12h
  register: lock

- name: Another run holds the lock; say who, and skip the backup
  ansible.builtin.debug:
    msg: "Skipping the backup: {{ lock.msg }}"
  when: not lock.acquired

- name: Back up while holding the lock, and release it whatever happens
  when: lock.acquired
  block:
    - name: Take and download a backup unless one younger than 24 h is already there
      atlassian_ops.backup.confluence_backup:
        url: https://example.atlassian.net
        username: backup-bot@example.com
        api_token: "{{ vault_confluence_api_token }}"
        dest: /srv/backups/confluence
        max_age: 24h
  always:
    - name: Release the lock
      atlassian_ops.backup.backup_lock:
        path: /srv/backups/confluence/example.atlassian.net.lock
        state: released
        token: "{{ lock.token }}"

- name: Would the lock be free? (takes nothing, starts no holder)
  atlassian_ops.backup.backup_lock:
    path: /srv/backups/confluence/example.atlassian.net.lock
  check_mode: true
  register: probe

- name: Take the lock or fail the host, with the name of the holder in the error
  atlassian_ops.backup.backup_lock:
    path: /srv/backups/confluence/example.atlassian.net.lock
    owner: nightly export
    ttl: 2h
    fail_when_busy: true
  register: export_lock

- name: Release it
  atlassian_ops.backup.backup_lock:
    path: /srv/backups/confluence/example.atlassian.net.lock
    state: released
    token: "{{ export_lock.token }}"
"""

RETURN = r"""
acquired:
  description:
    - Whether this task took the lock. False when another holder has it, and always false in check mode.
  returned: with O(state=acquired)
  type: bool
  sample: true
released:
  description:
    - Whether the holder with O(token) let go of the lock. False when nobody held the lock, when another holder
      (another token) holds it, and in check mode; RV(msg) says which.
  returned: with O(state=released)
  type: bool
  sample: true
would_acquire:
  description: In check mode, whether the lock is free, so that a real run would take it.
  returned: in check mode with O(state=acquired)
  type: bool
  sample: true
path:
  description: The lock file.
  returned: always
  type: str
  sample: /srv/backups/confluence/example.atlassian.net.lock
token:
  description:
    - The holder's token when this task took the lock. Pass it to O(state=released).
    - With O(state=released), the token given.
    - Null when the lock was busy, and in check mode.
  returned: with O(state=acquired), and with O(state=released)
  type: str
  sample: 3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f01
holder_pid:
  description:
    - The pid of the holder process, the one this task started, or the one that holds the lock when it is busy,
      or the one signalled with O(state=released).
    - Null when nobody holds the lock, or when the holder line cannot be read.
  returned: always
  type: int
  sample: 48213
holder:
  description:
    - The holder line of the lock file, as a dict. This is the holder this task started, the one that holds the
      lock when it is busy, or the one O(state=released) signalled or refused to signal.
    - Null when nobody holds the lock, or when the line cannot be read (a holder that has not written it yet).
  returned: always
  type: dict
  sample: {"pid": 48213, "token": "3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f01", "owner": "scheduled_backup example.atlassian.net",
           "host": "backup01", "started": "2026-11-22T02:00:00Z", "expires": "2026-11-22T14:00:00Z",
           "boot_id": "8c2f0e36-5f3e-4f0c-9a51-0d6e3c3f5b7a", "watch_pid": 48120}
  contains:
    pid:
      description: The pid of the holder process.
      type: int
      sample: 48213
    token:
      description: The holder's token.
      type: str
      sample: 3f9c1e0b7a5d4c2e8f6a1b3c5d7e9f01
    owner:
      description: The O(owner) of the task that took the lock (null when none was given).
      type: str
      sample: scheduled_backup example.atlassian.net
    host:
      description: The host name of the machine the holder runs on.
      type: str
      sample: backup01
    started:
      description: When the holder took the lock (UTC).
      type: str
      sample: "2026-11-22T02:00:00Z"
    expires:
      description: When the holder lets go at the latest, RV(holder.started) plus O(ttl) (UTC).
      type: str
      sample: "2026-11-22T14:00:00Z"
    boot_id:
      description: The boot id of the holder's machine (C(/proc/sys/kernel/random/boot_id)), null when unreadable.
      type: str
      sample: 8c2f0e36-5f3e-4f0c-9a51-0d6e3c3f5b7a
    watch_pid:
      description: The C(ansible-playbook) process the holder watches, null when none.
      type: int
      sample: 48120
held_seconds:
  description:
    - When the lock is busy, how long ago its holder took it (from RV(holder.started)), in seconds.
    - Null when the lock is not busy, or when the holder line cannot be read.
  returned: with O(state=acquired)
  type: int
  sample: 3600
stale:
  description:
    - Whether the lock is busy with a holder that took it longer ago than O(stale_after).
  returned: with O(state=acquired)
  type: bool
  sample: false
watch_pid:
  description:
    - The C(ansible-playbook) process whose end makes the holder let go of the lock (see O(watch_playbook)).
    - Null when there is none, or with O(watch_playbook=false).
  returned: with O(state=acquired)
  type: int
  sample: 48120
expires:
  description: When the holder this task started lets go of the lock at the latest (UTC). Null when it took none.
  returned: with O(state=acquired)
  type: str
  sample: "2026-11-22T14:00:00Z"
msg:
  description: What happened, naming the holder when the lock is busy (V(held by pid N on host H since T (owner O))).
  returned: always
  type: str
  sample: "Lock /srv/backups/confluence/example.atlassian.net.lock is busy: held by pid 48213 on host backup01
           since 2026-11-22T02:00:00Z (owner scheduled_backup example.atlassian.net)."
"""

import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import lock as _lock
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", choices=["acquired", "released"], default="acquired"),
    owner=dict(type="str"),
    ttl=dict(type="raw", default="12h"),
    token=dict(type="str", no_log=False),
    fail_when_busy=dict(type="bool", default=False),
    watch_playbook=dict(type="bool", default=True),
    stale_after=dict(type="raw"),
)


def prepare(module, params):
    if params["state"] == "acquired" and params["ttl"] <= 0:
        module.fail_json(msg="ttl must be more than 0 (got %r)." % params["ttl_text"])
    if params["stale_after"] is not None and params["stale_after"] <= 0:
        module.fail_json(msg="stale_after must be more than 0 (got %r)." % params["stale_after_text"])


def run(module, params):
    # Ansible adds the stats of the file named by ``path`` to a result that has one (owner, group, mode, state, ...).
    # Here ``owner`` and ``state`` would then mean the file's user and type next to this module's options of the
    # same names (the lock's owner, acquired/released), so this module's results go without them.
    module.add_path_info = lambda kwargs: kwargs
    try:
        if params["state"] == "released":
            return released(params)
        return acquired(module, params)
    except _lock.LockError as exc:
        raise TaskFailed(str(exc), path=params["path"])


def hours(seconds):
    """``2h05m`` (or ``45s`` under a minute) for messages."""
    if seconds < 60:
        return "%ds" % seconds
    return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)


def flag_stale(module, params, result, busy_msg):
    """The message for a busy lock, with ``held_seconds`` and ``stale`` set, and a warning for a stale holder."""
    holder = result["holder"]
    held = _lock.held_seconds(holder, time.time()) if holder else None
    stale = held is not None and params["stale_after"] is not None and held > params["stale_after"]
    result.update(held_seconds=held, stale=stale)
    if not stale:
        return busy_msg
    warning = ("Lock %s has been held for %s, longer than stale_after (%s): the run that holds it may be dead (a "
               "controller lost over SSH leaves its holder until the ttl). The holder lets go at %s at the latest. "
               "If no backup of this target runs on host %s, end pid %s there to free the lock now." % (
                   params["path"], hours(held), params["stale_after_text"], holder.get("expires") or "?",
                   holder.get("host") or "?", holder.get("pid")))
    module.warn(warning)
    return "%s %s" % (busy_msg, warning)


def acquired(module, params):
    path = params["path"]
    watch_pid = watch_start = None
    if params["watch_playbook"]:
        watch_pid, watch_start = _lock.find_playbook()
    result = dict(changed=False, acquired=False, path=path, token=None, holder_pid=None, holder=None,
                  watch_pid=watch_pid, expires=None, held_seconds=None, stale=False)
    if params["check_mode"]:
        free = _lock.is_free(path)
        result["would_acquire"] = free
        if free:
            result["msg"] = "Check mode: lock %s is free; a real run would take it." % path
            return result
        holder = _lock.read_holder(path)
        result.update(holder=holder, holder_pid=holder["pid"] if holder else None)
        result["msg"] = flag_stale(module, params, result, "Check mode: lock %s is busy: %s; a real run would not take "
                                   "it." % (path, _lock.describe(holder)))
        return result
    outcome = _lock.acquire(path, owner=params["owner"], ttl=params["ttl"], watch_pid=watch_pid,
                            watch_start=watch_start)
    holder = outcome["holder"]
    result.update(holder=holder, holder_pid=holder["pid"] if holder else None)
    if not outcome["acquired"]:
        result["msg"] = flag_stale(module, params, result, "Lock %s is busy: %s." % (path, _lock.describe(holder)))
        if params["fail_when_busy"]:
            raise TaskFailed(result["msg"], **dict((k, v) for k, v in result.items() if k != "msg"))
        return result
    ends = ["state=released with its token", "ttl %s (at %s)" % (params["ttl_text"], holder["expires"])]
    if watch_pid:
        ends.append("the end of ansible-playbook pid %d" % watch_pid)
    result.update(acquired=True, token=outcome["token"], expires=holder["expires"])
    result["msg"] = "Took lock %s: holder pid %d keeps it until %s, whichever comes first." % (
        path, holder["pid"], ", ".join(ends[:-1]) + " or " + ends[-1])
    return result


def released(params):
    path = params["path"]
    check = params["check_mode"]
    outcome = _lock.release(path, params["token"], check=check)
    result = dict(changed=False, released=outcome["released"], path=path, token=params["token"],
                  holder_pid=outcome["pid"], holder=outcome["holder"])
    if outcome["released"]:
        result["msg"] = "Released lock %s: %s." % (path, outcome["reason"])
    elif check and outcome["reason"].startswith("would "):
        result["msg"] = "Check mode: for lock %s, a real run %s." % (path, outcome["reason"])
    else:
        result["msg"] = "%s lock %s: %s." % ("Check mode: a real run would not release" if check else "Did not release",
                                             path, outcome["reason"])
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "take or release the lock", connection="local", durations=("ttl",),
               optional_durations=("stale_after",), prepare=prepare, supports_check_mode=True, required_if=[("state", "released", ["token"])])


if __name__ == "__main__":
    main()
