# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center 8.3+ backup & restore REST API (``/rest/api/backup-restore``), as the sources describe it.

Sources: [docs] Atlassian's "Confluence REST API Documentation" (a Markdown copy in the code index, id 70989427401:
schemas, response descriptions); [client] a TypeScript client generated from Atlassian's OpenAPI file (code index id
48050904198: FileInfo's fields, clear-queue's example ``1``, the 400 of ``restore/files``); [ref] the project
reference ``shared/reference/atlassian-apis.md`` section 3 (the JobDetails sample of developer.atlassian.com v1000,
the Javadoc ``JobState`` enum); [seed] seed 002 (Atlassian's "Backup and Restore" page for 8.3+). [I] marks an
inference: no source says it. ``docs/emulator_evidence.md`` has one row per behaviour.

* Base ``<dc_context_path>/rest/api/backup-restore`` ([docs]: "http://host:port/context/rest/api/..."); any other
  context (the bare path too) is a 404. Basic ``username:password`` (``dc_users``) or ``Authorization: Bearer <PAT>``
  (``dc_pats``, token -> username); otherwise 401 with Confluence's JSON (``Emulator.unauthorized``) [I for PATs].
* Errors: ``{"statusCode","data":{"authorized","valid","errors":[],"successful":false},"message"}`` [I: shape, taken
  from Confluence's 401]; the messages are the docs' response descriptions without "Returned if" [docs, client].
* ``POST backup/site`` (sysadmin) and ``backup/space`` (sysadmin, or a user whose ``dc_space_permissions`` cover every
  key [I from the download rule]). Bodies follow the schemas: ``additionalProperties: false``, required
  ``skipAttachments``+``keepPermanently`` / ``keepPermanently`` [docs]; an unknown key, a missing required one, a wrong
  type, an unknown space key or no ``spaceKeys`` at all is 400 "invalid settings provided" [docs wording; the cases
  I]. 409 when a QUEUED or PROCESSING space backup shares a key [docs: "the same spaces selected"; that
  a shared key is enough, rather than the same set, is I]; site backups just queue [I]. Space backups
  always include attachments [seed]. A non-JSON Content-Type is 415 [I: JAX-RS].
* The queue: one job is processed at a time, in creation order, the others are QUEUED [seed]. Lazily on every request
  (and state read): QUEUED -> PROCESSING -> FINISHED or FAILED, after ``dc_backup_seconds``/``dc_restore_seconds`` of
  the emulator's clock, or, for jobs with ``polls`` (``dc_job_polls`` for API-made ones), after that many answered GETs
  of ``/jobs`` or ``/jobs/{id}`` (any job; downloads do not count [I]) once it started. The next job starts when the
  previous one ended. ``dc_processing_word``: PROCESSING (the Javadoc enum and the ``jobStates`` filter [ref, docs])
  or IN_PROGRESS (the JobDetails sample [ref]).
* JobDetails: the sample's keys, in its order [ref]; ``spaceKeys`` a comma-separated string [ref]; times ISO 8601 UTC
  without milliseconds like the sample [ref]; keys without a value are omitted [I]. ``fileName``: ``<fileNamePrefix>
  backup-<site|space>-<yyyyMMdd-HHmmss>.zip``, unique [I: no source shows 8.3's pattern; legacy was
  ``backup-yyyy_MM_dd``]. ``fileDeleteTime`` = createTime + ``dc_file_retention_seconds`` (72 h [seed]) unless
  ``keepPermanently`` [seed]; ``fileExists`` is true once FINISHED until then [I]; restore jobs: true [I].
* ``GET jobs/{id}/download``: sysadmin, or export permission for every space of a space backup [docs]; else, or when
  not FINISHED or deleted, 404 [docs]. ``application/octet-stream`` [docs], ``Content-Disposition`` [I], Content-Length
  (``dc_download_length``) and Range (``dc_download_ranges``, off: nothing documents it) [I]. The zip is flat
  (``entities.xml`` at the top) with ``exportDescriptor.properties`` saying ``exportType=all`` or ``space`` [I].
* ``GET jobs``: ``limit`` (25), ``fromDate``/``toDate`` (``yyyy-MM-ddTHH:mm:ss.SSSZ``), ``jobScope``,
  ``jobOperation``, ``jobStates``, ``spaceKey``, ``owner`` [docs]; a bad value is 400 [docs]. ``jobStates`` repeated or
  comma-separated [I]; newest first [I]; non-sysadmins see their own jobs [I]. ``GET jobs/{id}``: sysadmin or owner,
  else 404 [docs]. ``PUT jobs/{id}/cancel`` (sysadmin or owner [I]): QUEUED -> CANCELLED; PROCESSING -> CANCELLING ->
  CANCELLED at the next request [I]; nothing for the others [docs]. ``PUT jobs/clear-queue`` (sysadmin): cancels the
  QUEUED jobs, answers the count, e.g. ``1`` [docs, client].
* ``GET restore/files?jobScope=``: the restore folder's files as ``[{"fileName","fileCreationTime","fileSize",
  "jobScope"}]`` [client: the fields; values I]; a non-sysadmin gets 400 [client]. ``POST restore/site|space``
  ``{"fileName","skipReindex"}`` (sysadmin [I]): a file not in that scope's folder is 400 "invalid filename
  provided" [docs]. ``POST restore/site|space/upload``: ``X-Atlassian-Token`` ``nocheck`` [docs] or ``no-check``
  [I: Atlassian's XSRF filter], else 403 "XSRF check failed" [I shape]; multipart field ``file`` [docs], streamed to
  disk in 1 MiB pieces with its sha256, then checked with ``zipfile``: 400 "uploaded file is not a zip file" [docs].
  ``dc_refuse_chunked_uploads``: 411 to chunked request bodies, as many reverse proxies do [I].
* A restore fails when the file does not match the job, e.g. a site backup in a space restore [seed], judged from
  ``exportDescriptor.properties``' ``exportType`` [I]; a file that is not a zip fails too [I]; otherwise the job ends
  as ``dc_restore_outcome`` (``dc_restore_error``). Uploaded files are deleted once inspected (disk economy) [I].
* Several instances (an emulator convenience, not a service fact): the one at ``dc_context_path`` and one per key of
  ``dc_instances`` (a context path mapped to settings that override the emulator's for that instance, e.g.
  ``{"/confluence-drill": {"dc_content": []}}``), each with its own jobs, restore folder, uploads, request log and
  content. Every instance takes the emulator's other settings (users, PATs, timings) unless its entry overrides them.
* Content (content.py): a backup's zip holds an ``entities.xml`` of the spaces the instance held when the job started
  (a space backup: only its spaces), with their current pages and blog posts (zipstream.entities_xml), unless
  ``backup_inventory`` asks for counts instead. A restore reads the restored zip's ``entities.xml`` (entities.py;
  for an upload, as it arrives): no ``entities.xml`` at the top, or one that does not parse, and the job ends FAILED
  [I]. When a site restore finishes, the instance holds exactly the zip's spaces (a site restore replaces everything
  [I]); a space restore adds its spaces, and one whose key the instance already holds fails the
  job (``dc_space_restore_existing: fail``, Confluence's unique space key; ``replace``: replaces it) [I].
  ``dc_restore_lose_pages`` (``{"DOC": 3}``) and ``dc_restore_lose_spaces`` (``["HR"]``) make every restore bring
  back less than the zip holds, as the restore's "records skipped" can [seed 002]. A restore-folder file placed
  without a description of its content (``content``, ``path`` or ``from_job``) leaves the content as it is.
* Test-only, no auth: ``POST /_emulator/dc/job`` and ``/_emulator/dc/restore-file`` place a job or a restore-folder
  file (``context`` picks the instance); ``state()["dc"]`` (the instance at ``dc_context_path``) and
  ``state()["dc_instances"]["/<context>"]`` (every instance) have ``jobs`` (JobDetails plus ``internal``),
  ``uploads``, ``restore_files``, ``requests`` and ``writes`` (POST/PUT requests to the API).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import base64
import calendar
import hashlib
import hmac
import os
import re
import shutil
import tempfile
import time
import zipfile

from aiohttp import web

from atlassian_emulator.content import DC_TYPES, ContentError, dc_context, normalise, store_of
from atlassian_emulator.entities import Unreadable, read_zip
from atlassian_emulator.media import _send, parse_range
from atlassian_emulator.zipstream import BackupZip, entities_xml

API = "/{ctx:(?:[^/]+/)*}rest/api/backup-restore"
SCOPES = ("SITE", "SPACE")
OPERATIONS = ("BACKUP", "RESTORE")
STATES = ("QUEUED", "PROCESSING", "FINISHED", "CANCELLING", "CANCELLED", "FAILED")
RUNNING = ("PROCESSING", "CANCELLING")
TERMINAL = ("FINISHED", "FAILED", "CANCELLED")
CHUNK = 1024 * 1024
SITE_SCHEMA = {"skipAttachments": bool, "keepPermanently": bool, "fileNamePrefix": str}
SPACE_SCHEMA = {"spaceKeys": list, "keepPermanently": bool, "fileNamePrefix": str}
RESTORE_SCHEMA = {"fileName": str, "skipReindex": bool}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}:?\d{2})$")
MESSAGES = {
    "settings": "invalid settings provided",
    "site_backup": "user doesn't have permission to create site backups",
    "space_backup": "user doesn't have permission to create space backups",
    "conflict": "backup with the same spaces selected is already in PROGRESS or QUEUED",
    "filters": "invalid filter parameters were passed",
    "get": "job not found or user doesn't have permission to see it",
    "cancel": "job not found or user doesn't have permission to cancel it",
    "download": "job not found or user doesn't have permissions for the job or the file is missing",
    "clear": "user doesn't have permission to cancel jobs",
    "files": "user is not a system administrator",
    "filename": "invalid filename provided",
    "notzip": "uploaded file is not a zip file",
    "restore_SITE": "user doesn't have permission to restore site",
    "restore_SPACE": "user doesn't have permission to restore spaces",
    "upload_SITE": "user doesn't have permission to restore site",
    "upload_SPACE": "user doesn't have permission to restore space",
    "xsrf": "XSRF check failed",
}
LENGTH_REQUIRED = ("<html>\r\n<head><title>411 Length Required</title></head>\r\n<body>\r\n<center><h1>411 Length "
                   "Required</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def iso(t, style="sample"):
    """ISO 8601 UTC without milliseconds, like the JobDetails sample "2020-01-01T01:01:01Z" (``dc_time_style``
    "sample"), or with milliseconds and a numeric zone, like the API's ``yyyy-MM-ddTHH:mm:ss.SSSZ`` filter format
    ("java": "2020-01-01T02:01:01.250+0100" for a server one hour east of UTC) [I: both are plausible answers]."""
    if t is None:
        return None
    if style == "java":
        local = t + 3600
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local)) + ".%03d+0100" % (int(local * 1000) % 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_date(text):
    """``yyyy-MM-ddTHH:mm:ss.SSSZ`` (Z, +HHMM or +HH:MM) as epoch seconds; None when malformed."""
    match = _DATE.match(text or "")
    if not match:
        return None
    year, month, day, hour, minute, second, millis, zone = match.groups()
    try:
        t = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0))
        time.strptime("%s-%s-%s %s:%s:%s" % (year, month, day, hour, minute, second), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        t -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return t + int(millis) / 1000.0


def descriptor(export_type, space_keys=(), attachments=True):
    """exportDescriptor.properties of a Data Center export [I: keys as Confluence writes them in space exports]."""
    lines = ["#Confluence export", "exportType=%s" % export_type]
    if space_keys:
        lines += ["spaceKey=%s" % space_keys[0], "spaceKeys=%s" % ",".join(space_keys)]
    lines += ["source=server", "createdByBuildNumber=9012", "backupAttachments=%s" % ("true" if attachments else "false")]
    return "\n".join(lines) + "\n"


def inspect_zip(path):
    """(is_zip, exportType or None, space keys) of an uploaded file, from its central directory and descriptor."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "exportDescriptor.properties" not in archive.namelist():
                return True, None, []
            text = archive.read("exportDescriptor.properties").decode("utf-8", "replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, KeyError):
        return False, None, []
    props = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, value = line.split("=", 1)
            props[key.strip()] = value.strip()
    keys = [k for k in (props.get("spaceKeys") or props.get("spaceKey") or "").split(",") if k]
    return True, props.get("exportType"), keys


def inspect_backup(path):
    """:func:`inspect_zip`'s answer, and what the zip would restore: ``(is_zip, exportType, space keys, spaces or
    None, why its content cannot be loaded or None)``."""
    is_zip, export_type, keys = inspect_zip(path)
    if not is_zip:
        return is_zip, export_type, keys, None, None
    try:
        return is_zip, export_type, keys, read_zip(path), None
    except Unreadable as exc:
        return is_zip, export_type, keys, None, "Restore failed: %s" % exc


class Refusal(Exception):
    """An error answer in Confluence's JSON shape."""

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status, self.message = status, message


