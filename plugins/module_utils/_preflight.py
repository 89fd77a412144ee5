# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before a backup: is the folder there and writable, and is there room for the next backup of this target?

No Ansible imports. The next backup's size is guessed from the newest verified backup of the same series (as
``backup_prune`` reads the manifests); the room needed is a factor of it, or a floor.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils._catalog import scan, wanted

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(value):
    """Bytes from an int or a text such as ``500M``, ``10G`` or ``1.5TiB`` (binary units); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a text such as 10G, not a boolean")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a size must not be negative")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError("%r is not a size; write it as bytes or like 500M, 10G or 1T" % (value,))
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def human(size):
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return "%.1f %s" % (float(size) / factor, unit)
    return "%d bytes" % size


def nearest_existing(path):
    """The path itself when it exists, else its nearest existing parent."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def previous_backup(folder, product, label, selection):
    """(zip path, size, backup time) of the newest verified backup of the series, or None."""
    if not os.path.isdir(folder):
        return None
    backups, _unaccounted = scan(folder, product, label)
    verified = [b for b in backups if b.problem is None and b.time is not None and wanted(b.series, selection)]
    if not verified:
        return None
    newest = max(verified, key=lambda b: (b.time, b.zip_path))
    return newest.zip_path, os.stat(newest.zip_path).st_size, newest.backup_time


def probe_write(folder):
    """Write, flush and delete a small file in ``folder``; None when that worked, else why not."""
    try:
        handle, name = tempfile.mkstemp(prefix=".preflight-", dir=folder)
    except OSError as exc:
        return "cannot create a file there (%s)" % (exc.strerror or exc)
    try:
        try:
            os.write(handle, b"atlassian_ops.backup pre-flight\n")
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        return "cannot write a file there (%s)" % (exc.strerror or exc)
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
    return None


def free_bytes(folder, statvfs=os.statvfs):
    info = statvfs(folder)
    return info.f_bavail * info.f_frsize
