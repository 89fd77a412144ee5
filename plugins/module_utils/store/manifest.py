# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one manifest model: how a backup's ``.json`` manifest and ``.sha256`` file are read, written and judged.

Every backup ``<name>.zip`` has beside it ``<name>.zip.sha256`` (``sha256sum`` format) and ``<name>.json``, a JSON
object of format :data:`FORMAT`. The manifest is written last and says what the backup *is*:

* what was taken, from the service's answer or the archive, never from the request alone
  (``include_attachments`` with ``include_attachments_from``: ``archive``, ``request`` or null);
* the check made at download (``verified``: ``zip-structure`` or ``zip-crc``);
* the deepest level a later verification passed (``verified_level``, ``verified_at``);
* after a failed verification, ``verified: false`` and ``verification_failure`` (``level``, ``reason``, ``at``,
  and the ``verified`` value it replaced). Only a later verification at the same level or deeper clears it.

A backup whose last verification failed is not good: retention never counts it (it neither fills a slot nor is
deleted), ``max_age`` never reuses it, a restore refuses it, and its metrics say ``verification_ok 0``.

One time format (``%Y-%m-%dT%H:%M:%SZ``, UTC) with one parser and one formatter, and one ``.sha256`` reader, live
here too. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import tempfile
from datetime import datetime, timezone

FORMAT = 1
UTC = timezone.utc
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LEVELS = ("checksum", "archive", "inventory")
_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


# A value in the changes given to :func:`update` or :func:`apply` that removes the key.
DELETE = object()


class ManifestError(ValueError):
    """A manifest or ``.sha256`` file that exists but cannot be used; the message names the file and the problem."""


