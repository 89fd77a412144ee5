# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a content export (the layout of ``layout.py``) to verify it: a folder, or its zip (``archive.py``).

No Ansible imports. The one reader of ``export.json`` for verification, over either source, each file streamed:

* checksum: every file ``export.json`` lists is there with its size and sha256;
* archive: every item JSON (page, blog post) parses, and its id and version are those its ``items`` entry records;
* inventory: the counts of the store's inventory (``spaces``, ``pages``, ``blog_posts``, ``comments``,
  ``attachments``) computed from the files themselves: the ``space.json`` files, the item JSON files under ``pages/``
  and ``blogposts/``, their footer and inline comments, the attachment binaries; compared with ``export.json``'s
  ``counts`` (pages, blog posts, attachments; its ``spaces`` counts the spaces that hold content, so it is not
  compared). The counts are recorded in the format of ``store/inventory.py``.

A problem raises :class:`ExportProblem`, with the level it was found at and the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zipfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.inventory import COUNT_NAMES, find_entities
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256, stream_sha256

# How many problems of one kind a message names.
SHOWN = 5
# export.json's counts, by the inventory's names (spaces is not compared: see the module's docstring).
COMPARED = (("pages", "pages"), ("blog_posts", "blogposts"), ("attachments", "attachments"))


class ExportProblem(Exception):
    """The export itself is not good at ``level``: ``msg`` says why."""

    def __init__(self, level, msg):
        super(ExportProblem, self).__init__(msg)
        self.level = level
        self.msg = msg


class FolderSource(object):
    """An export folder's files, by their path in the layout."""

    def __init__(self, folder):
        self.folder = folder
        self.where = folder

    def names(self):
        found = []
        for root, dummy, files in os.walk(self.folder):
            for name in files:
                found.append(os.path.relpath(os.path.join(root, name), self.folder).replace(os.sep, "/"))
        return found

    def size(self, rel):
        try:
            return os.path.getsize(os.path.join(self.folder, rel))
        except OSError:
            return None

    def sha256(self, rel):
        return file_sha256(os.path.join(self.folder, rel))

    def open(self, rel):
        return open(os.path.join(self.folder, rel), "rb")


class ZipSource(object):
    """An export zip's members (``export.json`` at the top), by their path in the layout."""

    def __init__(self, archive, where):
        self.archive = archive
        self.where = where
        self.infos = dict((info.filename, info) for info in archive.infolist() if not info.filename.endswith("/"))

    def names(self):
        return list(self.infos)

    def size(self, rel):
        info = self.infos.get(rel)
        return info.file_size if info is not None else None

    def sha256(self, rel):
        with self.archive.open(self.infos[rel]) as handle:
            return stream_sha256(handle)

    def open(self, rel):
        return self.archive.open(self.infos[rel])


def holds_export(names):
    """Whether a zip of these member ``names`` holds a content export: ``export.json`` at the top and no entities.xml
    anywhere (where the site backup's inventory would find one)."""
    return layout.MANIFEST in names and find_entities(names) is None


def is_export_zip(path):
    """Whether the zip ``path`` holds a content export (:func:`holds_export`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, IOError, EOFError, ValueError):
        return False
    return holds_export(names)


def read_manifest(source):
    """``export.json`` of ``source`` as a dict; ExportProblem (checksum) when it is missing or not an export's."""
    try:
        with source.open(layout.MANIFEST) as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (KeyError, OSError, IOError, ValueError, zipfile.BadZipFile) as exc:
        raise ExportProblem("checksum", "%s has no readable %s (%s): it is not a complete content export." % (
            source.where, layout.MANIFEST, exc))
    return checked_manifest(data, source.where)


def checked_manifest(data, where):
    """``data`` (export.json of the export at ``where``) when it is a content export's of this format; else
    ExportProblem (checksum)."""
    if not isinstance(data, dict) or data.get("kind") != "content-export" or data.get("format") != layout.FORMAT:
        raise ExportProblem("checksum", "%s is not the manifest of a content export of format %d." % (
            os.path.join(where, layout.MANIFEST), layout.FORMAT))
    return data


def _named(problems):
    shown = "; ".join(problems[:SHOWN])
    return shown + ("; and %d more" % (len(problems) - SHOWN) if len(problems) > SHOWN else "")


def check_files(source, manifest, level="checksum"):
    """Every file ``export.json`` lists is in ``source`` with its size and sha256 (streamed). Returns the count."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ExportProblem(level, "%s lists no files." % layout.MANIFEST)
    missing, changed = [], []
    for rel in sorted(files):
        facts = files[rel] if isinstance(files[rel], dict) else {}
        size = source.size(rel)
        if size is None:
            missing.append(rel)
        elif size != facts.get("size"):
            changed.append("%s has %d bytes, export.json records %s" % (rel, size, facts.get("size")))
        elif source.sha256(rel) != facts.get("sha256"):
            changed.append("%s does not have the sha256 export.json records" % rel)
    if missing or changed:
        said = []
        if missing:
            said.append("%d file%s export.json lists %s missing (%s)" % (
                len(missing), "" if len(missing) == 1 else "s", "is" if len(missing) == 1 else "are",
                _named(missing)))
        if changed:
            said.append("%d changed (%s)" % (len(changed), _named(changed)))
        raise ExportProblem(level, "The content export %s is not the one written: %s." % (
            source.where, "; ".join(said)))
    return len(files)


def _item_kind(rel):
    """(space key, "pages" or "blog_posts") of an item JSON's path, or None for another file."""
    parts = rel.split("/")
    if len(parts) == 4 and parts[0] == "spaces" and parts[3].endswith(".json") and parts[2] in ("pages", "blogposts"):
        return parts[1], "pages" if parts[2] == "pages" else "blog_posts"
    return None


