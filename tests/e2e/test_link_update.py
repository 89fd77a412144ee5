# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""link_update through ansible-playbook against the emulator's link-update API (issue 21, step 7).

Seven playbook runs, none waiting more than a second: the emulator's jobs last fractions of a second on its clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from conftest import RESTORE_SITE

NEW_SITE = "https://example-new.atlassian.net"
OLD_SITE = "https://example.atlassian.net"
START = dict(cloud_id=RESTORE_SITE, product="confluence", product_url=NEW_SITE, migrated_from=OLD_SITE,
             poll_interval="0.2s", wait_timeout="30s")


def links(emulator):
    return emulator.state()["links"]


def posts(emulator):
    return [r for r in links(emulator)["requests"] if r["method"] == "POST"]


def test_schedules_once_and_waits_until_complete(emulator, run_playbook):
    emulator.reset(links_pending_seconds=0.2, links_job_seconds=0.4, links_status_report_urls=True)
    run = run_playbook.module("link_update", **START)
    assert run.rc == 0 and not run.result.get("failed"), run
    res = run.result
    job = links(emulator)["jobs"][0]
    assert res["changed"] is True and res["job_id"] == job["uuid"] and res["status"] == "COMPLETE", res
    assert res["service_status"] == "Complete" and res["job"]["status"] == "Complete"
    # The documented body; destinationURL defaults to productURL (local links); nothing optional sent unasked.
    assert job["body"] == res["request"] == {"product": "Confluence", "productURL": NEW_SITE,
                                             "destinationURL": NEW_SITE, "migratedFrom": OLD_SITE}, job
    assert sorted(res["report_urls"]) == ["auditLogUrl", "historyReportUrl"], res
    assert "after waiting" in res["msg"] and res["job_id"] in res["msg"]
    assert len(posts(emulator)) == 1
    reads = [r for r in links(emulator)["requests"] if r["method"] == "GET"]
    assert len(reads) >= 2 and all(r["path"].endswith("/jobs/status/" + job["uuid"]) for r in reads)


def test_an_error_outcome_fails_naming_the_job_and_what_to_do(emulator, run_playbook):
    emulator.reset(links_job_seconds=0.2, links_outcome="Error")
    run = run_playbook.module("link_update", **START)
    res = run.result
    assert res["failed"] is True and res["changed"] is True and res["status"] == "ERROR", run
    assert res["job_id"] == links(emulator)["jobs"][0]["uuid"]
    assert "ended as Error" in res["msg"] and "application link to the destination is missing" in res["msg"], res
    assert "without job_id" in res["msg"] and "admin.atlassian.com" in res["msg"]
    assert len(posts(emulator)) == 1


def test_check_mode_sends_no_post_and_says_what_it_would_send(emulator, run_playbook):
    run = run_playbook.module("link_update", check=True, recreate_as_remote=False, **START)
    res = run.result
    assert run.rc == 0 and res["changed"] is True and res["would_start"] is True, run
    assert res["request"]["recreateAsRemote"] is False and res["request"]["product"] == "Confluence"
    assert "would schedule" in res["msg"] and "/links/v1/%s/jobs/cma" % RESTORE_SITE in res["msg"]
    assert links(emulator)["requests"] == [] and links(emulator)["jobs"] == []


def test_a_known_job_is_resumed_by_its_id_and_nothing_is_scheduled(emulator, run_playbook):
    emulator.reset(links_job_seconds=0.4)
    placed = emulator.control("links/job", {"siteId": RESTORE_SITE, "product": "jira"})
    run = run_playbook.module("link_update", cloud_id=RESTORE_SITE, job_id=placed["uuid"], poll_interval="0.2s")
    res = run.result
    assert run.rc == 0 and res["changed"] is False and res["status"] == "COMPLETE", run
    assert res["job_id"] == placed["uuid"] and "request" not in res and "nothing was scheduled" in res["msg"]
    assert posts(emulator) == []


def test_a_start_answer_without_uuid_is_read_by_shape_with_a_warning(emulator, run_playbook):
    emulator.reset(links_start_answer="renamed")
    run = run_playbook.module("link_update", **START)
    res = run.result
    assert run.rc == 0 and res["status"] == "COMPLETE" and res["job_id"] == links(emulator)["jobs"][0]["uuid"], run
    assert any("named the job id at jobId, not at uuid" in w for w in res.get("warnings", [])), res


def test_a_start_answer_naming_no_job_fails_honestly_and_schedules_no_second_job(emulator, run_playbook):
    emulator.reset(links_start_answer="empty")
    run = run_playbook.module("link_update", **START)
    res = run.result
    assert res["failed"] is True and res["changed"] is True and res["status"] == "unknown", run
    assert "accepted the link update" in res["msg"] and "named no job id" in res["msg"], res
    assert "nothing was requested a second time" in res["msg"] and "admin.atlassian.com" in res["msg"]
    assert len(posts(emulator)) == 1 and len(links(emulator)["jobs"]) == 1


def test_refused_credentials_say_what_to_check_without_the_token(emulator, run_playbook):
    run = run_playbook.module("link_update", token="not-the-token-4f1e2d", **START)
    res = run.result
    assert res["failed"] is True and res["http_status"] == 401 and res["changed"] is False, run
    assert "credentials were refused" in res["msg"] and "Nothing was scheduled" in res["msg"], res
    assert "not-the-token-4f1e2d" not in run.output and "not-the-token-4f1e2d" not in str(res)
    assert links(emulator)["jobs"] == []
