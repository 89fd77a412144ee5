# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_fetch workflow: one backup copied back from a store's folder (backup_offsite's layout) into a local
folder, checked against its manifest before it is renamed into place.

The backup is the one named, or the newest good one of the folder as the store's own manifests describe it (the
same catalog retention uses), of the kind asked for: by default a backup the product restores itself (a manifest
without ``kind``), never a content export (``kind: content-export``, confluence_export's zip, which no site import
reads) unless ``kind`` asks for one; a named backup of another kind is refused. Its object is the zip, or the
encrypted copy (``.zip.age``) its manifest records; the bytes are streamed into a ``.part`` file (mode 0600) and
hashed on the way, and only when their size and sha256 are the manifest's (the plaintext's, or the ciphertext's
from its ``encryption`` section) is the file renamed into place, then its ``.sha256`` file written, then the
manifest (last: it marks the backup complete, as everywhere in the collection). A file already there with the
expected size and sha256 is kept as it is. Nothing is decrypted here: ``confluence_restore`` and ``backup_decrypt``
take the ``.zip.age`` with a private key given at run time.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import tempfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto.age import SUFFIX as ENCRYPTED
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import StoreError, read_manifests
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import (
    BACKUP,
    kind_of,
    scan,
    target_label,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    PART_SUFFIX,
    _fsync_dir,
    _remove,
    file_sha256,
    open_new_part,
)


