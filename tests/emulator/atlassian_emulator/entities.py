# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Confluence backup zip brings into the emulated Data Center instance a restore loads it into: its spaces,
and per space the current pages and blog posts, read from the zip's ``entities.xml``.

Written for the emulator alone (it never imports the collection): the emulated restore reads the file as Confluence
would, and the collection's own reader is then checked against what the emulator loaded.

The format (sources in ``docs/emulator_evidence.md``, "Content"): an XML file whose root is ``<hibernate-generic>``,
one ``<object class=... package=...>`` per row with an ``<id name="id">`` and ``<property name=...>`` children; a
reference is a property holding an ``<id>``.

* ``Space``: ``key``, ``name``, ``spaceType`` (global, personal; collaboration in newer Cloud exports) and
  ``spaceStatus`` (CURRENT, ARCHIVED).
* ``Page`` and ``BlogPost`` name their space in their ``space`` property. One is current when it is not an old
  version (no ``originalVersion`` reference, nor an ``originalVersionId``) and its ``contentStatus`` is ``current``
  (or absent, in exports older than that property): Confluence's own rule for its "current pages" (``PREVVER is null
  and CONTENT_STATUS = 'current'``).
* Content whose space is not in the file is not counted (no key to give it).

Bytes below 0x20 other than tab, line feed and carriage return are dropped before parsing, as XWiki's importer does
for real exports. The file is read as a stream (``iterparse``), each finished object dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET
import zipfile
import zlib

MEMBER = "entities.xml"
ROOT = "hibernate-generic"
KINDS = {"Page": "pages", "BlogPost": "blog_posts"}
_CONTROL = bytes(bytearray(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D)))
_READ = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError)


class Unreadable(Exception):
    """The backup's content cannot be loaded: the restore fails with this message."""


class _Filtered(object):
    def __init__(self, handle):
        self.handle = handle

    def read(self, size=-1):  # pylint: disable=unused-argument
        return self.handle.read(64 * 1024).translate(None, _CONTROL)


def _text(elem):
    return (elem.text or "").strip() if elem is not None else ""


def _props(elem):
    return dict((child.get("name"), child) for child in elem if child.tag == "property")


def _ref_id(prop):
    for child in (prop if prop is not None else ()):
        if child.tag == "id":
            return _text(child)
    return ""


def _own_id(elem):
    for child in elem:
        if child.tag == "id":
            return _text(child)
    return ""


def _current(props):
    old = props.get("originalVersion")
    if old is not None and (len(old) or _text(old)):
        return False
    if _text(props.get("originalVersionId")):
        return False
    return _text(props.get("contentStatus")) in ("", "current")


def read_stream(stream):
    """The spaces of an entities.xml stream: ``[{"key", "name", "type", "status", "pages", "blog_posts"}]`` in the
    file's order. Raises :class:`Unreadable` for a file that is not XML or not a Confluence export."""
    spaces, counts = [], {}
    depth, root = 0, None
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                if depth == 0:
                    if elem.tag != ROOT:
                        raise Unreadable("entities.xml is not a Confluence export: its root is <%s>" % elem.tag[:60])
                    root = elem
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            if elem.tag != "object":
                root.clear()
                continue
            cls, props = elem.get("class"), _props(elem)
            if cls == "Space" and _text(props.get("key")):
                spaces.append({"id": _own_id(elem), "key": _text(props.get("key")),
                               "name": _text(props.get("name")) or _text(props.get("key")),
                               "type": (_text(props.get("spaceType")) or "global").lower(),
                               "status": (_text(props.get("spaceStatus")) or "current").lower()})
            elif cls in KINDS and _current(props):
                slot = counts.setdefault(_ref_id(props.get("space")), {"pages": 0, "blog_posts": 0})
                slot[KINDS[cls]] += 1
            root.clear()    # the finished object leaves the tree: memory stays flat
    except ET.ParseError as exc:
        raise Unreadable("entities.xml could not be parsed: %s" % exc)
    for space in spaces:
        space.update(counts.get(space.pop("id"), {"pages": 0, "blog_posts": 0}))
    return spaces


def read_zip(path):
    """The spaces of the backup zip at ``path`` (its top-level ``entities.xml``). Raises :class:`Unreadable`."""
    try:
        with zipfile.ZipFile(path) as archive:
            if MEMBER not in archive.namelist():
                raise Unreadable("the backup has no entities.xml")
            with archive.open(MEMBER) as handle:
                return read_stream(_Filtered(handle))
    except _READ as exc:
        raise Unreadable("the backup could not be read (%s: %s)" % (type(exc).__name__, exc))
