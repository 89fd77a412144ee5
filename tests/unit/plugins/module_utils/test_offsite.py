# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The off-site copy workflow (offsite/copy.py) and its upload writer (offsite/base.py), against an in-memory store
that computes checksums the way S3 does (ETag from the parts' MD5s) and can fail a part on request. The real stores
are tested against moto and Azurite in tests/e2e."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import zipfile

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.base import Stat, Store, StoreError, UploadWriter
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.copy import OffsiteCopy
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.s3 import S3Store
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Encryption
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import write_sidecars

pyrage = pytest.importorskip("pyrage")

TITLE = b"Page title: Salaries 2027 (CONFIDENTIAL)"
PART = 64 * 1024
SITE = "example.atlassian.net"


class MemoryStore(Store):
    """Objects in a dict; multi-part uploads kept apart until finished; S3's ETag rules."""

    kind = "memory"
    checksum_name = "ETag"

    def __init__(self, fail_part=None):
        self.objects = {}
        self.uploads = {}
        self.log = []
        self.fail_part = fail_part

    def url(self, name=""):
        return "mem://bucket/pre/" + name

    def list(self):
        return dict((name, len(data)) for name, (data, dummy) in self.objects.items())

    def stat(self, name):
        if name not in self.objects:
            return None
        data, etag = self.objects[name]
        return Stat(len(data), etag)

    def read(self, name, limit=1024 * 1024):
        return self.objects[name][0] if name in self.objects else None

    def chunks(self, name, size=PART):
        data = self.objects[name][0]
        for start in range(0, len(data), size):
            yield data[start:start + size]

    def put(self, name, data, content_type="application/octet-stream"):
        self.log.append(("put", name))
        self.objects[name] = (bytes(data), hashlib.md5(data).hexdigest())

    def delete(self, name):
        self.log.append(("delete", name))
        self.objects.pop(name, None)

    def begin(self, name, metadata):
        token = len(self.uploads) + 1
        self.uploads[token] = dict(name=name, parts={})
        return token

    def send_part(self, token, number, data, md5):
        if number == self.fail_part:
            raise StoreError("part %d refused" % number)
        assert hashlib.md5(data).digest() == md5
        self.uploads[token]["parts"][number] = data

    def finish(self, token, parts, md5):
        upload = self.uploads.pop(token)
        data = b"".join(upload["parts"][number] for number, dummy, dummy_size in parts)
        self.log.append(("finish", upload["name"]))
        self.objects[upload["name"]] = (data, sorted(self.checksums(parts, md5))[0])

    def cancel(self, token):
        self.log.append(("cancel", token))
        self.uploads.pop(token, None)

    def checksums(self, parts, md5):
        joined = hashlib.md5(b"".join(digest for dummy, digest, dummy_size in parts)).hexdigest()
        return set(["%s-%d" % (joined, len(parts))])


def make_backup(folder, when="20261122T020304Z", size=300000):
    """A verified backup as the collection leaves it: zip (with TITLE in it), .sha256 file, manifest."""
    name = "confluence-%s-%s" % (SITE, when)
    path = os.path.join(str(folder), name + ".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("entities.xml", b"<x>" + TITLE + os.urandom(size) + b"</x>")
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    stamp = "%s-%s-%sT%s:%s:%sZ" % (when[:4], when[4:6], when[6:8], when[9:11], when[11:13], when[13:15])
    write_sidecars(path, {"format": 1, "product": "confluence", "site_label": SITE, "file": name + ".zip",
                          "size": os.path.getsize(path), "sha256": digest, "verified": "zip-crc",
                          "backup_time": stamp})
    return path


def copy(path, store, check_mode=False, warnings=None, **params):
    options = dict(path=path, encrypt_recipients=None, part_size=PART)
    options.update(params)
    return OffsiteCopy(options, store, (warnings if warnings is not None else []).append, check_mode=check_mode).run()


def identities():
    return [pyrage.x25519.Identity.generate() for dummy in range(3)]


def test_a_plain_copy_is_uploaded_in_parts_read_back_and_found_again_unchanged(tmp_path):
    path = make_backup(tmp_path)
    store = MemoryStore()
    first = copy(path, store)
    name = os.path.basename(path)
    assert first["changed"] and first["uploaded"] and first["read_back"] == "size and ETag"
    data = store.objects[name][0]
    assert hashlib.sha256(data).hexdigest() == first["sha256"] == first["plaintext_sha256"]
    assert store.objects[name][1].endswith("-%d" % -(-len(data) // PART))  # sent in parts
    assert mf.parse_sha256(store.objects[name + ".sha256"][0], "x") == first["sha256"]
    assert [entry for entry in store.log if entry[0] != "cancel"][-1] == ("put", name[:-4] + ".json"), "manifest last"
    second = copy(path, store)
    assert not second["changed"] and not second["uploaded"], second
    assert "already there" in second["msg"]


def test_two_recipients_each_decrypt_the_copy_and_it_holds_no_plaintext(tmp_path):
    path = make_backup(tmp_path)
    mine, theirs, stranger = identities()
    store = MemoryStore()
    result = copy(path, store, encrypt_recipients=[str(mine.to_public()), str(theirs.to_public())])
    name = os.path.basename(path) + ".age"
    assert result["url"].endswith(name) and result["encrypted"]
    ciphertext = store.objects[name][0]
    assert TITLE not in ciphertext and b"entities.xml" not in ciphertext
    for identity in (mine, theirs):
        assert hashlib.sha256(pyrage.decrypt(ciphertext, [identity])).hexdigest() == result["plaintext_sha256"]
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(ciphertext, [stranger])
    assert os.path.basename(path) not in store.objects, "no plaintext object"
    remote = json.loads(store.objects[os.path.basename(path)[:-4] + ".json"][0])
    local = mf.read(mf.path_beside(path))
    section = remote["encryption"]
    assert section == local["offsite"][result["url"]] and "encryption" not in local
    assert section["sha256"] == hashlib.sha256(ciphertext).hexdigest() and section["size"] == len(ciphertext)
    assert section["plaintext_sha256"] == local["sha256"] and len(section["recipients"]) == 2
    assert section["checksums"]["memory"] == [store.objects[name][1]]
    assert not os.path.exists(path + ".age"), "nothing encrypted is written locally"
    again = copy(path, store, encrypt_recipients=[str(theirs.to_public()), str(mine.to_public())])
    assert not again["changed"], again


def test_a_backup_changed_since_its_verification_never_reaches_the_store(tmp_path):
    path = make_backup(tmp_path)
    with open(path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"X")
    for recipients in (None, [str(identities()[0].to_public())]):
        store = MemoryStore()
        with pytest.raises(TaskFailed) as failed:
            copy(path, store, encrypt_recipients=recipients)
        assert "changed since it was verified" in failed.value.msg and "nothing was left" in failed.value.msg
        assert store.objects == {} and store.uploads == {}, store.log


def test_a_tampered_object_fails_the_run_and_is_left_as_found(tmp_path):
    path = make_backup(tmp_path)
    recipient = str(identities()[0].to_public())
    for recipients, name in ((None, os.path.basename(path)), ([recipient], os.path.basename(path) + ".age")):
        store = MemoryStore()
        copy(path, store, encrypt_recipients=recipients)
        data = bytearray(store.objects[name][0])
        data[len(data) // 2] ^= 0xFF
        store.put(name, bytes(data))
        with pytest.raises(TaskFailed) as failed:
            copy(path, store, encrypt_recipients=recipients)
        assert "is not the verified backup" in failed.value.msg and "differs (ETag)" in failed.value.msg
        assert store.objects[name][0] == bytes(data), "left as found"


def test_an_encrypted_copy_without_a_recorded_checksum_is_read_back_whole(tmp_path):
    path = make_backup(tmp_path)
    recipient = str(identities()[0].to_public())
    store = MemoryStore()
    copy(path, store, encrypt_recipients=[recipient])
    json_name = os.path.basename(path)[:-4] + ".json"
    for manifest in (json.loads(store.objects[json_name][0]),):
        del manifest["encryption"]["checksums"]
        store.put(json_name, json.dumps(manifest).encode())
    local = mf.read(mf.path_beside(path))
    for record in local["offsite"].values():
        del record["checksums"]
    mf.write(mf.path_beside(path), local)
    result = copy(path, store, encrypt_recipients=[recipient])
    assert result["read_back"] == "sha256 of the whole object, read back", result


def test_a_failed_part_cancels_the_upload_and_leaves_no_object(tmp_path):
    path = make_backup(tmp_path)
    store = MemoryStore(fail_part=2)
    with pytest.raises(TaskFailed) as failed:
        copy(path, store)
    assert "part 2 refused" in failed.value.msg
    assert store.objects == {} and store.uploads == {} and ("cancel", 1) in store.log


def test_check_mode_writes_nothing_anywhere(tmp_path):
    path = make_backup(tmp_path)
    before = mf.read(mf.path_beside(path))
    store = MemoryStore()
    result = copy(path, store, check_mode=True, encrypt_recipients=[str(identities()[0].to_public())],
                  keep_daily=7, keep_weekly=0, keep_monthly=0, keep_yearly=0, keep_last=1)
    assert result["changed"] and result["uploaded"] and store.objects == {} and store.log == []
    assert mf.read(mf.path_beside(path)) == before


def test_the_local_encrypted_copy_is_sent_as_it_is(tmp_path):
    path = make_backup(tmp_path)
    recipient = str(identities()[0].to_public())
    Encryption(dict(path=path, recipients=[recipient], dest=None, force=False, check_mode=False), print).run()
    with open(path + ".age", "rb") as handle:
        local = handle.read()
    store = MemoryStore()
    copy(path, store, encrypt_recipients=[recipient])
    assert store.objects[os.path.basename(path) + ".age"][0] == local


def test_other_recipients_leave_the_existing_copy_and_say_so(tmp_path):
    path = make_backup(tmp_path)
    first, second, dummy = identities()
    store = MemoryStore()
    copy(path, store, encrypt_recipients=[str(first.to_public())])
    warnings = []
    result = copy(path, store, warnings=warnings, encrypt_recipients=[str(second.to_public())])
    assert not result["uploaded"] and any("not to the encrypt_recipients given" in w for w in warnings), warnings


def test_retention_keeps_the_same_backups_encrypted_or_plain(tmp_path):
    """The store's retention decides from its manifests: the same days are kept whether the copies are .zip or
    .zip.age, and each doomed backup's objects go before its manifest."""
    kept = {}
    recipient = str(identities()[0].to_public())
    for kind, recipients in (("plain", None), ("age", [recipient])):
        folder = tmp_path / kind
        folder.mkdir()
        store = MemoryStore()
        days = ["202611%02dT020304Z" % day for day in range(10, 23)]
        for when in days:
            result = copy(make_backup(folder, when, size=1000), store, encrypt_recipients=recipients,
                          keep_daily=3, keep_weekly=1, keep_monthly=0, keep_yearly=0, keep_last=1)
        retention = result["retention"]
        kept[kind] = [name.replace(".zip.age", ".zip") for name in retention["kept"]]
        assert not retention["unverified"] and not retention["unaccounted"], retention
        names = set(store.objects)
        suffix = ".zip.age" if recipients else ".zip"
        assert names == set(n[:-4] + ext for n in kept[kind] for ext in (suffix, suffix + ".sha256", ".json")), names
        deletes = [name for op, name in store.log if op == "delete"]
        assert deletes and all(deletes.index(n[:-len(".json")] + suffix) < deletes.index(n)
                               for n in deletes if n.endswith(".json"))
    assert kept["plain"] == kept["age"] and len(kept["plain"]) == 3, kept  # 22, 21, 20 (the 22nd is also the week's)


def test_upload_writer_bounds_what_it_holds_and_reports_the_first_error():
    store = MemoryStore(fail_part=3)
    writer = UploadWriter(store, "x", part_size=PART, workers=2, queued=1)
    with pytest.raises(StoreError):
        for dummy in range(50):
            writer.write(b"a" * PART)
    writer.abort()
    assert store.uploads == {} and "x" not in store.objects


MIB = 1024 * 1024


@pytest.mark.parametrize("etag, size, default, expected", [
    ("abc-3", 20 * MIB, 6 * MIB, 8 * MIB),     # boto3's and the AWS CLI's 8 MiB
    ("abc-4", 20 * MIB, 7 * MIB, 5 * MIB),     # the S3 minimum
    ("abc-2", 40 * MIB, 6 * MIB, 20 * MIB),    # none of the usual ones: the size / N, rounded up to a MiB
    ("abc-3", 20 * MIB, 7 * MIB, 7 * MIB),     # the configured part size first
    ("abc", 20 * MIB, 6 * MIB, 6 * MIB),       # one PUT: the default
])
def test_s3_finds_the_part_size_an_object_was_sent_with(etag, size, default, expected):
    store = S3Store("bucket", "pre/", client=object())
    assert store.part_sizes_for(Stat(size, etag), default)[0] == expected


def test_s3_tries_every_part_size_that_gives_the_etags_part_count():
    """20 MiB in 3 parts: 9 MiB (the option), 8 MiB (boto3's) and 7 MiB (the size / 3) all fit: all are tried."""
    store = S3Store("bucket", "pre/", client=object())
    assert store.part_sizes_for(Stat(20 * MIB, "0" * 32 + "-3"), 9 * MIB) == [9 * MIB, 8 * MIB, 7 * MIB]
    assert store.comparable(Stat(1, "0" * 32 + "-3")) and store.comparable(Stat(1, "a" * 32))
    assert not store.comparable(Stat(1, "kms-etag-xyz")) and not store.comparable(Stat(1, None))


def test_a_store_reporting_no_checksum_is_read_back_whole(tmp_path):
    path = make_backup(tmp_path)
    store = MemoryStore()
    copy(path, store)
    name = os.path.basename(path)
    store.objects[name] = (store.objects[name][0], None)  # Content-MD5 cleared, or an ETag that is no MD5
    assert copy(path, store)["read_back"] == "sha256 of the whole object, read back"
    data = bytearray(store.objects[name][0])
    data[-100] ^= 1
    store.objects[name] = (bytes(data), None)
    with pytest.raises(TaskFailed) as failed:
        copy(path, store)
    assert "differs (sha256 of the whole object, read back)" in failed.value.msg


def test_two_stores_keep_their_own_records_and_each_checks_out_the_next_night(tmp_path):
    """Two stores, two ciphertexts of one backup: each store's record is kept apart in the local manifest, so that a
    store whose own manifest is lost is still checked against its own record, never the other store's."""
    path = make_backup(tmp_path)
    recipient = str(identities()[0].to_public())
    first, second = MemoryStore(), MemoryStore()
    second.url = lambda name="": "mem://other/pre/" + name
    for store in (first, second, first, second):
        result = copy(path, store, encrypt_recipients=[recipient])
    assert not result["changed"], result
    local = mf.read(mf.path_beside(path))
    assert sorted(local["offsite"]) == sorted([first.url(os.path.basename(path) + ".age"),
                                               second.url(os.path.basename(path) + ".age")])
    assert "encryption" not in local, "encryption describes only a local .zip.age"
    del second.objects[os.path.basename(path)[:-4] + ".json"]
    assert copy(path, second, encrypt_recipients=[recipient])["read_back"] == "ETag"


def test_a_deleted_encrypted_copy_is_uploaded_again_with_a_new_sha256_object(tmp_path):
    path = make_backup(tmp_path)
    recipient = str(identities()[0].to_public())
    store = MemoryStore()
    copy(path, store, encrypt_recipients=[recipient])
    del store.objects[os.path.basename(path) + ".age"]
    again = copy(path, store, encrypt_recipients=[recipient])
    assert again["uploaded"]
    assert mf.parse_sha256(store.objects[os.path.basename(path) + ".age.sha256"][0], "x") == again["sha256"]
    assert not copy(path, store, encrypt_recipients=[recipient])["changed"]


def test_the_part_size_grows_to_stay_within_10000_parts():
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.copy import part_size_for
    assert part_size_for(8 * MIB, 2 * 1024 * MIB) == 8 * MIB and part_size_for(PART, 300000) == PART
    grown = part_size_for(8 * MIB, 200 * 1024 * MIB)
    assert grown % MIB == 0 and grown * 9999 >= 200 * 1024 * MIB * 1.001 and grown < 22 * MIB


def test_s3_accepts_the_multipart_etag_and_the_single_put_md5():
    store = S3Store("bucket", "pre/", client=object())
    parts = [(1, hashlib.md5(b"a").digest(), 1), (2, hashlib.md5(b"b").digest(), 1)]
    whole = hashlib.md5(b"ab").digest()
    joined = hashlib.md5(parts[0][1] + parts[1][1]).hexdigest()
    assert store.checksums(parts, whole) == set([joined + "-2", whole.hex()])


def test_a_backup_kept_only_as_its_encrypted_copy_counts_when_that_copy_matches_its_record(tmp_path):
    """encrypt_local, then the plaintext removed (or only the .age and manifest brought to a restore host): the
    catalog checks the encrypted copy against the manifest's record instead of the zip."""
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import scan
    path = make_backup(tmp_path)
    Encryption(dict(path=path, recipients=[str(identities()[0].to_public())], dest=None, force=False,
                    check_mode=False), print).run()
    os.unlink(path)
    os.unlink(path + ".sha256")
    backups, unaccounted = scan(str(tmp_path), "confluence", SITE)
    assert [b.problem for b in backups] == [None] and unaccounted == []
    with open(path + ".age", "ab") as handle:
        handle.write(b"x")
    backups, dummy = scan(str(tmp_path), "confluence", SITE)
    assert backups[0].problem.startswith("the encrypted copy has"), backups[0].problem
    os.unlink(path + ".age")
    backups, dummy = scan(str(tmp_path), "confluence", SITE)
    assert backups[0].problem == "the zip file is missing"


def fetch(store, dest, check_mode=False, **params):
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.fetch import OffsiteFetch
    options = dict(dest=str(dest), name=None, product="confluence", site=None)
    options.update(params)
    return OffsiteFetch(options, store, print, check_mode=check_mode).run()


def test_fetch_brings_back_the_newest_good_copy_checked_against_its_manifest(tmp_path):
    source, dest = tmp_path / "source", tmp_path / "dest"
    source.mkdir()
    dest.mkdir()
    recipient = str(identities()[0].to_public())
    store = MemoryStore()
    paths = [make_backup(source, when, size=2000) for when in ("20261120T020304Z", "20261121T020304Z")]
    for path in paths:
        copy(path, store, encrypt_recipients=[recipient])
    assert fetch(store, dest, check_mode=True)["changed"] and os.listdir(str(dest)) == []
    result = fetch(store, dest)
    name = os.path.basename(paths[1]) + ".age"
    assert result["path"] == str(dest / name) and result["encrypted"] and result["changed"]
    with open(result["path"], "rb") as handle:
        assert handle.read() == store.objects[name][0]
    assert sorted(os.listdir(str(dest))) == sorted([name, name + ".sha256", os.path.basename(paths[1])[:-4] + ".json"])
    assert not fetch(store, dest)["changed"], "already there"
    older = fetch(store, dest, name=os.path.basename(paths[0]))
    assert older["path"].endswith(os.path.basename(paths[0]) + ".age")
    # A copy changed in the store is not kept.
    data = bytearray(store.objects[name][0])
    data[10] ^= 1
    store.put(name, bytes(data))
    os.unlink(result["path"])
    with pytest.raises(TaskFailed) as failed:
        fetch(store, dest)
    assert "is not what its manifest records" in failed.value.msg
    assert not os.path.exists(result["path"]) and not os.path.exists(result["path"] + ".part")


def test_a_backup_kept_only_as_its_encrypted_copy_verifies_from_its_record(tmp_path):
    """backup_verify and max_age reuse on a backup whose zip was removed after backup_encrypt: the ciphertext is
    checked against the manifest's record, and the recorded verification stands for the levels it covered."""
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import verify_existing
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.verify import Verification
    path = make_backup(tmp_path)
    mf.update(mf.path_beside(path), {"verified_level": "archive", "verified_at": "2026-11-22T02:10:00Z"})
    Encryption(dict(path=path, recipients=[str(identities()[0].to_public())], dest=None, force=False,
                    check_mode=False), print).run()
    os.unlink(path)

    def verify(level):
        return Verification(dict(path=path, level=level, max_drop_percent=20, update_manifest=True, previous=None,
                                 check_mode=False), print).run()
    assert verify("archive")["verified"] and verify_existing(str(tmp_path), mf.read(mf.path_beside(path)))
    with pytest.raises(TaskFailed) as deeper:
        verify("inventory")
    assert "nothing deeper can be checked here" in deeper.value.msg
    with open(path + ".age", "ab") as handle:
        handle.write(b"x")
    assert not verify_existing(str(tmp_path), mf.read(mf.path_beside(path)))
    with pytest.raises(TaskFailed) as damaged:
        verify("checksum")
    assert "is not the ciphertext its manifest" in damaged.value.msg
    assert not mf.is_good(mf.read(mf.path_beside(path))), "the failure is recorded"


def put_copy(store, base, backup_time, **fields):
    """A copy as backup_offsite leaves it in the store (zip, .sha256, manifest), written straight into it."""
    data = b"PK\x05\x06" + base.encode()
    digest = hashlib.sha256(data).hexdigest()
    manifest = {"format": 1, "product": "confluence", "site_label": SITE, "file": base + ".zip", "size": len(data),
                "sha256": digest, "verified": "zip-structure", "backup_time": backup_time}
    manifest.update(fields)
    store.put(base + ".zip", data)
    store.put(base + ".zip.sha256", ("%s  %s.zip\n" % (digest, base)).encode())
    store.put(base + ".json", json.dumps(manifest).encode())
    return base + ".zip"


def test_fetch_never_takes_a_content_export_for_the_backup_unless_asked(tmp_path):
    """A content export (confluence_export's zip) is no site backup: the newest backup is fetched by default even
    when an export is newer; kind content-export fetches the export; a name of the other kind, and a folder holding
    only the other kind, fail and say so."""
    store = MemoryStore()
    backup = put_copy(store, "confluence-%s-20261120T020304Z" % SITE, "2026-11-20T02:03:04Z")
    export = put_copy(store, "confluence-%s-content-export-20261121T020304Z" % SITE, "2026-11-21T02:03:04Z",
                      kind="content-export", export_folder="confluence-export-%s-20261121T020304Z" % SITE)
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    fetched = fetch(store, first)
    assert os.path.basename(fetched["path"]) == backup and fetched["kind"] == "backup", fetched
    fetched = fetch(store, second, kind="content-export")
    assert os.path.basename(fetched["path"]) == export and fetched["kind"] == "content-export", fetched
    assert "confluence_import" in fetched["msg"]
    with pytest.raises(TaskFailed) as named:
        fetch(store, first, name=export)
    assert "is a content-export (kind in its manifest), not a backup" in named.value.msg
    assert "Set kind: content-export" in named.value.msg
    with pytest.raises(TaskFailed) as named:
        fetch(store, first, name=backup, kind="content-export")
    assert "is not a content export (kind backup)" in named.value.msg
    for name in (backup, backup + ".sha256", backup[:-4] + ".json"):
        store.delete(name)
    with pytest.raises(TaskFailed) as only:
        fetch(store, first)
    assert "holds 1 good content export(s) of confluence but no good backup" in only.value.msg
    assert "Set kind: content-export" in only.value.msg
    with pytest.raises(TaskFailed) as none:
        fetch(store, first, kind="content-export", site="other.atlassian.net")
    assert "holds no good content export of confluence for other.atlassian.net" in none.value.msg
    store = MemoryStore()
    put_copy(store, "confluence-%s-20261120T020304Z" % SITE, "2026-11-20T02:03:04Z")
    with pytest.raises(TaskFailed) as only:
        fetch(store, first, kind="content-export")
    assert "holds 1 good backup(s) of confluence but no good content export" in only.value.msg
