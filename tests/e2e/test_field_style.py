# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``field_style: shuffled`` (issue 19): over many seeds, each API's undocumented answers name their fields
otherwise, nest them, wrap them and change the case of their statuses (tests/emulator/atlassian_emulator/shuffle.py);
every run must still end with the job found and the right file verified, or a clean failure naming the reason, and
exactly one start POST.

The hypothesis tests drive the workflows of module_utils in this process with the collection's own client against
the emulator started once for the session (reset per example), as test_started_jobs_property.py does: about 25
examples per API, some 40 s in all on a laptop. One ansible-playbook case per API, with a fixed seed, checks that
the module's warnings name the field path read by shape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import tempfile

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import (CANARY_TOKEN, CANARY_USER, DC_ADMIN, DC_CONTEXT, DC_PASSWORD, DC_PAT, ORG_API_PREFIX, ORG_ID,
                      RESTORE_SITE, SITE, SNAP_KEY, SNAP_URL_TOKEN)
from test_started_jobs_property import Module  # the stand-in of an Ansible module that the workflows ask for

from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud.backup import CloudBackup
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianClient
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.backup import DataCenterBackup
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.api import OrgBackupApi
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import transfer
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.restore import run_restore
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.run import run_backup
from ansible_collections.atlassian_ops.backup.plugins.module_utils.snapshots.export import SnapshotsExport

SEEDS = st.integers(0, 2 ** 31)
PER_API = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WAIT = dict(wait=True, wait_timeout=60, wait_timeout_text="1m", poll_interval=0.02, check_mode=False, max_age=None,
            max_age_text=None)
# A seed whose shapes read by shape in every API (checked by the playbook cases below).
SEED = 7


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(piece)
    return digest.hexdigest()


def posts(requests_log, suffix):
    return [r for r in requests_log if r["method"] == "POST" and r["path"].rstrip("/").endswith(suffix)]


class Folder(object):
    """A fresh folder per hypothesis example (function-scoped fixtures are not reset between examples)."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="field-style-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------------------------- organization-level API
def org_client(emulator):
    return AtlassianClient(emulator.url + ORG_API_PREFIX, auth=("basic", CANARY_USER, CANARY_TOKEN), retries=0,
                           sleep=lambda seconds: None)


def backup_run_of(emulator, module, policy):
    """The backup_run workflow on ``policy``, waiting for the backup."""
    client = org_client(emulator)
    params = dict(policy_id=policy["policyId"], cloud_id=None, product=None, org_id=ORG_ID, **WAIT)
    try:
        return run_backup(module, OrgBackupApi(client, ORG_ID, warn=module.warn), params)
    finally:
        client.close()


@PER_API
@given(seed=SEEDS, earlier=st.integers(0, 3))
def test_org_backup_run_finds_its_backup_in_every_shape(emulator, seed, earlier):
    emulator.reset(field_style="shuffled", field_seed=seed, org_backup_seconds=0, org_page_size_max=2)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE"})
    for index in range(earlier):   # older backups, past the 7-day rule, on more than one page
        emulator.control("org/backup", {"policyId": policy["policyId"], "status": "COMPLETE",
                                        "age_seconds": (8 + index) * 86400})
    module = Module()
    result = backup_run_of(emulator, module, policy)
    state = emulator.state()["org"]
    assert len(posts(state["requests"], "/backups")) == 1
    new = sorted(state["backups"], key=lambda b: b["createdAt"])[-1]
    assert result["backup_id"] == new["backupId"] and result["status"] == "COMPLETE", (result, module.warnings)
    assert result["triggered"] is True
    assert all("issue 19" in w for w in module.warnings), module.warnings


@pytest.mark.parametrize("answer", ["documented", "nested"])
def test_an_empty_answer_to_a_job_poll_is_polled_again_not_taken_for_a_404(emulator, answer):
    """Found by make chaos: one empty 200 to GET backups/{id} failed the wait with "disappeared (the API answered
    404)" while the backup went on; and, right after a start answer read by shape, failed the task."""
    emulator.reset(org_backup_seconds=0, org_start_answer=answer)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE"})
    emulator.faults({"kind": "http", "status": 200, "match": "/backups/[^/]+$", "method": "GET", "count": 1,
                     "body": ""})
    module = Module()
    result = backup_run_of(emulator, module, policy)
    assert emulator.state()["fault_log"], "the empty answer was served"
    assert result["status"] == "COMPLETE" and result["triggered"] is True, result