class DataCenterInstance(object):
    """One emulated Data Center instance, at its context path: its jobs, restore folder, uploads and content."""

    def __init__(self, emulator, context):
        self.em = emulator
        self.context = dc_context(context)
        self.ref = ("dc", self.context)
        self.store = store_of(emulator)
        self.upload_dir = None
        self.reset()

    def reset(self):
        self.jobs = {}
        self.restore_files = {}     # (scope, name) -> file record
        self.uploads = []
        self.requests = []
        self.writes = 0
        self.seq = 0                # API requests answered so far (CANCELLING ends at the next one)
        self.free_since = None      # when the processor last became free
        self._next_id = 1
        self._zip_cache = {}
        if self.upload_dir is not None:
            shutil.rmtree(self.upload_dir, ignore_errors=True)
            self.upload_dir = None

    # ------------------------------------------------------------ helpers
    @property
    def cfg(self):
        """The emulator's settings, under this instance's ``dc_instances`` entry (the emulator's own for the
        instance at ``dc_context_path`` without one)."""
        return self.store.dc_settings(self.context)

    def _sysadmin(self, user):
        return user in (self.cfg.get("dc_sysadmins") or [])

    def _can_export(self, user, keys):
        allowed = (self.cfg.get("dc_space_permissions") or {}).get(user) or []
        return bool(keys) and all(k in allowed for k in keys)

    def _error(self, status, message):
        return self.em.json_response(
            {"statusCode": status, "data": {"authorized": status not in (401, 403), "valid": status != 400,
                                            "errors": [], "successful": False}, "message": message}, status=status)

    def _auth(self, request):
        """(username or None, "basic"|"bearer"|None)."""
        scheme, _sep, value = request.headers.get("Authorization", "").strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "basic":
            try:
                user, _sep, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, "basic"
            expected = (self.cfg.get("dc_users") or {}).get(user)
            ok = expected is not None and hmac.compare_digest(expected.encode(), password.encode())
            return (user if ok else None), "basic"
        if scheme == "bearer":
            for token, user in (self.cfg.get("dc_pats") or {}).items():
                if hmac.compare_digest(token.encode(), value.encode()):
                    return user, "bearer"
            return None, "bearer"
        return None, None

    def _style(self):
        return self.cfg.get("dc_time_style") or "sample"

    def _word(self, state):
        return (self.cfg.get("dc_processing_word") or "PROCESSING") if state == "PROCESSING" else state

    # ---------------------------------------------------------------- jobs
    def _file_name(self, prefix, scope, now):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
        used = set(j["fileName"] for j in self.jobs.values())
        name, n = "%sbackup-%s-%s.zip" % (prefix, scope.lower(), stamp), 1
        while name in used:
            n += 1
            name = "%sbackup-%s-%s-%d.zip" % (prefix, scope.lower(), stamp, n)
        return name

    def new_job(self, operation, scope, owner, created, space_keys=(), keep=False, skip_attachments=False,
                prefix="", polls=None, outcome="FINISHED", error=None, file_name=None, skip_reindex=None,
                source=None):
        """A QUEUED job created at ``created``; ``outcome`` is how it ends once processed."""
        job_id = self._next_id
        self._next_id += 1
        seconds = self.cfg["dc_backup_seconds" if operation == "BACKUP" else "dc_restore_seconds"]
        job = {"id": job_id, "operation": operation, "scope": scope, "owner": owner, "spaceKeys": list(space_keys),
               "created": created, "started": None, "finished": None, "cancelled": None, "cancelledBy": None,
               "state": "QUEUED", "outcome": outcome, "errorMessage": error, "keepPermanently": bool(keep),
               "skipAttachments": bool(skip_attachments), "skipReindex": skip_reindex, "fileNamePrefix": prefix,
               "fileName": file_name or (self._file_name(prefix, scope, created) if operation == "BACKUP" else None),
               "polls": None if polls is None else int(polls), "polled": 0, "done_at": None,
               "duration": float(seconds), "gone": False, "cancel_seq": None, "source": source,
               "size": int(self.cfg["dc_backup_size"]), "seed": job_id}
        self.jobs[job_id] = job
        return job

    def _start(self, job, at):
        job.update(state="PROCESSING", started=at, polled=0,
                   done_at=at if job["polls"] is not None and job["polls"] <= 0 else None)
        if job["operation"] == "BACKUP" and job.get("content") is None:
            job["content"] = self.backed_up(job)

    def backed_up(self, job):
        """What a backup job holds: the instance's spaces now (a space backup: only its own)."""
        spaces = self.store.spaces(self.ref)
        if job["scope"] == "SPACE":
            wanted = set(job["spaceKeys"])
            spaces = [s for s in spaces if s["key"] in wanted]
        for space in spaces:
            space.pop("id", None)
        return spaces

    def _end(self, job, now):
        """When ``job`` (PROCESSING) finished, or None while it runs."""
        if job["polls"] is not None:
            return job["done_at"] if job["polled"] >= job["polls"] else None
        end = job["started"] + job["duration"]
        return end if end <= now else None

    def _finish(self, job, at, state=None):
        if state is None and job["operation"] == "RESTORE" and job["outcome"] == "FINISHED" and \
                job.get("content") is not None:
            self._load(job)
        job.update(state=state or job["outcome"], finished=at)
        if job["state"] == "FAILED" and not job["errorMessage"]:
            job["errorMessage"] = "The %s failed" % job["operation"].lower()
        self.free_since = at if self.free_since is None else max(self.free_since, at)

    def advance(self, now, request_seq=None):
        """Bring every job to ``now``: finish the running one, start the next QUEUED, and so on."""
        while True:
            running = sorted((j for j in self.jobs.values() if j["state"] in RUNNING), key=lambda j: j["id"])
            if running:
                job = running[0]
                if job["state"] == "CANCELLING":
                    if request_seq is not None and request_seq > job["cancel_seq"]:
                        self._finish(job, now, "CANCELLED")
                        continue
                    return
                end = self._end(job, now)
                if end is None:
                    return
                self._finish(job, end)
                continue
            queued = sorted((j for j in self.jobs.values() if j["state"] == "QUEUED"), key=lambda j: j["id"])
            if not queued:
                return
            job = queued[0]
            self._start(job, max(job["created"], self.free_since or job["created"]))

    def _load(self, job):
        """A restore ends: the instance takes the zip's spaces (less what the loss settings take away), or the job
        fails when a space restore meets a key the instance already holds."""
        spaces = normalise([dict(s, type=s["type"] if s["type"] in DC_TYPES else "global") for s in job["content"]],
                           cloud=False)
        lost_spaces = set(k.lower() for k in (self.cfg.get("dc_restore_lose_spaces") or []))
        lose_pages = dict((k.lower(), int(v)) for k, v in (self.cfg.get("dc_restore_lose_pages") or {}).items())
        kept, lost = [], {"spaces": [], "pages": {}}
        for space in spaces:
            if space["key"].lower() in lost_spaces:
                lost["spaces"].append(space["key"])
                continue
            cut = min(space["pages"], lose_pages.get(space["key"].lower(), 0))
            if cut:
                space["pages"] -= cut
                lost["pages"][space["key"]] = cut
            kept.append(space)
        if job["scope"] == "SITE":
            self.store.replace(self.ref, kept)
        else:
            held = set(s["key"].lower() for s in self.store.spaces(self.ref))
            clash = [s["key"] for s in spaces if s["key"].lower() in held]
            if clash and str(self.cfg.get("dc_space_restore_existing") or "fail").lower() != "replace":
                job.update(outcome="FAILED", errorMessage="Restore failed: a space with the key %s already exists on "
                                                          "this site" % ", ".join(clash))
                return
            self.store.add(self.ref, kept, replace_existing=True)
        job["loaded"] = {"spaces": [s["key"] for s in kept], "lost": lost}

    def _tick(self, now):
        """A GET of /jobs or /jobs/{id} was answered: one poll fewer for the job being processed."""
        for job in self.jobs.values():
            if job["state"] == "PROCESSING" and job["polls"] is not None and job["polled"] < job["polls"]:
                job["polled"] += 1
                if job["polled"] >= job["polls"]:
                    job["done_at"] = now

    def _delete_time(self, job):
        if job["operation"] != "BACKUP" or job["keepPermanently"]:
            return None
        return job["created"] + float(self.cfg["dc_file_retention_seconds"])

    def file_exists(self, job, now):
        if job["operation"] == "RESTORE":
            return True
        delete = self._delete_time(job)
        return job["state"] == "FINISHED" and not job["gone"] and (delete is None or now < delete)

    def view(self, job, now):
        """JobDetails: the documented keys in the sample's order; keys without a value are left out [I]."""
        out = [("id", job["id"]), ("jobOperation", job["operation"]), ("jobScope", job["scope"]),
               ("jobState", self._word(job["state"])), ("createTime", iso(job["created"], self._style())),
               ("startProcessingTime", iso(job["started"], self._style())),
               ("finishProcessingTime", iso(job["finished"], self._style())),
               ("cancelTime", iso(job["cancelled"], self._style())),
               ("errorMessage", job["errorMessage"] if job["state"] == "FAILED" else None),
               ("owner", job["owner"]), ("cancelledBy", job["cancelledBy"]), ("fileName", job["fileName"]),
               ("spaceKeys", ",".join(job["spaceKeys"]) or None), ("fileDeleteTime", iso(self._delete_time(job), self._style())),
               ("fileExists", self.file_exists(job, now))]
        return dict((k, v) for k, v in out if v is not None)

    def _visible(self, job, user):
        return self._sysadmin(user) or job["owner"] == user

    def _job(self, request, user, what):
        try:
            job = self.jobs.get(int(request.match_info["jobId"]))
        except ValueError:
            job = None
        if job is None or (what != "download" and not self._visible(job, user)):
            raise Refusal(404, MESSAGES[what])
        return job

    def zip_for(self, job):
        """The backup's zip: ``entities.xml`` describes the spaces the job backed up (``backup_inventory``: counts
        instead); it grows past ``dc_backup_size`` when that content needs more room."""
        inventory = self.cfg.get("backup_inventory")
        if job.get("content") is None:
            job["content"] = self.backed_up(job)
        spaces = None if inventory else job["content"]
        key = (self.context, job["id"], job["size"], job["seed"], tuple(sorted((inventory or {}).items())),
               repr(spaces))
        if key not in self._zip_cache:
            while len(self._zip_cache) >= 2:
                self._zip_cache.pop(next(iter(self._zip_cache)))
            text = descriptor("all" if job["scope"] == "SITE" else "space", job["spaceKeys"],
                              attachments=not job["skipAttachments"])
            entities = None
            if spaces is not None:
                entities = entities_xml({"body_size": 64}, "confluence.example.com", job["seed"], spaces=spaces)
            size = job["size"]
            while True:
                try:
                    blob = BackupZip(size, seed=job["seed"], created=int(job["finished"] or job["created"]),
                                     site="confluence.example.com", layout="flat", descriptor=text,
                                     inventory=inventory, entities=entities)
                    break
                except ValueError:
                    if entities is None or size > 4 * len(entities) + 1024 * 1024:
                        raise
                    size = max(size * 2, len(entities) + 16 * 1024)
            self._zip_cache[key] = blob
        return self._zip_cache[key]

    # ------------------------------------------------------------- restores
    def file_view(self, record):
        return {"fileName": record["name"], "fileCreationTime": iso(record["created"], self._style()), "fileSize": record["size"],
                "jobScope": record["scope"]}

    def restore_outcome(self, scope, is_zip, export_type):
        """(outcome, errorMessage) of a restore of this file in this scope."""
        if not is_zip:
            return "FAILED", "The file is not a valid zip archive"
        expected = "all" if scope == "SITE" else "space"
        if export_type is None:
            return "FAILED", "The file is not a Confluence backup: exportDescriptor.properties is missing"
        if export_type != expected:
            kind = {"all": "site", "space": "space"}.get(export_type, export_type)
            return "FAILED", "The file doesn't match the job: it is a %s backup and this is a %s restore" % (
                kind, scope.lower())
        if str(self.cfg.get("dc_restore_outcome", "FINISHED")).upper() == "FAILED":
            return "FAILED", self.cfg.get("dc_restore_error")
        return "FINISHED", None

    def new_restore(self, scope, user, now, name, is_zip, export_type, keys, skip_reindex=None, source=None,
                    content=None, content_error=None):
        """A RESTORE job; ``content``: the zip's spaces (None: unknown, the content stays as it is), or
        ``content_error``: why they cannot be loaded (the job fails)."""
        outcome, error = self.restore_outcome(scope, is_zip, export_type)
        if outcome == "FINISHED" and content_error:
            outcome, error = "FAILED", content_error
        job = self.new_job("RESTORE", scope, user, now, space_keys=keys, outcome=outcome, error=error,
                           file_name=name, polls=self.cfg.get("dc_job_polls"), skip_reindex=skip_reindex,
                           source=source)
        job["content"] = content
        return job

    # ------------------------------------------------------------ handlers
    async def _body(self, request, schema, required):
        """The JSON body checked against the documented schema (additionalProperties: false, required)."""
        if request.content_type != "application/json":
            raise Refusal(415, "Unsupported Media Type: send application/json")
        try:
            body = await request.json()
        except ValueError:
            raise Refusal(400, MESSAGES["settings"])
        if not isinstance(body, dict) or any(k not in schema for k in body) or any(k not in body for k in required):
            raise Refusal(400, MESSAGES["settings"])
        for key, kind in schema.items():
            if key in body and body[key] is not None and not isinstance(body[key], kind):
                raise Refusal(400, MESSAGES["settings"])
        prefix = body.get("fileNamePrefix") or ""
        if "/" in prefix or "\\" in prefix or ".." in prefix:
            raise Refusal(400, MESSAGES["settings"])
        return body

    def start_answer(self, job, now):
        """A backup start's answer: the documented ``JobDetails`` [seed 002], or, with ``dc_start_answer``, a shape
        the collection must read without the documented ``id`` (issue 19): ``nested`` (under ``job.jobId``),
        ``empty`` (no body)."""
        style = self.cfg.get("dc_start_answer") or "documented"
        view = self.view(job, now)
        shuffle = self.em.shuffle("dc")
        if style == "documented" and shuffle is not None:
            return self.em.json_response(shuffle.answer(view, "job", "start", "jobs", id_key="id",
                                                        status_key="jobState"))
        if style == "empty":
            return web.Response(status=200)
        if style == "nested":
            inner = dict(view)
            inner["jobId"] = inner.pop("id")
            return self.em.json_response({"job": inner})
        return self.em.json_response(view)

    async def h_backup_site(self, request, user, now):
        body = await self._body(request, SITE_SCHEMA, ("skipAttachments", "keepPermanently"))
        if not self._sysadmin(user):
            raise Refusal(403, MESSAGES["site_backup"])
        job = self.new_job("BACKUP", "SITE", user, now, keep=body["keepPermanently"],
                           skip_attachments=body["skipAttachments"], prefix=body.get("fileNamePrefix") or "",
                           polls=self.cfg.get("dc_job_polls"))
        self.advance(now, self.seq)
        return self.start_answer(job, now)

    async def h_backup_space(self, request, user, now):
        body = await self._body(request, SPACE_SCHEMA, ("keepPermanently",))
        keys = body.get("spaceKeys") or []
        known = [s["key"] for s in self.store.spaces(self.ref)]
        if not keys or not all(isinstance(k, str) and k in known for k in keys):
            raise Refusal(400, MESSAGES["settings"])
        keys = list(dict.fromkeys(keys))
        if not (self._sysadmin(user) or self._can_export(user, keys)):
            raise Refusal(403, MESSAGES["space_backup"])
        if any(j["operation"] == "BACKUP" and j["scope"] == "SPACE" and j["state"] in ("QUEUED", "PROCESSING")
               and set(j["spaceKeys"]) & set(keys) for j in self.jobs.values()):
            raise Refusal(409, MESSAGES["conflict"])
        job = self.new_job("BACKUP", "SPACE", user, now, space_keys=keys, keep=body["keepPermanently"],
                           prefix=body.get("fileNamePrefix") or "", polls=self.cfg.get("dc_job_polls"))
        self.advance(now, self.seq)
        return self.start_answer(job, now)

    def _filters(self, query):
        """The /jobs filters as predicates; Refusal(400) for a bad value."""
        def bad():
            return Refusal(400, MESSAGES["filters"])
        tests = []
        try:
            limit = int(query.get("limit", 25))
        except ValueError:
            raise bad()
        if limit < 1:
            raise bad()
        for key, compare in (("fromDate", lambda t, d: t >= d), ("toDate", lambda t, d: t <= d)):
            if query.get(key):
                when = parse_date(query[key])
                if when is None:
                    raise bad()
                tests.append(lambda j, when=when, compare=compare: compare(j["created"], when))
        for key, field, allowed in (("jobScope", "scope", SCOPES), ("jobOperation", "operation", OPERATIONS)):
            if query.get(key):
                value = query[key].upper()
                if value not in allowed:
                    raise bad()
                tests.append(lambda j, field=field, value=value: j[field] == value)
        states = [s.strip().upper() for raw in query.getall("jobStates", []) for s in raw.split(",") if s.strip()]
        states = ["PROCESSING" if s == "IN_PROGRESS" else s for s in states]
        if any(s not in STATES for s in states):
            raise bad()
        if states:
            tests.append(lambda j: j["state"] in states)
        if query.get("spaceKey"):
            tests.append(lambda j: query["spaceKey"] in j["spaceKeys"])
        if query.get("owner"):
            tests.append(lambda j: j["owner"] == query["owner"])
        return limit, tests

    async def h_jobs(self, request, user, now):
        limit, tests = self._filters(request.query)
        jobs = [j for j in self.jobs.values() if self._visible(j, user) and all(t(j) for t in tests)]
        jobs.sort(key=lambda j: j["id"], reverse=True)
        return self.em.json_response([self.view(j, now) for j in jobs[:limit]])

    async def h_job(self, request, user, now):
        view = self.view(self._job(request, user, "get"), now)
        shuffle = self.em.shuffle("dc")
        if shuffle is not None:
            # The job's status, reshaped under field_style: shuffled as the start answer is (issue 19).
            return self.em.json_response(shuffle.answer(view, "job", "get", "jobs", id_key="id", status_key="jobState"))
        return self.em.json_response(view)

    async def h_cancel(self, request, user, now):
        job = self._job(request, user, "cancel")
        if job["state"] == "QUEUED":
            job.update(state="CANCELLED", cancelled=now, cancelledBy=user)
        elif job["state"] == "PROCESSING":
            job.update(state="CANCELLING", cancelled=now, cancelledBy=user, cancel_seq=self.seq)
        return self.em.json_response(self.view(job, now))

    async def h_clear_queue(self, request, user, now):
        if not self._sysadmin(user):
            raise Refusal(403, MESSAGES["clear"])
        count = 0
        for job in self.jobs.values():
            if job["state"] == "QUEUED":
                job.update(state="CANCELLED", cancelled=now, cancelledBy=user)
                count += 1
        return self.em.json_response(count)

    async def h_download(self, request, user, now):
        job = self._job(request, user, "download")
        allowed = self._sysadmin(user) or (job["scope"] == "SPACE" and self._can_export(user, job["spaceKeys"]))
        if not allowed or job["operation"] != "BACKUP" or not self.file_exists(job, now):
            raise Refusal(404, MESSAGES["download"])
        blob = self.zip_for(job)
        size = blob.size
        ranges, send_length = self.cfg.get("dc_download_ranges"), self.cfg.get("dc_download_length", True)
        rng = parse_range(request.headers.get("Range"), size) if ranges else None
        if rng == "bad":
            return web.Response(status=416, headers={"Content-Range": "bytes */%d" % size})
        start, end = rng or (0, size)
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Disposition": 'attachment; filename="%s"' % job["fileName"]}
        if ranges:
            headers["Accept-Ranges"] = "bytes"
        if rng is not None:
            headers["Content-Range"] = "bytes %d-%d/%s" % (start, end - 1, size if send_length else "*")
        if send_length:
            headers["Content-Length"] = str(end - start)
        path = await self.em.media_cache_path(blob)
        response = web.StreamResponse(status=206 if rng else 200, headers=headers)
        if not send_length:
            response.enable_chunked_encoding()
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        with open(path, "rb") as handle:
            await _send(request, response, handle, start, end, 0, 0, self.em, loop,
                        use_sendfile=bool(send_length) and self.cfg.get("media_sendfile", True))
        await response.write_eof()
        return response

    async def h_files(self, request, user, now):
        if not self._sysadmin(user):
            raise Refusal(400, MESSAGES["files"])
        scope = (request.query.get("jobScope") or "").upper()
        if scope and scope not in SCOPES:
            raise Refusal(400, MESSAGES["filters"])
        files = sorted((r for r in self.restore_files.values() if not scope or r["scope"] == scope),
                       key=lambda r: (r["scope"], r["name"]))
        return self.em.json_response([self.file_view(r) for r in files])

    def _restore(self, scope):
        async def handler(request, user, now):
            body = await self._body(request, RESTORE_SCHEMA, ())
            if not self._sysadmin(user):
                raise Refusal(403, MESSAGES["restore_" + scope])
            record = self.restore_files.get((scope, body.get("fileName") or ""))
            if record is None:
                raise Refusal(400, MESSAGES["filename"])
            job = self.new_restore(scope, user, now, record["name"], record["kind"] != "notzip",
                                   record["exportType"], record["spaceKeys"], body.get("skipReindex"),
                                   source={"restoreFile": record["name"]}, content=record.get("content"),
                                   content_error=record.get("content_error"))
            self.advance(now, self.seq)
            return self.em.json_response(self.view(job, now))
        return handler

    def _upload(self, scope):
        async def handler(request, user, now):
            entry = request["dc_upload"]
            if entry["token"] not in ("no-check", "nocheck"):
                raise Refusal(403, MESSAGES["xsrf"])
            if not self._sysadmin(user):
                raise Refusal(403, MESSAGES["upload_" + scope])
            if request.content_type != "multipart/form-data":
                raise Refusal(415, "Unsupported Media Type: send multipart/form-data")
            path = await self._receive(request, entry)
            if path is None:
                raise Refusal(400, MESSAGES["notzip"])
            loop = asyncio.get_running_loop()
            is_zip, export_type, keys, content, error = await loop.run_in_executor(None, inspect_backup, path)
            await loop.run_in_executor(None, _unlink, path)
            entry["is_zip"] = is_zip
            if not is_zip:
                raise Refusal(400, MESSAGES["notzip"])
            now = self.em.now()
            self.advance(now, self.seq)
            job = self.new_restore(scope, user, now, entry["file_name"], True, export_type, keys,
                                   source={"upload": entry["index"]}, content=content, content_error=error)
            entry["job_id"] = job["id"]
            self.advance(now, self.seq)
            return self.em.json_response(self.view(job, now))
        return handler

    async def _receive(self, request, entry):
        """Stream the ``file`` part to disk in 1 MiB pieces with its sha256; its path, or None without one."""
        try:
            reader = await request.multipart()
        except (ValueError, AssertionError, KeyError):
            return None
        if self.upload_dir is None:
            if self.em.cache_dir is None:
                self.em.cache_dir = tempfile.mkdtemp(prefix="atlassian-emulator-")
            self.upload_dir = os.path.join(self.em.cache_dir, "dc-restore")
            os.makedirs(self.upload_dir, exist_ok=True)
        loop = asyncio.get_running_loop()
        while True:
            part = await reader.next()
            if part is None:
                return None
            if getattr(part, "name", None) != "file" or not hasattr(part, "read_chunk"):
                await part.release()
                continue
            name = os.path.basename((part.filename or "upload.zip").replace("\\", "/")) or "upload.zip"
            entry.update(field=part.name, file_name=name, content_type=part.headers.get("Content-Type"))
            path = os.path.join(self.upload_dir, "%d-%s" % (entry["index"], name))
            digest = hashlib.sha256()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            pending, total, complete = None, 0, False
            try:
                while True:
                    chunk = await part.read_chunk(CHUNK)
                    if pending is not None:
                        await pending
                    if not chunk:
                        break
                    total += len(chunk)
                    # Hash and write in a thread while the next piece is parsed: both release the GIL.
                    pending = loop.run_in_executor(None, _consume, fd, digest, chunk)
                complete = True
            finally:
                if pending is not None and not pending.done():
                    await asyncio.wait([pending])
                os.close(fd)
                entry["bytes"] = total
                if not complete:
                    _unlink(path)   # the client went away: no partial file is left behind
            entry.update(bytes=total, sha256=digest.hexdigest())
            await reader.release()
            return path

    # ---------------------------------------------------------------- serving
    async def serve(self, request, handler, poll=False, upload=None):
        """Every endpoint: the request log, a proxy's 411, auth (401), the queue, the handler."""
        self.seq += 1
        if request.method in ("POST", "PUT"):
            self.writes += 1
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        entry = {"method": request.method, "path": request.path, "query": request.query_string,
                 "chunked": chunked, "content_length": request.headers.get("Content-Length"), "status": None}
        self.requests.append(entry)
        if upload is not None:
            request["dc_upload"] = record = {
                "index": len(self.uploads), "scope": upload, "status": None, "bytes": 0, "sha256": None,
                "field": None, "file_name": None, "content_type": None, "is_zip": None, "job_id": None,
                "had_content_length": "Content-Length" in request.headers, "chunked": chunked,
                "request_content_type": request.headers.get("Content-Type"),
                "token": request.headers.get("X-Atlassian-Token"), "elapsed": None}
            self.uploads.append(record)
        began = time.monotonic()
        response = await self._answer(request, handler, poll, chunked, entry)
        entry["status"] = response.status
        if upload is not None:
            record.update(status=response.status, elapsed=round(time.monotonic() - began, 6))
        return response

    async def _answer(self, request, handler, poll, chunked, entry):
        em = self.em
        if chunked and self.cfg.get("dc_refuse_chunked_uploads"):
            return web.Response(status=411, text=LENGTH_REQUIRED, content_type="text/html")
        user, kind = self._auth(request)
        entry.update(user=user, auth=kind)
        now = em.now()
        self.advance(now, self.seq)
        if user is None:
            return em.unauthorized()
        try:
            response = await handler(request, user, now)
        except Refusal as refusal:
            response = self._error(refusal.status, refusal.message)
        if poll:
            self._tick(em.now())
        return response

    # ---------------------------------------------------------- test control
    def state_body(self):
        now = self.em.now()
        self.advance(now)
        internal = ("outcome", "polls", "polled", "duration", "keepPermanently", "skipAttachments", "skipReindex",
                    "fileNamePrefix", "gone", "size", "source", "created", "started", "finished", "state", "content",
                    "loaded")
        jobs = [dict(self.view(j, now), internal=dict((k, j.get(k)) for k in internal))
                for j in sorted(self.jobs.values(), key=lambda j: j["id"])]
        files = [dict(self.file_view(r), kind=r["kind"], spaceKeys=r["spaceKeys"], exportType=r["exportType"],
                      content=r.get("content"), content_error=r.get("content_error"))
                 for r in self.restore_files.values()]
        return {"context": "/" + self.context if self.context else "", "jobs": jobs, "uploads": list(self.uploads),
                "restore_files": files, "requests": list(self.requests), "writes": self.writes}

    def place_job(self, body):
        """{operation, scope, state, owner, spaceKeys, polls, fileName, keepPermanently, skipAttachments,
        age_seconds, outcome, errorMessage, fileExists}: a job created age_seconds ago, in that state."""
        now = self.em.now()
        self.advance(now)
        operation = str(body.get("operation") or "BACKUP").upper()
        scope = str(body.get("scope") or "SITE").upper()
        state = str(body.get("state") or "FINISHED").upper()
        state = "PROCESSING" if state == "IN_PROGRESS" else state
        outcome = str(body.get("outcome") or ("FAILED" if state == "FAILED" else "FINISHED")).upper()
        if operation not in OPERATIONS or scope not in SCOPES or state not in STATES or \
                outcome not in ("FINISHED", "FAILED"):
            raise ContentError("unknown operation, scope, state or outcome")
        keys = body.get("spaceKeys") or (["DOC"] if scope == "SPACE" else [])
        age = float(body.get("age_seconds") or 0)
        created = now - age
        job = self.new_job(operation, scope, body.get("owner") or "admin", created, space_keys=keys,
                           keep=body.get("keepPermanently", False),
                           skip_attachments=body.get("skipAttachments", False), polls=body.get("polls"),
                           outcome=outcome, error=body.get("errorMessage"), file_name=body.get("fileName"))
        run = job["duration"]
        if state in RUNNING:
            self._start(job, created)
            job["duration"] = age + run
            if state == "CANCELLING":
                job.update(state="CANCELLING", cancelled=now, cancelledBy=job["owner"], cancel_seq=self.seq)
        elif state in ("FINISHED", "FAILED"):
            job.update(started=created, outcome=state)
            self._finish(job, created + min(run, age))
        elif state == "CANCELLED":
            job.update(state="CANCELLED", cancelled=created, cancelledBy=job["owner"])
        if body.get("fileExists") is False:
            job["gone"] = True
        return self.view(job, now)

    def place_file(self, body, found=None):
        """{scope, name, kind: site|space|notzip, size, spaceKeys, age_seconds, content}: a file in the restore
        folder. ``found``: what another backup holds (``{kind, size, spaceKeys, content, content_error}``: a zip on
        disk or another job's), over the body's words."""
        found = found or {}
        scope = str(body.get("scope") or "SITE").upper()
        kind = str(found.get("kind") or body.get("kind") or ("site" if scope == "SITE" else "space")).lower()
        name = body.get("name") or ""
        if scope not in SCOPES or kind not in ("site", "space", "notzip") or not name or "/" in name:
            raise ContentError("unknown scope or kind, or a bad name")
        keys = found.get("spaceKeys") or body.get("spaceKeys") or (["DOC"] if kind == "space" else [])
        content = found.get("content")
        if content is None and body.get("content") is not None:
            content = normalise(body["content"], cloud=False)
        record = {"scope": scope, "name": name, "kind": kind,
                  "size": int(found.get("size") or body.get("size") or 64 * 1024),
                  "created": self.em.now() - float(body.get("age_seconds") or 0), "spaceKeys": list(keys),
                  "exportType": found["exportType"] if "exportType" in found else
                  {"site": "all", "space": "space"}.get(kind), "content": content,
                  "content_error": found.get("content_error")}
        self.restore_files[(scope, name)] = record
        return dict(self.file_view(record), kind=kind)

    def close(self):
        if self.upload_dir is not None:
            shutil.rmtree(self.upload_dir, ignore_errors=True)
            self.upload_dir = None


