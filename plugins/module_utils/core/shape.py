# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a JSON answer by its shape, for the services that do not document theirs.

The documented (or evidenced) field names always come first; these readers are the fallback, so that an answer that
names the same thing otherwise is still understood, and the caller can say in a warning which field it used:

* :func:`unwrap`: the one object an answer is about: the body, its only element, or the only element of a list
  under a plural key (``{"backups": [{...}], "totalItems": 1}``);
* :func:`find_id`: an id under any key that is or ends in ``id``/``Id``/``ID``, at any depth, the most specific
  first (a key that names the kind, then the shallowest), never one of the ids the request sent;
* :func:`find_status`: a status under any key named like status or state, in any case or spelling;
* :func:`find_url`: an absolute ``http(s)`` URL anywhere, preferring keys that say what it is for, and refusing to
  guess between two different candidates (:class:`ShapeError`, which quotes both).

Every finder returns ``(value, path)``: the path (``result.data.backupId``, ``items[0].url``) names the field used.
No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MAX_DEPTH = 5
_ID_KEY = re.compile(r"(?:^id$|[a-z0-9]Id$|ID$|_id$|-id$)")
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
_PATH = re.compile(r"^/[^/\s][^\s]*$")


class ShapeError(ValueError):
    """An answer that could be read in two ways; the message quotes both candidates."""


def fold(key):
    """``task_Status``, ``Task-Status``, ``taskStatus`` -> ``taskstatus``."""
    return re.sub(r"[\s_\-]+", "", str(key)).lower()


def documented(obj, names):
    """``(value, name)`` of the first of ``names`` (dotted paths) present as a scalar, else ``(None, None)``."""
    for name in names:
        value = obj
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, "") and not isinstance(value, (dict, list, bool)):
            return value, name
    return None, None


def leaves(node, path="", depth=0):
    """Every ``(path, key, value)`` of a scalar under a key, depth first; lists are walked with their index."""
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            here = "%s.%s" % (path, key) if path else str(key)
            if isinstance(value, (dict, list)):
                yield from leaves(value, here, depth + 1)
            else:
                yield here, str(key), value
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, "%s[%d]" % (path, index), depth + 1)


def unwrap(body, plural=(), depth=0):
    """``(object, path)``: the one object the answer is about, or ``(None, None)`` when it holds none or several.

    A dict is itself, unless it is only a wrapper: a one-element list of objects under one of ``plural`` (the
    documented name), or under the only key that holds a list of objects, or a single key (``result``, ``data``)
    holding the object. A one-element list is its element.
    """
    if depth > MAX_DEPTH:
        return None, None
    if isinstance(body, list):
        objects = [item for item in body if isinstance(item, dict)]
        return _inside(objects[0], "[0]", plural, depth) if len(objects) == 1 and len(body) == 1 else (None, None)
    if not isinstance(body, dict):
        return None, None
    for key in plural:
        value = body.get(key)
        if isinstance(value, list):
            return _inside(value[0], "%s[0]" % key, plural, depth) if len(value) == 1 and isinstance(value[0], dict) \
                else (None, None)
    lists = [(key, value) for key, value in body.items()
             if isinstance(value, list) and value and all(isinstance(item, dict) for item in value)]
    if len(lists) == 1 and len(lists[0][1]) == 1 and not _scalar_id(body):
        return _inside(lists[0][1][0], "%s[0]" % lists[0][0], plural, depth)
    if len(body) == 1:
        # A nesting and nothing else ({"result": {...}}, {"data": {"job": {...}}}): the object inside.
        key, value = next(iter(body.items()))
        if isinstance(value, dict):
            return _inside(value, str(key), plural, depth)
    return body, ""


def _inside(obj, path, plural, depth):
    """The object ``obj`` (found at ``path``) is about, itself unwrapped: a wrapper may hold another."""
    inner, rest = unwrap(obj, plural, depth + 1)
    if inner is None:
        return None, None
    return inner, join(path, rest) if rest else path


def _scalar_id(obj):
    return any(_ID_KEY.search(str(key)) and not isinstance(value, (dict, list)) for key, value in obj.items())


def find_id(body, names=(), prefer=(), exclude=(), plural=(), references=()):
    """``(id, path)`` of the object the answer is about, or ``(None, None)``.

    ``names``: the documented names, tried first. ``prefer``: words that a specific key holds (``backup``,
    ``restore``): such keys win over ``id``. ``exclude``: values the request itself sent (the cloud id, the policy
    id), which an echo of the request must not pass off as the new job's id. Two different ids that rank the same
    are not guessed between: ``(None, None)``.
    """
    obj, base = unwrap(body, plural)
    if obj is None:
        return None, None
    value, name = documented(obj, names)
    if value is not None and value not in exclude:
        return value, join(base, name)
    skip = set(str(item) for item in exclude if item is not None)
    skip.update(str(value) for _path, key, value in leaves(obj) if key in references and value is not None)
    ranked = []
    for path, key, value in leaves(obj):
        if not _ID_KEY.search(key) or isinstance(value, bool) or value in (None, "") or str(value) in skip:
            continue
        specific = any(word in key.lower() for word in prefer)
        ranked.append(((0 if specific else 1, path.count(".") + path.count("["), key.lower() == "id"), value, path))
    if not ranked:
        return None, None
    ranked.sort(key=lambda entry: entry[0])
    best = [entry for entry in ranked if entry[0] == ranked[0][0]]
    if len(set(str(entry[1]) for entry in best)) > 1:
        return None, None
    return best[0][1], join(base, best[0][2])


