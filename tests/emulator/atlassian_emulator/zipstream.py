# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A valid zip archive of an exact size, generated on the fly.

The archive is described as a list of segments (header bytes, small files, and
large members whose bytes repeat a 1 MiB random pattern), so any byte range can
be produced without building the file: a 4 GiB backup needs about 2 MiB of
memory and no disk. Members are STORED (no compression) with correct CRC-32s;
ZIP64 records are added when offsets pass 4 GiB, so ``zipfile`` (and ``unzip``)
read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import random
import struct
import zlib

PATTERN_SIZE = 1024 * 1024
BLOB_MAX = 512 * 1024 * 1024
ZIP64_LIMIT = 0xFFFFFFFF
DOS_TIME = (0, 0)  # filled per archive
MIN_SIZE = 4096
# layout "nested": a Cloud Site_Backup.zip need not carry entities.xml at the top (docs/emulator_evidence.md).
NESTED_ENTITIES = "export/entities.xml"


def _dos_datetime(epoch):
    import time
    t = time.gmtime(epoch)
    dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    dos_date = ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    return dos_time, dos_date


INVENTORY_KEYS = ("spaces", "pages", "blog_posts", "comments", "attachments")
_PAGES = 'class="Page" package="com.atlassian.confluence.pages"'
_BLOG = 'class="BlogPost" package="com.atlassian.confluence.pages"'


