# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_verify through ansible-playbook (issue 13): levels, tampering, corruption, mass deletion, unknown layouts.

The backups are generated (``BackupZip`` of the emulator, with a realistic entities.xml of given counts) and
written with the collection's own sidecar writer, as ``confluence_backup`` leaves them. The module talks to no
service; the ``emulator`` fixture is only what ``run_playbook`` needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import zipfile

from atlassian_emulator.zipstream import BackupZip

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import write_sidecars

import moduledocs

SITE = "example.atlassian.net"
BEFORE = dict(spaces=3, pages=1200, blog_posts=40, comments=300, attachments=500)
ALWAYS = sorted(k for k, v in moduledocs.docs("backup_verify")["RETURN"].items() if v.get("returned") == "always")


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def failed(run):
    return run.rc == 0 and (run.result or {}).get("failed") is True


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def name_for(day, kind=None):
    return "confluence-%s%s-202611%02dT020304Z.zip" % (SITE, "-" + kind if kind else "", day)


def write_backup(dest, day, inventory=None, layout="flat", size=4 * 1024 * 1024, kind=None, manifest=None):
    """A backup of day ``day`` of November 2026 in ``dest``, with its .sha256 file and manifest."""
    backup = BackupZip(size, seed=day, layout=layout, inventory=inventory, site=SITE)
    path = os.path.join(dest, name_for(day, kind))
    with open(path, "wb") as handle:
        for piece in backup.iter_range():
            handle.write(piece)
    record = {"format": 1, "product": "confluence", "deployment": "cloud", "site": "https://" + SITE,
              "site_label": SITE, "backup_time": "2026-11-%02dT02:03:04Z" % day, "verified": "zip-crc"}
    record.update(manifest or {})
    return reseal(path, record)


def reseal(path, record=None):
    """(Re)write the sidecars of ``path`` for its current bytes, as if the file had been downloaded that way."""
    if record is None:
        record = read_manifest(path)
    record = dict(record, file=os.path.basename(path), size=os.path.getsize(path), sha256=sha256_file(path))
    write_sidecars(path, record)
    return path


def manifest_path(path):
    return path[:-4] + ".json"


def read_manifest(path):
    with open(manifest_path(path)) as handle:
        return json.load(handle)


def write_zip(dest, day, members):
    path = os.path.join(dest, name_for(day))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    record = {"format": 1, "product": "confluence", "deployment": "cloud", "site_label": SITE,
              "backup_time": "2026-11-%02dT02:03:04Z" % day}
    return reseal(path, record)


