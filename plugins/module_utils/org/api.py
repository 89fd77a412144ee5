# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The organization-level Backup & Restore API (Jira and Confluence Cloud): endpoints and tolerant readers.

Every path of the API lives here (seed 001; the v2 base URL and samples in the reference, section 4), and every
reader of its answers, which are only partly documented:

* statuses appear as ``IN PROGRESS`` (seed 003), ``IN_PROGRESS``, ``CREATED`` (v2 sample), ``Completed``,
  ``COMPLETE``, ``COMPLETED``: :func:`normalize_status` folds case, spaces and synonyms, and keeps an unknown
  status verbatim (callers treat it as still running);
* lists come bare or wrapped (``{"backups": [...], "totalItems": n}`` in the v2 sample, or ``values``,
  ``items``...): :func:`items_of`;
* the jobs (backups, exports, imports, restores) are read under their documented names, else by shape
  (:meth:`OrgBackupApi.read_job`, :mod:`core.shape`): the object inside a list or a ``result``/``data`` nesting,
  the id under an id-like key that names no other object, the status under a status-like key; a list under any
  plural key, its total under a key that says total or none. Each field read so is warned about once per run;
* paging follows Atlassian's guide: ``start`` is the page index counted from 0, ``pageSize`` items a page; the
  walk stops on a short page or at ``totalItems``: :meth:`OrgBackupApi.pages`;
* the shape of a failing restore validation is not documented: :func:`failing_checks` finds the known check
  names wherever they appear in the body;
* ages (``max_age``, the 7-day rule, the 14-day retention) are measured on the service's clock, read from the
  ``Date`` header of its answers (:meth:`OrgBackupApi.now`), so that a host whose clock is off does not ask for a
  backup the service refuses.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianError,
    clip,
    parse_http_date,
    read_json,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import parse_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import TransientResponse

MAX_BODY = 4 * 1024 * 1024
PAGE_SIZE = 50
MAX_PAGES = 1000

IN_PROGRESS = "IN_PROGRESS"
COMPLETE = "COMPLETE"
INCOMPLETE = "INCOMPLETE"
FAILED = "FAILED"
EXPIRED = "EXPIRED"
VALIDATION_FAILED = "VALIDATION_FAILED"
CANCELLED = "CANCELLED"
# Statuses after which nothing more happens to a job; any other, known or not, counts as still running.
TERMINAL = (COMPLETE, INCOMPLETE, FAILED, EXPIRED, CANCELLED)

_SYNONYMS = {
    COMPLETE: ("COMPLETE", "COMPLETED", "SUCCESS", "SUCCEEDED", "SUCCESSFUL", "DONE", "FINISHED"),
    IN_PROGRESS: ("IN_PROGRESS", "INPROGRESS", "CREATED", "QUEUED", "PENDING", "STARTED", "RUNNING", "PROCESSING",
                  "SCHEDULED", "VALIDATING", "VALIDATED", "RESTORING", "EXPORTING", "IMPORTING"),
    INCOMPLETE: ("INCOMPLETE", "PARTIAL", "PARTIALLY_COMPLETED", "COMPLETED_WITH_ERRORS"),
    FAILED: ("FAILED", "FAILURE", "ERROR", "ERRORED"),
    EXPIRED: ("EXPIRED", "DELETED"),
    VALIDATION_FAILED: ("VALIDATION_FAILED", "VALIDATION_FAILURE", "VALIDATION_ERROR", "AWAITING_CONSENT",
                        "CONSENT_REQUIRED", "BLOCKED"),
    CANCELLED: ("CANCELLED", "CANCELED"),
}
_CANONICAL = dict((alias, name) for name, aliases in _SYNONYMS.items() for alias in aliases)

