# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Cloud REST API v2 content (issue 24): pages, blog posts, their versions, labels, properties, comments
and attachments, and the attachments' bytes through the media host, over a site of ``sitegen.py``.

Sources and markers: ``docs/emulator_evidence.md``, "REST API v2 content for confluence_export (issue 24)".

Each Cloud site answers at ``/wiki`` (the default site) or ``/sites/<cloudName>/wiki`` (as ``confluence_rest.py``):

* ``GET <wiki>/api/v2/pages`` (``space-id``, repeated or comma-separated), ``<wiki>/api/v2/spaces/{id}/pages``
  (``depth`` all|root), ``<wiki>/api/v2/blogposts``, ``<wiki>/api/v2/spaces/{id}/blogposts``: ``status`` (pages:
  current, archived, trashed, deleted; default current and archived; blog posts default current), ``title``,
  ``sort`` (id, -id, created-date, -created-date, modified-date, -modified-date, title, -title; default id),
  ``body-format`` (storage, atlas_doc_format: the storage body in both), ``limit`` (1..250, 25), ``cursor``.
* ``GET <wiki>/api/v2/pages/{id}`` and ``.../blogposts/{id}``: ``body-format``, ``version`` (an older one),
  ``status`` (a trashed item only when asked for), and ``include-labels``, ``include-properties``,
  ``include-versions`` (``true``): the first 50 of each sub-resource in the item, as ``{"results", "meta":
  {"hasMore", "cursor"}, "_links": {"self"}}``; ``cursor`` continues the sub-resource's own list.
* ``GET <wiki>/api/v2/{pages|blogposts}/{id}/{versions|labels|properties|footer-comments|inline-comments|attachments}``
  and ``GET <wiki>/api/v2/attachments/{id}``; comments take ``body-format``, attachments ``status``, ``filename``,
  ``mediaType``.
