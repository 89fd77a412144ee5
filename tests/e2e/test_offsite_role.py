# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scheduled_backup's off-site copies encrypted with age, on S3 (moto) and Azure Blob (Azurite) in one run
(issue 23): two recipients, each of whose private keys decrypts the copy to the backup's sha256 while a stranger's
does not; no plaintext in the objects; no private key anywhere on the backup host, in its files or in -vvv output;
the stores' retention over encrypted copies; a tampered blob caught by the next run and left as found."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import zipfile

import pytest

from test_backup_encrypt import make_keys
from test_scheduled_backup import S3_ENV, by_name, credentials, run_role, s3_vars, three_targets

pyrage = pytest.importorskip("pyrage")
blob = pytest.importorskip("azure.storage.blob")

OLD_DAYS = ("20250101", "20250102")


def seed_encrypted(put, prefix, label, day):
    """An old encrypted copy as backup_offsite leaves it: .zip.age, its .sha256 and the manifest recording it."""
    base = "confluence-%s-%sT020000Z" % (label, day)
    ciphertext = ("old ciphertext " + day).encode()
    digest = hashlib.sha256(ciphertext).hexdigest()
    manifest = {"format": 1, "product": "confluence", "site_label": label, "deployment": "cloud",
                "file": base + ".zip", "size": 100, "sha256": "0" * 64,
                "backup_time": "%s-%s-%sT02:00:00Z" % (day[:4], day[4:6], day[6:]),
                "encryption": {"format": "age", "object": base + ".zip.age", "size": len(ciphertext),
                               "sha256": digest, "plaintext_sha256": "0" * 64, "recipients": []}}
    put(prefix + base + ".zip.age", ciphertext)
    put(prefix + base + ".zip.age.sha256", ("%s  %s.zip.age\n" % (digest, base)).encode())
    put(prefix + base + ".json", json.dumps(manifest).encode())
    return base + ".zip.age"


