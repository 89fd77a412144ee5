# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_encrypt and backup_decrypt workflows: a backup of the folder encrypted with age, and decrypted back.

``<name>.zip`` is encrypted to ``<name>.zip.age`` with ``<name>.zip.age.sha256`` (of the ciphertext, ``sha256sum``
format) beside it, and the backup's manifest (``<name>.json``) records an ``encryption`` section::

    {"format": "age", "object": "<name>.zip.age", "size": <ciphertext bytes>, "sha256": "<ciphertext sha256>",
     "plaintext_sha256": "<the zip's sha256>", "recipients": [{"type": "x25519", "fingerprint": "age1..."},
     {"type": "ssh-ed25519", "fingerprint": "SHA256:..."}], "encrypted_at": "<UTC time>"}

Only public keys are needed to encrypt. A backup whose last verification failed, or whose bytes are no longer those
its manifest records, is refused. Decryption checks the plaintext's sha256 against the manifest before the file is
renamed into place. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256

SECTION = "encryption"
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


def _now():
    return datetime.now(mf.UTC)


def _problem(exc):
    return getattr(exc, "strerror", None) or str(exc)


def verified_manifest(path, manifest_path, owner, verb):
    """The manifest of the backup ``path``, with its sha256 in lower case; fails when there is none,
    when it describes another file, when the backup's last verification failed, or when the ``.sha256`` file
    disagrees with it (through ``owner.fail``, which raises). ``verb`` names what is refused (encrypt, copy)."""
    try:
        data = mf.read(manifest_path)
    except mf.ManifestError as exc:
        owner.fail("Cannot %s %s: its manifest %s." % (verb, path, exc))
    if data is None:
        owner.fail("Cannot %s %s: it has no manifest %s beside it. The collection %ss backups that its modules wrote "
                   "(they leave the manifest last)." % (verb, path, manifest_path, verb))
    named = data.get("file")
    if named and named != os.path.basename(path):
        owner.fail("The manifest %s describes %s, not %s." % (manifest_path, named, os.path.basename(path)))
    if not isinstance(data.get("sha256"), str) or not _DIGEST.match(data["sha256"]):
        owner.fail("Cannot %s %s: its manifest %s records no sha256 to check it against." % (
            verb, path, manifest_path))
    data["sha256"] = data["sha256"].lower()
    if not mf.is_good(data):
        owner.fail("Refused to %s %s: its last verification failed (%s). A copy of a bad backup is no backup; verify "
                   "it again (backup_verify) or take a new one." % (verb, path, mf.failure(data)))
    try:
        sidecar = mf.read_sha256(mf.sha256_path(path))
    except mf.ManifestError as exc:
        owner.fail("Cannot %s %s: the .sha256 file beside it is unusable (%s)." % (verb, path, exc))
    if sidecar is not None and sidecar != data["sha256"]:
        owner.fail("Refused to %s %s: its .sha256 file says %s but its manifest %s says %s; run backup_verify to find "
                   "out which is right." % (verb, path, sidecar, manifest_path, data["sha256"]))
    return data


