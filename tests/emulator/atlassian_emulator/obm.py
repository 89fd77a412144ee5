# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Cloud backup manager ("OBM"), as seed 000 and the reference describe it.

* ``POST /wiki/rest/obm/1.0/runbackup``: a start is answered in one of the
  three ways seen in the wild (``trigger_reply``): 406 or 200 with seed 000's
  ``Backup is already in progress. CloudHistory{... status='QUEUED' ...}``
  text, or 200 with an empty body. 406 with the frequency-limit text in the
  forms seen in the wild; 406 "already in progress" (status IN_PROGRESS) while
  a backup really runs.
* ``GET /wiki/rest/obm/1.0/getprogress`` (and ``.json``): the fields of seed
  000, in compact JSON: right after a trigger, optionally the previous COMPLETE
  backup for a few polls, then the bare ``size 0 / time 0`` body, then
  ``PROCESSING`` with ``alternativePercentage``, then ``COMPLETE`` with
  ``fileName``, or ``FAILED`` with ``failedMessage``. Without an
  ``Accept: application/json`` header, ``getprogress`` answers the legacy XML
  ``<backupresult .../>`` form.
* ``GET /wiki/download/<fileName>``: 302 to the media host with a signed,
  expiring ``token=``; the site keeps one backup, for ``retention_seconds``.
* ``GET /wiki/rest/api/user/current``: the account, as clients use it to test
  their credentials.

The evidence behind each behaviour is in ``docs/emulator_evidence.md``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid
from xml.sax.saxutils import quoteattr

from aiohttp import web

from atlassian_emulator.zipstream import BackupZip

RUNBACKUP = "/wiki/rest/obm/1.0/runbackup"


def _fmt_wait(seconds, style):
    seconds = max(0, int(seconds))
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    if style == "seed":
        # Seed 000 printed it with its spaces lost.
        return "Backupfrequencyislimited.Youcannotmakeanotherbackuprightnow.Approximatetimetillnextallowedbackup: " \
               "%dhoursand%dminutes" % (hours, minutes)
    if style == "jira412":
        return ('{"error":"Backup frequency is limited. You cannot make another backup right now. Approximate time '
                'until next allowed backup: %dh %dm"}' % (hours, minutes))
    return ("Backup frequency is limited. You can not make another backup right now. Approximate time till next "
            "allowed backup: %dh %dm" % (hours, minutes))


