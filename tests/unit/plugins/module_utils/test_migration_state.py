# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state file of a site migration (issue 21): steps, attempts, durations, identity, atomic writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import migration as ms

WHO = {"kind": "cloud_to_cloud", "source": "https://a.example", "destination": "https://b.example"}


def test_a_step_records_attempts_duration_and_keeps_its_data_across_attempts(tmp_path):
    folder = str(tmp_path / "m")
    ms.update(folder, WHO, "backup", "started", now=100.0)
    ms.update(folder, WHO, "backup", "failed", data={"backup_id": "b1"}, message="boom", now=110.0)
    ms.update(folder, WHO, "backup", "started", now=200.0)
    _old, new = ms.update(folder, WHO, "backup", "done", data={"size": 3}, now=230.5)
    record = new["steps"]["backup"]
    assert record["attempts"] == 2 and record["status"] == "done" and record["duration_seconds"] == 30.5
    assert record["data"] == {"backup_id": "b1", "size": 3} and record["message"] is None
    assert ms.read(folder) == new and oct(os.stat(folder).st_mode & 0o777) == "0o700"
    assert ms.summary(new) == {"backup": "done"}


def test_a_killed_step_stays_started_and_the_file_is_never_half_written(tmp_path):
    folder = str(tmp_path / "m")
    ms.update(folder, WHO, "preflight", "done", now=1.0)
    ms.update(folder, WHO, "restore", "started", now=2.0)
    state = ms.read(folder)
    assert state["steps"]["restore"]["status"] == "started" and state["steps"]["preflight"]["status"] == "done"
    assert [n for n in os.listdir(folder) if n.endswith(".tmp")] == []


def test_check_mode_creates_and_writes_nothing(tmp_path):
    folder = str(tmp_path / "m")
    _old, new = ms.update(folder, WHO, "preflight", "started", write=False, now=5.0)
    assert new["steps"]["preflight"]["attempts"] == 1 and not os.path.exists(folder)


def test_another_migration_s_folder_is_refused(tmp_path):
    folder = str(tmp_path / "m")
    ms.update(folder, WHO, "preflight", "done", now=1.0)
    other = dict(WHO, destination="https://c.example")
    with pytest.raises(ms.StateError, match="another migration.*destination 'https://b.example', not 'https://c.example'"):
        ms.update(folder, other, "backup", "started")
    assert ms.read(folder)["steps"].keys() == {"preflight"}


@pytest.mark.parametrize("text,words", [("{", "not JSON"), ("[]", "no steps"), ('{"steps": {}, "format": 9}', "format 9")])
def test_a_state_file_that_cannot_be_used_says_why(tmp_path, text, words):
    (tmp_path / "migration.json").write_text(text)
    with pytest.raises(ms.StateError, match=words):
        ms.read(str(tmp_path))


def test_an_unknown_status_is_refused():
    with pytest.raises(ms.StateError, match="status must be one of"):
        ms.apply(ms.empty(WHO), "x", "paused", 1.0)
    assert json.loads(json.dumps(ms.empty(WHO)))["steps"] == {}