* ``GET <wiki>/download/attachments/{contentId}/{filename}?version=N`` (the attachments' ``downloadLink``): 302 to a
  signed link on the media host (ranges, ``media.py``); Basic credentials required.

Lists answer ``{"results": [...], "_links": {"base", "next"}}`` with ``Link: <next>; rel="next"`` while more follow;
the cursor is opaque (a keyset: changes between two pages neither repeat nor skip an item). Unknown ids: 404
``{"errors": [{"status": 404, "code": "NOT_FOUND", ...}]}``. Auth as the other Cloud endpoints: wrong credentials 401;
none: the anonymous user, who sees nothing (empty lists, 404 for items).

Rate limits and 503 storms: ``ratelimit.py``. Control API: ``/_emulator/rest_v2/...`` (see :meth:`control_routes`).
Without a generated site, a site's content is its spaces in ``content.py`` with their page and blog post counts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
import time

try:
    from urllib.parse import quote, unquote, urlencode
except ImportError:  # pragma: no cover
    from urllib import quote, unquote, urlencode  # type: ignore

from aiohttp import web

from atlassian_emulator import sitegen
from atlassian_emulator.confluence_rest import PREFIX, V2_LIMIT, ConfluenceRestApi, Refusal, _int, _multi, _tiny
from atlassian_emulator.content import account_id
from atlassian_emulator.ratelimit import DEFAULT_MATCH, RateLimiter

PAGE_STATUSES = ("current", "archived", "trashed", "deleted")
SORTS = ("id", "-id", "created-date", "-created-date", "modified-date", "-modified-date", "title", "-title")
BODY_FORMATS = ("storage", "atlas_doc_format")
SUBRESOURCES = ("versions", "labels", "properties", "footer-comments", "inline-comments", "attachments")
# What GET pages/{id} and blogposts/{id} include when asked (include-<name>=true), and how many of each at most.
INCLUDES = ("labels", "properties", "versions")
INCLUDE_LIMIT = 50
_FILE = re.compile(r"^v2att-(\d+)-(\d+)$")
# The v1 content resources the write side answers (labels, attachments), logged with the v2 requests.
V1_CONTENT = r"^/(?:sites/[^/]+/)?wiki/rest/api/content/"
DUPLICATE_TITLE = "A page with this title already exists: A page already exists with the same TITLE in this space"
SAME_FILE = "Cannot add a new attachment with same file name as an existing attachment: %s"
MAX_UPLOAD = 64 * 1024 * 1024


def _cursor(value):
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def _uncursor(text):
    try:
        data = json.loads(base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode()).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _not_found():
    return Refusal(404, {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": None}]})


def _slug(title):
    return quote(title.replace(" ", "+"), safe="+")


class RestV2Api(ConfluenceRestApi):
    """The v2 content resources; registered after ``ConfluenceRestApi`` (which answers ``/api/v2/spaces``)."""

    name = "rest_v2"

    def __init__(self, emulator):
        self.models = {}
        self.requests = []
        self.limiter = RateLimiter(emulator)
        ConfluenceRestApi.__init__(self, emulator)

    def reset(self):
        self.models = {}
        self.requests = []
        self.limiter.reset()

    def state(self):
        return {"rest_v2": {"requests": list(self.requests), "rate": self.limiter.state(),
                            "generated": ["%s:%s" % ref for ref in self.models]}}

    # ------------------------------------------------------------ the model
    def admin(self):
        return account_id(self.store.admin_email())

    def model(self, ref):
        """The site's content: the generated one, else one made from the content store's spaces (not kept)."""
        found = self.models.get(ref)
        if found is not None:
            return found
        return sitegen.GeneratedSite(self.store.spaces(ref), {"attachments": 0, "max_versions": 1}, self.admin())

    def adopt(self, ref):
        """The site's model, kept from now on (so that changes to it last)."""
        if ref not in self.models:
            self.models[ref] = self.model(ref)
        return self.models[ref]

    def sync(self, ref):
        """The content store (the space list, CQL counts) follows the model's current pages and blog posts."""
        model = self.models[ref]
        spaces = []
        for index, space in enumerate(model.spaces):
            entry = dict((k, space[k]) for k in ("id", "key", "name") if k in space)
            entry.update({"type": space.get("type", "global"), "status": space.get("status", "current")})
            entry.update(model.space_counts(index))
            spaces.append(entry)
        self.store.replace(ref, spaces)

    def media_file(self, file_id):
        match = _FILE.match(file_id)
        if not match:
            return None
        for model in self.models.values():
            blob = model.blob(int(match.group(1)), int(match.group(2)))
            if blob is not None:
                blob.media_type = model.attachment("att%s" % match.group(1))["mediaType"]
                return blob
        return None

    # ------------------------------------------------------------- serving
    def site_middlewares(self):
        return [self._log_middleware(), self.limiter.middleware()]

    def _log_middleware(self):
        @web.middleware
        async def log(request, handler):
            if request.path.startswith("/_emulator") or not (re.search(DEFAULT_MATCH, request.path) or
                                                             re.search(V1_CONTENT, request.path)):
                return await handler(request)
            entry = {"method": request.method, "path": request.path, "query": request.query_string, "status": None,
                     "time": self.em.now()}
            self.requests.append(entry)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                entry["status"] = exc.status
                raise
            entry["status"] = response.status
            return response
        return log

    def routes(self):
        routes = web.RouteTableDef()
        v2 = PREFIX + "api/v2/"
        routes.get(v2 + "spaces/{id}")(self._endpoint(self.h_space, v2=True))
        for kind, plural in (("page", "pages"), ("blogpost", "blogposts")):
            routes.get(v2 + plural)(self._endpoint(self._lister(kind, False), v2=True))
            routes.get(v2 + "spaces/{id}/" + plural)(self._endpoint(self._lister(kind, True), v2=True))
            routes.get(v2 + plural + "/{id}")(self._endpoint(self._getter(kind), v2=True))
            routes.get(v2 + plural + "/{id}/{sub}")(self._endpoint(self._sub(kind), v2=True))
        routes.get(v2 + "attachments/{id}")(self._endpoint(self.h_attachment, v2=True))
        # The write side (restores by confluence_import): v2 pages and blog posts, v1 labels and attachments.
        for kind, plural in (("page", "pages"), ("blogpost", "blogposts")):
            routes.post(v2 + plural)(self._writer(self._creator(kind)))
            routes.put(v2 + plural + "/{id}")(self._writer(self._updater(kind)))
        v1 = PREFIX + "rest/api/content/{id}/"
        routes.post(v1 + "label")(self._writer(self.w_labels))
        routes.post(v1 + "child/attachment")(self._writer(self._uploader(False), multipart=True))
        routes.put(v1 + "child/attachment")(self._writer(self._uploader(True), multipart=True))
        routes.post(v1 + "child/attachment/{att}/data")(self._writer(self.w_attachment_data, multipart=True))
        routes.post("/_emulator/rest_v2/space")(self.c_space)
        # aiohttp looks routes up by their longest static prefix first: without its own, /wiki/download/attachments/
        # would go to the backup manager's /wiki/download/{name:.+} (obm.py).
        routes.get("/wiki/download/attachments/{cid}/{name}")(self.h_download)
        routes.get(PREFIX + "download/attachments/{cid}/{name}")(self.h_download)
        routes.get("/_emulator/rest_v2/totals")(self.c_totals)
        routes.get("/_emulator/rest_v2/requests")(self.c_requests)
        routes.get("/_emulator/rest_v2/attachment/{id}")(self.c_attachment)
        routes.post("/_emulator/rest_v2/site")(self.c_site)
        routes.post("/_emulator/rest_v2/change")(self.c_change)
        routes.post("/_emulator/rest_v2/storm")(self.c_storm)
        return routes

    # --------------------------------------------------------- pagination
    def _limit(self, query):
        try:
            return _int(query, "limit", V2_LIMIT[0], 1, V2_LIMIT[1])
        except ValueError as exc:
            raise self._v2_error(str(exc))

    def _page(self, request, site, keyed, limit, results_of):
        """One page of ``keyed`` (``[(sort key, id)]`` in order) after the request's cursor, with its links."""
        position = 0
        if request.query.get("cursor"):
            cursor = _uncursor(request.query["cursor"])
            if cursor is None or not isinstance(cursor.get("o"), int):
                raise self._v2_error("The cursor is not valid")
            after = (cursor.get("k"), cursor.get("i"))
            position = next((n for n, item in enumerate(keyed) if _beyond(item, after, cursor.get("d"))),
                            len(keyed))
        chunk = keyed[position:position + limit]
        more = position + limit < len(keyed)
        return self._answer(request, site, results_of([i for _k, i in chunk]),
                            {"o": position + len(chunk), "k": chunk[-1][0], "i": chunk[-1][1]} if more else None)

    def _answer(self, request, site, results, cursor, descending=False):
        links = {"base": "%s%s" % (request.url.origin(), site.root)}
        headers = {}
        if cursor is not None:
            cursor["d"] = bool(descending or str(request.query.get("sort", "")).startswith("-"))
            params = [(k, v) for k, v in request.query.items() if k != "cursor"]
            params.append(("cursor", _cursor(cursor)))
            links["next"] = "%s?%s" % (request.path, urlencode(params))
            headers["Link"] = '<%s>; rel="next"' % links["next"]
        return {"results": results, "_links": links}, headers

    def _list(self, request, site, items, limit):
        """A short list (an item's sub-resources) paged by position."""
        start = 0
        if request.query.get("cursor"):
            cursor = _uncursor(request.query["cursor"])
            if cursor is None or not isinstance(cursor.get("o"), int) or cursor["o"] < 0:
                raise self._v2_error("The cursor is not valid")
            start = cursor["o"]
        chunk = items[start:start + limit]
        more = start + limit < len(items)
        return self._answer(request, site, chunk, {"o": start + limit} if more else None)

    # ------------------------------------------------------------- content
    def _space_index(self, model, raw):
        try:
            return model.by_space_id.get(int(raw))
        except (TypeError, ValueError):
            raise self._v2_error("id must be a number")

    def h_space(self, request, site, user, began):
        model = self.model(site.ref)
        index = self._space_index(model, request.match_info["id"])
        if index is None or user is None:
            raise _not_found()
        space = self.store.spaces(site.ref)
        found = next((s for s in space if s["id"] == model.spaces[index]["id"]), model.spaces[index])
        home = model.content_id("page", index, 0) if model.count(index, "page") else None
        return {"id": str(found["id"]), "key": found["key"], "name": found["name"],
                "type": found.get("type", "global"), "status": found.get("status", "current"),
                "authorId": self.admin(), "createdAt": sitegen.iso(sitegen.EPOCH),
                "homepageId": str(home) if home else None, "currentActiveAlias": found["key"],
                "_links": {"webui": "/spaces/%s" % found["key"], "base": "%s%s" % (request.url.origin(), site.root)}
                }, {}

    def _statuses(self, query, kind):
        wanted = _multi(query, "status") or (["current", "archived"] if kind == "page" else ["current"])
        for status in wanted:
            if status not in PAGE_STATUSES:
                raise self._v2_error("Provided value {%s} for 'status' is not the correct type. Expected type is "
                                     "ContentStatus" % status)
        return set(wanted)

    def _body_format(self, query):
        fmt = query.get("body-format")
        if fmt is not None and fmt not in BODY_FORMATS:
            raise self._v2_error("Provided value {%s} for 'body-format' is not the correct type. Expected type is "
                                 "PrimaryBodyRepresentation" % fmt)
        return fmt

    def _lister(self, kind, in_space):
        def handler(request, site, user, began):
            query = request.query
            limit = self._limit(query)
            statuses = self._statuses(query, kind)
            fmt = self._body_format(query)
            order = query.get("sort") or "id"
            if order not in SORTS:
                raise self._v2_error("Provided value {%s} for 'sort' is not the correct type. Expected type is "
                                     "PageSortOrder" % order)
            model = self.model(site.ref)
            if in_space:
                index = self._space_index(model, request.match_info["id"])
                if index is None or user is None:
                    raise _not_found()
                spaces = [index]
            else:
                ids = _multi(query, "space-id")
                spaces = None
                if ids:
                    spaces = [i for i in (self._space_index(model, raw) for raw in ids) if i is not None]
            if user is None:
                spaces = []
            title = query.get("title")
            root_only = in_space and query.get("depth") == "root"

            def keep(content_id):
                return (model.item_status(content_id) in statuses and (title is None or model.title(content_id) == title)
                        and (not root_only or model.parent(content_id) is None))

            def results_of(ids):
                return [self.content_json(model, kind, i, fmt, request, site) for i in ids]

            if order == "id" and title is None and not root_only:
                return self._by_id(request, site, model, kind, spaces, keep, limit, results_of)
            keyed = [(self._sort_key(model, order, i), i) for i in model.iter_ids(kind, spaces) if keep(i)]
            keyed.sort(reverse=order.startswith("-"))
            return self._page(request, site, keyed, limit, results_of)
        return handler

    def _by_id(self, request, site, model, kind, spaces, keep, limit, results_of):
        """Ascending ids, read lazily from the cursor on (10,000 pages cost what one page of them costs)."""
        after = None
        if request.query.get("cursor"):
            cursor = _uncursor(request.query["cursor"])
            if cursor is None or not isinstance(cursor.get("i"), int):
                raise self._v2_error("The cursor is not valid")
            after = cursor["i"]
        found = []
        for content_id in model.iter_ids(kind, spaces):
            if after is not None and content_id <= after:
                continue
            if keep(content_id):
                found.append(content_id)
                if len(found) > limit:
                    break
        more = len(found) > limit
        found = found[:limit]
        return self._answer(request, site, results_of(found), {"o": 0, "k": found[-1], "i": found[-1]} if more
                            else None)

    @staticmethod
    def _sort_key(model, order, content_id):
        field = order.lstrip("-")
        if field == "created-date":
            return model.created(content_id)
        if field == "modified-date":
            return model.versions(content_id)[-1][1]
        if field == "title":
            return model.title(content_id).lower()
        return content_id

    def _item(self, site, user, kind, raw, statuses=None):
        model = self.model(site.ref)
        found = model.parse(raw) if user is not None else None
        if found is None or found[0] != kind:
            raise _not_found()
        content_id = int(raw)
        if statuses is not None and model.item_status(content_id) not in statuses:
            raise _not_found()
        return model, content_id

    def _getter(self, kind):
        def handler(request, site, user, began):
            query = request.query
            asked = set(_multi(query, "status"))
            model, content_id = self._item(site, user, kind, request.match_info["id"],
                                           (asked or {"current", "archived"}) | {"draft"})
            fmt = self._body_format(query)
            version = None
            if query.get("version"):
                try:
                    version = int(query["version"])
                except ValueError:
                    raise self._v2_error("version must be a number")
                if not 1 <= version <= len(model.versions(content_id)):
                    raise _not_found()
            item = self.content_json(model, kind, content_id, fmt, request, site, version=version)
            for name in INCLUDES:
                if str(query.get("include-" + name, "")).lower() == "true":
                    everything = getattr(self, "_" + name)(model, kind, content_id, request, site)
                    more = len(everything) > INCLUDE_LIMIT
                    item[name] = {"results": everything[:INCLUDE_LIMIT],
                                  "meta": {"hasMore": more,
                                           "cursor": _cursor({"o": INCLUDE_LIMIT}) if more else None},
                                  "_links": {"self": "%s/%s" % (request.path, name)}}
            item["_links"]["base"] = "%s%s" % (request.url.origin(), site.root)
            return item, {}
        return handler

    def content_json(self, model, kind, content_id, fmt, request, site, version=None):
        versions = model.versions(content_id)
        number, when = versions[(version or len(versions)) - 1]
        title = model.title(content_id)
        _kind, space_index, index = model.parse(content_id)
        key = model.spaces[space_index]["key"]
        item = {"id": str(content_id), "status": model.item_status(content_id), "title": title,
                "spaceId": str(model.spaces[space_index]["id"])}
        if kind == "page":
            parent = model.parent(content_id)
            item.update({"parentId": str(parent) if parent else None, "parentType": "page" if parent else None,
                         "position": index, "authorId": self.admin(), "ownerId": self.admin(),
                         "lastOwnerId": None})
            webui = "/spaces/%s/pages/%s/%s" % (key, content_id, _slug(title))
        else:
            item["authorId"] = self.admin()
            day = time.strftime("%Y/%m/%d", time.gmtime(model.created(content_id)))
            webui = "/spaces/%s/blog/%s/%s/%s" % (key, day, content_id, _slug(title))
        item["createdAt"] = sitegen.iso(model.created(content_id))
        item["version"] = model.version_object(when, number, model.message(content_id, number))
        item["body"] = {}
        if fmt:
            item["body"] = {fmt: {"representation": fmt, "value": model.body(content_id, number)}}
        item["_links"] = {"webui": webui, "editui": "/pages/resumedraft.action?draftId=%s" % content_id,
                          "tinyui": "/x/%s" % _tiny(content_id)}
        return item

    # -------------------------------------------------------- sub-resources
    def _sub(self, kind):
        def handler(request, site, user, began):
            sub = request.match_info["sub"]
            if sub not in SUBRESOURCES:
                raise web.HTTPNotFound()
            model, content_id = self._item(site, user, kind, request.match_info["id"])
            limit = self._limit(request.query)
            items = getattr(self, "_" + sub.replace("-", "_"))(model, kind, content_id, request, site)
            return self._list(request, site, items, limit)
        return handler

    def _versions(self, model, kind, content_id, request, site):
        order = request.query.get("sort") or "-modified-date"
        if order not in ("modified-date", "-modified-date"):
            raise self._v2_error("Provided value {%s} for 'sort' is not the correct type. Expected type is "
                                 "VersionSortOrder" % order)
        out = []
        for number, when in model.versions(content_id):
            entry = model.version_object(when, number, model.message(content_id, number))
            entry["page" if kind == "page" else "blogpost"] = {"id": str(content_id), "title": model.title(content_id)}
            out.append(entry)
        return out if order == "modified-date" else out[::-1]

    def _labels(self, model, kind, content_id, request, site):
        return model.labels(content_id)

    def _properties(self, model, kind, content_id, request, site):
        return model.properties(content_id)

    def _footer_comments(self, model, kind, content_id, request, site):
        return self._comments(model, kind, content_id, request, inline=False)

    def _inline_comments(self, model, kind, content_id, request, site):
        return self._comments(model, kind, content_id, request, inline=True)

    def _comments(self, model, kind, content_id, request, inline):
        fmt = self._body_format(request.query)
        title = model.title(content_id)
        key = model.spaces[model.parse(content_id)[1]]["key"]
        out = []
        for comment in model.comments(content_id, inline):
            item = {"id": str(comment["id"]), "status": "current", "title": "Re: %s" % title,
                    "pageId" if kind == "page" else "blogPostId": str(content_id),
                    "version": model.version_object(comment["created"], 1)}
            if inline:
                selection = sitegen.WORDS[comment["n"] % len(sitegen.WORDS)]
                item["resolutionStatus"] = "open"
                item["properties"] = {"inlineMarkerRef": "emulator-marker-%s" % comment["id"],
                                      "inlineOriginalSelection": selection}
            value = "<p>%s comment %d on %s.</p>" % ("Inline" if inline else "Footer", comment["n"], title)
            item["body"] = {fmt: {"representation": fmt, "value": value}} if fmt else {}
            item["_links"] = {"webui": "/spaces/%s/pages/%s/%s?focusedCommentId=%s" % (
                key, content_id, _slug(title), comment["id"])}
            out.append(item)
        return out

    def _attachments(self, model, kind, content_id, request, site):
        query = request.query
        statuses = set(_multi(query, "status") or ["current"])
        out = []
        for att in model.attachments(content_id, with_trashed="trashed" in statuses):
            if att["status"] not in statuses:
                continue
            if query.get("filename") and att["title"] != query["filename"]:
                continue
            if query.get("mediaType") and att["mediaType"] != query["mediaType"]:
                continue
            out.append(self.attachment_json(model, kind, att))
        return out

    def attachment_json(self, model, kind, att, version=None):
        versions = att["versions"]
        number, when = versions[(version or len(versions)) - 1]
        container = att["container"]
        name = quote(att["title"])
        download = "/download/attachments/%s/%s?version=%d&modificationDate=%d&cacheVersion=1&api=v2" % (
            container, name, number, int(when * 1000))
        webui = "/pages/viewpageattachments.action?pageId=%s&preview=%s" % (container, quote("/%s/%s" % (
            container, att["title"]), safe=""))
        item = {"id": "att%d" % att["number"], "status": att["status"], "title": att["title"],
                "createdAt": sitegen.iso(versions[0][1]),
                "pageId" if kind == "page" else "blogPostId": str(container),
                "mediaType": att["mediaType"], "mediaTypeDescription": att["mediaTypeDescription"],
                "comment": att.get("comment", ""),
                "fileId": model.file_id(att["number"], number),
                "fileSize": model.blob(att["number"], number).size,
                "webuiLink": webui, "downloadLink": download,
                "version": model.version_object(when, number),
                "_links": {"webui": webui, "download": download}}
        return item

    def h_attachment(self, request, site, user, began):
        model = self.model(site.ref)
        att = model.attachment(request.match_info["id"]) if user is not None else None
        if att is None:
            raise _not_found()
        kind = model.parse(att["container"])[0]
        item = self.attachment_json(model, kind, att)
        item["_links"]["base"] = "%s%s" % (request.url.origin(), site.root)
        return item, {}

    async def h_download(self, request):
        """The attachment's bytes: 302 to a signed media link (no credentials there), as Confluence Cloud does."""
        site = self.site(request.match_info.get("prefix", "wiki/"), v2=True)
        if site is None:
            raise web.HTTPNotFound()
        user, refused = self._user(request, site)
        if refused or user is None:
            return self.em.unauthorized()
        model = self.model(site.ref)
        name = unquote(request.match_info["name"])
        try:
            container = int(request.match_info["cid"])
        except ValueError:
            raise web.HTTPNotFound()
        if model.parse(container) is None:
            raise web.HTTPNotFound()
        att = next((a for a in model.attachments(container) if a["title"] == name), None)
        if att is None:
            raise web.HTTPNotFound()
        try:
            version = int(request.query.get("version") or len(att["versions"]))
        except ValueError:
            version = len(att["versions"])
        if not 1 <= version <= len(att["versions"]):
            raise web.HTTPNotFound()
        location = self.em.sign_media_link("v2att-%d-%d" % (att["number"], version), quote(name))
        return web.Response(status=302, headers={"Location": location})

    # ------------------------------------------------------------ the write side
    def _writer(self, handler, multipart=False):
        """An endpoint that changes the site: the body read (JSON, or a multipart form), then
        ``handler(request, site, model, payload)`` -> (status, body); the content store follows the model."""
        async def endpoint(request):
            site = self.site(request.match_info.get("prefix", "wiki/"), v2=True)
            if site is None:
                raise web.HTTPNotFound()
            entry = {"site": site.name, "method": request.method, "path": request.path,
                     "query": request.query_string, "status": None, "user": None}
            self.store.requests.append(entry)
            user, refused = self._user(request, site)
            entry["user"] = user
            if refused or user is None:
                response = self.em.unauthorized()
                entry["status"] = response.status
                return response
            try:
                if multipart:
                    if request.headers.get("X-Atlassian-Token", "").lower() not in ("no-check", "nocheck"):
                        raise Refusal(403, "XSRF check failed")
                    payload = await self._form(request)
                else:
                    try:
                        payload = await request.json()
                    except ValueError:
                        raise self._v2_error("The request body is not JSON")
                status, body = handler(request, site, self.adopt(site.ref), payload)
                self.sync(site.ref)
                response = self.em.json_response(body, status=status)
            except Refusal as refusal:
                if isinstance(refusal.body, str):
                    response = web.Response(status=refusal.status, text=refusal.body)
                else:
                    response = self.em.json_response(refusal.body, status=refusal.status)
            except sitegen.SiteError as exc:
                response = self.em.json_response(self._v1_error(site, 400, str(exc)).body, status=400)
            entry["status"] = response.status
            return response
        return endpoint

    async def _form(self, request):
        """The multipart form's fields: ``file`` as (file name, media type, bytes), the others as text."""
        form = {}
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                return form
            if part.filename is not None:
                data = await part.read(decode=False)
                if len(data) > MAX_UPLOAD:
                    raise Refusal(413, {"statusCode": 413, "message": "The file is too large"})
                form[part.name] = (part.filename, part.headers.get("Content-Type") or "application/octet-stream",
                                   bytes(data))
            else:
                form[part.name] = await part.text()

    def _target(self, site, model, raw, kind=None):
        """The content id of a page or blog post (``kind``, or either) the site holds, else a v2 404."""
        found = model.parse(raw)
        if found is None or (kind is not None and found[0] != kind):
            raise _not_found()
        return int(raw)

    @staticmethod
    def _storage(payload):
        body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
        if body.get("representation") not in (None, "storage") or not isinstance(body.get("value", ""), str):
            raise RestV2Api._v2_error("body.representation must be storage (the emulator's only one)")
        return body.get("value", "")

    def _creator(self, kind):
        def handler(request, site, model, payload):
            title = payload.get("title")
            if not isinstance(title, str) or not title.strip():
                raise self._v2_error("Title cannot be empty")
            if payload.get("status", "current") != "current":
                raise self._v2_error("The emulator creates current content only")
            space = self._space_index(model, payload.get("spaceId"))
            if space is None:
                raise _not_found()
            body = self._storage(payload)
            parent = None
            if kind == "page":
                if payload.get("parentId") is not None:
                    parent = self._target(site, model, payload["parentId"], "page")
                    if model.parse(parent)[1] != space:
                        raise self._v2_error("The parent page must be in the same space")
                elif request.query.get("root-level") != "true" and model.count(space, "page"):
                    parent = model.content_id("page", space, 0)
                if model.find_title("page", space, title) is not None:
                    raise Refusal(400, {"errors": [{"status": 400, "code": "BAD_REQUEST", "title": DUPLICATE_TITLE,
                                                    "detail": None}]})
            content_id = model.add(kind, space, self.em.now(), parent, title, body, api=True)
            item = self.content_json(model, kind, content_id, "storage", request, site)
            item["_links"]["base"] = "%s%s" % (request.url.origin(), site.root)
            return 200, item
        return handler

    def _updater(self, kind):
        def handler(request, site, model, payload):
            content_id = self._target(site, model, request.match_info["id"], kind)
            if str(payload.get("id")) != str(content_id):
                raise self._v2_error("The id in the body must be the page's id")
            title = payload.get("title")
            if not isinstance(title, str) or not title.strip():
                raise self._v2_error("Title cannot be empty")
            version = payload.get("version") if isinstance(payload.get("version"), dict) else {}
            current = model.versions(content_id)[-1][0]
            if version.get("number") != current + 1:
                raise Refusal(409, {"errors": [{
                    "status": 409, "code": "CONFLICT", "detail": None,
                    "title": "Version must be incremented on update. Current version is: %d" % current}]})
            space = model.parse(content_id)[1]
            other = model.find_title(kind, space, title) if kind == "page" else None
            if other is not None and other != content_id:
                raise Refusal(400, {"errors": [{"status": 400, "code": "BAD_REQUEST", "title": DUPLICATE_TITLE,
                                                "detail": None}]})
            model.write(content_id, self.em.now(), title, self._storage(payload), version.get("message") or "")
            item = self.content_json(model, kind, content_id, "storage", request, site)
            item["_links"]["base"] = "%s%s" % (request.url.origin(), site.root)
            return 200, item
        return handler

    def w_labels(self, request, site, model, payload):
        content_id = self._v1_target(site, model, request.match_info["id"])
        labels = payload if isinstance(payload, list) else [payload]
        for label in labels:
            if not isinstance(label, dict) or not isinstance(label.get("name"), str) or not label["name"]:
                raise self._v1_error(site, 400, "A label needs a name")
            model.add_label(content_id, label.get("prefix") or "global", label["name"].lower())
        results = [{"prefix": lab["prefix"], "name": lab["name"], "id": lab["id"], "label": lab["name"]}
                   for lab in model.labels(content_id)]
        return 200, {"results": results, "start": 0, "limit": 200, "size": len(results), "_links": {}}

    def _v1_target(self, site, model, raw):
        found = model.parse(raw)
        if found is None:
            raise self._v1_error(site, 404, "No content found with id: ContentId{id=%s}" % raw)
        return int(raw)

    def _v1_attachment(self, request, site, model, att):
        kind = model.parse(att["container"])[0]
        item = self.attachment_json(model, kind, att)
        base = "%s%s" % (request.url.origin(), site.root)
        return {"id": item["id"], "type": "attachment", "status": item["status"], "title": item["title"],
                "version": item["version"], "container": {"id": str(att["container"]), "type": kind},
                "metadata": {"mediaType": item["mediaType"], "comment": item["comment"]},
                "extensions": {"mediaType": item["mediaType"], "fileSize": item["fileSize"],
                               "comment": item["comment"], "fileId": item["fileId"]},
                "_links": {"webui": item["webuiLink"], "download": item["downloadLink"],
                           "self": "%s/rest/api/content/%s" % (base, item["id"])}}

    def _uploader(self, upsert):
        def handler(request, site, model, form):
            content_id = self._v1_target(site, model, request.match_info["id"])
            if "file" not in form or not isinstance(form["file"], tuple):
                raise self._v1_error(site, 400, "At least one attachment file must be included")
            name, media, data = form["file"]
            comment = form.get("comment") if isinstance(form.get("comment"), str) else ""
            same = next((a for a in model.attachments(content_id) if a["title"] == name), None)
            if same is not None and not upsert:
                raise self._v1_error(site, 400, "com.atlassian.confluence.api.service.exceptions.BadRequestException: "
                                     + SAME_FILE % name)
            if same is not None:
                model.update_attachment("att%d" % same["number"], self.em.now(), data, comment)
                att_id = "att%d" % same["number"]
            else:
                att_id = model.upload_attachment(content_id, self.em.now(), name, media, data, comment)
            result = self._v1_attachment(request, site, model, model.attachment(att_id))
            return 200, {"results": [result], "size": 1, "_links": {}}
        return handler

    def w_attachment_data(self, request, site, model, form):
        content_id = self._v1_target(site, model, request.match_info["id"])
        att = model.attachment(request.match_info["att"])
        if att is None or att["container"] != content_id:
            raise self._v1_error(site, 404, "No attachment found with id: %s" % request.match_info["att"])
        if "file" not in form or not isinstance(form["file"], tuple):
            raise self._v1_error(site, 400, "At least one attachment file must be included")
        comment = form.get("comment") if isinstance(form.get("comment"), str) else None
        model.update_attachment(request.match_info["att"], self.em.now(), form["file"][2], comment)
        return 200, self._v1_attachment(request, site, model, model.attachment(request.match_info["att"]))

    # ---------------------------------------------------------- test control
    def _control_ref(self, body):
        return self.store.site_ref({"cloud": body.get("cloud") or self.em.config.get("cloud_id")})

    async def c_site(self, request):
        """Generate a site: the options of ``sitegen.DEFAULTS`` and ``cloud`` (the site; the default one)."""
        try:
            body = await request.json()
            body = body if isinstance(body, dict) else {}
            ref = self._control_ref(body)
            self.models[ref] = sitegen.generate(body, self.admin())
            self.sync(ref)
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(dict(self._summary(ref), ok=True))

    def _summary(self, ref):
        model = self.model(ref)
        spaces = []
        for index, space in enumerate(model.spaces):
            home = model.content_id("page", index, 0) if model.count(index, "page") else None
            spaces.append({"id": str(space["id"]), "key": space["key"], "name": space["name"],
                           "pages": model.count(index, "page"), "blogposts": model.count(index, "blogpost"),
                           "homepageId": str(home) if home else None})
        return {"spaces": spaces, "totals": model.totals(), "options": model.opt}

    async def c_totals(self, request):
        try:
            ref = self._control_ref(dict(request.query))
        except ValueError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(dict(self._summary(ref), ok=True))

    async def c_requests(self, request):
        since = int(request.query.get("since") or 0)
        return web.json_response({"requests": self.requests[since:], "next": len(self.requests),
                                  "rate": self.limiter.state()})

    async def c_attachment(self, request):
        """An attachment's size and sha256 (of a version; the latest by default), to check a download against."""
        try:
            ref = self._control_ref(dict(request.query))
        except ValueError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        model = self.model(ref)
        att = model.attachment(request.match_info["id"])
        if att is None:
            return web.json_response({"ok": False, "error": "no such attachment"}, status=404)
        version = int(request.query.get("version") or len(att["versions"]))
        blob = model.blob(att["number"], version)
        return web.json_response({"ok": True, "id": request.match_info["id"], "version": version, "size": blob.size,
                                  "sha256": blob.sha256(), "title": att["title"], "container": str(att["container"])})

    async def c_space(self, request):
        """A new, empty space (``key``, ``name``; ``cloud``) with its home page, as a site admin creates one."""
        try:
            body = await request.json()
            body = body if isinstance(body, dict) else {}
            ref = self._control_ref(body)
            model = self.adopt(ref)
            key = str(body.get("key") or "")
            if not re.match(r"^[A-Z0-9]{1,255}$", key):
                raise ValueError("key must be letters and digits in upper case, not %r" % key)
            index = model.add_space(key, str(body.get("name") or key), self.em.now())
            self.sync(ref)
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        space = model.spaces[index]
        return web.json_response({"ok": True, "id": str(space["id"]), "key": key,
                                  "homepageId": str(model.content_id("page", index, 0))})

    async def c_storm(self, request):
        body = await request.json() if request.can_read_body else {}
        return web.json_response({"ok": True, "storm": self.limiter.set_storm(body if isinstance(body, dict) else {})})

    async def c_change(self, request):
        """Change the site between two exports (see the report of issue 24 / docs/emulator_evidence.md)."""
        try:
            body = await request.json()
            body = body if isinstance(body, dict) else {}
            ref = self._control_ref(body)
            done = self.change(self.adopt(ref), body)
            self.sync(ref)
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        if body.get("totals", True):
            done["totals"] = self.models[ref].totals()
        return web.json_response(dict(done, ok=True))

    def change(self, model, body):
        now = self.em.now()
        done = {"edited": {}, "added": [], "trashed": [], "purged": [], "restored": [], "attachments_added": [],
                "attachments_edited": {}, "attachments_trashed": [], "attachments_purged": []}
        edit = [int(i) for i in body.get("edit") or []]
        for kind, key in (("page", "edit_pages"), ("blogpost", "edit_blogposts")):
            wanted = int(body.get(key) or 0)
            if wanted:
                current = [i for i in model.iter_ids(kind) if model.item_status(i) == "current"]
                if wanted > len(current):
                    raise ValueError("%s: the site has only %d current items" % (key, len(current)))
                edit += [current[n * len(current) // wanted] for n in range(wanted)]
        for content_id in edit:
            done["edited"][str(content_id)] = model.edit(content_id, now)
        for kind, key in (("page", "add_pages"), ("blogpost", "add_blogposts")):
            for entry in body.get(key) or []:
                space = self._space_of(model, entry.get("space"))
                for n in range(int(entry.get("count", 1))):
                    title = entry.get("title")
                    if title and int(entry.get("count", 1)) > 1:
                        title = "%s %d" % (title, n + 1)
                    done["added"].append(str(model.add(kind, space, now, entry.get("parent"), title)))
        for name, method in (("trash", model.trash), ("purge", model.purge), ("restore", model.restore)):
            for content_id in body.get(name) or []:
                method(int(content_id))
                done[name + ("d" if name.endswith("e") else "ed")].append(str(content_id))
        for entry in body.get("add_attachments") or []:
            for _n in range(int(entry.get("count", 1))):
                size = entry.get("size", model.opt["attachment_size"])
                size = size[0] if isinstance(size, (list, tuple)) else size
                done["attachments_added"].append(model.add_attachment(int(entry["container"]), now, size))
        for att_id in body.get("edit_attachments") or []:
            done["attachments_edited"][att_id] = model.edit_attachment(att_id, now)
        for att_id in body.get("trash_attachments") or []:
            model.trash_attachment(att_id)
            done["attachments_trashed"].append(att_id)
        for att_id in body.get("purge_attachments") or []:
            model.purge_attachment(att_id)
            done["attachments_purged"].append(att_id)
        model.events.append(dict(done, time=now))
        return done

    @staticmethod
    def _space_of(model, name):
        for index, space in enumerate(model.spaces):
            if name is not None and str(name) in (space["key"], str(space["id"])):
                return index
        raise ValueError("no space %r on the site" % (name,))


def _beyond(item, after, descending):
    """Whether ``item`` (sort key, id) comes after the cursor's in the list's order."""
    key = (item[0], item[1])
    mark = (after[0], after[1])
    try:
        return key < mark if descending else key > mark
    except TypeError:
        return False
