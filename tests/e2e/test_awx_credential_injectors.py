# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each AWX/AAP credential type of extensions/awx/credential_types/, its injectors rendered the way AWX renders them
(tests/tools/awx_credential_types.py) with the emulator's credentials, gives an environment in which a module run
against the emulator succeeds; with none of the modules' variables set otherwise (issue 22). One ansible-playbook
run for all five types."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from conftest import (CANARY_TOKEN, CANARY_USER, COLLECTION, DC_ADMIN, DC_CONTEXT, DC_PASSWORD, DC_PAT, ORG_API_PREFIX,
                      ORG_ID, PLAYBOOKS, SNAP_KEY, SNAP_URL_TOKEN)

sys.path.insert(0, os.path.join(COLLECTION, "tests", "tools"))

import awx_credential_types as act  # noqa: E402  pylint: disable=wrong-import-position

# Every variable any type sets, removed from the run's own environment (the harness sets some of them).
CLEARED = ["ATLASSIAN_URL", "ATLASSIAN_USERNAME", "ATLASSIAN_API_TOKEN", "ATLASSIAN_PAT", "ATLASSIAN_ORG_ID",
           "ATLASSIAN_ACCOUNT_ID", "ATLASSIAN_BACKUP_API_URL", "SNAPSHOTS_BACKUP_URL", "SNAPSHOTS_API_KEY"]


def test_each_credential_type_environment_runs_a_module(emulator, run_playbook, dest):
    types = act.load(COLLECTION)
    render = act.render_env
    awx_env = {
        "confluence_cloud": render(types["confluence_cloud"], {
            "url": emulator.url, "username": CANARY_USER, "api_token": CANARY_TOKEN}),
        "confluence_datacenter_pat": render(types["confluence_datacenter"], {
            "url": emulator.url + DC_CONTEXT, "personal_access_token": DC_PAT}),
        "confluence_datacenter_password": render(types["confluence_datacenter"], {
            "url": emulator.url + DC_CONTEXT, "username": DC_ADMIN, "password": DC_PASSWORD}),
        "organization": render(types["organization"], {
            "org_id": ORG_ID, "username": CANARY_USER, "api_token": CANARY_TOKEN,
            "api_base_url": emulator.url + ORG_API_PREFIX}),
        "snapshots": render(types["snapshots"], {
            "endpoint": "%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN), "api_key": SNAP_KEY}),
    }
    destination = render(types["site_migration_destination"], {
        "url": emulator.url, "username": CANARY_USER, "api_token": CANARY_TOKEN})
    assert set(awx_env["organization"]) == {"ATLASSIAN_ORG_ID", "ATLASSIAN_ACCOUNT_ID", "ATLASSIAN_USERNAME",
                                            "ATLASSIAN_API_TOKEN", "ATLASSIAN_BACKUP_API_URL"}
    env = dict((name, None) for name in CLEARED)
    env.update(destination)
    run = run_playbook(name=os.path.join(PLAYBOOKS, "awx_credential_types.yml"), module=None, env=env,
                       awx_env=awx_env, dest=dest)
    assert run.rc == 0 and run.result, run
    result = run.result
    cloud = result["confluence_cloud"]
    assert not cloud.get("failed") and cloud["would_trigger"] is not None, run
    pat, password = result["confluence_datacenter"]
    assert not pat.get("failed") and not password.get("failed"), run
    assert isinstance(pat["jobs"], list) and isinstance(password["jobs"], list), run
    assert not result["organization"].get("failed") and isinstance(result["organization"]["items"], list), run
    snapshots = result["snapshots"]
    assert not snapshots.get("failed") and snapshots["changed"] and os.path.exists(snapshots["path"]), run
    assert not result["site_migration_destination"].get("failed"), run
