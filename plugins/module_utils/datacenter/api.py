# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center 8.3+ backup & restore REST API: endpoints and readers.

Every path of the API lives here (reference section 3: ``<base URL with context path>/rest/api/backup-restore``).
Facts the readers rely on, with their sources:

* a job is the documented ``JobDetails``: ``id``, ``jobOperation`` (BACKUP/RESTORE), ``jobScope`` (SITE/SPACE),
  ``jobState``, ``spaceKeys`` as a comma-separated string (an array in requests), ``fileName``, ``fileExists``,
  ``fileDeleteTime``, ``errorMessage``, ``owner``, and times as ISO 8601 (:func:`job_view`);
* ``jobState`` is ``QUEUED, PROCESSING, FINISHED, CANCELLING, CANCELLED, FAILED`` (Javadoc) but the
  ``JobDetails`` sample shows ``IN_PROGRESS``: both mean processing (:func:`normalize_state`); any other word
  counts as still running;
* ``FINISHED``, ``FAILED`` and ``CANCELLED`` are terminal;
* errors are Confluence's ``{"statusCode": n, "message": "..."}`` (:func:`error_text`).

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    AtlassianError,
    clip,
    read_json,
)

BASE = "rest/api/backup-restore"
MAX_BODY = 4 * 1024 * 1024

QUEUED = "QUEUED"
PROCESSING = "PROCESSING"
FINISHED = "FINISHED"
CANCELLING = "CANCELLING"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
STATES = (QUEUED, PROCESSING, FINISHED, CANCELLING, CANCELLED, FAILED)
TERMINAL = (FINISHED, FAILED, CANCELLED)
ACTIVE = (QUEUED, PROCESSING)
_SYNONYMS = {"IN_PROGRESS": PROCESSING, "INPROGRESS": PROCESSING, "RUNNING": PROCESSING, "CANCELED": CANCELLED,
             "CANCELING": CANCELLING, "COMPLETE": FINISHED, "COMPLETED": FINISHED}
SCOPES = ("site", "space")
JOB_LISTS = ("jobs", "results", "values")


class DcApiError(AtlassianError):
    """An answer of the API that cannot be understood (quoted, redacted, in the message)."""


def normalize_state(value):
    """``PROCESSING``, ``IN_PROGRESS``, ``in progress`` ... -> one of :data:`STATES`, or the word folded."""
    if value is None:
        return None
    text = re.sub(r"[\s\-]+", "_", str(value).strip()).upper()
    return _SYNONYMS.get(text, text) or None


