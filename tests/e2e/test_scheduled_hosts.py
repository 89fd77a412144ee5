# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scheduled_backup in the host form: a target per inventory host, the hosts side by side (issue 22).

Four Confluence Cloud targets as four hosts (``ansible_connection: local``) of one play, four forks, in one
playbook run. One target's token is refused. The four targets name the one Cloud site of the emulator: the service
lets a second asker join the backup that runs (or use the newest one), so the three good hosts may download the same
backup, each into its own folder, under its own lock, with its own metrics.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

import pytest

from conftest import SAVE
from test_scheduled_backup import FAST, families, value

prometheus_parser = pytest.importorskip("prometheus_client.parser")

NAMES = ("site-1", "site-2", "site-3", "site-4")
BAD = "site-3"
PLAYBOOK = [{
    "name": "The role on every site host", "hosts": "sites", "gather_facts": False,
    "tasks": [{"name": "Run the role", "block": [
        {"name": "Scheduled backups", "ansible.builtin.include_role": {"name": "atlassian_ops.backup.scheduled_backup"}}],
        "always": [{"name": "Save the host's report", "check_mode": False, SAVE: {
            "content": "{{ scheduled_backup_report | default([]) | to_nice_json }}",
            "dest": "{{ result_file }}.{{ inventory_hostname }}"}}]}],
}]


def test_four_cloud_targets_as_four_hosts_one_refused_the_run_fails_naming_it(emulator, run_playbook, tmp_path):
    emulator.config(backup_inventory={"spaces": 2, "pages": 30, "blog_posts": 4, "comments": 6, "attachments": 3})
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    hosts = dict((name, {"scheduled_backup_target": {"name": name, "type": "confluence_cloud", "url": emulator.url}})
                 for name in NAMES)
    inventory = {"sites": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "scheduled_backup_dest": str(tmp_path / "backups"), "scheduled_backup_textfile_dir": str(textfiles),
        "scheduled_backup_report_file": str(tmp_path / "report.json")}}}
    hook = tmp_path / "notify.yml"
    hook.write_text(json.dumps([{"name": "Keep what the hook was given, once per host that ran it",
                                 "ansible.builtin.copy": {
                                     "content": "{{ {'failed': scheduled_backup_failed | map(attribute='name') | list, "
                                                "'lines': scheduled_backup_report | map(attribute='line') | list} | to_json }}",
                                     "dest": str(tmp_path / "notified-{{ inventory_hostname }}.json"), "mode": "0600"}}]))
    playbook = tmp_path / "sites.yml"
    playbook.write_text(json.dumps(PLAYBOOK))
    env = {"ANSIBLE_FORKS": "4", "SCHEDULED_BACKUP_SITE_3_API_TOKEN": "refused-token-3"}
    run = run_playbook(name=str(playbook), module=None, inventory=inventory, env=env,
                       scheduled_backup_notify_tasks=str(hook), **FAST)
    assert run.rc != 0, run

    # The run's report: every host's target, the refused one failed and named, the run failed once for all.
    with open(str(tmp_path / "report.json")) as handle:
        report = dict((entry["name"], entry) for entry in json.load(handle))
    assert sorted(report) == list(NAMES), report
    assert dict((n, e["host"]) for n, e in report.items()) == dict((n, n) for n in NAMES)
    assert [report[n]["status"] for n in NAMES] == ["ok", "ok", "failed", "ok"], report
    assert "SCHEDULED_BACKUP_SITE_3_API_TOKEN: the service refused" in report[BAD]["msg"], report[BAD]
    assert "1 of 4 backup targets failed:" in run.output, run.output[-3000:]
    failed = [line for line in run.output.splitlines() if line.lstrip().startswith("site-3 (confluence_cloud): failed at")]
    assert failed, run.output[-3000:]
    notified = [name for name in os.listdir(str(tmp_path)) if name.startswith("notified-")]
    assert len(notified) == 1, "the hook runs once for the run: %s" % notified
    said = json.loads((tmp_path / notified[0]).read_text())
    assert said["failed"] == [BAD] and len(said["lines"]) == 4, said

    # The good hosts took their backup in the background (their forks free meanwhile), each verified in its folder.
    assert "TASK [atlassian_ops.backup.scheduled_backup : Take or reuse the backup, waiting for it in the background]" \
        in run.output, run.output[-3000:]
    for name in NAMES:
        with open(str(tmp_path / ("result-0.json.%s" % name))) as handle:  # the run's result_file, per host
            own = json.load(handle)
        assert [entry["name"] for entry in own] == [name], own
        metrics = families(str(textfiles / ("atlassian_backup_%s.prom" % name.replace("-", "_"))))
        if name == BAD:
            assert value(metrics, "atlassian_backup_last_run_success", target=name) == 0
            folder = str(tmp_path / "backups" / name)
            assert not os.path.isdir(folder) or not [n for n in os.listdir(folder) if n.endswith(".zip")]
            continue
        entry = report[name]
        assert os.path.dirname(entry["path"]) == str(tmp_path / "backups" / name), entry
        assert os.path.exists(entry["path"]) and entry["verified"] == "inventory", entry
        with open(entry["manifest_path"]) as handle:
            manifest = json.load(handle)
        assert manifest["inventory"]["pages"] == 30 and manifest["verified_level"] == "inventory", manifest
        assert value(metrics, "atlassian_backup_last_run_success", target=name) == 1
        assert value(metrics, "atlassian_backup_size_bytes", target=name) == entry["size"]
    locks = sorted(os.listdir(str(tmp_path / "backups" / ".locks")))
    assert locks == sorted("%s.lock" % n for n in NAMES), locks
