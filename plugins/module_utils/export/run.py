# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The confluence_export workflow: the spaces of a Cloud site exported item by item through the REST API v2 into the
open layout of ``layout.py``; incremental, resumable, concurrent and polite.

No Ansible imports. A run:

1. lists the selected spaces, then every page and blog post in them (current and archived), one request per 250,
   handing each item to the workers as its listing page arrives;
2. compares each with the previous complete export of the same selection: an item whose version is the same is
   hard-linked from there, with its attachments; the others are fetched (the item with its body, then its labels,
   properties, comments, versions and attachments' metadata), and their attachments downloaded through the shared
   download engine (resumable, sha256 on the way, atomic); items no longer listed are recorded as deleted;
3. works on the items with ``workers`` threads, each with its own HTTP session, at most ``max_requests_per_second``
   together; an answer 429 (or 503) is retried after its ``Retry-After`` by the client and slows the pace (see
   :class:`Pace`);
4. records every file written in the journal, and every item done in a spool file, as it goes, so that a run stopped
   half-way continues where it stopped, fetching nothing twice; writes the manifest (``export.json``: counts, every
   file's size and sha256, the items, what was deleted) last, streamed from the journal and the spool.

Memory does not grow with the site's size but for the ids listed (to find deletions) and, in an incremental run, the
previous export's manifest: the items and files of this run are on disk until the manifest is streamed out.

An attachment added to a page without a new version of the page is found when the page changes, or by a run with
``full``: the REST API has no cheap list of a site's attachments changed since a time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy
import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.api import ExportApi, download_link
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.download import Downloader

KINDS = ("page", "blogpost")
ATTACHMENT_CHUNK = 64 * 1024


def _now():
    return datetime.now(mf.UTC)


class Pace(object):
    """At most ``rate`` requests per second across threads, adapted to what the site lets through.

    A rate given is kept 5 % under (a service counting fixed windows sees the odd late request in the next one).
    Without one, a 429 or 503 sets the pace to 95 % of the answers (:meth:`answered`) of the second before it, what
    the site let through, once the run (or the last such refusal) is a second old: a refusal sooner than that may
    be another client's use of the same window, and says nothing of the rate. The pace then grows by 2 % every 50
    requests, to find a limit higher than the one seen, and the next refusal measures it again.

    Each 429 or 503 cuts the pace, by a fifth from the full rate and by half below it; the refusals of one burst
    (within a second of the last cut: every worker is refused at once) count once. A pace below its full rate grows
    back by a tenth every 50 requests.
    """

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.given = bool(rate)
        self.limit = rate * 0.95 if rate else None
        self.rate = self.limit
        self.clock = clock
        self.sleep = sleep
        self.next = 0.0
        self.since = 0
        self.slowed = 0
        self.cut_at = None
        self.mark = None
        self.recent = collections.deque(maxlen=4096)
        self.lock = threading.Lock()

    def wait(self):
        with self.lock:
            now = self.clock()
            if self.mark is None:
                self.mark = now
            if not self.rate:
                return
            start = max(now, self.next)
            self.next = start + 1.0 / self.rate
            self.since += 1
            if self.since >= 50:
                if self.rate < self.limit:
                    self.rate = min(self.limit, self.rate * 1.1)
                elif not self.given:
                    self.limit = self.rate = self.limit * 1.02
                self.since = 0
        if start > now:
            self.sleep(start - now)

    def answered(self):
        """A request the site let through (what an unknown rate is measured by)."""
        if not self.given:
            with self.lock:
                self.recent.append(self.clock())

    def refused(self):
        with self.lock:
            now = self.clock()
            if self.cut_at is not None and now - self.cut_at < 1.0:
                return
            self.cut_at = now
            self.slowed += 1
            self.since = 0
            if not self.given:
                if self.mark is not None and now - self.mark >= 1.0:
                    passed = sum(1 for when in self.recent if when > now - 1.0)
                    self.limit = self.rate = max(passed * 0.95, 0.5)
                    return
                self.mark = now
                if self.rate is None:
                    return
            self.rate = max(self.rate * (0.8 if self.rate >= self.limit else 0.5), 0.5)


class ConfluenceExport(object):
    """One run of confluence_export. ``client``: the module's client (each worker takes a copy with its own
    session); ``label``: the site label."""

    def __init__(self, params, client, label, warn, now=None):
        self.p = params
        self.client = client
        self.label = label
        self.warn = warn
        self.now = now or _now
        self.pace = Pace(params.get("max_requests_per_second"))
        self.requests = 0
        self.count_lock = threading.Lock()
        self.local = threading.local()
        self.folder = None
        self.journal = None
        self.result = dict(changed=False, path=None, manifest_path=None, previous=None, resumed=False,
                           counts={}, fetched=dict(pages=0, blogposts=0, attachments=0, attachment_bytes=0),
                           reused=dict(pages=0, blogposts=0, attachments=0), deleted=[], requests=0,
                           rate_limited=0, seconds=None)

    def fail(self, msg):
        self.result["requests"] = self.requests
        raise TaskFailed(msg, **self.result)

    # ------------------------------------------------------------------------------------------------ plumbing
    def count(self):
        self.pace.wait()
        with self.count_lock:
            self.requests += 1

    def api(self):
        """This thread's API reader, on a client copy with its own session (sessions are not shared)."""
        api = getattr(self.local, "api", None)
        if api is None:
            client = copy.copy(self.client)
            client.session = self.client.new_session()
            original = self.client.on_retry

            def on_retry(entry):
                if entry.get("reason") in ("HTTP 429", "HTTP 503"):
                    self.pace.refused()
                if original:
                    original(entry)
            client.on_retry = on_retry
            api = self.local.api = ExportApi(client, self.count, self.pace.answered)
            # Attachments are mostly small: 64 KiB buffers, not the engine's 1 MiB ones for site backups (8 spare
            # buffers per download, whose memory a worker thread then keeps).
            self.local.downloader = Downloader(client, connections=1, chunk_size=ATTACHMENT_CHUNK)
        return api

    # ------------------------------------------------------------------------------------------------ the run
    def run(self):
        started = time.monotonic()
        dest = self.p["dest"]
        if not os.path.isdir(dest) and not self.p["check_mode"]:
            self.fail("dest %s is not a folder; create it first (confluence_export writes a folder per run into it)."
                      % dest)
        keys = self.p.get("spaces")
        selection = layout.selection_of(keys)
        previous, unfinished = layout.exports(dest, self.label, selection)
        if self.p.get("full"):
            previous = None
        prev_items = previous[1].get("items", {}) if previous else {}
        try:
            spaces = self.api().spaces(keys)
            self.check_spaces(keys, spaces)
        except AtlassianError as exc:
            self.fail("Could not list the content to export: %s" % exc)
        self.result["previous"] = previous[0] if previous else None
        tally = dict(ids=set(), spaces=set(), page=0, blogpost=0, fetch=0, reuse=0, attachments=0,
                     attachment_bytes=0)
        if self.p["check_mode"]:
            try:
                for dummy in self.listing(spaces, prev_items, previous, tally):
                    pass
            except AtlassianError as exc:
                self.fail("Could not list the content to export: %s" % exc)
            deleted = self.deleted(tally, prev_items, previous)
            self.result.update(changed=True, requests=self.requests, msg=self.said(tally, deleted, check=True),
                               counts=self.counts(tally, attachments=False))
            return self.result
        self.folder = unfinished[0] if unfinished else layout.make_folder(dest, self.label, self.now())
        self.result.update(path=self.folder, manifest_path=os.path.join(self.folder, layout.MANIFEST),
                           resumed=bool(unfinished), changed=True)
        if not unfinished:
            mf.write(os.path.join(self.folder, layout.STARTED), dict(
                format=layout.FORMAT, selection=selection, site_label=self.label,
                started_at=mf.format_time(self.now())))
        self.journal = layout.Journal(self.folder)
        # Every item is gone through again by a continued run (done_before() finds those written in full), so the
        # spool of items done starts empty each time.
        self.spool = open(os.path.join(self.folder, layout.SPOOL), "w")
        try:
            try:
                for space in spaces:
                    self.write_json("spaces/%s/space.json" % layout.safe_name(space["key"], "space"), space)
                self.work(self.listing(spaces, prev_items, previous, tally), previous, tally)
            finally:
                self.journal.close()
                self.spool.close()
        except AtlassianError as exc:
            self.fail("The export stopped: %s. What was written is kept in %s; run the task again to continue "
                      "where it stopped (nothing written is fetched again)." % (exc, self.folder))
        except (OSError, IOError) as exc:
            self.fail("The export stopped: could not write in %s (%s). Free space or fix the folder's permissions, "
                      "then run the task again to continue." % (self.folder, getattr(exc, "strerror", None) or exc))
        self.result["seconds"] = round(time.monotonic() - started, 3)
        deleted = self.deleted(tally, prev_items, previous)
        self.finish(tally, deleted, previous, selection)
        self.result["msg"] = self.said(tally, deleted)
        return self.result

    def work(self, views, previous, tally):
        """Export each item of ``views`` on the workers, spooling each one's manifest entry as it is done."""
        workers = self.p.get("workers") or 8
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            # At most a few items per worker are queued at once, so that memory does not grow with the site.
            pending = collections.deque()
            for view in views:
                pending.append(pool.submit(self.write_item, view, previous))
                if len(pending) >= workers * 4:
                    self.spool_item(tally, pending.popleft().result())
            while pending:
                self.spool_item(tally, pending.popleft().result())
        except BaseException:
            # The first failure stops the run: what is queued is dropped, what runs finishes and is journaled.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def spool_item(self, tally, done):
        item_id, entry, attachment_bytes = done
        self.spool.write(json.dumps([item_id, entry]) + "\n")
        tally["attachments"] += len(entry.get("attachments") or [])
        tally["attachment_bytes"] += attachment_bytes

    def check_spaces(self, keys, spaces):
        found = set(space["key"] for space in spaces)
        if keys:
            missing = [key for key in keys if key not in found]
            if missing:
                self.fail("The site has no space %s that this account can see (found: %s). Check the keys and the "
                          "account's permissions; nothing was written." % (
                              ", ".join(missing), ", ".join(sorted(found)) or "none"))
        elif not spaces:
            self.fail("The site lists no space to this account: check the credentials (an unauthenticated request "
                      "sees nothing) and the account's permissions. Nothing was written.")

    def listing(self, spaces, prev_items, previous, tally):
        """Every page and blog post of ``spaces``, as listed (an item listed twice, moved while the listing ran,
        once), marked ``reuse`` when the previous export holds this version; counted in ``tally``."""
        for space in spaces:
            for kind in KINDS:
                for view in self.api().listing(space["id"], kind):
                    if view["id"] in tally["ids"]:
                        continue
                    tally["ids"].add(view["id"])
                    view["space_key"] = space["key"]
                    prev = prev_items.get(view["id"])
                    view["reuse"] = bool(previous and prev and prev.get("version") == view["version"] and
                                         prev.get("type") == view["type"] and
                                         prev.get("space_key") == view["space_key"])
                    tally["reuse" if view["reuse"] else "fetch"] += 1
                    tally[view["type"]] += 1
                    tally["spaces"].add(space["key"])
                    yield view

    def deleted(self, tally, prev_items, previous):
        """The items of the previous export that this listing no longer holds (also set in the result)."""
        deleted = [dict(id=item_id, type=prev.get("type"), title=prev.get("title"), space_key=prev.get("space_key"),
                        version=prev.get("version"), last_exported_in=os.path.basename(previous[0]))
                   for item_id, prev in sorted(prev_items.items()) if item_id not in tally["ids"]] if previous else []
        self.result["deleted"] = deleted
        return deleted

    # ------------------------------------------------------------------------------------------------ one item
    def write_item(self, view, previous):
        """Write one page or blog post (and its attachments); returns its entry for the manifest."""
        path = layout.item_path(view["space_key"], view["type"], view["id"])
        plural = "pages" if view["type"] == "page" else "blogposts"
        if view["reuse"]:
            prev = previous[1]["items"][view["id"]]
            sizes = 0
            for rel in [prev["path"]] + list(prev.get("attachments") or []):
                known = previous[1].get("files", {}).get(rel) or {}
                if not self.journal.has(self.folder, rel):
                    layout.link_or_copy(os.path.join(previous[0], rel), os.path.join(self.folder, rel))
                    self.journal.add(rel, known.get("size"), known.get("sha256"))
                if rel != prev["path"]:
                    sizes += known.get("size") or 0
            self.bump("reused", plural, 1)
            self.bump("reused", "attachments", len(prev.get("attachments") or []))
            return view["id"], dict(prev), sizes
        done = self.done_before(path, view)
        if done is not None:
            return view["id"], done, sum((self.journal.files.get(rel) or {}).get("size") or 0
                                         for rel in done["attachments"])
        body, parts = self.api().item(view["type"], view["id"])
        attachments = []
        for raw in parts["attachments"]:
            attachments.append(self.attachment(view, raw, previous))
        document = dict(body, **dict((part.replace("-", "_"), value) for part, value in parts.items()
                                     if part != "attachments"))
        document["attachments"] = [dict((k, v) for k, v in raw.items() if k != "_base") for raw in parts["attachments"]]
        document["_export"] = dict(space_key=view["space_key"], files=[a["path"] for a in attachments if a["path"]])
        self.write_json(path, document)
        self.bump("fetched", plural, 1)
        return view["id"], dict(type=view["type"], title=view["title"], version=view["version"],
                                status=view["status"], space_key=view["space_key"], parent_id=view["parent_id"],
                                path=path, attachments=[a["path"] for a in attachments if a["path"]]), \
            sum(a["size"] for a in attachments if a["path"])

    def done_before(self, path, view):
        """The entry of an item an earlier, stopped attempt of this export wrote in full (same version), else None."""
        if not self.journal.has(self.folder, path):
            return None
        data = layout.read_json(os.path.join(self.folder, path))
        version = ((data or {}).get("version") or {}).get("number")
        if data is None or version != view["version"]:
            return None
        files = (data.get("_export") or {}).get("files") or []
        if not all(self.journal.has(self.folder, rel) for rel in files):
            return None
        return dict(type=view["type"], title=view["title"], version=view["version"], status=view["status"],
                    space_key=view["space_key"], parent_id=view["parent_id"], path=path, attachments=files)

    def attachment(self, view, raw, previous):
        version = (raw.get("version") or {}).get("number") if isinstance(raw.get("version"), dict) else None
        rel = layout.attachment_path(view["space_key"], str(raw.get("id")), version, raw.get("title"))
        if not self.p.get("include_attachments", True):
            return dict(path=None)
        if self.journal.has(self.folder, rel):
            return dict(path=rel, size=self.journal.files[rel]["size"])
        old = previous and previous[1].get("files", {}).get(rel)
        if old and os.path.exists(os.path.join(previous[0], rel)):
            layout.link_or_copy(os.path.join(previous[0], rel), os.path.join(self.folder, rel))
            self.journal.add(rel, old.get("size"), old.get("sha256"))
            self.bump("reused", "attachments", 1)
            return dict(path=rel, size=old.get("size") or 0)
        link = download_link(raw, raw.get("_base"))
        if not link:
            self.warn("The attachment %s of %s %s has no download link; its metadata is exported, not its "
                      "binary." % (raw.get("id"), view["type"], view["id"]))
            return dict(path=None)
        target = os.path.join(self.folder, rel)
        os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
        self.count()
        got = self.local.downloader.download(link, target, identity="%s v%s" % (raw.get("id"), version))
        self.pace.answered()
        expected = raw.get("fileSize")
        if isinstance(expected, int) and expected != got["size"]:
            self.warn("The attachment %s has %d bytes, not the %d its metadata says; the bytes received are kept." % (
                rel, got["size"], expected))
        self.journal.add(rel, got["size"], got["sha256"])
        self.bump("fetched", "attachments", 1)
        self.bump("fetched", "attachment_bytes", got["size"])
        return dict(path=rel, size=got["size"])

    def write_json(self, rel, data):
        target = os.path.join(self.folder, rel)
        os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
        text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False)
        # The folder is not synced per file: the journal is what a continued run trusts, each file by its size.
        mf.write_atomic(target, text, sync_folder=False)
        raw = text.encode("utf-8")
        self.journal.add(rel, len(raw), hashlib.sha256(raw).hexdigest())

    def bump(self, group, key, amount):
        with self.count_lock:
            self.result[group][key] += amount

    # ------------------------------------------------------------------------------------------------ the end
    @staticmethod
    def counts(tally, attachments=True):
        count = dict(spaces=len(tally["spaces"]), pages=tally["page"], blogposts=tally["blogpost"])
        if attachments:
            count.update(attachments=tally["attachments"], attachment_bytes=tally["attachment_bytes"])
        return count

    def spooled(self):
        """(id, entry) of every item done, read back from the spool a line at a time."""
        with open(os.path.join(self.folder, layout.SPOOL)) as handle:
            for line in handle:
                item_id, entry = json.loads(line)
                yield item_id, entry

    def finish(self, tally, deleted, previous, selection):
        counts = self.counts(tally)
        self.result["requests"] = self.requests
        self.result["rate_limited"] = self.pace.slowed
        self.result["counts"] = counts
        header = {
            "format": layout.FORMAT, "product": "confluence", "kind": "content-export", "deployment": "cloud",
            "site_label": self.label, "selection": selection, "exported_at": mf.format_time(self.now()),
            "previous": os.path.basename(previous[0]) if previous else None, "counts": counts,
            "fetched": self.result["fetched"], "reused": self.result["reused"], "deleted": deleted,
            "requests": self.requests,
        }
        mf.write_atomic(os.path.join(self.folder, layout.MANIFEST), layout.manifest_text(
            header, items=self.spooled(), files=self.journal.entries()))
        for name in (layout.JOURNAL, layout.SPOOL, layout.STARTED):
            try:
                os.unlink(os.path.join(self.folder, name))
            except OSError:
                pass

    def said(self, tally, deleted, check=False):
        what = "%d to fetch, %d unchanged since the previous export, %d deleted since" % (
            tally["fetch"], tally["reuse"], len(deleted))
        items = tally["fetch"] + tally["reuse"]
        if check:
            return "Check mode: would export %d items (%s) into a new folder of %s; %d requests so far." % (
                items, what, self.p["dest"], self.requests)
        return "Exported %d items (%s) into %s with %d requests%s." % (
            items, what, self.folder, self.requests,
            "; the pace was slowed %d times after 429/503 answers" % self.pace.slowed if self.pace.slowed else "")
