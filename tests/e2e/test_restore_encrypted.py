# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""confluence_restore of an age-encrypted copy, the key given at run time (issue 23), in one ansible-playbook run.

A Data Center site backup with its manifest is encrypted by backup_encrypt (to an age key made here with pyrage),
its zip deleted as on a host that keeps only the encrypted copy; then confluence_restore is given the .age file:
without a key, with a stranger's key, with a copy whose bytes were changed (nothing uploaded each time, no plaintext
left), in check mode with the key as a string (nothing uploaded, the decrypt_dir left empty), and for real with the
identity file (the emulator receives the plaintext zip, sha256 for sha256). The run is at -vvv, which shows every
result with its invocation: the private keys appear nowhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

import moduledocs
from conftest import DC_CONTEXT, DC_PAT
from test_backup_verify import reseal
from test_datacenter import make_backup_zip, sha256_file

pyrage = pytest.importorskip("pyrage")

NAME = "confluence-wiki.example.com-20261122T020304Z"
PRIVATE_PREFIX = ".confluence_restore-"


def write_key(path, identity):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# created: 2026-11-22T02:03:04Z\n# public key: %s\n%s\n" % (identity.to_public(), identity))


def test_restore_an_encrypted_copy_with_the_key_given_at_run_time(emulator, run_playbook, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir(mode=0o700)
    zip_path = make_backup_zip(str(folder / (NAME + ".zip")), export_type="all", payload_size=256 * 1024)
    reseal(zip_path, {"format": 1, "product": "confluence", "deployment": "datacenter",
                      "site": "https://wiki.example.com/confluence", "site_label": "wiki.example.com",
                      "scope": "site", "backup_time": "2026-11-22T02:03:04Z", "verified": "zip-crc"})
    plain, plain_size = sha256_file(zip_path), os.path.getsize(zip_path)
    src = zip_path + ".age"
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    identity, stranger = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    write_key(str(keys / "age-identity.txt"), identity)
    write_key(str(keys / "stranger.txt"), stranger)
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o700)
    # A copy of the ciphertext with one byte changed near its end (a payload chunk), with the same manifest.
    damaged = tmp_path / "damaged"
    damaged.mkdir(mode=0o700)

    def restore(name, **args):
        task_args = dict(url=emulator.url + DC_CONTEXT, scope="site", src=src, confirm=True, poll_interval=0.1,
                         wait_timeout=120)
        task_args.update(args)
        return {"name": "Restore " + name, "atlassian_ops.backup.confluence_restore": task_args, "register": name,
                "ignore_errors": True}

    def leftovers(name, path):
        return {"name": "Look for decrypted files in " + name, "register": name,
                "ansible.builtin.find": {"paths": [path], "hidden": True, "file_type": "any", "recurse": True,
                                         "patterns": [PRIVATE_PREFIX + "*", "*.zip", "*.zip.part"]}}

    names = ("encrypted", "no_key", "wrong", "after_wrong", "tampered", "check", "after_check", "restored", "after")
    tasks = [
        {"name": "Encrypt the backup", "register": "encrypted", "atlassian_ops.backup.backup_encrypt": {
            "path": zip_path, "recipients": [str(identity.to_public())]}},
        {"name": "Keep only the encrypted copy, as an off-site store does", "ansible.builtin.file": {
            "path": zip_path, "state": "absent"}},
        {"name": "Make a damaged copy", "ansible.builtin.shell": (
            "cp {src} {src}.sha256 {json} {d}/ && printf 'X' | dd of={d}/{name}.zip.age bs=1 seek=$(( $(stat -c %s {src}) - 40 ))"
            " conv=notrunc status=none").format(src=src, json=zip_path[:-4] + ".json", d=str(damaged), name=NAME),
         "changed_when": True},
        restore("no_key", identity=None),
        restore("wrong", identity_file=str(keys / "stranger.txt")),
        leftovers("after_wrong", str(folder)),
        restore("tampered", src=str(damaged / (NAME + ".zip.age")), identity_file=str(keys / "age-identity.txt")),
        dict(restore("check", identity="{{ lookup('ansible.builtin.file', '%s') }}" % (keys / "age-identity.txt"),
                     decrypt_dir=str(scratch)), check_mode=True),
        leftovers("after_check", str(scratch)),
        restore("restored", identity_file=str(keys / "age-identity.txt")),
        leftovers("after", str(tmp_path)),
        {"name": "Save the results", "save_result": {
            "content": "{{ {%s} | to_nice_json }}" % ", ".join("'%s': %s" % (n, n) for n in names),
            "dest": "{{ result_file }}"}, "check_mode": False},
    ]
    playbook = tmp_path / "restore-encrypted.yml"
    playbook.write_text(json.dumps([{"name": "Restore an encrypted copy", "hosts": "localhost", "gather_facts": False,
                                     "tasks": tasks}]))
    # No identity in the environment (the no_key case), a PAT for the drill server.
    run = run_playbook(name=str(playbook), module=None, verbosity=3,
                       env={"ATLASSIAN_PAT": DC_PAT, "ATLASSIAN_BACKUP_AGE_IDENTITY": None})
    assert run.rc == 0 and run.result, run
    r = run.result

    # The private keys are nowhere: not in the -vvv output (every result with its invocation), not in the results.
    for secret in (str(identity), str(stranger)):
        assert secret not in run.output and secret not in json.dumps(r), "a private key leaked"
    for name in ("no_key", "wrong", "tampered", "check", "restored"):
        assert not moduledocs.undocumented_keys("confluence_restore", r[name]), (name, r[name])
        assert not moduledocs.missing_always_keys("confluence_restore", r[name]), (name, r[name])
    assert r["encrypted"]["plaintext_sha256"] == plain and not os.path.exists(zip_path)

    assert r["no_key"]["failed"] and "is encrypted (age): give the private key" in r["no_key"]["msg"], r["no_key"]
    assert r["no_key"]["decrypted"] is False
    wrong = r["wrong"]
    assert wrong["failed"] and "No identity given matches a recipient of" in wrong["msg"], wrong
    assert "x25519 %s" % identity.to_public() in wrong["msg"] and wrong["msg"].endswith(". No decrypted data was kept, and nothing was uploaded.")
    assert wrong["decrypted"] is False
    assert r["after_wrong"]["matched"] == 0, r["after_wrong"]["files"]
    tampered = r["tampered"]
    assert tampered["failed"] and "nothing was uploaded." in tampered["msg"], tampered
    assert "the file was changed after it was encrypted" in tampered["msg"], tampered

    check = r["check"]
    assert not check.get("failed") and check["would_restore"] is True and check["decrypted"] is True, check
    assert check["sha256"] == plain and check["file_name"] == NAME + ".zip"
    assert r["after_check"]["matched"] == 0 and os.listdir(str(scratch)) == []

    restored = r["restored"]
    assert not restored.get("failed") and restored["status"] == "complete", restored
    assert restored["decrypted"] is True and restored["sha256"] == plain and restored["file_name"] == NAME + ".zip"
    assert restored["uploaded_bytes"] == plain_size == restored["size"]
    # No decrypted zip, .part or private folder anywhere under the test's folder once the run is over.
    assert r["after"]["matched"] == 0, r["after"]["files"]

    # The server got exactly one upload, the plaintext zip; nothing before it (failures, check mode) wrote anything.
    state = emulator.state()["dc"]
    assert len(state["uploads"]) == 1, state["uploads"]
    upload = state["uploads"][0]
    assert upload["sha256"] == plain and upload["is_zip"] is True and upload["file_name"] == NAME + ".zip", upload
    writes = [entry for entry in state["requests"] if entry["method"] in ("POST", "PUT")]
    assert len(writes) == 1 and writes[0]["path"].endswith("/restore/site/upload"), state["requests"]
