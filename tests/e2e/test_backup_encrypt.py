# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_encrypt and backup_decrypt through one ansible-playbook run (issue 23).

A backup made as test_backup_verify makes one (the emulator's BackupZip, the collection's sidecar writer) is
encrypted to two recipients (an SSH ed25519 key and an age X25519 key, made here), encrypted again (nothing to do),
decrypted with each identity file, with the key as a string and from the environment, with a wrong key (the
documented message, naming the recipients), and in check mode (nothing written). The private keys appear nowhere in
the output (run with -v) or the results. The module talks to no service; the emulator is what run_playbook needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

import moduledocs
from test_backup_verify import sha256_file, write_backup

pyrage = pytest.importorskip("pyrage")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")

WRONG_KEY_MESSAGE = "No identity given matches a recipient of"


def make_keys(folder):
    """An SSH ed25519 key pair and an age X25519 key pair in ``folder`` (mode 0700), and a stranger's age identity.

    Returns the paths: ``ssh`` (private), ``ssh_pub``, ``age`` (identity file as age-keygen writes it), ``age_pub``
    (the recipient), ``recipients`` (an age recipients file naming both), ``stranger`` (an identity of neither), and
    ``secrets``: every line of the private keys, which no output may hold."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    key = ed25519.Ed25519PrivateKey.generate()
    ssh_private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                    serialization.NoEncryption()).decode()
    ssh_public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode() + " alice@example"
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    stranger = pyrage.x25519.Identity.generate()
    paths = dict((name, os.path.join(folder, file_name)) for name, file_name in (
        ("ssh", "id_ed25519"), ("ssh_pub", "alice_ed25519.pub"), ("age", "age-identity.txt"),
        ("age_pub", "break-glass.txt"), ("recipients", "recipients.txt"), ("stranger", "stranger.txt")))
    texts = {
        "ssh": ssh_private, "ssh_pub": ssh_public + "\n",
        "age": "# created: 2026-11-22T02:03:04Z\n# public key: %s\n%s\n" % (recipient, identity),
        "age_pub": recipient + "\n", "recipients": "# restore admins\n%s\n%s\n" % (ssh_public, recipient),
        "stranger": "%s\n" % stranger,
    }
    for name, text in texts.items():
        fd = os.open(paths[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    paths["secrets"] = [str(identity), str(stranger)] + [
        line for line in ssh_private.splitlines() if line and not line.startswith("-----")]
    return paths


def test_encrypt_to_two_recipients_and_decrypt_with_each(emulator, run_playbook, dest, tmp_path):
    path = write_backup(dest, 22, size=1024 * 1024, inventory=dict(spaces=2, pages=30, blog_posts=2, comments=3,
                                                                   attachments=2))
    plain_digest = sha256_file(path)
    with open(path, "rb") as handle:
        title = b"Page 3 of "
        assert title in handle.read()  # the zip stores page titles in the clear
    keys = make_keys(str(tmp_path / "keys"))
    restore = str(tmp_path / "restore")
    manifest = path[:-4] + ".json"

    def decrypt(name, dest_name, **args):
        task = {"atlassian_ops.backup.backup_decrypt": dict(dict(path="{{ zip }}.age", dest=restore + "/" + dest_name),
                                                            **args),
                "register": name, "ignore_errors": True}
        return dict(task, name="Decrypt " + name)

    def encrypt(name, recipients, **extra):
        return dict({"name": "Encrypt " + name, "register": name, "ignore_errors": True,
                     "atlassian_ops.backup.backup_encrypt": {"path": "{{ zip }}", "recipients": recipients}}, **extra)

    def stat(name, target):
        return {"name": "Stat " + name, "register": name, "ansible.builtin.stat": {"path": target, "get_checksum": True}}

    both = [keys["ssh_pub"], keys["age_pub"]]
    lookups = ["{{ lookup('ansible.builtin.file', '%s') }}" % p for p in both]
    names = ("check", "encrypted", "again", "check_again", "with_ssh", "with_age", "with_string", "from_env",
             "ssh_again", "wrong", "decrypt_check", "manifest_before", "after_check", "manifest_after",
             "after_decrypt_check", "mistaken")
    tasks = [
        stat("manifest_before", manifest),
        encrypt("check", lookups, check_mode=True),
        stat("after_check", path + ".age"),
        stat("manifest_after", manifest),
        encrypt("encrypted", lookups),
        encrypt("again", ["{{ lookup('ansible.builtin.file', '%s').splitlines() | last }}" % keys["recipients"],
                          lookups[0]]),
        encrypt("check_again", ["{{ lookup('ansible.builtin.file', '%s') }}" % keys["recipients"]], check_mode=True),
        decrypt("with_ssh", "ssh.zip", identity_file=keys["ssh"]),
        decrypt("with_age", "age.zip", identity_file=keys["age"]),
        decrypt("with_string", "string.zip", identity="{{ lookup('ansible.builtin.file', '%s') }}" % keys["ssh"]),
        decrypt("from_env", "env.zip"),
        decrypt("ssh_again", "ssh.zip", identity_file=keys["ssh"]),
        decrypt("wrong", "wrong.zip", identity_file=keys["stranger"]),
        dict(decrypt("decrypt_check", "check.zip", identity_file=keys["age"]), check_mode=True),
        stat("after_decrypt_check", restore + "/check.zip"),
        # A private key given where a public key belongs: refused, and never echoed (invocation, -v output).
        encrypt("mistaken", [lookups[1], "{{ lookup('ansible.builtin.file', '%s') }}" % keys["ssh"]]),
        {"name": "Save the results", "save_result": {
            "content": "{{ {%s} | to_nice_json }}" % ", ".join("'%s': %s" % (n, n) for n in names),
            "dest": "{{ result_file }}"}, "check_mode": False},
    ]
    playbook = tmp_path / "encrypt.yml"
    playbook.write_text(json.dumps([{"name": "Encrypt and decrypt", "hosts": "localhost", "gather_facts": False,
                                     "vars": {"zip": path}, "tasks": tasks}]))
    with open(keys["age"]) as handle:
        env_identity = handle.read()
    run = run_playbook(name=str(playbook), module=None, verbosity=3,
                       env={"ATLASSIAN_BACKUP_AGE_IDENTITY": env_identity})
    assert run.rc == 0 and run.result, run
    r = run.result

    # The private keys are nowhere in the output (-vvv shows every result with its invocation) or the results.
    for secret in keys["secrets"]:
        assert secret not in run.output and secret not in json.dumps(r), "a private key leaked"

    for name in names:
        module = "backup_encrypt" if name in ("check", "encrypted", "again", "check_again", "mistaken") else "backup_decrypt"
        if "stat" in r[name] or name.startswith(("manifest_", "after_")):
            continue
        assert not moduledocs.undocumented_keys(module, r[name]), (name, r[name])
        assert not moduledocs.missing_always_keys(module, r[name]), (name, r[name])

    # Check mode: nothing written, not even the manifest.
    assert r["check"]["changed"] is True and not r["check"].get("failed"), r["check"]
    assert r["after_check"]["stat"]["exists"] is False
    assert r["manifest_after"]["stat"]["checksum"] == r["manifest_before"]["stat"]["checksum"]

    encrypted = r["encrypted"]
    assert encrypted["changed"] is True and not encrypted.get("failed"), encrypted
    assert encrypted["path"] == path + ".age" and encrypted["plaintext_sha256"] == plain_digest
    assert sorted(x["type"] for x in encrypted["recipients"]) == ["ssh-ed25519", "x25519"]
    with open(manifest) as handle:
        section = json.load(handle)["encryption"]
    assert section == encrypted["encryption"] and section["sha256"] == sha256_file(path + ".age")
    with open(path + ".age", "rb") as handle:
        assert title not in handle.read()  # the ciphertext holds no plaintext

    # Same plaintext, same set of recipients (another spelling), intact ciphertext: nothing to do.
    assert r["again"]["changed"] is False and r["again"]["encryption"] == section, r["again"]
    assert r["check_again"]["changed"] is False, r["check_again"]

    for name in ("with_ssh", "with_age", "with_string", "from_env"):
        assert r[name]["changed"] is True and r[name]["sha256"] == plain_digest, (name, r[name])
        assert sha256_file(r[name]["path"]) == plain_digest and r[name]["manifest_path"] == manifest
    assert r["ssh_again"]["changed"] is False and r["ssh_again"]["sha256"] == plain_digest

    wrong = r["wrong"]
    assert wrong["failed"] is True and WRONG_KEY_MESSAGE in wrong["msg"], wrong
    for item in encrypted["recipients"]:
        assert "%s %s" % (item["type"], item["fingerprint"]) in wrong["msg"]
    assert not os.path.exists(restore + "/wrong.zip")

    assert r["decrypt_check"]["changed"] is True and r["decrypt_check"]["sha256"] == plain_digest
    assert r["after_decrypt_check"]["stat"]["exists"] is False
    assert sorted(os.listdir(restore)) == ["age.zip", "env.zip", "ssh.zip", "string.zip"]
    assert r["mistaken"]["failed"] is True and "private key" in r["mistaken"]["msg"], r["mistaken"]
