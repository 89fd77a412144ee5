# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Confluence Data Center site and space backup workflow, on the backup & restore REST API (8.3+).

    local check -> join a running job or start one -> wait -> download -> verify -> sidecars

No Ansible imports: ``run`` takes plain parameters, a client and clocks and returns a result dict, or raises
:class:`TaskFailed` with the fields of the failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianApiError, clip
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import parse_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.manifest import format_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import (
    UTC,
    BackupFolder,
    backup_basename,
    site_label,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.download import Downloader
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import JobFailed, WaitTimeout, check_mode_join
from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.jobs import wait_for_job
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

PRODUCT = "confluence"
# How many times the job list is read, poll_interval apart, for a job the server accepted without naming it.
START_LISTINGS = 5
status_of = dc.status_word


class DataCenterBackup(object):
    """One run of ``confluence_backup`` with ``deployment: datacenter``.

    ``params``: url, scope, space_keys, include_attachments, keep_permanently, file_name_prefix, dest, max_age
    (seconds or None), wait, wait_timeout, poll_interval (seconds), download, verify, download_connections,
    username (None with a personal access token), check_mode.
    """

    def __init__(self, params, client, now=None, log=None, collection_version=None, warn=None):
        self.p = params
        self.client = client
        self.warn = warn or (lambda msg: None)
        self.api = dc.DataCenterApi(client, warn=self.warn)
        self.now = now or (lambda: datetime.now(UTC))
        self.log = log or (lambda msg: None)
        self.label = site_label(params["url"])
        self.keys = sorted(set(params.get("space_keys") or [])) if params["scope"] == "space" else []
        self.collection_version = collection_version
        self.folder = BackupFolder(params.get("dest"), PRODUCT, self.label, accepts=self._same_selection, log=self.log)
        self.result = dict(changed=False, triggered=False, path=None, size=None, sha256=None, file_name=None,
                           status=None, service_status=None, backup_id=None, backup_time=None, job_id=None,
                           job=None, scope=params["scope"], space_keys=self.keys or None,
                           manifest_path=None, checksum_path=None, create_seconds=None)

    def _same_selection(self, manifest):
        """A backup of the same server (context path included), scope, spaces and, for a site, attachments."""
        return (manifest.get("deployment") == "datacenter" and manifest.get("site") == self.client.base_url
                and manifest.get("scope") == self.p["scope"] and sorted(manifest.get("space_keys") or []) == self.keys
                and (self.p["scope"] == "space" or manifest.get("include_attachments") is self.p["include_attachments"]))

    def _what(self):
        if self.p["scope"] == "site":
            return "a site backup of %s" % self.label
        return "a space backup of %s on %s" % (", ".join(self.keys), self.label)

    def _fail(self, msg, **fields):
        data = dict(self.result)
        data.update(fields)
        raise TaskFailed(msg, **data)

    def _set_job(self, view):
        self.result.update(job_id=view["id"], job=view, status=status_of(view), service_status=view["service_state"],
                           file_name=view.get("file_name") or self.result.get("file_name"))

    # ------------------------------------------------------------------- run
    def run(self):
        p = self.p
        if p.get("job_id") is not None:
            return self._given_job(p["job_id"])
        fresh = self.folder.fresh(p.get("max_age"), self.now())
        if fresh is not None:
            self.result.update(self.folder.describe(fresh))
            self.result.update(job_id=fresh.get("job_id"), status="complete",
                               msg="%s already holds a verified %s from %s, younger than max_age (%s); nothing "
                                   "to do." % (p["dest"], self._what()[2:], fresh.get("backup_time"),
                                               p["max_age_text"]))
            return self.result

        seen = self._backup_jobs()
        running = self._running_job(seen)
        if running is not None:
            self._set_job(running)
            return self._join(running, triggered=False, how="%s was already %s (job %s, started by %s); joined it "
                              "instead of starting another." % (
                                  self._what()[0].upper() + self._what()[1:], running["service_state"],
                                  running["id"], running.get("owner") or "an unknown user"))
        if p["check_mode"]:
            self.result.update(changed=True, would_trigger=True, would_download=bool(p["download"] and p.get("dest")),
                               status=None)
            self.result["msg"] = "Check mode: would start %s%s." % (
                self._what(), (", wait for it and download it to %s" % p["dest"]) if p["download"] and p.get("dest")
                else "")
            return self.result
        try:
            raw = self.api.start_backup(p["scope"], self.keys, skip_attachments=not p["include_attachments"],
                                        keep_permanently=p["keep_permanently"], prefix=p.get("file_name_prefix"))
        except AtlassianApiError as exc:
            if not dc.is_conflict(exc):
                raise
            return self._conflict(exc)
        self.result.update(triggered=True, changed=True)
        view = self._started(raw, set(v["id"] for v in seen))
        self._set_job(view)
        how = "Started %s (job %s, %s)." % (self._what(), view["id"], view["service_state"])
        return self._join(view, triggered=True, how=how)

    def _given_job(self, job_id):
        """``job_id``: wait for that backup job (started earlier, for example with ``wait: false``) and download it."""
        raw = self.api.job(job_id)
        if raw is None:
            self._fail("Confluence knows no job %s, or this account may not see it (only system administrators and "
                       "the job's owner may). Nothing was downloaded." % job_id, status="gone")
        view = dc.job_view(raw)
        if view["operation"] not in (None, "backup"):
            self._fail("Job %s is a %s, not a backup; nothing to download." % (job_id, view["operation"]))
        self.p = dict(self.p, scope=view["scope"] or self.p["scope"])
        self.keys = sorted(set(view["space_keys"])) if self.p["scope"] == "space" else []
        self.result.update(scope=self.p["scope"], space_keys=self.keys or None)
        self._set_job(view)
        return self._join(view, triggered=False, how="Backup job %s (%s, started by %s)." % (
            job_id, view["service_state"], view.get("owner") or "an unknown user"))

    def _backup_jobs(self):
        """The server's backup jobs of this scope, as views (the baseline of a start, and the running ones)."""
        return [dc.job_view(raw) for raw in self.api.jobs(scope=self.p["scope"], operation="BACKUP")]

    def _started(self, answer, baseline):
        """The job a 2xx start answer stands for (issue 19): its documented ``id``, else an id found by shape, else
        the job new since ``baseline`` of this selection in the job list. Never a second POST."""
        job_id, path = shape.find_id(answer, ("id",), prefer=("job",), plural=dc.JOB_LISTS)
        how = None
        if job_id is not None and path != "id":
            how = "the answer named the job's id at %s, not at id: read by its shape" % path
        if job_id is None:
            for attempt in range(START_LISTINGS):
                new = [v for v in self._backup_jobs() if v["id"] not in baseline and v["operation"] == "backup"
                       and (self.p["scope"] == "site" or sorted(set(v["space_keys"])) == self.keys)]
                if new:
                    job_id = sorted(new, key=lambda v: str(v.get("create_time") or ""))[-1]["id"]
                    how = "the answer named no job id; job %s is the new one in GET jobs (read %d time%s)" % (
                        job_id, attempt + 1, "" if attempt == 0 else "s")
                    break
                if attempt + 1 < START_LISTINGS:
                    self.client.sleep(self.p["poll_interval"])
        if job_id is None:
            self._fail("Confluence accepted the backup request (its answer: %s) but named no job id, and GET %s "
                       "showed no new backup job after %d reads. The backup may still have started: look there (or "
                       "in the admin console's backup and restore page) before running the task again; nothing was "
                       "requested a second time." % (self.client.redact(clip(json.dumps(answer))),
                                                     self.api.path("jobs"), START_LISTINGS), status="unknown")
        if how:
            self.warn("Confluence started the backup, but %s. Please report the answer's shape (issue 19)." % how)
        raw = self.api.read_job(answer, "The answer to POST backup/%s" % self.p["scope"]) if path == "id" else \
            self.api.job(job_id)
        return dc.job_view(raw or {"id": job_id})

    def _running_job(self, views):
        """A queued or running backup job of exactly this selection that this run may join, or None.

        Space backups always include attachments (seed 002), so any such job of the same spaces is the backup
        asked for. The API does not say whether a site backup skips attachments: only a job of this run's own
        account is joined (an earlier, overlapping run of the same task); with a personal access token the
        account is not known and nothing is joined.
        """
        for view in views:
            if view["state"] not in dc.ACTIVE or view["operation"] != "backup":
                continue
            if self.p["scope"] == "space":
                if sorted(set(view["space_keys"])) == self.keys:
                    return view
            elif self.p.get("username") and view.get("owner") == self.p["username"]:
                return view
        return None

    def _conflict(self, exc):
        """409: a backup of some of the same spaces is queued or running. Join it when it is exactly this one."""
        said = dc.error_text(exc)
        if self.p["scope"] == "site":
            running = self._running_job(self._backup_jobs())
            if running is not None:
                self._set_job(running)
                return self._join(running, triggered=False, how="Confluence refused another site backup (HTTP 409 "
                                  "\"%s\"); joined job %s, started by this account." % (said, running["id"]))
            active = [dc.job_view(raw) for raw in self.api.jobs(scope="site", operation="BACKUP", states=dc.ACTIVE)]
            holders = ", ".join("job %s by %s" % (v["id"], v.get("owner") or "?") for v in active)
            self._fail("Confluence refused the site backup (HTTP 409 \"%s\")%s. Run again when it has finished." % (
                said, (": %s is already queued or running" % holders) if active else ""),
                http_status=409, status="not_started")
        jobs = [dc.job_view(raw) for raw in self.api.jobs(scope="space", operation="BACKUP", states=dc.ACTIVE)]
        for view in jobs:
            if sorted(set(view["space_keys"])) == self.keys and view["state"] in dc.ACTIVE:
                self._set_job(view)
                return self._join(view, triggered=False, how="Confluence refused a second backup of %s (HTTP 409 "
                                  "\"%s\"); joined the one already %s (job %s, started by %s)." % (
                                      ", ".join(self.keys), said, view["service_state"], view["id"],
                                      view.get("owner") or "an unknown user"))
        overlapping = [v for v in jobs if set(v["space_keys"]) & set(self.keys)]
        if overlapping:
            detail = "; ".join("job %s of %s (%s, by %s)" % (v["id"], ", ".join(v["space_keys"]), v["service_state"],
                                                             v.get("owner") or "?") for v in overlapping)
            self._fail("Confluence refused the space backup of %s (HTTP 409 \"%s\"): %s covers some of the same "
                       "spaces but not exactly these, so it is not this backup. Wait for it to finish (or cancel it "
                       "with confluence_job) and run again." % (", ".join(self.keys), said, detail),
                       http_status=409, status="not_started")
        self._fail("Confluence refused the space backup of %s (HTTP 409 \"%s\"), and this account sees no queued or "
                   "running backup of those spaces (a job of another user is visible to system administrators "
                   "only). Run again when it has finished." % (", ".join(self.keys), said),
                   http_status=409, status="not_started")

    def _join(self, view, triggered, how):
        p = self.p
        if p["check_mode"] and view["state"] in dc.ACTIVE:
            return check_mode_join(self.result, p, how, "the job")
        if not p["wait"]:
            self.result["msg"] = how + (" Not waiting (wait: false); run the task again with job_id: %s to wait for it "
                                        "and download it." % view["id"])
            return self.result
        try:
            final, elapsed = wait_for_job(self.api, view, p, self.client.clock, self.client.sleep,
                                          on_poll=self._on_poll)
        except TaskFailed as exc:
            self._fail(exc.msg, **exc.fields)
        except JobFailed as exc:
            last = exc.last or view
            self._set_job(last)
            if last["state"] == dc.CANCELLED:
                self._fail("%s Then the job was cancelled%s%s; nothing was downloaded. Run the task again to start "
                           "a new backup." % (how, (" by %s" % last["cancelled_by"]) if last.get("cancelled_by") else "",
                                              (" at %s" % last["cancel_time"]) if last.get("cancel_time") else ""),
                           create_seconds=round(exc.elapsed or 0, 3))
            self._fail("%s Then Confluence reported the job as %s: %s. Nothing was downloaded. A job fails when "
                       "Confluence restarts during it (seed 002); look at the server's log and run the task "
                       "again." % (how, last.get("service_state") or "FAILED",
                                   ("\"%s\"" % last["error_message"]) if last.get("error_message")
                                   else "no reason was given"),
                       create_seconds=round(exc.elapsed or 0, 3))
        except WaitTimeout as exc:
            if exc.last:
                self._set_job(exc.last)
            self._fail("%s Gave up waiting after wait_timeout (%s): %s The job keeps going on the server; run the "
                       "task again to join it and download it." % (how, p["wait_timeout_text"], exc.message),
                       create_seconds=round(exc.elapsed or 0, 3))
        self._set_job(final)
        self.result["create_seconds"] = round(elapsed, 3)
        return self._finish(final, triggered, how)

    def _on_poll(self, view, elapsed):
        self._set_job(view)
        self.log("%s: %s after %d s" % (self._what(), dc.describe(view), elapsed))

    def _finish(self, view, triggered, how):
        p = self.p
        backup_id = "%s/jobs/%s/%s" % (self.label, view["id"], view.get("file_name") or "")
        finished = _parse_utc(view.get("finish_processing_time"))
        self.result.update(backup_id=backup_id, backup_time=format_time(finished))
        if not (p["download"] and p.get("dest")):
            self.result["msg"] = how + " The backup %s is ready on the server; not downloaded (%s)." % (
                view.get("file_name"), "download: false" if not p["download"] else "no dest")
            return self.result
        existing = self.folder.holding(backup_id)
        if existing is not None:
            self.result.update(self.folder.describe(existing))
            self.result["msg"] = how + " That backup is already in %s, verified; nothing downloaded." % p["dest"]
            return self.result
        if view.get("file_exists") is False:
            self._gone(view, how)
        if p["check_mode"]:
            self.result.update(changed=True, would_download=True,
                               msg=how + " Check mode: would download it to %s." % p["dest"])
            return self.result
        kind = "site" if p["scope"] == "site" else "space-" + "_".join(self.keys)[:60]
        when = finished or self.now()
        manifest = {
            "product": PRODUCT,
            "deployment": "datacenter",
            "site": self.client.base_url,
            "site_label": self.label,
            "scope": p["scope"],
            "space_keys": self.keys,
            "job_id": view["id"],
            "job_owner": view.get("owner"),
            "server_file_name": view.get("file_name"),
            "backup_id": backup_id,
            # A joined site backup's attachments are unknown: JobDetails does not say whether it skips them.
            "include_attachments": (p["include_attachments"] if triggered else None) if p["scope"] == "site" else True,
            "keep_permanently": p["keep_permanently"],
            "backup_time": format_time(finished),
            "server_backup_time": view.get("finish_processing_time"),
            "triggered_by_this_run": triggered,
            "create_seconds": self.result.get("create_seconds"),
            "collection_version": self.collection_version,
        }
        downloader = Downloader(self.client, connections=p.get("download_connections") or 1)
        try:
            saved = self.folder.save(downloader, self.api.download_path(view["id"]),
                                     backup_basename(PRODUCT, p["url"], when, kind=None if kind == "site" else kind),
                                     backup_id, manifest, full=p.get("verify") == "full", now=self.now)
        except AtlassianApiError as exc:
            if exc.status == 404:
                self._gone(view, how, exc)
            raise
        self.result.update(saved)
        self.result["changed"] = True
        self.result["msg"] = how + " Downloaded %d bytes to %s (sha256 %s, zip verified)." % (
            saved["size"], saved["path"], saved["sha256"])
        return self.result

    def _gone(self, view, how, exc=None):
        said = (" (HTTP 404 \"%s\")" % dc.error_text(exc)) if exc is not None else ""
        self._fail("%s The backup file %s of job %s is no longer on the server%s: Confluence deletes backups that "
                   "are not kept permanently %s. Nothing was downloaded; run the task again to take a new backup, "
                   "with keep_permanently: true if it must wait longer than that." % (
                       how, view.get("file_name") or "(no name)", view["id"], said,
                       ("at their fileDeleteTime (%s for this one)" % view["file_delete_time"])
                       if view.get("file_delete_time") else "72 h after they are made, by default"),
                   status="gone")


def _parse_utc(text):
    seconds = parse_time(text)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
