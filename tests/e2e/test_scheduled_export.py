# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scheduled_backup with a confluence_export target against the emulator's generated REST API v2 site
(issue 24): the export zipped, verified at inventory level, rotated, copied to S3 (moto) and in the metrics like any
backup; the next night's export incremental; a mass deletion caught by the drop alarm, the play failed, and the failed
export never the base of the next one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from test_scheduled_backup import S3_ENV, by_name, families, run_role, s3_vars, value

from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import site_label

pytest.importorskip("boto3")

SITE = {"seed": 24, "spaces": 2, "pages": 50, "blogposts": 4, "attachments": 4, "attachment_size": [300, 2000],
        "fanout": 5}


def read(path):
    with open(path) as handle:
        return json.load(handle)


def test_an_export_target_is_verified_rotated_copied_and_alarmed_like_a_backup(emulator, run_playbook, tmp_path, s3):
    site = emulator.control("rest_v2/site", SITE)
    target = [{"name": "content", "type": "confluence_export", "url": emulator.url, "workers": 4}]
    # Metrics and the S3 copy in the second run only, which asserts them: each step costs seconds of module runs.
    variables = dict(scheduled_backup_verify="inventory", scheduled_backup_textfile_dir="")
    dest = str(tmp_path / "backups" / "content")
    label = site_label(emulator.url)

    first = run_role(run_playbook, tmp_path, target, **variables)
    assert first.rc == 0, first
    one = by_name(first)["content"]
    assert one["status"] == "ok" and one["verified"] == "inventory" and one["path"].endswith(".zip"), one
    assert os.path.basename(one["path"]).startswith("confluence-%s-content-export-" % label)
    first_folder = read(one["manifest_path"])["export_folder"]

    emulator.control("rest_v2/change", {"edit_pages": 1})
    with_copies = s3_vars(s3)
    with_copies.update(scheduled_backup_verify="inventory", scheduled_backup_textfile_dir=str(tmp_path / "textfile"))
    second = run_role(run_playbook, tmp_path, target, env=S3_ENV, **with_copies)
    assert second.rc == 0, second
    two = by_name(second)["content"]
    zipped = read(two["manifest_path"])
    assert zipped["kind"] == "content-export" and zipped["verified_level"] == "inventory", zipped
    pages = zipped["inventory"]["pages"]
    assert pages == site["totals"]["pages"]["current"] + site["totals"]["pages"]["archived"]
    folder = os.path.join(dest, zipped["export_folder"])
    export = read(os.path.join(folder, "export.json"))
    assert export["fetched"]["pages"] == 1 and export["reused"]["pages"] == pages - 1, export["fetched"]
    assert export["previous"] == first_folder
    # Retention kept one copy (both runs fell on one day) and deleted the first zip; the copy is in the bucket.
    assert two["retained"] == 1 and two["deleted"] == [os.path.basename(one["path"])], two
    assert sorted(n for n in os.listdir(dest) if n.endswith(".zip")) == [os.path.basename(two["path"])]
    listed = sorted(o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"])["Contents"])
    key = "nightly/content/" + os.path.basename(two["path"])
    assert listed == sorted([key, key + ".sha256", key[:-len(".zip")] + ".json"]), listed
    metrics = families(str(tmp_path / "textfile" / "atlassian_backup_content.prom"))
    assert value(metrics, "atlassian_backup_inventory", kind="pages") == pages
    assert value(metrics, "atlassian_backup_verified", level="inventory") == 1

    homes = set(space["homepageId"] for space in site["spaces"])
    doomed = [i for i, item in sorted(export["items"].items()) if item["type"] == "page" and i not in homes][:30]
    emulator.control("rest_v2/change", {"trash": [int(i) for i in doomed]})
    third = run_role(run_playbook, tmp_path, target, **variables)
    assert third.rc != 0, third
    three = by_name(third)["content"]
    assert three["status"] == "failed" and "Possible mass deletion" in three["msg"], three
    failed = [n for n in os.listdir(dest) if n.startswith(layout.PREFIX) and n > zipped["export_folder"]]
    assert len(failed) == 1 and read(os.path.join(dest, failed[0], "export.json"))["verified"] is False
    # Zipped before its verification: the older folder went, the last good one stays for the next run to build on.
    assert not os.path.exists(os.path.join(dest, first_folder)) and os.path.isdir(folder)
    assert layout.exports(dest, label, "all")[0][0] == folder
