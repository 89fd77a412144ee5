# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Confluence Cloud site backup workflow, on the OBM API.

    local check -> status -> trigger or join -> wait -> download -> verify -> sidecars

No Ansible imports: ``run`` takes plain parameters, a client and clocks and
returns a result dict, or raises :class:`BackupFailed` with the fields of the
failure. The module only maps that to ``exit_json``/``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from datetime import datetime, timedelta

from ansible_collections.atlassian_ops.backup.plugins.module_utils import _api_obm as obm
from ansible_collections.atlassian_ops.backup.plugins.module_utils._download import Downloader
from ansible_collections.atlassian_ops.backup.plugins.module_utils._duration import format_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils._store import (
    MANIFEST_FORMAT,
    UTC,
    backup_basename,
    iso,
    parse_iso,
    read_manifests,
    site_label,
    utc_from_ms,
    verify_existing,
    verify_zip,
    write_sidecars,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils._waiter import (
    DONE,
    FAILED,
    RUNNING,
    JobFailed,
    WaitTimeout,
    is_transient,
    poll_until,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils._client import AtlassianError

PRODUCT = "confluence"


class BackupFailed(Exception):
    def __init__(self, msg, **fields):
        super(BackupFailed, self).__init__(msg)
        self.msg = msg
        self.fields = fields


class CloudBackup(object):
    """One run of ``confluence_backup`` for a Cloud site.

    ``params``: url, include_attachments, dest, max_age (seconds or None),
    wait, wait_timeout, poll_interval (seconds), download, on_frequency_limit,
    verify ('structure' or 'full'), check_mode.
    """

    def __init__(self, params, client, now=None, clock=None, sleep=None, log=None, collection_version=None):
        self.p = params
        self.client = client
        self.api = obm.ObmApi(client)
        self.now = now or (lambda: datetime.now(UTC))
        self.clock = clock or client.clock
        self.sleep = sleep or client.sleep
        self.log = log or (lambda msg: None)
        self.label = site_label(params["url"])
        self.collection_version = collection_version
        self.result = dict(changed=False, triggered=False, path=None, size=None, sha256=None, file_name=None,
                           status=None, service_status=None, percentage=None, next_allowed_at=None,
                           create_seconds=None, download_seconds=None, bytes_per_second=None,
                           manifest_path=None, checksum_path=None, backup_id=None, backup_time=None)

    # ---------------------------------------------------------------- helpers
    def _fail(self, msg, **fields):
        data = dict(self.result)
        data.update(fields)
        raise BackupFailed(msg, **data)

    def _manifests(self):
        dest = self.p.get("dest")
        if not dest or not os.path.isdir(dest):
            return []
        return read_manifests(dest, PRODUCT, self.label)

    def _fill_from_manifest(self, manifest):
        dest = self.p["dest"]
        zip_path = os.path.join(dest, manifest["file"])
        self.result.update(
            path=zip_path, size=manifest["size"], sha256=manifest["sha256"],
            file_name=manifest.get("server_file_name"), backup_id=manifest.get("backup_id"),
            backup_time=manifest.get("backup_time"), manifest_path=manifest["_manifest_path"],
            checksum_path=zip_path + ".sha256")

    def _fresh_local_backup(self):
        max_age = self.p.get("max_age")
        if max_age is None:
            return None
        now = self.now()
        for manifest in self._manifests():
            when = parse_iso(manifest.get("backup_time")) or parse_iso(manifest.get("downloaded_at"))
            if when is None or (now - when).total_seconds() > max_age:
                continue
            if verify_existing(self.p["dest"], manifest):
                return manifest
            self.log("backup %s failed verification; not counted" % manifest.get("file"))
        return None

    def _local_copy_of(self, backup_id):
        for manifest in self._manifests():
            if manifest.get("backup_id") == backup_id and verify_existing(self.p["dest"], manifest):
                return manifest
        return None

    def _progress_now(self, attempts=6):
        """Read the progress once, riding out non-JSON bodies and transient errors.

        Real sites sometimes answer an HTML page or an empty body for a while
        (reference 1.3); up to ``attempts`` reads, ``poll_interval`` apart.
        """
        last = None
        for attempt in range(attempts):
            try:
                return self.api.progress()
            except AtlassianError as exc:
                if not is_transient(exc):
                    raise
                last = exc
                self.log("getprogress: %s (read %d of %d)" % (exc.message, attempt + 1, attempts))
                if attempt + 1 < attempts:
                    self.sleep(self.p["poll_interval"])
        raise last

    def _set_progress(self, progress):
        self.result.update(status=progress["state"], service_status=progress.get("status"),
                           percentage=progress.get("percentage"))
        if progress.get("file_name"):
            self.result["file_name"] = progress["file_name"]

    # ---------------------------------------------------------------- run
    def run(self):
        p = self.p
        fresh = self._fresh_local_backup()
        if fresh is not None:
            self._fill_from_manifest(fresh)
            self.result.update(status="complete", msg="%s already holds a verified backup of %s from %s, younger "
                               "than max_age (%s); nothing to do." % (
                                   p["dest"], self.label, fresh.get("backup_time"), format_duration(p["max_age"])))
            return self.result

        progress = self._progress_now()
        self._set_progress(progress)

        if progress["state"] == obm.RUNNING:
            return self._join(progress, baseline=None, triggered=False,
                              how="A backup was already running on %s; joined it instead of starting another." %
                              self.label)

        if p["check_mode"]:
            return self._check_mode_report(progress)

        accepted, body, refusal = self.api.run_backup(p["include_attachments"])
        if accepted:
            self.result.update(triggered=True, changed=True)
            history = obm.parse_cloud_history(body)
            if history and history.get("backupId"):
                self.result["backup_request_id"] = history["backupId"]
            return self._join(progress, baseline=progress, triggered=True,
                              how="Started a new backup of %s." % self.label)

        if refusal["kind"] == "in_progress":
            return self._join(self._progress_now(), baseline=None, triggered=False,
                              how="The site said a backup is already in progress; joined it.")
        if refusal["kind"] == "frequency_limited":
            return self._frequency_limited(refusal)
        # Some other refusal: a backup may have started elsewhere in between.
        progress = self._progress_now()
        if progress["state"] == obm.RUNNING:
            return self._join(progress, baseline=None, triggered=False,
                              how="The site refused a new backup (HTTP %s) while one was running; joined it." %
                              refusal.get("status"))
        self._fail("Confluence refused to start a backup: HTTP %s: %s" % (refusal.get("status"),
                                                                          refusal.get("message") or "(no text)"),
                   http_status=refusal.get("status"))

    def _check_mode_report(self, progress):
        p = self.p
        self.result.update(changed=True, would_trigger=True,
                           would_download=bool(p["download"] and p.get("dest")))
        msg = "Check mode: would start a new backup of %s" % self.label
        if p["download"] and p.get("dest"):
            msg += ", wait for it and download it to %s" % p["dest"]
        msg += (". The site's answer (it may refuse: one backup per 24-48 h) is not known without starting one, "
                "which check mode never does.")
        if progress["state"] == obm.COMPLETE:
            msg += " The site currently holds a completed backup (%s)." % obm.server_file_id(progress["file_name"])
        self.result["msg"] = msg
        return self.result

    def _frequency_limited(self, refusal):
        p = self.p
        wait = refusal.get("wait_seconds")
        if wait is not None:
            self.result["next_allowed_at"] = iso(self.now() + timedelta(seconds=wait))
        when = (" The next backup is allowed in about %s (%s)." % (format_duration(wait), self.result["next_allowed_at"])
                if wait is not None else "")
        quote = "Confluence limits backups: \"%s\"." % " ".join((refusal.get("message") or "").split())
        self.result["status"] = "frequency_limited"
        if p["on_frequency_limit"] == "fail":
            self._fail("%s%s on_frequency_limit is 'fail'." % (quote, when))
        if p["on_frequency_limit"] == "skip":
            self.result["msg"] = "%s%s Skipped (on_frequency_limit: skip)." % (quote, when)
            return self.result
        # use_latest: download the newest completed backup the site still holds.
        progress = self._progress_now()
        self._set_progress(progress)
        self.result["status"] = "frequency_limited"
        if progress["state"] == obm.RUNNING:
            return self._join(progress, baseline=None, triggered=False,
                              how="%s%s A backup is running on the site; joined it." % (quote, when))
        if progress["state"] != obm.COMPLETE:
            self._fail("%s%s The site holds no completed backup to download instead (state: %s), so there is "
                       "nothing to save now; run again after the time above." % (quote, when, obm.describe(progress)))
        return self._finish(progress, triggered=False,
                            how="%s%s Used the newest completed backup the site holds." % (quote, when),
                            keep_status="frequency_limited")

    def _join(self, progress, baseline, triggered, how):
        p = self.p
        if not p["wait"]:
            self._set_progress(progress)
            self.result["msg"] = how + " Not waiting (wait: false); run again later to download it."
            return self.result
        started = self.clock()

        def classify(current):
            state = current["state"]
            if baseline is not None:
                if state == obm.IDLE:
                    return RUNNING  # the new job has not shown up yet
                if state == obm.COMPLETE and baseline["state"] == obm.COMPLETE and \
                        current["file_name"] == baseline["file_name"]:
                    return RUNNING  # still the previous backup
                if state == obm.FAILED and baseline["state"] == obm.FAILED and current["time"] == baseline["time"]:
                    return RUNNING  # still the previous failure
            if state == obm.COMPLETE:
                return DONE
            if state == obm.FAILED:
                return FAILED
            if state == obm.IDLE and baseline is None:
                # Joined a job that vanished without a result.
                return FAILED
            return RUNNING

        def on_poll(current, elapsed):
            self._set_progress(current)
            self.log("backup of %s: %s after %d s" % (self.label, obm.describe(current), elapsed))

        first = [progress] if baseline is None else []

        def fetch():
            if first:
                return first.pop()
            return self.api.progress()

        try:
            final, elapsed, _polls = poll_until(fetch, classify, p["wait_timeout"], p["poll_interval"],
                                                clock=self.clock, sleep=self.sleep, on_poll=on_poll,
                                                describe=obm.describe)
        except JobFailed as exc:
            last = exc.last or {}
            if last:
                self._set_progress(last)
            pct = last.get("percentage")
            reason = last.get("failed_message")
            if last.get("state") == obm.IDLE:
                self._fail("The backup that was running on %s disappeared without a result (the site reports no "
                           "backup any more). Run the task again to start a new one." % self.label,
                           status="failed", create_seconds=round(self.clock() - started, 3))
            self._fail("Confluence reported the backup of %s as %s at %s: %s. Nothing was downloaded. Run the task "
                       "again to start a new backup (the site may refuse one for up to 24-48 h)." % (
                           self.label, last.get("status") or "FAILED",
                           ("%d %%" % pct) if pct is not None else "an unknown percentage",
                           ("the service said \"%s\"" % reason) if reason else "the service gave no reason"),
                       status="failed", failed_message=reason, percentage=pct,
                       create_seconds=round(self.clock() - started, 3))
        except WaitTimeout as exc:
            self._fail("%s Gave up waiting after wait_timeout (%s): %s The backup keeps running on the site; run the "
                       "task again to join it and download it." % (how, format_duration(p["wait_timeout"]),
                                                                   exc.message),
                       status="running", create_seconds=round(exc.elapsed or 0, 3))
        self.result["create_seconds"] = round(elapsed, 3)
        return self._finish(final, triggered=triggered, how=how)

    def _finish(self, progress, triggered, how, keep_status=None):
        p = self.p
        self._set_progress(progress)
        if keep_status:
            self.result["status"] = keep_status
        backup_id = obm.server_file_id(progress["file_name"])
        self.result["backup_id"] = backup_id
        server_time = utc_from_ms(progress.get("time"))
        self.result["backup_time"] = iso(server_time) if server_time else None
        if not (p["download"] and p.get("dest")):
            self.result["msg"] = how + " The backup is ready on the site (%s); not downloaded (download: %s)." % (
                backup_id, p["download"])
            return self.result

        existing = self._local_copy_of(backup_id)
        if existing is not None:
            self._fill_from_manifest(existing)
            self.result["msg"] = how + " That backup is already in %s, verified; nothing downloaded." % p["dest"]
            return self.result

        if p["check_mode"]:
            self.result.update(changed=True, would_download=True,
                               msg=how + " Check mode: would download it to %s." % p["dest"])
            return self.result

        try:
            source = obm.download_path(progress["file_name"])
        except obm.UnsafeFileName as exc:
            self._fail("Refusing to download: %s." % exc)
        when = server_time or self.now()
        base = backup_basename(PRODUCT, p["url"], when)
        final = os.path.join(p["dest"], base + ".zip")
        counter = 1
        while os.path.exists(final) or os.path.exists(final[:-4] + ".json"):
            final = os.path.join(p["dest"], "%s-%d.zip" % (base, counter))
            counter += 1
        full = p.get("verify") == "full"
        entries = {}

        def verify(part):
            entries["count"] = verify_zip(part, full=full)

        downloader = Downloader(self.client, connections=p.get("download_connections") or 1)
        info = downloader.download(source, final, identity=backup_id, resume=True, verify=verify)
        manifest = {
            "format": MANIFEST_FORMAT,
            "product": PRODUCT,
            "deployment": "cloud",
            "site": self.client.base_url,
            "site_label": self.label,
            "server_file_name": progress["file_name"],
            "backup_id": backup_id,
            "file": os.path.basename(final),
            "size": info["size"],
            "sha256": info["sha256"],
            "zip_entries": entries.get("count"),
            "verified": "zip-crc" if full else "zip-structure",
            "include_attachments": p["include_attachments"],
            "backup_time": self.result["backup_time"],
            "downloaded_at": iso(self.now()),
            "triggered_by_this_run": triggered,
            "download_seconds": info["seconds"],
            "collection_version": self.collection_version,
        }
        sha_path, manifest_path = write_sidecars(final, manifest)
        self.result.update(changed=True, path=final, size=info["size"], sha256=info["sha256"],
                           download_seconds=info["seconds"], bytes_per_second=info["bytes_per_second"],
                           manifest_path=manifest_path, checksum_path=sha_path,
                           download_attempts=info["attempts"], resumed_from=info["resumed_from"],
                           transfer_seconds=info["transfer_seconds"], download_connections=info["connections"],
                           download_mode=info["mode"], link_refreshes=info["link_refreshes"])
        self.result["msg"] = how + " Downloaded %d bytes to %s (sha256 %s, zip verified)." % (
            info["size"], final, info["sha256"])
        return self.result
