# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup API of the Confluence app Snapshots (RadBee): the request it is sent, tolerant readers of its answers.

What is known (seed 004, reference section 5, docs/snapshots.md): a POST to the "web request URL" that the app's
admin tab shows once, "with the API key as a header", and then "post -> poll task ID -> download zip"; the same page
also says the call "returns a backup file the same way the manual flow does". The vendor documents the header
``jira-snapshots-api-key`` for its automation endpoints, and a personal access token as Bearer on Data Center 9.x.
Nothing documents the fields. So every reader here accepts the plausible variants and quotes the body (redacted)
when none fits:

* the answer to the POST is the zip itself (``application/zip``, ``application/octet-stream``, an attachment), or
  a task: an id under ``taskId``, ``id``, ``task_id``, ``jobId``, ``job_id``; a status URL in ``Location`` (also
  of a 3xx) or in the body (``statusUrl``, ``status_url``, ``pollUrl``, ``links.status``...); or a finished
  export: a download URL in the body;
* a status is read in any case and spelling (``COMPLETED``, ``done``, ``In progress``...);
* the download is a URL in the status body (``downloadUrl``, ``url``, ``result.file``, ``links.download``...),
  relative or absolute, the ``Location`` of a 3xx from the status URL, or the status URL itself once it answers
  the zip.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError, clip, read_limited

try:
    from urllib.parse import urljoin, urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urljoin, urlsplit  # type: ignore

MAX_BODY = 1024 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
# Bytes as they are on the server: a zip sent gzip-encoded would otherwise be saved still encoded.
HEADERS = {"Accept": "application/json, */*", "Accept-Encoding": "identity"}
DONE, RUNNING, FAILED = "done", "running", "failed"
_DONE = ("COMPLETED", "COMPLETE", "DONE", "SUCCESS", "SUCCEEDED", "SUCCESSFUL", "FINISHED", "READY", "OK")
_FAILED = ("FAILED", "FAILURE", "ERROR", "ERRORED", "CANCELLED", "CANCELED", "ABORTED", "REJECTED", "EXPIRED")
ID_KEYS = ("taskId", "task_id", "taskID", "id", "jobId", "job_id")
STATUS_URL_KEYS = ("statusUrl", "status_url", "statusURL", "pollUrl", "poll_url", "links.status", "links.self",
                   "_links.status", "_links.status.href", "_links.self.href", "href")
STATUS_KEYS = ("status", "state", "taskStatus", "task_status")
# Words of the keys that hold a start answer's status link, for a link found by shape.
STATUS_URL_WORDS = ("status", "poll", "progress", "task", "self", "href", "link", "url", "location")
DOWNLOAD_KEYS = ("downloadUrl", "download_url", "downloadURL", "fileUrl", "file_url", "url", "result.url",
                 "result.file", "result.downloadUrl", "result.download_url", "links.download", "_links.download",
                 "_links.download.href", "file")
# Words of the keys (or their parents) that hold the file, in order of preference, for a link found by shape.
DOWNLOAD_WORDS = ("download", "file", "archive", "zip", "export", "artifact", "result", "output", "href", "url", "link")
MESSAGE_KEYS = ("error", "message", "errorMessage", "error_message", "reason", "detail", "error_description")
PROGRESS_KEYS = ("progress", "percent", "percentage", "percentComplete")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


class SnapshotsApiError(AtlassianError):
    """An answer that fits none of the shapes the module knows (its body quoted, redacted)."""


def field(obj, *names):
    for name in names:
        value = obj
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, "") and not isinstance(value, (dict, list)):
            return value
    return None


def normalize_status(value):
    """DONE, FAILED or RUNNING (any other word, or none, is still running)."""
    text = re.sub(r"[\s\-]+", "_", str(value or "").strip()).upper()
    if text in _DONE:
        return DONE
    if text in _FAILED:
        return FAILED
    return RUNNING


def carries_file(response):
    """Whether an answer is the export itself rather than JSON about it."""
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    disposition = (response.headers.get("Content-Disposition") or "").lower()
    return kind in _ZIP_TYPES or kind.endswith("+zip") or "attachment" in disposition


