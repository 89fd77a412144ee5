# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The organization-level Backup & Restore modules through ansible-playbook against the emulator (issue 10)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from conftest import CANARY_TOKEN, COLLECTION, ORG_API_PREFIX, ORG_ID, RESTORE_SITE, SITE

DAY = 86400
ORG_PLAYBOOK = os.path.join(COLLECTION, "playbooks", "org_backup.yml")


def org(emulator):
    return emulator.state()["org"]


def writes(emulator):
    return org(emulator)["writes"]


def policy(emulator, product="confluence", **extra):
    body = {"cloudId": SITE, "product": product.upper(), "includeAttachments": True}
    if product == "confluence":
        body["includePersonalSpaces"] = True
    body.update(extra)
    return emulator.control("org/policy", body)


def placed_backup(emulator, policy_id, status="COMPLETE", age_seconds=3600, **extra):
    return emulator.control("org/backup", dict(policyId=policy_id, status=status, age_seconds=age_seconds, **extra))


def pid(doc):
    return doc.get("policyId") or doc.get("id")


def bid(doc):
    return doc.get("backupId") or doc.get("id")


# ------------------------------------------------------------------ policies
def test_policy_check_mode_changes_nothing(emulator, run_playbook):
    run = run_playbook.module("backup_policy", check=True, diff=True, cloud_id=SITE, product="confluence",
                              include_attachments=False)
    assert run.rc == 0 and run.result["changed"] is True, run
    assert run.result["diff"]["after"]["includeAttachments"] is False
    assert writes(emulator) == 0
    listed = run_playbook.module("backup_info", resource="policies")
    assert listed.result["items"] == [], listed


def test_policy_create_rerun_and_change_one_field(emulator, run_playbook):
    created = run_playbook.module("backup_policy", cloud_id=SITE, product="confluence", include_attachments=True,
                                  include_personal_spaces=False)
    assert created.rc == 0 and created.result["changed"] is True and created.result["policy_id"], created
    assert writes(emulator) == 1
    again = run_playbook.module("backup_policy", cloud_id=SITE, product="confluence", include_attachments=True,
                                include_personal_spaces=False)
    assert again.result["changed"] is False and again.result["policy_id"] == created.result["policy_id"], again
    assert writes(emulator) == 1
    changed = run_playbook.module("backup_policy", diff=True, cloud_id=SITE, product="confluence",
                                  include_attachments=False, include_personal_spaces=False)
    assert changed.result["changed"] is True, changed
    assert changed.result["diff"] == {"before": {"includeAttachments": True}, "after": {"includeAttachments": False}}
    stored = org(emulator)["policies"]
    assert len(stored) == 1 and stored[0]["includeAttachments"] is False and stored[0]["includePersonalSpaces"] is False
    puts = [r for r in org(emulator)["requests"] if r["method"] == "PUT"]
    assert len(puts) == 1


def test_storage_check_mode_creates_nothing(emulator, run_playbook):
    args = dict(name="acme-backups", region="eu-central-1", prefix="conf", principal_tag="atl",
                role_identifier="arn:aws:iam::123456789012:role/atl", cloud_id=SITE)
    run = run_playbook.module("backup_storage", check=True, **args)
    assert run.rc == 0 and run.result["changed"] is True, run
    assert org(emulator)["storages"] == []
    # The only POST is the region list, which the API reads with a POST.
    assert [r["path"] for r in org(emulator)["requests"] if r["method"] != "GET"] == [
        "/public/backup-management/v2/orgs/%s/storages/regions" % ORG_ID]
    wrong = run_playbook.module("backup_storage", check=True, **dict(args, region="mars-north-1"))
    assert wrong.result["failed"] is True and "eu-central-1" in wrong.result["msg"], wrong


def test_module_defaults_per_group_serve_site_and_org_modules(emulator, run_playbook, tmp_path, dest):
    # Each kind of module gets its connection from its own group, and what they share from group atlassian.
    playbook = tmp_path / "mixed.yml"
    playbook.write_text(json.dumps([{
        "name": "Both kinds of module, each with its group's defaults", "hosts": "localhost", "gather_facts": False,
        "module_defaults": {
            "group/atlassian_ops.backup.atlassian": {"timeout": 60, "retries": 2},
            "group/atlassian_ops.backup.cloud": {"url": emulator.url},
            "group/atlassian_ops.backup.org": {"org_id": ORG_ID, "api_base_url": emulator.url + ORG_API_PREFIX}},
        "tasks": [{"atlassian_ops.backup.confluence_backup": {"dest": dest}, "check_mode": True},
                  {"atlassian_ops.backup.backup_info": {"resource": "policies"}}]}]))
    run = run_playbook(name=str(playbook), module=None)
    assert run.rc == 0 and "failed=0" in run.output, run.output[-3000:]


