# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A generated Confluence Cloud site, computed from a seed item by item: nothing is built until it is read.

The site holds spaces, and per space pages (a tree: the first page is the space's home page, page ``j`` is a child of
page ``(j - 1) // fanout``) and blog posts; per page or blog post versions, a body in storage format, labels,
properties, footer and inline comments and attachments. Every value is a function of the seed and the item's id, so
10,000 pages cost no memory until something changes them: edits, additions, trashing and purging are kept as small
overlays (one entry per changed item). Attachment bytes are a 1 MiB pattern read from an offset the attachment's id and
version choose, after a 64-byte header naming them: streamed, never held.

Ids (strings in the API), as ``confluence_rest._content_id`` gives them so that the space list's ``homepageId`` and
CQL counts agree: page ``j`` of the space with id ``s``: ``s * 10**8 + j + 1``; blog post ``j``:
``s * 10**8 + 5 * 10**7 + j + 1``; attachment ``n`` of the content ``c``: ``att<c * 100 + n>``; footer comment ``n``:
``c * 1000 + 100 + n``, inline comment ``n``: ``c * 1000 + 200 + n``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import random
import uuid

SPACE_ID_BASE = 98304
PER_SPACE = 10 ** 8
BLOG_OFFSET = 5 * 10 ** 7
EPOCH = 1735689600             # 2025-01-01T00:00:00Z: the generated content's history starts here
PATTERN_SIZE = 1024 * 1024
HEADER = 64
STATUSES = ("current", "archived", "trashed")
WORDS = ("howto", "runbook", "release-notes", "architecture", "meeting-notes", "decision", "onboarding", "faq",
         "security", "roadmap", "retrospective", "incident", "api", "design", "draft-review", "archive")
MEDIA = ((".txt", "text/plain", "Text File"), (".png", "image/png", "PNG Image"),
         (".pdf", "application/pdf", "PDF Document"), (".bin", "application/octet-stream", "File"))

DEFAULTS = {
    "seed": 1,
    "spaces": 3,
    "pages": 30,
    "blogposts": 6,
    "attachments": 10,
    "attachment_size": 4096,     # bytes, or [min, max]
    "labels": 2,                 # per page and blog post
    "properties": 1,
    "footer_comments": 1,
    "inline_comments": 1,
    "max_versions": 3,           # each item starts with 1..max_versions versions
    "archived_pages": 0,         # the last pages of the site (before the trashed ones) are archived
    "trashed_pages": 0,          # the last pages of the site are in the trash
    "fanout": 10,
    "key_prefix": "GEN",
    "body_size": 300,            # about this many bytes of storage format per body
}

_PATTERN = []


def pattern():
    """The 1 MiB the attachments' bytes are read from (twice over, so that any slice of it is one slice)."""
    if not _PATTERN:
        data = random.Random(20240601).randbytes(PATTERN_SIZE)
        _PATTERN.append(data + data)
    return _PATTERN[0]


def h(*parts):
    """A stable 64-bit number from ``parts``."""
    return int.from_bytes(hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest(), "big")


def iso(seconds):
    """``2025-01-01T00:00:00.000Z`` from epoch seconds (milliseconds kept)."""
    import datetime
    when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (when.microsecond // 1000)


class SiteError(ValueError):
    """A generation or change request the site cannot apply (the control API answers it 400)."""


class AttachmentBytes(object):
    """An attachment version's bytes, for the media host: ``size``, ``seed``, ``cache_key``, ``open()``."""

    def __init__(self, att_id, version, size, seed):
        self.att_id, self.version, self.size = att_id, version, size
        self.seed = h(seed, att_id, version) % (2 ** 31)
        self.cache_key = ("v2-attachment", att_id, version, size, seed)
        self.header = ("%s version %d of %d bytes\n" % (att_id, version, size)).encode().ljust(HEADER, b".")
        self.offset = self.seed % PATTERN_SIZE

    def read_at(self, position, count):
        out = []
        end = min(self.size, position + count)
        if position < HEADER and position < end:
            out.append(self.header[position:min(HEADER, end)])
            position = min(HEADER, end)
        data = pattern()
        while position < end:
            start = (self.offset + position) % PATTERN_SIZE
            take = min(end - position, PATTERN_SIZE)
            out.append(data[start:start + take])
            position += take
        return b"".join(out)

    def iter_range(self, start=0, end=None, chunk=1024 * 1024):
        end = self.size if end is None else end
        while start < end:
            piece = self.read_at(start, min(chunk, end - start))
            yield piece
            start += len(piece)

    def open(self):
        return _Reader(self)

    def sha256(self):
        digest = hashlib.sha256()
        for piece in self.iter_range():
            digest.update(piece)
        return digest.hexdigest()


class StoredBytes(AttachmentBytes):
    """The bytes of an attachment version uploaded through the API (kept in memory: test-sized files only)."""

    def __init__(self, att_id, version, data):
        self.att_id, self.version, self.size, self.data = att_id, version, len(data), data
        digest = hashlib.sha256(data).hexdigest()
        self.seed = int(digest[:8], 16)
        self.cache_key = ("v2-upload", att_id, version, digest)

    def read_at(self, position, count):
        return self.data[position:min(self.size, position + count)]


class _Reader(object):
    """A read-only file over :class:`AttachmentBytes` (``seek``/``read``), for the media host's sender."""

    def __init__(self, blob):
        self.blob, self.position = blob, 0

    def seek(self, position, whence=0):
        self.position = position if whence == 0 else self.position + position if whence == 1 else \
            self.blob.size + position
        return self.position

    def read(self, count=-1):
        if count is None or count < 0:
            count = self.blob.size - self.position
        piece = self.blob.read_at(self.position, count)
        self.position += len(piece)
        return piece

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def spread(total, parts):
    """``total`` items over ``parts`` buckets, the first ones one more."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)] if parts else []


class GeneratedSite(object):
    """One site's content. ``spaces`` are dicts with ``id``, ``key``, ``name`` and the base ``pages`` and
    ``blog_posts`` counts; ``options`` are :data:`DEFAULTS` (the counts there are what ``generate`` spread)."""

    def __init__(self, spaces, options, admin_id):
        self.opt = dict(DEFAULTS, **(options or {}))
        self.seed = self.opt["seed"]
        self.admin = admin_id
        self.spaces = [dict(s) for s in spaces]
        self.by_space_id = dict((s["id"], i) for i, s in enumerate(self.spaces))
        self.base_pages = [s["pages"] for s in self.spaces]
        self.base_blogs = [s["blog_posts"] for s in self.spaces]
        self.page_prefix, self.blog_prefix = self._prefix(self.base_pages), self._prefix(self.base_blogs)
        self.total_pages, self.total_blogs = sum(self.base_pages), sum(self.base_blogs)
        self.total_attachments = int(self.opt["attachments"])
        # overlays: what changed since the generation
        self.added = {}          # (space index, "page"|"blogpost") -> [{"created", "parent", "title"}]
        self.edits = {}          # content id -> [created time of each version after the generated ones]
        self.status = {}         # content id -> status
        self.purged = set()      # content ids
        self.att_added = {}      # content id -> [{"created", "size"}]
        self.att_edits = {}      # attachment number -> [created time of each new version]
        self.att_status = {}     # attachment number -> status
        self.att_purged = set()
        self.events = []         # what the control API changed, in order
        # written through the REST API (POST and PUT of pages and blog posts, v1 labels and attachments)
        self.written = {}        # content id -> {"title", "bodies": {version: storage}, "messages": {version: text}}
        self.api_made = set()    # content ids created through the API: no generated labels, properties, comments
        self.labels_added = {}   # content id -> [{"prefix", "name"}]
        self.att_data = {}       # (attachment number, version) -> bytes uploaded
        self.att_comments = {}   # attachment number -> the comment of its latest upload

    @staticmethod
    def _prefix(counts):
        out, total = [], 0
        for count in counts:
            out.append(total)
            total += count
        return out

    # ------------------------------------------------------------ content ids
    def parse(self, content_id):
        """``(kind, space index, index)`` of a page or blog post id, or None when the site has no such item."""
        try:
            number = int(content_id)
        except (TypeError, ValueError):
            return None
        space = self.by_space_id.get(number // PER_SPACE)
        rest = number % PER_SPACE
        if space is None or rest == 0:
            return None
        kind, index = ("blogpost", rest - BLOG_OFFSET - 1) if rest > BLOG_OFFSET else ("page", rest - 1)
        if index >= self.count(space, kind) or number in self.purged:
            return None
        return kind, space, index

    def content_id(self, kind, space, index):
        return self.spaces[space]["id"] * PER_SPACE + (BLOG_OFFSET if kind == "blogpost" else 0) + index + 1

    def count(self, space, kind):
        base = self.base_pages[space] if kind == "page" else self.base_blogs[space]
        return base + len(self.added.get((space, kind), []))

    def _base_count(self, space, kind):
        return self.base_pages[space] if kind == "page" else self.base_blogs[space]

    def ordinal(self, kind, space, index):
        """The item's place among the generated items of the site (pages first), or None for an added one."""
        if index >= self._base_count(space, kind):
            return None
        if kind == "page":
            return self.page_prefix[space] + index
        return self.total_pages + self.blog_prefix[space] + index

    def _added(self, kind, space, index):
        rows = self.added.get((space, kind), [])
        extra = index - self._base_count(space, kind)
        return rows[extra] if 0 <= extra < len(rows) else None

    def iter_ids(self, kind, spaces=None):
        """Every (not purged) id of ``kind`` in id order, in the spaces given (indexes) or all."""
        for space in (range(len(self.spaces)) if spaces is None else sorted(spaces, key=lambda i: self.spaces[i]["id"])):
            base = self.spaces[space]["id"] * PER_SPACE + (BLOG_OFFSET if kind == "blogpost" else 0) + 1
            for index in range(self.count(space, kind)):
                if base + index not in self.purged:
                    yield base + index

    # ------------------------------------------------------------- item facts
    def item_status(self, content_id):
        found = self.status.get(content_id)
        if found is not None:
            return found
        kind, space, index = self.parse(content_id)
        ordinal = self.ordinal(kind, space, index)
        if kind != "page" or ordinal is None:
            return "current"
        trashed, archived = int(self.opt["trashed_pages"]), int(self.opt["archived_pages"])
        if ordinal >= self.total_pages - trashed:
            return "trashed"
        if ordinal >= self.total_pages - trashed - archived:
            return "archived"
        return "current"

    def created(self, content_id):
        kind, space, index = self.parse(content_id)
        ordinal = self.ordinal(kind, space, index)
        if ordinal is None:
            return self._added(kind, space, index)["created"]
        return EPOCH + ordinal * 60

    def versions(self, content_id):
        """``[(number, created)]`` of every version, oldest first."""
        created = self.created(content_id)
        kind, space, index = self.parse(content_id)
        first = 1 if self.ordinal(kind, space, index) is None else 1 + h(self.seed, "v", content_id) % max(
            1, int(self.opt["max_versions"]))
        out = [(n, created + (n - 1) * 86400 + (h(self.seed, "t", content_id, n) % 3600 if n > 1 else 0))
               for n in range(1, first + 1)]
        for when in self.edits.get(content_id, []):
            out.append((len(out) + 1, when))
        return out

    def title(self, content_id):
        written = self.written.get(content_id)
        if written is not None and written.get("title"):
            return written["title"]
        kind, space, index = self.parse(content_id)
        row = self._added(kind, space, index)
        if row is not None and row.get("title"):
            return row["title"]
        key = self.spaces[space]["key"]
        if kind == "page" and index == 0:
            return "%s Home" % self.spaces[space]["name"]
        return ("Page %d of %s" if kind == "page" else "Blog post %d of %s") % (index, key)

    def parent(self, content_id):
        """The parent page's id, or None (home pages, blog posts)."""
        kind, space, index = self.parse(content_id)
        if kind != "page" or index == 0:
            return None
        row = self._added(kind, space, index)
        if row is not None:
            return row.get("parent") or self.content_id("page", space, 0)
        return self.content_id("page", space, (index - 1) // max(1, int(self.opt["fanout"])))

    def body(self, content_id, version=None):
        """The storage format of a version (the latest by default)."""
        number = version or self.versions(content_id)[-1][0]
        written = self.written.get(content_id, {}).get("bodies", {})
        if number in written:
            return written[number]
        words = []
        rnd = random.Random(h(self.seed, "body", content_id, number))
        size = int(self.opt["body_size"])
        while sum(len(w) + 1 for w in words) < size:
            words.append(WORDS[rnd.randrange(len(WORDS))])
        images = "".join('<ac:image><ri:attachment ri:filename="%s" /></ac:image>' % a["title"]
                         for a in self.attachments(content_id)[:2])
        return "<h1>%s</h1><p>Version %d of %s.</p><p>%s</p>%s" % (
            self.title(content_id), number, content_id, " ".join(words), images)

    def labels(self, content_id):
        start = h(self.seed, "labels", content_id)
        out = [] if content_id in self.api_made else [
            {"id": str(1000 + (start + k) % len(WORDS)), "name": WORDS[(start + k) % len(WORDS)], "prefix": "global"}
            for k in range(min(int(self.opt["labels"]), len(WORDS)))]
        for label in self.labels_added.get(content_id, []):
            if not any(o["name"] == label["name"] and o["prefix"] == label["prefix"] for o in out):
                out.append({"id": str(2000 + h(label["prefix"], label["name"]) % 10 ** 6), "name": label["name"],
                            "prefix": label["prefix"]})
        return out

    def message(self, content_id, number):
        """A version's message: the one written through the API, else the emulator's."""
        written = self.written.get(content_id, {}).get("messages", {})
        if number in written:
            return written[number]
        return "Edited by the emulator" if number > 1 else ""

    def properties(self, content_id):
        if content_id in self.api_made:
            return []
        created = self.created(content_id)
        return [{"id": str(content_id * 100 + k), "key": "emulator-property-%d" % k,
                 "value": {"index": k, "checksum": h(self.seed, "prop", content_id, k) % 10 ** 6},
                 "version": self.version_object(created, 1)} for k in range(int(self.opt["properties"]))]

    def comments(self, content_id, inline):
        if content_id in self.api_made:
            return []
        created = self.created(content_id)
        count = int(self.opt["inline_comments" if inline else "footer_comments"])
        return [{"id": content_id * 1000 + (200 if inline else 100) + n, "created": created + 600 + n * 60, "n": n}
                for n in range(count)]

    def version_object(self, created, number, message=""):
        return {"createdAt": iso(created), "message": message, "number": number, "minorEdit": False,
                "authorId": self.admin}

    # ------------------------------------------------------------ attachments
    def _generated_attachments(self, content_id):
        """The generated attachments' numbers on the item: spread evenly over the site's generated items."""
        kind, space, index = self.parse(content_id)
        ordinal = self.ordinal(kind, space, index)
        total, count = self.total_pages + self.total_blogs, self.total_attachments
        if ordinal is None or not total or not count:
            return []
        if count <= total:
            step = total // count
            return [ordinal // step] if ordinal % step == 0 and ordinal // step < count else []
        return list(range(ordinal, count, total))

    def attachments(self, content_id, with_trashed=False):
        """Attachment facts of an item: ``number`` (the id's digits), ``title``, ``size``, versions, status."""
        out = []
        generated = self._generated_attachments(content_id)
        created = self.created(content_id)
        rows = [(n, created + 120 + n * 10, None, None) for n in range(len(generated))]
        for extra, row in enumerate(self.att_added.get(content_id, [])):
            rows.append((len(generated) + extra, row["created"], row["size"], row))
        for n, when, size, uploaded in rows:
            number = content_id * 100 + n
            if number in self.att_purged:
                continue
            status = self.att_status.get(number, "current")
            if status == "trashed" and not with_trashed:
                continue
            sequence = generated[n] if n < len(generated) else number
            ext, media, description = MEDIA[sequence % len(MEDIA)]
            if size is None:
                size = self._size(sequence)
            versions = [(1, when)] + [(k + 2, t) for k, t in enumerate(self.att_edits.get(number, []))]
            title = "file-%d%s" % (sequence, ext)
            if uploaded is not None and uploaded.get("title"):
                title, media, description = uploaded["title"], uploaded["mediaType"], "File"
            comment = self.att_comments.get(number, "")
            out.append({"number": number, "title": title, "size": size, "comment": comment,
                        "mediaType": media, "mediaTypeDescription": description, "versions": versions,
                        "status": status, "container": content_id})
        return out

    def _size(self, sequence):
        size = self.opt["attachment_size"]
        if isinstance(size, (list, tuple)):
            low, high = int(size[0]), int(size[1])
            return low + h(self.seed, "size", sequence) % (high - low + 1)
        return int(size)

    def attachment(self, att_id, with_trashed=True):
        """The facts of ``att<number>``, or None."""
        text = str(att_id)
        if not text.startswith("att") or not text[3:].isdigit():
            return None
        number = int(text[3:])
        if self.parse(number // 100) is None:
            return None
        return next((a for a in self.attachments(number // 100, with_trashed) if a["number"] == number), None)

    def blob(self, number, version):
        att = self.attachment("att%d" % number)
        if att is None or not 1 <= version <= len(att["versions"]):
            return None
        data = self.att_data.get((number, version))
        if data is not None:
            return StoredBytes("att%d" % number, version, data)
        return AttachmentBytes("att%d" % number, version, self._version_size(att, version), self.seed)

    def _version_size(self, att, version):
        data = self.att_data.get((att["number"], version))
        if data is not None:
            return len(data)
        # a new version of an attachment is a little longer than the one before
        return att["size"] + (version - 1) * 17

    def file_id(self, number, version):
        return str(uuid.uuid5(uuid.NAMESPACE_OID, "%s/%s/%s" % (self.seed, number, version)))

    # -------------------------------------------------------------- changes
    def edit(self, content_id, when):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.edits.setdefault(content_id, []).append(when)
        return self.versions(content_id)[-1][0]

    def add(self, kind, space, when, parent=None, title=None, body=None, api=False):
        rows = self.added.setdefault((space, kind), [])
        if parent is not None:
            found = self.parse(parent)
            if found is None or found[0] != "page" or found[1] != space:
                raise SiteError("the parent %s is not a page of space %s" % (parent, self.spaces[space]["key"]))
        rows.append({"created": when, "parent": int(parent) if parent is not None else None, "title": title})
        content_id = self.content_id(kind, space, self.count(space, kind) - 1)
        if api:
            self.api_made.add(content_id)
        if body is not None:
            self.written[content_id] = {"title": title, "bodies": {1: body}, "messages": {}}
        return content_id

    def add_space(self, key, name, when):
        """A new, empty space with its home page (as Confluence creates one); its index."""
        if any(s["key"] == key for s in self.spaces):
            raise SiteError("the site has a space %s already" % key)
        space_id = max([s["id"] for s in self.spaces] + [SPACE_ID_BASE - 1]) + 1
        self.spaces.append({"id": space_id, "key": key, "name": name, "pages": 0, "blog_posts": 0})
        index = len(self.spaces) - 1
        self.by_space_id[space_id] = index
        self.base_pages.append(0)
        self.base_blogs.append(0)
        self.page_prefix.append(self.total_pages)
        self.blog_prefix.append(self.total_blogs)
        self.add("page", index, when, None, "%s Home" % name, "<p>Welcome to %s.</p>" % name, api=True)
        return index

    def find_title(self, kind, space, title):
        """The current or archived item of ``kind`` titled ``title`` in the space (an index), or None."""
        for content_id in self.iter_ids(kind, [space]):
            if self.item_status(content_id) in ("current", "archived") and self.title(content_id) == title:
                return content_id
        return None

    def write(self, content_id, when, title, body, message=""):
        """A new version of a page or blog post with this title and body; the version's number."""
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        entry = self.written.setdefault(content_id, {"title": None, "bodies": {}, "messages": {}})
        entry["title"] = title
        number = self.edit(content_id, when)
        entry["bodies"][number] = body
        entry["messages"][number] = message or ""
        return number

    def add_label(self, content_id, prefix, name):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        known = self.labels_added.setdefault(content_id, [])
        if not any(k["name"] == name and k["prefix"] == prefix for k in known):
            known.append({"prefix": prefix, "name": name})

    def upload_attachment(self, content_id, when, title, media_type, data, comment=""):
        """A new attachment with these bytes; its id (``att<number>``)."""
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.att_added.setdefault(content_id, []).append({"created": when, "size": len(data), "title": title,
                                                          "mediaType": media_type})
        number = self.attachments(content_id, with_trashed=True)[-1]["number"]
        self.att_data[(number, 1)] = data
        self.att_comments[number] = comment or ""
        return "att%d" % number

    def update_attachment(self, att_id, when, data, comment=None):
        """A new version of the attachment with these bytes; the version's number."""
        number = self._att_number(att_id)
        version = self.edit_attachment(att_id, when)
        self.att_data[(number, version)] = data
        if comment is not None:
            self.att_comments[number] = comment
        return version

    def trash(self, content_id):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.status[content_id] = "trashed"

    def purge(self, content_id):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.purged.add(content_id)
        self.status.pop(content_id, None)

    def restore(self, content_id):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.status[content_id] = "current"

    def add_attachment(self, content_id, when, size):
        if self.parse(content_id) is None:
            raise SiteError("no page or blog post %s" % content_id)
        self.att_added.setdefault(content_id, []).append({"created": when, "size": int(size)})
        return "att%d" % self.attachments(content_id, with_trashed=True)[-1]["number"]

    def _att_number(self, att_id):
        att = self.attachment(att_id)
        if att is None:
            raise SiteError("no attachment %s" % att_id)
        return att["number"]

    def edit_attachment(self, att_id, when):
        number = self._att_number(att_id)
        self.att_edits.setdefault(number, []).append(when)
        return len(self.att_edits[number]) + 1

    def trash_attachment(self, att_id):
        self.att_status[self._att_number(att_id)] = "trashed"

    def purge_attachment(self, att_id):
        number = self._att_number(att_id)
        self.att_purged.add(number)

    # --------------------------------------------------------------- totals
    def totals(self):
        """Counts of the site as the API shows it: by kind and status, attachments (not trashed), comments..."""
        out = {"spaces": len(self.spaces), "pages": {}, "blogposts": {}, "attachments": 0, "attachment_bytes": 0,
               "labels": 0, "properties": 0, "footer_comments": 0, "inline_comments": 0, "versions": 0}
        for kind, key in (("page", "pages"), ("blogpost", "blogposts")):
            counts = dict((s, 0) for s in STATUSES)
            for content_id in self.iter_ids(kind):
                status = self.item_status(content_id)
                counts[status] = counts.get(status, 0) + 1
                atts = self.attachments(content_id)
                out["attachments"] += len(atts)
                out["attachment_bytes"] += sum(self._version_size(a, len(a["versions"])) for a in atts)
                out["versions"] += len(self.versions(content_id))
            out[key] = counts
        per_item = sum(out["pages"].values()) + sum(out["blogposts"].values())
        for name in ("labels", "properties", "footer_comments", "inline_comments"):
            out[name] = per_item * (min(int(self.opt[name]), len(WORDS)) if name == "labels" else int(self.opt[name]))
        return out

    def space_counts(self, space):
        """The current pages and blog posts of a space (what the content store and CQL count)."""
        out = {}
        for kind, key in (("page", "pages"), ("blogpost", "blog_posts")):
            out[key] = sum(1 for c in self.iter_ids(kind, [space]) if self.item_status(c) == "current")
        return out


def generate(options, admin_id):
    """A :class:`GeneratedSite` from the control API's options (see :data:`DEFAULTS`)."""
    opt = dict(DEFAULTS)
    for key, value in (options or {}).items():
        if key not in DEFAULTS and key != "cloud":
            raise SiteError("unknown option %r (known: %s)" % (key, ", ".join(sorted(DEFAULTS))))
        opt[key] = value
    opt.pop("cloud", None)
    for key in ("spaces", "pages", "blogposts", "attachments", "labels", "properties", "footer_comments",
                "inline_comments", "max_versions", "archived_pages", "trashed_pages", "fanout", "body_size"):
        if isinstance(opt[key], bool) or not isinstance(opt[key], int) or opt[key] < 0:
            raise SiteError("%s must be a count, not %r" % (key, opt[key]))
    if opt["spaces"] < 1 or opt["spaces"] > 1000:
        raise SiteError("spaces must be between 1 and 1000")
    if opt["archived_pages"] + opt["trashed_pages"] > opt["pages"]:
        raise SiteError("archived_pages and trashed_pages are more than the pages")
    pages, blogs = spread(opt["pages"], opt["spaces"]), spread(opt["blogposts"], opt["spaces"])
    spaces = [{"id": SPACE_ID_BASE + i, "key": "%s%d" % (opt["key_prefix"], i + 1),
               "name": "Generated space %d" % (i + 1), "pages": pages[i], "blog_posts": blogs[i]}
              for i in range(opt["spaces"])]
    return GeneratedSite(spaces, opt, admin_id)