class Encryption(object):
    """One run of backup_encrypt."""

    def __init__(self, params, warn, now=None):
        self.p = params
        self.warn = warn
        self.now = now or _now
        self.path = params["path"]
        self.manifest_path = mf.path_beside(self.path)
        folder = params.get("dest") or os.path.dirname(self.path) or "."
        self.target = os.path.join(folder, os.path.basename(self.path) + age.SUFFIX)
        self.result = dict(changed=False, path=self.target, checksum_path=mf.sha256_path(self.target), size=None,
                           sha256=None, plaintext_sha256=None, plaintext_size=None, recipients=[],
                           manifest_path=self.manifest_path, encryption=None)

    def fail(self, msg):
        raise TaskFailed(msg, **self.result)

    def run(self):
        data = self.backup_manifest()
        try:
            recipients = age.parse_recipients(self.p["recipients"])
        except age.AgeError as exc:
            self.fail(exc.msg)
        wanted = age.records(recipients)
        self.result.update(recipients=wanted, plaintext_sha256=data["sha256"], plaintext_size=data.get("size"))
        recorded = data.get(SECTION)
        if not self.p.get("force") and self.intact(recorded, data, wanted):
            self.result.update(size=recorded["size"], sha256=recorded["sha256"], encryption=recorded)
            self.result["msg"] = "%s is already encrypted to the same %s at %s (ciphertext intact); nothing to do." % (
                os.path.basename(self.path), _count(wanted), self.target)
            return self.result
        self.check_plaintext_file(data)
        if self.p["check_mode"]:
            digest = file_sha256(self.path)
            if digest != data["sha256"]:
                self.refuse_changed(data["sha256"], digest)
            self.result["changed"] = True
            self.result["msg"] = "Check mode: would encrypt %s to %s into %s and record it in %s." % (
                self.path, _count(wanted), self.target, self.manifest_path)
            return self.result
        try:
            info = age.encrypt_file(self.path, self.target, recipients, expected_sha256=data["sha256"],
                                    expected_size=data.get("size"))
        except age.DigestMismatch as exc:
            if exc.expected and exc.actual and isinstance(exc.actual, str):
                self.refuse_changed(exc.expected, exc.actual)
            self.fail("Refused to encrypt %s: %s Its manifest %s describes another file; run backup_verify on it "
                      "(which records the failure) and take a new backup. Nothing was written." % (
                          self.path, exc.msg, self.manifest_path))
        except age.AgeError as exc:
            self.fail("%s Nothing was written." % exc.msg)
        except (OSError, IOError) as exc:
            self.fail("Could not encrypt %s into %s (%s). Nothing was left behind." % (
                self.path, self.target, _problem(exc)))
        section = {
            "format": age.FORMAT,
            "object": os.path.basename(self.target),
            "size": info["size"],
            "sha256": info["sha256"],
            "plaintext_sha256": info["plaintext_sha256"],
            "recipients": wanted,
            "encrypted_at": mf.format_time(self.now()),
        }
        self.result.update(changed=True, size=info["size"], sha256=info["sha256"], plaintext_size=info["plaintext_size"],
                           encryption=section)
        try:
            mf.write_atomic(self.result["checksum_path"], mf.sha256_text(info["sha256"], self.target))
            mf.update(self.manifest_path, {SECTION: section})
        except (mf.ManifestError, OSError, IOError) as exc:
            self.fail("%s was written, but its record could not be (%s); the next run encrypts again." % (
                self.target, _problem(exc)))
        self.result["msg"] = "Encrypted %s (%d bytes) to %s into %s (%d bytes); recorded in %s." % (
            self.path, info["plaintext_size"], _count(wanted), self.target, info["size"], self.manifest_path)
        return self.result

    def backup_manifest(self):
        return verified_manifest(self.path, self.manifest_path, self, "encrypt")

    def intact(self, recorded, data, wanted):
        """Whether the manifest records this encryption (same plaintext, same recipients, same object) and the
        ciphertext there still has the recorded size and sha256 (its ``.sha256`` file too)."""
        if not isinstance(recorded, dict) or recorded.get("format") != age.FORMAT:
            return False
        if recorded.get("object") != os.path.basename(self.target) or recorded.get("plaintext_sha256") != data["sha256"]:
            return False
        if age.records([_Recorded(item) for item in recorded.get("recipients") or [] if isinstance(item, dict)]) \
                != wanted:
            return False
        try:
            if os.path.getsize(self.target) != recorded.get("size"):
                return False
            if mf.read_sha256(self.result["checksum_path"]) != recorded.get("sha256"):
                return False
        except (OSError, mf.ManifestError):
            return False
        return file_sha256(self.target) == recorded.get("sha256")

    def check_plaintext_file(self, data):
        if not os.path.isfile(self.path):
            self.fail("The backup %s does not exist%s." % (
                self.path, " (and no intact ciphertext of it is recorded)" if os.path.exists(self.manifest_path)
                else ""))
        size = os.path.getsize(self.path)
        if isinstance(data.get("size"), int) and size != data["size"]:
            self.fail("Refused to encrypt %s: it has %d bytes but its manifest %s records %d. It changed since it was "
                      "downloaded or verified; run backup_verify on it (which records the failure) and take a new "
                      "backup. Nothing was written." % (self.path, size, self.manifest_path, data["size"]))

    def refuse_changed(self, expected, actual):
        self.fail("Refused to encrypt %s: its sha256 is %s but its manifest %s records %s. It changed since it was "
                  "downloaded or verified; run backup_verify on it (which records the failure) and take a new "
                  "backup. Nothing was written." % (self.path, actual, self.manifest_path, expected))


class _Recorded(object):
    """A recipient as a manifest records it (for comparing sets)."""

    def __init__(self, item):
        self.type = item.get("type")
        self.fingerprint = item.get("fingerprint")

    def record(self):
        return {"type": self.type, "fingerprint": self.fingerprint}


def _count(recipients):
    return "1 recipient" if len(recipients) == 1 else "%d recipients" % len(recipients)