def test_jira_policy_with_personal_spaces_is_refused_before_any_request(emulator, run_playbook):
    run = run_playbook.module("backup_policy", cloud_id=SITE, product="jira", include_personal_spaces=True)
    assert run.result["failed"] is True and "Confluence only" in run.result["msg"], run
    assert org(emulator)["requests"] == []


# ------------------------------------------------------------------- backups
def test_run_and_wait(emulator, run_playbook):
    p = policy(emulator)
    run = run_playbook.module("backup_run", policy_id=pid(p), poll_interval="0.2s", wait_timeout="60s")
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    assert res["triggered"] is True and res["changed"] is True and res["status"] == "COMPLETE", res
    backups = org(emulator)["backups"]
    assert len(backups) == 1 and bid(backups[0]) == res["backup_id"]
    assert res["next_allowed_at"].endswith("Z"), res  # 7 days after the backup it just completed


def test_run_joins_a_running_backup(emulator, run_playbook):
    p = policy(emulator)
    running = placed_backup(emulator, pid(p), status="IN_PROGRESS", age_seconds=60, polls=3)
    run = run_playbook.module("backup_run", cloud_id=SITE, product="confluence", poll_interval="0.2s")
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["triggered"] is False and run.result["backup_id"] == bid(running)
    assert run.result["status"] == "COMPLETE" and "joined" in run.result["msg"]
    assert writes(emulator) == 0


def test_max_age_returns_the_recent_backup_without_a_post(emulator, run_playbook):
    p = policy(emulator)
    recent = placed_backup(emulator, pid(p), status="COMPLETE", age_seconds=2 * 3600)
    run = run_playbook.module("backup_run", policy_id=pid(p), max_age="24h")
    assert run.rc == 0 and run.result["changed"] is False, run
    assert run.result["backup_id"] == bid(recent) and writes(emulator) == 0


def test_the_seven_day_rule_is_reported_with_next_allowed_at(emulator, run_playbook):
    p = policy(emulator)
    placed_backup(emulator, pid(p), status="COMPLETE", age_seconds=2 * DAY)
    run = run_playbook.module("backup_run", policy_id=pid(p))
    assert run.result["failed"] is True, run
    msg = run.result["msg"]
    assert "7 days after your last complete backup" in msg, msg
    assert run.result["next_allowed_at"] and run.result["next_allowed_at"] in msg


def test_incomplete_backup_warns_with_the_services_words(emulator, run_playbook):
    emulator.reset(org_backup_outcome="INCOMPLETE", org_backup_seconds=0)
    p = policy(emulator)
    run = run_playbook.module("backup_run", policy_id=pid(p), poll_interval="0.2s")
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["status"] == "INCOMPLETE"
    warnings = " ".join(run.result.get("warnings", []))
    assert "INCOMPLETE" in warnings and "could not be backed up" in warnings, run.result


@pytest.mark.parametrize("style", ["v2", "seed"])
def test_status_spellings_are_read_alike(emulator, run_playbook, style):
    emulator.reset(org_status_style=style, org_backup_seconds=0)
    p = policy(emulator)
    run = run_playbook.module("backup_run", policy_id=pid(p), poll_interval="0.2s")
    assert run.rc == 0 and run.result["status"] == "COMPLETE", run
    assert run.result["service_status"] in ("COMPLETED", "COMPLETE")


# ----------------------------------------------------------- export, import
def test_export_then_import_each_rerun_unchanged(emulator, run_playbook):
    emulator.reset(org_export_seconds=0.5, org_import_seconds=0.5)
    storage = run_playbook.module("backup_storage", name="acme-backups", region="eu-central-1", prefix="conf",
                                  role_identifier="arn:aws:iam::123456789012:role/atl", principal_tag="atl",
                                  cloud_id=SITE)
    assert storage.rc == 0 and storage.result["storage_id"], storage
    p = policy(emulator, storageId=storage.result["storage_id"])
    backup = placed_backup(emulator, pid(p), status="COMPLETE", age_seconds=3600)
    for module in ("backup_export", "backup_import"):
        first = run_playbook.module(module, backup_id=bid(backup), poll_interval="0.2s")
        assert first.rc == 0 and first.result["changed"] is True and first.result["status"] == "COMPLETE", first
        before = writes(emulator)
        again = run_playbook.module(module, backup_id=bid(backup), poll_interval="0.2s")
        assert again.result["changed"] is False, again
        assert again.result[module.split("_")[1] + "_id"] == first.result[module.split("_")[1] + "_id"]
        assert writes(emulator) == before
    same = run_playbook.module("backup_storage", name="acme-backups", region="eu-central-1", prefix="conf",
                               role_identifier="arn:aws:iam::123456789012:role/atl", principal_tag="atl",
                               cloud_id=SITE)
    assert same.result["changed"] is False and same.result["storage_id"] == storage.result["storage_id"]


