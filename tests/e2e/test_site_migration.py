# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role site_migration through ansible-playbook against the emulator (issue 21): one emulator serves the source,
the destination and the organization; the state file and the emulator's request logs prove what each run did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import time

from conftest import (CANARY_TOKEN, CANARY_USER, COLLECTION, DC_ADMIN, DC_PASSWORD, ORG_API_PREFIX, ORG_ID,
                      RESTORE_SITE, SITE, SNAP_KEY, SNAP_URL_TOKEN)

PLAYBOOK = os.path.join(COLLECTION, "playbooks", "site_migration.yml")
CHECKS = ["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"]


def cloud_vars(emulator, workdir, **extra):
    values = {
        "site_migration_kind": "cloud_to_cloud",
        "site_migration_name": "wiki-to-restore",
        "site_migration_dest": workdir,
        "site_migration_source": {"url": emulator.url, "cloud_id": SITE, "username": CANARY_USER},
        "site_migration_destination": {"url": emulator.url + "/sites/example-restore", "cloud_id": RESTORE_SITE,
                                       "username": CANARY_USER},
        "site_migration_org": {"org_id": ORG_ID, "username": CANARY_USER,
                               "api_base_url": emulator.url + ORG_API_PREFIX},
        "site_migration_snapshots": {"spaces": "all"},
        "site_migration_poll_interval": "0.2",
        "site_migration_wait_timeout": "60",
    }
    values.update(extra)
    return values


SECRETS = {"SITE_MIGRATION_SOURCE_API_TOKEN": CANARY_TOKEN, "SITE_MIGRATION_DESTINATION_API_TOKEN": CANARY_TOKEN,
           "SITE_MIGRATION_ORG_API_TOKEN": CANARY_TOKEN, "SITE_MIGRATION_SNAPSHOTS_API_KEY": SNAP_KEY}


def secrets(emulator):
    return dict(SECRETS, SITE_MIGRATION_SNAPSHOTS_ENDPOINT="%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN))


def state_of(workdir, name="wiki-to-restore"):
    with open(os.path.join(workdir, name, "migration.json")) as handle:
        return json.load(handle)


def statuses(workdir, name="wiki-to-restore"):
    return dict((step, record["status"]) for step, record in state_of(workdir, name)["steps"].items())


def org_posts(emulator, suffix):
    return [r for r in emulator.state()["org"]["requests"] if r["method"] == "POST" and r["path"].endswith(suffix)]


def snapshot_posts(emulator):
    return emulator.state()["snapshots"]["posts"]


def test_cloud_to_cloud_refuses_existing_spaces_and_stops_for_consents_then_resumes(
        emulator, run_playbook, tmp_path):
    workdir = str(tmp_path / "migrations")
    emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True,
                                    "includePersonalSpaces": True})
    env = secrets(emulator)

    # 1. The new destination still holds its admin's personal space, which the source has too: refused, nothing written.
    first = run_playbook(name=PLAYBOOK, env=env, **cloud_vars(emulator, workdir))
    assert first.rc != 0 and "already holds 1 of the spaces to move: ~" in first.output, first
    assert "site_migration_allow_skipped_spaces: true" in first.output
    assert statuses(workdir) == {"preflight": "failed"} and org_posts(emulator, "/backups") == []

    # 2. Allowed: the Snapshots export and the backup run, and the service's validation stops the restore.
    second = run_playbook(name=PLAYBOOK, env=env, **cloud_vars(emulator, workdir, site_migration_allow_skipped_spaces=True))
    assert second.rc != 0 and all(check in second.output for check in CHECKS), second
    assert statuses(workdir) == {"preflight": "done", "snapshots_export": "done", "backup": "done", "restore": "failed"}
    assert len(org_posts(emulator, "/backups")) == 1 and snapshot_posts(emulator) == 1

    # 3. With the consents, the restore the validation stopped goes on (no second restore, no second export or
    # backup); the content is checked; the run waits for the Snapshots restore done by hand. (The molecule scenario
    # site_migration resumes after a restore that failed.)
    consented = cloud_vars(emulator, workdir, site_migration_allow_skipped_spaces=True, site_migration_consents=CHECKS)
    third = run_playbook(name=PLAYBOOK, env=env, **consented)
    assert third.rc == 0, third
    assert len(org_posts(emulator, "/backups")) == 1 and snapshot_posts(emulator) == 1
    assert len(org_posts(emulator, "/restores")) == 1 and len(org_posts(emulator, "/restores/revalidate")) == 1
    steps = state_of(workdir)["steps"]
    assert steps["restore"]["attempts"] == 2 and steps["restore"]["data"]["consents"] == CHECKS
    assert steps["content_check"]["data"]["comparison"]["ok"] is True
    assert steps["content_check"]["data"]["comparison"]["expected"]["spaces"] == 2  # DOC and TEAM; the personal one skipped
    assert steps["snapshots_restore"]["status"] == "waiting" and "link_update" not in steps
    assert "Restore / Import" in third.output and steps["snapshots_export"]["data"]["path"] in third.output
    report = json.loads((tmp_path / "migrations" / "wiki-to-restore" / "report.json").read_text())
    assert report["status"] == "waiting" and report["skipped_spaces"][0].startswith("~")

    # 4. Once the Snapshots metadata is restored by hand, the links are updated and the report is complete.
    done = run_playbook(name=PLAYBOOK, env=env, site_migration_snapshots_restored=True, **consented)
    assert done.rc == 0, done
    report = json.loads((tmp_path / "migrations" / "wiki-to-restore" / "report.json").read_text())
    assert report["status"] == "complete", report
    assert report["steps"]["restore"]["attempts"] == 2 and report["steps"]["backup"]["attempts"] == 1
    assert report["counts_after"]["spaces"] == 2 and report["content_check"]["found_pages_percent"] == 100.0
    assert any("Approve product access" in item for item in report["to_do"])
    assert (tmp_path / "migrations" / "wiki-to-restore" / "report.md").read_text().startswith("# Migration wiki-to-restore")
    assert emulator.state()["links"]["posts"] == 1
    assert len(org_posts(emulator, "/backups")) == 1 and snapshot_posts(emulator) == 1


