# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atlassian organization-level Backup & Restore API (Cloud, v2), as the sources describe it.

Sources: seed 001 (the EAP API guide: endpoints, bodies, consent names), seed 003 (the support page: statuses,
"You can run a new backup 7 days after your last complete backup", 14-day retention) and the project reference
(``shared/reference/atlassian-apis.md`` section 4: v2 base URL, the ``PublicApiBackupV2Response`` and
``PublicApiGetBackupPolicyV2Response`` samples, paging). [I] marks an inference: no source says it.

* Base ``/public/backup-management/v2/orgs/{orgId}/...`` (ref 4.1). Basic ``email:token`` (ref 4.1); a valid user
  outside ``org_admins`` gets 403 (seed 001: "make sure ... you are the admin of your organization"). Errors are
  ``{"errors":[{"status","code","title"}]}`` [I: shape and codes; the catalogue was not found, ref 4.4].
* Storages (seed 001): ``POST storages/regions`` answers a bare array of region names [I]; ``POST storages`` takes
  seed 001's body; a region outside that list is 400 and a name+prefix already present is 409 [I].
* Policies (seed 001; shape from ref 4.3): one per site and product (409 otherwise [I]); ``includePersonalSpaces``
  is for Confluence only (seed 001, 003); ``details.backupDetails.totalAvailableBackups`` counts the COMPLETE and
  INCOMPLETE backups of the last 14 days (seed 003, "Backup policy's details").
* Backups (seed 001, 003; shape from ref 4.3): ``POST backups`` or ``PUT policies/{id}/activate`` (the latter needs
  ``X-Atl-Account-Id``, ref 4.1). Refused while one runs for the policy (support text quoted in ref 4.4) and within
  ``org_backup_frequency_days`` of the last COMPLETE one; INCOMPLETE and FAILED ones do not count (seed 003: "If your
  backup fails or is incomplete, you can run it again"). Statuses (``org_status_style``): ``v2`` CREATED (ref 4.3
  sample; the first 10% of the run [I]) -> IN_PROGRESS -> COMPLETED/INCOMPLETE/FAILED -> EXPIRED (ref 4.3's
  inferred upper-snake enum), or ``seed`` "IN PROGRESS" -> "COMPLETE"/"INCOMPLETE"/"FAILED" -> "EXPIRED" (seed 003).
  COMPLETE and INCOMPLETE backups turn EXPIRED after ``org_backup_retention_days`` (seed 001, 003); a FAILED one was
  never available and stays FAILED [I].
* Exports and imports (seed 001): exports need a COMPLETE/INCOMPLETE backup whose policy has a storage; imports need
  a completed export ("Import is possible only when ... backed up data which was exported earlier"). The list of
  imports (``GET imports``) is not in seed 001: it is an inference by symmetry with ``GET exports``.
* Restores (seed 001): to another site of the organization; not from IN PROGRESS/FAILED/EXPIRED backups; attachments
  only if backed up; "You can restore a specific backup once in 7 days". Validation fails the checks in
  ``org_restore_failing_checks`` (names and words from seed 001) until ``restores/revalidate`` consents to them all.
  The validation's JSON shape and the ``migrationId`` are undocumented [I]. A revalidation judges only the consents it
  carries, not those of earlier calls [I].
* Paging (ref 4.1): ``start`` is a page index from 0 [I: read as a page, not an item offset], ``pageSize`` (default
  10 [I], capped at ``org_page_size_max`` [I]), ``sortOrder`` DESC (default) or ASC by creation time.