def find_status(body, names=(), plural=()):
    """``(status, path)``: a documented name first, then the shallowest key named like status or state."""
    obj, base = unwrap(body, plural)
    if obj is None:
        return None, None
    value, name = documented(obj, names)
    if value is not None:
        return value, join(base, name)
    found = []
    for path, key, value in leaves(obj):
        folded = fold(key)
        if isinstance(value, str) and value.strip() and (folded.endswith("status") or folded.endswith("state")):
            found.append((path.count(".") + path.count("["), folded not in ("status", "state"), value, path))
    if not found:
        return None, None
    found.sort(key=lambda entry: entry[:2])
    return found[0][2], join(base, found[0][3])


def find_url(body, prefer=(), exclude=(), what="link", relative=False):
    """``(url, path)`` of the one absolute ``http(s)`` URL the answer gives for ``what``, or ``(None, None)``.

    URLs under a key (or a parent key) holding one of ``prefer`` win over the others; ``exclude`` are URLs already
    known (the status URL being polled). Two different URLs that rank the same raise :class:`ShapeError`, quoting
    both: the caller redacts and reports it rather than fetch the wrong file. ``relative``: a path-absolute URL
    (``/download/1``) counts too, but only under a key that says it is one of ``prefer``.
    """
    skip = set(exclude)
    ranked = []
    for path, key, value in leaves(body):
        if not isinstance(value, str) or value.strip() in skip:
            continue
        words = path.lower()
        rank = next((index for index, word in enumerate(prefer) if word in words), len(prefer))
        absolute = _URL.match(value.strip())
        if not absolute and not (relative and rank < len(prefer) and _PATH.match(value.strip())):
            continue
        ranked.append((rank, value.strip(), path))
    if not ranked:
        return None, None
    ranked.sort(key=lambda entry: entry[0])
    best = [entry for entry in ranked if entry[0] == ranked[0][0]]
    urls = sorted(set(entry[1] for entry in best))
    if len(urls) > 1:
        raise ShapeError("the answer gives %d different %ss and does not say which one to use: %s" % (
            len(urls), what, "; ".join("%s at %s" % (entry[1], entry[2]) for entry in best[:4])))
    return best[0][1], best[0][2]


def find_total(body, names=()):
    """``(count, key)`` of a list answer's total: a documented name first, then any top-level integer under a key
    that says total (``total_items``, ``TotalCount``); ``(None, None)`` when there is none."""
    if not isinstance(body, dict):
        return None, None
    for key in tuple(names) + tuple(key for key in body if "total" in fold(key)):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value, key
    return None, None


def read_object(body, ids=(), statuses=(), prefer=(), plural=(), references=()):
    """``(object, used)``: the one object an answer is about, its id and status under their documented names.

    The object is :func:`unwrap`'s; when its id or status is not under a documented name (``ids``, ``statuses``,
    the first of each is the one filled in) they are found by shape (:func:`find_id`, :func:`find_status`) and set
    under the documented name in a copy. ``used`` lists ``(what, path)`` for every field read so (its path in the
    answer), including documented names read inside a wrapper; empty when the answer was as documented. An answer
    that holds no one object comes back as it is.
    """
    obj, base = unwrap(body, plural)
    if obj is None:
        return body, []
    obj, used = dict(obj), []
    if ids:
        value, name = documented(obj, ids)
        if value is None:
            value, name = find_id(obj, prefer=prefer, references=references)
            if value is not None:
                obj[ids[0]] = value
        if value is not None and (base or name not in ids):
            used.append(("id", join(base, name)))
    if statuses:
        value, name = documented(obj, statuses)
        if value is None:
            value, name = find_status(obj)
            if value is not None:
                obj[statuses[0]] = value
        if value is not None and (base or name not in statuses):
            used.append(("status", join(base, name)))
    return obj, used


class Notes(object):
    """Warnings about fields read by shape: one per field path per run, however many times the answer is read.

    ``warn`` is the module's (None: nothing is said, the paths are still kept in :attr:`paths`).
    """

    def __init__(self, warn=None):
        self.warn = warn
        self.paths = []

    def __call__(self, what, used, documented_names=None):
        for field_word, path in used:
            if (what, field_word, path) in self.paths:
                continue
            self.paths.append((what, field_word, path))
            names = (documented_names or {}).get(field_word)
            if self.warn is not None:
                self.warn("%s named the %s at %s%s: read by its shape. Please report the field name (issue 19)." % (
                    what, field_word, path, (", not at %s" % " or ".join(names)) if names else ""))


def join(base, name):
    """``result`` + ``backupId`` -> ``result.backupId``; ``backups`` + ``[0]`` -> ``backups[0]``."""
    if not base:
        return name
    return "%s.%s" % (base, name) if not name.startswith("[") else base + name