def dc_vars(emulator, workdir, **extra):
    values = {
        "site_migration_kind": "datacenter_to_datacenter",
        "site_migration_name": "dc-move",
        "site_migration_dest": workdir,
        "site_migration_source": {"url": emulator.url + "/confluence", "username": DC_ADMIN},
        "site_migration_destination": {"url": emulator.url + "/confluence-drill", "username": DC_ADMIN},
        "site_migration_poll_interval": "0.2",
        "site_migration_wait_timeout": "60",
    }
    values.update(extra)
    return values


DC_ENV = {"SITE_MIGRATION_SOURCE_API_TOKEN": DC_PASSWORD, "SITE_MIGRATION_DESTINATION_API_TOKEN": DC_PASSWORD,
          "ATLASSIAN_URL": None, "ATLASSIAN_USERNAME": None, "ATLASSIAN_API_TOKEN": None}


def drill_restores(emulator):
    return [j for j in emulator.state()["dc_instances"]["/confluence-drill"]["jobs"] if j["jobOperation"] == "RESTORE"]


def test_check_mode_reads_only_and_writes_nothing(emulator, run_playbook, tmp_path):
    workdir = str(tmp_path / "migrations")
    run = run_playbook(name=PLAYBOOK, env=DC_ENV, check=True, **dc_vars(emulator, workdir))
    assert run.rc == 0, run
    assert "Would take the backup of each product to move" in run.output
    assert not os.path.exists(workdir)
    content = emulator.state()["content"]["requests"]
    assert content and all(r["method"] == "GET" for r in content)
    assert not [r for r in emulator.state()["dc"]["requests"] if r["method"] != "GET"]


