# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scheduled_backup with an ``org_policy`` target, night after night on the emulator's clock (issue 18).

The organization's service allows one backup every 7 days after the last COMPLETE one. The nights are simulated by
moving the emulator's clock (``/_emulator/advance``) one day between runs; backups take no time
(``org_backup_seconds: 0``), so nothing races the wall clock. The credentials come from the ATLASSIAN_*
variables the harness sets (conftest).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from conftest import ORG_API_PREFIX, SITE
from test_scheduled_backup import FAST, PLAYBOOK

prometheus_parser = pytest.importorskip("prometheus_client.parser")

DAY = 86400


def org_target(emulator, **extra):
    target = {"name": "org-wiki", "type": "org_policy", "cloud_id": SITE, "product": "confluence",
              "api_base_url": emulator.url + ORG_API_PREFIX}
    target.update(extra)
    return target


def run_role(run_playbook, tmp_path, targets, **variables):
    playbook = tmp_path / "scheduled.yml"
    playbook.write_text(json.dumps(PLAYBOOK))
    extra = dict(FAST)
    extra.update({"scheduled_backup_targets": targets, "scheduled_backup_dest": str(tmp_path / "backups"),
                  "scheduled_backup_textfile_dir": str(tmp_path / "textfile")})
    extra.update(variables)
    (tmp_path / "textfile").mkdir(exist_ok=True)
    return run_playbook(name=str(playbook), module=None, **extra)


def started_backups(emulator):
    return [r for r in emulator.state()["org"]["requests"] if r["method"] == "POST" and r["path"].endswith("/backups")]


def metrics(tmp_path, name="org_wiki"):
    with open(str(tmp_path / "textfile" / ("atlassian_backup_%s.prom" % name))) as handle:
        text = handle.read()
    return dict(((s.name, s.labels.get("target")), s.value)
                for family in prometheus_parser.text_string_to_metric_families(text) for s in family.samples)


def policy(emulator):
    return emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True})


def test_an_org_target_runs_every_night_for_eight_nights_with_its_own_max_age(emulator, run_playbook, tmp_path):
    """Defect 7: with the role's 20 h default, nights 2 to 7 asked for a backup the service refuses."""
    emulator.reset(org_backup_seconds=0)
    policy(emulator)
    for night in range(8):
        run = run_role(run_playbook, tmp_path, [org_target(emulator)])
        entry = dict((e["name"], e) for e in run.result or []).get("org-wiki")
        assert run.rc == 0 and entry and entry["status"] == "ok", "night %d: %r" % (night, run)
        assert metrics(tmp_path)[("atlassian_backup_last_run_success", "org-wiki")] == 1
        assert ("atlassian_backup_last_run_warning", "org-wiki") not in metrics(tmp_path)
        assert len(started_backups(emulator)) == (1 if night < 7 else 2), "night %d" % night
        emulator.control("advance", {"seconds": DAY})
    backups = emulator.state()["org"]["backups"]
    assert len(backups) == 2 and all(b["status"] == "COMPLETED" for b in backups), backups


def test_a_target_max_age_still_overrides_the_org_default(emulator, run_playbook, tmp_path):
    emulator.reset(org_backup_seconds=0)
    policy(emulator)
    first = run_role(run_playbook, tmp_path, [org_target(emulator, max_age="1d")])
    assert first.rc == 0, first
    emulator.control("advance", {"seconds": 2 * DAY})
    second = run_role(run_playbook, tmp_path, [org_target(emulator, max_age="1d")])
    assert second.rc != 0, "a max_age below the service's 7 days asks for a backup it refuses"
    entry = second.result[0]
    assert entry["status"] == "failed" and "7 days after your last complete backup" in entry["msg"], entry


def test_an_incomplete_backup_is_a_warning_in_the_report_the_hook_and_the_metrics(emulator, run_playbook, tmp_path):
    emulator.reset(org_backup_seconds=0, org_backup_outcome="INCOMPLETE")
    policy(emulator)
    hook = tmp_path / "notify.yml"
    hook.write_text(json.dumps([{"name": "Keep what the hook was given", "ansible.builtin.copy": {
        "content": "{{ scheduled_backup_report | to_json }}", "dest": str(tmp_path / "notified.json"),
        "mode": "0600"}}]))
    run = run_role(run_playbook, tmp_path, [org_target(emulator)], scheduled_backup_notify_tasks=str(hook),
                   scheduled_backup_notify_when="always")
    assert run.rc == 0, run
    entry = run.result[0]
    assert entry["status"] == "warning", entry
    assert entry["line"].startswith("org-wiki (org_policy): warning, "), entry["line"]
    assert "INCOMPLETE" in entry["line"] and "could not be backed up" in entry["line"], entry["line"]
    notified = json.loads((tmp_path / "notified.json").read_text())
    assert [e["status"] for e in notified] == ["warning"] and "could not be backed up" in notified[0]["warning"]
    found = metrics(tmp_path)
    assert found[("atlassian_backup_last_run_success", "org-wiki")] == 1
    assert found[("atlassian_backup_last_run_warning", "org-wiki")] == 1
