# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readers of the organization-level Backup & Restore API: statuses, lists, paging, consents, policy diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

import pytest
import responses
from hypothesis import given, strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianClient
from ansible_collections.atlassian_ops.backup.plugins.modules.backup_policy import changed_fields, desired_fields

BASE = "https://api.example.test/public/backup-management/v2"


@pytest.mark.parametrize("raw,expected", [
    ("IN PROGRESS", "IN_PROGRESS"), ("In Progress", "IN_PROGRESS"), ("IN_PROGRESS", "IN_PROGRESS"),
    ("CREATED", "IN_PROGRESS"), ("in-progress", "IN_PROGRESS"), ("Completed", "COMPLETE"), ("COMPLETE", "COMPLETE"),
    ("COMPLETED", "COMPLETE"), ("complete.", "COMPLETE"), ("Incomplete", "INCOMPLETE"), ("Failed", "FAILED"),
    ("EXPIRED", "EXPIRED"), ("Validation Failed", "VALIDATION_FAILED"), ("SOMETHING new", "SOMETHING_NEW"),
    (None, None), ("", None),
])
def test_status_spellings(raw, expected):
    assert org.normalize_status(raw) == expected


@given(st.sampled_from(sorted(org._CANONICAL)), st.sampled_from([str.lower, str.upper, str.title]),
       st.sampled_from(["_", " ", "-"]))
def test_every_known_spelling_in_any_case_and_separator_folds_to_its_status(alias, case, sep):
    assert org.normalize_status(case(alias.replace("_", sep))) == org._CANONICAL[alias]


def test_lists_bare_or_wrapped():
    assert org.items_of([{"a": 1}]) == [{"a": 1}]
    assert org.items_of({"backups": [{"a": 1}], "totalItems": 1}, "backups") == [{"a": 1}]
    assert org.items_of({"values": [1, 2]}) == [1, 2]
    assert org.items_of({"policies": [{"x": 1}]}) == [{"x": 1}]
    with pytest.raises(org.OrgApiError) as info:
        org.items_of({"message": "nope"}, "backups")
    assert "nope" in info.value.message


@pytest.mark.parametrize("body,expected", [
    # The emulator's shape: nested checks with a status each.
    ({"status": "VALIDATION_FAILED", "validation": {"checks": [
        {"name": "Consent_Conflicting_Space_Check", "status": "FAILED"},
        {"name": "Consent_TDP_Shard_Check", "status": "PASSED"},
        {"name": "Consent_Conflicting_Group_Check", "status": "FAILED"}]}},
     ["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"]),
    # A plain list of names.
    ({"failingChecks": ["Consent_Site_License_Check"]}, ["Consent_Site_License_Check"]),
    # Names as keys, with a result each.
    ({"checks": {"Consent_Product_License_Check": "FAILED", "Deny_Custom_Group_Check": "PASSED"}},
     ["Consent_Product_License_Check"]),
    ({"checks": {"Consent_Product_License_Check": {"passed": False}}}, ["Consent_Product_License_Check"]),
    # An error document naming the check in free text elsewhere is not a list of names: only exact names count.
    ({"errors": [{"code": "Consent_Conflicting_Space_Check", "title": "Spaces conflict"}]},
     ["Consent_Conflicting_Space_Check"]),
    ({"status": "IN_PROGRESS"}, []),
    # Checks already consented to (or passed) are listed apart: they are not failing.
    ({"validation": {"checks": [{"name": "Consent_Conflicting_Group_Check", "status": "FAILED"}],
                     "consented": ["Consent_Conflicting_Space_Check"], "passedChecks": ["Consent_TDP_Shard_Check"]}},
     ["Consent_Conflicting_Group_Check"]),
])
def test_failing_checks_are_found_wherever_they_are(body, expected):
    assert org.failing_checks(body) == expected


def test_every_check_is_explained():
    for line in org.explain_checks(sorted(org.CHECKS)):
        name, _sep, meaning = line.partition(": ")
        assert name in org.CHECKS and len(meaning) > 20


def test_policy_diff_holds_exactly_the_fields_that_change():
    current = {"policyId": "p", "productType": "CONFLUENCE", "includeAttachments": True, "includePersonalSpaces": True,
               "details": {"storageId": "s1"}}
    params = {"product": "confluence", "include_attachments": False, "include_personal_spaces": True,
              "storage_id": "s1"}
    before, after = changed_fields(current, desired_fields(params, creating=False))
    assert (before, after) == ({"includeAttachments": True}, {"includeAttachments": False})
    params = {"product": "confluence", "include_attachments": None, "include_personal_spaces": None, "storage_id": "s2"}
    assert changed_fields(current, desired_fields(params, creating=False)) == ({"storageId": "s1"}, {"storageId": "s2"})
    params = {"product": "jira", "include_attachments": None, "include_personal_spaces": None, "storage_id": None}
    assert desired_fields(params, creating=True) == {"includeAttachments": True}


