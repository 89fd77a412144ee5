# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""age encryption (crypto/age.py) and its workflows (store/encryption.py), with keys made in the test: an age
X25519 key (pyrage) and an SSH ed25519 key (cryptography). Each identity decrypts to the plaintext's sha256; a wrong
identity, a tampered file or a changed backup fail and leave nothing; the ciphertext holds no plaintext."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess
import zipfile

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Decryption, Encryption
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import write_sidecars

pyrage = pytest.importorskip("pyrage")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")

TITLE = b"Page title: Quarterly board minutes (CONFIDENTIAL)"


def ssh_keypair():
    """(public key line, OpenSSH private key text) of a new ed25519 key."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return public + " alice@example", private


def age_keypair():
    """(recipient, identity file text as age-keygen writes it) of a new X25519 key."""
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    return recipient, "# created: 2026-11-22T02:03:04Z\n# public key: %s\n%s\n" % (recipient, identity)


@pytest.fixture(scope="module")
def keys():
    ssh_public, ssh_private = ssh_keypair()
    age_public, age_private = age_keypair()
    return dict(ssh_public=ssh_public, ssh_private=ssh_private, age_public=age_public, age_private=age_private)


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def plaintext(path, size=300 * 1024):
    """A file of ``size`` bytes (several age chunks) with TITLE in it, among random bytes."""
    with open(path, "wb") as handle:
        handle.write(os.urandom(size // 2) + TITLE + os.urandom(size - size // 2 - len(TITLE)))
    return path


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


# ----------------------------------------------------------------------------------------------------- recipients
def test_recipients_of_both_kinds_with_their_fingerprints(keys, tmp_path):
    found = age.parse_recipients(["  " + keys["age_public"] + "\n", keys["ssh_public"]])
    assert [r.type for r in found] == ["x25519", "ssh-ed25519"]
    assert found[0].fingerprint == keys["age_public"]
    assert found[1].fingerprint.startswith("SHA256:") and not found[1].fingerprint.endswith("=")
    assert found[1].comment == "alice@example"
    if shutil.which("ssh-keygen"):  # the fingerprint is the one OpenSSH prints
        pub = tmp_path / "key.pub"
        pub.write_text(keys["ssh_public"] + "\n")
        printed = subprocess.run(["ssh-keygen", "-lf", str(pub)], stdout=subprocess.PIPE, check=True,
                                 universal_newlines=True).stdout.split()[1]
        assert found[1].fingerprint == printed
    assert age.records(found) == sorted([{"type": "x25519", "fingerprint": keys["age_public"]},
                                         {"type": "ssh-ed25519", "fingerprint": found[1].fingerprint}],
                                        key=lambda r: r["fingerprint"])


def test_a_recipients_file_in_one_entry_and_a_key_given_twice(keys):
    text = "# the restore admins\n\n%s\n%s\n" % (keys["age_public"], keys["ssh_public"])
    found = age.parse_recipients([text, keys["age_public"]])
    assert [r.type for r in found] == ["x25519", "ssh-ed25519"]


@pytest.mark.parametrize("entry, words", [
    ("age1notakey", ["recipients[1]", "not a valid age X25519 recipient"]),
    ("ssh-ed25519 AAAA!!!", ["recipients[1]", "not base64"]),
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBci811wV5okK4cJYU6AidN6i9CF+JJsoIdB2BkLCOUH", ["recipients[1]", "ssh-ed25519"]),
    ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=", ["recipients[1]", "ecdsa-sha2-nistp256", "cannot encrypt"]),
    ("hello", ["recipients[1]", "neither an age X25519 recipient"]),
])
def test_a_wrong_entry_is_named(keys, entry, words):
    with pytest.raises(age.RecipientError) as info:
        age.parse_recipients([keys["age_public"], entry])
    for word in words:
        assert word in info.value.msg, info.value.msg


def test_a_private_key_given_as_recipient_is_refused_unseen(keys):
    secret = keys["age_private"].splitlines()[-1]
    for entry in (secret, keys["ssh_private"]):
        with pytest.raises(age.RecipientError) as info:
            age.parse_recipients([keys["ssh_public"], "#c\n" + entry])
        assert "recipients[1] line 2 is a private key" in info.value.msg
        assert secret not in info.value.msg and "PRIVATE" not in info.value.msg
    with pytest.raises(age.RecipientError, match="names no recipient"):
        age.parse_recipients(["", "# nobody"])


# ------------------------------------------------------------------------------------------------------ identities
def test_identities_of_both_kinds_and_bad_ones_unseen(keys, tmp_path):
    assert len(age.parse_identities(keys["age_private"].encode(), "identity_file f")) == 1
    assert len(age.parse_identities(keys["ssh_private"], "identity")) == 1
    secret = keys["age_private"].splitlines()[-1]
    broken = secret[:-4] + "QQQQ"
    for text, words in ((broken, "line 1 is not a valid age identity"), ("AGE-PLUGIN-YUBIKEY-1XYZ", "plugin"),
                        ("password123", "line 1 is neither an age identity"), ("# only a comment\n", "holds no identity"),
                        (keys["ssh_private"].replace("b3Bl", "AAAA", 1), "not a usable SSH private key")):
        with pytest.raises(age.IdentityError) as info:
            age.parse_identities(text, "identity_file /keys/k")
        assert words in info.value.msg and "/keys/k" in info.value.msg, info.value.msg
        assert broken not in info.value.msg and "password123" not in info.value.msg
    if shutil.which("ssh-keygen"):
        protected = str(tmp_path / "protected")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", protected], check=True)
        with pytest.raises(age.IdentityError, match="passphrase-protected"):
            age.parse_identities(age.read_identity_file(protected), "identity_file " + protected)
    with pytest.raises(age.IdentityError, match="cannot be read"):
        age.read_identity_file(str(tmp_path / "missing"))
    assert secret in age.secret_strings(keys["age_private"])


# --------------------------------------------------------------------------------------------------------- streams
def test_two_recipients_each_identity_decrypts_and_the_ciphertext_holds_no_plaintext(keys, tmp_path):
    src = plaintext(str(tmp_path / "b.zip"))
    digest = sha256(src)
    dest = str(tmp_path / "b.zip.age")
    info = age.encrypt_file(src, dest, age.parse_recipients([keys["age_public"], keys["ssh_public"]]),
                            expected_sha256=digest, expected_size=os.path.getsize(src))
    assert info["plaintext_sha256"] == digest and info["plaintext_size"] == os.path.getsize(src)
    assert info["sha256"] == sha256(dest) and info["size"] == os.path.getsize(dest)
    assert oct(os.stat(dest).st_mode & 0o777) == "0o600" and leftovers(str(tmp_path)) == []
    with open(dest, "rb") as handle:
        cipher = handle.read()
    assert cipher.startswith(b"age-encryption.org/v1\n")
    assert TITLE not in cipher and TITLE[:16] not in cipher
    for name, text in (("age", keys["age_private"]), ("ssh", keys["ssh_private"])):
        out = str(tmp_path / ("out-%s.zip" % name))
        result = age.decrypt_file(dest, out, age.parse_identities(text, name), expected_sha256=digest)
        assert result["sha256"] == digest == sha256(out) and result["ciphertext_sha256"] == info["sha256"]
    checked = age.decrypt_file(dest, None, age.parse_identities(keys["age_private"], "identity"), expected_sha256=digest)
    assert checked["sha256"] == digest


def test_wrong_identity_tampered_file_and_wrong_digest_leave_nothing(keys, tmp_path):
    src = plaintext(str(tmp_path / "b.zip"))
    dest = str(tmp_path / "b.zip.age")
    age.encrypt_file(src, dest, age.parse_recipients([keys["ssh_public"]]))
    out = str(tmp_path / "out.zip")
    with pytest.raises(age.NoMatchingIdentity):
        age.decrypt_file(dest, out, age.parse_identities(keys["age_private"], "identity"))
    assert not os.path.exists(out) and leftovers(str(tmp_path)) == []

    identity = age.parse_identities(keys["ssh_private"], "identity")
    with pytest.raises(age.DigestMismatch):  # the right key, but not the plaintext the manifest says
        age.decrypt_file(dest, out, identity, expected_sha256="0" * 64)
    assert not os.path.exists(out) and leftovers(str(tmp_path)) == []

    with open(dest, "r+b") as handle:  # one byte of the payload's last chunk
        handle.seek(-100, os.SEEK_END)
        byte = handle.read(1)
        handle.seek(-100, os.SEEK_END)
        handle.write(bytes([byte[0] ^ 1]))
    with pytest.raises(age.DecryptError) as info:
        age.decrypt_file(dest, out, identity)
    assert not isinstance(info.value, age.NoMatchingIdentity) and "damaged" in info.value.msg
    assert not os.path.exists(out) and leftovers(str(tmp_path)) == []


def test_a_changed_plaintext_is_refused_before_the_rename(keys, tmp_path):
    src = plaintext(str(tmp_path / "b.zip"))
    dest = str(tmp_path / "b.zip.age")
    with pytest.raises(age.DigestMismatch) as info:
        age.encrypt_file(src, dest, age.parse_recipients([keys["age_public"]]), expected_sha256="1" * 64)
    assert info.value.actual == sha256(src)
    assert not os.path.exists(dest) and leftovers(str(tmp_path)) == []


def test_pyrage_reads_the_source_in_small_pieces(keys, tmp_path):
    """The streaming the modules rely on: pyrage asks the Python reader for small reads, never the whole file."""
    src = plaintext(str(tmp_path / "b.zip"), size=2 * 1024 * 1024)
    asked = []

    class Reader(object):
        def __init__(self, handle):
            self.handle = handle

        def read(self, size=-1):
            asked.append(size)
            return self.handle.read(size)

    with open(src, "rb") as source, open(str(tmp_path / "b.age"), "wb") as target:
        pyrage.encrypt_io(Reader(source), target, [age.parse_recipient(keys["age_public"]).obj])
    assert len(asked) > 16 and 0 < max(asked) <= 1024 * 1024, asked[:5]


# ------------------------------------------------------------------------------------------------------- workflows
def backup(folder, **extra):
    """A backup as the collection leaves it: a zip with TITLE in it, its .sha256 file and its manifest."""
    path = os.path.join(str(folder), "confluence-example.atlassian.net-20261122T020304Z.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("entities.xml", b"<hibernate-generic>" + TITLE + os.urandom(70000) + b"</hibernate-generic>")
    record = dict({"format": 1, "product": "confluence", "file": os.path.basename(path), "size": os.path.getsize(path),
                   "sha256": sha256(path), "verified": "zip-crc", "backup_time": "2026-11-22T02:03:04Z"}, **extra)
    write_sidecars(path, record)
    return path


def encrypt(path, recipients, check_mode=False, **params):
    warnings = []
    result = Encryption(dict(dict(path=path, recipients=recipients, dest=None, force=False, check_mode=check_mode),
                             **params), warnings.append).run()
    return result


def decrypt(path, identity, check_mode=False, **params):
    def identities():
        return age.parse_identities(identity, "identity")
    return Decryption(dict(dict(path=path, dest=None, manifest=None, expected_sha256=None, check_mode=check_mode),
                           **params), lambda msg: None).run(identities)


def test_encrypt_records_is_idempotent_and_decrypts_back(keys, tmp_path):
    path = backup(tmp_path)
    manifest_path = mf.path_beside(path)
    both = [keys["age_public"], keys["ssh_public"]]
    before = os.listdir(str(tmp_path))
    assert encrypt(path, both, check_mode=True)["changed"] is True
    assert os.listdir(str(tmp_path)) == before and "encryption" not in mf.read(manifest_path)

    first = encrypt(path, both)
    assert first["changed"] is True and first["path"] == path + ".age" and first["plaintext_sha256"] == sha256(path)
    section = mf.read(manifest_path)["encryption"]
    assert section == first["encryption"] and section["format"] == "age"
    assert section["object"] == os.path.basename(path) + ".age" and section["sha256"] == sha256(path + ".age")
    assert sorted(r["type"] for r in section["recipients"]) == ["ssh-ed25519", "x25519"]
    assert mf.read_sha256(path + ".age.sha256") == section["sha256"]
    assert mf.read(manifest_path)["sha256"] == sha256(path)  # the rest of the manifest is kept

    again = encrypt(path, list(reversed(both)) + [keys["age_public"]])  # the same set, another order
    assert again["changed"] is False and again["encryption"] == section
    assert encrypt(path, both, check_mode=True)["changed"] is False
    assert encrypt(path, [keys["age_public"]])["changed"] is True  # another set of recipients
    assert [r["type"] for r in mf.read(manifest_path)["encryption"]["recipients"]] == ["x25519"]
    assert encrypt(path, [keys["age_public"]], force=True)["changed"] is True

    original = sha256(path)
    os.rename(path, path + ".orig")  # the zip may go once its ciphertext is recorded intact
    assert encrypt(path, [keys["age_public"]])["changed"] is False
    result = decrypt(path + ".age", keys["age_private"])
    assert result["changed"] is True and result["sha256"] == original == sha256(path)
    assert result["manifest_path"] == manifest_path
    assert decrypt(path + ".age", "not even read")["changed"] is False  # dest is there with the right sha256
    other = str(tmp_path / "restore" / "copy.zip")
    os.mkdir(str(tmp_path / "restore"))
    assert decrypt(path + ".age", keys["age_private"], dest=other, expected_sha256=original.upper())["sha256"] == original


def test_refused_backups_write_nothing(keys, tmp_path):
    path = backup(tmp_path, verified=False, verification_failure={"level": "archive", "reason": "bad CRC", "at": "x"})
    with pytest.raises(TaskFailed) as info:
        encrypt(path, [keys["age_public"]])
    assert "last verification failed (archive: bad CRC)" in info.value.msg

    folder = tmp_path / "changed"
    folder.mkdir()
    path = backup(folder)
    with open(path, "r+b") as handle:  # same size, other bytes
        handle.seek(100)
        handle.write(b"X")
    names = sorted(os.listdir(str(folder)))
    for check_mode in (True, False):
        with pytest.raises(TaskFailed) as info:
            encrypt(path, [keys["age_public"]], check_mode=check_mode)
        assert "changed since it was downloaded or verified" in info.value.msg and sha256(path) in info.value.msg
    assert sorted(os.listdir(str(folder))) == names

    with pytest.raises(TaskFailed) as info:
        encrypt(path, [keys["age_public"], "ssh-dss AAAAB3NzaC1kc3M="])
    assert "recipients[1]" in info.value.msg


def test_wrong_identity_names_the_recipients_and_a_tampered_copy_is_detected(keys, tmp_path):
    path = backup(tmp_path)
    result = encrypt(path, [keys["ssh_public"]])
    os.unlink(path)
    with pytest.raises(TaskFailed) as info:
        decrypt(path + ".age", keys["age_private"])
    fingerprint = result["recipients"][0]["fingerprint"]
    assert "No identity given matches a recipient of" in info.value.msg
    assert "ssh-ed25519 %s" % fingerprint in info.value.msg and "Nothing was written" in info.value.msg
    assert keys["age_private"].splitlines()[-1] not in info.value.msg and not os.path.exists(path)

    with open(path + ".age", "r+b") as handle:
        handle.seek(-10, os.SEEK_END)
        handle.write(b"0123456789")
    with pytest.raises(TaskFailed) as info:
        decrypt(path + ".age", keys["ssh_private"])
    assert "the file was changed after it was encrypted" in info.value.msg and not os.path.exists(path)
    assert leftovers(str(tmp_path)) == []
