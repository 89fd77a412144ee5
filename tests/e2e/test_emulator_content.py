# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's Confluence content over HTTP: space lists, CQL counts, and backups and restores that carry the
content from one site to another (issue 21; docs/emulator_evidence.md, "Confluence content")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import zipfile

import pytest
import requests

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import inventory as inv
from atlassian_emulator.content import personal_key
from conftest import (CANARY_TOKEN, CANARY_USER, DC_ADMIN, DC_PASSWORD, DC_PAT, ORG_API_PREFIX, ORG_ID, RESTORE_SITE,
                      SITE)

CLOUD = (CANARY_USER, CANARY_TOKEN)
DC = (DC_ADMIN, DC_PASSWORD)
PERSONAL = personal_key(CANARY_USER)
BR = "/rest/api/backup-restore"
ORG = "%s/orgs/%s" % (ORG_API_PREFIX, ORG_ID)
SEARCH_KEYS = ["results", "start", "limit", "size", "totalSize", "cqlQuery", "searchDuration", "_links"]
SOURCE = [{"key": "DOC", "name": "Documentation", "pages": 9, "blog_posts": 2},
          {"key": "TEAM", "name": "Team", "pages": 5, "blog_posts": 0},
          {"key": "HR", "name": "People", "pages": 3, "blog_posts": 1},
          {"key": "~jdoe", "name": "J. Doe", "type": "personal", "pages": 1}]


# Jobs run by the emulator's clock here (not by polls), long enough that no test races it: advance() ends them.
DEFAULTS = {"dc_job_polls": None, "dc_backup_seconds": 20, "dc_restore_seconds": 20}


@pytest.fixture(autouse=True)
def emulator_defaults(emulator):
    emulator.reset(**DEFAULTS)


def reset(emulator, **config):
    emulator.reset(**dict(DEFAULTS, **config))


def get(emulator, path, auth=CLOUD, **params):
    return requests.get(emulator.url + path, auth=auth, params=params, timeout=60)


def advance(emulator, seconds=30):
    emulator.control("advance", {"seconds": seconds})


def count(emulator, root, cql, auth=CLOUD):
    answer = get(emulator, root + "/rest/api/search", auth=auth, cql=cql, limit=1)
    assert answer.status_code == 200, answer.text
    return answer.json()["totalSize"]


def v2_keys(emulator, root="/wiki", auth=CLOUD, **params):
    """Every space key of a Cloud site, following the cursor links."""
    keys, url = [], emulator.url + root + "/api/v2/spaces"
    params = dict(params)
    while url:
        answer = requests.get(url, auth=auth, params=params, timeout=60)
        assert answer.status_code == 200, answer.text
        keys += [s["key"] for s in answer.json()["results"]]
        nxt = answer.json()["_links"].get("next")
        url, params = (emulator.url + nxt if nxt else None), None
    return keys


def dc_spaces(emulator, root="/confluence", auth=DC):
    """Every space of a Data Center instance: key -> the CQL counts of its pages and blog posts."""
    found, start = {}, 0
    while True:
        answer = get(emulator, root + "/rest/api/space", auth=auth, start=start, limit=2).json()
        for space in answer["results"]:
            found[space["key"]] = {q: count(emulator, root, 'type = %s AND space = "%s"' % (q, space["key"]), auth=auth)
                                   for q in ("page", "blogpost")}
        if "next" not in answer["_links"]:
            return found
        start += answer["size"]


def dc_job(emulator, job_id, root="/confluence"):
    return get(emulator, root + BR + "/jobs/%d" % job_id, auth=DC).json()