class Decryption(object):
    """One run of backup_decrypt. ``identity`` is the identity's text (or None), ``identity_file`` its path; neither
    is ever put into the result or a message."""

    def __init__(self, params, warn):
        self.p = params
        self.warn = warn
        self.src = params["path"]
        dest = params.get("dest")
        if not dest:
            if not self.src.endswith(age.SUFFIX):
                raise TaskFailed("dest is required when path does not end in %s (got %s)." % (age.SUFFIX, self.src),
                                 changed=False, path=None, sha256=None, size=None, source=self.src,
                                 manifest_path=None)
            dest = self.src[:-len(age.SUFFIX)]
        self.dest = dest
        self.result = dict(changed=False, path=dest, sha256=None, size=None, source=self.src, manifest_path=None)
        self.recorded = None

    def fail(self, msg):
        raise TaskFailed(msg, **self.result)

    def expected(self):
        """(sha256, size or None) the plaintext must have: ``expected_sha256``, or the manifest's record."""
        if self.p.get("expected_sha256"):
            value = self.p["expected_sha256"].strip()
            if not _DIGEST.match(value):
                self.fail("expected_sha256 must be 64 hexadecimal digits (got %r)." % value[:80])
            return value.lower(), None
        stem = self.src[:-len(age.SUFFIX)] if self.src.endswith(age.SUFFIX) else self.src
        path = self.p.get("manifest") or mf.path_beside(stem)
        try:
            data = mf.read(path)
        except mf.ManifestError as exc:
            self.fail("Cannot check what %s decrypts to: its manifest %s." % (self.src, exc))
        if data is None:
            self.fail("Cannot check what %s decrypts to: there is no manifest %s. Give manifest (the backup's .json) "
                      "or expected_sha256." % (self.src, path))
        self.result["manifest_path"] = path
        record = data.get(SECTION)
        if not isinstance(record, dict) or not record.get("plaintext_sha256"):
            self.fail("The manifest %s records no encryption (no %s section with plaintext_sha256); give the manifest "
                      "written by backup_encrypt, or expected_sha256." % (path, SECTION))
        if record.get("object") and record["object"] != os.path.basename(self.src):
            self.fail("The manifest %s records the encryption of %s, not %s." % (
                path, record["object"], os.path.basename(self.src)))
        self.recorded = record
        if not mf.is_good(data):
            self.warn("The manifest %s records a failed verification of this backup (%s): check it before a restore."
                      % (path, mf.failure(data)))
        expected = str(record["plaintext_sha256"]).lower()
        size = data.get("size") if str(data.get("sha256", "")).lower() == expected else None
        return expected, size if isinstance(size, int) else None

    def run(self, identities):
        """``identities``: a callable that returns the pyrage identities (read only when a decryption is needed)."""
        if not os.path.isfile(self.src):
            self.fail("The encrypted backup %s does not exist." % self.src)
        expected, size = self.expected()
        if os.path.isfile(self.dest) and (size is None or os.path.getsize(self.dest) == size) \
                and file_sha256(self.dest) == expected:
            self.result.update(sha256=expected, size=os.path.getsize(self.dest))
            self.result["msg"] = "%s is already there with sha256 %s; nothing to decrypt." % (self.dest, expected)
            return self.result
        try:
            keys = identities()
        except age.AgeError as exc:
            self.fail(exc.msg)
        if self.recorded is not None and os.path.getsize(self.src) != self.recorded.get("size", os.path.getsize(self.src)):
            self.warn("%s has %d bytes but the manifest records %s: it was changed or cut short since it was "
                      "encrypted." % (self.src, os.path.getsize(self.src), self.recorded.get("size")))
        try:
            info = age.decrypt_file(self.src, None if self.p["check_mode"] else self.dest, keys,
                                    expected_sha256=expected, expected_size=size)
        except age.NoMatchingIdentity:
            if self.recorded is not None:
                known = "it was encrypted to %s (as recorded in %s)" % (
                    age.describe(self.recorded.get("recipients")), self.result["manifest_path"])
            else:
                known = "its recipients are not known here (no manifest was read)"
            self.fail("No identity given matches a recipient of %s: %s. Give the identity (identity_file or "
                      "identity) of one of them. Nothing was written." % (self.src, known))
        except age.DecryptError as exc:
            self.fail("%s%s Nothing was written." % (exc.msg, self.changed_ciphertext()))
        except age.DigestMismatch as exc:
            self.fail("%s It is not the backup the manifest describes: the decrypted file was deleted and nothing was "
                      "written." % exc.msg)
        except age.AgeError as exc:
            self.fail("%s Nothing was written." % exc.msg)
        except (OSError, IOError) as exc:
            self.fail("Could not decrypt %s into %s (%s). Nothing was left behind." % (
                self.src, self.dest, _problem(exc)))
        self.result.update(changed=True, sha256=info["sha256"], size=info["size"])
        if self.p["check_mode"]:
            self.result["msg"] = ("Check mode: %s decrypts with the identity given to %d bytes of sha256 %s, as "
                                  "expected; would write %s." % (self.src, info["size"], info["sha256"], self.dest))
        else:
            self.result["msg"] = "Decrypted %s into %s (%d bytes, sha256 %s, as expected)." % (
                self.src, self.dest, info["size"], info["sha256"])
        return self.result

    def changed_ciphertext(self):
        if self.recorded is None or not self.recorded.get("sha256"):
            return ""
        digest = file_sha256(self.src)
        if digest != self.recorded["sha256"]:
            return " Its sha256 is %s but the manifest records %s: the file was changed after it was encrypted." % (
                digest, self.recorded["sha256"])
        return ""