def test_encrypted_copies_on_s3_and_azure_are_readable_only_by_the_recipients(emulator, run_playbook, tmp_path, s3,
                                                                              azurite):
    keys = make_keys(str(tmp_path / "keys"))
    with open(keys["recipients"]) as handle:
        recipients = [handle.read()]
    service = blob.BlobServiceClient.from_connection_string(azurite["connection_string"])
    container = service.create_container("backups-" + os.path.basename(str(tmp_path)).lower().replace("_", "-")[-30:])
    label = emulator.url.split("://")[1].replace(":", "_")
    seeded = []
    for day in OLD_DAYS:
        seeded.append(seed_encrypted(lambda key, data: s3["client"].put_object(Bucket=s3["bucket"], Key=key, Body=data),
                                     "nightly/site-a/", label, day))
        seed_encrypted(container.upload_blob, "nightly/site-a/", label, day)

    target = [dict(three_targets(emulator)[0], keep_daily=1, keep_weekly=0, keep_monthly=0, keep_yearly=0)]
    env = dict(credentials(emulator), AZURE_STORAGE_CONNECTION_STRING=azurite["connection_string"], **S3_ENV)
    variables = dict(s3_vars(s3), scheduled_backup_azure={"container": container.container_name, "prefix": "nightly"},
                     scheduled_backup_encrypt_recipients=recipients)
    first = run_role(run_playbook, tmp_path, target, env=env, verbosity=3, **variables)
    assert first.rc == 0, first.output[-4000:]
    entry = by_name(first)["site-a"]
    name = os.path.basename(entry["path"]) + ".age"
    base = name[:-len(".zip.age")]
    assert entry["s3"] == "s3://%s/nightly/site-a/%s" % (s3["bucket"], name), entry
    assert entry["azure"].endswith("/%s/nightly/site-a/%s" % (container.container_name, name)), entry
    assert entry["s3_deleted"] == seeded and entry["azure_deleted"] == seeded, entry
    assert "In the bucket, retention deleted 2 old copies" in entry["line"], entry["line"]
    assert "In the container, retention deleted 2 old copies" in entry["line"], entry["line"]

    s3_names = sorted(o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"])["Contents"])
    blob_names = sorted(b.name for b in container.list_blobs())
    wanted = sorted("nightly/site-a/" + n for n in (name, name + ".sha256", base + ".json"))
    assert s3_names == wanted and blob_names == wanted, (s3_names, blob_names)

    with open(entry["path"], "rb") as handle:
        plaintext = handle.read()
    with zipfile.ZipFile(entry["path"]) as archive:
        member = archive.namelist()[0].encode()
    assert member in plaintext
    ssh_identity = pyrage.ssh.Identity.from_buffer(open(keys["ssh"], "rb").read())
    age_identity = pyrage.x25519.Identity.from_str(keys["secrets"][0])
    stranger = pyrage.x25519.Identity.from_str(keys["secrets"][1])
    for ciphertext in (s3["client"].get_object(Bucket=s3["bucket"], Key="nightly/site-a/" + name)["Body"].read(),
                       container.download_blob("nightly/site-a/" + name).readall()):
        assert member not in ciphertext and plaintext[:4] not in ciphertext[:200]
        for identity in (ssh_identity, age_identity):
            assert hashlib.sha256(pyrage.decrypt(ciphertext, [identity])).hexdigest() == entry["sha256"]
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(ciphertext, [stranger])
    manifest = json.loads(container.download_blob("nightly/site-a/" + base + ".json").readall())
    assert manifest["encryption"]["plaintext_sha256"] == entry["sha256"]
    assert len(manifest["encryption"]["recipients"]) == 2 and "azure_blob" in manifest["encryption"]["checksums"]

    # No private key on the backup host: not in -vvv output, not in any file the run wrote.
    written = []
    for folder, dummy, files in os.walk(str(tmp_path / "backups")):
        written += [os.path.join(folder, f) for f in files]
    assert not [f for f in written if f.endswith(".age")], "the local copy stays as it is"
    for secret in keys["secrets"]:
        assert secret not in first.output
        for path in written:
            with open(path, "rb") as handle:
                assert secret.encode() not in handle.read(), path

    # A blob changed after it was written: the next run fails the target naming it, and leaves it as found.
    tampered = container.get_blob_client("nightly/site-a/" + name)
    changed = bytearray(tampered.download_blob().readall())
    changed[len(changed) // 2] ^= 0xFF
    tampered.upload_blob(bytes(changed), overwrite=True)
    second = run_role(run_playbook, tmp_path, target, env=env, **variables)
    assert second.rc != 0, second.output[-3000:]
    entry = by_name(second)["site-a"]
    assert entry["status"] == "failed" and "is not the verified backup" in entry["msg"], entry
    assert container.container_name in entry["msg"] and "differs" in entry["msg"], entry["msg"]
    assert tampered.download_blob().readall() == bytes(changed), "left as found, for inspection"


def test_encrypt_local_keeps_only_the_ciphertext_which_the_next_run_checks_and_reuses(emulator, run_playbook, tmp_path,
                                                                                      s3):
    """scheduled_backup_encrypt_local: the local backup is its .zip.age (the zip removed once encrypted and copied),
    the bucket holds the same bytes, and the next run within max_age takes no backup: its verification, max_age
    reuse and copy check read the manifest and the ciphertext."""
    keys = make_keys(str(tmp_path / "keys"))
    with open(keys["age_pub"]) as handle:
        recipient = handle.read().strip()
    target = [three_targets(emulator)[0]]
    env = dict(credentials(emulator), **S3_ENV)
    variables = dict(s3_vars(s3), scheduled_backup_encrypt_recipients=[recipient], scheduled_backup_encrypt_local=True)
    first = run_role(run_playbook, tmp_path, target, env=env, **variables)
    assert first.rc == 0, first.output[-3000:]
    entry = by_name(first)["site-a"]
    folder = os.path.dirname(entry["path"])
    name = os.path.basename(entry["path"])
    assert not os.path.exists(entry["path"]) and os.path.exists(entry["path"] + ".age"), sorted(os.listdir(folder))
    with open(entry["path"] + ".age", "rb") as handle:
        local = handle.read()
    stored = s3["client"].get_object(Bucket=s3["bucket"], Key="nightly/site-a/" + name + ".age")["Body"].read()
    assert stored == local
    identity = pyrage.x25519.Identity.from_str(keys["secrets"][0])
    assert hashlib.sha256(pyrage.decrypt(local, [identity])).hexdigest() == entry["sha256"]

    posts = len([r for r in emulator.state()["requests"] if r.get("method") == "POST"])
    second = run_role(run_playbook, tmp_path, target, env=env, **variables)
    assert second.rc == 0, second.output[-3000:]
    assert len([r for r in emulator.state()["requests"] if r.get("method") == "POST"]) == posts, "no new backup"
    again = by_name(second)["site-a"]
    assert again["status"] == "ok" and again["path"] == entry["path"], again
    assert sorted(os.listdir(folder)) == sorted([name + ".age", name + ".age.sha256", name + ".sha256",
                                                 name[:-len(".zip")] + ".json"]), sorted(os.listdir(folder))