* Content (content.py): a Confluence backup records the spaces its site holds when it is taken, without the personal
  spaces unless its policy includes them (seed 001: ``includePersonalSpaces``). When a restore completes, the
  destination site gets the backup's spaces, except those whose key it already holds: "If there are duplicate spaces
  on destination and backup, those spaces will be skipped during restore" (seed 001; Atlassian's support page too).
  ``org_restore_fail_next: N``: the next N restores that start running end FAILED with ``statusMessage``
  ``org_restore_failed_message`` and bring nothing [I: the failure's words are not documented]. A completed or failed
  restore's post-operation report URL comes from ``cloud/{cloudId}/migration/{migrationId}/postOpReport`` (seed 001).
* Time is the emulator's clock (``POST /_emulator/advance`` moves it). Test-only, no auth: ``POST
  /_emulator/org/policy``, ``/_emulator/org/backup`` and ``/_emulator/org/restore`` place objects directly; those
  placed with ``polls: N`` run until N GETs (of the object, or of a page listing it) were answered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid

from aiohttp import web

from atlassian_emulator.content import normalise, store_of

PREFIX = "/public/backup-management/v2/orgs/{orgId}"
REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2"]  # [I] the names are AWS's; the list is not
PRODUCTS = ("JIRA", "CONFLUENCE")
JOB_LISTS = ("backups", "exports", "imports", "restores")   # the lists field_style: shuffled reshapes (issue 19)
ENCRYPTION = "CMK"                                 # ref 4.3 sample
DAY = 86400.0
RESTORE_ONCE_IN_DAYS = 7                           # seed 001: "You can restore a specific backup once in 7 days."
# Seed 001's consent names, with its words for what each validation checks.
CHECKS = {
    "Consent_Conflicting_Space_Check": "If some spaces or projects already exist on the destination. If there are "
                                       "duplicate spaces on destination and backup, those spaces will be skipped "
                                       "during restore. The version of the destination site will remain.",
    "Consent_Conflicting_Group_Check": "Groups with same name already exist. We\u2019ll merge user groups with same "
                                       "names. Users may get unwanted permissions, as they will be granted "
                                       "permissions of the groups they are added to.",
    "Consent_Product_License_Check": "If destination product is not on a free plan and is on the same plan as the "
                                     "backed up site. Upgrade the site to at least the same license level as the "
                                     "backed up site.",
    "Consent_TDP_Shard_Check": "Backups should be restored on the same shard",
    "Consent_Site_License_Check": "The site is not on a free trial. Backup and restore is currently available only "
                                  "to a standard, premium or enterprise license site. If the site is on a free trial, "
                                  "then upgrade the site to proceed with restoration",
    # [I] seed 001 names these two without words.
    "Accept_Custom_Group_Check": "The backup has custom groups: consent to restore them.",
    "Deny_Custom_Group_Check": "The backup has custom groups: consent to skip them.",
}
# Backup sizes in bytes once finished [I]: any plausible numbers.
SIZES = {"users": 2154 * 1024, "JIRA": 700 * 1024 * 1024, "CONFLUENCE": 500 * 1024 * 1024,
         "attachments": 3 * 1024 * 1024 * 1024}
WORDS = {
    "v2": {"created": "CREATED", "in_progress": "IN_PROGRESS", "complete": "COMPLETED", "incomplete": "INCOMPLETE",
           "failed": "FAILED", "expired": "EXPIRED", "validation_failed": "VALIDATION_FAILED"},
    "seed": {"created": "IN PROGRESS", "in_progress": "IN PROGRESS", "complete": "COMPLETE",
             "incomplete": "INCOMPLETE", "failed": "FAILED", "expired": "EXPIRED",
             "validation_failed": "VALIDATION_FAILED"},
}
# What tests and configs may call a status: any spelling of either style.
SPELLINGS = {"CREATED": "created", "IN_PROGRESS": "in_progress", "IN PROGRESS": "in_progress",
             "COMPLETE": "complete", "COMPLETED": "complete", "INCOMPLETE": "incomplete", "FAILED": "failed",
             "EXPIRED": "expired", "VALIDATION_FAILED": "validation_failed"}


def iso(t):
    """ISO 8601 UTC with milliseconds and Z, as the v2 API's timestamps [I: the samples say only "<string>"]."""
    if t is None:
        return None
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def account_id(email):
    """A stable Atlassian-style account id for a user of the emulator [I]."""
    return "712020:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "mailto:" + email))


class Refusal(Exception):
    """An error answer: ``{"errors":[{"status","code","title"}]}``."""

    def __init__(self, status, code, title):
        Exception.__init__(self, title)
        self.status, self.code, self.title = status, code, title


def _bool(body, key, default=None):
    value = body.get(key, default)
    if value is not None and not isinstance(value, bool):
        raise Refusal(400, "INVALID_REQUEST", "%s must be true or false." % key)
    return value


def _str(body, key, required=True):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Refusal(400, "INVALID_REQUEST", "%s is required." % key)
    return value


def _product(value, key="product"):
    if not isinstance(value, str) or value.upper() not in PRODUCTS:
        raise Refusal(400, "INVALID_PRODUCT", "%s must be JIRA or CONFLUENCE." % key)
    return value.upper()


class OrgBackupApi(object):
    name = "org_backup"

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.storages, self.policies, self.backups = {}, {}, {}
        self.exports, self.imports, self.restores = {}, {}, {}
        self.writes = 0
        self.requests = []
        self._seq = 0

    # ------------------------------------------------------------ helpers
    def _new(self, table, now, **fields):
        """A new object (internal form) with an id, its creation time and an order for equal times."""
        self._seq += 1
        obj = dict(fields, id=str(uuid.uuid4()), created=now, seq=self._seq)
        table[obj["id"]] = obj
        return obj

    def _site(self, cloud_id):
        for site in self.em.config["org_sites"]:
            if site["cloudId"] == cloud_id:
                return site
        return None

    def _word(self, status):
        return WORDS.get(self.em.config.get("org_status_style"), WORDS["v2"])[status]

    def _find(self, table, key, code, what, cloud_id=None):
        obj = table.get(key)
        if obj is None or (cloud_id is not None and obj["cloudId"] != cloud_id):
            raise Refusal(404, code, "The %s was not found." % what)
        return obj

    @staticmethod
    def _job(obj, start, duration, queued=0.0, polls=None):
        """Give ``obj`` a run: from ``start`` for ``duration`` seconds (the first ``queued`` of them not yet
        started), or, with ``polls``, until that many GETs answered it."""
        polls = None if polls is None else int(polls)
        obj.update(start=start, duration=float(duration), queued=float(queued), polls=polls, polled=0,
                   done_at=start if polls is not None and polls <= 0 else None)
        return obj

    @staticmethod
    def _progress(job, now):
        """("created"|"running"|"done", the time it finished)."""
        if job["polls"] is not None:
            return ("running", None) if job["polled"] < job["polls"] else ("done", job["done_at"])
        end = job["start"] + job["duration"]
        if now < job["start"] + job["queued"]:
            return "created", None
        return ("running", None) if now < end else ("done", end)

    @staticmethod
    def _tick(job, now):
        """A GET answered ``job``: one poll fewer to wait for."""
        if job.get("polls") is not None and job["polled"] < job["polls"]:
            job["polled"] += 1
            if job["polled"] >= job["polls"]:
                job["done_at"] = now

    def _page(self, request, plural, objects, view, now):
        """One page: ``start`` is a page index, ``pageSize`` capped, ``sortOrder`` by creation time."""
        query = request.query
        try:
            start, size = int(query.get("start", 0)), int(query.get("pageSize", 10))
        except ValueError:
            raise Refusal(400, "INVALID_PAGINATION", "start and pageSize must be integers.")
        order = query.get("sortOrder", "DESC").upper()
        if start < 0 or size < 1 or order not in ("ASC", "DESC"):
            raise Refusal(400, "INVALID_PAGINATION", "start must be 0 or more, pageSize 1 or more, sortOrder "
                                                     "ASC or DESC.")
        size = min(size, int(self.em.config["org_page_size_max"]))
        objects = sorted(objects, key=lambda o: (o["created"], o["seq"]), reverse=order == "DESC")
        # What start counts is not documented ("defines the start page of the response"): a page index from 0
        # (the default here), a page index from 1 (0 read as 1), or an item offset (issue 19).
        counting = self.em.config.get("org_page_start") or "index0"
        if counting == "index1":
            first = (max(start, 1) - 1) * size
        elif counting == "items":
            first = start
        else:
            first = start * size
        page = objects[first:first + size]
        shuffle = self.em.shuffle("org")
        if shuffle is not None and plural in JOB_LISTS:
            kind = plural[:-1]
            return self.em.json_response(shuffle.listing([view(o, now, count=True) for o in page], kind, plural,
                                                         len(objects), id_key=kind + "Id", status_key="status"))
        return self.em.json_response({plural: [view(o, now, count=True) for o in page],
                                      "totalItems": len(objects)})

    def job_answer(self, kind, view):
        """A GET of one backup, export, import or restore: its view, reshaped under ``field_style: shuffled``."""
        shuffle = self.em.shuffle("org")
        if shuffle is None:
            return self.em.json_response(view)
        return self.em.json_response(shuffle.answer(view, kind, "get", id_key=kind + "Id", status_key="status"))

    async def _body(self, request, kind=dict):
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            raise Refusal(400, "INVALID_REQUEST", "The request body is not valid JSON.")
        if not isinstance(body, kind):
            raise Refusal(400, "INVALID_REQUEST", "The request body must be a JSON %s." % (
                "object" if kind is dict else "array"))
        return body

    def _error(self, status, code, title):
        return self.em.json_response({"errors": [{"status": status, "code": code, "title": title}]}, status=status)

    # ------------------------------------------------------------ storages
    def storage_view(self, s, now, count=False):
        return {"storageId": s["id"], "storageName": s["storageName"], "storageRegion": s["storageRegion"],
                "storagePrefix": s["storagePrefix"], "storageType": s["storageType"],
                "roleIdentifier": s["roleIdentifier"], "principalTag": s["principalTag"], "cloudId": s["cloudId"],
                "createdAt": iso(s["created"])}

    # ------------------------------------------------------------ policies
    def new_policy(self, site, product, attachments, personal, storage_id, created_by, now):
        return self._new(self.policies, now, cloudId=site["cloudId"], product=product,
                         includeAttachments=bool(attachments),
                         includePersonalSpaces=None if product == "JIRA" else bool(personal),
                         storageId=storage_id, createdBy=created_by)

    def policy_view(self, p, now, count=False):
        site = self._site(p["cloudId"]) or {"cloudId": p["cloudId"], "cloudUrl": None, "cloudName": None}
        mine = [b for b in self.backups.values() if b["policyId"] == p["id"]]
        window = now - float(self.em.config["org_backup_retention_days"]) * DAY
        available = [b for b in mine if b["created"] >= window
                     and self._backup_status(b, now) in ("complete", "incomplete")]
        last = max([b["created"] for b in mine] or [None], key=lambda t: t or 0)
        return {"policyId": p["id"], "policyName": "%s %s backup policy" % (site["cloudName"], p["product"]),
                "cloudInfo": {"cloudId": site["cloudId"], "cloudUrl": site["cloudUrl"],
                              "cloudName": site["cloudName"], "encryptionType": ENCRYPTION},
                "productType": p["product"], "status": "ACTIVE", "includeAttachments": p["includeAttachments"],
                "includePersonalSpaces": p["includePersonalSpaces"], "includeUsersAndGroups": True,
                "details": {"storageId": p["storageId"],
                            "backupDetails": {"lastBackupTime": iso(last), "totalAvailableBackups": len(available)},
                            "scheduleDetails": {"interval": "ONCE", "startDate": iso(p["created"]),
                                                "scheduleSlot": None}},
                "createdAt": iso(p["created"]), "createdBy": p["createdBy"]}

    def _storage_ref(self, storage_id):
        if storage_id is not None and storage_id not in self.storages:
            raise Refusal(400, "STORAGE_NOT_FOUND", "The storage %s does not exist in this organization." % storage_id)
        return storage_id

    # ------------------------------------------------------------- backups
    def new_backup(self, policy, account, now, outcome=None, duration=None, queued=None, polls=None):
        cfg = self.em.config
        outcome = SPELLINGS.get(str(outcome or cfg["org_backup_outcome"]).upper(), "complete")
        duration = float(cfg["org_backup_seconds"] if duration is None else duration)
        site = self._site(policy["cloudId"]) or {"cloudName": policy["cloudId"]}
        selections = ["USERS"] + (["ATTACHMENTS"] if policy["includeAttachments"] else []) + \
            (["PERSONAL_SPACES"] if policy["includePersonalSpaces"] else [])
        message = {"incomplete": cfg["org_incomplete_message"], "failed": cfg["org_failed_message"]}.get(outcome)
        backup = self._new(self.backups, now, policyId=policy["id"], cloudId=policy["cloudId"],
                           product=policy["product"], accountId=account, outcome=outcome, statusMessage=message,
                           selections=selections, storageId=policy["storageId"],
                           name="%s-%s-%s" % (site["cloudName"], policy["product"].lower(),
                                              time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))),
                           expires=now + float(cfg["org_backup_retention_days"]) * DAY,
                           content=self.backed_up(policy))
        return self._job(backup, now, duration, 0.1 * duration if queued is None else queued, polls)

    def backed_up(self, policy):
        """The spaces a Confluence backup of ``policy`` holds: its site's now, personal ones only if the policy
        includes them; None for Jira."""
        if policy["product"] != "CONFLUENCE":
            return None
        spaces = store_of(self.em).spaces(("cloud", policy["cloudId"]))
        return [dict((k, v) for k, v in s.items() if k != "id") for s in spaces
                if policy["includePersonalSpaces"] or s["type"] != "personal"]

    def _backup_status(self, b, now):
        step, _done = self._progress(b, now)
        if step != "done":
            return "created" if step == "created" else "in_progress"
        if b["outcome"] in ("complete", "incomplete") and now >= b["expires"]:
            return "expired"
        return b["outcome"]

    def backup_view(self, b, now, count=False):
        status = self._backup_status(b, now)
        finished = status in ("complete", "incomplete", "expired")
        attachments = SIZES["attachments"] if finished and "ATTACHMENTS" in b["selections"] else 0
        users, data = (SIZES["users"], SIZES[b["product"]]) if finished else (0, 0)
        updated = {"created": b["created"], "in_progress": b["start"] + b["queued"],
                   "expired": b["expires"]}.get(status) or self._progress(b, now)[1]
        view = {"backupId": b["id"], "name": b["name"], "cloudId": b["cloudId"], "product": b["product"],
                "status": self._word(status),
                "statusMessage": b["statusMessage"] if status in ("incomplete", "failed") else None,
                "accountId": b["accountId"], "expiryTime": iso(b["expires"]), "selections": list(b["selections"]),
                "backupSize": {"usersSize": users, "dataSize": data, "attachmentsSize": attachments,
                               "totalBackupSizeInGB": round((users + data + attachments) / 1024.0 ** 3, 2)},
                "createdAt": iso(b["created"]), "lastUpdatedAt": iso(updated), "storageId": b["storageId"],
                "encryptionType": ENCRYPTION, "policyId": b["policyId"]}
        if count:
            self._tick(b, now)
        return view

    def start_backup(self, policy, account, now):
        """A new backup of ``policy``, unless one runs or the last COMPLETE one is too recent (409)."""
        mine = [b for b in self.backups.values() if b["policyId"] == policy["id"]]
        if any(self._backup_status(b, now) in ("created", "in_progress") for b in mine):
            raise Refusal(409, "BACKUP_IN_PROGRESS",
                          "You can't run a backup while there's a backup in progress for the product.")
        days = float(self.em.config["org_backup_frequency_days"])
        if any(b["outcome"] == "complete" and self._backup_status(b, now) in ("complete", "expired")
               and now - b["created"] < days * DAY for b in mine):
            raise Refusal(409, "BACKUP_FREQUENCY_LIMIT",
                          "You can run a new backup %g days after your last complete backup." % days)
        return self.new_backup(policy, account, now)

    # ----------------------------------------------------- exports, imports
    def _transfer_view(self, kind):
        def view(t, now, count=False):
            step, done = self._progress(t, now)
            out = {kind + "Id": t["id"], "backupId": t["backupId"], "cloudId": t["cloudId"],
                   "product": t["product"], "status": self._word("complete" if step == "done" else "in_progress"),
                   "createdAt": iso(t["created"]), "lastUpdatedAt": iso(done or t["created"])}
            if count:
                self._tick(t, now)
            return out
        return view

    async def _transfers(self, request, now, kind):
        """POST exports / imports: a JSON array of {product, cloudId, backupId}, all checked before any starts."""
        items = await self._body(request, list)
        if not items:
            raise Refusal(400, "INVALID_REQUEST", "Give at least one backup.")
        backups = []
        for item in items:
            if not isinstance(item, dict):
                raise Refusal(400, "INVALID_REQUEST", "Each item must be a JSON object.")
            b = self._find(self.backups, _str(item, "backupId"), "BACKUP_NOT_FOUND", "backup")
            if _product(item.get("product")) != b["product"] or item.get("cloudId") != b["cloudId"]:
                raise Refusal(400, "INVALID_REQUEST", "The product and cloudId must be those of backup %s." % b["id"])
            if kind == "export":
                if self._backup_status(b, now) not in ("complete", "incomplete"):
                    raise Refusal(400, "INVALID_BACKUP_STATUS", "Only COMPLETE or INCOMPLETE backups can be exported.")
                if self.policies[b["policyId"]]["storageId"] is None:
                    raise Refusal(400, "STORAGE_NOT_CONNECTED",
                                  "Connect an external storage to the backup policy before exporting.")
            elif not any(e["backupId"] == b["id"] and self._progress(e, now)[0] == "done"
                         for e in self.exports.values()):
                raise Refusal(400, "BACKUP_NOT_EXPORTED",
                              "Import is possible only for backups exported to your external storage.")
            backups.append(b)
        seconds = float(self.em.config["org_%s_seconds" % kind])
        view = self._transfer_view(kind)
        made = [self._job(self._new(getattr(self, kind + "s"), now, backupId=b["id"], cloudId=b["cloudId"], product=b["product"],
                                    storageId=self.policies[b["policyId"]]["storageId"]), now, seconds)
                for b in backups]
        for t in made:
            t["hidden"] = bool(self.em.config.get("org_list_hides_new"))
        return self.start_answer([view(t, now) for t in made], kind + "s", 202,
                                 {"cloudId": backups[0]["cloudId"], "backupId": backups[0]["id"]})

    # ------------------------------------------------------------- restores
    def _restore_status(self, r, now):
        if r["state"] != "running":
            return r["state"]               # validation_failed or failed
        step, _done = self._progress(r, now)
        if step != "done":
            return "in_progress"
        return "failed" if r.get("outcome") == "failed" else "complete"

    def _run_restore(self, r, now, duration=None, polls=None, api=False):
        """Start ``r``; an API-started one ends FAILED while ``org_restore_fail_next`` counts down from N."""
        r.update(state="running", migrationId=r.get("migrationId") or str(uuid.uuid4()), outcome="complete")
        armed = int(self.em.config.get("org_restore_fail_next") or 0)
        if api and armed > 0:
            self.em.config["org_restore_fail_next"] = armed - 1
            r["outcome"] = "failed"
        return self._job(r, now, self.em.config["org_restore_seconds"] if duration is None else duration,
                         polls=polls)

    def settle(self, now):
        """Every Confluence restore that completed by ``now`` gives its destination the backup's spaces once, but
        those whose key the destination already holds."""
        store = store_of(self.em)
        for r in sorted(self.restores.values(), key=lambda r: r["seq"]):
            if r.get("applied") is not None or r["product"] != "CONFLUENCE" or \
                    self._restore_status(r, now) != "complete":
                continue
            content = (self.backups.get(r["backupId"]) or {}).get("content") or []
            added, skipped = store.add(("cloud", r["cloudId"]), content)
            r["applied"] = {"spacesRestored": added, "spacesSkipped": skipped}

    def restore_view(self, r, now, count=False):
        status = self._restore_status(r, now)
        remaining = [c for c in r["failing"] if c not in r["consented"]]
        updated = r["updated"] if r["state"] != "running" else (self._progress(r, now)[1] or r["start"])
        view = {"restoreId": r["id"], "backupId": r["backupId"], "cloudId": r["cloudId"],
                "sourceCloudId": r["sourceCloudId"], "product": r["product"], "status": self._word(status),
                "includeAttachments": r["includeAttachments"], "includeUsersAndGroups": r["includeUsersAndGroups"],
                "migrationId": r.get("migrationId"),
                "validation": {"result": "FAILED" if status == "validation_failed" else "PASSED",
                               "checks": [{"name": c, "status": "FAILED", "message": CHECKS.get(c, c)}
                                          for c in remaining] if status == "validation_failed" else [],
                               "consented": list(r["consented"])},
                "createdAt": iso(r["created"]), "lastUpdatedAt": iso(updated)}
        if status == "failed":
            view["statusMessage"] = r.get("statusMessage") or self.em.config.get("org_restore_failed_message")
        if count and r["state"] == "running":
            self._tick(r, now)
        return view

    def _restore_done_at(self, r, now):
        if self._restore_status(r, now) != "complete":
            return None
        return self._progress(r, now)[1]

    def new_restore(self, backup, dest, body, now):
        """POST cloud/{destCloudId}/restores, after its refusals: validation first, then the run."""
        status = self._backup_status(backup, now)
        if status not in ("complete", "incomplete"):
            raise Refusal(400, "INVALID_BACKUP_STATUS",
                          "Backups that are IN PROGRESS, EXPIRED, or FAILED can't be restored.")
        if dest["cloudId"] == backup["cloudId"]:
            raise Refusal(400, "INVALID_DESTINATION", "Restore the backup to another site within the same "
                                                      "organization.")
        if backup["product"] not in dest.get("products", PRODUCTS):
            raise Refusal(400, "PRODUCT_NOT_ON_SITE", "The destination site has no %s." % backup["product"])
        attachments = _bool(body, "includeAttachments", False)
        users = _bool(body, "includeUsersAndGroups", True)
        if attachments and "ATTACHMENTS" not in backup["selections"]:
            raise Refusal(400, "ATTACHMENTS_NOT_BACKED_UP", "includeAttachments can be true only if attachments "
                                                            "were also backed up.")
        recent = [self._restore_done_at(r, now) for r in self.restores.values() if r["backupId"] == backup["id"]]
        if any(t is not None and now - t < RESTORE_ONCE_IN_DAYS * DAY for t in recent):
            raise Refusal(409, "RESTORE_FREQUENCY_LIMIT", "You can restore a specific backup once in 7 days.")
        failing = list(self.em.config.get("org_restore_failing_checks") or [])
        r = self._new(self.restores, now, backupId=backup["id"], cloudId=dest["cloudId"],
                      sourceCloudId=backup["cloudId"], product=backup["product"], includeAttachments=attachments,
                      includeUsersAndGroups=users, failing=failing, consented=[], state="validation_failed",
                      updated=now, migrationId=None)
        if not failing:
            self._run_restore(r, now, api=True)
        return r

    # ---------------------------------------------------------- test control
    def prepare_state(self):
        pass

    def state(self):
        now = self.em.now()
        tables = (("storages", self.storages, self.storage_view), ("policies", self.policies, self.policy_view),
                  ("backups", self.backups, self.backup_view),
                  ("exports", self.exports, self._transfer_view("export")),
                  ("imports", self.imports, self._transfer_view("import")),
                  ("restores", self.restores, self.restore_view))
        self.settle(now)
        data = dict((name, [view(o, now) for o in table.values()]) for name, table, view in tables)
        data.update(writes=self.writes, requests=list(self.requests),
                    backup_content=dict((b["id"], b.get("content")) for b in self.backups.values()),
                    restore_content=dict((r["id"], r.get("applied")) for r in self.restores.values()))
        return {"org": data}

    # ---------------------------------------------------------------- routes
    def _api(self, handler):
        """Every org endpoint: recorded, then Basic auth (401), the orgId (404), org admin (403)."""
        em = self.em

        async def endpoint(request):
            self.requests.append({"method": request.method, "path": request.path, "query": request.query_string,
                                  "account_id_header": request.headers.get("X-Atl-Account-Id")})
            if request.method not in ("GET", "HEAD"):
                self.writes += 1
            user = em.check_basic_auth(request)
            if user is None:
                return em.unauthorized()
            if request.match_info.get("orgId") != em.config["org_id"]:
                return self._error(404, "ORG_NOT_FOUND", "The organization was not found.")
            admins = em.config.get("org_admins")
            if admins is not None and user not in admins:
                return em.json_response({"code": 403, "message": "The user is not an organization admin."},
                                        status=403)
            try:
                return await handler(request, user, em.now())
            except Refusal as refusal:
                return self._error(refusal.status, refusal.code, refusal.title)
            finally:
                self.settle(em.now())
        return endpoint

    async def h_regions(self, request, user, now):
        return self.em.json_response(REGIONS)

    async def h_create_storage(self, request, user, now):
        body = await self._body(request)
        name, region, role = _str(body, "storageName"), _str(body, "storageRegion"), _str(body, "roleIdentifier")
        if region not in REGIONS:
            raise Refusal(400, "INVALID_REGION", "Storage can't be created in %s for this organization." % region)
        if str(body.get("storageType", "")).lower() != "aws":
            raise Refusal(400, "INVALID_STORAGE_TYPE", "storageType must be aws.")
        cloud_id = _str(body, "cloudId", required=False)
        if cloud_id is not None and self._site(cloud_id) is None:
            raise Refusal(400, "INVALID_CLOUD_ID", "The site %s is not in this organization." % cloud_id)
        prefix = body.get("storagePrefix") or ""
        if any(s["storageName"] == name and s["storagePrefix"] == prefix for s in self.storages.values()):
            raise Refusal(409, "STORAGE_ALREADY_EXISTS", "A storage with this name and prefix already exists.")
        s = self._new(self.storages, now, storageName=name, storageRegion=region, storagePrefix=prefix,
                      storageType="aws", roleIdentifier=role, principalTag=body.get("principalTag"), cloudId=cloud_id)
        return self.em.json_response(self.storage_view(s, now), status=201)

    async def h_list_storages(self, request, user, now):
        cloud_id, product = request.query.get("cloudId"), request.query.get("product")
        product = _product(product) if product else None

        def wanted(s):
            # [I] a storage serves the products of its site (an org-wide storage serves all).
            site = self._site(s["cloudId"]) if s["cloudId"] else {"products": PRODUCTS}
            return (not cloud_id or s["cloudId"] == cloud_id) and \
                (not product or product in (site or {}).get("products", ()))
        return self._page(request, "storages", [s for s in self.storages.values() if wanted(s)],
                          self.storage_view, now)

    async def h_get_storage(self, request, user, now):
        s = self._find(self.storages, request.match_info["storageId"], "STORAGE_NOT_FOUND", "storage")
        return self.em.json_response(self.storage_view(s, now))

    async def h_create_policy(self, request, user, now):
        site = self._site(request.match_info["cloudId"])
        if site is None:
            raise Refusal(404, "CLOUD_NOT_FOUND", "The site was not found in this organization.")
        body = await self._body(request)
        product = _product(body.get("product"))
        if product not in site.get("products", PRODUCTS):
            raise Refusal(400, "PRODUCT_NOT_ON_SITE", "The site %s has no %s." % (site["cloudName"], product))
        attachments = _bool(body, "includeAttachments", False)
        personal = _bool(body, "includePersonalSpaces")
        if product == "JIRA" and personal is not None:
            raise Refusal(400, "INVALID_REQUEST", "includePersonalSpaces is for Confluence only: Jira has no "
                                                  "personal spaces.")
        storage_id = self._storage_ref(body.get("storageId"))
        if any(p["cloudId"] == site["cloudId"] and p["product"] == product for p in self.policies.values()):
            raise Refusal(409, "POLICY_ALREADY_EXISTS", "A backup policy for %s already exists on this site." %
                          product)
        p = self.new_policy(site, product, attachments, personal, storage_id, account_id(user), now)
        return self.em.json_response(self.policy_view(p, now), status=201)

    async def h_list_policies(self, request, user, now):
        return self._page(request, "policies", list(self.policies.values()), self.policy_view, now)

    async def h_get_policy(self, request, user, now):
        p = self._find(self.policies, request.match_info["policyId"], "POLICY_NOT_FOUND", "backup policy")
        return self.em.json_response(self.policy_view(p, now))

    async def h_update_policy(self, request, user, now):
        p = self._find(self.policies, request.match_info["policyId"], "POLICY_NOT_FOUND", "backup policy")
        body = await self._body(request)
        changes = {}
        if "storageId" in body:
            changes["storageId"] = self._storage_ref(body["storageId"])
        if body.get("includeAttachments") is not None:
            changes["includeAttachments"] = _bool(body, "includeAttachments")
        if body.get("includePersonalSpaces") is not None:
            if p["product"] == "JIRA":
                raise Refusal(400, "INVALID_REQUEST", "includePersonalSpaces is for Confluence only: Jira has no "
                                                      "personal spaces.")
            changes["includePersonalSpaces"] = _bool(body, "includePersonalSpaces")
        p.update(changes)
        return self.em.json_response(self.policy_view(p, now))

    async def h_activate(self, request, user, now):
        p = self._find(self.policies, request.match_info["policyId"], "POLICY_NOT_FOUND", "backup policy")
        account = request.headers.get("X-Atl-Account-Id")
        if not account:
            raise Refusal(400, "MISSING_HEADER", "The X-Atl-Account-Id header is required.")
        b = self.start_backup(p, account, now)
        return self.em.json_response({"backups": [self.backup_view(b, now)], "totalItems": 1})

    def start_answer(self, objects, plural, status, request_ids):
        """The answer to a start (backup, exports, imports, restore) in the shape ``org_start_answer`` asks for.

        The service documents none of them (seed 001 gives only the request bodies); ``documented`` is the shape
        this emulator has always served. The others are plausible shapes the collection must read by shape or by
        listing (issue 19): ``empty`` (no body), ``nested`` (the id one level down under another name),
        ``list`` (the object in a bare list), ``plural`` (under the plural key with ``totalItems``, as the v2
        backup response sample of reference 4.3), ``opaque`` (words only) and ``echo`` (the request's own ids and
        words: the cloud id and policy id are not the job's).
        """
        style = self.em.config.get("org_start_answer") or "documented"
        one = objects[0] if len(objects) == 1 else None
        shuffle = self.em.shuffle("org")
        if style == "documented" and shuffle is not None and one is not None:
            kind = plural[:-1]
            return self.em.json_response(shuffle.answer(one, kind, "start", plural, id_key=kind + "Id",
                                                        status_key="status"), status=status)
        if style == "empty":
            return web.Response(status=status)
        if style == "opaque":
            return self.em.json_response({"accepted": True, "message": "Request accepted."}, status=status)
        if style == "echo":
            return self.em.json_response(dict(request_ids, message="Request accepted."), status=status)
        if style == "list":
            return self.em.json_response(objects, status=status)
        if style == "plural":
            return self.em.json_response({plural: objects, "totalItems": len(objects)}, status=status)
        if style == "nested" and one is not None:
            singular = plural[:-1]
            ident = next(value for key, value in one.items() if key in (singular + "Id", "id"))
            return self.em.json_response({"result": {"data": {singular + "_ref": {"%s_ID" % singular: ident},
                                                              "State": one.get("status")}},
                                          "cloudId": request_ids.get("cloudId")}, status=status)
        if one is not None and plural != "exports" and plural != "imports":
            return self.em.json_response(one, status=status)
        return self.em.json_response({plural: objects}, status=status)

    def listed(self, objects):
        """What a list shows: with ``org_list_hides_new``, not the jobs started through the API since the setting."""
        if not self.em.config.get("org_list_hides_new"):
            return objects
        return [o for o in objects if not o.get("hidden")]

    async def h_create_backup(self, request, user, now):
        body = await self._body(request)
        p = self._find(self.policies, _str(body, "policyId"), "POLICY_NOT_FOUND", "backup policy")
        if _str(body, "cloudId") != p["cloudId"]:
            raise Refusal(400, "INVALID_REQUEST", "The cloudId is not the site of this backup policy.")
        b = self.start_backup(p, account_id(user), now)
        b["hidden"] = bool(self.em.config.get("org_list_hides_new"))
        return self.start_answer([self.backup_view(b, now)], "backups", 202,
                                 {"policyId": p["id"], "cloudId": p["cloudId"]})

    async def h_policy_backups(self, request, user, now):
        p = self._find(self.policies, request.match_info["policyId"], "POLICY_NOT_FOUND", "backup policy")
        return self._page(request, "backups", self.listed([b for b in self.backups.values()
                                                           if b["policyId"] == p["id"]]), self.backup_view, now)

    async def h_get_backup(self, request, user, now):
        b = self._find(self.backups, request.match_info["backupId"], "BACKUP_NOT_FOUND", "backup")
        return self.job_answer("backup", self.backup_view(b, now, count=True))

    async def h_create_exports(self, request, user, now):
        return await self._transfers(request, now, "export")

    async def h_create_imports(self, request, user, now):
        return await self._transfers(request, now, "import")

    def _transfer_list(self, kind):
        async def handler(request, user, now):
            table = getattr(self, kind + "s")   # looked up per request: reset() replaces the tables
            product = request.query.get("productType")
            product = _product(product, "productType") if product else None
            return self._page(request, kind + "s", self.listed([t for t in table.values() if not product or
                                                                t["product"] == product]), self._transfer_view(kind), now)
        return handler

    def _transfer_get(self, kind):
        async def handler(request, user, now):
            t = self._find(getattr(self, kind + "s"), request.match_info[kind + "Id"], kind.upper() + "_NOT_FOUND", kind,
                           cloud_id=request.match_info["cloudId"])
            return self.job_answer(kind, self._transfer_view(kind)(t, now, count=True))
        return handler

    async def h_create_restore(self, request, user, now):
        dest = self._site(request.match_info["cloudId"])
        if dest is None:
            raise Refusal(404, "CLOUD_NOT_FOUND", "The site was not found in this organization.")
        body = await self._body(request)
        backup = self._find(self.backups, _str(body, "backupId"), "BACKUP_NOT_FOUND", "backup")
        if body.get("product") is not None and _product(body["product"]) != backup["product"]:
            raise Refusal(400, "INVALID_REQUEST", "The product is not that of the backup.")
        r = self.new_restore(backup, dest, body, now)
        r["hidden"] = bool(self.em.config.get("org_list_hides_new"))
        return self.start_answer([self.restore_view(r, now)], "restores", 201,
                                 {"cloudId": dest["cloudId"], "backupId": backup["id"]})

    async def h_revalidate(self, request, user, now):
        body = await self._body(request)
        r = self._find(self.restores, _str(body, "restoreId"), "RESTORE_NOT_FOUND", "restore",
                       cloud_id=request.match_info["cloudId"])
        consent = body.get("consent", [])
        if not isinstance(consent, list) or not all(isinstance(c, str) for c in consent):
            raise Refusal(400, "INVALID_REQUEST", "consent must be a list of check names.")
        unknown = [c for c in consent if c not in CHECKS]
        if unknown:
            raise Refusal(400, "INVALID_CONSENT", "Unknown consent: %s." % ", ".join(unknown))
        if r["state"] != "validation_failed":
            raise Refusal(409, "RESTORE_NOT_AWAITING_CONSENT", "This restore is not waiting for consent.")
        r.update(consented=list(consent), updated=now)
        if all(c in consent for c in r["failing"]):
            self._run_restore(r, now, api=True)
        return self.em.json_response(self.restore_view(r, now))

    async def h_list_restores(self, request, user, now):
        cloud_id, product = request.query.get("cloudId"), request.query.get("product")
        product = _product(product) if product else None
        return self._page(request, "restores", self.listed([r for r in self.restores.values()
                                                            if (not cloud_id or r["cloudId"] == cloud_id)
                                                            and (not product or r["product"] == product)]),
                          self.restore_view, now)

    async def h_get_restore(self, request, user, now):
        r = self._find(self.restores, request.match_info["restoreId"], "RESTORE_NOT_FOUND", "restore")
        return self.job_answer("restore", self.restore_view(r, now, count=True))

    async def h_post_op_report(self, request, user, now):
        cloud_id, migration = request.match_info["cloudId"], request.match_info["migrationId"]
        for r in self.restores.values():
            if r.get("migrationId") == migration and r["cloudId"] == cloud_id and \
                    self._restore_status(r, now) in ("complete", "failed"):
                host = self._site(cloud_id)["cloudUrl"].split("://", 1)[-1].split("/", 1)[0]
                return self.em.json_response({"url": "https://%s/admin/migration/%s/post-op-report.csv" % (
                    host, migration)})
        raise Refusal(404, "REPORT_NOT_FOUND", "There is no post-operation report for this migration yet.")

    def routes(self):
        routes = web.RouteTableDef()
        table = [
            ("POST", "/storages/regions", self.h_regions),
            ("POST", "/storages", self.h_create_storage),
            ("GET", "/storages", self.h_list_storages),
            ("GET", "/storages/{storageId}", self.h_get_storage),
            ("POST", "/cloud/{cloudId}/policies", self.h_create_policy),
            ("GET", "/policies", self.h_list_policies),
            ("GET", "/policies/{policyId}", self.h_get_policy),
            ("PUT", "/policies/{policyId}", self.h_update_policy),
            ("PUT", "/policies/{policyId}/activate", self.h_activate),
            ("GET", "/policies/{policyId}/backups", self.h_policy_backups),
            ("POST", "/backups", self.h_create_backup),
            ("GET", "/backups/{backupId}", self.h_get_backup),
            ("POST", "/exports", self.h_create_exports),
            ("GET", "/exports", self._transfer_list("export")),
            ("GET", "/cloud/{cloudId}/exports/{exportId}", self._transfer_get("export")),
            ("POST", "/imports", self.h_create_imports),
            ("GET", "/imports", self._transfer_list("import")),   # [I] by symmetry with exports
            ("GET", "/cloud/{cloudId}/imports/{importId}", self._transfer_get("import")),
            ("POST", "/cloud/{cloudId}/restores", self.h_create_restore),
            ("POST", "/cloud/{cloudId}/restores/revalidate", self.h_revalidate),
            ("GET", "/restores", self.h_list_restores),
            ("GET", "/restores/{restoreId}", self.h_get_restore),
            ("GET", "/cloud/{cloudId}/migration/{migrationId}/postOpReport", self.h_post_op_report),
        ]
        for method, path, handler in table:
            routes.route(method, PREFIX + path)(self._api(handler))

        async def unknown(request, user, now):
            raise Refusal(404, "NOT_FOUND", "No such endpoint.")
        routes.route("*", PREFIX + "/{tail:.*}")(self._api(unknown))
        self._control_routes(routes)
        return routes

    def _control_routes(self, routes):
        """Test-only: place policies, backups and restores directly (no auth, not counted)."""
        em = self.em

        def refuse(text):
            return web.json_response({"ok": False, "error": text}, status=400)

        @routes.post("/_emulator/org/policy")
        async def place_policy(request):
            body = await request.json()
            now = em.now()
            site = self._site(body.get("cloudId") or em.config["org_sites"][0]["cloudId"])
            if site is None:
                return refuse("unknown cloudId")
            product = str(body.get("product") or "JIRA").upper()
            p = self.new_policy(site, product, body.get("includeAttachments", True),
                                body.get("includePersonalSpaces", False), body.get("storageId"),
                                account_id(next(iter(em.config["users"]), "admin@example.com")), now)
            return em.json_response(self.policy_view(p, now))

        @routes.post("/_emulator/org/backup")
        async def place_backup(request):
            """{policyId, status, age_seconds, polls, outcome, content}: a backup created age_seconds ago, in that
            status; ``content``: the spaces it holds (default: its site's now)."""
            body = await request.json()
            now = em.now()
            p = self.policies.get(body.get("policyId"))
            status = SPELLINGS.get(str(body.get("status", "COMPLETE")).upper())
            if p is None or status not in ("complete", "incomplete", "failed", "in_progress", "expired"):
                return refuse("unknown policyId or status")
            age = float(body.get("age_seconds", 0))
            retention = float(em.config["org_backup_retention_days"]) * DAY
            if status == "expired":
                age = max(age, retention + 3600)
            run = float(em.config["org_backup_seconds"])
            account = account_id(next(iter(em.config["users"]), "admin@example.com"))
            b = self.new_backup(p, account, now - age, queued=0.0, polls=body.get("polls"),
                                outcome=body.get("outcome") if status == "in_progress" else
                                ("complete" if status == "expired" else status),
                                duration=age + run if status == "in_progress" else min(run, age))
            if body.get("content") is not None:
                try:
                    b["content"] = [dict((k, v) for k, v in sp.items() if k != "id")
                                    for sp in normalise(body["content"])]
                except ValueError as exc:
                    return refuse(str(exc))
            return em.json_response(self.backup_view(b, now))

        @routes.post("/_emulator/org/restore")
        async def place_restore(request):
            """{backupId, cloudId (destination), status, polls, age_seconds}: a restore past its validation."""
            body = await request.json()
            now = em.now()
            b = self.backups.get(body.get("backupId"))
            status = SPELLINGS.get(str(body.get("status", "IN_PROGRESS")).upper())
            if b is None or status not in ("in_progress", "complete", "failed"):
                return refuse("unknown backupId or status")
            others = [s["cloudId"] for s in em.config["org_sites"] if s["cloudId"] != b["cloudId"]]
            dest = body.get("cloudId") or (others[0] if others else b["cloudId"])
            age = float(body.get("age_seconds", 0))
            r = self._new(self.restores, now - age, backupId=b["id"], cloudId=dest, sourceCloudId=b["cloudId"],
                          product=b["product"], includeAttachments="ATTACHMENTS" in b["selections"],
                          includeUsersAndGroups=True, failing=[], consented=[], state="running",
                          updated=now - age, migrationId=None)
            run = float(em.config["org_restore_seconds"])
            self._run_restore(r, now - age, polls=body.get("polls"),
                              duration=age + run if status == "in_progress" else min(run, age))
            if status == "failed":
                r.update(state="failed", updated=now)
            return em.json_response(self.restore_view(r, now))
