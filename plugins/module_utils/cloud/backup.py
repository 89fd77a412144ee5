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

from datetime import datetime, timedelta

from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud import api as obm
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import format_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.manifest import format_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import (
    UTC,
    BackupFolder,
    backup_basename,
    site_label,
    utc_from_ms,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.download import Downloader
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import (
    check_mode_join,
    DONE,
    FAILED,
    RUNNING,
    JobFailed,
    WaitTimeout,
    poll_until,
)

PRODUCT = "confluence"
BackupFailed = TaskFailed
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A finished backup whose time is this much before the start request was made before it: by the server's own
# clock (the answer's Date header, 1 s resolution), or by ours when the answer had no Date.
SERVER_CLOCK_TOLERANCE = 2.0
LOCAL_CLOCK_TOLERANCE = 600.0


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
        self.folder = BackupFolder(params.get("dest"), PRODUCT, self.label,
                                   accepts=self._same_kind, log=self.log)
        self.collection_version = collection_version
        self.answer = None
        self.requested_at = None
        self.result = dict(changed=False, triggered=False, path=None, size=None, sha256=None, file_name=None,
                           status=None, service_status=None, percentage=None, next_allowed_at=None,
                           create_seconds=None, download_seconds=None, bytes_per_second=None,
                           manifest_path=None, checksum_path=None, backup_id=None, backup_time=None)

    # ---------------------------------------------------------------- helpers
    def _same_kind(self, manifest):
        """A Cloud backup taken with attachments as this run asks (as taken, not as once requested)."""
        return (manifest.get("deployment", "cloud") == "cloud"
                and manifest.get("include_attachments") is bool(self.p["include_attachments"]))

    def _fail(self, msg, **fields):
        data = dict(self.result)
        data.update(fields)
        raise BackupFailed(msg, **data)

    def _progress_now(self, attempts=6):
        """Read the progress once, riding out bodies that are not progress at all.

        Real sites sometimes answer an HTML page or an empty body for a while
        (reference 1.3): up to ``attempts`` reads, at most 5 s apart. HTTP errors
        and lost connections are not read again here: the client has already
        retried them (``retries``), so an unreachable site fails within
        ``timeout x (retries + 1)`` plus the backoff.
        """
        for attempt in range(attempts):
            try:
                return self.api.progress()
            except obm.ObmParseError as exc:
                self.log("getprogress: %s (read %d of %d)" % (exc.message, attempt + 1, attempts))
                if attempt + 1 == attempts:
                    raise
                self.sleep(min(self.p["poll_interval"], 5.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _set_progress(self, progress):
        self.result.update(status=progress["state"], service_status=progress.get("status"),
                           percentage=progress.get("percentage"))
        if progress.get("file_name"):
            self.result["file_name"] = progress["file_name"]

    # ---------------------------------------------------------------- run
    def run(self):
        p = self.p
        fresh = self.folder.fresh(p.get("max_age"), self.now())
        if fresh is not None:
            self.result.update(self.folder.describe(fresh))
            self.result.update(status="complete", msg="%s already holds a verified backup of %s from %s, younger "
                               "than max_age (%s); nothing to do." % (
                                   p["dest"], self.label, fresh.get("backup_time"), p["max_age_text"]))
            return self.result

        progress = self._progress_now()
        self._set_progress(progress)

        if progress["state"] == obm.RUNNING:
            return self._join(progress, baseline=None, triggered=False,
                              how="A backup was already running on %s; joined it instead of starting another." %
                              self.label)

        if p["check_mode"]:
            return self._check_mode_report(progress)

        self.requested_at = (self.now() - EPOCH).total_seconds()
        sent = self.clock()
        answer = self.api.run_backup(p["include_attachments"])
        # The Date header is stamped when the answer leaves; the request arrived up to a round trip earlier.
        answer["round_trip"] = max(0.0, self.clock() - sent)
        self.answer = answer
        # The API's raw answer, for the result (and -v) and the manifest; the summary says what it meant.
        self.result["start_answer"] = {"http_status": answer["status"], "outcome": answer["outcome"],
                                       "message": answer["message"][:500]}
        request = obm.history_summary(answer["history"])
        if request:
            self.result.update(backup_request=request, backup_request_id=request["backup_id"])
        said = self._quote_answer(answer)
        if answer["outcome"] == "frequency_limited":
            return self._frequency_limited(answer)
        if answer["outcome"] == "refused":
            # Words we do not know: a backup may have started in between (by a person, another job).
            current = self._progress_now()
            if current["state"] == obm.RUNNING:
                return self._join(current, baseline=None, triggered=False,
                                  how="The site refused a new backup (%s) while one was running; joined it." % said)
            self._set_progress(current)
            self._fail("Confluence refused to start a backup: %s. Nothing was started or downloaded." % said,
                       http_status=answer["status"])
        triggered = self._started_by_this_request(answer)
        self.result.update(triggered=triggered, changed=triggered)
        if triggered:
            how = "Started a new backup of %s; the site acknowledged it." % self.label
        else:
            how = ("Asked %s for a new backup; it answered %s, so a backup started by someone else is running; "
                   "waiting for it." % (self.label, said))
        return self._join(None, baseline=progress, triggered=triggered, how=how)

    @staticmethod
    def _quote_answer(answer):
        text = answer["message"]
        if len(text) > 300:
            text = text[:300] + "..."
        return "HTTP %s %s" % (answer["status"], ("\"%s\"" % text) if text else "with an empty body")

    def _started_by_this_request(self, answer):
        """Whether this run's POST started the backup, as far as the answer shows it.

        A 2xx started it (seed 000 answers a successful start with a text that
        says "already in progress ... status='QUEUED'"). A 406 "already in
        progress" started it too when its CloudHistory was created at the time
        of the request (or, without times, when its status is QUEUED); without
        a CloudHistory nothing says so.
        """
        if answer["outcome"] == "started":
            return True
        history = answer.get("history") or {}
        created = obm.parse_history_time(history.get("creationTime"))
        if created is not None and answer.get("server_time") is not None:
            return created >= answer["server_time"] - SERVER_CLOCK_TOLERANCE - answer.get("round_trip", 0.0)
        return (history.get("status") or "").upper() == "QUEUED"

    def _older_than_request(self, progress):
        """True when a finished backup's time is before the start request (by the server's clock when known)."""
        when = progress.get("time")
        if not when:
            return False
        server_time = (self.answer or {}).get("server_time")
        if server_time is not None:
            return when / 1000.0 < server_time - SERVER_CLOCK_TOLERANCE - self.answer.get("round_trip", 0.0)
        return when / 1000.0 < self.requested_at - LOCAL_CLOCK_TOLERANCE

    def _is_new(self, current, baseline):
        """Whether ``current`` shows a backup other than the one seen before the start request."""
        state = current["state"]
        if state == obm.IDLE:
            return False
        if baseline is None or state == obm.RUNNING:
            return True
        if state == baseline["state"] and state == obm.COMPLETE and current["file_name"] == baseline["file_name"]:
            return False
        if state == baseline["state"] and current["time"] and current["time"] == baseline["time"]:
            return False
        return not self._older_than_request(current)

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

    def _check_mode_join(self, first, how):
        """Check mode met a running backup: report what a real run would do, after one read, without waiting."""
        if first is not None:
            self._set_progress(first)
        return check_mode_join(self.result, self.p, how, "the site")

    def _frequency_limited(self, answer):
        p = self.p
        wait = answer.get("wait_seconds")
        if wait is not None:
            self.result["next_allowed_at"] = format_time(self.now() + timedelta(seconds=wait))
        when = (" The next backup is allowed in about %s (%s)." % (format_duration(wait), self.result["next_allowed_at"])
                if wait is not None else "")
        quote = "Confluence limits backups: \"%s\"." % answer["message"]
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

    def _join(self, first, baseline, triggered, how):
        """Wait for the backup and finish it.

        ``baseline`` is the progress read before this run's start request (None
        when no request was sent: the backup was running already). With a
        baseline, only a backup other than that one counts: the idle body and
        the previous backup mean "not shown yet" for up to ``start_timeout``,
        then the run fails saying what the site showed. ``first`` is a progress
        already read that counts as the first poll.
        """
        p = self.p
        if p["check_mode"]:
            return self._check_mode_join(first, how)
        if not p["wait"]:
            if first is not None:
                self._set_progress(first)
            else:
                self.result.update(status="running", percentage=0,
                                   service_status=(self.result.get("backup_request") or {}).get("status"))
            self.result["msg"] = how + " Not waiting (wait: false); run again later to download it."
            return self.result
        started = self.clock()
        seen = {"since": started, "new": None}

        def classify(current):
            if baseline is not None and not self._is_new(current, baseline):
                unseen = self.clock() - seen["since"]
                if unseen > p["start_timeout"]:
                    self._set_progress(current)
                    self._not_shown(current, baseline, seen["new"], unseen, started)
                return RUNNING
            seen["since"] = self.clock()
            seen["new"] = current
            state = current["state"]
            if state == obm.COMPLETE:
                return DONE
            if state == obm.FAILED:
                return FAILED
            if state == obm.IDLE:
                # Joined a job that vanished without a result.
                return FAILED
            return RUNNING

        def on_poll(current, elapsed):
            self._set_progress(current)
            self.log("backup of %s: %s after %d s" % (self.label, obm.describe(current), elapsed))

        pending = [first] if first is not None else []

        def fetch():
            if pending:
                return pending.pop()
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
                       "task again to join it and download it." % (how, p["wait_timeout_text"], exc.message),
                       status="running", create_seconds=round(exc.elapsed or 0, 3))
        self.result["create_seconds"] = round(elapsed, 3)
        return self._finish(final, triggered=triggered, how=how)

    def _request_record(self):
        """What the start request of this run got, for the manifest (None when no request was sent)."""
        if self.answer is None:
            return None
        return {"http_status": self.answer["status"], "outcome": self.answer["outcome"],
                "message": self.answer["message"][:500], "cloud_history": self.result.get("backup_request")}

    def _not_shown(self, current, baseline, new, unseen, started):
        """Fail: after the start request the site went on showing no backup, or only the one from before."""
        p = self.p
        if current["state"] == obm.IDLE:
            showing = "no backup at all (the idle body: size 0, time 0)"
        else:
            showing = "only the backup from before this run's request (%s, %s, finished %s)" % (
                obm.server_file_id(current.get("file_name")) or "no file name", obm.describe(current),
                format_time(utc_from_ms(current.get("time"))) or "at an unknown time")
        if new is not None:
            what = ("The new backup of %s was seen (%s) and then, for %s, the site showed %s." % (
                self.label, obm.describe(new), format_duration(unseen), showing))
        else:
            what = ("After the start request (%s) %s showed %s for %s; no new backup appeared." % (
                self._quote_answer(self.answer) if self.answer else "none sent", self.label, showing,
                format_duration(unseen)))
        self._fail("%s Nothing was downloaded (a backup from before the request is never returned as this run's). Look at the "
                   "site's backup manager (/wiki/plugins/servlet/ondemandbackupmanager/admin); raise start_timeout "
                   "(now %s) if the site queues backups for longer, or run the task again later." % (
                       what, p["start_timeout_text"]),
                   status="not_started", create_seconds=round(self.clock() - started, 3))

    def _finish(self, progress, triggered, how, keep_status=None):
        p = self.p
        self._set_progress(progress)
        if keep_status:
            self.result["status"] = keep_status
        backup_id = obm.server_file_id(progress["file_name"])
        self.result["backup_id"] = backup_id
        server_time = utc_from_ms(progress.get("time"))
        self.result["backup_time"] = format_time(server_time) if server_time else None
        if not (p["download"] and p.get("dest")):
            self.result["msg"] = how + " The backup is ready on the site (%s); not downloaded (%s)." % (
                backup_id, "download: false" if not p["download"] else "no dest")
            return self.result

        existing = self.folder.holding(backup_id)
        if existing is not None:
            self.result.update(self.folder.describe(existing))
            self.result["msg"] = how + " That backup is already in %s, verified; nothing downloaded." % p["dest"]
            self._say_taken(existing.get("include_attachments"))
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
        manifest = {
            "product": PRODUCT,
            "deployment": "cloud",
            "site": self.client.base_url,
            "site_label": self.label,
            "server_file_name": progress["file_name"],
            "backup_id": backup_id,
            "include_attachments": p["include_attachments"],
            "backup_time": self.result["backup_time"],
            "triggered_by_this_run": triggered,
            "start_request": self._request_record(),
            "create_seconds": self.result.get("create_seconds"),
            "collection_version": self.collection_version,
        }
        downloader = Downloader(self.client, connections=p.get("download_connections") or 1)
        saved = self.folder.save(downloader, source, backup_basename(PRODUCT, p["url"], when), backup_id, manifest,
                                 full=p.get("verify") == "full", now=self.now)
        self.result.update(saved)
        self.result["changed"] = True
        self.result["msg"] = how + " Downloaded %d bytes to %s (sha256 %s, zip verified)." % (
            saved["size"], saved["path"], saved["sha256"])
        self._say_taken(saved.get("include_attachments"))
        return self.result

    def _say_taken(self, taken):
        """Return whether the backup holds attachments as taken, and say so when that is not what was asked."""
        self.result["include_attachments"] = taken
        if taken is not None and taken is not bool(self.p["include_attachments"]):
            self.result["msg"] += (" This backup was taken %s attachments (as its archive or its start request "
                                   "says), not as include_attachments asks; the manifest records it as taken, and "
                                   "max_age never reuses it for a run that asks otherwise." % (
                                       "with" if taken else "without"))
