# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's Confluence Cloud REST API v2 content over HTTP (issue 24; docs/emulator_evidence.md, "REST API v2
content for confluence_export"): a generated site walked through cursor pagination, items and their sub-resources,
attachment bytes with a range, changes between runs, rate limits on the emulator's clock, and auth."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest
import requests

from conftest import CANARY_TOKEN, CANARY_USER

AUTH = (CANARY_USER, CANARY_TOKEN)
SITE = {"seed": 7, "spaces": 3, "pages": 61, "blogposts": 7, "attachments": 9, "attachment_size": [300, 5000],
        "trashed_pages": 2, "archived_pages": 1}


@pytest.fixture
def site(emulator):
    return emulator.control("rest_v2/site", SITE)


def get(emulator, path, auth=AUTH, **params):
    return requests.get(emulator.url + path, auth=auth, params=params, timeout=60, allow_redirects=False)


def walk(emulator, path, **params):
    """Every result of a list, following ``_links.next`` (checked against ``Link``); and the number of requests."""
    results, answer, calls = [], get(emulator, path, **params), 1
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        results += body["results"]
        following = body["_links"].get("next")
        assert body["_links"]["base"] == emulator.url + "/wiki"
        if not following:
            assert "Link" not in answer.headers
            return results, calls
        assert answer.headers["Link"] == '<%s>; rel="next"' % following
        assert following.startswith("/wiki/api/v2/")
        answer = requests.get(emulator.url + following, auth=AUTH, timeout=60)
        calls += 1


def test_walk_matches_control_counts(emulator, site):
    totals = site["totals"]
    assert totals["pages"] == {"current": 58, "archived": 1, "trashed": 2}
    pages, calls = walk(emulator, "/wiki/api/v2/pages", limit=7)
    assert len(pages) == 59 and calls == 9                  # current and archived by default
    assert [int(p["id"]) for p in pages] == sorted(int(p["id"]) for p in pages)
    trashed, _calls = walk(emulator, "/wiki/api/v2/pages", status="trashed", limit=250)
    assert len(trashed) == 2
    per_space = 0
    for space in site["spaces"]:
        found, _calls = walk(emulator, "/wiki/api/v2/spaces/%s/pages" % space["id"], limit=5,
                             status="current,archived,trashed")
        assert len(found) == space["pages"]
        assert found[0]["id"] == space["homepageId"] and found[0]["parentId"] is None
        assert all(p["parentId"] for p in found[1:])
        per_space += len(found)
        blogs, _calls = walk(emulator, "/wiki/api/v2/spaces/%s/blogposts" % space["id"])
        assert len(blogs) == space["blogposts"]
    assert per_space == 61
    spaces, _calls = walk(emulator, "/wiki/api/v2/spaces", limit=2)
    assert [s["key"] for s in spaces] == ["GEN1", "GEN2", "GEN3"]
    newest, _calls = walk(emulator, "/wiki/api/v2/pages", sort="-modified-date", limit=10)
    stamps = [p["version"]["createdAt"] for p in newest]
    assert len(newest) == 59 and stamps == sorted(stamps, reverse=True)
    assert get(emulator, "/wiki/api/v2/pages", limit=251).status_code == 400
    assert len(get(emulator, "/wiki/api/v2/pages").json()["results"]) == 25


def test_items_and_sub_resources(emulator, site):
    home = site["spaces"][0]["homepageId"]
    page = get(emulator, "/wiki/api/v2/pages/%s" % home, **{"body-format": "storage"}).json()
    assert page["body"]["storage"]["representation"] == "storage"
    assert page["body"]["storage"]["value"].startswith("<h1>Generated space 1 Home</h1>")
    assert page["spaceId"] == site["spaces"][0]["id"] and page["version"]["number"] >= 1
    versions, _calls = walk(emulator, "/wiki/api/v2/pages/%s/versions" % home)
    assert [v["number"] for v in versions] == list(range(page["version"]["number"], 0, -1))
    labels = get(emulator, "/wiki/api/v2/pages/%s/labels" % home).json()["results"]
    assert len(labels) == 2 and set(labels[0]) == {"id", "name", "prefix"}
    assert len(get(emulator, "/wiki/api/v2/pages/%s/properties" % home).json()["results"]) == 1
    # include-*: the same lists inside the item, with meta.hasMore; without it the item holds none of them.
    assert "labels" not in page and "versions" not in page
    whole = get(emulator, "/wiki/api/v2/pages/%s" % home, **{"include-labels": "true", "include-versions": "true",
                                                             "include-properties": "true"}).json()
    assert whole["labels"]["results"] == labels and whole["labels"]["meta"] == {"hasMore": False, "cursor": None}
    assert [v["number"] for v in whole["versions"]["results"]] == [v["number"] for v in versions]
    assert whole["properties"]["_links"]["self"].endswith("/pages/%s/properties" % home)
    footer = get(emulator, "/wiki/api/v2/pages/%s/footer-comments" % home, **{"body-format": "storage"}).json()
    assert footer["results"][0]["pageId"] == home and footer["results"][0]["body"]["storage"]["value"]
    inline = get(emulator, "/wiki/api/v2/pages/%s/inline-comments" % home).json()["results"]
    assert inline[0]["resolutionStatus"] == "open" and inline[0]["properties"]["inlineOriginalSelection"]
    atts = get(emulator, "/wiki/api/v2/pages/%s/attachments" % home).json()["results"]
    assert len(atts) == 1
    att = atts[0]
    assert att["downloadLink"] == att["_links"]["download"] and att["fileSize"] >= 300
    assert get(emulator, "/wiki/api/v2/attachments/%s" % att["id"]).json()["fileSize"] == att["fileSize"]
    assert get(emulator, "/wiki/api/v2/pages/999").status_code == 404
    blog = site["spaces"][0]["blogposts"]
    assert blog and get(emulator, "/wiki/api/v2/blogposts").json()["results"][0]["id"]