# ------------------------------------------------------------------ restores
def restorable(emulator):
    p = policy(emulator)
    return placed_backup(emulator, pid(p), status="COMPLETE", age_seconds=3600)


def test_restore_without_confirm_sends_nothing(emulator, run_playbook):
    backup = restorable(emulator)
    run = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE)
    assert run.result["failed"] is True and "confirm: true" in run.result["msg"], run
    assert org(emulator)["requests"] == []


def test_restore_of_an_expired_backup_is_refused_with_zero_writes(emulator, run_playbook):
    backup = restorable(emulator)
    emulator.control("advance", {"seconds": 15 * DAY})
    run = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True)
    assert run.result["failed"] is True and "Refusing to restore" in run.result["msg"], run
    assert "EXPIRED" in run.result["msg"]
    assert writes(emulator) == 0


def test_restore_stopped_by_validation_then_allowed_with_consents(emulator, run_playbook):
    backup = restorable(emulator)
    stopped = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True,
                                  consents=["Consent_Conflicting_Space_Check"], poll_interval="0.2s")
    assert stopped.result["failed"] is True, stopped
    res = stopped.result
    assert res["failing_checks"] == ["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"], res
    assert "Consent_Conflicting_Group_Check: Groups with the same names" in res["msg"]
    assert "Consent_Conflicting_Space_Check:" not in res["msg"]  # consented: not listed as missing
    assert len(org(emulator)["restores"]) == 1
    allowed = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True,
                                  consents=["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"],
                                  poll_interval="0.2s")
    assert allowed.rc == 0 and not allowed.result.get("failed"), allowed
    res = allowed.result
    assert res["restore_id"] == stopped.result["restore_id"], "the stopped restore is picked up, not repeated"
    assert res["status"] == "COMPLETE" and res["migration_id"] and res["post_op_report_url"].startswith("https://")
    assert len(org(emulator)["restores"]) == 1
    revalidations = [r for r in org(emulator)["requests"] if r["path"].endswith("/revalidate")]
    assert len(revalidations) == 1
    # Run again: the finished restore is reported, nothing is started (the service would refuse within 7 days).
    before = writes(emulator)
    again = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True,
                                consents=["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"])
    assert again.rc == 0 and again.result["changed"] is False, again
    assert again.result["restore_id"] == res["restore_id"] and again.result["post_op_report_url"]
    assert writes(emulator) == before


def test_a_running_restore_is_joined(emulator, run_playbook):
    backup = restorable(emulator)
    running = emulator.control("org/restore", {"backupId": bid(backup), "cloudId": RESTORE_SITE,
                                               "status": "IN_PROGRESS", "polls": 3})
    run = run_playbook.module("backup_restore", backup_id=bid(backup), cloud_id=RESTORE_SITE, confirm=True,
                              poll_interval="0.2s")
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["restore_id"] == (running.get("restoreId") or running.get("id"))
    assert run.result["changed"] is False and "Joined" in run.result["msg"]
    assert writes(emulator) == 0


# ------------------------------------------------------------ paging, leaks
def many_policies(emulator, **config):
    """26 policies (Jira and Confluence of 13 sites) listed 10 a page: three pages."""
    emulator.reset(org_page_size_max=10, org_sites=[
        {"cloudId": "site-%02d" % i, "cloudUrl": "https://s%02d.atlassian.net" % i, "cloudName": "s%02d" % i,
         "products": ["JIRA", "CONFLUENCE"]} for i in range(13)], **config)
    for i in range(13):
        for product in ("JIRA", "CONFLUENCE"):
            emulator.control("org/policy", {"cloudId": "site-%02d" % i, "product": product,
                                            "includeAttachments": True})


def test_info_follows_paging_across_three_pages(emulator, run_playbook):
    many_policies(emulator)
    run = run_playbook.module("backup_info", resource="policies")
    assert run.rc == 0 and len(run.result["items"]) == 26, run.result.get("msg")
    gets = [r for r in org(emulator)["requests"] if r["method"] == "GET" and r["path"].endswith("/policies")]
    assert len(gets) == 3, gets
    found = run_playbook.module("backup_policy", cloud_id="site-12", product="confluence", include_attachments=True)
    assert found.result["changed"] is False, "a policy on the last page must be found"


def test_the_token_never_leaks_at_vvv(emulator, run_playbook):
    p = policy(emulator)
    runs = [run_playbook.module("backup_policy", verbosity=3, cloud_id=SITE, product="confluence"),
            run_playbook.module("backup_run", verbosity=3, policy_id=pid(p), poll_interval="0.2s"),
            run_playbook.module("backup_info", verbosity=3, resource="backups", token=CANARY_TOKEN + "x")]
    for run in runs:
        assert CANARY_TOKEN not in run.output and CANARY_TOKEN not in json.dumps(run.result)
    assert runs[2].result["failed"] is True and "HTTP 401" in runs[2].result["msg"]