# The consent checks of a restore's validation, with what they mean (seed 001, in plain words).
CHECKS = {
    "Consent_Conflicting_Space_Check": "Some spaces or projects in the backup already exist on the destination "
                                       "site. They will be skipped; the destination's version of them stays.",
    "Consent_Conflicting_Group_Check": "Groups with the same names already exist on the destination site. They "
                                       "will be merged: users may get permissions of the groups they are added to.",
    "Consent_Product_License_Check": "The destination product is on a free plan or on a lower plan than the backed "
                                     "up site. Upgrade it to at least the same license level.",
    "Consent_TDP_Shard_Check": "The destination site is not on the same shard as the backed up site; backups "
                               "should be restored on the same shard.",
    "Consent_Site_License_Check": "The destination site is on a free trial. Backup and restore needs a Standard, "
                                  "Premium or Enterprise license.",
    "Accept_Custom_Group_Check": "Custom groups of the backup will be restored.",
    "Deny_Custom_Group_Check": "Custom groups of the backup will not be restored.",
}
_PASSED = ("PASSED", "PASS", "SUCCESS", "SUCCEEDED", "OK", "TRUE", "VALID", "COMPLETE", "COMPLETED", "CONSENTED")
_STATUS_KEYS = ("status", "result", "state", "outcome", "passed")
# Lists or objects under keys like these hold checks that are settled, not failing ("consented", "passedChecks").
_SETTLED_KEYS = ("consent", "pass", "success", "accept", "resolved", "ignored", "ok")


class OrgApiError(AtlassianError):
    """An answer of the API that cannot be understood (quoted, redacted, in the message)."""


# ------------------------------------------------------------------- readers
def normalize_status(value):
    """``In Progress``, ``IN_PROGRESS``, ``CREATED``, ``Completed`` ... -> a canonical upper-snake status.

    An unknown status comes back folded but otherwise verbatim (``SOMETHING_NEW``); None for none.
    """
    if value is None:
        return None
    text = re.sub(r"[\s\-]+", "_", str(value).strip()).upper().strip("_.")
    if not text:
        return None
    return _CANONICAL.get(text, text)


def is_known_status(status):
    return status in _SYNONYMS


def normalize_product(value):
    """``JIRA``, ``jira-software``, ``Confluence`` -> ``jira`` or ``confluence`` (else lower-case verbatim)."""
    text = str(value or "").strip().lower().replace("_", "-")
    if text.startswith("jira"):
        return "jira"
    if text.startswith("confluence"):
        return "confluence"
    return text or None


def api_product(product):
    return (product or "").upper()


def field(obj, *names):
    """The first of ``names`` (dotted paths allowed) present and not None in ``obj``."""
    for name in names:
        value = obj
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def items_of(body, *keys):
    """The list in a list answer: bare, or under one of ``keys`` or a usual wrapper."""
    return list_of(body, *keys)[0]


def list_of(body, *keys):
    """``(the list, the key it was under)``: bare (key None), under one of ``keys`` or a usual wrapper, or under the
    only plural key that holds a list of objects (``{"backupList": [...], "count": 2}``)."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        for key in keys + ("values", "items", "results", "data", "content", "elements"):
            if isinstance(body.get(key), list):
                return body[key], key
        lists = [(key, value) for key, value in body.items() if isinstance(value, list)]
        if len(lists) == 1 and all(isinstance(item, dict) for item in lists[0][1]):
            return lists[0][1], lists[0][0]
    where = (" under %s" % "/".join(keys)) if keys else ""
    raise OrgApiError("expected a list%s, got: %s" % (where, clip(json.dumps(body))))


def total_of(body):
    """The whole list's length (``totalItems``, ref 4.3), or any top-level integer that says total; else None.

    Not ``size``: in Atlassian's other lists (start/limit/size) it counts the page, not the whole list."""
    return shape.find_total(body, ("totalItems",))[0]


def _identity(item, id_keys):
    """What makes a listed item the same item on another page: its id, else its whole JSON text."""
    if isinstance(item, dict):
        for key in id_keys:
            if item.get(key) not in (None, ""):
                return "%s=%s" % (key, item[key])
    return json.dumps(item, sort_keys=True)


def failing_checks(body):
    """The names of the restore validation checks that failed, wherever the body lists them, in order."""
    found = []

    def add(name):
        if name not in found:
            found.append(name)

    def passed(value):
        if isinstance(value, bool):
            return value
        return normalize_status(value) in _PASSED if value is not None else False

    def walk(node):
        if isinstance(node, dict):
            status = next((node[k] for k in _STATUS_KEYS if k in node and not isinstance(node[k], (dict, list))),
                          None)
            for key, value in node.items():
                if key in CHECKS:
                    if not isinstance(value, (dict, list)):
                        if not passed(value):
                            add(key)
                        continue
                    if not passed(field(value, *_STATUS_KEYS)):
                        add(key)
                elif isinstance(value, str) and value in CHECKS and not passed(status):
                    add(value)
                elif isinstance(value, (dict, list)) and not any(w in key.lower() for w in _SETTLED_KEYS):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str) and item in CHECKS:
                    add(item)
                else:
                    walk(item)

    walk(body)
    return found


