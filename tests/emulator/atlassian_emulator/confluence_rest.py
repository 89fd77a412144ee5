# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence's REST endpoints that list spaces and count content, over the content of content.py.

Sources and markers ([V] a source shows it, [C] a third party reports it, [I] no source): ``docs/emulator_evidence.md``,
"Confluence content".

Where each site answers (the ``/sites/<cloudName>`` prefix is an emulator convenience, not a service fact):

* the default Cloud site (``cloud_id``): ``/wiki/...``, as ``https://<site>.atlassian.net/wiki/...``; every Cloud site
  of ``org_sites`` with CONFLUENCE among its products: ``/sites/<cloudName>/wiki/...`` (the default one too);
* every Data Center instance: ``<context>/rest/api/...`` (``dc_context_path``, ``dc_instances``).

Endpoints:

* Cloud ``GET <wiki>/api/v2/spaces`` (REST v2): spaces sorted by id (``sort``: id, -id, key, -key, name, -name);
  ``limit`` 1..250 (25); ``cursor`` (opaque, from the previous page); ``keys``, ``ids`` (repeated or comma-separated),
  ``type``, ``status``. The next page's relative URL in ``_links.next`` and in ``Link: <...>; rel="next"``. A bad
  value is 400 ``{"errors": [{"status", "code", "title", "detail"}]}`` [I: shape from a client of the v2 API].
* ``GET <wiki>/rest/api/search`` (Cloud, v1) and ``<context>/rest/api/search`` (Data Center): ``cql`` (cql.py),
  ``limit`` (25, at most 1000), ``start``, and on Cloud ``cursor`` from a ``next`` link; ``includeArchivedSpaces``
  (false: content of archived spaces is left out) and ``excludeCurrentSpaces``. Answers ``results`` (at most
  ``limit``), ``start``, ``limit``, ``size``, ``totalSize`` (every match), ``cqlQuery``, ``searchDuration`` and
  ``_links`` (``base``, ``context``, ``self``; ``next`` while more follow, ``prev`` after the first page).
  A query outside cql.py's subset is 400 "Could not parse cql". On Data Center a space key the instance does not
  hold answers as ``dc_cql_unknown_space`` says: ``empty`` (no match), ``400`` (9.3.1+, CONFSERVER-101465:
  "parameters should not be empty") or ``500`` (9.2).