def upload(emulator, scope, data, root="/confluence-drill"):
    answer = requests.post(emulator.url + root + BR + "/restore/%s/upload" % scope, auth=DC, timeout=60,
                           headers={"X-Atlassian-Token": "no-check"}, files={"file": ("backup.zip", data)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def backup(emulator, scope="site", root="/confluence", **body):
    data = {"keepPermanently": False}
    data.update({"skipAttachments": False} if scope == "site" else {})
    data.update(body)
    started = requests.post(emulator.url + root + BR + "/backup/" + scope, auth=DC, json=data, timeout=60)
    assert started.status_code == 200, started.text
    advance(emulator)
    job = dc_job(emulator, started.json()["id"], root)
    assert job["jobState"] == "FINISHED", job
    return job, get(emulator, root + BR + "/jobs/%d/download" % job["id"], auth=DC).content


def descriptor_zip(entities, export_type="all"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        if entities is not None:
            archive.writestr("entities.xml", entities)
        archive.writestr("exportDescriptor.properties", "exportType=%s\n" % export_type)
    return buf.getvalue()


# ------------------------------------------------------------------ Cloud: spaces
def test_cloud_space_list_pages_with_the_cursor_and_the_link_header(emulator):
    first = get(emulator, "/wiki/api/v2/spaces", limit=1)
    body = first.json()
    assert first.status_code == 200 and [s["key"] for s in body["results"]] == ["DOC"], body
    space = body["results"][0]
    assert set(space) >= {"id", "key", "name", "type", "status", "authorId", "createdAt", "homepageId", "_links"}
    assert space["type"] == "global" and space["status"] == "current" and space["_links"]["webui"] == "/spaces/DOC"
    assert body["_links"]["next"].startswith("/wiki/api/v2/spaces?") and "cursor=" in body["_links"]["next"]
    assert first.headers["Link"].startswith("<%s>; rel=\"next\"" % body["_links"]["next"])
    assert v2_keys(emulator, limit=1) == ["DOC", "TEAM", PERSONAL] == v2_keys(emulator)
    assert "next" not in get(emulator, "/wiki/api/v2/spaces").json()["_links"]


def test_cloud_space_list_filters_and_refusals(emulator):
    assert v2_keys(emulator, keys="DOC,TEAM") == ["DOC", "TEAM"]
    assert v2_keys(emulator, type="personal") == [PERSONAL]
    assert v2_keys(emulator, status="archived") == []
    assert v2_keys(emulator, sort="-key")[0] == PERSONAL
    for params in ({"type": "team"}, {"status": "gone"}, {"limit": 0}, {"limit": 251}, {"cursor": "nonsense"},
                   {"sort": "size"}):
        refused = get(emulator, "/wiki/api/v2/spaces", **params)
        error = refused.json()["errors"][0]
        assert refused.status_code == 400 and error["status"] == 400 and error["code"], (params, refused.text)


def test_cloud_auth_anonymous_sees_nothing_and_bad_credentials_are_401(emulator):
    anonymous = get(emulator, "/wiki/api/v2/spaces", auth=None)
    assert anonymous.status_code == 200 and anonymous.json()["results"] == []
    assert get(emulator, "/wiki/rest/api/search", auth=None, cql="type=page").json()["totalSize"] == 0
    for path in ("/wiki/api/v2/spaces", "/wiki/rest/api/search?cql=type%3Dpage"):
        refused = get(emulator, path, auth=(CANARY_USER, "wrong"))
        assert refused.status_code == 401 and refused.json()["message"].startswith("Client must be authenticated")


def test_other_cloud_sites_answer_under_their_prefix(emulator):
    # A new site holds only its admin's personal space (the one Atlassian says to delete before a restore).
    assert v2_keys(emulator, "/sites/example-restore/wiki") == [PERSONAL]
    assert v2_keys(emulator, "/sites/example/wiki") == v2_keys(emulator) == v2_keys(emulator, "/sites/%s/wiki" % SITE)
    page = get(emulator, "/sites/example/wiki/api/v2/spaces", limit=1).json()
    assert page["_links"]["next"].startswith("/sites/example/wiki/api/v2/spaces?")
    assert get(emulator, "/sites/nowhere/wiki/api/v2/spaces").status_code == 404
    reset(emulator, org_sites=[{"cloudId": SITE, "cloudName": "example", "products": ["CONFLUENCE"], "content": []},
                               {"cloudId": RESTORE_SITE, "cloudName": "jira-only", "products": ["JIRA"]}])
    assert v2_keys(emulator) == []
    assert get(emulator, "/sites/jira-only/wiki/api/v2/spaces").status_code == 404


# --------------------------------------------------------------------- Cloud: CQL
def test_cloud_cql_counts(emulator):
    assert count(emulator, "/wiki", "type=page") == 20
    assert count(emulator, "/wiki", 'type = page AND space = "DOC"') == 12
    assert count(emulator, "/wiki", "type = blogpost and space = doc") == 2
    assert count(emulator, "/wiki", "type in (page, blogpost) AND space in (\"DOC\",'TEAM')") == 22
    assert count(emulator, "/wiki", 'type = page AND space = "%s"' % PERSONAL) == 1
    assert count(emulator, "/wiki", 'type = page AND space = "NOPE"') == 0
    assert count(emulator, "/sites/example-restore/wiki", "type = page") == 1


def test_cloud_search_shape_and_paging(emulator):
    answer = get(emulator, "/wiki/rest/api/search", cql='type = page AND space = "DOC"', limit=5).json()
    assert list(answer) == SEARCH_KEYS, list(answer)
    assert (answer["start"], answer["limit"], answer["size"], answer["totalSize"]) == (0, 5, 5, 12)
    assert answer["cqlQuery"] == 'type = page AND space = "DOC"' and isinstance(answer["searchDuration"], int)
    result = answer["results"][0]
    assert result["content"]["type"] == "page" and result["content"]["status"] == "current"
    assert result["entityType"] == "content" and result["resultGlobalContainer"]["displayUrl"] == "/spaces/DOC"
    assert answer["_links"]["context"] == "/wiki" and answer["_links"]["base"] == emulator.url + "/wiki"
    ids, page = [], answer
    while True:
        ids += [r["content"]["id"] for r in page["results"]]
        if "next" not in page["_links"]:
            break
        page = requests.get(page["_links"]["base"] + page["_links"]["next"], auth=CLOUD, timeout=60).json()
    assert len(ids) == len(set(ids)) == 12
    none = get(emulator, "/wiki/rest/api/search", cql="type=page", limit=0).json()
    assert none["results"] == [] and none["totalSize"] == 20


@pytest.mark.parametrize("cql", ["space = DOC", "type = page OR space = DOC", "type = comment", "title ~ backup",
                                 "type = page ORDER BY created", "type = page AND", "type != page", "((", ""])
def test_cloud_cql_outside_the_subset_is_refused_as_confluence_refuses_unparsable_cql(emulator, cql):
    refused = get(emulator, "/wiki/rest/api/search", cql=cql)
    body = refused.json()
    assert refused.status_code == 400 and body["statusCode"] == 400, refused.text
    assert body["message"] == ("com.atlassian.confluence.api.service.exceptions.BadRequestException: "
                               "Could not parse cql : %s" % cql)


def test_archived_spaces_are_searched_only_when_asked(emulator):
    emulator.content_site(cloud="example", spaces=[{"key": "OLD", "status": "archived", "pages": 4},
                                                   {"key": "NEW", "pages": 2}])
    assert count(emulator, "/wiki", "type = page") == 2
    archived = get(emulator, "/wiki/rest/api/search", cql="type = page", includeArchivedSpaces="true")
    assert archived.json()["totalSize"] == 6
    assert v2_keys(emulator, status="archived") == ["OLD"]


# ---------------------------------------------------------------- Data Center: REST
def test_dc_space_list_and_counts(emulator):
    first = get(emulator, "/confluence/rest/api/space", auth=DC, limit=2).json()
    assert [s["key"] for s in first["results"]] == ["ARCHIVE", "DOC"] and first["size"] == 2
    assert first["_links"]["next"] == "/rest/api/space?limit=2&start=2" and first["_links"]["context"] == "/confluence"
    assert first["results"][0]["_links"]["webui"] == "/display/ARCHIVE"
    assert dc_spaces(emulator) == {"DOC": {"page": 4, "blogpost": 1}, "TEAM": {"page": 8, "blogpost": 2},
                                   "ARCHIVE": {"page": 12, "blogpost": 3}, "HR": {"page": 16, "blogpost": 4}}
    search = get(emulator, "/confluence/rest/api/search", auth=DC, cql="type = page", limit=25, start=25).json()
    assert list(search) == SEARCH_KEYS and search["size"] == 15 and search["totalSize"] == 40
    assert "next" not in search["_links"] and "start=0" in search["_links"]["prev"]
    # The second instance starts empty; a context no instance has is a 404.
    assert dc_spaces(emulator, "/confluence-drill") == {}
    assert get(emulator, "/other/rest/api/space", auth=DC).status_code == 404


def test_dc_auth(emulator):
    bearer = requests.get(emulator.url + "/confluence/rest/api/search", params={"cql": "type=page"}, timeout=60,
                          headers={"Authorization": "Bearer " + DC_PAT})
    assert bearer.status_code == 200 and bearer.json()["totalSize"] == 40
    assert get(emulator, "/confluence/rest/api/space", auth=None).json()["results"] == []
    assert get(emulator, "/confluence/rest/api/space", auth=(DC_ADMIN, "wrong")).status_code == 401
    assert get(emulator, "/confluence/rest/api/search", auth=CLOUD, cql="type=page").status_code == 401
    log = emulator.state()["content"]["requests"]
    assert [(r["site"], r["method"], r["status"]) for r in log][-3:] == [
        ("dc:/confluence", "GET", 200), ("dc:/confluence", "GET", 401), ("dc:/confluence", "GET", 401)]


def test_dc_unknown_space_keys_in_cql(emulator):
    cql = 'type = page AND space = "GONE"'
    assert get(emulator, "/confluence/rest/api/search", auth=DC, cql=cql).json()["totalSize"] == 0
    emulator.config(dc_cql_unknown_space="400")
    refused = get(emulator, "/confluence/rest/api/search", auth=DC, cql=cql)
    assert refused.status_code == 400 and refused.json() == {"statusCode": 400, "message": "parameters should not be "
                                                             "empty", "reason": "Bad Request"}
    emulator.config(dc_cql_unknown_space="500")
    assert get(emulator, "/confluence/rest/api/search", auth=DC, cql=cql).status_code == 500
    unparsable = get(emulator, "/confluence/rest/api/search", auth=DC, cql="type = page OR type = blogpost")
    assert unparsable.status_code == 400 and "Could not parse cql" in unparsable.json()["message"]


# ---------------------------------------------------- Data Center: backups and restores
def test_dc_site_backup_restored_into_the_second_instance_gives_equal_counts(emulator, tmp_path):
    reset(emulator, dc_content=SOURCE)
    source = dc_spaces(emulator)
    job, data = backup(emulator)
    path = tmp_path / "site.zip"
    path.write_bytes(data)
    counted = inv.read_inventory(str(path))
    assert (counted["spaces"], counted["pages"], counted["blog_posts"]) == (4, 18, 3), counted
    restore = upload(emulator, "site", data)
    assert restore["jobState"] == "QUEUED" or restore["jobState"] == "PROCESSING"
    assert dc_spaces(emulator, "/confluence-drill") == {}, "nothing loaded before the restore finished"
    advance(emulator)
    assert dc_job(emulator, restore["id"], "/confluence-drill")["jobState"] == "FINISHED"
    assert dc_spaces(emulator, "/confluence-drill") == source
    drill = emulator.state()["dc_instances"]["/confluence-drill"]
    assert drill["jobs"][-1]["internal"]["loaded"]["spaces"] == ["DOC", "TEAM", "HR", "~jdoe"]
    assert emulator.state()["dc"]["jobs"][-1]["id"] == job["id"], "each instance has its own jobs"
    # A site restore replaces everything the instance held.
    upload(emulator, "site", descriptor_zip(b'<hibernate-generic><object class="Space" package="p"><id name="id">1'
                                            b'</id><property name="key">ONLY</property></object></hibernate-generic>'))
    advance(emulator)
    assert dc_spaces(emulator, "/confluence-drill") == {"ONLY": {"page": 0, "blogpost": 0}}


def test_dc_space_backup_holds_its_spaces_and_a_space_restore_adds_them(emulator):
    reset(emulator, dc_content=SOURCE)
    _job, data = backup(emulator, "space", spaceKeys=["TEAM", "HR"])
    restore = upload(emulator, "space", data)
    advance(emulator)
    assert dc_job(emulator, restore["id"], "/confluence-drill")["jobState"] == "FINISHED"
    assert dc_spaces(emulator, "/confluence-drill") == {"TEAM": {"page": 5, "blogpost": 0},
                                                        "HR": {"page": 3, "blogpost": 1}}
    # The same keys again: Confluence's space keys are unique, so the restore fails, unless told to replace.
    again = upload(emulator, "space", data)
    advance(emulator)
    failed = dc_job(emulator, again["id"], "/confluence-drill")
    assert failed["jobState"] == "FAILED" and "TEAM, HR" in failed["errorMessage"], failed
    emulator.config(dc_space_restore_existing="replace")
    replaced = upload(emulator, "space", data)
    advance(emulator)
    assert dc_job(emulator, replaced["id"], "/confluence-drill")["jobState"] == "FINISHED"


def test_dc_restore_that_loses_content(emulator):
    reset(emulator, dc_content=SOURCE,
          dc_instances={"/confluence-drill": {"dc_content": [], "dc_restore_lose_pages": {"DOC": 3},
                                              "dc_restore_lose_spaces": ["HR"]}})
    _job, data = backup(emulator)
    restore = upload(emulator, "site", data)
    advance(emulator)
    assert dc_job(emulator, restore["id"], "/confluence-drill")["jobState"] == "FINISHED", "it looks fine"
    found = dc_spaces(emulator, "/confluence-drill")
    assert found["DOC"] == {"page": 6, "blogpost": 2} and "HR" not in found and found["TEAM"]["page"] == 5
    loaded = emulator.state()["dc_instances"]["/confluence-drill"]["jobs"][-1]["internal"]["loaded"]
    assert loaded["lost"] == {"spaces": ["HR"], "pages": {"DOC": 3}}
    assert dc_spaces(emulator)["HR"] == {"page": 3, "blogpost": 1}, "the source keeps its content"


@pytest.mark.parametrize("entities, words", [(None, "no entities.xml"),
                                             (b"<hibernate-generic><object", "could not be parsed")])
def test_dc_restore_of_a_zip_without_readable_entities_fails(emulator, entities, words):
    restore = upload(emulator, "site", descriptor_zip(entities))
    advance(emulator)
    failed = dc_job(emulator, restore["id"], "/confluence-drill")
    assert failed["jobState"] == "FAILED" and words in failed["errorMessage"], failed
    assert dc_spaces(emulator, "/confluence-drill") == {}


def test_dc_restore_from_the_server_folder_loads_the_files_content(emulator):
    reset(emulator, dc_content=SOURCE)
    job, _data = backup(emulator)
    placed = emulator.dc_restore_file(context="/confluence-drill", scope="SITE", name="copied.zip",
                                      from_job={"context": "/confluence", "id": job["id"]})
    assert placed["fileName"] == "copied.zip" and placed["jobScope"] == "SITE"
    started = requests.post(emulator.url + "/confluence-drill" + BR + "/restore/site", auth=DC, timeout=60,
                            json={"fileName": "copied.zip"})
    assert started.status_code == 200, started.text
    advance(emulator)
    assert dc_spaces(emulator, "/confluence-drill") == dc_spaces(emulator)
    # The default instance's restore folder does not have the file.
    missing = requests.post(emulator.url + "/confluence" + BR + "/restore/site", auth=DC, timeout=60,
                            json={"fileName": "copied.zip"})
    assert missing.status_code == 400


# ------------------------------------------------------------------ organization API
def org_call(emulator, method, path, **kwargs):
    answer = requests.request(method, emulator.url + ORG + path, auth=CLOUD, timeout=60, **kwargs)
    assert answer.status_code in (200, 201, 202), answer.text
    return answer.json()


def org_backup(emulator, personal=True):
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True,
                                             "includePersonalSpaces": personal})
    started = org_call(emulator, "POST", "/backups", json={"policyId": policy["policyId"], "cloudId": SITE})
    advance(emulator)
    return started["backupId"]


def org_restore(emulator, backup_id):
    started = org_call(emulator, "POST", "/cloud/%s/restores" % RESTORE_SITE,
                       json={"backupId": backup_id, "product": "CONFLUENCE"})
    advance(emulator)
    return org_call(emulator, "GET", "/restores/%s" % started["restoreId"])


def test_org_backup_restored_into_the_destination_skips_the_keys_it_holds(emulator):
    reset(emulator, org_restore_failing_checks=[])
    backup_id = org_backup(emulator)
    assert [s["key"] for s in emulator.state()["org"]["backup_content"][backup_id]] == ["DOC", "TEAM", PERSONAL]
    # The source changes after the backup: the restore brings what the backup holds.
    emulator.content_site(cloud="example", delete=["TEAM"])
    restore = org_restore(emulator, backup_id)
    assert restore["status"] == "COMPLETED", restore
    assert v2_keys(emulator, "/sites/example-restore/wiki") == [PERSONAL, "DOC", "TEAM"]
    assert count(emulator, "/sites/example-restore/wiki", 'type = page AND space = "DOC"') == 12
    assert count(emulator, "/sites/example-restore/wiki", 'type = page AND space = "%s"' % PERSONAL) == 1
    applied = emulator.state()["org"]["restore_content"][restore["restoreId"]]
    assert applied == {"spacesRestored": ["DOC", "TEAM"], "spacesSkipped": [PERSONAL]}


def test_org_backup_without_personal_spaces_and_a_jira_backup_carry_no_personal_space(emulator):
    reset(emulator, org_restore_failing_checks=[])
    backup_id = org_backup(emulator, personal=False)
    assert [s["key"] for s in emulator.state()["org"]["backup_content"][backup_id]] == ["DOC", "TEAM"]
    jira = emulator.control("org/policy", {"cloudId": SITE, "product": "JIRA"})
    placed = emulator.control("org/backup", {"policyId": jira["policyId"], "status": "COMPLETE"})
    assert emulator.state()["org"]["backup_content"][placed["backupId"]] is None


def test_org_restore_fail_next(emulator):
    reset(emulator, org_restore_failing_checks=[], org_restore_fail_next=1)
    backup_id = org_backup(emulator)
    failed = org_restore(emulator, backup_id)
    assert failed["status"] == "FAILED" and failed["statusMessage"].startswith("The restore failed"), failed
    assert v2_keys(emulator, "/sites/example-restore/wiki") == [PERSONAL], "a failed restore brings nothing"
    report = org_call(emulator, "GET", "/cloud/%s/migration/%s/postOpReport" % (RESTORE_SITE, failed["migrationId"]))
    assert report["url"].startswith("https://example-restore.atlassian.net/")
    assert emulator.state()["config"]["org_restore_fail_next"] == 0
    again = org_restore(emulator, backup_id)
    assert again["status"] == "COMPLETED", "a failed restore does not count against the 7-day rule"
    assert v2_keys(emulator, "/sites/example-restore/wiki") == [PERSONAL, "DOC", "TEAM"]