def explain_checks(names):
    return ["%s: %s" % (name, CHECKS.get(name, "(no description known)")) for name in names]


# -------------------------------------------------------------------- views
def policy_view(raw):
    """A policy as snake_case facts, whatever the answer's spelling."""
    return {
        "policy_id": field(raw, "policyId", "id"),
        "cloud_id": field(raw, "cloudId", "cloudInfo.cloudId"),
        "product": normalize_product(field(raw, "product", "productType")),
        "include_attachments": field(raw, "includeAttachments"),
        "include_personal_spaces": field(raw, "includePersonalSpaces"),
        "storage_id": field(raw, "storageId", "details.storageId"),
        "status": normalize_status(field(raw, "status")),
    }


def job_view(raw, id_keys):
    """A backup, export, import or restore as snake_case facts."""
    service_status = field(raw, "status", "state")
    return {
        "id": field(raw, *id_keys),
        "status": normalize_status(service_status),
        "service_status": service_status,
        "cloud_id": field(raw, "cloudId", "destinationCloudId", "cloudInfo.cloudId"),
        "product": normalize_product(field(raw, "product", "productType")),
        "backup_id": field(raw, "backupId"),
        "policy_id": field(raw, "policyId"),
        "created": parse_time(field(raw, "createdAt", "creationTime", "startTime")),
        "message": field(raw, "statusMessage", "message", "failureReason", "errorMessage"),
    }


BACKUP_IDS = ("backupId", "id")
EXPORT_IDS = ("exportId", "id")
IMPORT_IDS = ("importId", "id")
RESTORE_IDS = ("restoreId", "id")
STATUS_KEYS = ("status", "state")
# Per kind of job: its documented id names, and the documented keys that name other objects (the request's words,
# seed 001), whose values are never the job's own id when the id is found by shape.
JOBS = {
    "backup": (BACKUP_IDS, ("cloudId", "policyId", "storageId", "accountId")),
    "export": (EXPORT_IDS, ("backupId", "cloudId", "storageId", "accountId")),
    "import": (IMPORT_IDS, ("backupId", "cloudId", "storageId", "accountId")),
    "restore": (RESTORE_IDS, ("backupId", "cloudId", "sourceCloudId", "destinationCloudId", "migrationId",
                              "accountId")),
}


