# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Snapshots app export workflow: space selection, then post -> poll the task -> download the zip.

No Ansible imports. Fails with :class:`TaskFailed`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.snapshots import api as snap
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError, clip, host_of
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.manifest import format_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import (
    UTC,
    BackupFolder,
    backup_basename,
    site_label,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.download import Downloader
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import (
    DONE,
    FAILED,
    RUNNING,
    JobFailed,
    WaitTimeout,
    poll_until,
)

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

PRODUCT = "snapshots"
# The result's status for the task's state.
STATUS = {snap.DONE: "complete", snap.RUNNING: "running", snap.FAILED: "failed"}


class SnapshotsExport(object):
    """One run of ``snapshots_export``. ``params``: endpoint, url (the Confluence site the export belongs to, or
    None), spaces (a list, or None for all), dest, max_age (seconds or None), wait, wait_timeout, poll_interval,
    check_mode."""

    def __init__(self, params, client, now=None, log=None, collection_version=None, warn=None):
        self.p = params
        self.client = client
        self.warn = warn or (lambda msg: None)
        self.api = snap.SnapshotsApi(client, params["endpoint"], warn=self.warn)
        self.now = now or (lambda: datetime.now(UTC))
        self.log = log or (lambda msg: None)
        self.site = params.get("url") or "%s://%s" % (urlsplit(params["endpoint"]).scheme, host_of(params["endpoint"]))
        self.label = site_label(self.site)
        self.spaces = sorted(params["spaces"], key=str.upper) if params.get("spaces") else None
        self.collection_version = collection_version
        # Which endpoint an export came from, without writing the secret URL down.
        self.fingerprint = hashlib.sha256(params["endpoint"].encode("utf-8")).hexdigest()[:16]
        self.folder = BackupFolder(params.get("dest"), PRODUCT, self.label, accepts=self._same_selection, log=self.log)
        self.result = dict(changed=False, path=None, sha256=None, size=None, spaces=self.spaces or "all",
                           task_id=None, status=None, manifest_path=None, checksum_path=None)

    def _same_selection(self, manifest):
        """An export of the same endpoint (by fingerprint: the URL is a secret) and the same spaces."""
        spaces = manifest.get("spaces")
        same = (spaces == "all" if not self.spaces else
                isinstance(spaces, list) and sorted(k.upper() for k in spaces) == [k.upper() for k in self.spaces])
        return same and manifest.get("endpoint_fingerprint") == self.fingerprint

    def _fail(self, msg, **fields):
        data = dict(self.result)
        data.update(fields)
        raise TaskFailed(msg, **data)

    def _what(self):
        return "the Snapshots export of %s (%s)" % (
            self.label, "every space" if not self.spaces else "spaces " + ", ".join(self.spaces))

    def run(self):
        p = self.p
        fresh = self.folder.fresh(p.get("max_age"), self.now())
        if fresh is not None:
            self.result.update(self.folder.describe(fresh))
            self.result.pop("backup_id", None)
            self.result.pop("backup_time", None)
            self.result.pop("file_name", None)
            self.result.update(task_id=fresh.get("task_id"), status="complete",
                               msg="%s already holds a verified %s from %s, younger than max_age (%s); nothing "
                                   "to do." % (p["dest"], self._what()[4:], fresh.get("backup_time"),
                                               p["max_age_text"]))
            return self.result
        if p["check_mode"]:
            self.result.update(changed=True, would_export=True,
                               msg="Check mode: would ask the Snapshots app for %s and download it to %s. Nothing "
                                   "was sent." % (self._what()[4:], p["dest"]))
            return self.result
        kind, answer = self.api.start(self.spaces)
        self.result["changed"] = True
        try:
            if kind == "file":
                self.result["status"] = "complete"
                return self._save(first=answer, how="Took %s; the Snapshots app sent the file at once." % self._what())
            self.result.update(task_id=str(answer["id"]) if answer["id"] is not None else None,
                               status=STATUS[snap.normalize_status(answer["status"])])
            how = "Started %s (task %s)." % (self._what(), answer["id"] or "without an id")
            if kind == "done":
                return self._save(source=answer["download_url"], how=how + " It was ready at once.")
            if not p["wait"]:
                self.result["msg"] = how + (" Not waiting (wait: false). The API has no documented way to collect "
                                            "this export later: the next run asks for a new one.")
                return self.result
            final = self._wait(answer, how)
            return self._save(source=final["download_url"], how=how)
        except AtlassianError as exc:
            # After the POST: the result says an export was asked for, and which.
            fields = exc.to_dict()
            if "url" in fields:
                fields["url"] = "a URL on %s" % host_of(fields["url"])
            redirected = answer.get("redirected") if kind == "task" else None
            self._fail("The export was asked for%s, then: %s" % (
                " (the app answered HTTP %s, naming the URL to follow)" % redirected if redirected else "",
                exc.message), **fields)

    def _wait(self, task, how):
        p = self.p

        def classify(view):
            return {snap.DONE: DONE, snap.FAILED: FAILED}.get(view["state"], RUNNING)

        def on_poll(view, elapsed):
            self.result["status"] = STATUS[view["state"]]
            self.log("snapshots task %s: %s after %d s" % (task["id"], self.api.describe(view), elapsed))

        try:
            final, elapsed, _polls = poll_until(lambda: self.api.poll(task["status_url"]), classify,
                                                p["wait_timeout"], p["poll_interval"], clock=self.client.clock,
                                                sleep=self.client.sleep, on_poll=on_poll,
                                                describe=self.api.describe)
        except JobFailed as exc:
            last = exc.last or {}
            self._fail("%s The Snapshots app reported the task as %s: %s. Nothing was downloaded." % (
                how, last.get("status") or "failed", ("\"%s\"" % last["message"]) if last.get("message")
                else "it gave no reason"), status="failed", export_seconds=round(exc.elapsed or 0, 3))
        except WaitTimeout as exc:
            self._fail("%s Gave up waiting after wait_timeout (%s): %s Nothing was downloaded; the app may still "
                       "finish it." % (how, p["wait_timeout_text"], exc.message), status="running",
                       export_seconds=round(exc.elapsed or 0, 3))
        self.result["export_seconds"] = round(elapsed, 3)
        if final.get("found_at"):
            self.warn("The Snapshots task's status was read by its shape (%s): none of the field names the module "
                      "knows were there. Please report the field names (issue 19)." % final["found_at"])
        if not final.get("download_url"):
            self._fail("%s The task is %s but its status names no file to download: %s" % (
                how, final.get("status"), self.client.redact(clip(json.dumps(final.get("raw"))))),
                status="failed")
        return final

    def _save(self, how, source=None, first=None):
        p = self.p
        manifest = {
            "product": PRODUCT,
            "site": self.site,
            "site_label": self.label,
            "endpoint_host": host_of(p["endpoint"]),
            "endpoint_fingerprint": self.fingerprint,
            "spaces": self.spaces or "all",
            "task_id": self.result.get("task_id"),
            "backup_id": "snapshots/%s" % (self.result.get("task_id") or "direct"),
            "backup_time": None,
            "export_seconds": self.result.get("export_seconds"),
            "collection_version": self.collection_version,
        }
        now = self.now()
        manifest["backup_time"] = format_time(now)
        downloader = Downloader(self.client, connections=1)
        base = backup_basename(PRODUCT, self.site, now)
        # The export cannot be asked for again by name: a failed download keeps no partial file.
        saved = self.folder.save(downloader, source or p["endpoint"], base, manifest["backup_id"], manifest,
                                 full=True, now=self.now, first=first, keep_partial=False)
        self.result.update(path=saved["path"], size=saved["size"], sha256=saved["sha256"],
                           manifest_path=saved["manifest_path"], checksum_path=saved["checksum_path"],
                           download_seconds=saved["download_seconds"], status="complete")
        self.result["msg"] = how + " Downloaded %d bytes to %s (sha256 %s, every zip member checked)." % (
            saved["size"], saved["path"], saved["sha256"])
        return self.result
