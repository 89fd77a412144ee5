# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every path of the Confluence Cloud REST API v2 that confluence_export reads, and its readers.

No Ansible imports. Sources (docs/confluence_export.md has them in full): developer.atlassian.com, Confluence Cloud
REST API v2: ``GET /wiki/api/v2/spaces`` (``keys``), ``/spaces/{id}/pages`` and ``/spaces/{id}/blogposts`` (every
status asked for: current, archived), ``/pages/{id}?body-format=storage`` and ``/blogposts/{id}``, and under each of
these ``/labels``, ``/properties``, ``/footer-comments``, ``/inline-comments``, ``/versions`` and ``/attachments``.
Lists are cursor-paginated: ``limit`` (at most 250) and ``cursor``; the next page is ``_links.next`` or the ``Link``
header (``rel="next"``). An attachment's binary is its ``downloadLink`` (``_links.download``), relative to the
answer's ``_links.base``: the site redirects it to the media host, which the shared download engine follows.

Answers are read by shape: a list is a ``results`` list of objects; ids are strings or numbers; a version is
``version.number``; a download link is ``downloadLink``, else ``_links.download``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.content import _next_cursor
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError, clip, read_json

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

V2 = "wiki/api/v2/"
SPACES = V2 + "spaces"
LISTS = {"page": "spaces/%s/pages", "blogpost": "spaces/%s/blogposts"}
ITEMS = {"page": "pages/%s", "blogpost": "blogposts/%s"}
# What each page or blog post carries besides itself, read from its own sub-lists.
PARTS = ("labels", "properties", "footer-comments", "inline-comments", "versions", "attachments")
PAGE = 250
MAX_BODY = 64 * 1024 * 1024
MAX_PAGES = 100000
STATUSES = "current,archived"


class ExportApiError(AtlassianError):
    """An answer of the content API that cannot be understood (quoted, redacted, in the message)."""


def item_view(raw, kind):
    """What a listing says of a page or blog post: enough to tell whether it changed since the last export."""
    version = raw.get("version") if isinstance(raw.get("version"), dict) else {}
    return {"id": str(raw.get("id")), "type": kind, "title": raw.get("title"), "status": raw.get("status"),
            "space_id": str(raw.get("spaceId")) if raw.get("spaceId") is not None else None,
            "parent_id": str(raw.get("parentId")) if raw.get("parentId") is not None else None,
            "version": version.get("number"), "modified": version.get("createdAt")}


def download_link(raw, base):
    """The site-relative path of an attachment's binary (``downloadLink``, else ``_links.download``), or None."""
    links = raw.get("_links") if isinstance(raw.get("_links"), dict) else {}
    link = raw.get("downloadLink") or links.get("download")
    if not link:
        return None
    if link.startswith("http://") or link.startswith("https://"):
        return link
    prefix = (base or "").rstrip("/")
    if prefix.startswith("http"):
        return prefix + "/" + link.lstrip("/")
    return "wiki/" + link.lstrip("/")


class ExportApi(object):
    """The REST API v2 of one Confluence Cloud site, read through ``client`` (an :class:`AtlassianClient`).

    ``counter`` (a callable) is told of every request, for the run's request count.
    """

    def __init__(self, client, counter=None):
        self.client = client
        self.counter = counter or (lambda: None)

    def get(self, path, params=None):
        self.counter()
        response = self.client.request("GET", path, params=params)
        body = read_json(self.client, response, MAX_BODY, ExportApiError)
        if not isinstance(body, dict):
            raise ExportApiError("GET %s answered %s, not a JSON object: %s" % (
                path, type(body).__name__, clip(self.client.redact(str(body)))))
        return response, body

    def walk(self, path, params=None):
        """Every object of a cursor-paginated list, page after page; ``(object, _links.base)`` pairs."""
        params = dict(params or {})
        params.setdefault("limit", PAGE)
        seen = set()
        for _page in range(MAX_PAGES):
            response, body = self.get(path, params)
            results = body.get("results")
            if not isinstance(results, list):
                raise ExportApiError("GET %s answered without a 'results' list (keys: %s)." % (
                    path, ", ".join(sorted(body)) or "none"))
            links = body.get("_links") if isinstance(body.get("_links"), dict) else {}
            for raw in results:
                if isinstance(raw, dict):
                    yield raw, links.get("base")
            cursor = _next_cursor(response, body)
            if not cursor or cursor in seen:
                return
            seen.add(cursor)
            params = dict(params, cursor=cursor)

    def spaces(self, keys=None):
        """The spaces (``id``, ``key``, ``name``, ``type``, ``status``) of the site, or of ``keys`` only."""
        params = {"keys": ",".join(keys)} if keys else {}
        found = []
        for raw, dummy in self.walk(SPACES, params):
            if raw.get("id") is not None and raw.get("key"):
                found.append({"id": str(raw["id"]), "key": raw["key"], "name": raw.get("name"),
                              "type": raw.get("type"), "status": raw.get("status"),
                              "homepage_id": str(raw["homepageId"]) if raw.get("homepageId") is not None else None})
        return found

    def listing(self, space_id, kind):
        """Every page (or blog post) of a space, current and archived, as :func:`item_view` dicts."""
        path = V2 + LISTS[kind] % quote(space_id, safe="")
        return [item_view(raw, kind) for raw, dummy in self.walk(path, {"status": STATUSES})
                if raw.get("id") is not None]

    def item(self, kind, item_id):
        """The page or blog post with its body in storage format, and each of its sub-lists (PARTS)."""
        path = V2 + ITEMS[kind] % quote(item_id, safe="")
        dummy, body = self.get(path, {"body-format": "storage"})
        parts = {}
        for part in PARTS:
            params = {"body-format": "storage"} if part.endswith("comments") else {}
            parts[part] = [dict(raw, _base=base) if part == "attachments" else raw
                           for raw, base in self.walk(path + "/" + part, params)]
        return body, parts