class _Entities(object):
    """The objects of an entities.xml, written in order; ids count up from ``seed * 10**9``."""

    def __init__(self, site, seed, body_size):
        self.out = ['<?xml version="1.0" encoding="UTF-8"?>', '<hibernate-generic datetime="2026-01-01 00:00:00">']
        self.add = self.out.append
        self.last_id = seed * 10 ** 9
        self.site = site
        self.body_size = body_size
        self.words = ("<p>Page %s of " + site + ": lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>")

    def new_id(self):
        self.last_id += 1
        return self.last_id

    @staticmethod
    def ref(name, cls, ident):
        return '<property name="%s" class="%s" package="com.atlassian.confluence.%s"><id name="id">%d</id></property>' % (
            name, cls, "spaces" if cls == "Space" else "pages", ident)

    def content(self, kind, ident, title, space, status="current", extra=""):
        self.add('<object %s>\n<id name="id">%d</id>\n<property name="title"><![CDATA[%s]]></property>\n%s\n'
                 '<property name="version">1</property>\n<property name="contentStatus"><![CDATA[%s]]></property>\n'
                 '<property name="creationDate">2025-12-01 10:00:00.000</property>%s\n</object>'
                 % (kind, ident, title, self.ref("space", "Space", space), status, extra))

    def body(self, owner, text_id):
        text = (self.words % text_id) * (self.body_size // 80 + 1)
        self.add('<object class="BodyContent" package="com.atlassian.confluence.core">\n<id name="id">%d</id>\n'
                 '<property name="body"><![CDATA[%s]]></property>\n%s\n<property name="bodyType">2</property>\n</object>'
                 % (self.new_id(), text[:self.body_size], self.ref("content", "Page", owner)))

    def permission(self, space):
        self.add('<object class="SpacePermission" package="com.atlassian.confluence.security">\n<id name="id">%d</id>\n'
                 '<property name="type"><![CDATA[VIEWSPACE]]></property>\n%s\n</object>'
                 % (self.new_id(), self.ref("space", "Space", space)))

    def page(self, index, space, title):
        """A current page with its body; every fourth (by ``index``) has one historical version."""
        page = self.new_id()
        if index % 4 == 0:
            # One historical version for every fourth page: a clone pointing at its current page.
            old = self.new_id()
            self.content(_PAGES, old, "%s (v1)" % title, space, extra="\n" + self.ref("originalVersion", "Page", page))
            history = ('\n<collection name="historicalVersions" class="java.util.Collection"><element %s>'
                       '<id name="id">%d</id></element></collection>' % (_PAGES, old))
        else:
            history = ""
        self.content(_PAGES, page, title, space, extra=history)
        self.body(page, index)
        return page

    def not_current(self, first_page_space, first_post_space, first_post):
        """A draft and a trashed page, a draft blog post and an old version of a blog post: none of them count."""
        if first_page_space is not None:
            self.content(_PAGES, self.new_id(), "A draft, never published", first_page_space, status="draft")
            self.content(_PAGES, self.new_id(), "A page in the trash", first_page_space, status="deleted")
        if first_post_space is not None:
            self.content(_BLOG, self.new_id(), "A draft blog post", first_post_space, status="draft")
            self.content(_BLOG, self.new_id(), "Blog post 0 (v1)", first_post_space,
                         extra="\n" + self.ref("originalVersion", "BlogPost", first_post))

    def comments_and_attachments(self, counts, owners):
        owners = owners or [self.new_id()]
        for index in range(counts["comments"]):
            self.add('<object class="Comment" package="com.atlassian.confluence.pages">\n<id name="id">%d</id>\n%s\n'
                     '<property name="contentStatus"><![CDATA[current]]></property>\n</object>'
                     % (self.new_id(), self.ref("containerContent", "Page", owners[index % len(owners)])))
        attachments = []
        for index in range(counts["attachments"]):
            attachments.append(self.new_id())
            self.add('<object class="Attachment" package="com.atlassian.confluence.pages">\n<id name="id">%d</id>\n'
                     '<property name="title"><![CDATA[file-%d.png]]></property>\n%s\n<property name="version">2</property>\n'
                     '<property name="contentStatus"><![CDATA[current]]></property>\n</object>'
                     % (attachments[-1], index, self.ref("containerContent", "Page", owners[index % len(owners)])))
        if counts["attachments"]:
            self.add('<object class="Attachment" package="com.atlassian.confluence.pages">\n<id name="id">%d</id>\n'
                     '<property name="title"><![CDATA[file-0.png]]></property>\n<property name="version">1</property>\n'
                     '<property name="contentStatus"><![CDATA[current]]></property>\n'
                     '<property name="originalVersionId"><![CDATA[%d]]></property>\n</object>' % (self.new_id(), attachments[0]))
            self.add('<object class="Attachment" package="com.atlassian.confluence.pages">\n<id name="id">%d</id>\n'
                     '<property name="title"><![CDATA[deleted.png]]></property>\n'
                     '<property name="contentStatus"><![CDATA[deleted]]></property>\n</object>' % self.new_id())

    def text(self):
        self.add("</hibernate-generic>")
        return ("\n".join(self.out) + "\n").encode("utf-8")


def entities_xml(inventory, site="example.atlassian.net", seed=1, spaces=None):
    """A Confluence-like entities.xml whose *current* content has the counts of ``inventory``.

    The shape follows Confluence's hibernate-generic export (sources in plugins/module_utils/store/inventory.py): one
    ``<object class=... package=...>`` per row, ``<id name="id">``, ``<property name=...>``, references as a
    property with a ``class`` and an ``<id>``. Beside the counted content it holds what a reader must NOT count:
    historical versions (``originalVersion``, or ``originalVersionId`` for attachments), a draft and a trashed
    (``deleted``) page, a draft blog post, a deleted attachment, and objects of other classes. ``inventory`` may
    also give ``body_size``: the bytes of each page's body (200 by default), to make the file as large as needed.

    ``spaces``: real spaces instead of ``inventory``'s counts of spaces, pages and blog posts, as a list of
    ``{"key", "name", "type", "status", "pages", "blog_posts"}`` (the emulator's content, content.py): each
    ``Space`` object has its key, name, ``spaceType`` and ``spaceStatus``, and each of its pages and blog posts
    names it in its ``space`` property, so that a reader counts the current pages per space key. The comments and
    attachments of ``inventory`` are spread over those pages. Without ``spaces`` the output is byte for byte what
    it always was.
    """
    counts = dict((key, int(inventory.get(key) or 0)) for key in INVENTORY_KEYS)
    doc = _Entities(site, seed, int(inventory.get("body_size", 200)))
    if spaces is not None:
        return _by_space(doc, spaces, counts)
    ids = [doc.new_id() for _i in range(max(counts["spaces"], 1))]
    for index, space in enumerate(ids[:counts["spaces"]]):
        doc.add('<object class="Space" package="com.atlassian.confluence.spaces">\n<id name="id">%d</id>\n'
                '<property name="name"><![CDATA[Space %d]]></property>\n<property name="key"><![CDATA[S%d]]></property>\n'
                '<property name="spaceStatus"><![CDATA[CURRENT]]></property>\n</object>' % (space, index, index))
        doc.permission(space)
    pages = [doc.page(index, ids[index % len(ids)], "Page %d of %s" % (index, site)) for index in range(counts["pages"])]
    if counts["pages"]:
        doc.not_current(ids[0], None, None)
    posts = []
    for index in range(counts["blog_posts"]):
        posts.append(doc.new_id())
        doc.content(_BLOG, posts[-1], "Blog post %d" % index, ids[index % len(ids)])
    if counts["blog_posts"]:
        doc.not_current(None, ids[0], posts[0])
    doc.comments_and_attachments(counts, pages + posts)
    return doc.text()


def _by_space(doc, spaces, counts):
    ids, homes = [], []
    for space in spaces:
        ids.append(doc.new_id())
        homes.append(doc.new_id() if space.get("pages") else None)
    for space, ident, home in zip(spaces, ids, homes):
        home_ref = "\n" + doc.ref("homePage", "Page", home) if home is not None else ""
        doc.add('<object class="Space" package="com.atlassian.confluence.spaces">\n<id name="id">%d</id>\n'
                '<property name="name"><![CDATA[%s]]></property>\n<property name="key"><![CDATA[%s]]></property>\n'
                '<property name="lowerKey"><![CDATA[%s]]></property>%s\n'
                '<property name="spaceType">%s</property>\n<property name="spaceStatus" enum-class="SpaceStatus" '
                'package="com.atlassian.confluence.spaces">%s</property>\n</object>'
                % (ident, space.get("name") or space["key"], space["key"], space["key"].lower(), home_ref,
                   space.get("type") or "global", (space.get("status") or "current").upper()))
        doc.permission(ident)
    owners, first_page_space, first_post_space, first_post = [], None, None, None
    for space, ident, home in zip(spaces, ids, homes):
        for index in range(int(space.get("pages") or 0)):
            title = "Page %d of %s" % (index, space["key"])
            if index == 0:
                # The home page: its id was given to the space above.
                doc.content(_PAGES, home, title, ident)
                doc.body(home, index)
                owners.append(home)
            else:
                owners.append(doc.page(index, ident, title))
        first_page_space = ident if first_page_space is None and space.get("pages") else first_page_space
        for index in range(int(space.get("blog_posts") or 0)):
            owners.append(doc.new_id())
            doc.content(_BLOG, owners[-1], "Blog post %d of %s" % (index, space["key"]), ident)
            if first_post is None:
                first_post_space, first_post = ident, owners[-1]
    doc.not_current(first_page_space, first_post_space, first_post)
    doc.comments_and_attachments(counts, owners)
    return doc.text()


class BackupZip(object):
    """A deterministic Confluence-like site backup of exactly ``size`` bytes."""

    def __init__(self, size, seed=1, created=1767225600, site="example.atlassian.net", extra_member=None,
                 layout="flat", descriptor=None, inventory=None, attachments=True, entities=None):
        """``descriptor``: the text of exportDescriptor.properties (None: the Cloud site backup's, whose
        ``backupAttachments`` follows ``attachments``: a Cloud export's descriptor has the key, as Data Center's).

        ``inventory``: counts of current content for a realistic entities.xml (see :func:`entities_xml`), for
        example ``{"spaces": 2, "pages": 1200, "blog_posts": 40, "comments": 300, "attachments": 500}``; None keeps
        the small default entities.xml (and the archive's bytes) exactly as before.

        ``entities``: the bytes of entities.xml itself (e.g. :func:`entities_xml` with ``spaces``), over ``inventory``.
        """
        if size < MIN_SIZE:
            raise ValueError("backup size must be at least %d bytes" % MIN_SIZE)
        self.size = int(size)
        self.seed = seed
        self.cache_key = (self.size, seed, int(created), site, extra_member, layout)
        if descriptor is not None:
            self.cache_key += (descriptor,)
        if not attachments:
            self.cache_key += ("no attachments",)
        if inventory is not None:
            self.cache_key += (tuple(sorted(inventory.items())),)
        if entities is not None:
            self.cache_key += (hashlib.sha256(entities).hexdigest(),)
        rnd = random.Random(seed)
        self.pattern = bytes(rnd.getrandbits(8) for _i in range(256)) * (PATTERN_SIZE // 256)
        # Make the pattern non-periodic at 256 bytes: mix in a second stream.
        self.pattern = bytes(bytearray((b ^ (i * 131 + seed) & 0xFF) for i, b in enumerate(self.pattern[:4096]))) + \
            self.pattern[4096:]
        self.double = memoryview(self.pattern + self.pattern)
        self.dos_time, self.dos_date = _dos_datetime(created)
        self.small = [
            (NESTED_ENTITIES if layout == "nested" else "entities.xml",
             entities if entities is not None else
             self._entities_xml(site, seed) if inventory is None else entities_xml(inventory, site, seed)),
            ("exportDescriptor.properties", descriptor.encode("utf-8") if descriptor is not None else (
                "#Confluence site export\nexportType=all\nsource=cloud\n"
                "supportEntitlementNumber=SEN-%d\ncreatedByBuildNumber=9012\n"
                "backupAttachments=%s\n" % (seed, "true" if attachments else "false")).encode("ascii")),
        ]
        if extra_member:
            # A hostile archive: a member whose path leaves the folder it is extracted into.
            self.small.append((extra_member, b"this file tries to escape the extraction folder\n"))
        self._crc_cache = {}
        self.segments = self._layout()
        self._sha256 = None

    @staticmethod
    def _entities_xml(site, seed):
        body = ['<?xml version="1.0" encoding="UTF-8"?>', '<hibernate-generic datetime="2026-01-01 00:00:00">']
        for i in range(20):
            body.append('<object class="Page" package="com.atlassian.confluence.pages"><id name="id">%d</id>'
                        '<property name="title"><![CDATA[Page %d of %s]]></property></object>'
                        % (seed * 1000 + i, i, site))
        body.append("</hibernate-generic>")
        return ("\n".join(body) + "\n").encode("utf-8")

    # ----------------------------------------------------------------- layout
    def _blob_crc(self, length):
        if length not in self._crc_cache:
            crc = 0
            full, rest = divmod(length, PATTERN_SIZE)
            for _i in range(full):
                crc = zlib.crc32(self.pattern, crc)
            crc = zlib.crc32(self.pattern[:rest], crc)
            self._crc_cache[length] = crc & 0xFFFFFFFF
        return self._crc_cache[length]

    def _plan(self, blob_sizes):
        """Segments for the given blob sizes: list of (kind, length, payload)."""
        members = [(name, len(data), zlib.crc32(data) & 0xFFFFFFFF, ("bytes", data)) for name, data in self.small]
        for index, length in enumerate(blob_sizes):
            members.append(("attachments/%d/%d/data.bin" % (index // 100, index), length, None, ("pattern", length)))
        segments = []
        offset = 0
        central = []
        for name, length, crc, payload in members:
            if crc is None:
                crc = self._blob_crc(length)
            name_b = name.encode("ascii")
            local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, self.dos_time, self.dos_date, crc,
                                length, length, len(name_b), 0) + name_b
            segments.append(("bytes", local))
            segments.append(payload)
            central.append((name_b, length, crc, offset))
            offset += len(local) + length
        cd_start = offset
        cd = []
        for name_b, length, crc, local_offset in central:
            extra = b""
            off_field = local_offset
            if local_offset >= ZIP64_LIMIT:
                extra = struct.pack("<HHQ", 0x0001, 8, local_offset)
                off_field = ZIP64_LIMIT
            version = 45 if extra else 20
            cd.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, 0, 0, self.dos_time,
                                  self.dos_date, crc, length, length, len(name_b), len(extra), 0, 0, 0, 0o100600 << 16,
                                  off_field) + name_b + extra)
        cd_bytes = b"".join(cd)
        count = len(central)
        tail = b""
        need64 = cd_start >= ZIP64_LIMIT or cd_start + len(cd_bytes) >= ZIP64_LIMIT or count >= 0xFFFF
        if need64:
            z64_offset = cd_start + len(cd_bytes)
            tail += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(cd_bytes), cd_start)
            tail += struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
            tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                min(len(cd_bytes), ZIP64_LIMIT), ZIP64_LIMIT, 0)
        else:
            tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd_bytes), cd_start, 0)
        segments.append(("bytes", cd_bytes + tail))
        return segments

    @staticmethod
    def _total(segments):
        return sum(len(p[1]) if p[0] == "bytes" else p[1] for p in segments)

    def _layout(self):
        overhead = self._total(self._plan([]))
        blobs = []
        # Converge: overhead depends on the number of blobs and on ZIP64 records.
        for _i in range(6):
            data = self.size - overhead
            if data < 0:
                raise ValueError("backup size %d is too small" % self.size)
            count = max(1, -(-data // BLOB_MAX))
            base, extra = divmod(data, count)
            blobs = [base + (1 if i < extra else 0) for i in range(count)]
            segments = self._plan(blobs)
            total = self._total(segments)
            if total == self.size:
                return self._index(segments)
            overhead += total - self.size
        raise ValueError("could not lay out a zip of %d bytes" % self.size)

    @staticmethod
    def _index(segments):
        indexed = []
        start = 0
        for kind, payload in segments:
            length = len(payload) if kind == "bytes" else payload
            indexed.append((start, length, kind, payload))
            start += length
        return indexed

    # ------------------------------------------------------------------ bytes
    def iter_range(self, start=0, end=None, chunk=PATTERN_SIZE):
        """Yield memoryviews covering bytes [start, end) (end exclusive)."""
        end = self.size if end is None else min(end, self.size)
        pos = start
        for seg_start, length, kind, payload in self.segments:
            seg_end = seg_start + length
            if seg_end <= pos:
                continue
            if seg_start >= end:
                break
            while pos < min(seg_end, end):
                inner = pos - seg_start
                want = min(seg_end, end) - pos
                if kind == "bytes":
                    piece = memoryview(payload)[inner:inner + min(want, chunk)]
                else:
                    p = inner % PATTERN_SIZE
                    piece = self.double[p:p + min(want, chunk, PATTERN_SIZE)]
                yield piece
                pos += len(piece)

    def read(self, start, length):
        return b"".join(bytes(p) for p in self.iter_range(start, start + length))

    def sha256(self):
        if self._sha256 is None:
            digest = hashlib.sha256()
            for piece in self.iter_range():
                digest.update(piece)
            self._sha256 = digest.hexdigest()
        return self._sha256
