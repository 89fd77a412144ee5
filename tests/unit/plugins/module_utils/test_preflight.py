# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of backup_preflight: sizes, the previous backup of a series, the room needed, the probe write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import preflight as _preflight
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import check_product, target_label

SITE = dict(scope="site", space_keys=None)


def backup(folder, stamp, size, label="example.atlassian.net", scope=None, keys=None, product="confluence", kind="",
           backup_time=None):
    """A backup as the collection writes it: zip, .sha256 and manifest. Returns the zip's path."""
    base = "%s-%s%s-%s" % (product, label, kind, stamp)
    body = b"x" * size
    digest = hashlib.sha256(body).hexdigest()
    with open(os.path.join(folder, base + ".zip"), "wb") as handle:
        handle.write(body)
    with open(os.path.join(folder, base + ".zip.sha256"), "w") as handle:
        handle.write("%s  %s\n" % (digest, base + ".zip"))
    manifest = {"format": 1, "product": product, "site_label": label, "file": base + ".zip", "size": size,
                "sha256": digest, "backup_time": backup_time or "%s-%s-%sT%s:%s:%sZ" % (
                    stamp[:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])}
    if scope:
        manifest.update(scope=scope, space_keys=keys or [])
    with open(os.path.join(folder, base + ".json"), "w") as handle:
        json.dump(manifest, handle)
    return os.path.join(folder, base + ".zip")


class StatVfs(object):
    """What os.statvfs returns, with only the fields the module reads."""

    def __init__(self, blocks_free, block_size=4096):
        self.f_bavail = blocks_free
        self.f_frsize = block_size


@pytest.mark.parametrize("text, size", [(0, 0), ("0", 0), ("512", 512), (512, 512), (1.0, 1), ("1K", 1024),
                                        ("1k", 1024), ("1KB", 1024), ("500M", 500 << 20), ("10G", 10 << 30),
                                        ("1.5GiB", 3 << 29), ("2t", 2 << 40), (" 3 MB ", 3 << 20)])
def test_sizes(text, size):
    assert _preflight.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "1X", "-1", "1P", "G", "1 G B", True, -5, float("nan"), float("inf")])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        _preflight.parse_size(text)


def test_figures_name_human_units_and_bytes():
    assert _preflight.human(3 << 30) == "3.0 GiB" and _preflight.human(12) == "12 bytes"
    assert _preflight.figure(3 << 20) == "3.0 MiB (3145728 bytes)" and _preflight.figure(100) == "100 bytes"


def test_the_target_is_checked_as_backup_prune_checks_it():
    assert check_product("confluence") is None and check_product("snapshots") is None
    assert "product must be a word" in check_product("Confluence/../x")
    assert target_label("https://Example.atlassian.net/wiki") == "example.atlassian.net"
    assert target_label("https://wiki.example.com:8443") == "wiki.example.com_8443"
    assert target_label("Wiki.Example.com") == "wiki.example.com" and target_label(None) is None
    for bad in ("", "a/b", "..", "."):
        with pytest.raises(ValueError):
            target_label(bad)


def test_the_previous_backup_is_the_newest_verified_of_the_same_series(tmp_path):
    folder = str(tmp_path)
    backup(folder, "20261120T020000Z", 100)
    newest = backup(folder, "20261121T020000Z", 300)
    # Newest by the manifest's backup time, not by the file name.
    backup(folder, "20261124T020000Z", 400, backup_time="2026-11-19T02:00:00Z")
    backup(folder, "20261122T020000Z", 900, label="other.atlassian.net")
    backup(folder, "20261122T030000Z", 700, scope="space", keys=["TEAM", "DOC"], kind="-space-DOC_TEAM")
    backup(folder, "20261122T040000Z", 800, scope="space", keys=["DOC"], kind="-space-DOC")
    backup(folder, "20261122T050000Z", 600, product="snapshots")
    broken = backup(folder, "20261123T020000Z", 50)
    with open(broken, "ab") as handle:
        handle.write(b"more")  # the size no longer matches its manifest: not verified
    with open(os.path.join(folder, "confluence-example.atlassian.net-20261125T020000Z.zip"), "wb") as handle:
        handle.write(b"y" * 5000)  # no manifest: not a backup of the series

    found = _preflight.previous_backup(folder, "confluence", "example.atlassian.net", SITE)
    assert found == dict(path=newest, size=300, backup_time="2026-11-21T02:00:00Z")
    # The size is the manifest's (the verified zip has it).
    assert os.stat(newest).st_size == 300
    assert _preflight.previous_backup(folder, "confluence", "other.atlassian.net", SITE)["size"] == 900
    # Space keys in any order select exactly that set; a scope alone selects any set of that scope.
    assert _preflight.previous_backup(folder, "confluence", None, dict(scope="space", space_keys=["DOC", "TEAM"]))["size"] == 700
    assert _preflight.previous_backup(folder, "confluence", None, dict(scope="space", space_keys=["DOC"]))["size"] == 800
    assert _preflight.previous_backup(folder, "confluence", None, dict(scope="space", space_keys=None))["size"] == 800
    assert _preflight.previous_backup(folder, "confluence", None, dict(scope="space", space_keys=["NONE"])) is None
    # No site: the newest verified backup of any site of the product.
    assert _preflight.previous_backup(folder, "confluence", None, SITE)["size"] == 900
    assert _preflight.previous_backup(folder, "snapshots", None, dict(scope=None, space_keys=None))["size"] == 600
    assert _preflight.previous_backup(folder, "jira", None, SITE) is None
    assert _preflight.previous_backup(str(tmp_path / "missing"), "confluence", None, {}) is None


