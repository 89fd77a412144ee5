# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backups of a folder as their manifests describe them: series, backup times, and the cheap check.

No Ansible imports. ``backup_prune`` decides on these, ``backup_preflight`` sizes the next backup from them and
``backup_metrics`` reports the newest one. ``objects`` describes a copy of the folder elsewhere (an S3 prefix):
the manifests are read from the folder and the backups' files are taken as present when their names are listed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto.age import SUFFIX as ENCRYPTED
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import site_label
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import PART_SUFFIX

_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$")
_PRODUCT = re.compile(r"^[a-z0-9_]+$")


def check_product(product):
    """None when ``product`` can start the backups' file names; else what is wrong and what to do."""
    if _PRODUCT.match(product):
        return None
    return ("product must be a word of lower-case letters, digits or _ such as confluence or snapshots (the first "
            "part of the backups' file names); got %r." % product)


def target_label(site):
    """The site label of the option ``site`` (a label, or a URL), or None when not given; ValueError when unusable."""
    if site and "://" in site:
        return site_label(site)
    site = site.lower() if site else site
    if site is not None and (not site or "/" in site or site in (".", "..")):
        raise ValueError("site must be a site label such as example.atlassian.net or a URL (got %r)." % site)
    return site


class Backup(object):
    """One manifest and the files it accounts for."""

    __slots__ = ("manifest_path", "zip_path", "sha_path", "time", "problem", "series", "present", "size", "encrypted")

    def __init__(self, folder, name, data, present=None):
        self.present = present
        self.manifest_path = os.path.join(folder, name)
        base = name[:-len(".json")]
        self.zip_path = os.path.join(folder, base + ".zip")
        self.sha_path = self.zip_path + ".sha256"
        self.time = mf.backup_time(data)
        self.problem = None
        self.series = series_of(data)
        size = data.get("size")
        self.size = size if isinstance(size, int) and not isinstance(size, bool) else None
        self.encrypted = encrypted_copy(self.zip_path, data)
        if data.get("file") != base + ".zip":
            self.problem = "the manifest names %r, not %s.zip" % (data.get("file"), base)
        elif not self.series[0]:
            self.problem = "the manifest names no site_label"
        elif self.time is None:
            self.problem = "the manifest records no backup time"
        elif not mf.is_good(data):
            self.problem = "its last verification failed (%s)" % mf.failure(data)
        elif present is not None:
            self.problem = check_names(self.zip_path, self.sha_path, present, self.encrypted)
        else:
            self.problem = check_files(self.zip_path, self.sha_path, data, self.encrypted)

    @property
    def backup_time(self):
        return mf.format_time(self.time)

    def files(self):
        """What deleting this backup removes, in order: zip, .sha256, the encrypted copy the manifest records beside
        them and its .sha256 (backup_encrypt; each if present), manifest (always, last).

        For a copy (``present``), the manifest read from the folder is the copy's own, listed or not.
        """
        paths = (self.zip_path, self.sha_path) + self.encrypted
        if self.present is not None:
            return [p for p in paths if os.path.basename(p) in self.present] + [self.manifest_path]
        return [p for p in paths if os.path.lexists(p)] + [self.manifest_path]


def encrypted_copy(zip_path, data):
    """The encrypted copy beside ``zip_path`` (``<name>.zip.age``, as backup_encrypt names it) and its .sha256 when
    the manifest's ``encryption`` section records it; () otherwise. Only that name counts: a damaged or edited
    manifest must never make another backup's file this backup's. A copy written to another folder
    (backup_encrypt's ``dest``) is not beside the zip, so nothing is deleted there."""
    record = data.get("encryption")
    path = zip_path + ENCRYPTED
    if not isinstance(record, dict) or record.get("object") != os.path.basename(path):
        return ()
    return (path, path + ".sha256")


def series_of(data):
    """(site label, scope, sorted space keys, attachments, kind) of a manifest: one retention series per target and
    kind.

    No scope (Confluence Cloud, Snapshots) counts as ``site``; a Snapshots export's ``spaces`` list counts as its
    space keys. Values of an unexpected type are turned into text, so that they form a series of their own.
    ``attachments`` is False for a backup known to have been taken without attachments (``include_attachments``
    false, as taken) and True otherwise (with them, unknown, or not a Confluence backup: manifests of earlier
    versions and other products stay in the series they were in): a backup without attachments never takes the
    retention slot of one with them, nor the other way round. ``kind`` is the manifest's ``kind`` (``content-export``
    for the zip of a confluence_export run), None for a backup: a content export and a site backup of the same site
    never share a series.
    """
    label = data.get("site_label")
    label = label if isinstance(label, str) else None
    scope = data.get("scope")
    scope = "site" if scope is None else str(scope)
    keys = data.get("space_keys")
    if keys is None and isinstance(data.get("spaces"), list):
        keys = data["spaces"]
    if keys is None:
        keys = []
    elif not isinstance(keys, (list, tuple)):
        keys = [keys]
    kind = data.get("kind")
    return (label, scope, tuple(sorted(set(str(key) for key in keys))), data.get("include_attachments") is not False,
            None if kind is None else str(kind))