def api():
    client = AtlassianClient(BASE, auth=("basic", "admin@example.com", "tok-1234567890"), retries=0,
                             sleep=lambda s: None)
    return org.OrgBackupApi(client, "org-1", page_size=10)


@responses.activate
def test_paging_counts_start_in_pages_and_goes_on_past_a_capped_page_size():
    pages = {0: list(range(0, 4)), 1: list(range(4, 8)), 2: list(range(8, 10))}  # the server caps pages at 4

    def answer(request):
        start = int(request.params["start"])
        assert request.params["pageSize"] == "10"
        return 200, {}, json.dumps({"policies": [{"policyId": str(i)} for i in pages[start]], "totalItems": 10})

    responses.add_callback(responses.GET, BASE + "/orgs/org-1/policies", callback=answer)
    items = api().policies()
    assert [i["policyId"] for i in items] == [str(i) for i in range(10)]
    assert [c.request.params["start"] for c in responses.calls] == ["0", "1", "2"]


@responses.activate
def test_paging_without_total_stops_on_a_short_page():
    responses.add(responses.GET, BASE + "/orgs/org-1/backups".replace("backups", "policies/p/backups"),
                  json=[{"backupId": str(i)} for i in range(10)])
    responses.add(responses.GET, BASE + "/orgs/org-1/policies/p/backups", json=[{"backupId": "10"}])
    assert len(api().backups("p")) == 11
    assert len(responses.calls) == 2


@responses.activate
def test_size_is_the_page_not_the_total():
    # Atlassian's other lists say {"results": [...], "start": 0, "limit": 10, "size": 10}: size counts the page.
    responses.add(responses.GET, BASE + "/orgs/org-1/policies",
                  json={"results": [{"policyId": str(i)} for i in range(10)], "start": 0, "limit": 10, "size": 10})
    responses.add(responses.GET, BASE + "/orgs/org-1/policies",
                  json={"results": [{"policyId": "10"}], "start": 1, "limit": 10, "size": 1})
    assert len(api().policies()) == 11


@responses.activate
def test_a_body_that_is_not_json_fails_quoting_it_without_the_token():
    responses.add(responses.GET, BASE + "/orgs/org-1/policies", body="<html>token=tok-1234567890 Oops</html>")
    with pytest.raises(org.OrgApiError) as info:
        api().policies()
    assert "Oops" in info.value.message and "tok-1234567890" not in info.value.message


def test_refusal_words():
    title = "You can run a new backup 7 days after your last complete backup."
    assert org.refusal_text({"errors": [{"status": 409, "code": "X", "title": title}]}) == title
    assert org.refusal_text({"message": "nope"}) == "nope"
    assert org.refusal_text(None) == "(no text)"


def test_views_read_either_spelling():
    assert org.policy_view({"id": "p", "cloudInfo": {"cloudId": "c"}, "productType": "JIRA"})["cloud_id"] == "c"
    view = org.job_view({"backupId": "b", "status": "In Progress", "createdAt": "2026-11-22T05:10:00.500Z"},
                        org.BACKUP_IDS)
    assert view["status"] == "IN_PROGRESS" and view["service_status"] == "In Progress"
    assert view["created"] == 1795324200.5
    assert org.parse_time(1795324200500) == 1795324200.5 and org.parse_time("yesterday") is None


@responses.activate
def test_ages_are_measured_on_the_services_clock_from_its_date_header():
    """A host whose clock is a day behind still sees the service's time (the 7-day rule is the service's)."""
    ticks = [100.0]
    client = AtlassianClient(BASE, auth=("basic", "admin@example.com", "tok-1234567890"), retries=0,
                             clock=lambda: ticks[0])
    answer = org.OrgBackupApi(client, "org-1")
    before = answer.now()
    assert abs(before - time.time()) < 60, "no answer yet: this host's clock"
    responses.add(responses.GET, BASE + "/orgs/org-1/backups/b", json={"backupId": "b"},
                  headers={"Date": "Sun, 22 Nov 2026 05:10:00 GMT"})
    responses.add(responses.GET, BASE + "/orgs/org-1/backups/gone", status=404,
                  headers={"Date": "Sun, 22 Nov 2026 05:20:00 GMT"})
    answer.backup("b")
    assert answer.now() == 1795324200.0
    ticks[0] += 30.0
    assert answer.now() == 1795324230.0, "the time since the answer, on the client's monotonic clock"
    assert answer.backup("gone") is None and answer.now() == 1795324800.0, "a 404's date counts too"
