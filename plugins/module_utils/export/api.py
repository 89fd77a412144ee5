# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every path of the Confluence Cloud REST API v2 that confluence_export reads, and its readers.

No Ansible imports. Sources (docs/confluence_export.md has them in full): developer.atlassian.com, Confluence Cloud
REST API v2: ``GET /wiki/api/v2/spaces`` (``keys``), ``/spaces/{id}/pages`` and ``/spaces/{id}/blogposts`` (every
status asked for: current, archived), ``/pages/{id}?body-format=storage`` and ``/blogposts/{id}`` (with
``include-labels``, ``include-properties`` and ``include-versions``: the first 50 of each, and ``meta.hasMore``), and
under each of these ``/labels``, ``/properties``, ``/versions`` (when more than the item held),
``/footer-comments``, ``/inline-comments`` and ``/attachments``.
Lists are cursor-paginated: ``limit`` (at most 250) and ``cursor``; the next page is ``_links.next`` or the ``Link``
header (``rel="next"``). An attachment's binary is its ``downloadLink`` (``_links.download``), relative to the
answer's ``_links.base``: the site redirects it to the media host, which the shared download engine follows.

The write side (``confluence_import``, the restore of an export): ``POST /wiki/api/v2/pages`` and ``/blogposts``
(``spaceId``, ``status``, ``title``, ``parentId``, ``body`` in storage format) and ``PUT /wiki/api/v2/pages/{id}``
(``id``, ``status``, ``title``, ``body``, ``version`` ``{number: current + 1, message}``; 409 on a stale number); a
page is found by its exact title in a space with ``GET /wiki/api/v2/pages?space-id=..&title=..``. The v2 API has no
way to add labels or upload attachments, so these two use the v1 API: ``POST /wiki/rest/api/content/{id}/label``
(``[{prefix, name}]``) and ``POST /wiki/rest/api/content/{id}/child/attachment`` (multipart ``file``, ``comment``,
``minorEdit``, with ``X-Atlassian-Token: no-check``), an attachment of the same name updated through
``.../child/attachment/{attachment id}/data``.

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
# The parts the item's own GET can carry (``include-<part>=true``: the first 50, with ``meta.hasMore``), which saves
# their sub-list requests: three of the six for most items.
INCLUDED = ("labels", "properties", "versions")
# The write side: where each kind is created, found by title, and updated; the v1 resources v2 lacks.
CREATE = {"page": V2 + "pages", "blogpost": V2 + "blogposts"}
V1_LABELS = "wiki/rest/api/content/%s/label"
V1_ATTACH = "wiki/rest/api/content/%s/child/attachment"
V1_ATTACH_DATA = "wiki/rest/api/content/%s/child/attachment/%s/data"
NO_CHECK = {"X-Atlassian-Token": "no-check"}
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


