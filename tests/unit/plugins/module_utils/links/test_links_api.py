# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The link-update API's readers (plugins/module_utils/links/api.py): documented names first, then by shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.links import api as links
from ansible_collections.atlassian_ops.backup.plugins.module_utils.links.update import check_options

SITE = "b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b"
JOB = "b0476a8b-4cc4-4818-a7b4-2fa08cd7703a"


@pytest.mark.parametrize("api_base_url, expected", [
    (None, "https://api.atlassian.com/links/v1"),
    ("https://api.atlassian.com/public/backup-management/v2", "https://api.atlassian.com/links/v1"),
    ("https://api.atlassian.com/public/backup-management/v2/", "https://api.atlassian.com/links/v1"),
    ("http://127.0.0.1:8990/public/backup-management/v2", "http://127.0.0.1:8990/links/v1"),
    ("https://proxy.example.com/atlassian/public/backup-management/v2", "https://proxy.example.com/atlassian/links/v1"),
    ("https://proxy.example.com/links/v1", "https://proxy.example.com/links/v1"),
    ("https://api.atlassian.com", "https://api.atlassian.com/links/v1"),
])
def test_the_link_api_is_on_the_host_of_the_org_api(api_base_url, expected):
    assert links.base_url_for(api_base_url) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Pending", "PENDING"), ("Backup", "BACKUP"), ("In_progress", "IN_PROGRESS"), ("IN PROGRESS", "IN_PROGRESS"),
    ("in-progress", "IN_PROGRESS"), ("InProgress", "IN_PROGRESS"), ("Complete", "COMPLETE"), ("COMPLETED", "COMPLETE"),
    ("Retry", "RETRY"), ("Error", "ERROR"), ("failed", "ERROR"), ("Something_New", "SOMETHING_NEW"), ("", None),
    (None, None), ({"a": 1}, None),
])
def test_statuses_fold_to_the_documented_words(raw, expected):
    assert links.normalize_status(raw) == expected


@pytest.mark.parametrize("doc, expected", [
    ({"uuid": JOB}, (JOB, "uuid")),                                               # documented
    ([{"uuid": JOB}], (JOB, "[0].uuid")),
    ({"data": {"job": {"uuid": JOB}}}, (JOB, "data.job.uuid")),
    ({"jobId": JOB}, (JOB, "jobId")),                                             # by shape
    ({"job": {"jobUuid": JOB}, "siteId": SITE}, (JOB, "job.jobUuid")),
    ({"id": JOB, "siteId": SITE}, (JOB, "id")),
    ('"%s"' % JOB, (None, None)),                                                 # text that is not a bare UUID
    (JOB, (JOB, "(the answer itself)")),                                          # a JSON string answer
])
def test_the_job_id_is_read_documented_first_then_by_shape(doc, expected):
    assert links.read_job_id(doc, SITE) == expected


@pytest.mark.parametrize("doc", [
    None, {}, [], "", {"message": "Job scheduled."}, {"siteId": SITE}, {"cloudId": SITE},
    {"a": {"uuid": "x"}, "b": {"uuid": "y"}},      # two candidates: no guess
    [{"uuid": "x"}, {"uuid": "y"}],
])
def test_no_job_id_is_guessed(doc):
    assert links.read_job_id(doc, SITE) == (None, None)


def test_the_status_is_read_under_status_first():
    view, used = links.job_view({"uuid": JOB, "status": "In_progress", "state": "other"})
    assert (view["status"], view["service_status"], used) == ("IN_PROGRESS", "In_progress", [])


def test_a_status_elsewhere_is_read_by_shape_and_its_path_named():
    view, used = links.job_view({"result": {"jobStatus": "Complete", "uuid": JOB}})
    assert view["status"] == "COMPLETE" and used == [("status", "result.jobStatus")]
    view, used = links.job_view([{"status": "Error", "errorMessage": "App link missing"}])
    assert view["status"] == "ERROR" and view["message"] == "App link missing" and used == [("status", "[0].status")]


def test_only_report_links_are_report_urls():
    doc = {"status": "Complete", "productURL": "https://new.atlassian.net", "destinationURL": "https://x.net",
           "migratedFrom": "https://old.example.com", "reports": {"history": "https://api.atlassian.com/h.csv"},
           "auditLogUrl": "https://api.atlassian.com/a.csv", "note": "see https://example.com"}
    assert links.job_view(doc)[0]["report_urls"] == {"reports.history": "https://api.atlassian.com/h.csv",
                                                     "auditLogUrl": "https://api.atlassian.com/a.csv"}


def test_an_answer_without_a_status_has_none():
    view, used = links.job_view({"uuid": JOB})
    assert view["status"] is None and used == [] and links.describe(view) == "no status"


def test_the_body_has_the_documented_fields_and_optional_ones_only_when_set():
    assert links.start_body("jira", "https://n.net", "https://n.net", "https://o.example.com") == {
        "product": "Jira", "productURL": "https://n.net", "destinationURL": "https://n.net",
        "migratedFrom": "https://o.example.com"}
    body = links.start_body("confluence", "https://n.net", "https://d.net", "https://o.net", "https://p.net", False,
                            True)
    assert body["product"] == "Confluence" and body["migratedFromOverride"] == "https://p.net"
    assert body["recreateAsRemote"] is False and body["createBackup"] is True


def test_the_service_words_of_a_refusal():
    assert links.refusal_text({"code": 400, "message": "productURL must be an absolute URL."}) == \
        "productURL must be an absolute URL."
    assert links.refusal_text({"errors": [{"title": "a"}, "b"]}) == "a; b"
    assert links.refusal_text(None) == "(no text)"


def _params(**extra):
    params = dict(cloud_id=SITE, job_id=None, product="confluence", product_url="https://n.atlassian.net",
                  destination_url=None, migrated_from="https://o.atlassian.net", recreate_as_remote=None)
    params.update(extra)
    return params


@pytest.mark.parametrize("extra, words", [
    (dict(product=None, migrated_from=None), "give product, migrated_from"),
    (dict(product_url="new.atlassian.net"), "product_url must be an absolute http(s) URL"),
    (dict(destination_url="ftp://x"), "destination_url must be an absolute"),
    (dict(recreate_as_remote=True), "recreate_as_remote is for Jira only"),
])
def test_options_are_checked_before_any_request(extra, words):
    with pytest.raises(TaskFailed) as caught:
        check_options(_params(**extra))
    assert words in caught.value.msg


def test_a_job_id_needs_no_start_options():
    check_options(_params(job_id=JOB, product=None, product_url=None, migrated_from=None))
    check_options(_params(product="jira", recreate_as_remote=True))
