# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_verify workflow: a backup on disk checked at a level, and the outcome recorded in its manifest.

Levels, each including the ones before it: ``checksum`` (size and sha256 against the ``.sha256`` file and the
manifest), ``archive`` (every member's CRC read back), ``inventory`` (content counted from ``entities.xml`` and
compared with the previous backup of the same kind). A pass records ``verified_level``/``verified_at``; a failure
of the backup itself (its bytes, its archive, a mass deletion) records ``verified: false`` with the level and the
reason (see ``manifest``), so that no other reader counts it. A failure that says nothing of the backup (the file
is missing, nothing to compare with) records nothing. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import zipfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto.age import SUFFIX as ENCRYPTED
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import inventory as export_inv
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.archive import is_content_export
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import inventory as inv
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import read_manifests
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256

LEVELS = mf.LEVELS


def same_kind(one, other):
    """Whether two manifests are of one series for the inventory comparison: product, site, scope, spaces, and kind
    (a content export's ``content-export``, none for a backup)."""
    return (one.get("product") == other.get("product") and one.get("site_label") == other.get("site_label")
            and one.get("scope") == other.get("scope") and one.get("kind") == other.get("kind")
            and sorted(one.get("space_keys") or []) == sorted(other.get("space_keys") or []))


class Verification(object):
    """One run of the module: the checks of ``level`` in order, the result fields filled as they are known."""

    def __init__(self, params, warn, now=None):
        self.p = params
        self.warn = warn
        self.now = now or (lambda: datetime.now(mf.UTC))
        self.path = params["path"]
        self.level = params["level"]
        self.result = dict(changed=False, verified=False, level=self.level, sha256=None, size=None, members=None,
                           inventory=None, inventory_status=None, previous=None, previous_inventory=None, drops=[],
                           manifest_path=None, failure_recorded=False)
        self.manifest = None
        self.done = []
        self.notes = []

    def fail(self, msg):
        """Fail for a reason that says nothing of the backup itself (nothing is recorded)."""
        raise TaskFailed(msg, **self.result)

    def reject(self, level, msg):
        """Fail because the backup itself is bad at ``level``: record that in its manifest, so that retention,
        ``max_age`` reuse, restores and metrics never count it, then fail."""
        path = self.result["manifest_path"]
        if self.p["update_manifest"] and path and self.manifest is not None:
            changes = mf.failed_changes(self.manifest, level, msg, self.now())
            if not changes:
                msg += " The manifest already records this failure."
            elif self.p["check_mode"]:
                self.result["changed"] = True
                msg += " Check mode: would record the failure in the manifest."
            else:
                try:
                    mf.update(path, changes)
                except (mf.ManifestError, OSError, IOError) as exc:
                    msg += " The failure could not be recorded in the manifest %s (%s): remove or quarantine this " \
                           "backup by hand." % (path, getattr(exc, "strerror", None) or exc)
                else:
                    self.mirror(changes)
                    self.result.update(changed=True, failure_recorded=True)
                    msg += (" Recorded in the manifest (verified: false): retention, max_age reuse, restores and "
                            "metrics no longer count this backup; a later verification at level %s or deeper that "
                            "passes clears it." % level)
        raise TaskFailed(msg, **self.result)

    def mirror(self, changes):
        """The zip of a content export: what was recorded in its manifest is recorded in its folder's export.json too
        (when the folder is still there), so that the next export never builds on one that failed."""
        name = (self.manifest or {}).get("export_folder")
        if not is_content_export(self.manifest) or not name or os.path.basename(name) != name:
            return
        path = os.path.join(os.path.dirname(os.path.abspath(self.path)), name, layout.MANIFEST)
        if not os.path.isfile(path):
            return
        try:
            mf.update(path, changes)
        except (mf.ManifestError, OSError, IOError) as exc:
            self.warn("The outcome was recorded in %s, not in the export's own %s (%s): the next confluence_export "
                      "run may build on this export." % (self.result["manifest_path"], path,
                                                         getattr(exc, "strerror", None) or exc))

    def run(self):
        if self.encrypted_only():
            return self.result
        self.checksum()
        if mf.level_rank(self.level) >= mf.level_rank("archive"):
            self.archive()
        else:
            self.count_members()
        if self.level == "inventory":
            self.inventory()
        self.result["verified"] = True
        self.record()
        return self.result

    # ------------------------------------------------------- kept encrypted only
    def encrypted_only(self):
        """A backup kept only as its encrypted copy (the zip removed after backup_encrypt, as scheduled_backup does
        with ``scheduled_backup_encrypt_local``): its ciphertext is checked against the manifest's record (size,
        sha256, and its ``.sha256`` file), and the verification recorded when the plaintext was there stands for
        the levels it covers. Without a private key nothing deeper can be read. False when this is not the case."""
        manifest_path = mf.path_beside(self.path)
        encrypted = self.path + ENCRYPTED
        if os.path.lexists(self.path) or not os.path.isfile(encrypted):
            return False
        manifest = mf.load(manifest_path)
        section = (manifest or {}).get("encryption")
        if not isinstance(section, dict) or section.get("object") != os.path.basename(encrypted):
            return False
        self.manifest = manifest
        self.result.update(manifest_path=manifest_path, size=manifest.get("size"), sha256=manifest.get("sha256"),
                           inventory=manifest.get("inventory"), inventory_status=manifest.get("inventory_status"))
        size, digest = os.path.getsize(encrypted), file_sha256(encrypted)
        try:
            sidecar = mf.read_sha256(mf.sha256_path(encrypted))
        except mf.ManifestError:
            sidecar = "(unreadable)"
        if size != section.get("size") or digest != section.get("sha256") or sidecar not in (None, digest):
            self.reject("checksum", "The backup %s is kept only as its encrypted copy %s, and that is not the "
                                    "ciphertext its manifest %s records (%d bytes with sha256 %s, where %s bytes with "
                                    "sha256 %s were recorded): it changed or is damaged." % (
                                        self.path, encrypted, manifest_path, size, digest, section.get("size"),
                                        section.get("sha256")))
        recorded = manifest.get("verified_level")
        if not mf.is_good(manifest) or mf.level_rank(recorded or "") < mf.level_rank(self.level):
            self.fail("The backup %s is kept only as its encrypted copy, and its manifest records a verification at "
                      "level %s, not %s; without the plaintext nothing deeper can be checked here. Decrypt it "
                      "(backup_decrypt, with the private key) and verify the decrypted zip." % (
                          self.path, recorded or "(none)", self.level))
        self.result.update(verified=True, level=self.level)
        self.result["msg"] = ("Verified %s, kept only as its encrypted copy: the ciphertext %s matches its record "
                              "(size and sha256); the verification at level %s recorded on %s stands for level %s." % (
                                  self.path, encrypted, recorded, manifest.get("verified_at"), self.level))
        return True

    # ------------------------------------------------------------------ checksum
    def checksum(self):
        path = self.path
        if not os.path.exists(path):
            self.fail("The backup %s does not exist." % path)
        if not os.path.isfile(path):
            self.fail("The backup %s is not a file." % path)
        manifest_path = mf.path_beside(path)
        try:
            self.manifest = mf.read(manifest_path)
        except mf.ManifestError as exc:
            self.fail("Cannot verify %s: its manifest %s." % (path, exc))
        if self.manifest is not None:
            self.result["manifest_path"] = manifest_path
            named = self.manifest.get("file")
            if named and named != os.path.basename(path):
                self.fail("The manifest %s describes %s, not %s." % (manifest_path, named, os.path.basename(path)))
        sidecar = mf.sha256_path(path)
        expected = []
        try:
            recorded_digest = mf.read_sha256(sidecar)
        except mf.ManifestError as exc:
            self.fail("Cannot verify %s: %s." % (path, exc))
        if recorded_digest is not None:
            expected.append(("the .sha256 file %s" % sidecar, recorded_digest))
        if self.manifest is not None and self.manifest.get("sha256"):
            expected.append(("the manifest %s" % manifest_path, str(self.manifest["sha256"]).lower()))
        if not expected:
            self.fail("Nothing to check %s against: neither %s (sha256sum format) nor a manifest %s with its sha256 "
                      "is there. The collection's modules write both beside every backup." % (
                          path, sidecar, manifest_path))
        size = os.path.getsize(path)
        self.result["size"] = size
        recorded = self.manifest.get("size") if self.manifest is not None else None
        if isinstance(recorded, int) and recorded != size:
            self.reject("checksum", "Size mismatch: the manifest %s records %d bytes, %s has %d: the file is not the "
                                    "backup that was downloaded (cut short or changed)." % (
                                        manifest_path, recorded, path, size))
        digest = file_sha256(path)
        self.result["sha256"] = digest
        for source, value in expected:
            if value != digest:
                self.reject("checksum", "sha256 mismatch: %s expects %s, but %s has %s: the file is not the backup "
                                        "that was downloaded (or the record was changed)." % (
                                            source, value, path, digest))
        self.done.append("sha256 matches %s" % " and ".join(
            "the .sha256 file" if s.startswith("the .sha256") else "the manifest" for s, v in expected))

    # ------------------------------------------------------------------- archive
    def archive(self):
        try:
            checked = inv.check_archive(self.path)
        except inv.ArchiveError as exc:
            self.reject("archive", "%s The backup cannot be trusted for a restore; take a new one." % exc.msg)
        self.result["members"] = checked["members"]
        self.done.append("%d members read back with good CRCs" % checked["members"])

    def count_members(self):
        try:
            with zipfile.ZipFile(self.path) as archive:
                self.result["members"] = len(archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, IOError, EOFError, ValueError):
            self.result["members"] = None

    # ----------------------------------------------------------------- inventory
    def read_inventory(self):
        """The zip's inventory (``store/inventory.py``); a content export's (``export.json`` at the top) is counted
        from its members, each checked against export.json's sha256 (a mismatch fails at level inventory)."""
        if not export_inv.is_export_zip(self.path):
            return inv.read_inventory(self.path)
        try:
            dummy, found = export_inv.zip_inventory(self.path)
        except export_inv.ExportProblem as exc:
            self.reject(exc.level, "%s Take a new export (confluence_export with archive)." % exc.msg)
        found["reason"] = None
        return found

    def inventory(self):
        found = self.read_inventory()
        counts = inv.counts_of(found)
        if counts is None:
            self.result["inventory_status"] = "unknown"
            self.warn("The inventory of %s is unknown: %s. It was recorded as unknown and not compared with a "
                      "previous backup." % (self.path, found["reason"]))
            self.notes.append("inventory unknown (%s)" % found["reason"])
        else:
            self.result["inventory_status"] = "counted"
            self.result["inventory"] = dict(counts, entities_member=found["entities_member"], objects=found["objects"],
                                            by_space=found["by_space"])
            self.done.append(inv.describe_counts(counts))
        previous, previous_counts = self.find_previous()
        self.result["previous"] = previous
        self.result["previous_inventory"] = previous_counts
        if previous is None:
            self.notes.append("no previous backup to compare with")
            return
        if counts is None:
            return
        if previous_counts is None:
            self.warn("The inventory of the previous backup %s is unknown; the counts of %s were not compared." % (
                previous, self.path))
            self.notes.append("the previous backup's inventory is unknown")
            return
        limit = self.p["max_drop_percent"]
        drops = inv.compare(counts, previous_counts, limit)
        self.result["drops"] = drops
        if drops:
            self.reject("inventory", "Possible mass deletion in %s: %s, since the previous backup %s (more than "
                                     "max_drop_percent %g %%). Check the site before this backup replaces older ones; "
                                     "if the content was removed on purpose, verify this backup once with "
                                     "max_drop_percent: 100 to make it the new reference." % (
                                         self.path, inv.describe_drops(drops), previous, limit))
        self.done.append("no count dropped more than %g %% since %s" % (limit, previous))

    def find_previous(self):
        """(the previous backup's path, its counts or None); (None, None) when there is none."""
        explicit = self.p.get("previous")
        if explicit:
            return self.explicit_previous(explicit)
        mine = self.manifest
        if mine is None or not mine.get("product") or not mine.get("site_label") or mf.backup_time(mine) is None:
            return None, None
        folder = os.path.dirname(os.path.abspath(self.path))
        own = os.path.abspath(mf.path_beside(self.path))
        # The reference is a good backup: one whose last verification failed (a mass deletion) is never the
        # baseline, or the next backup of the same emptied site would pass.
        candidates = [m for m in read_manifests(folder, mine["product"], mine["site_label"])
                      if os.path.abspath(m["_manifest_path"]) != own and same_kind(m, mine) and mf.is_good(m)
                      and mf.backup_time(m) is not None and mf.backup_time(m) < mf.backup_time(mine)]
        if not candidates:
            return None, None
        chosen = next((m for m in candidates if inv.counts_of(m.get("inventory"))), candidates[0])
        zip_path = os.path.join(folder, chosen["file"]) if chosen.get("file") else None
        return zip_path or chosen["_manifest_path"], self.counts_from(chosen, zip_path)

    def explicit_previous(self, given):
        if not os.path.exists(given):
            self.fail("previous %s does not exist." % given)
        if given.lower().endswith(".json"):
            try:
                manifest = mf.read(given)
            except mf.ManifestError as exc:
                self.fail("previous: %s." % exc)
            named = manifest.get("file")
            zip_path = os.path.join(os.path.dirname(given), named) if named else None
            return zip_path or given, self.counts_from(manifest, zip_path)
        manifest = mf.load(mf.path_beside(given))
        return given, self.counts_from(manifest, given)

    @staticmethod
    def counts_from(manifest, zip_path):
        """A previous backup's counts: recorded in its manifest, else read from its zip when it is there."""
        counts = inv.counts_of((manifest or {}).get("inventory"))
        if counts is None and zip_path and os.path.isfile(zip_path):
            if export_inv.is_export_zip(zip_path):
                counts = inv.counts_of(export_inv.counts_only(zip_path))
            else:
                counts = inv.counts_of(inv.read_inventory(zip_path))
        return counts

    # -------------------------------------------------------------------- record
    def record(self):
        """Write what is new into the manifest (not in check mode); ``changed`` tells whether it was (would be)."""
        manifest_path = self.result["manifest_path"]
        wrote = ""
        if self.p["update_manifest"] and manifest_path:
            try:
                current = mf.read(manifest_path) or {}
            except mf.ManifestError as exc:
                self.fail("%s is verified, but its manifest could not be updated: %s." % (self.path, exc))
            update = mf.verified_changes(current, self.level, self.now())
            if self.level == "inventory" and (current.get("inventory") != self.result["inventory"] or
                                              current.get("inventory_status") != self.result["inventory_status"]):
                update.update(inventory=self.result["inventory"], inventory_status=self.result["inventory_status"],
                              verified_at=mf.format_time(self.now()))
            if update:
                shown = sorted(key for key in update if key != "verified_at")
                if "verification_failure" in update:
                    shown = [key for key in shown if key != "verification_failure"] + ["the earlier failure cleared"]
                self.result["changed"] = True
                if self.p["check_mode"]:
                    wrote = " Check mode: would record %s in the manifest." % ", ".join(shown)
                else:
                    try:
                        mf.update(manifest_path, update)
                    except (OSError, IOError, mf.ManifestError) as exc:
                        self.result["changed"] = False
                        self.fail("%s is verified, but its manifest %s could not be updated: %s." % (
                            self.path, manifest_path, getattr(exc, "strerror", None) or exc))
                    self.mirror(update)
                    wrote = " Recorded %s in the manifest." % ", ".join(shown)
            else:
                wrote = " The manifest already records this."
        notes = ("; " + "; ".join(self.notes)) if self.notes else ""
        self.result["msg"] = "Verified %s at level %s: %s%s.%s" % (
            self.path, self.level, "; ".join(self.done), notes, wrote)


