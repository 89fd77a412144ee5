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
import zipfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils._transfer.common import (
    VerificationError,
    file_sha256,
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


def backup_basename(product, url, when):
    return "%s-%s-%s" % (product, site_label(url), when.astimezone(UTC).strftime(TIMESTAMP_FORMAT))


def write_atomic(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except Exception:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.replace(tmp, path)


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
