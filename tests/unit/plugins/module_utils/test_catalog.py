# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What deleting a backup removes (catalog.Backup.files): its encrypted copy goes with it, never another folder's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import Backup, scan

BASE = "confluence-example.atlassian.net-2026-12-01T02-00-00Z"


def backup(folder, encryption=None):
    body = b"PK\x05\x06" + b"\0" * 18
    digest = hashlib.sha256(body).hexdigest()
    (folder / (BASE + ".zip")).write_bytes(body)
    (folder / (BASE + ".zip.sha256")).write_text("%s  %s.zip\n" % (digest, BASE))
    data = {"format": 1, "product": "confluence", "site_label": "example.atlassian.net",
            "site": "https://example.atlassian.net", "file": BASE + ".zip", "size": len(body), "sha256": digest,
            "backup_time": "2026-12-01T02:00:00Z", "verified": "zip-structure"}
    if encryption is not None:
        data["encryption"] = encryption
    (folder / (BASE + ".json")).write_text(json.dumps(data))
    return Backup(str(folder), BASE + ".json", data)


def names(paths):
    return [os.path.basename(path) for path in paths]


def test_the_encrypted_copy_beside_it_goes_before_the_manifest(tmp_path):
    (tmp_path / (BASE + ".zip.age")).write_bytes(b"age")
    (tmp_path / (BASE + ".zip.age.sha256")).write_text("x")
    item = backup(tmp_path, {"format": "age", "object": BASE + ".zip.age"})
    assert item.problem is None
    assert names(item.files()) == [BASE + ".zip", BASE + ".zip.sha256", BASE + ".zip.age", BASE + ".zip.age.sha256",
                                   BASE + ".json"]


def test_a_copy_listed_in_a_bucket_counts_only_the_objects_present(tmp_path):
    item = backup(tmp_path, {"format": "age", "object": BASE + ".zip.age"})
    copy = Backup(str(tmp_path), BASE + ".json", json.loads((tmp_path / (BASE + ".json")).read_text()),
                  present={BASE + ".zip.age", BASE + ".zip.age.sha256"})
    assert names(copy.files()) == [BASE + ".zip.age", BASE + ".zip.age.sha256", BASE + ".json"]
    assert names(item.files())[-1] == BASE + ".json"


@pytest.mark.parametrize("obj", ["../elsewhere.zip.age", "/tmp/other.zip.age", "", None, 7, "..", "sub/x.zip.age",
                                 BASE + ".json", "confluence-other-2026-11-30T02-00-00Z.zip.age", BASE + ".zip"])
def test_an_object_outside_the_folder_is_never_deleted(tmp_path, obj):
    item = backup(tmp_path, {"format": "age", "object": obj})
    assert names(item.files()) == [BASE + ".zip", BASE + ".zip.sha256", BASE + ".json"]


def test_without_encryption_nothing_changes(tmp_path):
    assert names(backup(tmp_path).files()) == [BASE + ".zip", BASE + ".zip.sha256", BASE + ".json"]


def test_scan_reports_encrypted_files_no_manifest_accounts_for(tmp_path):
    backup(tmp_path, {"format": "age", "object": BASE + ".zip.age"})
    (tmp_path / (BASE + ".zip.age")).write_bytes(b"age")
    other = "confluence-example.atlassian.net-2026-11-30T02-00-00Z"
    (tmp_path / (other + ".zip.age")).write_bytes(b"age")  # its manifest is gone
    (tmp_path / (other + ".zip.age.part")).write_bytes(b"ag")  # an encryption that did not finish
    backups, unaccounted = scan(str(tmp_path), "confluence", "example.atlassian.net")
    assert [item.problem for item in backups] == [None]
    assert sorted((os.path.basename(e["path"]), e["reason"]) for e in unaccounted) == [
        (other + ".zip.age", "encrypted copy its manifest does not record"),
        (other + ".zip.age.part", "partial download (.part)")]
