# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``field_style: shuffled`` (issue 19): a seeded, deterministic reshaping of the JSON answers whose shape the
service does not document.

A real service has one shape, so every choice is fixed by ``(field_seed, api, what)``: a ``random.Random`` seeded
from that string, never from the request. For one seed, the backup GET, the backups list and the backup start
answer of the organization API name the backup's id the same way; another seed names it otherwise.

What may change (the brief of issue 19; docs/emulator_evidence.md lists it per API):

* the object's own id key: another plausible id name (``id``, ``backup_id``, ``BackupID``, ``jobId``...);
* its status key: another status-like name (``state``, ``jobStatus``, ``backup_state``, ``Status``...), and the
  case of the status value (``COMPLETED`` -> ``completed`` / ``Completed``);
* its link keys: another link name (``href``, ``downloadUrl``, ``result_link``) or nested (``_links.download.href``);
* a single-object answer: nested one level (``result``, ``data``) and/or wrapped in a one-element list or under a
  plural key with a count;
* a list answer: under another plural key, with its total renamed (``total``, ``total_items``), replaced by the
  page's ``size``, or absent.

Fields that name other objects (the request's own words: ``cloudId``, ``policyId``, an export's ``backupId``) keep
their names: the requests document them (seed 001), so the answers are not reshaped there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

CASES = ("as is", "lower", "title")
NESTS = (None, "result", "data")
WRAPS = (None, "list", "plural")
LINK_NAMES = ("href", "downloadUrl", "result_link", "_links.download.href", "fileLink", "download.url")
STATUS_LINK_NAMES = ("href", "statusUrl", "poll_link", "_links.status.href", "links.self", "progressUrl")
# (the key of the items, the key of the count and what it counts); "{plural}" and "{kind}" are filled in.
LIST_WRAPPERS = (("{plural}", "totalItems", "total"), ("values", "size", "page"), ("items", "total", "total"),
                 ("results", "count", "page"), ("data", None, None), ("{kind}List", "total_items", "total"),
                 ("content", "totalElements", "total"))


def id_names(kind):
    return ("id", "%s_id" % kind, "%sID" % kind.capitalize(), "jobId", "job_id", "%sId" % kind, "ID",
            "%sJobId" % kind if kind != "job" else "backupJobId")


def status_names(kind):
    return ("status", "state", "jobStatus", "%s_state" % kind, "Status", "currentState", "%sStatus" % kind,
            "job-state")


def recase(value, case):
    if not isinstance(value, str) or case == "as is":
        return value
    if case == "lower":
        return value.lower()
    return value.title()


def _put(obj, dotted, value):
    """``_links.download.href`` -> ``{"_links": {"download": {"href": value}}}`` merged into ``obj``."""
    parts = dotted.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def _take(obj, dotted):
    """Remove ``dotted`` from ``obj`` (and the dicts it leaves empty); its value, or None."""
    parts = dotted.split(".")
    trail = [obj]
    for part in parts[:-1]:
        nxt = trail[-1].get(part)
        if not isinstance(nxt, dict):
            return None
        trail.append(nxt)
    value = trail[-1].pop(parts[-1], None)
    for holder, part in reversed(list(zip(trail[:-1], parts[:-1]))):
        if holder.get(part) == {}:
            holder.pop(part)
    return value


class Shuffle(object):
    """The shape of one API's undocumented answers for one seed."""

    def __init__(self, seed, api):
        self.seed = seed
        self.api = api

    def pick(self, what, options):
        return random.Random("%s|%s|%s" % (self.seed, self.api, what)).choice(options)

    def status(self, kind, value):
        return recase(value, self.pick(kind + ":case", CASES))

    def obj(self, body, kind, id_key=None, status_key=None, links=(), status_links=()):
        """``body`` with its own id, status and link keys renamed (the order of the other keys kept)."""
        out = {}
        renames = {}
        if id_key:
            renames[id_key] = self.pick(kind + ":id", id_names(kind))
        if status_key:
            renames[status_key] = self.pick(kind + ":status", status_names(kind))
        for key, value in body.items():
            if key in renames:
                if key == status_key:
                    value = self.status(kind, value)
                out[renames[key]] = value
            else:
                out[key] = value
        for group, names in (("link", links), ("status link", status_links)):
            for dotted in names:
                value = _take(out, dotted)
                if value is not None:
                    _put(out, self.pick("%s:%s:%s" % (kind, group, dotted),
                                        LINK_NAMES if group == "link" else STATUS_LINK_NAMES), value)
        return out

    def answer(self, body, kind, where, plural=None, **fields):
        """A single-object answer (``where``: ``start``, ``get``...): renamed, then maybe nested, then maybe
        wrapped."""
        out = self.obj(body, kind, **fields)
        nest = self.pick("%s:%s:nest" % (kind, where), NESTS)
        if nest:
            out = {nest: out}
        wrap = self.pick("%s:%s:wrap" % (kind, where), WRAPS)
        if wrap == "list":
            out = [out]
        elif wrap == "plural":
            out = {plural or kind + "s": [out], "count": 1}
        return out

    def listing(self, items, kind, plural, total, **fields):
        """A page of a list: every item renamed as the single answers are, under another plural key."""
        items = [self.obj(item, kind, **fields) for item in items]
        key, count_key, counts = self.pick(kind + ":list", LIST_WRAPPERS)
        out = {key.format(plural=plural, kind=kind): items}
        if count_key:
            out[count_key] = total if counts == "total" else len(items)
        return out