def whole(included):
    """Whether an item's included part (``{"results", "meta": {"hasMore"}}``) holds every entry: only when the answer
    says so (``hasMore`` false), never by guess."""
    if not isinstance(included, dict) or not isinstance(included.get("results"), list):
        return False
    meta = included.get("meta")
    return isinstance(meta, dict) and meta.get("hasMore") is False and all(
        isinstance(entry, dict) for entry in included["results"])


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

    ``counter`` (a callable) is told of every request, for the run's request count; ``answered`` of every answer
    the site let through (after the client's retries), for the pace.
    """

    def __init__(self, client, counter=None, answered=None):
        self.client = client
        self.counter = counter or (lambda: None)
        self.answered = answered or (lambda: None)

    def get(self, path, params=None):
        self.counter()
        response = self.client.request("GET", path, params=params)
        self.answered()
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
        """Every page (or blog post) of a space, current and archived, as :func:`item_view` dicts, a listing page
        at a time (a generator)."""
        path = V2 + LISTS[kind] % quote(space_id, safe="")
        return (item_view(raw, kind) for raw, dummy in self.walk(path, {"status": STATUSES})
                if raw.get("id") is not None)

    def item(self, kind, item_id):
        """The page or blog post with its body in storage format, and each of its sub-lists (PARTS).

        The labels, properties and versions come with the item (``include-*``) when its answer holds all of them
        (a ``results`` list and ``meta.hasMore`` false); otherwise, as for the other parts, from the sub-list.
        """
        path = V2 + ITEMS[kind] % quote(item_id, safe="")
        params = dict(("include-" + part, "true") for part in INCLUDED)
        params["body-format"] = "storage"
        dummy, body = self.get(path, params)
        parts = {}
        for part in PARTS:
            included = body.pop(part, None) if part in INCLUDED else None
            if whole(included):
                parts[part] = included["results"]
                continue
            params = {"body-format": "storage"} if part.endswith("comments") else {}
            parts[part] = [dict(raw, _base=base) if part == "attachments" else raw
                           for raw, base in self.walk(path + "/" + part, params)]
        return body, parts


class ImportApi(ExportApi):
    """The write side of the REST API, for ``confluence_import``: every request but a GET goes through ``send``."""

    def send(self, method, path, json=None, data=None, headers=None):
        self.counter()
        response = self.client.request(method, path, json=json, data=data, headers=headers)
        body = read_json(self.client, response, MAX_BODY, ExportApiError)
        if not isinstance(body, dict):
            raise ExportApiError("%s %s answered %s, not a JSON object: %s" % (
                method, path, type(body).__name__, clip(self.client.redact(str(body)))))
        return body

    def space(self, key):
        """The space with this key (as :meth:`spaces` gives it), or None."""
        found = [space for space in self.spaces([key]) if space["key"] == key]
        return found[0] if found else None

    def item_or_none(self, kind, item_id):
        """The page or blog post (with its storage body), or None when the site has none with this id."""
        try:
            dummy, body = self.get(V2 + ITEMS[kind] % quote(str(item_id), safe=""), {"body-format": "storage"})
        except AtlassianError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        return body

    def by_title(self, kind, space_id, title):
        """The current or archived page (or blog post) of the space titled exactly ``title``, with its storage
        body, or None."""
        params = {"space-id": space_id, "title": title, "body-format": "storage"}
        if kind == "page":
            params["status"] = STATUSES
        for raw, dummy in self.walk(CREATE[kind], params):
            if raw.get("title") == title and str(raw.get("spaceId")) == str(space_id):
                return raw
        return None

    def sub_list(self, kind, item_id, part):
        return [raw for raw, dummy in self.walk(V2 + ITEMS[kind] % quote(str(item_id), safe="") + "/" + part)]

    def create(self, kind, space_id, title, storage, parent_id=None):
        payload = {"spaceId": space_id, "status": "current", "title": title,
                   "body": {"representation": "storage", "value": storage}}
        if parent_id is not None:
            payload["parentId"] = parent_id
        return self.send("POST", CREATE[kind], json=payload)

    def update(self, kind, item_id, title, storage, number, message):
        payload = {"id": str(item_id), "status": "current", "title": title,
                   "body": {"representation": "storage", "value": storage},
                   "version": {"number": number, "message": message}}
        return self.send("PUT", V2 + ITEMS[kind] % quote(str(item_id), safe=""), json=payload)

    def add_labels(self, item_id, labels):
        return self.send("POST", V1_LABELS % quote(str(item_id), safe=""), json=labels)

    def upload(self, item_id, body, attachment_id=None):
        """A multipart ``body`` (an object with ``content_type``, re-iterable) as a new attachment, or as a new
        version of ``attachment_id``."""
        headers = dict(NO_CHECK, **{"Content-Type": body.content_type})
        if attachment_id is None:
            return self.send("POST", V1_ATTACH % quote(str(item_id), safe=""), data=body, headers=headers)
        return self.send("POST", V1_ATTACH_DATA % (quote(str(item_id), safe=""), quote(str(attachment_id), safe="")),
                         data=body, headers=headers)