class ExportVerification(Verification):
    """A confluence_export folder (``path`` is the folder): checksum, every file export.json lists with its size and
    sha256; archive, every item JSON parses with the id and version export.json records; inventory, the counts
    from the files, against export.json's and the previous good export of the same selection in the same folder.
    The outcome is recorded in export.json; an export whose verification failed is never the base of the next
    incremental run (``layout.exports``)."""

    found = None

    def run(self):
        folder = self.path
        manifest_path = os.path.join(folder, layout.MANIFEST)
        try:
            self.manifest = mf.read(manifest_path)
        except mf.ManifestError as exc:
            self.fail("Cannot verify the content export %s: %s." % (folder, exc))
        if not is_content_export(self.manifest):
            self.fail("%s is a folder without the export.json of a complete content export: backup_verify verifies "
                      "a backup zip or a folder confluence_export wrote (an unfinished export has no export.json; "
                      "run confluence_export again to finish it)." % folder)
        self.result["manifest_path"] = manifest_path
        try:
            dummy, checked, self.found = export_inv.examine(export_inv.FolderSource(folder), self.level,
                                                            manifest=self.manifest)
        except export_inv.ExportProblem as exc:
            self.reject(exc.level, "%s Run confluence_export with full: true for a whole new export." % exc.msg)
        files = self.manifest.get("files") or {}
        self.result["members"] = checked
        self.result["size"] = sum(f.get("size") or 0 for f in files.values() if isinstance(f, dict))
        self.done.append("%d files match the size and sha256 export.json records" % checked)
        if self.level != "checksum":
            self.done.append("%d items parse with the id and version export.json records" % len(
                self.manifest.get("items") or {}))
        if self.level == "inventory":
            self.inventory()
        self.result["verified"] = True
        self.record()
        return self.result

    def read_inventory(self):
        found = dict(self.found)
        found["reason"] = None
        return found

    def find_previous(self):
        explicit = self.p.get("previous")
        if explicit and os.path.isdir(explicit):
            return explicit, self.folder_counts(explicit, mf.load(os.path.join(explicit, layout.MANIFEST)))
        if explicit:
            return self.explicit_previous(explicit)
        mine = self.manifest
        parent = os.path.dirname(os.path.abspath(self.path))
        candidates = []
        for name in sorted(os.listdir(parent), reverse=True):
            path = os.path.join(parent, name)
            if not name.startswith(layout.PREFIX) or os.path.abspath(path) == os.path.abspath(self.path):
                continue
            data = mf.load(os.path.join(path, layout.MANIFEST))
            if (data and is_content_export(data) and data.get("site_label") == mine.get("site_label")
                    and data.get("selection") == mine.get("selection") and mf.is_good(data)
                    and str(data.get("exported_at") or "") < str(mine.get("exported_at") or "")):
                candidates.append((path, data))
        if not candidates:
            return None, None
        path, data = next((c for c in candidates if inv.counts_of(c[1].get("inventory"))), candidates[0])
        return path, self.folder_counts(path, data)

    @staticmethod
    def folder_counts(path, data):
        """A previous export folder's counts: recorded by its verification, else counted from its files."""
        return inv.counts_of((data or {}).get("inventory")) or inv.counts_of(export_inv.counts_only(path))