# ------------------------------------------------------------------------------------------------------------ times
def format_time(when):
    """An aware (or naive UTC) datetime as the manifests write times; None stays None."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(TIME_FORMAT)


def format_epoch(seconds):
    """Unix seconds as the manifests write times; None stays None."""
    return None if seconds is None else format_time(datetime.fromtimestamp(seconds, UTC))


def parse_time(text):
    """A time as :func:`format_time` writes it, as an aware UTC datetime, or None (anything else).

    Faster than ``strptime``, which is most of the cost of reading 10,000 manifests.
    """
    match = _TIME.match(text) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return datetime(*[int(part) for part in match.groups()], tzinfo=UTC)
    except ValueError:
        return None


def backup_time(data):
    """When the backup was made (``backup_time``), else when it was downloaded, else None."""
    return parse_time(data.get("backup_time")) or parse_time(data.get("downloaded_at"))


# ------------------------------------------------------------------------------------------------------------ paths
def path_beside(zip_path):
    """The manifest of ``<name>.zip``: ``<name>.json``."""
    return (zip_path[:-4] if zip_path.lower().endswith(".zip") else zip_path) + ".json"


def sha256_path(zip_path):
    return zip_path + ".sha256"


# ------------------------------------------------------------------------------------------------------- .sha256 file
def read_sha256(path):
    """The digest a ``sha256sum``-format file records (its first word, lower case); None when there is no file.

    Raises :class:`ManifestError` when the file is there but unreadable or holds no sha256.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(4096)
    except (OSError, IOError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise ManifestError("%s cannot be read (%s)" % (path, exc.strerror or exc))
    return parse_sha256(raw, path)


def parse_sha256(raw, where):
    """The digest the ``sha256sum``-format bytes ``raw`` record (read from ``where``, named in the error)."""
    words = raw.split()
    digest = words[0].decode("ascii", "replace").lower() if words else ""
    if not _DIGEST.match(digest):
        raise ManifestError("%s is not in sha256sum format (<64 hex digits>  <file name>)" % where)
    return digest


def sha256_text(digest, zip_path):
    return "%s  %s\n" % (digest, os.path.basename(zip_path))


# ---------------------------------------------------------------------------------------------------------- manifest
def read(path):
    """The manifest at ``path`` (a dict of format :data:`FORMAT`), or None when there is no file.

    Raises :class:`ManifestError` when the file is there but is not such a manifest.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, IOError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise ManifestError("%s cannot be read as a manifest (%s)" % (path, exc.strerror or exc))
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ManifestError("%s is not JSON (%s)" % (path, exc))
    if not isinstance(data, dict):
        raise ManifestError("%s is not a manifest (not a JSON object)" % path)
    if data.get("format") != FORMAT:
        raise ManifestError("%s is a manifest of format %r; this collection reads format %d" % (
            path, data.get("format"), FORMAT))
    return data


def load(path):
    """:func:`read` for a scan of many manifests: None for anything that is not a usable manifest."""
    try:
        return read(path)
    except ManifestError:
        return None


def dumps(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write(path, data):
    """Write the manifest ``data`` (format set) at once, mode 0600; a reader sees the old file or the new one."""
    record = dict((key, value) for key, value in data.items() if not key.startswith("_"))
    record["format"] = FORMAT
    write_atomic(path, dumps(record))
    return record


def update(path, changes):
    """Apply ``changes`` (a dict; a value of :data:`DELETE` removes the key) to the manifest at ``path``; write it.

    Returns the new manifest. Raises :class:`ManifestError` when there is no usable manifest, OSError when it cannot
    be written.
    """
    data = read(path)
    if data is None:
        raise ManifestError("%s does not exist" % path)
    data = apply(data, changes)
    return write(path, data)


def apply(data, changes):
    """``data`` with ``changes`` applied (a value of :data:`DELETE` removes the key); ``data`` is not changed."""
    new = dict(data)
    for key, value in changes.items():
        if value is DELETE:
            new.pop(key, None)
        else:
            new[key] = value
    return new


def write_atomic(path, text, mode=0o600, sync_folder=True):
    """Replace ``path`` with ``text`` at once, with ``mode``: a reader sees the old file or the new one, never a part.

    ``text``: a string, or an iterable of strings written one after the other (a large file streamed, never held
    whole). The text goes to a hidden temporary file in the same folder (``.<name>.<random>.tmp``, which no reader
    of ``*.json``, ``*.sha256`` or ``*.prom`` picks up), is flushed to disk and renamed over ``path``; then the
    folder is synced (unless ``sync_folder`` is false: many files of one folder whose caller syncs, or journals,
    them), so that the rename survives a crash. A failure removes the temporary file.
    """
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in ((text,) if isinstance(text, str) else text):
                handle.write(chunk.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    if not sync_folder:
        return
    try:
        folder_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder_fd)
    except OSError:
        pass
    finally:
        os.close(folder_fd)


# ---------------------------------------------------------------------------------------------------- what it says
def is_good(data):
    """False when the backup's last verification failed (``verified: false``); True otherwise."""
    return data.get("verified") is not False


def failure(data):
    """Why the last verification failed (``"<level>: <reason>"``), or None when it did not."""
    if is_good(data):
        return None
    record = data.get("verification_failure")
    if isinstance(record, dict) and record.get("reason"):
        return "%s: %s" % (record.get("level") or "verification", record["reason"])
    return "the manifest records a failed verification"


def level_rank(level):
    return LEVELS.index(level) if level in LEVELS else -1


def verified_changes(data, level, when):
    """The changes that record a passed verification at ``level`` (an empty dict when there is nothing new).

    A failure recorded at ``level`` or shallower is cleared; one recorded deeper stays (this check did not reach it).
    """
    changes = {}
    if level_rank(level) > level_rank(data.get("verified_level")):
        changes["verified_level"] = level
    record = data.get("verification_failure")
    if data.get("verified") is False and isinstance(record, dict) and level_rank(level) >= level_rank(record.get("level")):
        changes["verified"] = record.get("replaced") or "zip-structure"
        changes["verification_failure"] = DELETE
    if changes:
        changes["verified_at"] = format_time(when)
    return changes


def failed_changes(data, level, reason, when):
    """The changes that record a failed verification at ``level`` with ``reason`` (empty when already recorded)."""
    record = data.get("verification_failure")
    if data.get("verified") is False and isinstance(record, dict) and record.get("level") == level \
            and record.get("reason") == reason:
        return {}
    replaced = data.get("verified")
    if replaced is False and isinstance(record, dict):
        replaced = record.get("replaced")
    failure_record = dict(level=level, reason=reason, at=format_time(when))
    if replaced not in (None, False):
        failure_record["replaced"] = replaced
    return {"verified": False, "verification_failure": failure_record}


def include_attachments_taken(requested, triggered, archive_says):
    """(``include_attachments``, ``include_attachments_from``) as the backup was taken.

    The archive's own word (``backupAttachments`` in ``exportDescriptor.properties``) wins; else the request, when
    this run's request started the backup; else unknown (None, None).
    """
    if archive_says is not None:
        return archive_says, "archive"
    if triggered and requested is not None:
        return bool(requested), "request"
    return None, None