* ``GET <context>/rest/api/space`` (Data Center; Cloud's deprecated v1 list at ``<wiki>/rest/api/space`` too):
  ``start``/``limit`` (25, at most 500), ``spaceKey`` (repeated), ``type``, ``status``; spaces by key; ``_links.next``
  while more follow.

Auth as each site does elsewhere: Cloud takes Basic e-mail:API token (``users``), Data Center Basic (``dc_users``) or a
PAT (``dc_pats``). Credentials it does not accept: 401 (``Emulator.unauthorized``). No credentials: the anonymous
user, who sees no space on these sites: 200 with nothing in it [C].

Before reading a site, the jobs that fill it are brought up to date: Data Center restores by the clock, organization
restores (org_backup.py) that have completed. Every request is logged in ``state()["content"]["requests"]``
(``site``, ``method``, ``path``, ``query``, ``status``, ``user``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
import time

try:
    from urllib.parse import quote, urlencode
except ImportError:  # pragma: no cover
    from urllib import quote, urlencode  # type: ignore

from aiohttp import web

from atlassian_emulator import cql
from atlassian_emulator.content import CLOUD_TYPES, CREATED, STATUSES, account_id, dc_context, store_of

PREFIX = "/{prefix:(?:[^/]+/)*}"
V2_LIMIT = (25, 250)
SEARCH_LIMIT = (25, 1000)
SPACE_LIMIT = (25, 500)
SORTS = ("id", "-id", "key", "-key", "name", "-name")
BAD_CQL = "com.atlassian.confluence.api.service.exceptions.BadRequestException: Could not parse cql : %s"
NO_CQL_DC = "com.atlassian.confluence.api.service.exceptions.BadRequestException: CQL query parameter is required " \
            "but was empty"
_SITES = re.compile(r"^sites/([^/]+)/wiki/$")


class Refusal(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, status)
        self.status, self.body = status, body


class Site(object):
    """The site a request reached: ``cloud`` or not, its content ref, its paths."""

    def __init__(self, kind, ref, name, root, cfg, instance=None):
        self.kind, self.ref, self.name, self.root, self.cfg, self.instance = kind, ref, name, root, cfg, instance

    @property
    def cloud(self):
        return self.kind == "cloud"


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _unb64(text):
    try:
        data = json.loads(base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode()).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _tiny(number):
    """A tiny link's code: the id's little-endian bytes in URL-safe base64 [I]."""
    raw = number.to_bytes(8, "little").rstrip(b"\0") or b"\0"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _slug(title):
    return quote(title.replace(" ", "+"), safe="+")


def _multi(query, name):
    return [v.strip() for raw in query.getall(name, []) for v in raw.split(",") if v.strip()]


def _int(query, name, default, low, high=None, clamp=False):
    """``query[name]`` as an int in ``[low, high]`` (clamped down to ``high`` with ``clamp``), else Refusal."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("%s must be a number" % name)
    if value < low or (high is not None and value > high and not clamp):
        raise ValueError("%s must be between %d and %s" % (name, low, high))
    return min(value, high) if high is not None else value


class ConfluenceRestApi(object):
    name = "confluence_rest"

    def __init__(self, emulator):
        self.em = emulator
        self.store = store_of(emulator)

    def reset(self):
        pass

    def prepare_state(self):
        pass

    def state(self):
        return {}

    # -------------------------------------------------------------- sites
    def _api(self, name):
        return next((api for api in self.em.apis if getattr(api, "name", None) == name), None)

    def site(self, prefix, v2=False):
        """The site of a request's path prefix (``wiki/``, ``sites/<name>/wiki/`` or a DC context), or None."""
        if not v2:
            datacenter = self._api("datacenter")
            if datacenter is not None:
                instance = datacenter.instance(prefix)
                if instance is not None:
                    context = dc_context(prefix)
                    return Site("dc", ("dc", context), "dc:/" + context, "/" + context if context else "",
                                instance.cfg, instance)
        if prefix == "wiki/":
            found = self.store.default_cloud_site()
        else:
            match = _SITES.match(prefix)
            found = self.store.cloud_site(match.group(1)) if match else None
        if found is None or "CONFLUENCE" not in [p.upper() for p in found.get("products") or ["CONFLUENCE"]]:
            return None
        return Site("cloud", ("cloud", found["cloudId"]), "cloud:%s" % found.get("cloudName"),
                    "/" + prefix.rstrip("/"), self.em.config)

    def _user(self, request, site):
        """(user or None for the anonymous user, refused: credentials given but not accepted)."""
        if site.cloud:
            if "Authorization" not in request.headers:
                return None, False
            user = self.em.check_basic_auth(request)
            return user, user is None
        user, kind = site.instance._auth(request)
        return user, kind is not None and user is None

    def _settle(self, site):
        """Bring the jobs that fill ``site`` up to now."""
        now = self.em.now()
        if site.cloud:
            org = self._api("org_backup")
            if org is not None and hasattr(org, "settle"):
                org.settle(now)
        else:
            site.instance.advance(now)

    # ------------------------------------------------------------- serving
    def _endpoint(self, handler, v2=False):
        async def endpoint(request):
            began = time.monotonic()
            site = self.site(request.match_info.get("prefix", ""), v2=v2)
            if site is None:
                raise web.HTTPNotFound()
            entry = {"site": site.name, "method": request.method, "path": request.path,
                     "query": request.query_string, "status": None, "user": None}
            self.store.requests.append(entry)
            user, refused = self._user(request, site)
            entry["user"] = user
            if refused:
                response = self.em.unauthorized()
            else:
                self._settle(site)
                try:
                    body, headers = handler(request, site, user, began)
                    response = self.em.json_response(body, headers=headers)
                except Refusal as refusal:
                    response = self.em.json_response(refusal.body, status=refusal.status)
            entry["status"] = response.status
            return response
        return endpoint

    def routes(self):
        routes = web.RouteTableDef()
        routes.get(PREFIX + "api/v2/spaces")(self._endpoint(self.h_v2_spaces, v2=True))
        routes.get(PREFIX + "rest/api/space")(self._endpoint(self.h_space_list))
        routes.get(PREFIX + "rest/api/search")(self._endpoint(self.h_search))
        return routes

    def _visible(self, site, user):
        return self.store.spaces(site.ref) if user is not None else []

    # ---------------------------------------------------------- v2 spaces
    @staticmethod
    def _v2_error(title):
        return Refusal(400, {"errors": [{"status": 400, "code": "INVALID_REQUEST_PARAMETER", "title": title,
                                         "detail": None}]})

    def h_v2_spaces(self, request, site, user, began):
        query = request.query
        try:
            limit = _int(query, "limit", V2_LIMIT[0], 1, V2_LIMIT[1])
        except ValueError as exc:
            raise self._v2_error(str(exc))
        kind, status = query.get("type"), query.get("status")
        if kind is not None and kind not in CLOUD_TYPES:
            raise self._v2_error("Provided value {%s} for 'type' is not the correct type. Expected type is SpaceType"
                                 % kind)
        if status is not None and status not in STATUSES:
            raise self._v2_error("Provided value {%s} for 'status' is not the correct type. Expected type is "
                                 "SpaceStatus" % status)
        order = query.get("sort") or "id"
        if order not in SORTS:
            raise self._v2_error("Provided value {%s} for 'sort' is not the correct type. Expected type is "
                                 "SpaceSortOrder" % order)
        keys, ids = set(_multi(query, "keys")), _multi(query, "ids")
        try:
            ids = set(int(i) for i in ids)
        except ValueError:
            raise self._v2_error("ids must be numbers")
        spaces = [s for s in self._visible(site, user) if (not keys or s["key"] in keys) and
                  (not ids or s["id"] in ids) and (kind is None or s["type"] == kind) and
                  (status is None or s["status"] == status)]
        field = order.lstrip("-")
        spaces.sort(key=lambda s: (s[field].lower() if isinstance(s[field], str) else s[field], s["id"]),
                    reverse=order.startswith("-"))
        offset = 0
        if query.get("cursor"):
            cursor = _unb64(query["cursor"])
            if cursor is None or not isinstance(cursor.get("after"), int) or cursor["after"] < 0:
                raise self._v2_error("The cursor is not valid")
            offset = cursor["after"]
        page = spaces[offset:offset + limit]
        admin = account_id(self.store.admin_email())
        results = []
        for space in page:
            item = {"id": str(space["id"]), "key": space["key"], "name": space["name"], "type": space["type"],
                    "status": space["status"], "authorId": admin, "createdAt": CREATED,
                    "homepageId": self._content_id(space, "page", 0) if space["pages"] else None,
                    "currentActiveAlias": space["key"], "_links": {"webui": "/spaces/%s" % space["key"]}}
            if query.get("description-format"):
                fmt = query["description-format"]
                item["description"] = {fmt: {"representation": fmt, "value": ""}}
            results.append(item)
        links = {"base": "%s%s" % (request.url.origin(), site.root)}
        headers = {}
        if offset + limit < len(spaces):
            params = [(k, v) for k, v in query.items() if k not in ("cursor", "limit")]
            params += [("cursor", _b64({"after": offset + limit})), ("limit", str(limit))]
            links["next"] = "%s/api/v2/spaces?%s" % (site.root, urlencode(params))
            headers["Link"] = '<%s>; rel="next"' % links["next"]
        return {"results": results, "_links": links}, headers

    # ------------------------------------------------------ v1 space list
    def h_space_list(self, request, site, user, began):
        query = request.query
        try:
            start = _int(query, "start", 0, 0)
            limit = _int(query, "limit", SPACE_LIMIT[0], 0, SPACE_LIMIT[1], clamp=True)
        except ValueError as exc:
            raise self._v1_error(site, 400, str(exc))
        keys = set(query.getall("spaceKey", []))
        kind, status = query.get("type"), query.get("status")
        spaces = [s for s in self._visible(site, user) if (not keys or s["key"] in keys) and
                  (kind is None or s["type"] == kind) and (status is None or s["status"] == status)]
        spaces.sort(key=lambda s: s["key"].lower())
        page = spaces[start:start + limit]
        base = "%s%s" % (request.url.origin(), site.root)
        results = []
        for space in page:
            home = self._content_id(space, "page", 0) if space["pages"] else None
            results.append({
                "id": space["id"], "key": space["key"], "name": space["name"], "type": space["type"],
                "status": space["status"],
                "_expandable": {"settings": "/rest/api/space/%s/settings" % space["key"], "metadata": "",
                                "operations": "", "lookAndFeel": "/rest/api/settings/lookandfeel?spaceKey=%s"
                                % space["key"], "identifiers": "", "permissions": "", "icon": "", "description": "",
                                "theme": "/rest/api/space/%s/theme" % space["key"], "history": "",
                                "homepage": "/rest/api/content/%s" % home if home else ""},
                "_links": {"webui": ("/spaces/%s" if site.cloud else "/display/%s") % space["key"],
                           "self": "%s/rest/api/space/%s" % (base, space["key"])}})
        links = {"base": base, "context": site.root, "self": "%s/rest/api/space" % base}
        if start + limit < len(spaces) and limit:
            params = [(k, v) for k, v in query.items() if k not in ("start", "limit")]
            params += [("limit", str(limit)), ("start", str(start + limit))]
            links["next"] = "/rest/api/space?%s" % urlencode(params)
        return {"results": results, "start": start, "limit": limit, "size": len(results), "_links": links}, {}

    # -------------------------------------------------------------- search
    def _v1_error(self, site, status, message):
        """Confluence's error answer: Cloud's with ``data`` as observed; Data Center 9's with ``reason`` [I]."""
        if site.cloud:
            return Refusal(status, {"statusCode": status, "data": {"authorized": True, "valid": True, "errors": [],
                                                                   "successful": True}, "message": message})
        reason = {400: "Bad Request", 500: "Internal Server Error"}.get(status, "Error")
        return Refusal(status, {"statusCode": status, "message": message, "reason": reason})

    @staticmethod
    def _content_id(space, kind, index):
        return str(space["id"] * 10 ** 8 + (5 * 10 ** 7 if kind == "blogpost" else 0) + index + 1)

    def _result(self, site, base, space, kind, index):
        ident = self._content_id(space, kind, index)
        title = ("Page %d of %s" if kind == "page" else "Blog post %d of %s") % (index, space["key"])
        if site.cloud:
            url = ("/spaces/%s/pages/%s/%s" if kind == "page" else "/spaces/%s/blog/2025/12/01/%s/%s") % (
                space["key"], ident, _slug(title))
            container = "/spaces/%s" % space["key"]
        else:
            url = "/pages/viewpage.action?pageId=%s" % ident
            container = "/display/%s" % space["key"]
        return {"content": {"id": ident, "type": kind, "status": "current", "title": title, "childTypes": {},
                            "macroRenderedOutput": {}, "restrictions": {},
                            "_expandable": {"container": "", "metadata": "", "extensions": "", "operations": "",
                                            "children": "", "history": "/rest/api/content/%s/history" % ident,
                                            "ancestors": "", "body": "", "version": "", "descendants": "",
                                            "space": "/rest/api/space/%s" % space["key"]},
                            "_links": {"webui": url, "self": "%s/rest/api/content/%s" % (base, ident),
                                       "tinyui": "/x/%s" % _tiny(int(ident))}},
                "title": title, "excerpt": "", "url": url,
                "resultGlobalContainer": {"title": space["name"], "displayUrl": container},
                "breadcrumbs": [], "entityType": "content", "iconCssClass": "aui-icon content-type-%s" % kind,
                "lastModified": "2025-12-01T10:00:00.000Z", "friendlyLastModified": "Dec 01, 2025", "score": 0.0}

    def h_search(self, request, site, user, began):
        query = request.query
        text = query.get("cql") or ""
        if not text.strip():
            raise self._v1_error(site, 400, BAD_CQL % "" if site.cloud else NO_CQL_DC)
        try:
            parsed = cql.parse(text)
        except cql.Unsupported:
            raise self._v1_error(site, 400, BAD_CQL % text)
        try:
            start = _int(query, "start", 0, 0)
            if site.cloud and query.get("cursor"):
                cursor = _unb64(query["cursor"])
                if cursor is None or not isinstance(cursor.get("start"), int) or cursor["start"] < 0:
                    raise ValueError("the cursor is not valid")
                start = cursor["start"]
            cap = 50 if "body" in (query.get("expand") or "") else 200 if query.get("expand") else SEARCH_LIMIT[1]
            limit = _int(query, "limit", SEARCH_LIMIT[0], 0, cap, clamp=True)
        except ValueError as exc:
            raise self._v1_error(site, 400, str(exc))
        spaces = self.store.spaces(site.ref)
        if parsed.spaces is not None and not site.cloud:
            held = set(s["key"].lower() for s in spaces)
            unknown = [k for k in parsed.space_keys() if k.lower() not in held]
            mode = str(site.cfg.get("dc_cql_unknown_space") or "empty")
            if unknown and mode == "400":
                raise self._v1_error(site, 400, "parameters should not be empty")
            if unknown and mode == "500":
                raise self._v1_error(site, 500, "java.lang.IllegalArgumentException: parameters should not be empty")
        archived = str(query.get("includeArchivedSpaces", "false")).lower() == "true"
        only_archived = str(query.get("excludeCurrentSpaces", "false")).lower() == "true"
        wanted = set(k.lower() for k in parsed.spaces) if parsed.spaces is not None else None
        matching = [s for s in (spaces if user is not None else []) if (wanted is None or s["key"].lower() in wanted)
                    and (s["status"] != "archived" or archived or only_archived)
                    and (s["status"] == "archived" or not only_archived)]
        # The matches, in order, without listing them: (space, kind, how many) runs.
        runs = [(s, kind, s["pages"] if kind == "page" else s["blog_posts"]) for s in sorted(matching, key=lambda s: s["id"])
                for kind in cql.TYPES if kind in parsed.types]
        total = sum(n for _s, _k, n in runs)
        base = "%s%s" % (request.url.origin(), site.root)
        results, skip = [], start
        for space, kind, count in runs:
            if len(results) >= limit:
                break
            if skip >= count:
                skip -= count
                continue
            for index in range(skip, min(count, skip + limit - len(results))):
                results.append(self._result(site, base, space, kind, index))
            skip = 0
        links = {"base": base, "context": site.root, "self": "%s%s" % (base, request.path_qs[len(site.root):])}
        if start + len(results) < total and limit:
            links["next"] = self._page_link(site, query, text, limit, start + limit, True)
        if start > 0:
            links["prev"] = self._page_link(site, query, text, limit, max(0, start - limit), False)
        body = {"results": results, "start": start, "limit": limit, "size": len(results), "totalSize": total,
                "cqlQuery": text, "searchDuration": max(1, int((time.monotonic() - began) * 1000)), "_links": links}
        return body, {}

    @staticmethod
    def _page_link(site, query, text, limit, start, forward):
        """Cloud: ``/rest/api/search?next=true&cursor=...`` as the observed answer; Data Center: ``start``."""
        keep = [(k, v) for k, v in query.items() if k not in ("cql", "limit", "start", "cursor", "next", "prev")]
        if site.cloud:
            params = [("next" if forward else "prev", "true"), ("cursor", _b64({"start": start}))] + keep + \
                [("limit", str(limit)), ("start", str(start)), ("cql", text)]
        else:
            params = keep + [("cql", text), ("limit", str(limit)), ("start", str(start))]
        return "/rest/api/search?%s" % urlencode(params)
