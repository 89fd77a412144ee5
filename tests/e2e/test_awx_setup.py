# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_setup.yml and the job templates' guard playbooks (issue 22): they parse; the whole of awx_setup.yml
runs twice against tests/tools/awx_standin.py (a stand-in of the AWX API for what awx.awx's modules call): the first
run creates what AWX should hold (credential types as the files hold them, injectors' {{ }} untemplated by
ansible-core; templates on the right playbooks, sliced; surveys; the nightly schedule; execute roles per team),
the second writes nothing; a restore drill whose survey answer is wrong stops before the restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest
import sys

from conftest import COLLECTION, COLLECTIONS_ROOT

sys.path.insert(0, os.path.join(COLLECTION, "tests", "tools"))

import awx_credential_types as act  # noqa: E402  pylint: disable=wrong-import-position
import awx_standin  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK_DIR = os.path.join(COLLECTION, "playbooks")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

# What an admin would pass (docs/docsite/rst/awx.rst): two backup hosts, one with host variables, two slices, an EE,
# and an existing Machine credential on every template.
SETUP_VARS = {
    "atlassian_awx_backup_hosts": [{"name": "backup1.example.com", "variables": {"ansible_user": "backup"}},
                                   "backup2.example.com"],
    "atlassian_awx_job_slice_count": 2,
    "atlassian_awx_ee_image": "registry.example.com/atlassian-backup-ee:latest",
    "atlassian_awx_backup_credentials": ["Backup host SSH"],
    "atlassian_awx_restore_drill_credentials": ["Backup host SSH"],
    "atlassian_awx_migration_credentials": ["Backup host SSH"],
}


def run(args, tmp_path, **env):
    full = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_RETRY_FILES_ENABLED="0")
    full.update(env)
    return subprocess.run([ANSIBLE_PLAYBOOK] + args, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)


def test_the_playbooks_parse(tmp_path):
    names = ["awx_setup.yml", "awx_restore_drill.yml", "awx_site_migration.yml"]
    proc = run(["--syntax-check"] + [os.path.join(PLAYBOOK_DIR, name) for name in names], tmp_path)
    assert proc.returncode == 0, proc.stdout


def by_name(objects, kind, field="name"):
    return dict((obj[field], obj) for obj in objects[kind].values())