def check_files(zip_path, sha_path, data, encrypted=()):
    """None when the zip has the manifest's size and the .sha256 file (if any) its sha256; else what is wrong.

    A backup kept only as its encrypted copy (the zip removed, ``<name>.zip.age`` recorded in the manifest's
    ``encryption`` section) is checked the same way on that copy: its size and its .sha256 file against the record.
    """
    size = data.get("size")
    if encrypted and not os.path.lexists(zip_path) and os.path.lexists(encrypted[0]):
        record = data.get("encryption") or {}
        zip_path, sha_path = encrypted
        size, data = record.get("size"), dict(sha256=record.get("sha256"))
        what = "encrypted copy"
    else:
        what = "zip file"
    if not isinstance(size, int) or isinstance(size, bool):
        return "the manifest records no size"
    try:
        actual = os.stat(zip_path).st_size
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return "the zip file is missing"
        return "the %s cannot be read (%s)" % (what, exc.strerror or exc)
    if actual != size:
        return "the %s has %d bytes, the manifest records %d" % (what, actual, size)
    try:
        recorded = mf.read_sha256(sha_path)
    except mf.ManifestError:
        return "the .sha256 file does not hold the manifest's sha256"
    if recorded is None:
        return None
    if recorded != str(data.get("sha256") or "").lower():
        return "the .sha256 file does not hold the manifest's sha256"
    return None


def check_names(zip_path, sha_path, present, encrypted=()):
    """For a copy elsewhere: None when the zip and its .sha256 file are both listed, or the encrypted copy the
    manifest records and its .sha256 (backup_offsite with encryption); else what is missing."""
    if encrypted and os.path.basename(zip_path) not in present:
        zip_path, sha_path = encrypted
    for path, what in ((zip_path, "zip"), (sha_path, ".sha256")):
        if os.path.basename(path) not in present:
            return "the copy holds no %s object" % what
    return None


def scan(folder, product, label, objects=None):
    """(backups, unaccounted) of ``product`` (and site ``label``, if given) in ``folder``.

    ``objects``: the file names of a copy of the folder elsewhere. The manifests still come from ``folder``; zips
    and ``.part`` files are looked for in ``objects``, and a backup's files count as present when listed there.
    """
    present = None if objects is None else frozenset(os.path.basename(name) for name in objects)
    manifests = os.listdir(folder)
    if present is not None:
        manifests = [n for n in present if not n.endswith(".json")] + [n for n in manifests if n.endswith(".json")]
    names = manifests
    prefix = product + "-"
    site_prefix = prefix + label + "-" if label else prefix
    backups, accounted, zips, parts, copies = [], set(), [], [], []
    for name in names:
        if not name.startswith(prefix):
            continue
        if name.endswith(".zip"):
            zips.append(name)
        elif name.endswith((".zip" + PART_SUFFIX, ".zip" + ENCRYPTED + PART_SUFFIX)):
            parts.append(name)
        elif name.endswith(".zip" + ENCRYPTED):
            copies.append(name)
        elif name.endswith(".json") and not name.endswith(".state.json"):
            data = mf.load(os.path.join(folder, name))
            if data is None or data.get("product", product) != product:
                continue
            zip_name = name[:-len(".json")] + ".zip"
            accounted.add(zip_name)
            if encrypted_copy(zip_name, data):
                accounted.add(zip_name + ENCRYPTED)
            if label and data.get("site_label") != label:
                continue
            backups.append(Backup(folder, name, data, present))
    unaccounted = [dict(path=os.path.join(folder, n), reason="no manifest")
                   for n in zips if n not in accounted and n.startswith(site_prefix)]
    unaccounted += [dict(path=os.path.join(folder, n), reason="encrypted copy its manifest does not record")
                    for n in copies if n not in accounted and n.startswith(site_prefix)]
    unaccounted += [dict(path=os.path.join(folder, n), reason="partial download (.part)")
                    for n in parts if n.startswith(site_prefix)]
    unaccounted.sort(key=lambda entry: entry["path"])
    return backups, unaccounted


# What a manifest is: ``backup`` (no ``kind``: a site or space backup, a Snapshots export, which the product's own
# restore reads) or a ``kind`` it records (``content-export``: confluence_export's zip, restored page by page with
# confluence_import, never by a site import).
BACKUP = "backup"
KINDS = (BACKUP, "content-export")


def kind_of(series):
    """The kind of a :func:`series_of` (a word of :data:`KINDS`, or the manifest's own ``kind``)."""
    return series[4] or BACKUP


def wanted(series, params):
    scope, keys = series[1], series[2]
    if params.get("kind") and kind_of(series) != params["kind"]:
        return False
    if params.get("scope") and scope != params["scope"]:
        return False
    if params.get("space_keys") is not None and keys != tuple(sorted(set(params["space_keys"]))):
        return False
    return True
