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

import os
import re
import zipfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    VerificationError,
    file_sha256,
    part_paths,
)

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
UTC = mf.UTC
DESCRIPTOR = "exportDescriptor.properties"

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


def backup_basename(product, url, when, kind=None):
    """``<product>-<site label>[-<kind>]-<UTC timestamp>``; ``kind`` names a part of the site (``space-DOC``)."""
    label = site_label(url)
    if kind:
        label += "-" + re.sub(r"[^A-Za-z0-9._-]", "-", kind)
    return "%s-%s-%s" % (product, label, when.astimezone(UTC).strftime(TIMESTAMP_FORMAT))


def write_sidecars(zip_path, manifest):
    """Write ``.sha256`` then the manifest (last: it marks the backup complete)."""
    sha_path = mf.sha256_path(zip_path)
    manifest_path = mf.path_beside(zip_path)
    mf.write_atomic(sha_path, mf.sha256_text(manifest["sha256"], zip_path))
    mf.write(manifest_path, manifest)
    return sha_path, manifest_path


def read_manifests(dest, product, label):
    """Manifests of this product and site in ``dest``, newest backup first (``_manifest_path`` added to each)."""
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
        data = mf.load(path)
        if data is None:
            continue
        data["_manifest_path"] = path
        found.append(data)
    found.sort(key=lambda m: (m.get("backup_time") or m.get("downloaded_at") or ""), reverse=True)
    return found


def verify_existing(dest, manifest):
    """True when the manifest's backup is good (no failed verification recorded) and its zip is there with the
    recorded size and sha256, or, kept only as its encrypted copy (``<zip>.age``, the zip removed), that copy has
    the size and sha256 the manifest's ``encryption`` section records."""
    name = manifest.get("file") or ""
    if not name or os.path.basename(name) != name or not mf.is_good(manifest):
        return False
    path = os.path.join(dest, name)
    size, digest = manifest.get("size"), manifest.get("sha256")
    section = manifest.get("encryption") if isinstance(manifest.get("encryption"), dict) else {}
    if not os.path.lexists(path) and section.get("object") == name + ".age":
        path, size, digest = path + ".age", section.get("size"), section.get("sha256")
    try:
        if os.path.getsize(path) != size:
            return False
    except OSError:
        return False
    return file_sha256(path) == digest


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


def read_descriptor(path):
    """The properties of the archive's ``exportDescriptor.properties`` (a dict of text), or {} when it has none.

    Confluence writes it at the archive's root in site and space backups, Cloud and Data Center alike
    (``exportType``, ``backupAttachments``, ...): the archive's own word on what was taken.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(DESCRIPTOR)
            except KeyError:
                return {}
            if info.file_size > 65536:
                return {}
            text = archive.read(info).decode("latin-1")
    except (zipfile.BadZipfile, OSError, IOError, EOFError, RuntimeError, ValueError):
        return {}
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        found[key.strip()] = value.strip()
    return found


def attachments_in(descriptor):
    """True or False as ``backupAttachments`` says, or None when the descriptor does not say."""
    value = descriptor.get("backupAttachments", "").lower()
    return {"true": True, "false": False}.get(value)


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
        """Manifests of this source, newest backup first; never those of a content export (``kind``, the zips
        confluence_export writes), which are no backup these modules take or reuse."""
        if not self.dest or not os.path.isdir(self.dest):
            return []
        return [m for m in read_manifests(self.dest, self.product, self.label)
                if m.get("kind") is None and self.accepts(m)]

    def fresh(self, max_age, now):
        """The newest good backup younger than ``max_age`` seconds whose file still matches its manifest, or None.

        A backup whose last verification failed never counts, however young (see ``manifest.is_good``).
        """
        if max_age is None:
            return None
        for manifest in self.manifests():
            when = mf.backup_time(manifest)
            if when is None or (now - when).total_seconds() > max_age:
                continue
            if not mf.is_good(manifest):
                self.log("backup %s failed its last verification (%s); not counted" % (
                    manifest.get("file"), mf.failure(manifest)))
                continue
            if verify_existing(self.dest, manifest):
                return manifest
            self.log("backup %s failed verification; not counted" % manifest.get("file"))
        return None

    def holding(self, backup_id):
        """The good local copy of the server's backup ``backup_id``, or None.

        The id names one backup of the server, so the copy counts whatever selection the manifest records
        (``accepts`` is not asked): a run that joins a job picks up its earlier download.
        """
        if not self.dest or not os.path.isdir(self.dest):
            return None
        for manifest in read_manifests(self.dest, self.product, self.label):
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
            entries["descriptor"] = read_descriptor(part)

        try:
            info = downloader.download(source, final, identity=identity, resume=True, verify=verify, first=first)
        except Exception as exc:
            if not keep_partial:
                for leftover in part_paths(final):
                    if os.path.exists(leftover):
                        os.unlink(leftover)
                if getattr(exc, "resumable", False):
                    exc.drop_partial()
            raise
        record = dict(manifest)
        taken = attachments_in(entries.get("descriptor") or {})
        if "include_attachments" in record:
            record["include_attachments"], record["include_attachments_from"] = mf.include_attachments_taken(
                record["include_attachments"], record.get("triggered_by_this_run"), taken)
        record.update({
            "file": os.path.basename(final),
            "size": info["size"],
            "sha256": info["sha256"],
            "zip_entries": entries.get("count"),
            "verified": "zip-crc" if full else "zip-structure",
            "downloaded_at": mf.format_time((now or _utc_now)()),
            "download_seconds": info["seconds"],
        })
        sha_path, manifest_path = write_sidecars(final, record)
        taken = dict(include_attachments=record["include_attachments"]) if "include_attachments" in record else {}
        return dict(taken, path=final, size=info["size"], sha256=info["sha256"], download_seconds=info["seconds"],
                    bytes_per_second=info["bytes_per_second"], manifest_path=manifest_path, checksum_path=sha_path,
                    download_attempts=info["attempts"], resumed_from=info["resumed_from"],
                    transfer_seconds=info["transfer_seconds"], download_connections=info["connections"],
                    download_mode=info["mode"], link_refreshes=info["link_refreshes"])


def _utc_now():
    return datetime.now(UTC)
