# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A complete content export as one zip beside its folder, with the collection's manifest and ``.sha256`` file, so
that backup_verify, backup_prune, backup_offsite and backup_metrics work on it as on any other backup.

No Ansible imports. The zip of ``confluence-export-<label>-<stamp>/`` is ``confluence-<label>-content-export-<stamp>.zip``
(the product and site first, as every backup's name, then the kind, as a Data Center space backup's ``space-DOC``).
Its members are the export's files as ``export.json`` lists them, and ``export.json`` itself, at the top, stored
(not compressed: attachments are mostly compressed already, and a stored member is read back at disk speed), each
copied through a 1 MiB buffer, never read whole; Zip64 where needed. The zip is written as ``.part`` and renamed once
its directory is written; then its ``.sha256`` and its manifest (``kind: content-export``, which keeps it in a
retention series of its own, apart from site backups of the same site).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import zipfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import write_sidecars
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    PART_SUFFIX,
    file_sha256,
    open_new_part,
)

KIND = "content-export"
PRODUCT = "confluence"
BUFFER = 1024 * 1024
_STAMP = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)$")
# How zip_name() ends, whatever the label: what tells a content export by its file name alone.
_ZIP_END = re.compile(r"-%s-\d{8}T\d{6}Z\.zip$" % KIND)


def zip_name(folder_name, label):
    """``confluence-<label>-content-export-<stamp>.zip`` for the export folder ``confluence-export-<label>-<stamp>``."""
    stamp = folder_name.rsplit("-", 1)[-1]
    return "%s-%s-%s-%s.zip" % (PRODUCT, label, KIND, stamp)


def is_zip_name(file_name):
    """Whether ``file_name`` is named as :func:`zip_name` names an export's zip (``...-content-export-<stamp>.zip``)."""
    return bool(file_name) and bool(_ZIP_END.search(file_name))


def is_content_export(data):
    """Whether the manifest ``data`` describes a content export (its zip or its folder), not a site backup."""
    return isinstance(data, dict) and data.get("kind") == KIND


def _keys_only(pairs):
    """A JSON object read by :func:`outline`: the top level (the one with ``format``) whole, any other object as the
    list of its keys."""
    keys = [key for key, dummy in pairs]
    return dict(pairs) if "format" in keys else keys


def outline(path):
    """``export.json`` at ``path`` with every object under the top level as the list of its keys (``files``: the
    paths; ``items``: the ids): its scalars and lists as written, without holding each item's and file's entry (the
    manifest of 10,000 pages takes about 20 MB read whole). None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"), object_pairs_hook=_keys_only)
    except (OSError, IOError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def members(manifest):
    """The zip's members in order: every file ``export.json`` lists (sorted), then ``export.json``. ``manifest``:
    export.json whole, or its :func:`outline`."""
    files = manifest.get("files") or {}
    return sorted(rel for rel in files if rel != layout.MANIFEST) + [layout.MANIFEST]


def write_zip(folder, target):
    """Write the export ``folder`` into the zip ``target`` (through ``<target>.part``); returns the member count.

    Raises OSError/IOError (a file missing, the disk full); the ``.part`` is removed then.
    """
    manifest = outline(os.path.join(folder, layout.MANIFEST))
    if manifest is None:
        raise IOError("%s has no readable %s: the export is not complete" % (folder, layout.MANIFEST))
    names = members(manifest)
    part = target + PART_SUFFIX
    try:
        with open_new_part(part) as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                for rel in names:
                    source = os.path.join(folder, rel)
                    info = zipfile.ZipInfo.from_file(source, rel, strict_timestamps=False)
                    info.compress_type = zipfile.ZIP_STORED
                    with open(source, "rb") as reader, archive.open(info, "w", force_zip64=True) as writer:
                        shutil.copyfileobj(reader, writer, BUFFER)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except BaseException:
        if os.path.lexists(part):
            os.unlink(part)
        raise
    return len(names)


def archive_export(folder, label, params, seconds=None, counts=None):
    """Zip the complete export ``folder`` beside it and write the zip's ``.sha256`` and manifest.

    ``params``: the module's options (``include_attachments``); ``counts``: the export's (the run's result).
    Returns ``{"path", "manifest_path", "checksum_path", "size", "sha256", "members"}``.
    """
    data = outline(os.path.join(folder, layout.MANIFEST)) or {}
    target = os.path.join(os.path.dirname(folder), zip_name(os.path.basename(folder), label))
    count = write_zip(folder, target)
    size, digest = os.path.getsize(target), file_sha256(target)
    selection = data.get("selection")
    record = {
        "product": PRODUCT, "kind": KIND, "deployment": "cloud", "site_label": label,
        "space_keys": selection if isinstance(selection, list) else None,
        "include_attachments": bool(params.get("include_attachments", True)),
        "include_attachments_from": "request",
        "backup_id": "%s/%s" % (KIND, os.path.basename(folder)),
        "backup_time": data.get("exported_at"),
        "export_folder": os.path.basename(folder),
        "export_counts": counts,
        "export_seconds": seconds,
        "file": os.path.basename(target), "size": size, "sha256": digest, "zip_entries": count,
        "verified": "zip-structure", "downloaded_at": data.get("exported_at"),
    }
    sha_path, manifest_path = write_sidecars(target, record)
    return dict(path=target, manifest_path=manifest_path, checksum_path=sha_path, size=size, sha256=digest,
                members=count)


def _stamp_of(name, label):
    start = layout.PREFIX + label + "-"
    if not name.startswith(start):
        return None
    match = _STAMP.match(name[len(start):])
    return match.group("stamp") if match else None


def remove_older(dest, label, selection, newest):
    """Remove the complete export folders of ``label`` and ``selection`` in ``dest`` older than ``newest`` (a
    folder name), but the newest of them whose ``export.json`` records no failed verification: the folder the next
    run starts from if ``newest`` fails its verification. Returns the folders removed (their paths)."""
    older = []
    for name in sorted(os.listdir(dest)):
        path = os.path.join(dest, name)
        if name >= newest or _stamp_of(name, label) is None or not os.path.isdir(path):
            continue
        data = outline(os.path.join(path, layout.MANIFEST))
        if data is None or data.get("selection") != selection or data.get("format") != layout.FORMAT:
            continue  # unfinished, or another selection: not ours to remove
        older.append((path, data))
    good = [path for path, data in older if mf.is_good(data)]
    keep = good[-1] if good else None
    removed = []
    for path, dummy in older:
        if path != keep:
            shutil.rmtree(path)
            removed.append(path)
    return removed