class OffsiteFetch(object):
    """One run of backup_fetch. ``store``: an opened :class:`base.Store`."""

    def __init__(self, params, store, warn, check_mode=False):
        self.p = params
        self.store = store
        self.warn = warn
        self.check_mode = check_mode
        self.dest = params["dest"]
        self.fetched = False
        self.kind = params.get("kind") or BACKUP
        self.result = dict(changed=False, path=None, manifest_path=None, encrypted=False, sha256=None, size=None,
                           url=None, backup_time=None, kind=None)

    def fail(self, msg):
        raise TaskFailed(msg, **self.result)

    def run(self):
        if not os.path.isdir(self.dest):
            self.fail("dest %s is not a folder; create it first (backup_fetch writes into an existing folder)." %
                      self.dest)
        try:
            listing = self.store.list()
            base = self.named(listing) if self.p.get("name") else self.newest(listing)
            data = self.manifest(base, listing)
            name, size, digest = self.object_of(base, data, listing)
            self.result.update(url=self.store.url(name), encrypted=name.endswith(ENCRYPTED), size=size, sha256=digest,
                               path=os.path.join(self.dest, name), backup_time=data.get("backup_time"),
                               manifest_path=os.path.join(self.dest, base + ".json"), kind=self.kind)
            if self.present(size, digest):
                self.result["msg"] = "%s is already in %s with the size and sha256 its manifest records." % (
                    name, self.dest)
            elif self.check_mode:
                self.result.update(changed=True, msg="Check mode: would fetch %s (%s bytes) into %s." % (
                    self.result["url"], size, self.dest))
                return self.result
            else:
                self.download(name, size, digest)
                self.fetched = True
                self.result.update(changed=True, msg="Fetched %s (%d bytes, sha256 checked against its manifest) "
                                                     "into %s." % (self.result["url"], size, self.result["path"]))
        except StoreError as exc:
            self.fail(exc.msg)
        if self.kind != BACKUP:
            self.result["msg"] += (" It is a content export: unpack it into a folder and give that folder to "
                                   "confluence_import as src.")
        self.sidecars(data)
        return self.result

    # ------------------------------------------------------------------------------------------------ which one
    def named(self, listing):
        name = os.path.basename(self.p["name"])
        for suffix in (ENCRYPTED, ".zip", ".json"):
            if name.endswith(suffix):
                name = name[:-len(suffix)]
        if name + ".json" not in listing:
            self.fail("%s holds no manifest %s.json: no backup of that name was copied there (or its copy did not "
                      "finish). Leave out name to fetch the newest good backup." % (self.store.url(), name))
        return name

    def newest(self, listing):
        """The base name of the newest good backup of the folder, decided from the store's manifests."""
        scratch = tempfile.mkdtemp(prefix="backup-fetch-")
        try:
            read_manifests(self.store, listing, scratch)
            try:
                label = target_label(self.p.get("site"))
            except ValueError as exc:
                self.fail(str(exc))
            backups, dummy = scan(scratch, self.p.get("product") or "confluence", label, objects=sorted(listing))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        product, of_site = self.p.get("product") or "confluence", " for %s" % label if label else ""
        good = [b for b in backups if b.problem is None and b.time is not None]
        others = [b for b in good if kind_of(b.series) != self.kind]
        good = [b for b in good if kind_of(b.series) == self.kind]
        if not good and others and self.kind == BACKUP:
            self.fail("%s holds %d good content export(s) of %s%s but no good backup: a content export is not a "
                      "backup that confluence_restore or the organization restore can read. Set kind: content-export "
                      "to fetch one (it restores page by page with confluence_import, from its unpacked folder), or "
                      "check prefix, product and site." % (self.store.url(), len(others), product, of_site))
        if not good and others:
            self.fail("%s holds %d good backup(s) of %s%s but no good content export. Leave kind out to fetch a "
                      "backup, or check prefix, product and site." % (self.store.url(), len(others), product, of_site))
        if not good:
            mine = [b for b in backups if kind_of(b.series) == self.kind]
            self.fail("%s holds no good %s of %s%s (%d manifests looked at: %s). Check prefix, product and site." % (
                self.store.url(), "backup" if self.kind == BACKUP else "content export", product, of_site,
                len(mine), "; ".join("%s: %s" % (os.path.basename(b.zip_path), b.problem)
                                     for b in mine[:5]) or "none"))
        newest = max(good, key=lambda b: (b.time, b.manifest_path))
        return os.path.basename(newest.manifest_path)[:-len(".json")]

    def manifest(self, base, listing):
        raw = self.store.read(base + ".json")
        try:
            data = json.loads(raw.decode("utf-8")) if raw is not None else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            self.fail("The manifest %s is missing or not JSON; the copy cannot be checked, so it is not fetched." %
                      self.store.url(base + ".json"))
        kind = data.get("kind") or BACKUP
        if kind != self.kind and self.kind == BACKUP:
            self.fail("The manifest %s says %s is a %s (kind in its manifest), not a backup that confluence_restore or "
                      "the organization restore can read. Set kind: %s to fetch it (a content export restores page by "
                      "page with confluence_import, from its unpacked folder), or name a backup." % (
                          self.store.url(base + ".json"), base, kind, kind))
        if kind != self.kind:
            self.fail("The manifest %s says %s is not a content export (kind %s). Leave kind out to fetch a backup, "
                      "or name a content export." % (self.store.url(base + ".json"), base, kind))
        if not mf.is_good(data):
            self.fail("The manifest %s says the backup's last verification failed (%s); a bad backup is not fetched "
                      "for a restore. Pick another one." % (self.store.url(base + ".json"), mf.failure(data)))
        return data

    def object_of(self, base, data, listing):
        """(object name, size, sha256) of the backup's copy: the zip, else the encrypted copy its manifest records."""
        plain, encrypted = base + ".zip", base + ".zip" + ENCRYPTED
        section = data.get("encryption") if isinstance(data.get("encryption"), dict) else {}
        if plain in listing:
            return plain, data.get("size"), str(data.get("sha256") or "").lower()
        if encrypted in listing and section.get("object") == encrypted:
            return encrypted, section.get("size"), str(section.get("sha256") or "").lower()
        self.fail("%s holds the manifest of %s but neither %s nor an encrypted copy its manifest records. The copy is "
                  "incomplete; pick another backup." % (self.store.url(), base, plain))

    # ------------------------------------------------------------------------------------------------ transfer
    def present(self, size, digest):
        path = self.result["path"]
        try:
            if os.path.getsize(path) != size:
                return False
        except OSError:
            return False
        return file_sha256(path) == digest

    def download(self, name, size, digest):
        path = self.result["path"]
        part = path + PART_SUFFIX
        hashed, count = hashlib.sha256(), 0
        try:
            with open_new_part(part) as handle:
                for chunk in self.store.chunks(name):
                    handle.write(chunk)
                    hashed.update(chunk)
                    count += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            if count != size or hashed.hexdigest() != digest:
                self.fail("The copy %s is not what its manifest records: %d bytes with sha256 %s, where %s bytes with "
                          "sha256 %s were expected. It changed after it was written, or the download was damaged. "
                          "Nothing was kept in %s; run again, or pick another backup." % (
                              self.result["url"], count, hashed.hexdigest(), size, digest, self.dest))
            os.replace(part, path)
        except (OSError, IOError) as exc:
            self.fail("Could not write %s (%s). Nothing was kept." % (part, getattr(exc, "strerror", None) or exc))
        finally:
            _remove(part)
        _fsync_dir(self.dest)

    def sidecars(self, data):
        """The .sha256 file of the fetched object, then the manifest (last), when they are not there yet."""
        if self.check_mode:
            return
        sha_path = mf.sha256_path(self.result["path"])
        try:
            if self.fetched or not os.path.exists(sha_path):
                mf.write_atomic(sha_path, mf.sha256_text(self.result["sha256"], self.result["path"]))
                self.result["changed"] = True
            if not os.path.exists(self.result["manifest_path"]):
                mf.write(self.result["manifest_path"], data)
                self.result["changed"] = True
            elif self.result["encrypted"] and self.fetched:
                local = mf.load(self.result["manifest_path"]) or {}
                if (local.get("encryption") or {}).get("sha256") != self.result["sha256"]:
                    mf.update(self.result["manifest_path"], {"encryption": data.get("encryption")})
                    self.result["changed"] = True
        except (mf.ManifestError, OSError, IOError) as exc:
            self.fail("%s was fetched, but its .sha256 file or manifest could not be written (%s)." % (
                self.result["path"], getattr(exc, "strerror", None) or exc))