def test_org_playbook_second_run_reports_no_change(emulator, run_playbook, tmp_path):
    emulator.reset(org_backup_seconds=0, org_export_seconds=0)
    first = run_playbook(name=ORG_PLAYBOOK, module=None, atlassian_cloud_id=SITE,
                         atlassian_backup_poll_interval="0.2s")
    assert first.rc == 0 and "failed=0" in first.output, first.output[-3000:]
    assert len(org(emulator)["policies"]) == 2 and len(org(emulator)["exports"]) == 2
    second = run_playbook(name=ORG_PLAYBOOK, module=None, atlassian_cloud_id=SITE,
                          atlassian_backup_poll_interval="0.2s")
    assert second.rc == 0 and "changed=0" in second.output, second.output[-3000:]


# ------------------------------------------------------ check mode never waits
def reads_only(emulator):
    return [r["method"] for r in org(emulator)["requests"] if r["method"] != "GET"] == []


def test_check_mode_reports_it_would_join_a_running_backup_without_waiting(emulator, run_playbook):
    """Defect 4: a running backup was joined, and waited for, before the check-mode branch."""
    p = policy(emulator)
    running = placed_backup(emulator, pid(p), status="IN_PROGRESS", age_seconds=60, polls=3)
    run = run_playbook.module("backup_run", check=True, policy_id=pid(p), wait_timeout="8h", poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    assert res["would_join"] is True and res["would_start"] is False and res["changed"] is False, res
    assert res["backup_id"] == bid(running) and res["status"] == "IN_PROGRESS", res
    assert "would join" in res["msg"], res
    assert reads_only(emulator)
    polled = [r for r in org(emulator)["requests"] if r["path"].endswith("/backups/" + bid(running))]
    assert polled == [], "check mode reads the list once and never polls the backup"
    assert org(emulator)["backups"][0]["status"] == "IN_PROGRESS"


@pytest.mark.parametrize("module", ["backup_export", "backup_import"])
def test_check_mode_reports_it_would_join_a_running_transfer_without_waiting(emulator, run_playbook, module):
    kind = module.split("_")[1]
    # Transfers take an hour of the emulator's clock, which does not move: a wait would last until wait_timeout.
    emulator.reset(org_export_seconds=0 if kind == "import" else 3600, org_import_seconds=3600)
    storage = run_playbook.module("backup_storage", name="acme-backups", region="eu-central-1", prefix="conf",
                                  role_identifier="arn:aws:iam::123456789012:role/atl", principal_tag="atl",
                                  cloud_id=SITE)
    p = policy(emulator, storageId=storage.result["storage_id"])
    backup = placed_backup(emulator, pid(p), status="COMPLETE", age_seconds=3600)
    if kind == "import":
        exported = run_playbook.module("backup_export", backup_id=bid(backup), poll_interval="0.1s")
        assert exported.rc == 0 and exported.result["status"] == "COMPLETE", exported
    started = run_playbook.module(module, backup_id=bid(backup), wait=False)
    assert started.rc == 0 and started.result["status"] == "IN_PROGRESS", started
    before = len(org(emulator)["requests"])
    run = run_playbook.module(module, check=True, backup_id=bid(backup), wait_timeout="3s", poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    assert res["would_join"] is True and res["changed"] is False and res["status"] == "IN_PROGRESS", res
    assert res[kind + "_id"] == started.result[kind + "_id"] and "would join" in res["msg"], res
    seen = org(emulator)["requests"][before:]
    assert [r["method"] for r in seen if r["method"] != "GET"] == []
    assert not [r for r in seen if r["path"].endswith("/%ss/%s" % (kind, res[kind + "_id"]))], "no polling"


def test_check_mode_reports_it_would_join_a_running_restore_without_waiting(emulator, run_playbook):
    backup = restorable(emulator)
    running = emulator.control("org/restore", {"backupId": bid(backup), "cloudId": RESTORE_SITE,
                                               "status": "IN_PROGRESS", "polls": 3})
    run = run_playbook.module("backup_restore", check=True, backup_id=bid(backup), cloud_id=RESTORE_SITE,
                              confirm=True, wait_timeout="8h", poll_interval="0.1s")
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    assert res["would_join"] is True and res["would_restore"] is False and res["changed"] is False, res
    assert res["restore_id"] == (running.get("restoreId") or running.get("id")) and res["status"] == "IN_PROGRESS"
    assert "would join" in res["msg"], res
    assert reads_only(emulator)
    assert not [r for r in org(emulator)["requests"] if "/restores/" in r["path"]], "no polling"
