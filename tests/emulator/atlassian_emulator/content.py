# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each emulated Confluence site holds: its spaces, and per space the number of current pages and blog posts.

One :class:`ContentStore` per emulator (``emulator.content``) holds the content of every site it serves:

* every Cloud site of ``org_sites`` (by ``cloudId``), and the default Cloud site (``cloud_id``/``site_name``) even
  when ``org_sites`` does not list it;
* every Confluence Data Center instance (by its context path, ``dc_context_path`` and the keys of ``dc_instances``).

A space is ``{"key", "name", "type", "status", "pages", "blog_posts", "id"}``: ``type`` global or personal (Cloud
also knows collaboration and knowledge_base), ``status`` current or archived, ``pages``/``blog_posts`` the current
ones (what CQL finds and what a backup inventory counts: no old versions, drafts or trash).

Until something changes a site (a restore, or a test through ``POST /_emulator/content/site``), its content is
computed from the configuration on every read, so ``POST /_emulator/config`` changes it too:

* the default Cloud site: its ``org_sites`` entry's ``content``, else ``site_content``, else DOC, TEAM and the
  personal space of the site's admin (the first of ``users``);
* any other Cloud site: its ``org_sites`` entry's ``content``, else ``cloud_new_site_content``, else what a new
  Confluence Cloud site holds: the personal space of its admin, which Atlassian says must be deleted before a backup
  is restored into the site (``docs/emulator_evidence.md``);
* a Data Center instance: its ``dc_content`` (``dc_instances`` may give one per instance), else one global space per
  key of ``dc_spaces``, the i-th (from 0) with 4 (i + 1) pages and i + 1 blog posts.

A Cloud personal space's key is ``~`` and the owner's account id without its ``:`` and ``-`` (the personal space keys
of a real Cloud export, ``~5d3eaa4376cb3e0d9d31cf8e`` and ``~71202035e13a5b8eb54664acde14e7c506753c``, have that
form; deriving it from the account id is [I]).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import uuid

from aiohttp import web

CLOUD_TYPES = ("global", "collaboration", "knowledge_base", "personal")
DC_TYPES = ("global", "personal")
STATUSES = ("current", "archived")
CLOUD_BASE_ID = 98304          # ids of a Cloud site's spaces count up from here [I]
DC_BASE_ID = 65537             # and a Data Center instance's from here [I]
CREATED = "2025-11-03T09:15:00.000Z"


def account_id(email):
    """The Atlassian account id the emulator gives a user (as org_backup.py does) [I]."""
    return "712020:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "mailto:" + email))


def personal_key(email):
    """``~`` and the account id without ``:`` and ``-``: the form of a Cloud personal space's key."""
    return "~" + account_id(email).replace(":", "").replace("-", "")


def display_name(email):
    return email.split("@")[0]


def dc_context(path):
    """A Data Center context path in one form: ``"/confluence"`` and ``"confluence/"`` are ``"confluence"``."""
    return (path or "").strip("/")


class ContentError(ValueError):
    """A space description the emulator cannot use (a test's mistake, answered as 400 by the control API)."""