def test_attachment_download_with_range(emulator, site):
    home = site["spaces"][0]["homepageId"]
    att = get(emulator, "/wiki/api/v2/pages/%s/attachments" % home).json()["results"][0]
    redirect = get(emulator, "/wiki" + att["downloadLink"])
    assert redirect.status_code == 302
    media = redirect.headers["Location"]
    whole = requests.get(media, timeout=60)
    assert whole.status_code == 200 and len(whole.content) == att["fileSize"]
    assert whole.headers["Content-Type"] == att["mediaType"]
    facts = emulator.control("rest_v2/attachment/%s" % att["id"])
    assert hashlib.sha256(whole.content).hexdigest() == facts["sha256"]
    part = requests.get(media, headers={"Range": "bytes=100-"}, timeout=60)
    assert part.status_code == 206 and part.content == whole.content[100:]
    assert get(emulator, "/wiki" + att["downloadLink"], auth=None).status_code == 401


def test_changes_between_runs(emulator, site):
    home = site["spaces"][1]["homepageId"]
    before = get(emulator, "/wiki/api/v2/pages/%s" % home, **{"body-format": "storage"}).json()
    emulator.control("advance", {"seconds": 3600})
    done = emulator.control("rest_v2/change", {"edit": [home], "edit_pages": 2,
                                               "add_pages": [{"space": "GEN2", "parent": home, "count": 2}],
                                               "trash": [site["spaces"][2]["homepageId"]],
                                               "add_attachments": [{"container": home, "size": 1234}]})
    after = get(emulator, "/wiki/api/v2/pages/%s" % home, **{"body-format": "storage"}).json()
    assert after["version"]["number"] == before["version"]["number"] + 1 == done["edited"][home]
    assert after["version"]["createdAt"] > before["version"]["createdAt"]
    assert after["body"]["storage"]["value"] != before["body"]["storage"]["value"]
    assert done["totals"]["pages"] == {"current": 59, "archived": 1, "trashed": 3}
    newest = get(emulator, "/wiki/api/v2/pages", sort="-modified-date", limit=4).json()["results"]
    assert set(done["added"]) | {home} <= set(p["id"] for p in newest) | set(done["edited"])
    child = get(emulator, "/wiki/api/v2/pages/%s" % done["added"][0]).json()
    assert child["parentId"] == home
    assert get(emulator, "/wiki/api/v2/pages/%s" % site["spaces"][2]["homepageId"]).status_code == 404
    assert get(emulator, "/wiki/api/v2/pages/%s" % site["spaces"][2]["homepageId"], status="trashed").ok
    atts = get(emulator, "/wiki/api/v2/pages/%s/attachments" % home).json()["results"]
    assert done["attachments_added"][0] in [a["id"] for a in atts]
    emulator.control("rest_v2/change", {"purge": [done["added"][1]], "purge_attachments": [atts[0]["id"]]})
    assert get(emulator, "/wiki/api/v2/pages/%s" % done["added"][1], status="trashed").status_code == 404
    assert len(get(emulator, "/wiki/api/v2/pages/%s/attachments" % home).json()["results"]) == len(atts) - 1
    log = emulator.control("rest_v2/requests")["requests"]
    assert log[-1]["path"].endswith("/attachments") and log[-1]["status"] == 200


def test_rate_limit_and_storm(emulator, site):
    emulator.config(v2_rate_limit={"requests": 3, "window_seconds": 10})
    answers = [get(emulator, "/wiki/api/v2/pages", limit=1) for _n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[1].headers["X-RateLimit-Remaining"] == "1"
    limited = answers[3]
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert limited.headers["X-RateLimit-Limit"] == "3" and limited.headers["RateLimit-Reason"]
    assert get(emulator, "/wiki/api/v2/pages", limit=1).status_code == 429
    emulator.control("advance", {"seconds": int(limited.headers["Retry-After"])})
    assert get(emulator, "/wiki/api/v2/pages", limit=1).status_code == 200
    emulator.config(v2_rate_limit=None)
    emulator.control("rest_v2/storm", {"count": 2, "retry_after": 1})
    assert [get(emulator, "/wiki/api/v2/blogposts").status_code for _n in range(3)] == [503, 503, 200]
    statuses = [r["status"] for r in emulator.control("rest_v2/requests")["requests"]]
    assert statuses.count(429) == 2 and statuses.count(503) == 2


def test_auth(emulator, site):
    assert get(emulator, "/wiki/api/v2/pages", auth=(CANARY_USER, "wrong")).status_code == 401
    anonymous = get(emulator, "/wiki/api/v2/pages", auth=None)
    assert anonymous.status_code == 200 and anonymous.json()["results"] == []
    assert get(emulator, "/wiki/api/v2/pages/%s" % site["spaces"][0]["homepageId"], auth=None).status_code == 404
