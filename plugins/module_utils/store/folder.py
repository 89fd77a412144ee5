# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local backup folder: names, sidecar files, manifests and verification.

Each backup ``<product>-<site host>-<UTC timestamp>.zip`` has beside it a
``.sha256`` file in ``sha256sum`` format and a ``.json`` manifest. The manifest
is written last: a backup without one is not counted as complete. No Ansible
imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile
import zipfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    VerificationError,
    file_sha256,
    part_paths,
)

MANIFEST_FORMAT = 1
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"

try:
    from datetime import timezone
    UTC = timezone.utc
except ImportError:  # pragma: no cover
    UTC = None
try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore


def site_label(url):
    """``https://acme.atlassian.net`` -> ``acme.atlassian.net``; a port becomes ``_<port>``."""
    parts = urlsplit(url)
    label = (parts.hostname or "site").lower()
    if parts.port and parts.port not in (80, 443):
        label += "_%d" % parts.port
    return re.sub(r"[^a-z0-9._-]", "-", label)


def utc_from_ms(ms):
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000.0, UTC)


def iso(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def parse_iso(text):
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def backup_basename(product, url, when, kind=None):
    """``<product>-<site label>[-<kind>]-<UTC timestamp>``; ``kind`` names a part of the site (``space-DOC``)."""
    label = site_label(url)
    if kind:
        label += "-" + re.sub(r"[^A-Za-z0-9._-]", "-", kind)
    return "%s-%s-%s" % (product, label, when.astimezone(UTC).strftime(TIMESTAMP_FORMAT))


def write_atomic(path, text, mode=0o600):
    """Replace ``path`` with ``text`` at once, with ``mode``: a reader sees the old file or the new one, never a part.

    The text goes to a hidden temporary file in the same folder (``.<name>.<random>.tmp``, which no reader of
    ``*.json``, ``*.sha256`` or ``*.prom`` picks up), is flushed to disk and renamed over ``path``; then the folder
    is synced, so that the rename survives a crash. A failure removes the temporary file.
    """
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
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


def write_sidecars(zip_path, manifest):
    """Write ``.sha256`` then the manifest (last: it marks the backup complete)."""
    base = zip_path[:-4] if zip_path.endswith(".zip") else zip_path
    sha_path = zip_path + ".sha256"
    manifest_path = base + ".json"
    write_atomic(sha_path, "%s  %s\n" % (manifest["sha256"], os.path.basename(zip_path)))
    write_atomic(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return sha_path, manifest_path


def read_manifests(dest, product, label):
    """Manifests of this product and site in ``dest``, newest backup first."""
    found = []
    prefix = "%s-%s-" % (product, label)
    try:
        names = os.listdir(dest)
    except OSError:
        return found
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".json")):
            continue
        path = os.path.join(dest, name)
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, IOError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            continue
        data["_manifest_path"] = path
        found.append(data)
    found.sort(key=lambda m: (m.get("backup_time") or m.get("downloaded_at") or ""), reverse=True)
    return found


def verify_existing(dest, manifest):
    """True when the zip named by ``manifest`` is there with the recorded size and sha256."""
    name = manifest.get("file") or ""
    if not name or os.path.basename(name) != name:
        return False
    path = os.path.join(dest, name)
    try:
        if os.path.getsize(path) != manifest.get("size"):
            return False
    except OSError:
        return False
    return file_sha256(path) == manifest.get("sha256")


def check_member_names(names):
    for name in names:
        norm = name.replace("\\", "/")
        if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/"):
            raise VerificationError("The backup contains a member whose path leaves its folder: %r. "
                                    "It was not kept." % name[:200])


