# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_metrics through ansible-playbook (issue 13): the textfile, read back by the Prometheus parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
from datetime import date

import pytest

from test_backup_prune import add_backup

parser = pytest.importorskip("prometheus_client.parser")


def values(path):
    with open(path) as handle:
        text = handle.read()
    return dict((s.name, s.value) for f in parser.text_string_to_metric_families(text) for s in f.samples)


def test_written_once_then_unchanged_and_kept_on_failure(run_playbook, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    backups = str(tmp_path / "backups")
    os.makedirs(backups)
    base = add_backup(backups, date(2026, 11, 22))
    with open(base + ".json") as handle:
        manifest = json.load(handle)
    manifest.update(verified_level="archive", download_seconds=3.5)
    with open(base + ".json", "w") as handle:
        json.dump(manifest, handle)
    path = str(folder / "atlassian_backup_site.prom")
    args = dict(path=path, target="site", type="confluence_cloud", manifest=base + ".json", retained=5)
    check = run_playbook.module("backup_metrics", check=True, status="success", **args)
    assert check.rc == 0 and check.result["changed"] and not os.path.exists(path), check
    first = run_playbook.module("backup_metrics", status="success", **args)
    assert first.rc == 0 and first.result["changed"], first
    found = values(path)
    assert found["atlassian_backup_last_run_success"] == 1 and found["atlassian_backup_retained_copies"] == 5
    assert found["atlassian_backup_size_bytes"] == manifest["size"] and found["atlassian_backup_duration_seconds"] == 3.5
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 and os.listdir(str(folder)) == ["atlassian_backup_site.prom"]
    inode = os.stat(path).st_ino
    second = run_playbook.module("backup_metrics", status="success", **args)
    assert second.rc == 0 and not second.result["changed"] and os.stat(path).st_ino == inode, second
    failed = run_playbook.module("backup_metrics", path=path, target="site", type="confluence_cloud", status="failed")
    assert failed.rc == 0 and failed.result["changed"], failed
    after = values(path)
    assert after["atlassian_backup_last_run_success"] == 0
    assert after["atlassian_backup_last_success_timestamp_seconds"] == found["atlassian_backup_last_success_timestamp_seconds"]


def test_a_missing_folder_and_a_bad_label_are_refused(run_playbook, tmp_path):
    run = run_playbook.module("backup_metrics", path=str(tmp_path / "nowhere" / "x.prom"), target="t", type="snapshots",
                              status="failed")
    assert run.result["failed"] and "does not exist" in run.result["msg"], run
    bad = run_playbook.module("backup_metrics", path=str(tmp_path / "x.prom"), target="t", type="snapshots",
                              status="failed", labels={"__name__": "x"})
    assert bad.result["failed"] and "label name" in bad.result["msg"], bad