def test_datacenter_to_datacenter_killed_during_the_restore_resumes_without_a_second_restore(
        emulator, run_playbook, tmp_path):
    workdir = str(tmp_path / "migrations")
    # The destination's restore takes an hour of the emulator's clock, so the run is killed while it waits for it.
    emulator.config(dc_instances={"/confluence-drill": {"dc_content": [], "dc_job_polls": None,
                                                        "dc_restore_seconds": 3600}})
    proc = run_playbook.start(name=PLAYBOOK, env=DC_ENV, **dc_vars(emulator, workdir))
    try:
        for _attempt in range(600):
            if drill_restores(emulator):
                break
            assert proc.poll() is None, "the run ended before its restore started"
            time.sleep(0.1)
        assert statuses(workdir, "dc-move")["restore"] == "started"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    emulator.control("advance", {"seconds": 3600})
    run = run_playbook(name=PLAYBOOK, env=DC_ENV, **dc_vars(emulator, workdir))
    assert run.rc == 0, run
    assert len(drill_restores(emulator)) == 1, "the restore the killed run started was waited for, not repeated"
    steps = state_of(workdir, "dc-move")["steps"]
    assert steps["restore"]["attempts"] == 2 and steps["backup"]["attempts"] == 1
    comparison = steps["content_check"]["data"]["comparison"]
    assert comparison["ok"] and comparison["expected"]["source"] == "inventory"
    assert comparison["found"] == {"spaces": 4, "pages": 40}
    report = json.loads((tmp_path / "migrations" / "dc-move" / "report.json").read_text())
    assert report["status"] == "complete" and any("Server base URL" in item for item in report["to_do"])


def test_datacenter_to_cloud_waits_for_the_migration_assistant_then_checks_the_content(emulator, run_playbook, tmp_path):
    workdir = str(tmp_path / "migrations")
    values = dc_vars(emulator, workdir, site_migration_kind="datacenter_to_cloud", site_migration_name="to-cloud",
                     site_migration_destination={"url": emulator.url + "/sites/example-restore",
                                                 "cloud_id": RESTORE_SITE, "username": CANARY_USER},
                     site_migration_org={"org_id": ORG_ID, "username": CANARY_USER,
                                         "api_base_url": emulator.url + ORG_API_PREFIX})
    # The new Cloud site's admin deleted its default personal space, as Atlassian asks before a move.
    emulator.content_site(cloud="example-restore", spaces=[])
    env = dict(DC_ENV, SITE_MIGRATION_DESTINATION_API_TOKEN=CANARY_TOKEN, SITE_MIGRATION_ORG_API_TOKEN=CANARY_TOKEN)
    waiting = run_playbook(name=PLAYBOOK, env=env, **values)
    assert waiting.rc == 0 and "Confluence Cloud Migration Assistant" in waiting.output, waiting
    assert statuses(workdir, "to-cloud") == {"preflight": "done", "snapshots_export": "done", "backup": "done",
                                             "content_migration": "waiting"}
    assert state_of(workdir, "to-cloud")["steps"]["backup"]["data"]["path"].endswith(".zip")

    # The assistant moved the spaces, but one page of HR did not arrive: the check names it.
    source = emulator.state()["content"]["sites"]["dc:/confluence"]["spaces"]
    moved = [dict(s, pages=s["pages"] - (1 if s["key"] == "HR" else 0)) for s in source]
    fields = ("key", "name", "pages", "blog_posts")
    emulator.content_site(cloud="example-restore", spaces=[dict((k, s[k]) for k in fields) for s in moved])
    short = run_playbook(name=PLAYBOOK, env=env, site_migration_content_migrated=True, **values)
    assert short.rc != 0 and "short: HR 15 of 16 pages" in short.output, short
    assert statuses(workdir, "to-cloud")["content_check"] == "failed"

    done = run_playbook(name=PLAYBOOK, env=env, site_migration_content_migrated=True,
                        site_migration_max_shortfall_percent=5.0, **values)
    assert done.rc == 0, done
    report = json.loads((tmp_path / "migrations" / "to-cloud" / "report.json").read_text())
    assert report["status"] == "complete" and report["content_check"]["short_spaces"][0]["key"] == "HR"
    assert emulator.state()["links"]["posts"] == 1
