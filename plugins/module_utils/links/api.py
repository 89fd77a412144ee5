# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atlassian's link-update API for migrations ("Migration utility APIs", link fixing): endpoints and readers.

After a migration from Data Center to Cloud, or from Cloud to Cloud, links in the destination still point at the
source. Atlassian documents jobs that update them (``docs/link_update.md`` has every fact with its source):

* ``POST {base}/{siteId}/jobs/cma`` schedules a job for one product of the destination site, with ``product``
  (Jira or Confluence, "The default is Jira"), ``productURL``, ``destinationURL`` and ``migratedFrom``, and the
  optional ``migratedFromOverride``, ``recreateAsRemote`` and ``createBackup``; the answer carries the job's id
  ("you'll receive its ID in the response"), under ``uuid``;
* ``GET {base}/{siteId}/jobs/status/{jobId}`` reads its status: Pending, Backup, In_progress, Complete, Retry or
  Error. The answer's shape is not documented: the status is read under ``status`` first, else by shape
  (:mod:`core.shape`), with a warning naming the field used; links to the history report and audit log are
  returned when the answer carries any;
* no list of jobs is documented, so a job whose start answer named no id cannot be found again here.

Every path of the API is built here, and every answer is read here. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from urllib.parse import quote, urlsplit, urlunsplit
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore
    from urlparse import urlsplit, urlunsplit  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError, clip, read_json
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import TransientResponse

MAX_BODY = 1024 * 1024
# https://developer.atlassian.com/cloud/migration/update-product-links: "https://api.atlassian.com/links/v1/
# ${SITE_ID}/jobs/cma". The organization-level Backup & Restore API lives on the same host, under this path.
DEFAULT_BASE_URL = "https://api.atlassian.com/links/v1"
LINKS_PATH = "/links/v1"
ORG_API_PATH = "/public/backup-management/"

# The documented statuses (https://developer.atlassian.com/cloud/migration/check-the-status-and-results/), folded to
# upper-snake case, with what the page says each means.
PENDING = "PENDING"
BACKUP = "BACKUP"
IN_PROGRESS = "IN_PROGRESS"
COMPLETE = "COMPLETE"
RETRY = "RETRY"
ERROR = "ERROR"
STATUSES = {
    PENDING: "scheduled, waiting in the queue",
    BACKUP: "not started yet, because a Cloud backup is in progress",
    IN_PROGRESS: "links are being updated",
    COMPLETE: "completed; the results are ready to view",
    RETRY: "an issue updating a batch of links; that batch is being tried again",
    ERROR: "the job could not be started or completed",
}
DONE = (COMPLETE,)
FAILED = (ERROR,)
# Spellings a service could plausibly use for the same states [I]; any other status counts as running.
_ALIASES = {"INPROGRESS": IN_PROGRESS, "IN_PROGRESS": IN_PROGRESS, "COMPLETED": COMPLETE, "FAILED": ERROR,
            "FAILURE": ERROR, "ERRORED": ERROR}

# The request's words for the products ("Jira or Confluence"), by the module's choice.
PRODUCTS = {"jira": "Jira", "confluence": "Confluence"}

START_IDS = ("uuid",)                 # the documented name of the job's id in the start answer
STATUS_KEYS = ("status",)             # [I] the status answer's shape is not documented
MESSAGE_KEYS = ("message", "errorMessage", "error", "reason", "statusMessage", "details", "description")
# Keys of an answer that name other things than the job: their values are never the job's id.
REFERENCES = ("siteId", "cloudId", "accountId")
# A URL in the status answer is a report when its field's path says so (the history report and the audit log).
REPORT_WORDS = ("report", "history", "audit", "log", "download", "result", "csv", "file")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ABSOLUTE = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


class LinksApiError(AtlassianError):
    """An answer of the API that cannot be understood (quoted, redacted, in the message)."""


def base_url_for(api_base_url):
    """The link API's base URL, on the host of the organization API's ``api_base_url``.

    ``https://api.atlassian.com/public/backup-management/v2`` gives ``https://api.atlassian.com/links/v1``: the path
    of the Backup & Restore API is replaced by the link API's, and what comes before it (a proxy's prefix) is kept.
    A URL that already ends in ``/links/v1`` is kept as it is; any other path gets ``/links/v1`` appended.
    """
    parts = urlsplit((api_base_url or DEFAULT_BASE_URL).strip())
    path = parts.path.rstrip("/")
    if path.endswith(LINKS_PATH):
        new_path = path
    elif ORG_API_PATH in path + "/":
        new_path = path[:(path + "/").index(ORG_API_PATH)] + LINKS_PATH
    else:
        new_path = path + LINKS_PATH
    return urlunsplit((parts.scheme, parts.netloc, new_path, "", ""))


