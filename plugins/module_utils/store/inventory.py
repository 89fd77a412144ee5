# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Confluence backup holds: its ``entities.xml`` counted as a stream, and every zip member read back.

No Ansible imports. Used by the ``backup_verify`` module (issue 13).

The format of ``entities.xml`` (what was found, and where)
----------------------------------------------------------
* It is a dump of Confluence's Hibernate objects: an XML 1.0 UTF-8 file whose root is ``<hibernate-generic
  datetime=...>`` holding one ``<object class="Page" package="com.atlassian.confluence.pages">`` per row, with an
  ``<id name="id">``, ``<property name=...>`` values (often CDATA), references written as a property with a
  ``class`` and an ``<id>`` inside, and ``<collection>``\\ s. Sources: XWiki's "Confluence XML Format"
  reference (https://www.xwiki.org/xwiki/bin/view/documentation/extensions/admin/confluence/xml-format/),
  and XWiki's importer, which reads it with a streaming parser (xwiki-contrib/confluence,
  ``confluence-xml/.../filter/input/ConfluenceXMLPackage.java``: classes ``Space``, ``Page``, ``BlogPost``,
  ``Comment``, ``Attachment``, ``BodyContent``...).
* Content has versions. Confluence keeps the current object's id and saves each older version as a clone whose
  ``originalVersion`` points at the current object (Javadoc of ``com.atlassian.confluence.core.Versioned``,
  docs.atlassian.com/ConfluenceServer/javadoc/9.0.3). In the export that clone carries ``<property
  name="originalVersion" class="Page" ...><id name="id">...</id></property>``; XWiki's importer registers "only
  current pages (they will take care of handling their history)": the objects without ``originalVersion``.
  Newer exports write the link as ``originalVersionId`` (attachments, in XWiki's importer; and a Confluence to
  Markdown converter's changelog of 2023 found pages linked that way too), so both are read.
* ``contentStatus`` tells published content from the rest: ``current``, ``draft`` and ``deleted`` (trashed).
  Confluence counts its own "current pages" as ``PREVVER is null and CONTENT_STATUS = 'current'`` (and drafts,
  trashed content separately) in ``HibernatePageDao.getPageStatistics`` and blog posts alike; its HQL for
  current pages is ``latest.originalVersion is null and latest.contentStatus = 'current'`` (Confluence's own
  DAO as found in the code index). The REST API's ``ContentStatus`` names the same states CURRENT, DRAFT,
  HISTORICAL and TRASHED (Javadoc ``com.atlassian.confluence.api.model.content.ContentStatus``).
* So a page, blog post, comment or attachment is counted when it has no ``originalVersion`` (nor
  ``originalVersionId``) and its ``contentStatus`` is ``current``; an object without a ``contentStatus`` (exports
  older than the property) counts as current. Every ``Space`` object is counted (archived and personal spaces
  too: they are in the backup).
* Real exports can carry control characters that XML 1.0 forbids (XWiki's importer reads through
  ``WithoutControlCharactersReader`` and ``WithoutBackSpacesReader`` for that reason); they are dropped from the
  stream before parsing (single bytes below 0x20 other than tab, line feed and carriage return: UTF-8
  multi-byte sequences never contain them).
* Where the file sits: at the top for Data Center and classic exports; a Cloud ``Site_Backup.zip`` need not have
  it at the top (docs/emulator_evidence.md, "Zip layout"). The member whose base name is ``entities.xml`` is used,
  the shallowest (then shortest) path first. No such member, a file that does not parse, another root element, or
  a file without a single object: the inventory is unknown (None counts and a reason), never a count of zero.

Memory stays flat for a multi-GB file: the member is read through ``zipfile.ZipFile.open`` in 64 KiB chunks and
parsed with ``xml.etree.ElementTree.iterparse``; each finished ``object`` is cleared and dropped from its parent.
The "start" events are asked for as well, only to know the open elements (a finished object's parent).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import zipfile
import zlib
import xml.etree.ElementTree as ET

COUNT_NAMES = ("spaces", "pages", "blog_posts", "comments", "attachments")
# The object classes counted, by the count they go to.
_CLASSES = {"Space": "spaces", "Page": "pages", "BlogPost": "blog_posts", "Comment": "comments",
            "Attachment": "attachments"}
ENTITIES_NAME = "entities.xml"
ROOT_TAG = "hibernate-generic"
CHUNK_SIZE = 1024 * 1024
# What the XML parser is fed at a time: larger feeds queue more events (and elements) before they are handled,
# and measured slower (about 75 MB/s at 1 MiB against 90 MB/s at 16 to 64 KiB on element-heavy exports).
FEED_SIZE = 64 * 1024
# Bytes that XML 1.0 forbids (all below 0x20 but tab, line feed and carriage return).
_FORBIDDEN = bytes(bytearray(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D)))
# What reading a member can raise besides a parse error: a bad CRC or header, an unsupported or broken
# compression, an encrypted member, a short or unreadable file.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError,
                OSError, IOError)