def _load(source, rel):
    try:
        with source.open(rel) as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (KeyError, OSError, IOError, ValueError, zipfile.BadZipFile) as exc:
        return None, str(exc)
    return (data, None) if isinstance(data, dict) else (None, "not a JSON object")


def count(source, manifest=None, level="archive"):
    """The inventory of ``source`` from its files: ``{spaces, pages, blog_posts, comments, attachments,
    entities_member, objects, by_space}``. With ``manifest``, every item JSON must parse and carry the id and version
    its ``items`` entry records (ExportProblem at ``level`` otherwise)."""
    counts = dict.fromkeys(COUNT_NAMES, 0)
    by_space, objects = {}, 0
    bad = []
    items = (manifest or {}).get("items") or {}
    for rel in sorted(source.names()):
        parts = rel.split("/")
        if rel == layout.MANIFEST or len(parts) < 3 or parts[0] != "spaces":
            continue
        objects += 1
        if len(parts) == 3 and parts[2] == "space.json":
            counts["spaces"] += 1
            by_space.setdefault(parts[1], {"pages": 0, "blog_posts": 0})
            continue
        if parts[2] == "attachments":
            counts["attachments"] += 1
            continue
        kind = _item_kind(rel)
        if kind is None:
            continue
        data, error = _load(source, rel)
        item_id = parts[3][:-len(".json")]
        if data is None:
            bad.append("%s does not parse (%s)" % (rel, error))
            continue
        entry = items.get(item_id) if isinstance(items, dict) else None
        version = (data.get("version") or {}).get("number") if isinstance(data.get("version"), dict) else None
        if manifest is not None:
            if str(data.get("id")) != item_id:
                bad.append("%s holds item %s" % (rel, data.get("id")))
            elif not isinstance(entry, dict):
                bad.append("%s is not in export.json's items" % rel)
            elif entry.get("version") != version:
                bad.append("%s is version %s, export.json records %s" % (rel, version, entry.get("version")))
        counts[kind[1]] += 1
        by_space.setdefault(kind[0], {"pages": 0, "blog_posts": 0})[kind[1]] += 1
        counts["comments"] += sum(len(data.get(key) or []) for key in ("footer_comments", "inline_comments")
                                  if isinstance(data.get(key) or [], list))
    if bad:
        raise ExportProblem(level, "The content export %s holds %d item%s that %s not match export.json: %s." % (
            source.where, len(bad), "" if len(bad) == 1 else "s", "does" if len(bad) == 1 else "do", _named(bad)))
    result = dict(counts)
    result.update(entities_member=layout.MANIFEST, objects=objects, by_space=by_space)
    return result


def compare_with_manifest(found, manifest, where, level="inventory"):
    """The counts from the files against ``export.json``'s own ``counts``; ExportProblem when one differs."""
    recorded = manifest.get("counts") or {}
    differ = ["%s %d in the files, %s in export.json" % (name.replace("_", " "), found[name], recorded.get(key))
              for name, key in COMPARED if recorded.get(key) is not None and recorded.get(key) != found[name]]
    if differ:
        raise ExportProblem(level, "The content export %s does not hold what its export.json counts: %s." % (
            where, "; ".join(differ)))


def examine(source, level, file_level="checksum", item_level="archive", manifest=None):
    """Verify ``source`` (a FolderSource or ZipSource) down to ``level``; returns (manifest, files checked,
    inventory or None). ``file_level`` and ``item_level``: the levels their problems are reported at; ``manifest``:
    export.json when the caller has read it already (it is read once: 20 MB of objects at 10,000 pages)."""
    manifest = read_manifest(source) if manifest is None else checked_manifest(manifest, source.where)
    checked = check_files(source, manifest, file_level)
    found = None
    if level in ("archive", "inventory"):
        found = count(source, manifest, item_level)
    if level == "inventory":
        compare_with_manifest(found, manifest, source.where)
    return manifest, checked, found if level == "inventory" else None


def zip_inventory(zip_path):
    """Verify the export zip ``zip_path`` at level inventory (its members against export.json, the items, the
    counts); returns (manifest, inventory). Raises ExportProblem at level inventory."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, IOError) as exc:
        raise ExportProblem("inventory", "%s is not a readable zip archive (%s)." % (zip_path, exc))
    with archive:
        manifest, dummy, found = examine(ZipSource(archive, zip_path), "inventory", "inventory", "inventory")
    return manifest, found


def counts_only(path):
    """The inventory of an export folder or zip from its files, without checking them; None when unreadable."""
    try:
        if os.path.isdir(path):
            return count(FolderSource(path))
        with zipfile.ZipFile(path) as archive:
            return count(ZipSource(archive, path))
    except (ExportProblem, zipfile.BadZipFile, OSError, IOError):
        return None
