# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_offsite workflow: one verified backup copied to a store, read back, and the store's retention applied.

The store's folder holds, per backup, what the local folder holds: ``<name>.zip`` (or ``<name>.zip.age``, encrypted
with age to the recipients given, on its way out), its ``.sha256`` object, and the manifest ``<name>.json``. Rules:

* only a backup whose manifest says it is good is copied (``encryption.verified_manifest``);
* an object already in the store is never replaced: it is compared with what it should be (size, ``.sha256``
  object, and the store's own checksum: S3's ETag, Azure's Content-MD5), and a difference fails the run, leaving the
  object as found for inspection;
* a new object is uploaded in parts as it is read or encrypted (``base.UploadWriter``); its plaintext sha256 is
  compared with the manifest's before the upload is committed, so a backup that changed since its verification
  never reaches the store; after the commit, the store's size and checksum are compared with what was sent;
* an encrypted object's manifest (in the store, and locally) records its ``encryption`` section: recipients'
  fingerprints, plaintext sha256, ciphertext size and sha256, and the store's checksum, so that a later run checks it
  without any private key;
* the manifest goes last; retention (``store/prune``: the same rule as the folder's) then reads the store's
  manifests and deletes what it no longer keeps, each backup's manifest last.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import (
    StoreError,
    UploadWriter,
    file_digests,
    read_manifests,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import prune as pruning
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import SECTION, verified_manifest

KEEPS = ("keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "keep_last")
# The local manifest's record of each store's encrypted copy, by the object's address.
OFFSITE = "offsite"
# S3 takes at most 10,000 parts per object (Azure 50,000 blocks); age adds 16 bytes per 64 KiB and a header.
MAX_PARTS = 10000
MIB = 1024 * 1024


def part_size_for(wanted, size):
    """``wanted``, or the smallest whole number of MiB that sends ``size`` bytes (plus age's overhead) in at most
    MAX_PARTS parts when ``wanted`` would need more."""
    total = int((size or 0) * 1.001) + MIB
    if wanted * (MAX_PARTS - 1) >= total:
        return wanted
    return -(-(-(-total // (MAX_PARTS - 1))) // MIB) * MIB


def _now():
    return datetime.now(mf.UTC)


class OffsiteCopy(object):
    """One run of backup_offsite. ``store``: an opened :class:`base.Store`."""

    def __init__(self, params, store, warn, check_mode=False, now=None):
        self.p = params
        self.store = store
        self.warn = warn
        self.check_mode = check_mode
        self.now = now or _now
        self.path = params["path"]
        self.manifest_path = mf.path_beside(self.path)
        self.recipients = None
        encrypt = bool(params.get("encrypt_recipients"))
        self.name = os.path.basename(self.path) + (age.SUFFIX if encrypt else "")
        self.result = dict(changed=False, url=store.url(self.name), uploaded=False, encrypted=encrypt, size=None,
                           sha256=None, plaintext_sha256=None, checksum=None, read_back=None, recipients=[],
                           manifest_url=store.url(os.path.basename(self.manifest_path)), retention=None)

    def fail(self, msg):
        raise TaskFailed(msg, **self.result)

    # ------------------------------------------------------------------------------------------------ the run
    def run(self):
        data = verified_manifest(self.path, self.manifest_path, self, "copy")
        self.result["plaintext_sha256"] = data["sha256"]
        if self.result["encrypted"]:
            try:
                self.recipients = age.parse_recipients(self.p["encrypt_recipients"], "encrypt_recipients")
            except age.AgeError as exc:
                self.fail(exc.msg)
            self.result["recipients"] = age.records(self.recipients)
        try:
            listing = self.store.list()
            remote = self.remote_manifest(listing)
            if self.name in listing:
                section = self.check_existing(data, remote)
            else:
                section = self.upload(data)
            self.sidecar(listing, data)
            self.send_manifest(data, section, remote)
            if any(self.p.get(key) is not None for key in KEEPS):
                self.retention(data)
        except StoreError as exc:
            self.fail(exc.msg)
        self.result["msg"] = self.summary()
        return self.result

    def summary(self):
        what = "encrypted copy" if self.result["encrypted"] else "copy"
        if self.result["uploaded"]:
            said = "%s %s %s (%s bytes, read back: %s)" % (
                "Would upload the" if self.check_mode else "Uploaded the", what, self.result["url"],
                self.result["size"], self.result["read_back"] or "not in check mode")
        else:
            said = "The %s %s was already there and matches the verified backup (%s)" % (
                what, self.result["url"], self.result["read_back"])
        kept = self.result["retention"]
        if kept is not None:
            gone = kept["would_delete"] if self.check_mode else kept["deleted"]
            said += "; retention %s %d objects and keeps %d backups" % (
                "would delete" if self.check_mode else "deleted", len(gone), len(kept["kept"]))
        return said + "."

    # ------------------------------------------------------------------------------------------------ reads
    def remote_manifest(self, listing):
        name = os.path.basename(self.manifest_path)
        if name not in listing:
            return None
        raw = self.store.read(name)
        try:
            return json.loads(raw.decode("utf-8")) if raw is not None else None
        except (ValueError, UnicodeDecodeError):
            self.warn("The store's manifest %s is not JSON; it is replaced by the local one." % self.store.url(name))
            return None

    def expected_section(self, data, remote, sidecar):
        """The encryption record of the object in the store: the store's own manifest's, else the local manifest's
        record of this store's copy (``offsite``), else the local encrypted file's (backup_encrypt's ``encryption``)
        when the store's ``.sha256`` object says the store holds that same ciphertext. Never another store's."""
        candidates = [(remote or {}).get(SECTION), ((data.get(OFFSITE) or {}).get(self.result["url"]))]
        local = data.get(SECTION)
        if isinstance(local, dict) and sidecar is not None and local.get("sha256") == sidecar:
            candidates.append(local)
        for section in candidates:
            if isinstance(section, dict) and section.get("object") == self.name:
                return section
        return None

    def check_existing(self, data, remote):
        """Compare the object already in the store with what it must be; returns its encryption section (or None)."""
        section = None
        sidecar = _sidecar_digest(self.store.read(self.name + ".sha256"), self.store.url(self.name + ".sha256"))
        if self.result["encrypted"]:
            section = self.expected_section(data, remote, sidecar)
            if section is None or section.get("plaintext_sha256") != data["sha256"]:
                self.fail("The store holds %s, but neither its manifest nor the local one %s records that encryption "
                          "of this backup, so it cannot be checked. It was left as found; delete it and its .sha256 "
                          "object to have the next run upload the backup again." % (
                              self.result["url"], self.manifest_path))
            wanted, recorded = self.result["recipients"], _recipients(section)
            if recorded != wanted:
                self.warn("%s is encrypted to %s, not to the encrypt_recipients given (%s); it is kept as it is. "
                          "Later backups are encrypted to the new recipients." % (
                              self.result["url"], age.describe(recorded) if recorded else "unrecorded recipients",
                              age.describe(wanted)))
            size, digest = section.get("size"), section.get("sha256")
        else:
            size, digest = data.get("size"), data["sha256"]
        stat = self.store.stat(self.name)
        if stat is None:
            self.fail("%s was listed but is gone; another run or person deletes in the same place. Run again." %
                      self.result["url"])
        checksum_ok, how = self.same_content(stat, data, section)
        self.result.update(size=stat.size, sha256=digest, checksum=stat.checksum, read_back=how)
        if stat.size != size or (sidecar is not None and sidecar != digest) or not checksum_ok:
            self.fail("The copy %s is not the verified backup %s: size %s against %s, .sha256 object %s against %s, "
                      "content %s (%s). It changed after it was written, or the upload was damaged. It was left as "
                      "found, for inspection; delete it and its .sha256 object to have the next run upload the backup "
                      "again." % (
                          self.result["url"], self.path, stat.size, size, sidecar or "(none)", digest,
                          "same" if checksum_ok else "differs", how))
        return section

    def same_content(self, stat, data, section):
        """(whether the object's content is the expected one, how that was found out)."""
        comparable = self.store.comparable(stat)
        if section is None and comparable:
            for size in self.store.part_sizes_for(stat, self.p.get("part_size") or self.store.part_size):
                local = file_digests(self.path, size)
                if local.sha256.hexdigest() != data["sha256"]:
                    self.fail("The local backup %s no longer has the sha256 its manifest records; it changed since it "
                              "was verified. Run backup_verify on it (which records the failure) and take a new "
                              "backup." % self.path)
                if stat.checksum in self.store.checksums(local.parts, local.md5.digest()):
                    return True, self.store.checksum_name
            return False, self.store.checksum_name
        recorded = (section.get("checksums") or {}).get(self.store.kind) if section else None
        if recorded and comparable:
            return stat.checksum in recorded, self.store.checksum_name
        # No checksum to compare (none recorded for this kind of store, or the store reports none, or one that is
        # not an MD5 as some S3-compatible stores do): the whole object is read back and hashed.
        return self.read_back_whole(section.get("sha256") if section else data["sha256"])

    # ------------------------------------------------------------------------------------------------ writes
    def upload(self, data):
        """Upload the backup (encrypting it on the way when asked); returns its encryption section (or None)."""
        self.result.update(uploaded=True, changed=True)
        if self.check_mode:
            self.result["size"] = None if self.result["encrypted"] else data.get("size")
            return None
        local_age = self.local_ciphertext(data)
        wanted = self.p.get("part_size") or self.store.part_size
        writer = UploadWriter(self.store, self.name, metadata={"sha256": data["sha256"]},
                              part_size=part_size_for(wanted, data.get("size")))
        expected = dict(sha256=local_age["sha256"], size=local_age["size"]) if local_age else \
            dict(sha256=data["sha256"], size=data.get("size"))
        try:
            if self.result["encrypted"] and not local_age:
                age.encrypt_into(self.path, writer, self.recipients, expected_sha256=data["sha256"],
                                 expected_size=data.get("size"))
                expected = None
            else:
                _copy_into(local_age["path"] if local_age else self.path, writer)
            sent = writer.commit(before_commit=lambda summary: self.before_commit(summary, expected))
        except age.DigestMismatch as exc:
            writer.abort()
            if local_age:
                self.fail("Refused to copy %s: %s It is no longer the ciphertext its manifest records; encrypt the "
                          "backup again (backup_encrypt with force: true). The upload was cancelled; nothing was left "
                          "in the store." % (local_age["path"], exc.msg))
            self.fail("Refused to copy %s: %s It changed since it was verified; run backup_verify on it (which "
                      "records the failure) and take a new backup. The upload was cancelled; nothing was left in "
                      "the store." % (self.path, exc.msg))
        except age.AgeError as exc:
            writer.abort()
            self.fail("%s The upload was cancelled; nothing was left in the store." % exc.msg)
        except (OSError, IOError) as exc:
            writer.abort()
            self.fail("Could not read %s (%s). The upload was cancelled; nothing was left in the store." % (
                self.path, getattr(exc, "strerror", None) or exc))
        except BaseException:
            writer.abort()
            raise
        self.result.update(size=sent["size"], sha256=sent["sha256"])
        stat = self.store.stat(self.name)
        self.result.update(checksum=stat.checksum if stat else None, read_back="size and %s" % self.store.checksum_name)
        same = stat is not None and stat.checksum in sent["checksums"]
        if stat is not None and not self.store.comparable(stat):
            same, how = self.read_back_whole(sent["sha256"])
            self.result["read_back"] = "size and " + how
        if stat is None or stat.size != sent["size"] or not same:
            self.fail("The copy %s was uploaded, but reading it back gives %s where %d bytes with checksum %s were "
                      "sent. It was left for inspection; delete it to have the next run upload the backup again." % (
                          self.result["url"], "nothing" if stat is None else "%d bytes with checksum %s" % (
                              stat.size, stat.checksum), sent["size"], " or ".join(sorted(sent["checksums"]))))
        if not self.result["encrypted"]:
            return None
        section = dict(local_age["section"]) if local_age else {
            "format": age.FORMAT, "object": self.name, "size": sent["size"], "sha256": sent["sha256"],
            "plaintext_sha256": data["sha256"], "recipients": self.result["recipients"],
            "encrypted_at": mf.format_time(self.now())}
        section["checksums"] = dict(section.get("checksums") or {}, **{self.store.kind: sorted(sent["checksums"])})
        return section

    def read_back_whole(self, wanted):
        digest = hashlib.sha256()
        for chunk in self.store.chunks(self.name):
            digest.update(chunk)
        return digest.hexdigest() == wanted, "sha256 of the whole object, read back"

    def before_commit(self, summary, expected):
        if expected is None:
            return
        if (expected.get("size") is not None and summary["size"] != expected["size"]) or \
                summary["sha256"] != expected["sha256"]:
            raise age.DigestMismatch("Its bytes read now have sha256 %s (%d bytes), not the recorded %s." % (
                summary["sha256"], summary["size"], expected["sha256"]), expected["sha256"], summary["sha256"])

    def local_ciphertext(self, data):
        """The local encrypted copy (backup_encrypt's) to upload as it is, when the manifest records it for the same
        plaintext and recipients and it has the recorded size; else None (the zip is encrypted on the way)."""
        if not self.result["encrypted"]:
            return None
        section = data.get(SECTION)
        path = self.path + age.SUFFIX
        if not isinstance(section, dict) or section.get("object") != self.name or \
                section.get("plaintext_sha256") != data["sha256"] or _recipients(section) != self.result["recipients"]:
            return None
        try:
            if os.path.getsize(path) != section.get("size"):
                return None
        except OSError:
            return None
        return dict(path=path, size=section["size"], sha256=section.get("sha256"), section=section)

    def sidecar(self, listing, data):
        """The object's .sha256: written after every upload (an encrypted copy's ciphertext is new each time, so an
        older .sha256 object left beside a deleted copy must not stay), and when it is missing."""
        name = self.name + ".sha256"
        if self.check_mode or (name in listing and not self.result["uploaded"]):
            return
        self.store.put(name, mf.sha256_text(self.result["sha256"], self.name).encode("utf-8"), "text/plain")

    def send_manifest(self, data, section, remote):
        """The manifest goes last: the local one, with the encryption section of the object in this store. Locally,
        each store's record is kept apart (``offsite``, by object address), so that two stores holding two
        ciphertexts of the same backup never overwrite each other's record, and ``encryption`` keeps describing only
        the local encrypted file (backup_encrypt's)."""
        content = dict((key, value) for key, value in data.items() if key != OFFSITE)
        if section is not None:
            content[SECTION] = section
            records = dict(data.get(OFFSITE) or {})
            if records.get(self.result["url"]) != section:
                records[self.result["url"]] = section
                self.result["changed"] = True
                if not self.check_mode:
                    try:
                        mf.update(self.manifest_path, {OFFSITE: records})
                    except (mf.ManifestError, OSError, IOError) as exc:
                        self.warn("The copy's encryption could not be recorded in %s (%s); the store's manifest "
                                  "records it." % (self.manifest_path, getattr(exc, "strerror", None) or exc))
        if remote == content:
            return
        self.result["changed"] = True
        if not self.check_mode:
            self.store.put(os.path.basename(self.manifest_path), mf.dumps(content).encode("utf-8"),
                           "application/json")

    # ------------------------------------------------------------------------------------------------ retention
    def retention(self, data):
        listing = self.store.list()
        scratch = tempfile.mkdtemp(prefix="backup-offsite-")
        try:
            read_manifests(self.store, listing, scratch)
            params = dict(path=scratch, product=data.get("product") or self.p.get("product") or "confluence",
                          objects=sorted(listing), scope=None, space_keys=None)
            for key in KEEPS:
                params[key] = self.p.get(key) or 0
            plan = pruning.prune(params, data.get("site_label"), warn=lambda msg: None)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        doomed = [os.path.basename(path) for path in plan["would_delete"]]
        deleted = []
        if not self.check_mode:
            for name in doomed:
                self.store.delete(name)
                deleted.append(name)
        self.result["changed"] = self.result["changed"] or bool(doomed)
        self.result["retention"] = dict(
            deleted=deleted, would_delete=doomed,
            kept=[os.path.basename(entry["path"]) for entry in plan["kept"]],
            unverified=[dict(name=os.path.basename(entry["path"]), reason=entry["reason"])
                        for entry in plan["unverified"]],
            unaccounted=[dict(name=os.path.basename(entry["path"]), reason=entry["reason"])
                         for entry in plan["unaccounted"]])
        left = self.result["retention"]["unverified"] + self.result["retention"]["unaccounted"]
        if left:
            self.warn("Left alone in %s: %s." % (self.store.url(), "; ".join(
                "%s (%s)" % (entry["name"], entry["reason"]) for entry in left)))


def _recipients(section):
    return sorted([dict(type=item.get("type"), fingerprint=item.get("fingerprint"))
                   for item in section.get("recipients") or [] if isinstance(item, dict)],
                  key=lambda item: (str(item["fingerprint"]), str(item["type"])))


def _sidecar_digest(raw, where):
    if raw is None:
        return None
    try:
        return mf.parse_sha256(raw[:4096], where)
    except mf.ManifestError as exc:
        return "(%s)" % exc


def _copy_into(path, writer, size=1024 * 1024):
    with open(path, "rb") as handle:
        while True:
            data = handle.read(size)
            if not data:
                return
            writer.write(data)