# ---------------------------------------------------------------------- api
class OrgBackupApi(object):
    """Thin wrappers around the endpoints of one organization; every answer is read tolerantly."""

    def __init__(self, client, org_id, page_size=PAGE_SIZE, warn=None):
        self.client = client
        self.org = "orgs/%s" % org_id
        self.page_size = page_size
        self._service_time = None   # (the service's time from the last Date header, the client's clock then)
        self.notes = shape.Notes(warn)   # the fields read by shape, each said once (issue 19)

    def read_job(self, raw, kind, what):
        """A backup, export, import or restore as the answer ``what`` gave it, with its id and status under their
        documented names: read by name, else by shape (:func:`shape.read_object`; each such field warned once)."""
        if raw is None:
            return None
        ids, references = JOBS[kind]
        obj, used = shape.read_object(raw, ids, STATUS_KEYS, prefer=(kind,), plural=(kind + "s",),
                                      references=references)
        self.notes(what, used, {"id": ids, "status": STATUS_KEYS})
        return obj

    # ------------------------------------------------------------ transport
    def _read(self, response):
        self._read_date(response)
        return read_json(self.client, response, MAX_BODY, OrgApiError)

    def _read_date(self, response):
        when = parse_http_date(response.headers.get("Date"))
        if when is not None:
            self._service_time = (when, self.client.clock())

    def now(self):
        """The service's time (epoch seconds): its last ``Date`` header plus the time since; this host's clock
        before any answer, or when the answers carry no date."""
        if self._service_time is None:
            return time.time()
        when, seen = self._service_time
        return when + max(0.0, self.client.clock() - seen)

    def get(self, path, params=None, missing_ok=False):
        """GET a document; None for a 404 when ``missing_ok``.

        A 200 with an empty body is not a missing document: it raises :class:`TransientResponse`, which a wait
        polls again and any other caller reports as it is.
        """
        expected = (200, 404) if missing_ok else (200,)
        response = self.client.request("GET", path, params=params, stream=True, expected=expected)
        if response.status_code == 404:
            self._read_date(response)
            response.close()
            return None
        document = self._read(response)
        if document is None:
            raise TransientResponse("GET %s answered HTTP 200 with an empty body" % self.client.redact(path))
        return document

    def send(self, method, path, body, refusals=()):
        """A write. Returns ``(status, document)``; ``refusals`` are statuses returned rather than raised."""
        expected = tuple(range(200, 300)) + tuple(refusals)
        response = self.client.request(method, path, json=body, stream=True, expected=expected,
                                       headers={"Content-Type": "application/json"})
        return response.status_code, self._read(response)

    def pages(self, path, keys, params=None, id_keys=("id",), kind=None):
        """Every item of a list endpoint once, whatever ``start`` counts.

        Atlassian's guide says only that ``start`` "defines the start page of the response": a page index from 0
        (what the emulator serves by default), from 1, or an item offset would all fit. The second page tells which:
        all new items (pages from 0), none (pages from 1: ``start=1`` was the first page again), or the first page
        shifted by one (an item offset, so the next ``start`` is the number of items seen). Items are kept once by
        id (``id_keys``, or the whole item); the walk ends at ``totalItems``, on an empty or short page, or when a
        page brings nothing new.
        """
        items, seen = [], set()
        start, mode = 0, None
        for page in range(MAX_PAGES):
            query = dict(params or {})
            query.update(start=start, pageSize=self.page_size)
            body = self.get(path, query)
            batch, under = list_of(body, *keys) if body is not None else ([], keys[0])
            total, total_key = shape.find_total(body, ("totalItems",))
            what = "The answer to GET %s" % path
            if under not in keys:
                self.notes(what, [("list", under or "(the answer itself)")], {"list": keys})
            if total_key not in (None, "totalItems"):
                self.notes(what, [("total", total_key)], {"total": ("totalItems",)})
            if kind is not None:
                batch = [self.read_job(item, kind, what + " (an item of the list)") for item in batch]
            new = []
            for item in batch:
                key = _identity(item, id_keys)
                if key not in seen:
                    seen.add(key)
                    new.append(item)
            items.extend(new)
            if not batch or (total is not None and len(items) >= total):
                return items
            if page == 1:
                mode = "pages" if new else "pages from 1"
                if len(new) == 1 < len(batch) and new[0] is batch[-1]:
                    mode = "items"  # the first page again, shifted by one item
            elif page > 1 and not new:
                return items
            # Without totalItems, a short page is the last one (a server may cap pageSize: then totalItems says).
            if total is None and len(batch) < self.page_size:
                return items
            start = len(items) if mode == "items" else start + 1
        raise OrgApiError("%s: more than %d pages; stopping" % (path, MAX_PAGES))

    def _p(self, *parts):
        return "/".join((self.org,) + tuple(str(p) for p in parts))

    # -------------------------------------------------------------- storages
    def regions(self):
        status, body = self.send("POST", self._p("storages", "regions"), None)
        return items_of(body, "regions", "storageRegions") if body is not None else []

    def storages(self, cloud_id=None, product=None):
        params = dict((k, v) for k, v in (("cloudId", cloud_id), ("product", api_product(product) or None)) if v)
        return self.pages(self._p("storages"), ("storages",), params, ("storageId", "id"))

    def create_storage(self, body):
        return self.send("POST", self._p("storages"), body)[1]

    # -------------------------------------------------------------- policies
    def policies(self):
        return self.pages(self._p("policies"), ("policies", "backupPolicies"), id_keys=("policyId", "id"))

    def policy(self, policy_id):
        return self.get(self._p("policies", policy_id), missing_ok=True)

    def create_policy(self, cloud_id, body):
        return self.send("POST", self._p("cloud", cloud_id, "policies"), body)[1]

    def update_policy(self, policy_id, changes):
        return self.send("PUT", self._p("policies", policy_id), changes)[1]

    # --------------------------------------------------------------- backups
    def backups(self, policy_id):
        return self.pages(self._p("policies", policy_id, "backups"), ("backups",), id_keys=BACKUP_IDS,
                          kind="backup")

    def backup(self, backup_id):
        return self.read_job(self.get(self._p("backups", backup_id), missing_ok=True), "backup",
                             "The answer to GET %s" % self._p("backups", "{backupId}"))

    def start_backup(self, policy_id, cloud_id):
        """POST a backup. Returns ``(status, document)``: 2xx, or the refusal (400/409/412/422) as sent."""
        return self.send("POST", self._p("backups"), {"policyId": policy_id, "cloudId": cloud_id},
                         refusals=(400, 409, 412, 422))

    # -------------------------------------------------------- exports, imports
    def start_export(self, product, cloud_id, backup_id):
        return self.send("POST", self._p("exports"), [{"product": api_product(product), "cloudId": cloud_id,
                                                       "backupId": backup_id}], refusals=(400, 409, 422))

    def exports(self, product=None):
        params = {"productType": api_product(product)} if product else None
        return self.pages(self._p("exports"), ("exports",), params, EXPORT_IDS, kind="export")

    def export(self, cloud_id, export_id):
        return self.read_job(self.get(self._p("cloud", cloud_id, "exports", export_id), missing_ok=True), "export",
                             "The answer to GET %s" % self._p("cloud", "{cloudId}", "exports", "{exportId}"))

    def start_import(self, product, cloud_id, backup_id):
        return self.send("POST", self._p("imports"), [{"product": api_product(product), "cloudId": cloud_id,
                                                       "backupId": backup_id}], refusals=(400, 409, 422))

    def imports(self):
        # Not in seed 001 (it lists no imports collection); the symmetric path of exports.
        return self.pages(self._p("imports"), ("imports",), id_keys=IMPORT_IDS, kind="import")

    def import_(self, cloud_id, import_id):
        return self.read_job(self.get(self._p("cloud", cloud_id, "imports", import_id), missing_ok=True), "import",
                             "The answer to GET %s" % self._p("cloud", "{cloudId}", "imports", "{importId}"))

    # -------------------------------------------------------------- restores
    def create_restore(self, dest_cloud_id, body):
        return self.send("POST", self._p("cloud", dest_cloud_id, "restores"), body, refusals=(400, 409, 412, 422))

    def revalidate(self, dest_cloud_id, restore_id, consent):
        return self.send("POST", self._p("cloud", dest_cloud_id, "restores", "revalidate"),
                         {"restoreId": restore_id, "consent": list(consent)}, refusals=(400, 409, 422))

    def restores(self, cloud_id=None, product=None):
        params = dict((k, v) for k, v in (("cloudId", cloud_id), ("product", api_product(product) or None)) if v)
        return self.pages(self._p("restores"), ("restores",), params, RESTORE_IDS, kind="restore")

    def restore(self, restore_id):
        return self.read_job(self.get(self._p("restores", restore_id), missing_ok=True), "restore",
                             "The answer to GET %s" % self._p("restores", "{restoreId}"))

    def post_op_report(self, cloud_id, migration_id):
        body = self.get(self._p("cloud", cloud_id, "migration", migration_id, "postOpReport"), missing_ok=True)
        if isinstance(body, dict):
            return field(body, "url", "reportUrl", "postOpReportUrl", "downloadUrl")
        return body if isinstance(body, str) else None


def refusal_text(document):
    """The service's words in an error document (``errors[].title``, ``message``...), or the document."""
    if isinstance(document, dict):
        errors = document.get("errors")
        if isinstance(errors, list) and errors:
            words = [str(field(e, "title", "detail", "message", "code") or e) if isinstance(e, dict) else str(e)
                     for e in errors]
            return "; ".join(words)
        text = field(document, "message", "errorMessage", "error", "title", "detail")
        if text:
            return str(text)
    return clip(json.dumps(document)) if document is not None else "(no text)"
