# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Confluence site holds, counted over its documented REST API, and compared with what it should hold.

Every path of this use of the Confluence REST API lives here (docs/content_counts.md has the sources):

* Cloud lists spaces with the REST API v2, ``GET /wiki/api/v2/spaces`` (cursor pagination: ``limit`` and ``cursor``;
  the next page's link in ``_links.next`` and in the ``Link`` header; each space has ``id``, ``key``, ``name``,
  ``type``, ``status``). Counting has no v2 resource: the v1 CQL search ``GET /wiki/rest/api/search`` answers
  ``totalSize``, the number of all matches, whatever ``limit`` is; ``includeArchivedSpaces=true`` counts the content
  of archived spaces too, as a backup's inventory does.
* Data Center lists spaces with ``GET <context>/rest/api/space`` (``start``/``limit`` pagination, ``_links.next``
  while more follow; ``key``, ``name``, ``type``, ``status``) and counts with ``GET <context>/rest/api/search``
  (``totalSize``).
* Pages and blog posts are counted per space with ``type = page AND space = "KEY"`` (and ``blogpost``): CQL finds
  current content only, as the backup inventory counts it (plugins/module_utils/store/inventory.py).

:func:`compare` puts a site's counts beside what was expected (a backup's inventory, or the counts of the source site
taken before a move) and names the spaces that are missing or short. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import parse_qs, urlsplit
except ImportError:  # pragma: no cover
    from urlparse import parse_qs, urlsplit  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError, clip, read_json

CLOUD_SPACES = "wiki/api/v2/spaces"
CLOUD_SEARCH = "wiki/rest/api/search"
DC_SPACES = "rest/api/space"
DC_SEARCH = "rest/api/search"
# The largest page sizes the APIs document (v2 spaces: 250; v1 space list: Data Center caps what it returns itself).
CLOUD_PAGE = 250
DC_PAGE = 100
MAX_PAGES = 10000
MAX_BODY = 8 * 1024 * 1024
KINDS = {"pages": "page", "blog_posts": "blogpost"}


class ContentError(AtlassianError):
    """An answer of the content API that cannot be understood (quoted, redacted, in the message)."""


def cql_string(value):
    """A CQL string literal: double quotes, with backslashes and quotes escaped."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def count_cql(kind, space_key=None):
    """``type = page AND space = "DOC"``: the CQL that counts one kind of content (of one space)."""
    cql = "type = %s" % KINDS[kind]
    if space_key is not None:
        cql += " AND space = %s" % cql_string(space_key)
    return cql


def _next_cursor(response, body):
    """The ``cursor`` of the next page of a v2 list: from ``_links.next`` or the ``Link`` header, else None."""
    links = body.get("_links") if isinstance(body, dict) else None
    candidates = [links.get("next")] if isinstance(links, dict) else []
    nxt = getattr(response, "links", {}).get("next") or {}
    candidates.append(nxt.get("url"))
    for link in candidates:
        if link:
            cursor = parse_qs(urlsplit(link).query).get("cursor")
            if cursor:
                return cursor[0]
    return None


def space_view(raw):
    """A space as this collection reports it: ``key``, ``name``, ``type`` (global, personal...), ``status``."""
    return {"key": raw.get("key"), "name": raw.get("name"), "type": (raw.get("type") or "").lower() or None,
            "status": (raw.get("status") or "").lower() or None}


class ContentApi(object):
    """The space list and the CQL counts of one site (``cloud``: Confluence Cloud, else Data Center)."""

    def __init__(self, client, cloud=True):
        self.client = client
        self.cloud = cloud
        self.requests = 0

    def _get(self, path, params):
        self.requests += 1
        response = self.client.request("GET", path, params=params)
        body = read_json(self.client, response, MAX_BODY, ContentError)
        if not isinstance(body, dict):
            raise ContentError("GET %s answered %s, not a JSON object: %s" % (
                path, type(body).__name__, clip(self.client.redact(str(body)))))
        return response, body

    def _results(self, path, body):
        results = body.get("results")
        if not isinstance(results, list):
            raise ContentError("GET %s answered without a 'results' list (keys: %s)." % (
                path, ", ".join(sorted(body)) or "none"))
        return [r for r in results if isinstance(r, dict)]

    def spaces(self):
        """Every space of the site the account can see, as :func:`space_view` dicts, in the API's order."""
        found, seen = [], set()
        if self.cloud:
            params = {"limit": CLOUD_PAGE}
            for _page in range(MAX_PAGES):
                response, body = self._get(CLOUD_SPACES, params)
                found += self._results(CLOUD_SPACES, body)
                cursor = _next_cursor(response, body)
                if not cursor or cursor in seen:
                    break
                seen.add(cursor)
                params = {"limit": CLOUD_PAGE, "cursor": cursor}
        else:
            start = 0
            for _page in range(MAX_PAGES):
                _response, body = self._get(DC_SPACES, {"start": start, "limit": DC_PAGE})
                results = self._results(DC_SPACES, body)
                found += results
                links = body.get("_links") if isinstance(body.get("_links"), dict) else {}
                if not results or not links.get("next"):
                    break
                start += len(results)
        views, keys = [], set()
        for raw in found:
            view = space_view(raw)
            if view["key"] and view["key"] not in keys:
                keys.add(view["key"])
                views.append(view)
        return views

    def count(self, cql):
        """The number of matches of ``cql`` (the search answer's ``totalSize``)."""
        path = CLOUD_SEARCH if self.cloud else DC_SEARCH
        # Search leaves out the content of archived spaces unless asked; a backup's inventory counts it.
        _response, body = self._get(path, {"cql": cql, "limit": 1, "includeArchivedSpaces": "true"})
        total = body.get("totalSize")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ContentError("GET %s?cql=%s answered without a count: no 'totalSize' (keys: %s). Counting needs "
                               "the CQL search of Confluence Cloud or of Data Center 7.0 or later." % (
                                   path, cql, ", ".join(sorted(body)) or "none"))
        return total

    def inventory(self, space_keys=None, kinds=("pages", "blog_posts")):
        """``{"spaces": [view + counts], "totals": {...}, "missing_keys": [...]}`` of the site.

        ``space_keys``: count only these spaces (those the site does not hold are listed in ``missing_keys``)."""
        spaces = self.spaces()
        if space_keys:
            wanted = set(space_keys)
            missing = [key for key in space_keys if key not in set(s["key"] for s in spaces)]
            spaces = [s for s in spaces if s["key"] in wanted]
        else:
            missing = []
        for space in spaces:
            for kind in kinds:
                space[kind] = self.count(count_cql(kind, space["key"]))
        totals = {"spaces": len(spaces)}
        for kind in kinds:
            totals[kind] = sum(space[kind] for space in spaces)
        return {"spaces": spaces, "totals": totals, "missing_keys": missing}