def test_a_series_with_only_unverified_backups_has_no_previous_one(tmp_path):
    folder = str(tmp_path)
    only = backup(folder, "20261120T020000Z", 100)
    with open(only + ".sha256", "w") as handle:
        handle.write("%s  x\n" % ("0" * 64))
    assert _preflight.previous_backup(folder, "confluence", "example.atlassian.net", SITE) is None


@pytest.mark.parametrize("factor, previous, floor, needed, option", [
    (2.0, 300, 0, 600, "space_factor"),
    (2.0, 300, 1000, 1000, "min_free"),
    (2.0, 300, 600, 600, "space_factor"),  # a tie: the previous backup explains it
    (1.5, 3, 0, 5, "space_factor"),  # rounded up
    (0.0, 300, 0, 0, "space_factor"),
    (2.0, None, 0, 0, "min_free"),
    (2.0, None, 1 << 30, 1 << 30, "min_free"),
    (1e12, 40, 0, 40 * 10 ** 12, "space_factor"),
])
def test_the_space_required(factor, previous, floor, needed, option):
    found = _preflight.required(factor, previous, floor)
    assert found[0] == needed and found[2] == option
    assert found[1].startswith(option)


def test_a_full_disk_fails_with_every_figure_and_what_to_do(tmp_path):
    previous = dict(path="/b/confluence-x-20261121T020000Z.zip", size=3 << 20, backup_time="2026-11-21T02:00:00Z")
    seen = []

    def statvfs(path):
        seen.append(path)
        return StatVfs(1024)  # 4 MiB free

    full = _preflight.room(str(tmp_path), previous, 2.0, 0, statvfs=statvfs)
    assert seen == [str(tmp_path)]
    assert full["free_bytes"] == 4 << 20 and full["required_bytes"] == 6 << 20
    problem = full["problem"]
    for text in ("Not enough free space for the next backup in %s" % tmp_path, "4.0 MiB (4194304 bytes) free",
                 "6.0 MiB (6291456 bytes) needed", "space_factor 2 x the previous backup of 3.0 MiB (3145728 bytes)",
                 previous["path"], "2.0 MiB (2097152 bytes) short", "Free some space there", "lower space_factor"):
        assert text in problem, (text, problem)

    floor = _preflight.room(str(tmp_path), None, 2.0, 1 << 30, statvfs=lambda path: StatVfs(1024))
    assert floor["required_bytes"] == 1 << 30
    assert "no previous verified backup" in floor["problem"] and "lower min_free" in floor["problem"]
    assert "min_free 1.0 GiB (1073741824 bytes), as there is no previous backup" in floor["problem"]
    larger = _preflight.room(str(tmp_path), previous, 1.0, 5 << 20, statvfs=lambda path: StatVfs(1024))
    assert larger["required_bytes"] == 5 << 20 and "lower min_free" in larger["problem"]

    room = _preflight.room(str(tmp_path), previous, 2.0, 0, statvfs=lambda path: StatVfs(1536))
    assert room["problem"] is None and room["free_bytes"] == room["required_bytes"] == 6 << 20
    assert room["line"].startswith("6.0 MiB (6291456 bytes) free, 6.0 MiB (6291456 bytes) needed (space_factor 2 x")
    assert _preflight.free_bytes(str(tmp_path)) > 0


def test_the_probe_write_leaves_nothing_and_reports_a_failure(tmp_path):
    assert _preflight.probe_write(str(tmp_path)) is None
    assert os.listdir(str(tmp_path)) == []
    a_file = tmp_path / "file"
    a_file.write_text("x")
    problem = _preflight.probe_write(str(a_file))
    assert problem.startswith("cannot create a file there (Not a directory)") and "choose another path" in problem


def test_the_nearest_existing_folder_and_what_a_path_is(tmp_path):
    assert _preflight.nearest_existing(str(tmp_path / "a" / "b")) == str(tmp_path)
    assert _preflight.nearest_existing(str(tmp_path)) == str(tmp_path)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert _preflight.nearest_existing(str(a_file / "below")) == str(a_file)
    assert _preflight.kind(str(a_file)) == "a file"
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "dangling"))
    assert _preflight.nearest_existing(str(tmp_path / "dangling" / "x")) == str(tmp_path / "dangling")
    assert _preflight.kind(str(tmp_path / "dangling")) == "a symbolic link to nothing"
