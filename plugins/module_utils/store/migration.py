# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state file of a site migration: which step ran, how it ended, and what it found (module ``migration_state``).

One JSON file, ``migration.json``, in the migration's working folder. Each write reads the file, changes one step and
replaces the file at once (:func:`manifest.write_atomic`), under an ``flock`` on ``migration.json.lock``, so that a
reader sees the old state or the new one and two writers never interleave. A run killed in the middle of a step
leaves that step ``started``: the next run does it again (the modules it calls join or find what the killed run
started); a step ``done`` is never repeated.

The file names the migration it belongs to (its kind, source and destination): a folder is never reused for
another migration by mistake. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf

STATE_NAME = "migration.json"
LOCK_NAME = STATE_NAME + ".lock"
FORMAT = 1
STATUSES = ("started", "done", "failed", "waiting")


class StateError(Exception):
    """A state file that cannot be used (another migration's, unreadable, of an unknown format)."""


def state_path(folder):
    return os.path.join(folder, STATE_NAME)


def empty(migration):
    return {"format": FORMAT, "migration": dict(migration or {}), "created_at": None, "updated_at": None, "steps": {}}


def read(folder):
    """The state of the migration in ``folder``, or None when it has none yet."""
    path = state_path(folder)
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == 2:
            return None
        raise StateError("%s cannot be read: %s" % (path, exc))
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError("%s is not JSON (%s); it was not written by this collection, or was edited. Move it away to "
                         "start the migration again from its first step." % (path, exc))
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict):
        raise StateError("%s is not a migration state (no steps)." % path)
    if data.get("format") != FORMAT:
        raise StateError("%s has format %r; this collection reads format %d." % (path, data.get("format"), FORMAT))
    return data


def check_identity(state, migration, folder):
    """Refuse a state file of another migration (another kind, source or destination)."""
    recorded = state.get("migration") or {}
    differing = sorted(key for key in set(recorded) | set(migration or {})
                       if migration and key in migration and recorded.get(key) != migration.get(key))
    if differing:
        raise StateError("%s holds the state of another migration (%s); use another working folder for this one, "
                         "or move that file away to start again." % (
                             state_path(folder), ", ".join("%s %r, not %r" % (k, recorded.get(k), migration.get(k))
                                                           for k in differing)))


def apply(state, step, status, now, data=None, message=None):
    """``state`` with ``step`` set to ``status`` at ``now`` (epoch seconds); a new dict, ``state`` is unchanged.

    ``started`` counts an attempt and stamps its start; ``done``, ``failed`` and ``waiting`` stamp the end and the
    attempt's duration. ``data`` is merged into what the step recorded before (a resumed step keeps the ids it found
    on an earlier attempt)."""
    if status not in STATUSES:
        raise StateError("status must be one of %s (got %r)." % (", ".join(STATUSES), status))
    new = json.loads(json.dumps(state))
    stamp = mf.format_epoch(now)
    record = new["steps"].setdefault(step, {"status": None, "attempts": 0, "data": {}})
    if status == "started":
        record["attempts"] = int(record.get("attempts") or 0) + 1
        record["started_at"] = stamp
        record["started_epoch"] = now
        record.pop("finished_at", None)
        record.pop("duration_seconds", None)
    else:
        record["finished_at"] = stamp
        started = record.get("started_epoch")
        record["duration_seconds"] = round(now - started, 3) if isinstance(started, (int, float)) else None
    record["status"] = status
    record["message"] = message
    if data:
        merged = dict(record.get("data") or {})
        merged.update(data)
        record["data"] = merged
    new["created_at"] = new.get("created_at") or stamp
    new["updated_at"] = stamp
    return new


def update(folder, migration, step, status, data=None, message=None, now=None, write=True):
    """Set ``step`` to ``status`` in the state of ``folder`` under its lock; return ``(old, new)`` states.

    With ``write`` False (check mode) nothing is created or written: the new state is only computed."""
    now = time.time() if now is None else now
    if not write:
        old = read(folder) if os.path.isdir(folder) else None
        if old is not None:
            check_identity(old, migration, folder)
        return old, apply(old or empty(migration), step, status, now, data, message)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    with open(os.path.join(folder, LOCK_NAME), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            old = read(folder)
            if old is not None:
                check_identity(old, migration, folder)
            new = apply(old or empty(migration), step, status, now, data, message)
            mf.write_atomic(state_path(folder), json.dumps(new, indent=2, sort_keys=True) + "\n")
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return old, new


def summary(state):
    """``{step: status}`` and the steps done, for a report and for the role's ``when``."""
    steps = (state or {}).get("steps") or {}
    return dict((name, record.get("status")) for name, record in steps.items())