@PER_API
@given(seed=SEEDS, kind=st.sampled_from(("export", "import", "restore")))
def test_org_export_import_and_restore_find_their_job_in_every_shape(emulator, seed, kind):
    emulator.reset(field_style="shuffled", field_seed=seed, org_export_seconds=0, org_import_seconds=0,
                   org_restore_seconds=0)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "JIRA", "storageId": "storage-1"})
    backup = emulator.control("org/backup", {"policyId": policy["policyId"], "status": "COMPLETE",
                                             "age_seconds": 3600})
    module, client = Module(), org_client(emulator)
    api = OrgBackupApi(client, ORG_ID, warn=module.warn)
    params = dict(backup_id=backup["backupId"], cloud_id=None, product=None, org_id=ORG_ID, **WAIT)
    try:
        if kind == "import":
            transfer("export", Module(), OrgBackupApi(client, ORG_ID), params)
        if kind == "restore":
            params.update(cloud_id=RESTORE_SITE, confirm=True, include_attachments=True,
                          include_users_and_groups=True,
                          consents=["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"])
            result = run_restore(module, api, params)
        else:
            result = transfer(kind, module, api, params)
    finally:
        client.close()
    state = emulator.state()["org"]
    jobs = state[kind + "s"]
    assert len(posts(state["requests"], "/%ss" % kind)) == 1 and len(jobs) == 1, jobs
    assert result[kind + "_id"] == jobs[0][kind + "Id"] != backup["backupId"], (result, module.warnings)
    assert result["status"] == "COMPLETE" and result["changed"] is True, result


def test_a_restore_whose_first_read_fails_still_gets_its_consents(emulator):
    """Found by make chaos: after a start answer read by shape, a 503 to the restore's first read left a document
    without its validation checks, so the consents were never sent and the restore ended VALIDATION_FAILED."""
    emulator.reset(org_start_answer="nested", org_restore_seconds=0)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "JIRA", "storageId": "storage-1"})
    backup = emulator.control("org/backup", {"policyId": policy["policyId"], "status": "COMPLETE",
                                             "age_seconds": 3600})
    emulator.faults({"kind": "http", "status": 503, "match": "/restores/[^/]+$", "method": "GET", "count": 2})
    module, client = Module(), org_client(emulator)
    params = dict(backup_id=backup["backupId"], org_id=ORG_ID, product=None, cloud_id=RESTORE_SITE, confirm=True,
                  include_attachments=True, include_users_and_groups=True,
                  consents=["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"], **WAIT)
    try:
        result = run_restore(module, OrgBackupApi(client, ORG_ID, warn=module.warn), params)
    finally:
        client.close()
    assert len(emulator.state()["fault_log"]) == 2
    assert result["status"] == "COMPLETE" and sorted(result["failing_checks"]) == sorted(params["consents"]), result


# ---------------------------------------------------------------------------------- Confluence Data Center
@PER_API
@given(seed=SEEDS, scope=st.sampled_from(("site", "space")))
def test_datacenter_backup_finds_and_verifies_its_file_in_every_shape(emulator, seed, scope):
    emulator.reset(field_style="shuffled", field_seed=seed)
    module = Module()
    client = AtlassianClient(emulator.url + DC_CONTEXT, auth=("bearer", DC_PAT), retries=0)
    with Folder() as dest:
        params = dict(url=emulator.url + DC_CONTEXT, scope=scope, space_keys=["DOC"] if scope == "space" else None,
                      include_attachments=True, keep_permanently=False, file_name_prefix=None, dest=dest,
                      download=True, verify="structure", download_connections=1, username=None, job_id=None, **WAIT)
        try:
            result = DataCenterBackup(params, client, warn=module.warn).run()
        finally:
            client.close()
        state = emulator.state()["dc"]
        assert len([r for r in state["requests"] if r["method"] == "POST"]) == 1
        jobs = state["jobs"]
        assert len(jobs) == 1 and result["job_id"] == jobs[0]["id"], (result, module.warnings)
        url = "%s%s/rest/api/backup-restore/jobs/%s/download" % (emulator.url, DC_CONTEXT, jobs[0]["id"])
        served = requests.get(url, auth=(DC_ADMIN, DC_PASSWORD), timeout=60)
        served.raise_for_status()
        assert result["status"] == "complete" and os.path.exists(result["path"])
        assert sha256_file(result["path"]) == result["sha256"] == hashlib.sha256(served.content).hexdigest()


