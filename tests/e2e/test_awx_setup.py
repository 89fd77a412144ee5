# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_setup.yml and the job templates' guard playbooks (issue 22): they parse; the credential types reach
AWX's API as the files hold them, injectors' {{ }} untemplated by ansible-core, and a second run changes nothing
(against tests/tools/awx_standin.py, which stands in for the calls of awx.awx's credential_type module only; the
other tasks are checked by --syntax-check and ansible-lint, not run); a restore drill whose survey answer is wrong
stops before the restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

from conftest import COLLECTION, COLLECTIONS_ROOT

sys.path.insert(0, os.path.join(COLLECTION, "tests", "tools"))

import awx_credential_types as act  # noqa: E402  pylint: disable=wrong-import-position
import awx_standin  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK_DIR = os.path.join(COLLECTION, "playbooks")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


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


def test_credential_types_reach_awx_as_written_and_a_second_run_changes_nothing(tmp_path):
    server, store = awx_standin.serve()
    try:
        env = dict(CONTROLLER_HOST="http://127.0.0.1:%d" % server.server_address[1], CONTROLLER_USERNAME="admin",
                   CONTROLLER_PASSWORD="standin-password", CONTROLLER_VERIFY_SSL="false")
        args = [os.path.join(PLAYBOOK_DIR, "awx_setup.yml"), "--tags", "credential_types"]
        first = run(args, tmp_path, **env)
        assert first.returncode == 0 and "changed=1" in first.stdout, first.stdout
        created = dict((obj["name"], obj) for obj in store.objects["credential_types"].values())
        files = act.load(COLLECTION).values()
        assert sorted(created) == sorted(ctype["name"] for ctype in files)
        for ctype in files:
            sent = created[ctype["name"]]
            assert sent["injectors"] == ctype["injectors"] and sent["inputs"] == ctype["inputs"], ctype["name"]
            assert (sent["kind"], sent["description"]) == (ctype["kind"], ctype["description"])
        writes = len([w for w in store.writes if "/tokens/" not in w[1]])
        second = run(args, tmp_path, **env)
        assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout
        assert len([w for w in store.writes if "/tokens/" not in w[1]]) == writes, store.writes
    finally:
        server.shutdown()


def test_a_wrong_confirmation_stops_the_restore_drill(tmp_path):
    proc = run([os.path.join(PLAYBOOK_DIR, "awx_restore_drill.yml"), "-e",
                '{"atlassian_confirmation_expected": "RESTORE", "atlassian_confirmation": "yes"}'], tmp_path)
    assert proc.returncode != 0 and "Not confirmed: type RESTORE exactly" in proc.stdout, proc.stdout
    assert "Restore drill" not in proc.stdout.split("Not confirmed")[1], proc.stdout