def normalize_status(value):
    """``In_progress``, ``IN PROGRESS``, ``Complete`` -> ``IN_PROGRESS``, ``COMPLETE``; an unknown status folded but
    otherwise verbatim; None for none."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = re.sub(r"[\s\-]+", "_", str(value).strip()).upper().strip("_.")
    if not text:
        return None
    return _ALIASES.get(text, _ALIASES.get(text.replace("_", ""), text))


def is_absolute_url(value):
    return isinstance(value, str) and bool(_ABSOLUTE.match(value.strip()))


def start_body(product, product_url, destination_url, migrated_from, migrated_from_override=None,
               recreate_as_remote=None, create_backup=None):
    """The body of ``POST jobs/cma``: the documented fields, the optional ones only when set."""
    body = {"product": PRODUCTS.get(product, product), "productURL": product_url, "destinationURL": destination_url,
            "migratedFrom": migrated_from}
    for key, value in (("migratedFromOverride", migrated_from_override), ("recreateAsRemote", recreate_as_remote),
                       ("createBackup", create_backup)):
        if value is not None:
            body[key] = value
    return body


def field(obj, *names):
    """The first of ``names`` present as a scalar in ``obj``."""
    return shape.documented(obj, names)[0] if isinstance(obj, dict) else None


def read_job_id(doc, site_id=None):
    """``(job id, path)`` of a start answer, or ``(None, None)``.

    ``uuid`` (documented) at the top, or inside a wrapper (a one-element list, a ``result``/``data`` nesting); then
    by shape: a key named like uuid (``jobUuid``), else an id-like key (``jobId``, ``id``) that names no other object
    and is not the site's id; a bare JSON string that is a UUID. Two different candidates are not guessed between.
    """
    if isinstance(doc, str):
        text = doc.strip()
        return (text, "(the answer itself)") if _UUID.match(text) else (None, None)
    obj, base = shape.unwrap(doc, ("jobs",))
    if obj is None:
        return None, None
    value, name = shape.documented(obj, START_IDS)
    if value is not None and value != site_id:
        return str(value), shape.join(base, name)
    found = []
    for path, key, value in shape.leaves(obj):
        folded = shape.fold(key)
        if folded.endswith("uuid") and isinstance(value, str) and value.strip() and value != site_id:
            found.append((path.count(".") + path.count("["), value.strip(), path))
    if found:
        found.sort()
        best = [entry for entry in found if entry[0] == found[0][0]]
        if len(set(entry[1] for entry in best)) == 1:
            return best[0][1], shape.join(base, best[0][2])
        return None, None
    value, path = shape.find_id(obj, prefer=("job",), exclude=(site_id,), references=REFERENCES)
    if value is None:
        return None, None
    return str(value), shape.join(base, path)


def report_urls(doc):
    """``{path: url}``: every absolute http(s) URL of a status answer under a field whose path says report, history,
    audit, log, download, result, csv or file (not the URLs the request sent, under ``productURL`` and the like)."""
    urls = {}
    for path, _key, value in shape.leaves(doc):
        if is_absolute_url(value) and any(word in path.lower() for word in REPORT_WORDS):
            urls[path] = value.strip()
    return urls


def job_view(doc):
    """``(view, used)``: a status answer as snake_case facts, and the ``(what, path)`` of each field read by shape.

    ``view``: ``status`` (normalized), ``service_status`` (verbatim), ``message``, ``report_urls``.
    """
    view = {"status": None, "service_status": None, "message": None, "report_urls": report_urls(doc)}
    obj, base = shape.unwrap(doc, ("jobs",))
    if not isinstance(obj, dict):
        return view, []
    used = []
    raw, name = shape.documented(obj, STATUS_KEYS)
    if raw is None:
        raw, path = shape.find_status(obj)
        if raw is not None:
            used.append(("status", shape.join(base, path)))
    elif base:
        used.append(("status", shape.join(base, name)))
    view.update(status=normalize_status(raw), service_status=raw, message=field(obj, *MESSAGE_KEYS))
    return view, used


def describe(view):
    """``In_progress (links are being updated)``, with the service's message when it gave one."""
    text = str(view["service_status"]) if view["service_status"] is not None else "no status"
    meaning = STATUSES.get(view["status"])
    if meaning:
        text += " (%s)" % meaning
    if view["message"]:
        text += "; the service said: %s" % str(view["message"]).rstrip(". ")
    return text


def refusal_text(document):
    """The service's words in an error answer (``message``, ``errors[].title``...), or the answer itself."""
    if isinstance(document, dict):
        errors = document.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(field(e, "title", "detail", "message", "code") or e) if isinstance(e, dict)
                             else str(e) for e in errors)
        text = field(document, "message", "errorMessage", "error", "title", "detail")
        if text:
            return str(text)
    return clip(json.dumps(document)) if document is not None else "(no text)"


class LinksApi(object):
    """The link API of one destination site (``site_id``, its cloud id) under ``base_url``."""

    def __init__(self, client, base_url, site_id, warn=None):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.site_id = site_id
        self.notes = shape.Notes(warn)

    def _url(self, *parts):
        return "/".join((self.base_url, quote(str(self.site_id), safe="")) + tuple(
            quote(str(part), safe="") for part in parts))

    @property
    def start_url(self):
        return self._url("jobs", "cma")

    def status_url(self, job_id):
        return self._url("jobs", "status", job_id)

    def start(self, body):
        """POST the job: ``(HTTP status, answer)``. Raises the client's errors (never retried once sent)."""
        response = self.client.request("POST", self.start_url, json=body, stream=True,
                                       headers={"Content-Type": "application/json"})
        return response.status_code, read_json(self.client, response, MAX_BODY, LinksApiError)

    def job(self, job_id):
        """The status answer of a job; None for a 404. A 200 with an empty body is transient (polled again)."""
        url = self.status_url(job_id)
        response = self.client.request("GET", url, stream=True, expected=(200, 404))
        if response.status_code == 404:
            response.close()
            return None
        document = read_json(self.client, response, MAX_BODY, LinksApiError)
        if document is None:
            raise TransientResponse("GET %s answered HTTP 200 with an empty body" % self.client.redact(url))
        return document

    def job_id_of(self, doc):
        """The job's id in a start answer: ``uuid`` (documented) or by shape, with a warning; None when none."""
        job_id, path = read_job_id(doc, self.site_id)
        if job_id is not None and path not in START_IDS:
            self.notes("The answer to POST {siteId}/jobs/cma", [("job id", path)], {"job id": START_IDS})
        return job_id

    def view(self, doc):
        """:func:`job_view`, saying once per field which fields were read by shape."""
        view, used = job_view(doc)
        self.notes("The answer to GET {siteId}/jobs/status/{jobId}", used, {"status": STATUS_KEYS})
        return view
