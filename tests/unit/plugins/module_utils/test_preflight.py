# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of backup_preflight: sizes, the previous backup of a series, the probe write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils import _preflight


def backup(folder, stamp, size, label="example.atlassian.net", scope=None, keys=None, product="confluence"):
    base = "%s-%s-%s" % (product, label, stamp)
    body = b"x" * size
    with open(os.path.join(folder, base + ".zip"), "wb") as handle:
        handle.write(body)
    manifest = {"format": 1, "product": product, "site_label": label, "file": base + ".zip", "size": size,
                "sha256": hashlib.sha256(body).hexdigest(),
                "backup_time": "%s-%s-%sT%s:%s:%sZ" % (stamp[:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])}
    if scope:
        manifest.update(scope=scope, space_keys=keys or [])
    with open(os.path.join(folder, base + ".json"), "w") as handle:
        json.dump(manifest, handle)
    return os.path.join(folder, base + ".zip")


@pytest.mark.parametrize("text, size", [(0, 0), ("0", 0), ("512", 512), ("1K", 1024), ("500M", 500 << 20),
                                        ("10G", 10 << 30), ("1.5GiB", 3 << 29), ("2t", 2 << 40), (" 3 MB ", 3 << 20)])
def test_sizes(text, size):
    assert _preflight.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "1X", "-1", True, -5])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        _preflight.parse_size(text)


def test_the_previous_backup_is_the_newest_verified_of_the_same_series(tmp_path):
    folder = str(tmp_path)
    backup(folder, "20261120T020000Z", 100)
    newest = backup(folder, "20261121T020000Z", 300)
    backup(folder, "20261122T020000Z", 900, label="other.atlassian.net")
    backup(folder, "20261122T030000Z", 700, scope="space", keys=["DOC"])
    broken = backup(folder, "20261123T020000Z", 50)
    with open(broken, "ab") as handle:
        handle.write(b"more")  # the size no longer matches its manifest: not verified
    found = _preflight.previous_backup(folder, "confluence", "example.atlassian.net", dict(scope="site", space_keys=None))
    assert found == (newest, 300, "2026-11-21T02:00:00Z")
    spaces = _preflight.previous_backup(folder, "confluence", None, dict(scope="space", space_keys=["DOC"]))
    assert spaces[1] == 700
    assert _preflight.previous_backup(folder, "snapshots", None, dict(scope=None, space_keys=None)) is None
    assert _preflight.previous_backup(str(tmp_path / "missing"), "confluence", None, {}) is None


def test_the_probe_write_leaves_nothing_and_reports_a_failure(tmp_path):
    assert _preflight.probe_write(str(tmp_path)) is None
    assert os.listdir(str(tmp_path)) == []
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "cannot create a file there" in _preflight.probe_write(str(a_file))


def test_free_bytes_and_the_nearest_existing_folder(tmp_path):
    class Stat(object):
        f_bavail = 10
        f_frsize = 4096
    assert _preflight.free_bytes(str(tmp_path), statvfs=lambda path: Stat()) == 40960
    assert _preflight.nearest_existing(str(tmp_path / "a" / "b")) == str(tmp_path)
    assert _preflight.human(3 << 30) == "3.0 GiB" and _preflight.human(12) == "12 bytes"
