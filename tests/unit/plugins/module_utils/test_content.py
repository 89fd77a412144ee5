# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counting a site's content over the REST API, and comparing it with what was expected (issue 21)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence import content
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianClient

CLOUD = "https://example.atlassian.test"
DC = "https://wiki.example.test/confluence"


def client(base):
    return AtlassianClient(base, auth=("basic", "admin@example.com", "tok-0123456789"), retries=0,
                           sleep=lambda s: None)


def query(request):
    return dict((k, v[0]) for k, v in parse_qs(urlsplit(request.url).query).items())


def search_callback(counts):
    """A CQL search that answers ``totalSize`` from ``counts[(kind, key)]``."""
    def answer(request):
        cql = query(request)["cql"]
        kind = "page" if "type = page" in cql else "blogpost"
        key = cql.split('space = "')[1].rstrip('"').replace('\\"', '"')
        total = counts.get((kind, key), 0)
        return 200, {}, json.dumps({"results": [{}] if total else [], "start": 0, "limit": 1,
                                    "size": min(total, 1), "totalSize": total, "cqlQuery": cql})
    return answer


@responses.activate
def test_cloud_follows_the_v2_cursor_and_counts_each_space_by_cql():
    pages = {None: ({"results": [{"id": "1", "key": "DOC", "name": "Docs", "type": "global", "status": "current"}],
                     "_links": {"next": "/wiki/api/v2/spaces?cursor=abc&limit=250"}}, ""),
             "abc": ({"results": [{"id": "2", "key": "~jdoe", "name": "J", "type": "personal", "status": "current"}],
                      "_links": {}}, "")}

    def spaces(request):
        return 200, {}, json.dumps(pages[query(request).get("cursor")][0])
    responses.add_callback(responses.GET, CLOUD + "/wiki/api/v2/spaces", callback=spaces)
    responses.add_callback(responses.GET, CLOUD + "/wiki/rest/api/search",
                           callback=search_callback({("page", "DOC"): 12, ("blogpost", "DOC"): 2, ("page", "~jdoe"): 1}))
    api = content.ContentApi(client(CLOUD), cloud=True)
    found = api.inventory()
    assert [s["key"] for s in found["spaces"]] == ["DOC", "~jdoe"]
    assert found["spaces"][0]["pages"] == 12 and found["spaces"][0]["blog_posts"] == 2
    assert found["totals"] == {"spaces": 2, "pages": 13, "blog_posts": 2}
    assert api.requests == 2 + 4


@responses.activate
def test_data_center_pages_by_start_until_no_next_link_and_reports_missing_keys():
    def spaces(request):
        start = int(query(request)["start"])
        items = [{"key": "S%d" % i, "name": "Space %d" % i, "type": "global"} for i in range(start, min(start + 2, 3))]
        links = {"next": "/rest/api/space?start=%d" % (start + 2)} if start + 2 < 3 else {}
        return 200, {}, json.dumps({"results": items, "start": start, "limit": 2, "size": len(items), "_links": links})
    responses.add_callback(responses.GET, DC + "/rest/api/space", callback=spaces)
    responses.add_callback(responses.GET, DC + "/rest/api/search", callback=search_callback({("page", "S2"): 5}))
    found = content.ContentApi(client(DC), cloud=False).inventory(["S2", "NOPE"], ("pages",))
    assert [s["key"] for s in found["spaces"]] == ["S2"] and found["spaces"][0]["pages"] == 5
    assert found["missing_keys"] == ["NOPE"] and found["totals"] == {"spaces": 1, "pages": 5}


@responses.activate
def test_a_search_answer_without_total_size_fails_naming_what_is_needed():
    responses.add(responses.GET, DC + "/rest/api/search", json={"results": [], "size": 0})
    with pytest.raises(content.ContentError, match="no 'totalSize'.*Data Center 7.0"):
        content.ContentApi(client(DC), cloud=False).count("type = page")


def test_cql_quotes_keys_with_quotes_and_backslashes():
    assert content.count_cql("pages", 'A"B\\') == 'type = page AND space = "A\\"B\\\\"'
    assert content.count_cql("blog_posts") == "type = blogpost"


def site(*spaces):
    return {"spaces": [dict(key=k, pages=p, blog_posts=b) for k, p, b in spaces],
            "totals": {"spaces": len(spaces), "pages": sum(s[1] for s in spaces)}}


def test_comparison_with_a_source_site_names_missing_and_short_spaces():
    expected = content.expected_counts(site(("DOC", 10, 1), ("TEAM", 5, 0), ("HR", 2, 0)))
    result = content.compare(site(("DOC", 9, 1), ("TEAM", 7, 0), ("NEW", 50, 0)), expected)
    assert not result["ok"]
    assert result["missing_spaces"] == ["HR"]
    assert result["short_spaces"] == [{"key": "DOC", "kind": "pages", "expected": 10, "found": 9}]
    # TEAM's two extra pages do not make up for DOC's missing one; NEW was not expected.
    assert result["found"] == {"spaces": 2, "pages": 14} and result["expected"]["pages"] == 17
    assert "missing spaces: HR" in result["message"] and "DOC 9 of 10 pages" in result["message"]


def test_comparison_with_an_inventory_per_space_and_a_threshold():
    inventory = {"spaces": 2, "pages": 100, "blog_posts": 0, "comments": 0, "attachments": 0,
                 "by_space": {"A": {"pages": 50, "blog_posts": 0}, "B": {"pages": 50, "blog_posts": 0}}}
    expected = content.expected_counts(inventory)
    assert expected["source"] == "inventory"
    found = site(("A", 50, 0), ("B", 49, 0))
    assert content.compare(found, expected, 1.0)["ok"]
    assert not content.compare(found, expected, 0.5)["ok"]
    assert content.compare(found, expected, 1.0)["found_pages_percent"] == 99.0


def test_comparison_with_totals_only():
    expected = content.expected_counts({"spaces": 3, "pages": 30})
    assert expected["by_space"] is None
    assert content.compare(site(("A", 20, 0), ("B", 10, 0), ("C", 0, 0)), expected)["ok"]
    assert not content.compare(site(("A", 20, 0), ("B", 9, 0), ("C", 0, 0)), expected)["ok"]


@pytest.mark.parametrize("value", [None, {}, {"spaces": 2}, {"pages": "x", "spaces": 1}, [1]])
def test_expectations_without_counts_are_refused(value):
    assert content.expected_counts(value) is None