class ArchiveError(Exception):
    """A member could not be read back intact: ``member`` names it (None when the archive as a whole is bad)."""

    def __init__(self, msg, member=None):
        super(ArchiveError, self).__init__(msg)
        self.msg = msg
        self.member = member


class _NotConfluence(Exception):
    pass


def find_entities(names):
    """The member holding entities.xml: base name ``entities.xml`` (any case), shallowest then shortest path."""
    found = [n for n in names if not n.endswith("/") and n.replace("\\", "/").rsplit("/", 1)[-1].lower() == ENTITIES_NAME]
    if not found:
        return None
    return sorted(found, key=lambda n: (n.replace("\\", "/").count("/"), len(n), n))[0]


class _Cleaned(object):
    """A member's bytes, FEED_SIZE at a time, without the control characters XML 1.0 forbids."""

    def __init__(self, member):
        self.member = member

    def read(self, size=-1):  # pylint: disable=unused-argument
        return self.member.read(FEED_SIZE).translate(None, _FORBIDDEN)


def _is_current(elem):
    """A content object that is its own latest version (no ``originalVersion``) and ``current``."""
    status = None
    for child in elem:
        if child.tag != "property":
            continue
        name = child.get("name")
        if name == "contentStatus":
            status = (child.text or "").strip()
        elif name == "originalVersion":
            if len(child) or (child.text or "").strip():
                return False
        elif name == "originalVersionId":
            if (child.text or "").strip():
                return False
    return status in (None, "", "current")


def _property(elem, name):
    """The child ``<property name=...>`` of an object, or None."""
    for child in elem:
        if child.tag == "property" and child.get("name") == name:
            return child
    return None


def _own_id(elem):
    for child in elem:
        if child.tag == "id":
            return (child.text or "").strip() or None
    return None


def _space_ref(elem):
    """The id of the space a page or blog post belongs to (its ``space`` property holds an ``<id>``), or None."""
    prop = _property(elem, "space")
    return _own_id(prop) if prop is not None else None


def _by_space(space_keys, per_space):
    """``{space key: {"pages": n, "blog_posts": n}}`` for every space of the export (content of an unknown space
    id is left out: the export names no key for it)."""
    result = {}
    for space_id, key in space_keys.items():
        result[key] = dict(per_space.get(space_id) or {"pages": 0, "blog_posts": 0})
    return result


def count_entities(stream, by_space=None):
    """Counts of current content in an entities.xml stream (a file object whose ``read`` returns bytes).

    Returns ``(counts, objects)``. Raises ``xml.etree.ElementTree.ParseError``, or ``_NotConfluence`` when the root
    element is not ``hibernate-generic``. A dict given as ``by_space`` is filled with the current pages and blog
    posts of each space, by its key (a page names its space by the id in its ``space`` property; the ``Space``
    object holds the ``key``, in any order in the file).
    """
    counts = dict.fromkeys(COUNT_NAMES, 0)
    objects = 0
    stack = []
    space_keys = {}
    per_space = {}
    for event, elem in ET.iterparse(stream, events=("start", "end")):
        if event == "start":
            if not stack and elem.tag != ROOT_TAG:
                raise _NotConfluence("its root element is <%s>, not <%s>" % (elem.tag[:80], ROOT_TAG))
            stack.append(elem)
            continue
        stack.pop()
        if elem.tag == "object":
            objects += 1
            name = _CLASSES.get(elem.get("class"))
            if name is not None and (name == "spaces" or _is_current(elem)):
                counts[name] += 1
                if by_space is not None:
                    _count_in_space(elem, name, space_keys, per_space)
            elem.clear()
            if stack:
                del stack[-1][:]  # the finished object (and finished siblings) leave their parent
        elif len(stack) == 1:
            del stack[0][:]  # another finished child of the root
    if by_space is not None:
        by_space.update(_by_space(space_keys, per_space))
    return counts, objects


def _count_in_space(elem, name, space_keys, per_space):
    if name == "spaces":
        key = _property(elem, "key")
        space_id = _own_id(elem)
        if key is not None and (key.text or "").strip() and space_id:
            space_keys[space_id] = key.text.strip()
    elif name in ("pages", "blog_posts"):
        space_id = _space_ref(elem)
        if space_id:
            slot = per_space.setdefault(space_id, {"pages": 0, "blog_posts": 0})
            slot[name] += 1


def unknown(reason, member=None):
    """An inventory that could not be counted: None counts and the reason."""
    result = dict.fromkeys(COUNT_NAMES)
    result.update(entities_member=member, objects=None, reason=reason)
    return result


