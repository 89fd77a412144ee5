# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_preflight through ansible-playbook (issue 13). It talks to no service."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from datetime import date

from test_backup_prune import add_backup


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def test_a_missing_folder_is_created_once_and_only_reported_in_check_mode(run_playbook, tmp_path):
    folder = str(tmp_path / "new" / "confluence")
    check = run_playbook.module("backup_preflight", check=True, path=folder, product="confluence")
    assert ok(check) and check.result["exists"] is False and not check.result["created"], check
    assert not os.path.exists(folder)
    first = run_playbook.module("backup_preflight", path=folder, product="confluence")
    assert ok(first) and first.result["changed"] and first.result["created"] and first.result["writable"], first
    assert oct(os.stat(folder).st_mode & 0o777) == oct(0o750)
    second = run_playbook.module("backup_preflight", path=folder, product="confluence")
    assert ok(second) and not second.result["changed"] and second.result["previous"] is None, second
    assert os.listdir(folder) == [], "the probe file is gone"


def test_free_space_is_measured_against_the_previous_backup(run_playbook, tmp_path):
    folder = str(tmp_path / "backups")
    os.makedirs(folder)
    add_backup(folder, date(2026, 11, 20))
    newest = add_backup(folder, date(2026, 11, 21))
    run = run_playbook.module("backup_preflight", path=folder, product="confluence", site="https://example.atlassian.net")
    assert ok(run) and run.result["previous"]["path"] == newest + ".zip", run
    size = run.result["previous_bytes"]
    assert run.result["required_bytes"] == 2 * size and run.result["free_bytes"] > 2 * size
    full = run_playbook.module("backup_preflight", path=folder, product="confluence", space_factor=1e15)
    assert full.rc == 0 and full.result["failed"], full
    assert "Not enough free space" in full.result["msg"] and newest + ".zip" in full.result["msg"], full.result["msg"]
    floor = run_playbook.module("backup_preflight", path=folder, product="confluence", min_free="1000000T")
    assert floor.result["failed"] and "min_free" in floor.result["msg"], floor.result["msg"]


def test_a_path_that_is_a_file_or_under_a_file_is_refused(run_playbook, tmp_path):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    run = run_playbook.module("backup_preflight", path=str(a_file), product="confluence")
    assert run.result["failed"] and "is not a folder" in run.result["msg"], run
    under = run_playbook.module("backup_preflight", path=str(a_file / "below"), product="confluence")
    assert under.result["failed"] and "Cannot create the backup folder" in under.result["msg"], under
    bad = run_playbook.module("backup_preflight", path=str(tmp_path), product="confluence", min_free="lots")
    assert bad.result["failed"] and "min_free" in bad.result["msg"], bad