class ObmApi(object):
    name = "obm"

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.backup = None          # the site's one backup job
        self.previous = None        # the backup it replaced (shown for a few polls after a trigger)
        self.last_trigger = None    # emulator time of the last accepted runbackup
        self.after_trigger = []     # what the next getprogress calls show: "previous" or "idle"
        self._zip_cache = {}

    # ------------------------------------------------------------ the backup
    def new_backup(self, started, include_attachments=True, duration=None, fail_at=None, polls=None):
        """A backup started at ``started``. With ``polls``, it runs until that many getprogress calls were
        answered, whatever the clock says (tests use it to hold a backup in the running state)."""
        cfg = self.em.config
        self.previous = self.backup
        self.backup = {
            "id": str(uuid.UUID(int=(int(started * 1000) << 32) | (cfg["backup_seed"] & 0xFFFFFFFF) | (1 << 127))),
            "started": started,
            "duration": float(cfg["backup_seconds"] if duration is None else duration),
            "queued": float(cfg["queued_seconds"]),
            "fail_at": cfg["fail_at_percent"] if fail_at is None else fail_at,
            "failed_message": cfg["failed_message"],
            "attachments": include_attachments,
            "size": int(cfg["backup_size"]),
            "seed": int(cfg["backup_seed"]),
            "polls": polls,
            "polled": 0,
        }
        return self.backup

    def zip_for(self, backup):
        """The backup's zip: its bytes depend on when it was made, so two backups never share a sha256."""
        created = int(backup["started"] + backup["duration"])
        inventory = self.em.config.get("backup_inventory")
        key = (backup["id"], backup["size"], backup["seed"], created, self.em.config.get("zip_extra_member"),
               self.em.config.get("zip_layout"), tuple(sorted((inventory or {}).items())), backup["attachments"])
        if key not in self._zip_cache:
            if len(self._zip_cache) >= 2:
                self._zip_cache.pop(next(iter(self._zip_cache)))
            self._zip_cache[key] = BackupZip(backup["size"], seed=backup["seed"], created=created,
                                             site=self.em.config["site_name"],
                                             extra_member=self.em.config.get("zip_extra_member"),
                                             layout=self.em.config.get("zip_layout") or "flat", inventory=inventory,
                                             attachments=backup["attachments"])
        return self._zip_cache[key]

    def phase(self, now=None, backup=None):
        """(state, percentage) of a backup (the current one by default): none|queued|running|complete|failed|expired."""
        b = self.backup if backup is None else backup
        if b is None:
            return "none", None
        now = self.em.now() if now is None else now
        elapsed = now - b["started"]
        if b["polls"] is not None:
            if b["polled"] < b["polls"]:
                return "running", min(99, int(100 * b["polled"] / max(1, b["polls"])))
            elapsed = max(elapsed, b["duration"])
        pct = 100 if b["duration"] <= 0 else min(100, int(100 * elapsed / b["duration"]))
        if b["fail_at"] is not None and pct >= int(b["fail_at"]):
            return "failed", int(b["fail_at"])
        if elapsed < b["queued"] and elapsed < b["duration"]:
            return "queued", 0
        if elapsed < b["duration"]:
            return "running", pct
        if elapsed > b["duration"] + float(self.em.config["retention_seconds"]):
            return "expired", 100
        return "complete", 100

    def file_name(self, backup=None):
        backup = backup or self.backup
        if self.em.config.get("hostile_file_name"):
            # A compromised or buggy service: a fileName that tries to leave the download folder.
            return self.em.config["hostile_file_name"]
        if self._style("filename_style", ("bare", "filestore")) == "bare":
            return backup["id"]
        return "temp/filestore/" + backup["id"]

    def _style(self, setting, shuffled):
        """A setting's value; under ``field_style: shuffled`` (issue 19) one of ``shuffled``, fixed per seed. Only
        what the evidence shows varying varies here: the field names are attested by four independent clients
        (reference 1.5a, 1.6), so they are never renamed."""
        shuffle = self.em.shuffle("cloud")
        return self.em.config[setting] if shuffle is None else shuffle.pick(setting, shuffled)

    def _pct(self, pct):
        style = self._style("percentage_style", ("percent", "plain", "number"))
        if style == "percent":
            return "%d%%" % pct
        if style == "legacy":
            return "Estimated progress: %d %%" % pct
        if style == "number":
            return pct
        return "%d" % pct

    def _status(self, word):
        shuffle = self.em.shuffle("cloud")
        return word if shuffle is None else shuffle.status("currentStatus", word)

    def progress_body(self, counting=False):
        """The getprogress body now. ``counting``: this is a client's poll (advances poll-driven phases)."""
        shown = self.after_trigger.pop(0) if (counting and self.after_trigger) else None
        if shown == "previous" and self.previous is not None:
            return self._body_of(self.previous)
        if shown is not None:
            return {"size": 0, "concurrentBackupInProgress": False, "time": 0, "isOutdated": False}
        body = self._body_of(self.backup)
        if counting and self.backup is not None and self.backup["polls"] is not None:
            self.backup["polled"] += 1
        return body

    def _body_of(self, b):
        state, pct = self.phase(backup=b)
        now_ms = int(self.em.now() * 1000)
        body = {"size": 0, "concurrentBackupInProgress": False, "time": 0, "isOutdated": False}
        if state in ("none", "queued", "expired"):
            return body
        if state == "running":
            body.update(currentStatus=self._status("PROCESSING"), alternativePercentage=self._pct(pct), time=now_ms)
        elif state == "failed":
            body.update(currentStatus=self._status("FAILED"), alternativePercentage=self._pct(pct),
                        time=int((b["started"] + b["duration"] * pct / 100.0) * 1000),
                        failedMessage=b["failed_message"])
        else:
            done = b["started"] + b["duration"]
            body.update(fileName=self.file_name(b), currentStatus=self._status("COMPLETE"), alternativePercentage=self._pct(100),
                        time=int(done * 1000),
                        isOutdated=(self.em.now() - done) > float(self.em.config["outdated_seconds"]))
            if self.em.config["report_size"]:
                body["size"] = b["size"]
        body = dict((k, body[k]) for k in ("fileName", "size", "currentStatus", "alternativePercentage",
                                           "concurrentBackupInProgress", "time", "isOutdated", "failedMessage")
                    if k in body)
        return body

    def cloud_history(self, status):
        b = self.backup
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(b["started"])) + ".398721536Z"
        return ("Backup is already in progress. CloudHistory{cloudId='%s', status='%s', backupId='mplus-%s', "
                "creationTime='%s', lastModifiedTime='%s', hasAttachments=%s}" % (
                    self.em.config["cloud_id"], status, b["id"], stamp, stamp,
                    "true" if b["attachments"] else "false"))

    def media_file(self, file_id):
        """The bytes behind a signed media link, or None."""
        for backup in (self.backup, self.previous):
            if backup is not None and backup["id"] == file_id and self.phase(backup=backup)[0] == "complete":
                return self.zip_for(backup)
        return None

    # ---------------------------------------------------------- test control
    def prepare_state(self):
        if self.backup is not None and self.phase()[0] == "complete":
            self.zip_for(self.backup).sha256()

    def state(self):
        data = {"backup": None, "last_trigger": self.last_trigger,
                "runbackup_posts": self.em.count("POST", RUNBACKUP),
                "progress_gets": self.em.count("GET", "/wiki/rest/obm/1.0/getprogress")}
        if self.backup is not None:
            phase, pct = self.phase()
            data["backup"] = dict(self.backup, phase=phase, percentage=pct, file_name=self.file_name())
            if phase == "complete":
                data["backup"]["sha256"] = self.zip_for(self.backup).sha256()
        if self.previous is not None:
            data["previous"] = dict(self.previous, file_name=self.file_name(self.previous))
        return data

    # ---------------------------------------------------------------- routes
    def routes(self):
        routes = web.RouteTableDef()
        em = self.em

        @routes.post(RUNBACKUP)
        async def runbackup(request):
            if em.check_basic_auth(request) is None:
                return em.unauthorized()
            try:
                body = await request.json()
            except ValueError:
                body = {}
            now = em.now()
            state, _pct = self.phase(now)
            if state in ("queued", "running"):
                return web.Response(status=406, text=self.cloud_history("IN_PROGRESS"), content_type="text/plain")
            if self.after_trigger:
                # Still in the moment right after a trigger: the backup it started is queued.
                return web.Response(status=406, text=self.cloud_history("QUEUED"), content_type="text/plain")
            window = float(em.config["frequency_limit_seconds"])
            if self.last_trigger is not None and now - self.last_trigger < window:
                remaining = window - (now - self.last_trigger)
                style = em.config["frequency_text"]
                status = {"legacy500": 500, "jira412": 412}.get(style, 406)
                return web.Response(status=status, text=_fmt_wait(remaining, style),
                                    content_type="application/json" if style == "jira412" else "text/plain")
            attachments = str((body or {}).get("cbAttachments", "true")).lower() == "true"
            self.new_backup(now, include_attachments=attachments)
            self.last_trigger = now
            self.after_trigger = (["previous"] * int(em.config["stale_polls_after_trigger"] or 0)
                                  if self.previous is not None else []) + \
                ["idle"] * int(em.config["idle_polls_after_trigger"] or 0)
            reply = em.config["trigger_reply"]
            if reply == "200_empty":
                return web.Response(status=200)
            return web.Response(status=406 if reply == "406_history" else 200, text=self.cloud_history("QUEUED"),
                                content_type="text/plain")

        async def getprogress(request):
            if em.check_basic_auth(request) is None:
                return em.unauthorized()
            rule = em.take_fault(request, "site", ("non_json", "truncate_json"))
            if rule is not None and rule["kind"] == "non_json":
                return web.Response(status=200, content_type="text/html",
                                    text="<!DOCTYPE html><html><head><title>Log in with Atlassian account</title>"
                                         "</head><body>Redirecting...</body></html>")
            body = self.progress_body(counting=True)
            if rule is not None:
                text = em.dumps(body)
                return web.Response(status=200, content_type="application/json", text=text[:len(text) // 2])
            wants_json = request.path.endswith(".json") or "json" in request.headers.get("Accept", "")
            if not wants_json:
                attrs = " ".join("%s=%s" % (k, quoteattr(str(v).lower() if isinstance(v, bool) else str(v)))
                                 for k, v in body.items())
                return web.Response(status=200, content_type="application/xml",
                                    text='<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                                         "<backupresult %s/>" % attrs)
            return em.json_response(body)

        routes.get("/wiki/rest/obm/1.0/getprogress")(getprogress)

        @routes.get("/wiki/rest/api/user/current")
        async def current_user(request):
            user = em.check_basic_auth(request)
            if user is None and "Authorization" in request.headers:
                return em.unauthorized()
            if user is None:
                # Confluence Cloud answers an anonymous caller with the anonymous user, not 401.
                return em.json_response({"type": "anonymous", "displayName": "Anonymous",
                                         "profilePicture": {"path": "/wiki/s/-1/_/images/icons/profilepics/"
                                                                    "anonymous.svg", "isDefault": True}})
            account = "5b10ac8d82e05b22cc7d4ef5-%08x" % (hash(user) & 0xFFFFFFFF)
            return em.json_response({"type": "known", "accountId": account, "accountType": "atlassian",
                                     "email": user, "publicName": user.split("@")[0],
                                     "displayName": user.split("@")[0], "isExternalCollaborator": False,
                                     "_links": {"self": "%s/wiki/rest/api/user?accountId=%s" % (
                                         request.url.origin(), account), "base": "%s/wiki" % request.url.origin(),
                                         "context": "/wiki"}})
        routes.get("/wiki/rest/obm/1.0/getprogress.json")(getprogress)

        @routes.get("/wiki/download/{name:.+}")
        async def download(request):
            if em.check_basic_auth(request) is None:
                return em.unauthorized()
            name = request.match_info["name"]
            for backup in (self.backup, self.previous):
                if backup is not None and name == "temp/filestore/" + backup["id"] and \
                        self.phase(backup=backup)[0] == "complete":
                    location = em.sign_media_link(backup["id"], "Confluence-backup-%s.zip" % backup["id"][:8])
                    raise web.HTTPFound(location)
            return web.Response(status=404, content_type="text/html",
                                text="<!DOCTYPE html><html><head><title>Page not found - Confluence</title></head>"
                                     "<body><h1>Page not found</h1></body></html>")

        @routes.post("/_emulator/obm/backup")
        async def seed_backup(request):
            """Put the site in a state: a completed backup of some age, a running one, a failed one,
            and/or an active frequency limit."""
            body = await request.json()
            now = em.now()
            state = body.get("state")
            if state == "none":
                self.backup = None
                self.previous = None
            elif state == "complete":
                age = float(body.get("age_seconds", 3600))
                self.new_backup(now - age - float(em.config["backup_seconds"]), duration=em.config["backup_seconds"])
            elif state == "running":
                # With "polls", the backup stays running until that many getprogress calls were answered.
                duration = float(body.get("duration", em.config["backup_seconds"]))
                elapsed = float(body.get("elapsed", 0.0))
                self.new_backup(now - elapsed, duration=duration, fail_at=body.get("fail_at"), polls=body.get("polls"))
                self.backup["queued"] = 0.0
            elif state == "failed":
                self.new_backup(now - 10, duration=5, fail_at=int(body.get("percent", 50)))
            if "last_trigger_age_seconds" in body:
                age = body["last_trigger_age_seconds"]
                self.last_trigger = None if age is None else now - float(age)
            elif state in ("complete", "running", "failed"):
                self.last_trigger = self.backup["started"]
            return web.json_response(self.state())

        return routes
