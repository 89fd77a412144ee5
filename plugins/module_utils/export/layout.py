# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The open layout of a content export (docs/confluence_export.md), and finding the exports of a folder.

No Ansible imports. One export is one folder, ``confluence-export-<site label>-<UTC time>``, holding::

    export.json                                   the manifest, written last: its presence marks the export complete
    journal.jsonl                                 one line per file written (path, size, sha256), while it runs
    items.jsonl                                   one line per item done ([id, manifest entry]), while it runs
    spaces/<KEY>/space.json                       the space
    spaces/<KEY>/pages/<id>.json                  a page: its metadata, body (storage format), labels, properties,
                                                  footer and inline comments, versions' metadata, attachments' metadata
    spaces/<KEY>/blogposts/<id>.json              a blog post, the same way
    spaces/<KEY>/attachments/<id>/v<version>/<file name>   an attachment's binary

A later export of the same selection (the site and its spaces, or all of them) reads the previous complete one's
manifest: an item whose version did not change is hard-linked from there (a copy where links are not possible) and
not fetched again, and an item that is no longer listed is recorded in ``deleted``. An export without ``export.json``
is unfinished: the next run of the same selection continues it, trusting the files its journal lists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import json
import os
import re
import shutil
import threading

PREFIX = "confluence-export-"
MANIFEST = "export.json"
JOURNAL = "journal.jsonl"
SPOOL = "items.jsonl"
STARTED = "started.json"
FORMAT = 1
_NAME = re.compile(r"^confluence-export-(?P<label>.+)-(?P<stamp>\d{8}T\d{6}Z)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+,=@~-]")


def folder_name(label, when):
    return "%s%s-%s" % (PREFIX, label, when.strftime("%Y%m%dT%H%M%SZ"))


def make_folder(dest, label, when):
    """Make the new export folder of ``label`` in ``dest`` (mode 0700) and return its path. Its name has the second
    ``when`` names, or the first later second no folder of ``dest`` has: two exports started within one second (of
    two selections, say) never share a folder, and names still sort by start."""
    for dummy in range(3600):
        path = os.path.join(dest, folder_name(label, when))
        try:
            os.mkdir(path, 0o700)
            return path
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        when += datetime.timedelta(seconds=1)
    raise OSError(errno.EEXIST, "an hour of export folders after %s is taken" % folder_name(label, when))


def safe_name(name, fallback):
    """A file name from an attachment's title: no path separators, no control characters, at most 150 bytes."""
    cleaned = _UNSAFE.sub("_", name or "").strip(" .")
    return cleaned[:150] or fallback


def item_path(space_key, kind, item_id):
    return "spaces/%s/%s/%s.json" % (safe_name(space_key, "space"), "pages" if kind == "page" else "blogposts",
                                     safe_name(item_id, "item"))


def attachment_path(space_key, attachment_id, version, title):
    return "spaces/%s/attachments/%s/v%s/%s" % (safe_name(space_key, "space"), safe_name(attachment_id, "attachment"),
                                                version, safe_name(title, "file"))


def read_json(path):
    """The JSON object in ``path``, or None (missing, unreadable, cut short, or not an object)."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, IOError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def selection_of(spaces):
    """The selection an export is of: ``all``, or the sorted space keys."""
    return "all" if spaces is None else sorted(set(spaces))


def exports(dest, label, selection):
    """(newest complete export, newest unfinished one newer than it) of ``label`` and ``selection`` in ``dest``:
    each a (path, manifest or None) pair, or None. A complete export whose verification failed is passed over."""
    complete, unfinished = None, None
    try:
        names = sorted(os.listdir(dest))
    except OSError:
        return None, None
    for name in names:
        match = _NAME.match(name)
        path = os.path.join(dest, name)
        if not match or match.group("label") != label or not os.path.isdir(path):
            continue
        data = read_json(os.path.join(path, MANIFEST))
        if data is not None:
            # An export whose verification failed (backup_verify recorded verified: false) is no base to build on.
            if data.get("selection") == selection and data.get("format") == FORMAT and data.get("verified") is not False:
                complete, unfinished = (path, data), None
            continue
        started = read_json(os.path.join(path, STARTED))
        if started is not None and started.get("selection") == selection:
            unfinished = (path, None)
    return complete, unfinished


class Journal(object):
    """The files written so far, appended one line each (path, size, sha256), safe across threads.

    Only what earlier, stopped attempts wrote is held in memory (``files``: what :meth:`has` trusts); the lines of
    this attempt are read back from the file by :meth:`entries` at the end, so that memory does not grow with the
    number of files. A path is written once per attempt (the workflow lists each item once).
    """

    def __init__(self, folder):
        self.path = os.path.join(folder, JOURNAL)
        self.files = {}
        self.lock = threading.Lock()
        try:
            with open(self.path) as handle:
                for line in handle:
                    entry = _entry(line)
                    if entry is not None:
                        self.files[entry[0]] = entry[1]
        except (OSError, IOError) as exc:
            if exc.errno != errno.ENOENT:
                raise
        self.handle = open(self.path, "a")
        if self.handle.tell():
            self.handle.write("\n")  # a line cut by a kill stays a line of its own, skipped as unreadable
        self.start = self.handle.tell()

    def add(self, path, size, sha256):
        with self.lock:
            if path in self.files:
                self.files[path] = dict(size=size, sha256=sha256)
            self.handle.write(json.dumps(dict(path=path, size=size, sha256=sha256)) + "\n")
            self.handle.flush()

    def has(self, folder, path):
        """Whether ``path`` was written in full by an earlier attempt (listed, and the file has that size)."""
        entry = self.files.get(path)
        if entry is None:
            return False
        try:
            return os.path.getsize(os.path.join(folder, path)) == entry["size"]
        except OSError:
            return False

    def entries(self):
        """(path, {size, sha256}) of every file written, each path once with its last record."""
        if not self.handle.closed:
            self.handle.flush()
        for path, entry in self.files.items():
            yield path, entry
        with open(self.path) as handle:
            handle.seek(self.start)
            for line in handle:
                entry = _entry(line)
                if entry is not None and entry[0] not in self.files:
                    yield entry

    def close(self):
        self.handle.close()


def _entry(line):
    """(path, {size, sha256}) of a journal line, or None for a line cut by a kill."""
    try:
        entry = json.loads(line)
        return entry["path"], dict(size=entry["size"], sha256=entry["sha256"])
    except (ValueError, KeyError, TypeError):
        return None


def manifest_text(header, **streams):
    """``export.json``'s text, a piece at a time: the keys of ``header``, and each of ``streams`` (an iterable of
    (key, value) pairs) as an object, one member per line. The keys are sorted; a stream is never held whole."""
    yield "{\n"
    keys = sorted(set(header) | set(streams))
    for number, key in enumerate(keys):
        end = ",\n" if number < len(keys) - 1 else "\n"
        if key not in streams:
            yield "  %s: %s%s" % (json.dumps(key), json.dumps(header[key], sort_keys=True), end)
            continue
        yield "  %s: {" % json.dumps(key)
        first = True
        for member, value in streams[key]:
            yield "%s\n    %s: %s" % ("" if first else ",", json.dumps(member), json.dumps(value, sort_keys=True))
            first = False
        yield ("\n  }" if not first else "}") + end
    yield "}\n"


def link_or_copy(source, target):
    """``target`` as a hard link of ``source`` (an unchanged item of the previous export), else a copy."""
    os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