class DataCenterApi(object):
    """Every emulated Data Center instance: the one at ``dc_context_path`` and those of ``dc_instances``. Routes
    each request to the instance of its context path (a context no instance has is a 404)."""

    name = "datacenter"

    def __init__(self, emulator):
        self.em = emulator
        self.instances = {}
        self.reset()

    def reset(self):
        for instance in self.instances.values():
            instance.close()
        self.instances = {}

    def instance(self, context):
        """The instance at ``context`` (any form of the path), or None."""
        context = dc_context(context)
        if context not in store_of(self.em).dc_contexts():
            return None
        found = self.instances.get(context)
        if found is None:
            found = self.instances[context] = DataCenterInstance(self.em, context)
        return found

    def default(self):
        return self.instance(self.em.config.get("dc_context_path"))

    def routes(self):
        routes = web.RouteTableDef()
        table = [
            ("POST", "/backup/site", lambda i: i.h_backup_site, {}),
            ("POST", "/backup/space", lambda i: i.h_backup_space, {}),
            ("GET", "/jobs", lambda i: i.h_jobs, {"poll": True}),
            ("PUT", "/jobs/clear-queue", lambda i: i.h_clear_queue, {}),
            ("GET", "/jobs/{jobId}", lambda i: i.h_job, {"poll": True}),
            ("PUT", "/jobs/{jobId}/cancel", lambda i: i.h_cancel, {}),
            ("GET", "/jobs/{jobId}/download", lambda i: i.h_download, {}),
            ("GET", "/restore/files", lambda i: i.h_files, {}),
            ("POST", "/restore/site", lambda i: i._restore("SITE"), {}),
            ("POST", "/restore/space", lambda i: i._restore("SPACE"), {}),
            ("POST", "/restore/site/upload", lambda i: i._upload("SITE"), {"upload": "SITE"}),
            ("POST", "/restore/space/upload", lambda i: i._upload("SPACE"), {"upload": "SPACE"}),
        ]
        for method, path, pick, options in table:
            routes.route(method, API + path)(self._endpoint(pick, **options))
        self._control_routes(routes)
        return routes

    def _endpoint(self, pick, poll=False, upload=None):
        async def endpoint(request):
            instance = self.instance(request.match_info.get("ctx", ""))
            if instance is None:
                raise web.HTTPNotFound()
            return await instance.serve(request, pick(instance), poll=poll, upload=upload)
        return endpoint

    def prepare_state(self):
        pass

    def state(self):
        every = dict(("/" + c if c else "", self.instance(c).state_body()) for c in store_of(self.em).dc_contexts())
        default = self.default()
        return {"dc": default.state_body() if default is not None else {}, "dc_instances": every}

    def backup_held(self, source):
        """What a backup job of any instance holds, for a file placed in a restore folder: ``{"context", "id"}``."""
        instance = self.instance((source or {}).get("context", self.em.config.get("dc_context_path")))
        job = instance.jobs.get(int((source or {}).get("id") or 0)) if instance is not None else None
        if job is None or job["operation"] != "BACKUP":
            raise ContentError("from_job names no backup job: %r" % (source,))
        return {"kind": "site" if job["scope"] == "SITE" else "space", "size": instance.zip_for(job).size,
                "spaceKeys": list(job["spaceKeys"]), "content": instance.backed_up(job) if job.get("content") is None
                else job["content"]}

    def _control_routes(self, routes):
        """Test-only: place jobs and restore-folder files directly (no auth, not counted); ``context`` picks the
        instance (default: the one at ``dc_context_path``)."""
        em = self.em

        def target(body):
            instance = self.instance(body.get("context", em.config.get("dc_context_path")))
            if instance is None:
                raise ContentError("no Data Center instance at %r" % body.get("context"))
            return instance

        @routes.post("/_emulator/dc/job")
        async def place_job(request):
            body = await request.json()
            try:
                return em.json_response(target(body).place_job(body))
            except ContentError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)

        @routes.post("/_emulator/dc/restore-file")
        async def place_file(request):
            """The body of DataCenterInstance.place_file, and ``path`` (a backup zip on this machine, read now) or
            ``from_job`` (``{"context", "id"}``: the zip of a backup job of any instance)."""
            body = await request.json()
            try:
                found = None
                if body.get("path"):
                    loop = asyncio.get_running_loop()
                    is_zip, export_type, keys, content, error = await loop.run_in_executor(
                        None, inspect_backup, str(body["path"]))
                    found = {"kind": "notzip" if not is_zip else {"all": "site", "space": "space"}.get(export_type),
                             "exportType": export_type, "size": os.path.getsize(str(body["path"])),
                             "spaceKeys": keys, "content": content, "content_error": error}
                elif body.get("from_job"):
                    found = self.backup_held(body["from_job"])
                return em.json_response(target(body).place_file(body, found))
            except (ContentError, OSError) as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)


def _consume(fd, digest, chunk):
    digest.update(chunk)
    view = memoryview(chunk)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