def read_inventory(zip_path):
    """The inventory of the Confluence backup ``zip_path``, streamed.

    Returns ``{"spaces", "pages", "blog_posts", "comments", "attachments", "entities_member", "objects",
    "reason", "by_space"}``: the counts of current content, the member read, the number of objects in it, ``reason``
    None, and the current pages and blog posts of each space by its key.
    When it cannot be counted (no entities.xml, a file that does not parse, is not a Confluence export or holds no
    object, a member that cannot be read), the counts and ``objects`` are None and ``reason`` says why.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except _READ_ERRORS as exc:
        return unknown("%s is not a readable zip archive (%s)" % (zip_path, exc))
    with archive:
        member = find_entities(archive.namelist())
        if member is None:
            return unknown("the archive has no entities.xml (%d members, none named entities.xml in any folder): "
                           "not a Confluence export in a layout this reader knows" % len(archive.namelist()))
        try:
            spaces = {}
            with archive.open(member) as handle:
                counts, objects = count_entities(_Cleaned(handle), spaces)
        except ET.ParseError as exc:
            return unknown("%s could not be parsed as XML (%s)" % (member, exc), member)
        except _NotConfluence as exc:
            return unknown("%s is not a Confluence export: %s" % (member, exc), member)
        except _READ_ERRORS as exc:
            return unknown("%s could not be read (%s: %s)" % (member, type(exc).__name__, exc), member)
    if not objects:
        # A real export always holds objects (users, permissions, settings), even for a site without content.
        return unknown("%s holds no objects: not a Confluence export this reader can count" % member, member)
    result = dict(counts)
    result.update(entities_member=member, objects=objects, reason=None, by_space=spaces)
    return result


def check_archive(zip_path, chunk_size=CHUNK_SIZE):
    """Read every member of ``zip_path`` back, streamed, so that zipfile checks each one's CRC-32 at its end.

    Returns ``{"members": count, "bytes": uncompressed bytes read}``. Raises :class:`ArchiveError` naming the first
    member that is not intact (a bad CRC, a damaged header or compressed stream, a member cut short), or a member
    whose path leaves its folder.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except _READ_ERRORS as exc:
        raise ArchiveError("%s is not a readable zip archive (%s)." % (zip_path, exc))
    total = 0
    with archive:
        infos = archive.infolist()
        if not infos:
            raise ArchiveError("%s is an empty zip archive." % zip_path)
        for info in infos:
            if _leaves_folder(info.filename):
                raise ArchiveError("Member %r of %s has a path that leaves its folder: the archive is not a backup "
                                   "to restore." % (info.filename[:200], zip_path), member=info.filename)
        size = os.path.getsize(zip_path)
        for info in infos:
            if info.header_offset < 0 or info.header_offset >= size:
                raise ArchiveError("The zip directory of %s points outside the file for member %r." % (
                    zip_path, info.filename[:200]), member=info.filename)
            try:
                with archive.open(info) as member:
                    while True:
                        block = member.read(chunk_size)
                        if not block:
                            break
                        total += len(block)
            except _READ_ERRORS as exc:
                raise ArchiveError("Member %r of %s is corrupt: %s." % (info.filename[:200], zip_path, exc),
                                   member=info.filename)
    return dict(members=len(infos), bytes=total)


def compare(current, previous, max_drop_percent):
    """The counts that dropped by more than ``max_drop_percent`` from ``previous`` to ``current``.

    Returns a list of ``{"name", "before", "after", "percent"}`` (``percent``: the drop, rounded to 0.1), in the
    order of COUNT_NAMES. A count unknown on either side, or zero before, is not compared.
    """
    drops = []
    if not current or not previous:
        return drops
    for name in COUNT_NAMES:
        before, after = previous.get(name), current.get(name)
        if not _is_count(before) or not _is_count(after) or before <= 0:
            continue
        percent = (before - after) * 100.0 / before
        if percent > max_drop_percent:
            drops.append(dict(name=name, before=before, after=after, percent=round(percent, 1)))
    return drops


def describe_drops(drops):
    """``pages 1200 -> 400 (-66.7 %), comments 300 -> 10 (-96.7 %)``."""
    return ", ".join("%s %d -> %d (-%.1f %%)" % (d["name"].replace("_", " "), d["before"], d["after"], d["percent"])
                     for d in drops)


def describe_counts(inventory):
    """``2 spaces, 1200 pages, 40 blog posts, 300 comments, 500 attachments``."""
    return ", ".join("%d %s" % (inventory[name], name.replace("_", " ")) for name in COUNT_NAMES)


def counts_of(inventory):
    """The five counts of an inventory when all are known, else None."""
    if not isinstance(inventory, dict):
        return None
    counts = dict((name, inventory.get(name)) for name in COUNT_NAMES)
    return counts if all(_is_count(v) for v in counts.values()) else None


def _leaves_folder(name):
    norm = name.replace("\\", "/")
    return norm.startswith("/") or bool(re.match(r"^[A-Za-z]:", norm)) or ".." in norm.split("/")


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