def verify_zip(path, full=False):
    """Check that ``path`` is a readable zip; with ``full``, check every member's CRC.

    Returns the number of members. Raises :class:`VerificationError`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not infos:
                raise VerificationError("The downloaded backup is an empty zip archive.")
            check_member_names([i.filename for i in infos])
            size = os.path.getsize(path)
            for info in infos:
                if info.header_offset < 0 or info.header_offset >= size:
                    raise VerificationError("The downloaded backup's zip directory points outside the file "
                                            "(member %r)." % info.filename[:200])
            if full:
                bad = archive.testzip()
                if bad is not None:
                    raise VerificationError("The downloaded backup has a corrupt member %r (CRC mismatch)." % bad)
            return len(infos)
    except zipfile.BadZipfile as exc:
        raise VerificationError("The downloaded file is not a valid zip archive (%s); it was not kept." % exc)
    except (OSError, IOError, EOFError) as exc:
        raise VerificationError("The downloaded backup could not be read as a zip archive (%s)." % exc)


class BackupFolder(object):
    """The backups of one source (product and site) in ``dest``: find a verified one, or save a new one.

    ``accepts(manifest)`` narrows the manifests to one kind of backup (a deployment, a scope, a set of spaces).
    """

    def __init__(self, dest, product, label, accepts=None, log=None):
        self.dest = dest
        self.product = product
        self.label = label
        self.accepts = accepts or (lambda manifest: True)
        self.log = log or (lambda msg: None)

    def manifests(self):
        """Manifests of this source, newest backup first."""
        if not self.dest or not os.path.isdir(self.dest):
            return []
        return [m for m in read_manifests(self.dest, self.product, self.label) if self.accepts(m)]

    def fresh(self, max_age, now):
        """The newest backup younger than ``max_age`` seconds whose file still matches its manifest, or None."""
        if max_age is None:
            return None
        for manifest in self.manifests():
            when = parse_iso(manifest.get("backup_time")) or parse_iso(manifest.get("downloaded_at"))
            if when is None or (now - when).total_seconds() > max_age:
                continue
            if verify_existing(self.dest, manifest):
                return manifest
            self.log("backup %s failed verification; not counted" % manifest.get("file"))
        return None

    def holding(self, backup_id):
        """The verified local copy of the server's backup ``backup_id``, or None."""
        for manifest in self.manifests():
            if manifest.get("backup_id") == backup_id and verify_existing(self.dest, manifest):
                return manifest
        return None

    def describe(self, manifest):
        """Result fields of a backup already in the folder."""
        zip_path = os.path.join(self.dest, manifest["file"])
        return dict(path=zip_path, size=manifest["size"], sha256=manifest["sha256"],
                    file_name=manifest.get("server_file_name"), backup_id=manifest.get("backup_id"),
                    backup_time=manifest.get("backup_time"), manifest_path=manifest["_manifest_path"],
                    checksum_path=zip_path + ".sha256")

    def free_path(self, base):
        final = os.path.join(self.dest, base + ".zip")
        counter = 1
        while os.path.exists(final) or os.path.exists(final[:-4] + ".json"):
            final = os.path.join(self.dest, "%s-%d.zip" % (base, counter))
            counter += 1
        return final

    def save(self, downloader, source, base, identity, manifest, full=False, now=None, first=None, keep_partial=True):
        """Download ``source`` as ``<base>.zip``, verified (size, sha256, zip), then write its sidecars.

        ``manifest`` holds what the caller knows of the backup; the file's facts are added. ``first`` is an answer
        already open that carries the file (see ``Downloader.download``). ``keep_partial=False``: a failed download
        leaves no partial file (for a file no later run can ask for again). Returns the result fields of the download.
        """
        final = self.free_path(base)
        entries = {}

        def verify(part):
            entries["count"] = verify_zip(part, full=full)

        try:
            info = downloader.download(source, final, identity=identity, resume=True, verify=verify, first=first)
        except Exception as exc:
            if not keep_partial:
                for leftover in part_paths(final):
                    if os.path.exists(leftover):
                        os.unlink(leftover)
                if hasattr(exc, "resumable"):
                    exc.resumable = False
            raise
        record = dict(manifest)
        record.update({
            "format": MANIFEST_FORMAT,
            "file": os.path.basename(final),
            "size": info["size"],
            "sha256": info["sha256"],
            "zip_entries": entries.get("count"),
            "verified": "zip-crc" if full else "zip-structure",
            "downloaded_at": iso((now or _utc_now)()),
            "download_seconds": info["seconds"],
        })
        sha_path, manifest_path = write_sidecars(final, record)
        return dict(path=final, size=info["size"], sha256=info["sha256"], download_seconds=info["seconds"],
                    bytes_per_second=info["bytes_per_second"], manifest_path=manifest_path, checksum_path=sha_path,
                    download_attempts=info["attempts"], resumed_from=info["resumed_from"],
                    transfer_seconds=info["transfer_seconds"], download_connections=info["connections"],
                    download_mode=info["mode"], link_refreshes=info["link_refreshes"])


def _utc_now():
    return datetime.now(UTC)