# ------------------------------------------------------------------------------------------------ comparison
def expected_counts(expected):
    """What was expected, per space when known: ``{"spaces": n, "pages": n, "blog_posts": n or None,
    "by_space": {key: {"pages": n, "blog_posts": n}} or None, "source": "inventory"|"site"}``.

    ``expected`` is a backup's inventory (``backup_verify``'s ``inventory``: counts and ``by_space``) or the result
    of a count of a site (``confluence_content_info``: ``spaces`` as a list and ``totals``). None when it holds no
    count."""
    if not isinstance(expected, dict):
        return None
    if isinstance(expected.get("spaces"), list):
        by_space = dict((s.get("key"), {"pages": s.get("pages"), "blog_posts": s.get("blog_posts")})
                        for s in expected["spaces"] if isinstance(s, dict) and s.get("key"))
        totals = expected.get("totals") if isinstance(expected.get("totals"), dict) else {}
        return {"spaces": len(by_space), "pages": _int(totals.get("pages"), _sum(by_space, "pages")),
                "blog_posts": _int(totals.get("blog_posts"), _sum(by_space, "blog_posts")),
                "by_space": by_space, "source": "site"}
    pages = _int(expected.get("pages"))
    spaces = _int(expected.get("spaces"))
    if pages is None or spaces is None:
        return None
    by_space = expected.get("by_space") if isinstance(expected.get("by_space"), dict) else None
    return {"spaces": spaces, "pages": pages, "blog_posts": _int(expected.get("blog_posts")), "by_space": by_space,
            "source": "inventory"}


def _int(value, default=None):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _sum(by_space, kind):
    values = [v.get(kind) for v in by_space.values()]
    return sum(values) if values and all(_int(v) is not None for v in values) else None


def _share(found, expected):
    if not expected:
        return 100.0
    return round(100.0 * min(found, expected) / expected, 2)


def compare(found, expected, max_shortfall_percent=0.0):
    """``found`` (:meth:`ContentApi.inventory`) beside ``expected`` (:func:`expected_counts`).

    Returns ``{"ok", "found_spaces_percent", "found_pages_percent", "expected", "found", "missing_spaces",
    "short_spaces", "message"}``: ``ok`` is False when the spaces or the pages found fall short of those expected by
    more than ``max_shortfall_percent``. A space of the site that was not expected is not a shortfall (a site may
    hold more than one backup brought)."""
    by_key = dict((s["key"], s) for s in found["spaces"])
    exp_by_space = expected.get("by_space") or {}
    missing = sorted(key for key in exp_by_space if key not in by_key)
    short = []
    for key in sorted(exp_by_space):
        want = exp_by_space[key] or {}
        have = by_key.get(key)
        if have is None:
            continue
        for kind in ("pages", "blog_posts"):
            if _int(want.get(kind)) is not None and kind in have and have[kind] < want[kind]:
                short.append({"key": key, "kind": kind, "expected": want[kind], "found": have[kind]})
    if exp_by_space:
        found_spaces = len([key for key in exp_by_space if key in by_key])
        found_pages = sum(min(by_key[key].get("pages", 0), _int((exp_by_space[key] or {}).get("pages"), 0))
                          for key in exp_by_space if key in by_key)
        expected_pages = sum(_int((v or {}).get("pages"), 0) for v in exp_by_space.values())
    else:
        found_spaces, found_pages = found["totals"]["spaces"], found["totals"].get("pages", 0)
        expected_pages = expected["pages"]
    spaces_percent = _share(found_spaces, expected["spaces"])
    pages_percent = _share(found_pages, expected_pages)
    floor = 100.0 - float(max_shortfall_percent)
    ok = spaces_percent >= floor and pages_percent >= floor
    words = "%s of %d expected spaces and %s of %d expected pages found (%.1f %% and %.1f %%)" % (
        found_spaces, expected["spaces"], found_pages, expected_pages, spaces_percent, pages_percent)
    details = []
    if missing:
        more = " and %d more" % (len(missing) - 20) if len(missing) > 20 else ""
        details.append("missing spaces: %s%s" % (", ".join(missing[:20]), more))
    if short:
        details.append("short: %s" % ", ".join(
            "%s %d of %d %s" % (s["key"], s["found"], s["expected"], s["kind"].replace("_", " ")) for s in short[:20]))
    return {"ok": ok, "found_spaces_percent": spaces_percent, "found_pages_percent": pages_percent,
            "expected": {"spaces": expected["spaces"], "pages": expected_pages, "source": expected["source"]},
            "found": {"spaces": found_spaces, "pages": found_pages},
            "missing_spaces": missing, "short_spaces": short,
            "message": words + ("; " + "; ".join(details) if details else "")}
