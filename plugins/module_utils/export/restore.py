# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The confluence_import workflow: one page (with its children and attachments) or one space of an export
(``layout.py``) put back into a Confluence Cloud site through the REST API (``api.ImportApi``).

No Ansible imports. A run:

1. reads the export's manifest and picks the items: the page ``page_id`` and, with ``include_children``, every page
   under it in the export's ``parent_id`` tree; or every page and blog post of the space ``space``; parents first;
2. checks every file it will use (each item's JSON and, with ``include_attachments``, its attachments' binaries)
   against the manifest's size and sha256 before any request: a changed or damaged export fails with nothing sent;
3. finds each item in the target space by its exact title (``GET /wiki/api/v2/pages?space-id=..&title=..``) and
   decides: missing, created (under its restored parent; the top item under ``target_parent_id``, else its original
   parent if that page is in the target space, else the space's home page); present with the same body, unchanged;
   present with another body, updated to the exported body, unless the site's version is newer than the exported
   one and ``confirm`` is not set (then the run fails before any write, naming the pages and versions); labels the
   site lacks are added; an attachment is uploaded when the page lacks one of that name, or holds one of another size
   (or, for one this module uploaded, another sha256, which it records in the attachment's comment);
4. in check mode stops there and says exactly what it would create, update and upload (only GET requests are sent);
   else writes in that order, parents before children. A re-run finds what the last one created and changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.api import ImportApi
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.upload import HAS_TOOLBELT, MultipartBody

if HAS_TOOLBELT:
    from requests_toolbelt.multipart.encoder import MultipartEncoder

MARK = "confluence_import sha256:"


class AttachmentBody(MultipartBody):
    """An attachment's file as the v1 upload's multipart body: ``file``, ``comment`` and ``minorEdit``."""

    def __init__(self, path, file_name, content_type, comment):
        self.fields = [("comment", comment), ("minorEdit", "true")]
        MultipartBody.__init__(self, path, file_name=file_name, content_type=content_type)

    def _encoder(self, handle):
        return MultipartEncoder(fields=self.fields + [(self.field, (self.file_name, handle, self.file_type))],
                                boundary=self.boundary)


def storage_of(raw):
    body = raw.get("body") if isinstance(raw.get("body"), dict) else {}
    storage = body.get("storage") if isinstance(body.get("storage"), dict) else {}
    value = storage.get("value")
    return value if isinstance(value, str) else ""


def version_of(raw):
    version = raw.get("version") if isinstance(raw.get("version"), dict) else {}
    number = version.get("number")
    return number if isinstance(number, int) else 0


class ConfluenceImport(object):
    """One run of confluence_import. ``client``: the module's client."""

    def __init__(self, params, client, warn):
        self.p = params
        self.warn = warn
        self.requests = 0
        self.api = ImportApi(client, self.count)
        self.src = params["src"]
        self.space = None
        self.manifest_files = {}
        self.result = dict(changed=False, created=[], updated=[], unchanged=[], uploaded=[], mapping={},
                           requests=0, target_space=None)
        if params["check_mode"]:
            self.result.update(would_create=[], would_update=[], would_upload=[])

    def count(self):
        self.requests += 1

    def fail(self, msg):
        self.result["requests"] = self.requests
        raise TaskFailed(msg, **self.result)

    # ------------------------------------------------------------------------------------------------ the export
    def load(self):
        if os.path.isfile(self.src):
            self.fail("src %s is a file; confluence_import reads the folder of an export. Unpack the zip of a "
                      "content export into a folder (ansible.builtin.unarchive) and give that folder as src. Nothing "
                      "was sent to the site." % self.src)
        manifest = layout.read_json(os.path.join(self.src, layout.MANIFEST))
        if manifest is None:
            self.fail("src %s holds no export.json: give the folder of a complete confluence_export run (an "
                      "unfinished one has no manifest yet). Nothing was sent to the site." % self.src)
        if manifest.get("kind") != "content-export" or manifest.get("format") != layout.FORMAT:
            self.fail("%s is not the manifest of a confluence_export folder (kind %r, format %r). Nothing was sent "
                      "to the site." % (os.path.join(self.src, layout.MANIFEST), manifest.get("kind"),
                                        manifest.get("format")))
        if not mf.is_good(manifest):
            self.fail("The export in %s failed its last verification (%s, recorded in its export.json); it cannot be "
                      "trusted for a restore. Restore from another export (an earlier one, or another copy of this "
                      "one), or verify this one again with backup_verify at that level if it was repaired: a "
                      "verification that passes clears the record. Nothing was sent to the site." % (
                          self.src, mf.failure(manifest)))
        return manifest

    def select(self, manifest):
        """The ids to restore, parents before children."""
        items = manifest.get("items") or {}
        if self.p.get("page_id"):
            top = str(self.p["page_id"])
            if top not in items:
                self.fail("The export in %s holds no page or blog post %s (it holds %d items; their ids are the keys "
                          "of items in export.json). Nothing was sent to the site." % (self.src, top, len(items)))
            chosen = [top]
            if self.p.get("include_children", True):
                children = {}
                for item_id, entry in sorted(items.items(), key=lambda pair: _id_key(pair[0])):
                    if entry.get("parent_id"):
                        children.setdefault(str(entry["parent_id"]), []).append(item_id)
                queue = [top]
                while queue:
                    parent = queue.pop(0)
                    for child in children.get(parent, []):
                        if child not in chosen:
                            chosen.append(child)
                            queue.append(child)
            return chosen
        key = self.p["space"]
        chosen = [item_id for item_id, entry in items.items() if entry.get("space_key") == key]
        if not chosen:
            held = sorted(set(entry.get("space_key") for entry in items.values() if entry.get("space_key")))
            self.fail("The export in %s holds nothing of the space %s (it holds: %s). Nothing was sent to the site."
                      % (self.src, key, ", ".join(held) or "no space"))
        depth = {}

        def depth_of(item_id, seen=()):
            if item_id not in depth:
                parent = str(items[item_id].get("parent_id") or "")
                depth[item_id] = 0 if parent not in items or parent in seen else depth_of(parent, seen + (item_id,)) + 1
            return depth[item_id]
        return sorted(chosen, key=lambda i: (items[i].get("type") != "page", depth_of(i), _id_key(i)))

    def verify(self, manifest, chosen):
        """Each chosen item's JSON (checked against the manifest) and its attachments' files, before any request."""
        files = manifest.get("files") or {}
        docs = {}
        for item_id in chosen:
            entry = manifest["items"][item_id]
            wanted = [entry.get("path")]
            if self.p.get("include_attachments", True):
                wanted += list(entry.get("attachments") or [])
            for rel in wanted:
                self.check_file(files, rel)
            docs[item_id] = layout.read_json(os.path.join(self.src, entry["path"]))
            if docs[item_id] is None:
                self.fail("%s in %s is not a JSON object. Nothing was sent to the site." % (entry["path"], self.src))
        return docs

    def check_file(self, files, rel):
        facts = files.get(rel) if rel else None
        path = os.path.join(self.src, rel or "")
        if not rel or facts is None or os.path.isabs(rel) or ".." in rel.split("/"):
            self.fail("export.json in %s lists no file %s: the manifest does not belong to this folder. Nothing was "
                      "sent to the site." % (self.src, rel))
        try:
            size, sha = os.path.getsize(path), file_sha256(path)
        except (OSError, IOError) as exc:
            self.fail("Could not read %s of the export (%s): the export is incomplete. Nothing was sent to the site."
                      % (path, getattr(exc, "strerror", None) or exc))
        if size != facts.get("size") or sha != facts.get("sha256"):
            self.fail("%s does not match export.json (%d bytes, sha256 %s; the manifest says %s bytes, sha256 %s): "
                      "the export was changed or damaged after it was written. Restore from an intact copy. Nothing "
                      "was sent to the site." % (path, size, sha, facts.get("size"), facts.get("sha256")))

    # ------------------------------------------------------------------------------------------------ the plan
    def run(self):
        manifest = self.load()
        self.manifest_files = manifest.get("files") or {}
        chosen = self.select(manifest)
        docs = self.verify(manifest, chosen)
        items = manifest["items"]
        key = self.p.get("target_space") or items[chosen[0]].get("space_key")
        self.result["target_space"] = key
        try:
            space = self.api.space(key)
            if space is None:
                self.fail("The site has no space %s that this account can see: create it first (or give "
                          "target_space), and check the account's permissions. Nothing was written." % key)
            self.space = space
            plan = self.plan(space, chosen, items, docs)
        except AtlassianError as exc:
            self.fail("Could not read the target space %s: %s. Nothing was written." % (key, exc))
        conflicts = [step for step in plan if step.get("conflict")]
        if conflicts and not self.p.get("confirm"):
            self.fail("The site holds a newer version than the export of %s; confirm: true overwrites %s with the "
                      "exported version. Nothing was written." % (
                          ", ".join("%r (site version %d, exported %s)" % (s["title"], s["site_version"], s["version"])
                                    for s in conflicts), "it" if len(conflicts) == 1 else "them"))
        if self.p["check_mode"]:
            return self.predict(plan)
        try:
            self.apply(plan, os.path.basename(os.path.normpath(self.src)))
        except AtlassianError as exc:
            self.result["changed"] = bool(self.result["created"] or self.result["updated"] or self.result["uploaded"])
            self.fail("The restore stopped: %s. What was written is listed in this result; run the task again to "
                      "finish (it finds what it created and does not write it twice)." % exc)
        self.result["changed"] = bool(self.result["created"] or self.result["updated"] or self.result["uploaded"])
        self.result["requests"] = self.requests
        self.result["msg"] = "Restored %d items of %s into the space %s: %d created, %d updated, %d unchanged, %d " \
            "attachments uploaded, with %d requests." % (
                len(plan), os.path.basename(os.path.normpath(self.src)), key, len(self.result["created"]),
                len(self.result["updated"]), len(self.result["unchanged"]), len(self.result["uploaded"]),
                self.requests)
        return self.result

    def plan(self, space, chosen, items, docs):
        """One step per item: what the site holds of it and what to do."""
        steps = []
        planned = set()
        top_parent = self.top_parent(space)
        for item_id in chosen:
            entry, doc = items[item_id], docs[item_id]
            kind = entry.get("type") or "page"
            title = doc.get("title") or entry.get("title")
            step = dict(exported_id=item_id, type=kind, title=title, version=entry.get("version"),
                        storage=storage_of(doc), doc=doc, entry=entry, parent=None, parent_exported=None)
            if kind == "page":
                parent = str(entry.get("parent_id") or "")
                if parent and parent in planned:
                    step["parent_exported"] = parent
                else:
                    step["parent"] = self.original_parent(parent, space) if top_parent is None else top_parent
            existing = self.api.by_title(kind, space["id"], title)
            step["site"] = existing
            labels = [dict(prefix=lab.get("prefix") or "global", name=lab["name"])
                      for lab in doc.get("labels") or [] if isinstance(lab, dict) and lab.get("name")]
            site_atts = {}
            if existing is None:
                step["action"] = "create"
                step["labels"] = labels
            else:
                step["site_id"] = str(existing.get("id"))
                step["site_version"] = version_of(existing)
                differs = storage_of(existing) != step["storage"]
                step["action"] = "update" if differs else "unchanged"
                step["conflict"] = differs and step["site_version"] > (entry.get("version") or 0)
                have = set((lab.get("prefix") or "global", lab.get("name"))
                           for lab in self.api.sub_list(kind, step["site_id"], "labels"))
                step["labels"] = [lab for lab in labels if (lab["prefix"], lab["name"]) not in have]
                if self.p.get("include_attachments", True) and entry.get("attachments"):
                    site_atts = dict((att.get("title"), att)
                                     for att in self.api.sub_list(kind, step["site_id"], "attachments"))
            step["uploads"] = self.uploads(doc, entry, site_atts)
            planned.add(item_id)
            steps.append(step)
        return steps

    def top_parent(self, space):
        """The page id ``target_parent_id`` names (checked to be in the target space), or None."""
        wanted = self.p.get("target_parent_id")
        if not wanted:
            return None
        found = self.api.item_or_none("page", wanted)
        if found is None or str(found.get("spaceId")) != space["id"]:
            self.fail("target_parent_id %s is not a page of the space %s. Nothing was written." % (
                wanted, space["key"]))
        return str(wanted)

    def original_parent(self, parent, space):
        """The exported parent's id when the site holds that page in the target space, else the home page."""
        if parent:
            found = self.api.item_or_none("page", parent)
            if found is not None and str(found.get("spaceId")) == space["id"] and found.get("status") == "current":
                return parent
        return space.get("homepage_id")

    def uploads(self, doc, entry, site_atts):
        """The attachments to upload: (file, name, media type, size, sha256, site attachment id or None)."""
        if not self.p.get("include_attachments", True):
            return []
        meta = dict((str(att.get("id")), att) for att in doc.get("attachments") or [] if isinstance(att, dict))
        files = self.manifest_files
        out = []
        for rel in entry.get("attachments") or []:
            parts = rel.split("/")
            att = meta.get(parts[3]) if len(parts) > 4 else None
            name = (att or {}).get("title") or parts[-1]
            facts = files[rel]
            have = site_atts.get(name)
            if have is not None:
                comment = have.get("comment") or ""
                same_sha = comment.split(MARK, 1)[1].strip() == facts["sha256"] if MARK in comment else True
                if have.get("fileSize") == facts["size"] and same_sha:
                    continue
            out.append(dict(path=rel, title=name, media_type=(att or {}).get("mediaType") or "application/octet-stream",
                            size=facts["size"], sha256=facts["sha256"],
                            site_id=str(have["id"]) if have is not None else None))
        return out

    # ------------------------------------------------------------------------------------------------ results
    @staticmethod
    def _parent_of(step):
        return step["parent"] if step["parent_exported"] is None else "(restored) %s" % step["parent_exported"]

    def predict(self, plan):
        for step in plan:
            entry = dict(exported_id=step["exported_id"], type=step["type"], title=step["title"])
            if step["action"] == "create":
                self.result["would_create"].append(dict(entry, id=None, parent_id=self._parent_of(step),
                                                        labels=[lab["name"] for lab in step["labels"]]))
            elif step["action"] == "update" or step["labels"]:
                self.result["would_update"].append(dict(
                    entry, id=step["site_id"], site_version=step["site_version"], version=step["version"],
                    changes=(["body"] if step["action"] == "update" else []) + (["labels"] if step["labels"] else [])))
            else:
                self.result["unchanged"].append(dict(entry, id=step["site_id"]))
            self.result["mapping"][step["exported_id"]] = step.get("site_id")
            for up in step["uploads"]:
                self.result["would_upload"].append(dict(page_title=step["title"], page_id=step.get("site_id"),
                                                        title=up["title"], size=up["size"], sha256=up["sha256"],
                                                        id=up["site_id"], new_version=up["site_id"] is not None))
        would = self.result["would_create"] or self.result["would_update"] or self.result["would_upload"]
        self.result["changed"] = bool(would)
        self.result["requests"] = self.requests
        self.result["msg"] = "Check mode: would create %d, update %d and leave %d items unchanged in the space %s, " \
            "and upload %d attachments; %d requests (all GET)." % (
                len(self.result["would_create"]), len(self.result["would_update"]), len(self.result["unchanged"]),
                self.result["target_space"], len(self.result["would_upload"]), self.requests)
        return self.result

    def apply(self, plan, label):
        space = self.space
        for step in plan:
            entry = dict(exported_id=step["exported_id"], type=step["type"], title=step["title"])
            parent = step["parent"] if step["parent_exported"] is None else \
                self.result["mapping"][step["parent_exported"]]
            if step["action"] == "create":
                made = self.api.create(step["type"], space["id"], step["title"], step["storage"],
                                       parent if step["type"] == "page" else None)
                site_id = str(made.get("id"))
                self.result["mapping"][step["exported_id"]] = site_id
                if step["labels"]:
                    self.api.add_labels(site_id, step["labels"])
                self.result["created"].append(dict(entry, id=site_id, parent_id=parent, version=version_of(made),
                                                   labels=[lab["name"] for lab in step["labels"]]))
            else:
                site_id = step["site_id"]
                self.result["mapping"][step["exported_id"]] = site_id
                changes = []
                version = step["site_version"]
                if step["action"] == "update":
                    done = self.api.update(step["type"], site_id, step["title"], step["storage"], version + 1,
                                           "Restored by confluence_import from %s (version %s)" % (
                                               label, step["version"]))
                    version = version_of(done) or version + 1
                    changes.append("body")
                if step["labels"]:
                    self.api.add_labels(site_id, step["labels"])
                    changes.append("labels")
                if changes:
                    self.result["updated"].append(dict(entry, id=site_id, site_version=step["site_version"],
                                                       version=version, changes=changes))
                else:
                    self.result["unchanged"].append(dict(entry, id=site_id))
            for up in step["uploads"]:
                body = AttachmentBody(os.path.join(self.src, up["path"]), up["title"], up["media_type"],
                                      MARK + up["sha256"])
                answer = self.api.upload(site_id, body, up["site_id"])
                got = (answer.get("results") or [answer])[0] if isinstance(answer.get("results"), list) else answer
                self.result["uploaded"].append(dict(page_title=step["title"], page_id=site_id, title=up["title"],
                                                    size=up["size"], sha256=up["sha256"],
                                                    id=str(got.get("id")) if got.get("id") else up["site_id"],
                                                    new_version=up["site_id"] is not None))


def _id_key(item_id):
    text = str(item_id)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)