def normalise(spaces, cloud=True):
    """Checked copies of ``spaces`` (dicts, or bare keys): every field filled; duplicate keys refused."""
    if not isinstance(spaces, list):
        raise ContentError("content must be a list of spaces, not %r" % (spaces,))
    out, seen = [], set()
    for entry in spaces:
        if isinstance(entry, str):
            entry = {"key": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"].strip():
            raise ContentError("each space needs a key: %r" % (entry,))
        key = entry["key"].strip()
        if key.lower() in seen:
            raise ContentError("the space key %s is there twice (keys are unique, whatever their case)" % key)
        seen.add(key.lower())
        kind = str(entry.get("type") or ("personal" if key.startswith("~") else "global")).lower()
        status = str(entry.get("status") or "current").lower()
        if kind not in (CLOUD_TYPES if cloud else DC_TYPES) or status not in STATUSES:
            raise ContentError("space %s: type %r or status %r is not one Confluence has" % (key, kind, status))
        counts = {}
        for name in ("pages", "blog_posts"):
            value = entry.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ContentError("space %s: %s must be a count, not %r" % (key, name, value))
            counts[name] = value
        space = {"key": key, "name": str(entry.get("name") or key), "type": kind, "status": status}
        space.update(counts)
        if entry.get("id") is not None:
            space["id"] = int(entry["id"])
        out.append(space)
    return out


def with_ids(spaces, base):
    """Give the spaces without an id the next ones after ``base`` and the ids already given, in list order."""
    top = max([base - 1] + [s["id"] for s in spaces if "id" in s])
    for space in spaces:
        if "id" not in space:
            top += 1
            space["id"] = top
    return spaces


def totals(spaces):
    return {"spaces": len(spaces), "pages": sum(s["pages"] for s in spaces),
            "blog_posts": sum(s["blog_posts"] for s in spaces)}


class ContentStore(object):
    """The content of every site of one emulator; registered first among its APIs (reset and state)."""

    name = "content"

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.changed = {}           # ("cloud", cloudId) or ("dc", context) -> spaces, once something changed them
        self.requests = []          # the content endpoints' log (confluence_rest.py)

    @property
    def cfg(self):
        return self.em.config

    # --------------------------------------------------------------- sites
    def admin_email(self):
        return next(iter(self.cfg.get("users") or {}), "admin@example.com")

    def cloud_sites(self):
        """The organization's sites (``org_sites``), and the default Cloud site first when the list lacks it."""
        sites = [dict(s) for s in self.cfg.get("org_sites") or []]
        default = self.cfg.get("cloud_id")
        if not any(s.get("cloudId") == default for s in sites):
            host = self.cfg.get("site_name") or "example.atlassian.net"
            sites.insert(0, {"cloudId": default, "cloudUrl": "https://" + host, "cloudName": host.split(".")[0],
                             "products": ["CONFLUENCE"]})
        return sites

    def default_cloud_site(self):
        return next(s for s in self.cloud_sites() if s.get("cloudId") == self.cfg.get("cloud_id"))

    def cloud_site(self, name):
        """The Cloud site called ``name`` (its cloudName, cloudId or host, any case), or None."""
        wanted = (name or "").lower()
        for site in self.cloud_sites():
            host = (site.get("cloudUrl") or "").split("://", 1)[-1].split("/", 1)[0].lower()
            if wanted in ((site.get("cloudName") or "").lower(), (site.get("cloudId") or "").lower(), host):
                return site
        return None

    def dc_contexts(self):
        """Every Data Center instance's context: the default one first, then ``dc_instances``' keys."""
        found = [dc_context(self.cfg.get("dc_context_path"))]
        for path in (self.cfg.get("dc_instances") or {}):
            if dc_context(path) not in found:
                found.append(dc_context(path))
        return found

    def dc_settings(self, context):
        """The settings of the instance at ``context``: its ``dc_instances`` entry over the emulator's config."""
        context = dc_context(context)
        for path, overrides in (self.cfg.get("dc_instances") or {}).items():
            if dc_context(path) == context:
                return dict(self.cfg, **(overrides or {}))
        return self.cfg

    # ------------------------------------------------------------- content
    def _initial(self, ref):
        kind, ident = ref
        if kind == "dc":
            cfg = self.dc_settings(ident)
            given = cfg.get("dc_content")
            if given is None:
                given = [{"key": key, "name": key.capitalize(), "pages": 4 * (i + 1), "blog_posts": i + 1}
                         for i, key in enumerate(cfg.get("dc_spaces") or [])]
            return with_ids(normalise(copy.deepcopy(given), cloud=False), DC_BASE_ID)
        site = next((s for s in self.cloud_sites() if s.get("cloudId") == ident), None)
        if site is None:
            return []
        admin = self.admin_email()
        personal = {"key": personal_key(admin), "name": display_name(admin), "type": "personal", "pages": 1}
        given = site.get("content")
        if given is None and ident == self.cfg.get("cloud_id"):
            given = self.cfg.get("site_content")
            if given is None:
                given = [{"key": "DOC", "name": "Documentation", "pages": 12, "blog_posts": 2},
                         {"key": "TEAM", "name": "Team", "pages": 7, "blog_posts": 1}, personal]
        elif given is None:
            given = self.cfg.get("cloud_new_site_content")
            if given is None:
                given = [personal]
        return with_ids(normalise(copy.deepcopy(given), cloud=True), CLOUD_BASE_ID)

    def spaces(self, ref):
        """A copy of the spaces of ``ref`` (``("cloud", cloudId)`` or ``("dc", context)``), in creation order."""
        ref = self._ref(ref)
        found = self.changed.get(ref)
        return copy.deepcopy(found if found is not None else self._initial(ref))

    def replace(self, ref, spaces):
        """The site's content becomes ``spaces`` (new ids for those without one)."""
        ref = self._ref(ref)
        self.changed[ref] = with_ids(normalise(copy.deepcopy(spaces), cloud=ref[0] == "cloud"),
                                     CLOUD_BASE_ID if ref[0] == "cloud" else DC_BASE_ID)
        return self.spaces(ref)

    def add(self, ref, spaces, replace_existing=False):
        """Add ``spaces`` (new ids); those whose key the site already has (any case) are skipped, or replace the
        existing ones with ``replace_existing``. Returns ``(added keys, skipped keys)``."""
        current = self.spaces(ref)
        by_key = dict((s["key"].lower(), s) for s in current)
        added, skipped = [], []
        for space in normalise(copy.deepcopy(spaces), cloud=self._ref(ref)[0] == "cloud"):
            space.pop("id", None)
            old = by_key.get(space["key"].lower())
            if old is not None and not replace_existing:
                skipped.append(space["key"])
                continue
            if old is not None:
                current.remove(old)
            current.append(space)
            added.append(space["key"])
        self.replace(ref, current)
        return added, skipped

    def delete(self, ref, keys):
        wanted = set(k.lower() for k in keys)
        return self.replace(ref, [s for s in self.spaces(ref) if s["key"].lower() not in wanted])

    def _ref(self, ref):
        kind, ident = ref
        if kind not in ("cloud", "dc"):
            raise ContentError("a site is ('cloud', cloudId) or ('dc', context), not %r" % (ref,))
        return (kind, dc_context(ident) if kind == "dc" else ident)

    # ---------------------------------------------------------- test control
    def prepare_state(self):
        pass

    def state(self):
        sites = {}
        for site in self.cloud_sites():
            spaces = self.spaces(("cloud", site["cloudId"]))
            sites["cloud:%s" % site.get("cloudName")] = {
                "cloudId": site["cloudId"], "cloudName": site.get("cloudName"), "spaces": spaces,
                "totals": totals(spaces), "changed": ("cloud", site["cloudId"]) in self.changed}
        for context in self.dc_contexts():
            spaces = self.spaces(("dc", context))
            sites["dc:/%s" % context] = {"context": "/" + context if context else "", "spaces": spaces,
                                         "totals": totals(spaces), "changed": ("dc", context) in self.changed}
        return {"content": {"sites": sites, "requests": list(self.requests)}}

    def site_ref(self, body):
        """The site a control request names: ``{"cloud": name or cloudId}`` or ``{"dc": context}``."""
        if body.get("cloud") is not None:
            site = self.cloud_site(str(body["cloud"]))
            if site is None:
                raise ContentError("no Cloud site %r (org_sites and the default site)" % body["cloud"])
            return ("cloud", site["cloudId"])
        if body.get("dc") is not None:
            context = dc_context(str(body["dc"]))
            if context not in self.dc_contexts():
                raise ContentError("no Data Center instance at /%s (dc_context_path, dc_instances)" % context)
            return ("dc", context)
        raise ContentError("name the site: {\"cloud\": <cloudName or cloudId>} or {\"dc\": <context path>}")

    def routes(self):
        routes = web.RouteTableDef()

        @routes.post("/_emulator/content/site")
        async def set_site(request):
            """{cloud|dc, spaces (replace all), add, delete}: change what a site holds; answers its spaces."""
            try:
                body = await request.json()
                ref = self.site_ref(body if isinstance(body, dict) else {})
                if body.get("spaces") is not None:
                    self.replace(ref, body["spaces"])
                if body.get("delete"):
                    self.delete(ref, list(body["delete"]))
                if body.get("add"):
                    self.add(ref, body["add"])
            except (ValueError, TypeError) as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
            spaces = self.spaces(ref)
            return web.json_response({"ok": True, "spaces": spaces, "totals": totals(spaces)})

        return routes


def store_of(emulator):
    """The emulator's :class:`ContentStore` (made and registered on first use when ``build`` did not)."""
    store = getattr(emulator, "content", None)
    if store is None:
        store = emulator.content = ContentStore(emulator)
        emulator.apis.insert(0, store)
    return store