class SnapshotsApi(object):
    """The endpoint of one site's Snapshots app; the client's credentials go to its host only."""

    def __init__(self, client, endpoint, warn=None):
        self.client = client
        self.endpoint = endpoint
        self.notes = shape.Notes(warn)   # the start answer's fields read by shape, each said once (issue 19)

    def _json(self, response, what):
        text = read_limited(response, MAX_BODY, self.client.secrets)
        if text[:2] == "PK":
            raise SnapshotsApiError("%s answered a zip without saying so (Content-Type %s)." % (
                what, response.headers.get("Content-Type") or "none"))
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise SnapshotsApiError("%s answered HTTP %s with a body that is neither JSON nor a zip: %s" % (
                what, response.status_code, self.client.redact(clip(text))))

    def start(self, spaces):
        """POST the export. ``spaces``: a list of keys, or None for every space.

        Returns ``("file", response)`` when the answer carries the export, else ``("task", task)`` with
        ``task = {"id", "status_url", "status", "raw"}``.
        """
        body = {"spaceKeys": list(spaces)} if spaces else {}
        headers = dict(HEADERS, **{"Content-Type": "application/json"})
        response = self.client.request("POST", self.endpoint, json=body, stream=True, headers=headers,
                                       expected=tuple(range(200, 300)) + REDIRECTS)
        if response.status_code in REDIRECTS:
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise SnapshotsApiError("The Snapshots endpoint answered HTTP %s without a Location." % response.status_code)
            return "task", {"id": None, "status_url": urljoin(self.endpoint, location), "status": None, "raw": {},
                            "redirected": response.status_code}
        if carries_file(response):
            return "file", response
        doc = self._json(response, "POST (the endpoint)")
        location = response.headers.get("Location")
        task = self.read_task(doc, location, self.endpoint)
        obj = shape.unwrap(doc)[0]
        download = field(obj, *DOWNLOAD_KEYS) if isinstance(obj, dict) else None
        if task["status_url"] is None and download is None and isinstance(obj, dict):
            try:
                url, path = shape.find_url(obj, prefer=STATUS_URL_WORDS, exclude=(self.endpoint,),
                                           what="status link")
            except shape.ShapeError as exc:
                raise SnapshotsApiError("The Snapshots endpoint accepted the export; refusing to guess which link "
                                        "is its status: %s" % self.client.redact(str(exc)))
            if url is not None:
                task["status_url"] = url
                task["found"].append(("status link", shape.join(task["base"], path)))
        self.notes("The Snapshots app's answer to the export's POST", task["found"])
        if task["status_url"] is None and download is not None:
            task.update(download_url=urljoin(self.endpoint, str(download)),
                        status=task["status"] or "COMPLETED")
            return "done", task
        if task["status_url"] is None:
            raise SnapshotsApiError("The Snapshots endpoint accepted the export (HTTP %s) but its answer names no "
                                    "status URL to follow (no Location header; none of %s in the body): %s" % (
                                        response.status_code, ", ".join(STATUS_URL_KEYS[:5]),
                                        self.client.redact(clip(json.dumps(doc)))))
        return "task", task

    @staticmethod
    def read_task(doc, location, base):
        """The task a start answer names: documented names first, then by shape. ``found`` lists ``(field, path)``
        (paths in the answer) of what was read by shape, ``base`` the path of the task's object in the answer (the
        answer may be a list or a wrapper around it)."""
        raw = doc
        doc, where = shape.unwrap(doc)
        doc = doc if isinstance(doc, dict) else {}
        found = [] if not where else [("task", where)]
        url = location or field(doc, *STATUS_URL_KEYS)
        task_id, status = field(doc, *ID_KEYS), field(doc, *STATUS_KEYS)
        if task_id is None:
            task_id, path = shape.find_id(doc, prefer=("task", "job"))
            if task_id is not None:
                found.append(("task id", shape.join(where, path)))
        if status is None:
            status, path = shape.find_status(doc)
            if status is not None:
                found.append(("status", shape.join(where, path)))
        return {"id": task_id, "status_url": urljoin(base, str(url)) if url else None, "status": status,
                "raw": raw if isinstance(raw, dict) else doc, "found": found, "base": where or ""}

    def poll(self, status_url):
        """One look at the task: ``{"state", "status", "progress", "message", "download_url", "raw"}``."""
        response = self.client.request("GET", status_url, stream=True, headers=dict(HEADERS),
                                       expected=tuple(range(200, 300)) + REDIRECTS)
        if response.status_code in REDIRECTS and response.headers.get("Location"):
            response.close()
            return {"state": DONE, "status": "redirect", "progress": 100, "message": None,
                    "download_url": urljoin(status_url, response.headers["Location"]), "raw": None}
        if carries_file(response):
            response.close()
            return {"state": DONE, "status": "file", "progress": 100, "message": None, "download_url": status_url,
                    "raw": None}
        raw = self._json(response, "GET (the task's status)")
        # The task itself: the body, or the one object of a list or wrapper around it (read by shape).
        doc, base = shape.unwrap(raw)
        if not isinstance(doc, dict):
            raise SnapshotsApiError("The task's status is not a JSON object: %s" % self.client.redact(
                clip(json.dumps(raw))))
        found = []
        status, name = shape.documented(doc, STATUS_KEYS)
        if status is None:
            status, name = shape.find_status(doc)
        if status is not None and (base or name not in STATUS_KEYS):
            found.append("status at %s" % shape.join(base, name))
        url, name = shape.documented(doc, DOWNLOAD_KEYS)
        if url is not None and url == status_url:
            url = None
        if url is not None and base:
            found.append("download link at %s" % shape.join(base, name))
        state = normalize_status(status)
        if url is None and (state == DONE or status is None):
            try:
                url, path = shape.find_url(doc, prefer=DOWNLOAD_WORDS, what="download link", relative=True,
                                           exclude=(status_url, self.endpoint, urlsplit(status_url).path))
            except shape.ShapeError as exc:
                raise SnapshotsApiError("The task's status %s; refusing to guess which file is the export: %s" % (
                    self.client.redact(str(exc)), self.client.redact(clip(json.dumps(raw)))))
            if url is not None:
                found.append("download link at %s" % shape.join(base, path))
        if status is None and url is not None:
            state = DONE  # no status word at all, but a file to fetch
        progress = field(doc, *PROGRESS_KEYS)
        return {"state": state, "status": status, "progress": progress,
                "message": field(doc, *MESSAGE_KEYS) if state == FAILED else None,
                "download_url": urljoin(status_url, str(url)) if url else None, "raw": raw,
                "found_at": ", ".join(found) or None}

    def describe(self, view):
        text = str(view.get("status") or "no status")
        if view.get("progress") not in (None, ""):
            text += " (%s %%)" % view["progress"]
        if view.get("message"):
            text += ": %s" % view["message"]
        return text