def flip_byte_in_member(path, name, at=4096):
    """Change one byte inside a stored member's data (not its header)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "r+b") as handle:
        handle.seek(info.header_offset + 26)
        lengths = handle.read(4)
        start = info.header_offset + 30 + int.from_bytes(lengths[:2], "little") + int.from_bytes(lengths[2:], "little")
        handle.seek(start + at)
        byte = handle.read(1)
        handle.seek(start + at)
        handle.write(bytes([byte[0] ^ 0x5A]))


def verify(run_playbook, path, **args):
    return run_playbook.module("backup_verify", path=path, **args)


def assert_every_field(run):
    missing = [k for k in ALWAYS if k not in run.result]
    assert not missing, (missing, run)


# ------------------------------------------------------------------------------------------------ levels
def test_each_level_checks_more_and_is_recorded_once(emulator, run_playbook, dest):
    path = write_backup(dest, 22, inventory=BEFORE)
    digest = sha256_file(path)

    run = verify(run_playbook, path, level="checksum")
    assert ok(run) and run.result["verified"] is True and run.result["changed"] is True, run
    assert run.result["sha256"] == digest and run.result["size"] == 4 * 1024 * 1024 and run.result["members"] == 3
    assert run.result["inventory"] is None and run.result["inventory_status"] is None and run.result["drops"] == []
    assert "the .sha256 file and the manifest" in run.result["msg"]
    assert read_manifest(path)["verified_level"] == "checksum"

    run = verify(run_playbook, path)  # level archive by default
    assert ok(run) and run.result["level"] == "archive" and run.result["changed"] is True, run
    assert "3 members read back with good CRCs" in run.result["msg"]

    run = verify(run_playbook, path, level="inventory")
    assert ok(run) and run.result["changed"] is True, run
    assert run.result["inventory_status"] == "counted"
    by_space = run.result["inventory"]["by_space"]
    assert run.result["inventory"] == dict(BEFORE, entities_member="entities.xml", objects=run.result["inventory"]["objects"],
                                           by_space=by_space)
    assert len(by_space) == BEFORE["spaces"] and sum(s["pages"] for s in by_space.values()) == BEFORE["pages"]
    assert sum(s["blog_posts"] for s in by_space.values()) == BEFORE["blog_posts"]
    assert run.result["previous"] is None and run.result["previous_inventory"] is None
    manifest = read_manifest(path)
    assert manifest["verified_level"] == "inventory" and manifest["inventory"] == run.result["inventory"]
    assert manifest["inventory_status"] == "counted" and manifest["verified_at"].endswith("Z")
    assert manifest["sha256"] == digest and manifest["file"] == os.path.basename(path)  # the rest is kept

    before = open(manifest_path(path), "rb").read()
    for level in ("inventory", "archive", "checksum"):  # nothing new: a lower level never downgrades the record
        run = verify(run_playbook, path, level=level)
        assert ok(run) and run.result["changed"] is False, run
        assert "already records" in run.result["msg"]
    assert open(manifest_path(path), "rb").read() == before


def test_nested_cloud_layout_is_counted(emulator, run_playbook, dest):
    path = write_backup(dest, 22, inventory=BEFORE, layout="nested")
    run = verify(run_playbook, path, level="inventory")
    assert ok(run), run
    assert run.result["inventory"]["entities_member"] == "export/entities.xml"
    assert dict((k, run.result["inventory"][k]) for k in BEFORE) == BEFORE


def test_connection_options_are_not_options_of_a_folder_module(emulator, run_playbook, dest):
    # backup_verify talks to no service: it is in action group local only, and takes no connection option (a
    # group's module_defaults reach every module in it, so none is needed to share them).
    path = write_backup(dest, 22)
    run = verify(run_playbook, path, url=emulator.url, timeout=5)
    assert run.result["failed"] is True and "Unsupported parameters" in run.result["msg"], run
    assert "timeout" in run.result["msg"] and "url" in run.result["msg"]


# -------------------------------------------------------------------------------------------- checksum
def test_a_tampered_sha256_file_fails_and_says_which(emulator, run_playbook, dest):
    path = write_backup(dest, 22)
    real = sha256_file(path)
    forged = "0" * 64
    with open(path + ".sha256", "w") as handle:
        handle.write("%s  %s\n" % (forged, os.path.basename(path)))
    run = verify(run_playbook, path, level="checksum")
    assert failed(run) and run.result["verified"] is False and run.result["changed"] is True, run
    assert_every_field(run)
    msg = run.result["msg"]
    assert "sha256 mismatch" in msg and path + ".sha256" in msg and forged in msg and real in msg, msg
    assert run.result["sha256"] == real
    manifest = read_manifest(path)  # the failure is recorded, so that nothing counts this backup as good
    assert "verified_level" not in manifest and manifest["verified"] is False and run.result["failure_recorded"]
    assert manifest["verification_failure"]["level"] == "checksum" and forged in manifest["verification_failure"]["reason"]


def test_a_changed_file_fails_against_the_manifest(emulator, run_playbook, dest):
    path = write_backup(dest, 22)
    flip_byte_in_member(path, "attachments/0/0/data.bin")
    with open(path + ".sha256", "w") as handle:  # only the manifest still knows the original
        handle.write("%s  %s\n" % (sha256_file(path), os.path.basename(path)))
    run = verify(run_playbook, path, level="checksum")
    assert failed(run) and "sha256 mismatch" in run.result["msg"] and manifest_path(path) in run.result["msg"], run


def test_a_file_cut_short_fails_on_its_size(emulator, run_playbook, dest):
    path = write_backup(dest, 22)
    with open(path, "r+b") as handle:
        handle.truncate(1024 * 1024)
    run = verify(run_playbook, path)
    assert failed(run) and "Size mismatch" in run.result["msg"] and run.result["size"] == 1024 * 1024, run
    assert_every_field(run)


def test_a_missing_file_fails_with_every_field(emulator, run_playbook, dest):
    run = verify(run_playbook, os.path.join(dest, name_for(3)), level="inventory")
    assert failed(run) and "does not exist" in run.result["msg"], run
    assert_every_field(run)
    assert run.result["sha256"] is None and run.result["verified"] is False


def test_a_zip_without_sidecars_cannot_be_verified(emulator, run_playbook, dest):
    path = os.path.join(dest, "lonely.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>")
    run = verify(run_playbook, path)
    assert failed(run) and "Nothing to check" in run.result["msg"] and run.result["manifest_path"] is None, run


# ----------------------------------------------------------------------------------------------- archive
def test_a_corrupt_member_is_caught_by_archive_and_named(emulator, run_playbook, dest):
    path = write_backup(dest, 22)
    flip_byte_in_member(path, "attachments/0/0/data.bin")
    reseal(path)  # the corruption happened before the download: the sha256 matches the bad bytes

    run = verify(run_playbook, path, level="checksum")
    assert ok(run), run  # the sha256 alone cannot tell

    run = verify(run_playbook, path, level="archive")
    assert failed(run) and run.result["verified"] is False, run
    assert_every_field(run)
    assert "'attachments/0/0/data.bin'" in run.result["msg"] and "CRC" in run.result["msg"]
    assert run.result["members"] is None and run.result["sha256"] == sha256_file(path)
    assert read_manifest(path)["verified_level"] == "checksum"  # only what passed was recorded


# --------------------------------------------------------------------------------------------- inventory
def test_an_inventory_drop_is_caught_and_named(emulator, run_playbook, dest):
    older = write_backup(dest, 21, inventory=BEFORE)
    assert ok(verify(run_playbook, older, level="inventory"))
    newer = write_backup(dest, 22, inventory=dict(BEFORE, pages=400, comments=290))
    run = verify(run_playbook, newer, level="inventory")
    assert failed(run) and run.result["verified"] is False, run
    assert_every_field(run)
    assert "Possible mass deletion" in run.result["msg"] and "pages 1200 -> 400 (-66.7 %)" in run.result["msg"]
    assert "comments" not in run.result["msg"]  # -3.3 % is within 20 %
    assert run.result["drops"] == [dict(name="pages", before=1200, after=400, percent=66.7)]
    assert run.result["previous"] == older and run.result["previous_inventory"] == BEFORE
    assert run.result["inventory"]["pages"] == 400
    assert "inventory" not in read_manifest(newer)  # nothing recorded: the next backup is compared with the older

    later = write_backup(dest, 23, inventory=dict(BEFORE, pages=410))
    run = verify(run_playbook, later, level="inventory")
    assert failed(run) and run.result["previous"] == older, run  # not the unverified day 22

    run = verify(run_playbook, newer, level="inventory", max_drop_percent=100)  # the drop was intended
    assert ok(run) and run.result["changed"] is True and run.result["drops"] == [], run
    run = verify(run_playbook, later, level="inventory")
    assert ok(run) and run.result["previous"] == newer and run.result["previous_inventory"]["pages"] == 400, run


def test_previous_of_another_kind_or_site_is_not_used(emulator, run_playbook, dest):
    write_backup(dest, 20, inventory=BEFORE, kind="space-DOC", manifest={"scope": "space", "space_keys": ["DOC"]})
    path = write_backup(dest, 22, inventory=dict(BEFORE, pages=1))
    run = verify(run_playbook, path, level="inventory")
    assert ok(run) and run.result["previous"] is None, run
    assert "no previous backup" in run.result["msg"]


def test_previous_given_as_zip_or_manifest_and_counted_from_its_zip(emulator, run_playbook, dest, tmp_path):
    other = str(tmp_path / "elsewhere")
    os.makedirs(other)
    older = write_backup(other, 1, inventory=BEFORE)  # never verified: its counts are read from its zip
    path = write_backup(dest, 22, inventory=dict(BEFORE, attachments=100))
    for previous in (older, manifest_path(older)):
        run = verify(run_playbook, path, level="inventory", previous=previous, update_manifest=False)
        assert failed(run) and run.result["previous"] == older, run
        assert run.result["drops"] == [dict(name="attachments", before=500, after=100, percent=80.0)]
    run = verify(run_playbook, path, level="inventory", previous=older, max_drop_percent=80)
    assert ok(run) and run.result["previous_inventory"] == BEFORE, run


def test_an_unknown_layout_is_warned_not_failed(emulator, run_playbook, dest):
    older = write_backup(dest, 21, inventory=BEFORE)
    assert ok(verify(run_playbook, older, level="inventory"))
    path = write_zip(dest, 22, [("exportDescriptor.properties", b"exportType=all\n"), ("site/data.bin", b"x" * 5000)])
    run = verify(run_playbook, path, level="inventory")
    assert ok(run) and run.result["verified"] is True, run
    assert run.result["inventory_status"] == "unknown" and run.result["inventory"] is None
    assert run.result["drops"] == [] and run.result["previous"] == older
    assert any("inventory of %s is unknown" % path in w and "no entities.xml" in w for w in run.result["warnings"])
    manifest = read_manifest(path)
    assert manifest["inventory_status"] == "unknown" and manifest["inventory"] is None

    newer = write_backup(dest, 23, inventory=dict(BEFORE, pages=1100))
    run = verify(run_playbook, newer, level="inventory")  # compared with day 21, whose counts are known
    assert ok(run) and run.result["previous"] == older, run


def test_entities_that_do_not_parse_are_unknown(emulator, run_playbook, dest):
    path = write_zip(dest, 22, [("entities.xml", b"<hibernate-generic><object class='Page'><id>1</id>")])
    run = verify(run_playbook, path, level="inventory")
    assert ok(run) and run.result["inventory_status"] == "unknown", run
    assert any("could not be parsed" in w for w in run.result["warnings"])


# -------------------------------------------------------------------------------------------- check mode
def test_check_mode_writes_nothing(emulator, run_playbook, dest):
    path = write_backup(dest, 22, inventory=BEFORE)
    before = open(manifest_path(path), "rb").read()
    stamp = os.stat(manifest_path(path)).st_mtime_ns
    listing = sorted(os.listdir(dest))
    run = verify(run_playbook, path, level="inventory", check=True)
    assert ok(run) and run.result["verified"] is True and run.result["changed"] is True, run
    assert "Check mode: would record" in run.result["msg"]
    assert open(manifest_path(path), "rb").read() == before and os.stat(manifest_path(path)).st_mtime_ns == stamp
    assert sorted(os.listdir(dest)) == listing

    run = verify(run_playbook, path, level="inventory", update_manifest=False)
    assert ok(run) and run.result["changed"] is False and open(manifest_path(path), "rb").read() == before, run