def split_keys(value):
    """``"DOC,TEAM"`` (responses) or ``["DOC", "TEAM"]`` -> ``["DOC", "TEAM"]``."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def job_view(raw):
    """A ``JobDetails`` as snake_case facts (the API's own values, ``spaceKeys`` as a list)."""
    raw = raw if isinstance(raw, dict) else {}
    service_state = raw.get("jobState")
    return {
        "id": raw.get("id"),
        "operation": str(raw.get("jobOperation") or "").lower() or None,
        "scope": str(raw.get("jobScope") or "").lower() or None,
        "state": normalize_state(service_state),
        "service_state": service_state,
        "space_keys": split_keys(raw.get("spaceKeys")),
        "owner": raw.get("owner"),
        "file_name": raw.get("fileName"),
        "file_exists": raw.get("fileExists"),
        "file_delete_time": raw.get("fileDeleteTime"),
        "create_time": raw.get("createTime"),
        "start_processing_time": raw.get("startProcessingTime"),
        "finish_processing_time": raw.get("finishProcessingTime"),
        "cancel_time": raw.get("cancelTime"),
        "cancelled_by": raw.get("cancelledBy"),
        "error_message": raw.get("errorMessage"),
    }


def describe(view):
    """A job in words: ``space backup 12 of DOC, TEAM: PROCESSING``."""
    if not view:
        return "no job"
    text = "%s %s %s" % (view.get("scope") or "?", view.get("operation") or "job", view.get("id"))
    if view.get("space_keys"):
        text += " of %s" % ", ".join(view["space_keys"])
    text += ": %s" % (view.get("service_state") or "no state")
    if view.get("error_message"):
        text += " (Confluence said: %s)" % view["error_message"]
    return text


# The result's ``status`` for each job state (every Data Center module says it the same way).
STATUS_WORDS = {QUEUED: "queued", PROCESSING: "running", CANCELLING: "running", FINISHED: "complete",
                FAILED: "failed", CANCELLED: "cancelled"}


def status_word(view):
    """``complete``, ``queued``, ``running``, ``failed`` or ``cancelled``; an unknown state in lower case."""
    state = (view or {}).get("state")
    return STATUS_WORDS.get(state, (state or "running").lower())


def unwrap(body, keys):
    """A list answer, bare or under one of ``keys``."""
    if isinstance(body, dict):
        for key in keys:
            if isinstance(body.get(key), list):
                return body[key]
    return body


def error_text(exc):
    """The ``message`` of Confluence's error JSON in an :class:`AtlassianApiError`, else its excerpt."""
    body = getattr(exc, "body", "") or ""
    try:
        doc = json.loads(body)
    except ValueError:
        return clip(body) or "(no text)"
    if isinstance(doc, dict):
        for key in ("message", "errorMessage", "reason"):
            if doc.get(key):
                return str(doc[key])
    return clip(body)


class DataCenterApi(object):
    """Thin wrappers around the endpoints; answers are returned as parsed JSON."""

    def __init__(self, client, warn=None):
        self.client = client
        self.notes = shape.Notes(warn)   # the fields read by shape, each said once (issue 19)

    def read_job(self, raw, what):
        """A job as the answer ``what`` gave it, with ``id`` and ``jobState`` under their documented names: by
        name, else by shape (:func:`shape.read_object`; each such field warned once). None stays None."""
        if raw is None:
            return None
        obj, used = shape.read_object(raw, ("id",), ("jobState",), prefer=("job",), plural=JOB_LISTS)
        self.notes(what, used, {"id": ("id",), "status": ("jobState",)})
        return obj

    @staticmethod
    def path(*parts):
        return "/".join((BASE,) + tuple(str(p).strip("/") for p in parts))

    def _read(self, response):
        return read_json(self.client, response, MAX_BODY, DcApiError)

    def _job(self, body, what):
        body = self.read_job(body, "The answer to %s" % what)
        if not isinstance(body, dict) or body.get("id") is None:
            raise DcApiError("%s: expected a job (JobDetails with an id), got: %s" % (
                what, self.client.redact(clip(json.dumps(body)))))
        return body

    def get(self, *parts, **params):
        response = self.client.request("GET", self.path(*parts), params=params or None, stream=True)
        return self._read(response)

    def send(self, method, parts, body=None, expected=None):
        response = self.client.request(method, self.path(*parts), json=body, stream=True, expected=expected,
                                       headers={"Content-Type": "application/json"} if body is not None else None)
        return response.status_code, self._read(response)

    # ------------------------------------------------------------------ jobs
    def start_backup(self, scope, space_keys=None, skip_attachments=False, keep_permanently=False, prefix=None):
        """POST a backup; returns the answer as sent (a ``JobDetails``, documented). A 409 (same spaces queued or
        running) raises AtlassianApiError. The workflow reads the answer's job id (by shape where it must)."""
        body = {"keepPermanently": bool(keep_permanently)}
        if scope == "site":
            body["skipAttachments"] = bool(skip_attachments)
        else:
            body["spaceKeys"] = list(space_keys or [])
        if prefix:
            body["fileNamePrefix"] = prefix
        return self.send("POST", ("backup", scope), body)[1]

    def jobs(self, scope=None, operation=None, states=None, space_key=None, owner=None, from_date=None,
             to_date=None, limit=None):
        """``GET /jobs`` with the documented filters; ``states`` is repeated (``jobStates=A&jobStates=B``)."""
        params = []
        for name, value in (("jobScope", scope), ("jobOperation", operation), ("spaceKey", space_key),
                            ("owner", owner), ("fromDate", from_date), ("toDate", to_date), ("limit", limit)):
            if value not in (None, ""):
                params.append((name, value.upper() if name in ("jobScope", "jobOperation") else value))
        for state in states or ():
            params.append(("jobStates", state.upper()))
        response = self.client.request("GET", self.path("jobs"), params=params or None, stream=True)
        body = unwrap(self._read(response), ("jobs", "results", "values"))
        if not isinstance(body, list):
            raise DcApiError("GET jobs: expected a list of jobs, got: %s" % self.client.redact(clip(json.dumps(body))))
        return [item for item in body if isinstance(item, dict)]

    def job(self, job_id):
        """The job, or None when the server answers 404 (no such job, or not this account's)."""
        response = self.client.request("GET", self.path("jobs", job_id), stream=True, expected=(200, 404))
        if response.status_code == 404:
            response.close()
            return None
        return self._job(self._read(response), "GET jobs/%s" % job_id)

    def cancel(self, job_id):
        return self._job(self.send("PUT", ("jobs", job_id, "cancel"))[1], "PUT jobs/%s/cancel" % job_id)

    def clear_queue(self):
        """Cancel every queued job; the server answers how many."""
        body = self.send("PUT", ("jobs", "clear-queue"))[1]
        if isinstance(body, dict):
            body = body.get("count", body.get("cancelled"))
        if isinstance(body, bool) or not isinstance(body, int):
            raise DcApiError("PUT jobs/clear-queue: expected a count, got: %s" % clip(json.dumps(body)))
        return body

    def download_path(self, job_id):
        return self.path("jobs", job_id, "download")

    # --------------------------------------------------------------- restore
    def restore_files(self, scope=None):
        """The files in the server's restore folder (``<conf-home>/restore/<scope>``), as a list of dicts."""
        body = unwrap(self.get("restore", "files", **({"jobScope": scope.upper()} if scope else {})),
                      ("files", "results", "values"))
        if not isinstance(body, list):
            raise DcApiError("GET restore/files: expected a list, got: %s" % clip(json.dumps(body)))
        return [item if isinstance(item, dict) else {"fileName": str(item)} for item in body]

    def start_restore(self, scope, file_name, skip_reindex=False):
        body = {"fileName": file_name, "skipReindex": bool(skip_reindex)}
        return self._job(self.send("POST", ("restore", scope), body)[1], "POST restore/%s" % scope)

    def upload_path(self, scope):
        return self.path("restore", scope, "upload")

    def upload_answer(self, response, scope):
        """The job in the answer to an upload, or None when the answer is not a job (the docs say only "200")."""
        body = self._read(response)
        return body if isinstance(body, dict) and body.get("id") is not None else None


def file_name_of(entry):
    """The name in one entry of ``GET restore/files`` (its shape is not documented: several spellings)."""
    for key in ("fileName", "name", "filename", "file"):
        if entry.get(key):
            return str(entry[key])
    return None


def is_conflict(exc):
    return isinstance(exc, AtlassianApiError) and exc.status == 409