# ---------------------------------------------------------------------------------- Snapshots
@PER_API
@given(seed=SEEDS, shape=st.sampled_from(("a", "b")))
def test_snapshots_export_finds_and_verifies_its_file_in_every_shape(emulator, seed, shape):
    emulator.reset(field_style="shuffled", field_seed=seed, snapshots_shape=shape)
    endpoint = "%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN)
    module = Module()
    client = AtlassianClient(endpoint, retries=0, auth_headers={"jira-snapshots-api-key": SNAP_KEY},
                             secret_strings=[endpoint, SNAP_URL_TOKEN])
    with Folder() as dest:
        params = dict(endpoint=endpoint, url="https://example.atlassian.net", spaces=None, dest=dest, **WAIT)
        try:
            result = SnapshotsExport(params, client, warn=module.warn).run()
            failure = None
        except TaskFailed as exc:
            result, failure = None, exc
        finally:
            client.close()
        state = emulator.state()["snapshots"]
        assert state["posts"] == 1
        if failure is not None:
            # The only clean failure a shape may cause: a status that names no link the reader can trust.
            assert "names no file to download" in failure.msg or "refusing to guess" in failure.msg, failure.msg
            assert SNAP_URL_TOKEN not in failure.msg and SNAP_KEY not in failure.msg
            pytest.fail("seed %s, shape %s: %s" % (seed, shape, failure.msg))
        task = state["tasks"][0]
        assert result["status"] == "complete" and result["sha256"] == task["sha256"] == sha256_file(result["path"])
        assert not any(SNAP_URL_TOKEN in w for w in module.warnings)


# ---------------------------------------------------------------------------------- Confluence Cloud
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=SEEDS)
def test_cloud_backup_reads_getprogress_in_every_evidenced_variant(emulator, seed):
    emulator.reset(field_style="shuffled", field_seed=seed, backup_seconds=0.2, queued_seconds=0.0,
                   backup_size=256 * 1024)
    client = AtlassianClient(emulator.url, auth=("basic", CANARY_USER, CANARY_TOKEN), retries=0)
    with Folder() as dest:
        params = dict(url=emulator.url, include_attachments=True, dest=dest, download=True, verify="structure",
                      on_frequency_limit="use_latest", start_timeout=30.0, start_timeout_text="30s",
                      download_connections=1, **WAIT)
        try:
            result = CloudBackup(params, client).run()
        finally:
            client.close()
        state = emulator.state()
        assert state["runbackup_posts"] == 1
        assert result["status"] == "complete" and result["backup_id"] == state["backup"]["id"], result
        assert result["sha256"] == state["backup"]["sha256"] == sha256_file(result["path"])


# ---------------------------------------------------------------------------------- through ansible-playbook
def warned_path(run, *words):
    """A warning of the run that says it read a field by shape and names each of ``words``."""
    return [w for w in run.result.get("warnings", []) if "by its shape" in w and all(word in w for word in words)]


def test_backup_run_warns_with_the_field_path(emulator, run_playbook):
    emulator.config(field_style="shuffled", field_seed=SEED, org_backup_seconds=0.3)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE"})
    run = run_playbook.module("backup_run", policy_id=policy["policyId"], poll_interval="0.1s")
    assert run.rc == 0 and run.result["status"] == "COMPLETE", run
    backups = emulator.state()["org"]["backups"]
    assert len(backups) == 1 and run.result["backup_id"] == backups[0]["backupId"]
    assert warned_path(run, "GET orgs/%s/backups/{backupId}" % ORG_ID), run.result.get("warnings")


def test_datacenter_backup_warns_with_the_field_path(emulator, run_playbook, dest):
    emulator.config(field_style="shuffled", field_seed=SEED)
    run = run_playbook.module("confluence_backup", env={"ATLASSIAN_PAT": DC_PAT}, deployment="datacenter",
                              url=emulator.url + DC_CONTEXT, dest=dest, poll_interval=0.1, wait_timeout=60)
    assert run.rc == 0 and run.result["status"] == "complete" and os.path.exists(run.result["path"]), run
    assert warned_path(run, "GET jobs/"), run.result.get("warnings")


def test_snapshots_export_warns_with_the_field_path(emulator, run_playbook, dest):
    from test_snapshots import export
    emulator.config(field_style="shuffled", field_seed=SEED, snapshots_shape="b")
    run = export(run_playbook, emulator, dest=dest)
    assert run.rc == 0 and run.result["status"] == "complete", run
    assert any("read by its shape (" in w for w in run.result["warnings"]), run.result.get("warnings")
    assert not any(SNAP_URL_TOKEN in w for w in run.result["warnings"])


def test_cloud_backup_needs_no_fallback_in_any_variant(emulator, run_playbook, dest):
    """The getprogress names are attested (reference 1.5a, 1.6): the shuffle varies only values, nothing is read
    by shape, so nothing is warned about."""
    emulator.config(field_style="shuffled", field_seed=SEED)
    run = run_playbook(dest=dest)
    assert run.rc == 0 and run.result["status"] == "complete", run
    assert not [w for w in run.result.get("warnings", []) if "by its shape" in w]
    assert run.result["sha256"] == emulator.state()["backup"]["sha256"]