def test_awx_setup_creates_everything_and_a_second_run_writes_nothing(tmp_path):
    playbooks = sorted("playbooks/" + name for name in os.listdir(PLAYBOOK_DIR) if name.endswith(".yml"))
    server, store = awx_standin.serve(playbooks=playbooks)
    try:
        # AWX's own Machine type and an admin's SSH credential, which the templates name.
        machine = store.add("credential_types", {"name": "Machine", "kind": "ssh", "managed": True})
        ssh = store.add("credentials", {"name": "Backup host SSH", "credential_type": machine["id"],
                                        "organization": 1})
        env = dict(CONTROLLER_HOST="http://127.0.0.1:%d" % server.server_address[1], CONTROLLER_USERNAME="admin",
                   CONTROLLER_PASSWORD="standin-password", CONTROLLER_VERIFY_SSL="false")
        args = [os.path.join(PLAYBOOK_DIR, "awx_setup.yml"), "-e", json.dumps(SETUP_VARS)]
        first = run(args, tmp_path, **env)
        assert first.returncode == 0 and "failed=0" in first.stdout, first.stdout
        state = store.state()
        objects = state["objects"]

        created = by_name(objects, "credential_types")
        files = list(act.load(COLLECTION).values())
        assert sorted(created) == sorted([ctype["name"] for ctype in files] + ["Machine"])
        for ctype in files:
            sent = created[ctype["name"]]
            assert sent["injectors"] == ctype["injectors"] and sent["inputs"] == ctype["inputs"], ctype["name"]
            assert (sent["kind"], sent["description"], sent["managed"]) == (ctype["kind"], ctype["description"], False)

        org = by_name(objects, "organizations")["Default"]["id"]
        ee = by_name(objects, "execution_environments")["Atlassian backup EE"]
        assert (ee["image"], ee["organization"], ee["pull"]) == (SETUP_VARS["atlassian_awx_ee_image"], org, "missing")
        project = by_name(objects, "projects")["Atlassian backups"]
        assert (project["scm_type"], project["scm_url"], project["scm_branch"], project["organization"],
                project["default_environment"], project["status"]) == (
            "git", "https://github.com/atlassian-ops/backup.git", "main", org, ee["id"], "successful")

        inventory = by_name(objects, "inventories")["Atlassian backup hosts"]
        hosts = dict((h["name"], h) for h in objects["hosts"].values() if h["inventory"] == inventory["id"])
        assert sorted(hosts) == ["backup1.example.com", "backup2.example.com"]
        assert not set(hosts) & {"localhost", "127.0.0.1", "::1"}
        assert json.loads(hosts["backup1.example.com"]["variables"]) == {"ansible_user": "backup"}
        group = by_name(objects, "groups")["atlassian_backup_hosts"]
        assert group["inventory"] == inventory["id"]
        assert json.loads(group["variables"]) == {"scheduled_backup_dest": "/srv/backups/atlassian"}
        assert sorted(state["links"]["groups/%d/hosts" % group["id"]]) == sorted(h["id"] for h in hosts.values())

        templates = by_name(objects, "job_templates")
        expected = {"Atlassian backup": ("scheduled_backup.yml", 2, None),
                    "Atlassian restore drill": ("awx_restore_drill.yml", 1, "RESTORE"),
                    "Atlassian site migration": ("awx_site_migration.yml", 1, "MIGRATE")}
        assert sorted(templates) == sorted(expected)
        for name, (playbook, slices, confirmation) in expected.items():
            jt = templates[name]
            assert (jt["playbook"], jt["job_slice_count"], jt["project"], jt["inventory"], jt["organization"],
                    jt["execution_environment"], jt["ask_variables_on_launch"]) == (
                "playbooks/" + playbook, slices, project["id"], inventory["id"], org, ee["id"], False), name
            assert state["links"]["job_templates/%d/credentials" % jt["id"]] == [ssh["id"]], name
            extra = json.loads(jt["extra_vars"])
            survey = state["surveys"].get(jt["id"])
            if confirmation is None:
                assert jt["survey_enabled"] is False and survey is None
                assert extra == {"scheduled_backup_hosts": "atlassian_backup_hosts",
                                 "scheduled_backup_install_timer": False}
                continue
            assert jt["survey_enabled"] is True, name
            assert extra["atlassian_confirmation_expected"] == confirmation, name
            [question] = survey["spec"]
            assert (question["variable"], question["required"], question["type"]) == (
                "atlassian_confirmation", True, "text"), name
            assert confirmation in question["question_name"], name

        # RBAC: execute on the backup template for the backup team only; on the restore drill and the migration for
        # the restore team only, and the restore team holds no other role.
        teams = by_name(objects, "teams")
        backup_team, restore_team = teams["Atlassian backup operators"], teams["Atlassian restore operators"]
        assert backup_team["organization"] == restore_team["organization"] == org
        members = state["role_members"]
        execute = dict((name, jt["summary_fields"]["object_roles"]["execute_role"]["id"]) for name, jt in templates.items())
        assert members[execute["Atlassian backup"]] == {"teams": [backup_team["id"]], "users": []}
        for name in ("Atlassian restore drill", "Atlassian site migration"):
            assert members[execute[name]] == {"teams": [restore_team["id"]], "users": []}, name
        held = dict((team["id"], sorted(rid for rid, m in members.items() if team["id"] in m["teams"]))
                    for team in (backup_team, restore_team))
        assert held[restore_team["id"]] == sorted([execute["Atlassian restore drill"], execute["Atlassian site migration"]])
        assert held[backup_team["id"]] == [execute["Atlassian backup"]]

        [schedule] = objects["schedules"].values()
        assert schedule["name"] == "Atlassian backup nightly" and schedule["enabled"] is True
        assert schedule["unified_job_template"] == templates["Atlassian backup"]["id"]
        assert "RRULE:FREQ=DAILY;INTERVAL=1" in schedule["rrule"] and "T020000" in schedule["rrule"]

        writes = list(store.writes)
        second = run(args, tmp_path, **env)
        assert second.returncode == 0 and "changed=0" in second.stdout and "failed=0" in second.stdout, second.stdout
        assert store.writes == writes, store.writes[len(writes):]
    finally:
        server.shutdown()


def test_a_wrong_confirmation_stops_the_restore_drill(tmp_path):
    # As in AWX, the drill's play targets another host (the first backup host) than the confirmation's localhost:
    # the drill must not start there either.
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"backup1": {"ansible_connection": "local"}}}}))
    proc = run([os.path.join(PLAYBOOK_DIR, "awx_restore_drill.yml"), "-i", str(inventory), "-e",
                '{"atlassian_confirmation_expected": "RESTORE", "atlassian_confirmation": "yes",'
                ' "restore_drill_hosts": "backup1"}'], tmp_path)
    assert proc.returncode != 0 and "Not confirmed: type RESTORE exactly" in proc.stdout, proc.stdout
    after = proc.stdout.split("Not confirmed")[1]
    assert "PLAY [Restore drill]" not in after and "backup1" not in after, proc.stdout


@pytest.mark.parametrize("hosts, group", [
    ([{"name": "wiki", "variables": {"ansible_connection": "local"}}], {}),
    (["backup1.example.com"], {"ansible_connection": "local"}),
    (["localhost"], {}),
])
def test_a_backup_host_inside_the_job_container_is_refused(tmp_path, hosts, group):
    proc = run([os.path.join(PLAYBOOK_DIR, "awx_setup.yml"), "-e", json.dumps(
        dict(SETUP_VARS, atlassian_awx_backup_hosts=hosts, atlassian_awx_group_variables=group))], tmp_path,
        CONTROLLER_HOST="http://127.0.0.1:9")  # nothing listens: the refusal comes before any call
    assert proc.returncode != 0 and "thrown away when the job ends" in proc.stdout, proc.stdout
