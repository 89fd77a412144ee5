# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before a backup: is the folder there and writable, and is there room for the next backup of this target?

No Ansible imports. The next backup's size is guessed from the newest verified backup of the same series (selected
as ``backup_prune`` selects it, from the manifests); the room needed is a factor of its size, or a floor.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import math
import os
import re
import tempfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import scan, wanted

PROBE_PREFIX = ".preflight-"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_ADVICE = {
    errno.EROFS: "its file system is mounted read-only; remount it read-write, or choose a path on a writable one",
    errno.EACCES: "give the user running the backup write access to it, or choose another path",
    errno.EPERM: "give the user running the backup write access to it (and check its attributes), or choose another path",
    errno.ENOSPC: "its file system is full; free some space there",
    errno.EDQUOT: "the quota of the user running the backup is used up; free some space or raise the quota",
}


def parse_size(value):
    """Bytes from an int or a text such as ``500M``, ``10G`` or ``1.5TiB`` (binary units); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a text such as 10G, not a boolean")
    if isinstance(value, (int, float)):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("a size must be a finite number of bytes (got %r)" % (value,))
        if value < 0:
            raise ValueError("a size must not be negative (got %r)" % (value,))
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("%r is not a size; write it as bytes or like 500M, 10G or 1T" % (value,))
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def human(size):
    """``3.0 GiB``, ``512 bytes``: binary units, one decimal."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return "%.1f %s" % (float(size) / factor, unit)
    return "%d bytes" % size


def figure(size):
    """``3.0 MiB (3145851 bytes)``."""
    return "%s (%d bytes)" % (human(size), size) if size >= 1024 else "%d bytes" % size


def nearest_existing(path):
    """The path itself when it exists, else its nearest existing parent."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def kind(path):
    """What a path that is not a folder is, in words."""
    if os.path.islink(path) and not os.path.exists(path):
        return "a symbolic link to nothing"
    if os.path.isfile(path):
        return "a file"
    return "not a file either (a device, socket or pipe)"


def previous_backup(folder, product, label, selection):
    """The newest verified backup of the series as dict(path, size, backup_time), or None.

    The series is selected as ``backup_prune`` selects it: ``product`` and site ``label`` (None: any site) by
    ``scan``, then ``scope`` and ``space_keys`` of ``selection`` by ``wanted``. Newest by the manifest's backup
    time; the size is the manifest's (a verified backup's zip has that size).
    """
    if not os.path.isdir(folder):
        return None
    backups = scan(folder, product, label)[0]
    verified = [b for b in backups if b.problem is None and wanted(b.series, selection)]
    if not verified:
        return None
    newest = max(verified, key=lambda b: (b.time, b.manifest_path))
    return dict(path=newest.zip_path, size=newest.size, backup_time=newest.backup_time)


def probe_write(folder):
    """Create, write, flush and delete a small file in ``folder``: None when that worked, else why not and what to do."""
    try:
        handle, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
    except OSError as exc:
        return _cannot("create a file there", exc)
    try:
        try:
            os.write(handle, b"atlassian_ops.backup pre-flight\n")
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        return _cannot("write a file there", exc)
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
    return None


def _cannot(what, exc):
    advice = _ADVICE.get(exc.errno, "make it writable by the user running the backup, or choose another path")
    return "cannot %s (%s); %s" % (what, exc.strerror or exc, advice)


def free_bytes(folder, statvfs=os.statvfs):
    """The space free for an unprivileged user in the file system of ``folder``."""
    info = statvfs(folder)
    return info.f_bavail * info.f_frsize


def required(space_factor, previous_size, min_free):
    """(bytes, why, option): the larger of ``space_factor`` x ``previous_size`` (if any) and ``min_free``.

    ``option`` names the option that set the figure (``space_factor`` or ``min_free``).
    """
    if previous_size is None:
        return min_free, "min_free %s, as there is no previous backup" % figure(min_free), "min_free"
    by_factor = int(math.ceil(space_factor * previous_size))
    if by_factor >= min_free:
        return by_factor, "space_factor %g x the previous backup of %s" % (space_factor, figure(previous_size)), "space_factor"
    return min_free, "min_free %s, more than space_factor %g x the previous backup of %s" % (
        figure(min_free), space_factor, figure(previous_size)), "min_free"


def room(folder, previous, space_factor, min_free, statvfs=os.statvfs):
    """Is there room in ``folder`` for the next backup? dict(free_bytes, required_bytes, line, problem).

    ``previous``: the previous backup (as ``previous_backup`` returns it) or None. ``line`` says what passed;
    ``problem`` is None when there is room, else what is missing and what to do.
    """
    free = free_bytes(folder, statvfs)
    needed, why, option = required(space_factor, previous["size"] if previous else None, min_free)
    found = dict(free_bytes=free, required_bytes=needed, problem=None,
                 line="%s free, %s needed (%s)" % (figure(free), figure(needed), why))
    if free < needed:
        if previous:
            source = "previous backup %s of %s" % (previous["path"], previous["backup_time"])
        else:
            source = "no previous verified backup of the target"
        found["problem"] = ("Not enough free space for the next backup in %s: %s free, %s needed (%s; %s), %s short. "
                            "Free some space there (or move the backups to a larger disk), or lower %s if the backups "
                            "of this target no longer need that much." % (
                                folder, figure(free), figure(needed), why, source, figure(needed - free), option))
    return found
