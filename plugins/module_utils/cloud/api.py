# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Cloud backup manager ("OBM", unofficial): endpoints and parsers.

Every path of this API lives here, and every variant of its answers that real
clients have met (see the reference, sections 1 and 6) is normalized here, so
the module never looks at raw service text. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    parse_http_date,
    read_limited,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import parse_service_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import TransientResponse

RUNBACKUP = "/wiki/rest/obm/1.0/runbackup"
GETPROGRESS = "/wiki/rest/obm/1.0/getprogress"
DOWNLOAD = "/wiki/download/"
FILESTORE_PREFIX = "temp/filestore/"
MAX_BODY = 1024 * 1024

IDLE = "idle"
RUNNING = "running"
COMPLETE = "complete"
FAILED = "failed"

RUNNING_STATUSES = ("QUEUED", "PROCESSING", "IN_PROGRESS", "INPROGRESS", "RUNNING", "STARTED", "PENDING")
FAILED_STATUSES = ("FAILED", "ERROR", "FAILURE", "CANCELLED", "CANCELED")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ObmParseError(TransientResponse):
    """A progress body we cannot read (HTML page, empty, truncated JSON)."""


class UnsafeFileName(ValueError):
    pass


def _bool(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("true", "1", "yes")


def _int(value, default=0):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_percentage(value):
    """``"100"``, ``"100%"``, ``"Estimated progress: 100 %"``, ``66`` -> int; None if absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return max(0, min(100, int(value)))
    match = re.search(r"(\d{1,3})(?:\.\d+)?\s*%?", str(value))
    if not match:
        return None
    return max(0, min(100, int(match.group(1))))


def _xml_attributes(text):
    match = re.search(r"<\s*backupresult\b([^>]*)/?>", text, re.I | re.S)
    if not match:
        return None
    attrs = {}
    for key, _quote, value in re.findall(r"([A-Za-z_][\w.-]*)\s*=\s*(['\"])(.*?)\2", match.group(1), re.S):
        attrs[key] = (value.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<")
                      .replace("&gt;", ">").replace("&amp;", "&"))
    return attrs


def parse_progress(text):
    """Normalize a ``getprogress`` body (JSON, or the XML ``backupresult`` form).

    Raises :class:`ObmParseError` (transient: the waiter polls again) for an
    empty body, an HTML page or truncated JSON.
    """
    if text is None or not text.strip():
        raise ObmParseError("getprogress returned an empty body (Confluence may be unavailable or unlicensed "
                            "for this site)")
    stripped = text.strip()
    data = None
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise ObmParseError("getprogress returned JSON that cannot be read: %r" % _clip(stripped))
        if not isinstance(data, dict):
            raise ObmParseError("getprogress returned JSON that is not an object: %r" % _clip(stripped))
    elif stripped.startswith("<"):
        data = _xml_attributes(stripped)
        if data is None:
            raise ObmParseError("getprogress returned a page that is neither JSON nor a backupresult: %r"
                                % _clip(stripped))
    else:
        raise ObmParseError("getprogress returned text that is not JSON: %r" % _clip(stripped))

    status = data.get("currentStatus")
    status = str(status).strip() if status not in (None, "") else None
    file_name = data.get("fileName")
    file_name = str(file_name).strip() if file_name not in (None, "", "null") else None
    raw_pct = data.get("alternativePercentage")
    if raw_pct is None:
        raw_pct = data.get("estimatedPercentage", data.get("percentage"))
    progress = {
        "file_name": file_name,
        "size": _int(data.get("size")),
        "status": status,
        "percentage": parse_percentage(raw_pct),
        "raw_percentage": raw_pct,
        "concurrent_backup_in_progress": _bool(data.get("concurrentBackupInProgress")),
        "is_outdated": _bool(data.get("isOutdated")),
        "time": _int(data.get("time")),
        "failed_message": data.get("failedMessage") or None,
    }
    progress["state"] = classify(progress)
    return progress


def classify(progress):
    """IDLE, RUNNING, COMPLETE or FAILED for a normalized progress dict."""
    status = (progress.get("status") or "").upper().rstrip(".")
    pct = progress.get("percentage")
    if progress.get("failed_message") or status in FAILED_STATUSES:
        return FAILED
    if progress.get("concurrent_backup_in_progress"):
        return RUNNING
    if progress.get("file_name") and (status == "COMPLETE" or pct == 100 or progress.get("size", 0) > 0
                                      or (not status and pct is None)):
        return COMPLETE
    if status in RUNNING_STATUSES:
        return RUNNING
    if status and status != "COMPLETE":
        # Human text such as "Archiving attachments." means work is going on.
        return RUNNING
    if pct is not None and pct < 100:
        return RUNNING
    if status == "COMPLETE" or pct == 100:
        # Finished but no file name yet: the file is still being published.
        return RUNNING
    return IDLE


def describe(progress):
    if not progress:
        return "unknown"
    parts = [progress.get("status") or progress.get("state") or "unknown"]
    if progress.get("percentage") is not None:
        parts.append("%d %%" % progress["percentage"])
    if progress.get("failed_message"):
        parts.append("service said: %s" % progress["failed_message"])
    return ", ".join(parts)


def download_path(file_name):
    """The site path of a finished backup, from the ``fileName`` the service gave.

    ``temp/filestore/<uuid>`` is used as it is; a bare ``<uuid>`` gets the
    prefix. Anything that could leave the download folder is refused.
    """
    name = (file_name or "").strip()
    if name.startswith("/"):
        raise UnsafeFileName("the service returned an absolute fileName %r; refusing to use it" % _clip(name))
    if not _FILE_NAME.match(name) or any(seg in ("..", ".") for seg in name.split("/")):
        raise UnsafeFileName("the service returned a fileName with characters or segments that are not allowed "
                             "(%r); refusing to use it" % _clip(name))
    if not name.startswith(FILESTORE_PREFIX):
        name = FILESTORE_PREFIX + name
    return DOWNLOAD + name


def server_file_id(file_name):
    """The stable identifier of a backup: its file name without the filestore prefix."""
    name = (file_name or "").strip()
    return name[len(FILESTORE_PREFIX):] if name.startswith(FILESTORE_PREFIX) else name


def _compact(text):
    return re.sub(r"\s+", "", text or "").lower()


def _message_of(text):
    stripped = (text or "").strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return stripped
        if isinstance(data, dict):
            for key in ("error", "message", "errorMessage", "reason"):
                if data.get(key):
                    return str(data[key])
    return stripped


def parse_cloud_history(text):
    """Fields of a ``CloudHistory{key='value', ...}`` text, as returned by runbackup.

    Seed 000 prints it with its spaces lost and with spaces inside the times
    (``creationTime='2026-03-25T08: 35: 32.398721536Z'``); both are read.
    """
    match = re.search(r"CloudHistory\s*\{(.*)\}", text or "", re.S)
    if not match:
        return None
    fields = {}
    for key, value in re.findall(r"(\w+)\s*=\s*'([^']*)'", match.group(1)):
        fields[key] = value
    for key, value in re.findall(r"(\w+)\s*=\s*(true|false|\d+)\b", match.group(1)):
        fields.setdefault(key, value)
    return fields


def history_summary(history):
    """The CloudHistory as snake_case result fields (``None`` when there was none)."""
    if not history:
        return None
    backup_id = history.get("backupId")
    return {
        "status": history.get("status"),
        "backup_id": backup_id,
        "creation_time": _history_time_text(history.get("creationTime")),
        "cloud_id": history.get("cloudId"),
        "has_attachments": _bool(history["hasAttachments"]) if "hasAttachments" in history else None,
    }


def _history_time_text(value):
    return re.sub(r"\s+", "", value) if value else None


def parse_history_time(value):
    """Epoch seconds of a CloudHistory time (``2026-03-25T08:35:32.398721536Z``, spaces allowed); None."""
    text = _history_time_text(value)
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-]00:?00)?$", text or "")
    if not match:
        return None
    import calendar
    return float(calendar.timegm(tuple(int(g) for g in match.groups()) + (0, 0, 0)))


def parse_runbackup_refusal(status, text):
    """Explain a refused ``runbackup``: returns a dict with ``kind``.

    ``frequency_limited`` (with ``wait_seconds``, possibly None), ``in_progress``
    or ``unknown``. The text is matched with white space removed, because copies
    of it circulate with their spaces lost.
    """
    message = _message_of(text)
    compact = _compact(message)
    if "frequencyislimited" in compact or "cannotmakeanotherbackup" in compact:
        # The wait is what follows the last "backup" ("... next allowed backup: 14h 19m").
        pos = message.lower().rfind("backup")
        tail = message[pos + len("backup"):] if pos >= 0 else message
        return {"kind": "frequency_limited", "wait_seconds": parse_service_duration(tail), "message": message}
    if "alreadyinprogress" in compact or "backupinprogress" in compact:
        return {"kind": "in_progress", "message": message, "history": parse_cloud_history(message)}
    return {"kind": "unknown", "message": message}


class ObmApi(object):
    """Thin wrappers around the OBM endpoints."""

    def __init__(self, client):
        self.client = client

    def progress(self, deadline=None):
        response = self.client.request("GET", GETPROGRESS, stream=True, expected=(200, 204), deadline=deadline)
        if response.status_code == 204:
            response.close()
            raise ObmParseError("getprogress answered HTTP 204 with no body (Confluence may be unavailable or "
                                "unlicensed for this site)")
        return parse_progress(read_limited(response, MAX_BODY, self.client.secrets))

    def run_backup(self, include_attachments):
        """POST runbackup once and read the answer. Returns a dict:

        * ``outcome``: ``started`` (2xx, with an empty body or a CloudHistory
          text, even one that says "already in progress": seed 000 shows that
          text for a backup this very request started), ``in_progress`` (406 or
          409 "already in progress": some clients meet it for a backup the
          request started, others while another one runs), ``frequency_limited``
          or ``refused`` (anything else the service said no with);
        * ``status``, ``message`` (the service's text), ``history`` (the parsed
          CloudHistory or None), ``wait_seconds`` (frequency limit), and
          ``server_time`` (epoch seconds from the answer's ``Date`` header, or
          None), which tells backups made before this request from later ones.

        Other statuses raise :class:`AtlassianApiError`. The POST is never
        retried unless the service certainly did not act on it (the client's rule).
        """
        body = {"cbAttachments": "true" if include_attachments else "false", "exportToCloud": "true"}
        response = self.client.request("POST", RUNBACKUP, json=body, stream=True,
                                       headers={"Content-Type": "application/json"},
                                       expected=(200, 201, 202, 204, 406, 409, 412, 500))
        status = response.status_code
        server_time = parse_http_date(response.headers.get("Date"))
        text = read_limited(response, MAX_BODY, self.client.secrets)
        refusal = parse_runbackup_refusal(status, text) if text.strip() else {"kind": "unknown", "message": ""}
        answer = {"status": status, "message": " ".join(refusal["message"].split()),
                  "history": parse_cloud_history(text), "wait_seconds": refusal.get("wait_seconds"),
                  "server_time": server_time}
        if refusal["kind"] == "frequency_limited":
            answer["outcome"] = "frequency_limited"
        elif 200 <= status < 300:
            answer["outcome"] = "started"
        elif refusal["kind"] == "in_progress":
            answer["outcome"] = "in_progress"
        elif status == 500:
            raise AtlassianApiError(status, "POST", self.client.url_for(RUNBACKUP), response.reason or "",
                                    self.client.redact(_clip(" ".join(text.split()))))
        else:
            answer["outcome"] = "refused"
        return answer


def _clip(text, limit=200):
    text = text or ""
    return text if len(text) <= limit else text[:limit] + "..."
