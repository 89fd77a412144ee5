# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulator core: two HTTP servers on loopback (the site and the media host),
basic auth, a control API for tests, fault injection, and signed media links.

Each emulated API is one module (``obm.py`` for the Confluence Cloud backup
manager) that registers its routes on the site and, if it serves files, hands
them to the media host through :meth:`Emulator.sign_media_link`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import base64
import copy
import email.utils
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import tempfile
import time

from aiohttp import web

DEFAULT_CONFIG = {
    # Credentials the site accepts: e-mail -> API token.
    "users": {"admin@example.com": "emulator-token"},
    "site_name": "example.atlassian.net",
    "cloud_id": "6c7a6f55-1b7e-4a3e-9a55-08edb3a15371",
    # Confluence Cloud backup manager (obm.py)
    "backup_size": 1024 * 1024,
    "backup_seed": 1,
    "backup_seconds": 3.0,          # trigger -> COMPLETE
    "queued_seconds": 0.5,          # the seed's "size 0, time 0" body right after the trigger
    "fail_at_percent": None,        # a backup that fails when it reaches this percentage
    "failed_message": "Backup failed: an unexpected error occurred while exporting attachments",
    "frequency_limit_seconds": 86400,
    "frequency_text": "reference",  # reference | seed | legacy500 | jira412
    # Where sources disagree, the default follows the newest evidence: the PyPI client
    # jira-confluence-full-instance-backup, verified on a live site in 2026-06 (docs/emulator_evidence.md).
    "percentage_style": "percent",  # percent "66%" (PyPI client) | plain "66" (seed 000) | legacy "Estimated progress: 66 %"
    "filename_style": "bare",       # bare "<uuid>" (PyPI client) | filestore "temp/filestore/<uuid>" (seed 000)
    "report_size": False,           # seed 000: size stays 0 even when COMPLETE
    "json_style": "compact",        # compact {"a":1} as a Java service sends | spaced {"a": 1}
    # The answer to a runbackup that starts a backup:
    #   406_history: 406 "Backup is already in progress. CloudHistory{... status='QUEUED' ...}" (PyPI client, 2026)
    #   200_history: 200 with the same text (seed 000, 2026-03)
    #   200_empty:   200 with an empty body (the 2019 Confluence-backup.sh)
    "trigger_reply": "406_history",
    # Right after a trigger, getprogress first shows the previous COMPLETE backup for this many polls (if there is
    # one), then the idle body of seed 000 for this many polls, whatever the backup's clock says. Counted in polls,
    # not seconds, so tests do not race the wall clock.
    "stale_polls_after_trigger": 0,
    "idle_polls_after_trigger": 1,
    "backup_inventory": None,       # counts of current content in entities.xml (zipstream.entities_xml), or None
    "zip_layout": "flat",           # flat: entities.xml at the top | nested: no top-level entities.xml
    "retention_seconds": 14 * 86400,
    "outdated_seconds": 7 * 86400,
    # media host
    "link_ttl_seconds": 600,
    "media_chunk": 1024 * 1024,
    "media_ranges": True,              # False: Range is ignored (200, whole file); "alternate": every other time
    "media_content_length": True,      # False: chunked answers, no Content-Length, Content-Range ".../*"
    "media_rate_per_connection": None,  # bytes per second per response, None for no cap
    "media_rate_total": None,          # bytes per second over all responses together
    "media_drop_probability": 0.0,     # chance that a response is cut at a random byte
    "media_seed": 1,                   # seeds the random drops (and nothing else)
    "media_sendfile": True,            # serve with sendfile(2) from the cached file
    "zip_extra_member": None,          # e.g. "../../evil.txt": a zip whose member escapes its folder
    "hostile_file_name": None,         # e.g. "../../../etc/passwd": the fileName progress reports
    # Organization Backup & Restore API (org_backup.py)
    "org_id": "0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
    "org_admins": None,                # e-mails of org admins; None: every user in "users" is one
    "org_sites": [
        {"cloudId": "6c7a6f55-1b7e-4a3e-9a55-08edb3a15371", "cloudUrl": "https://example.atlassian.net",
         "cloudName": "example", "products": ["JIRA", "CONFLUENCE"]},
        {"cloudId": "b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b", "cloudUrl": "https://example-restore.atlassian.net",
         "cloudName": "example-restore", "products": ["JIRA", "CONFLUENCE"]},
    ],
    "org_backup_seconds": 2.0,         # start -> terminal
    "org_backup_outcome": "COMPLETE",  # COMPLETE | INCOMPLETE | FAILED
    "org_incomplete_message": "2 spaces could not be backed up: ARCHIVE, LEGACY",
    "org_failed_message": "The backup failed: an internal error occurred",
    "org_export_seconds": 1.0,
    "org_import_seconds": 1.0,
    "org_restore_seconds": 2.0,
    "org_status_style": "v2",          # v2: CREATED, IN_PROGRESS, COMPLETED... | seed: "IN PROGRESS", "COMPLETE"...
    "org_page_size_max": 50,
    "org_restore_failing_checks": ["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"],
    "org_backup_frequency_days": 7,
    "org_backup_retention_days": 14,
    "org_start_answer": "documented",  # documented | empty | nested | list | plural | opaque | echo (issue 19)
    "org_list_hides_new": False,       # lists leave out jobs started while this is set
    "org_page_start": "index0",        # what start counts: index0 | index1 (pages from 1) | items (an offset)
    "org_restore_fail_next": 0,        # the next N restores that start end FAILED (counted down as they start)
    "org_restore_failed_message": "The restore failed: an internal error occurred while restoring CONFLUENCE data. "
                                  "Try again, or contact Atlassian Support.",
    # Confluence Data Center 8.3+ backup & restore REST API (datacenter.py)
    "dc_context_path": "/confluence",  # the API is <context>/rest/api/backup-restore; "" for none
    "dc_users": {"admin": "admin-password", "jdoe": "jdoe-password"},   # Basic: username -> password
    "dc_pats": {"emulator-pat-0123456789abcdef": "admin"},              # Bearer: personal access token -> username
    "dc_sysadmins": ["admin"],
    "dc_space_permissions": {"jdoe": ["TEAM"]},  # spaces a non-sysadmin may export (space backups, downloads)
    "dc_spaces": ["DOC", "TEAM", "ARCHIVE", "HR"],
    "dc_backup_seconds": 2.0,          # PROCESSING -> FINISHED, emulator clock
    "dc_restore_seconds": 2.0,
    "dc_job_polls": None,              # an int: API-made jobs run until that many GETs of /jobs or /jobs/{id}
    "dc_processing_word": "PROCESSING",  # PROCESSING (Javadoc, /jobs filter) | IN_PROGRESS (the JobDetails sample)
    "dc_time_style": "sample",         # sample "2020-01-01T01:01:01Z" | java "2020-01-01T02:01:01.250+0100"
    "dc_backup_size": 1024 * 1024,     # bytes of each FINISHED backup's zip
    "dc_file_retention_seconds": 259200,  # backup files are deleted 72 h after creation unless kept permanently
    "dc_download_ranges": False,       # True: downloads honour Range (206)
    "dc_download_length": True,        # False: downloads are chunked, without Content-Length
    "dc_restore_outcome": "FINISHED",  # FINISHED | FAILED: how a restore of a matching file ends
    "dc_restore_error": "Restore failed: an unexpected error occurred while importing the backup",
    "dc_refuse_chunked_uploads": False,  # True: 411 to chunked request bodies, as many reverse proxies do
    "dc_start_answer": "documented",   # documented (JobDetails) | nested (job.jobId) | empty: issue 19
    # More Data Center instances on this emulator, by context path: {path: settings over these}. Each has its own jobs,
    # restore folder, uploads and content; /confluence-drill starts empty (a fresh instance to restore into).
    "dc_instances": {"/confluence-drill": {"dc_content": []}},
    "dc_restore_lose_pages": {},       # e.g. {"DOC": 3}: every restore brings back 3 pages fewer in DOC than its zip holds
    "dc_restore_lose_spaces": [],      # e.g. ["HR"]: every restore leaves these spaces out
    "dc_space_restore_existing": "fail",  # a space restore of a key the instance holds: fail | replace
    "dc_cql_unknown_space": "empty",   # CQL naming a space the instance lacks: empty | 400 (9.3.1+) | 500 (9.2)
    # What each Confluence site holds (content.py; lists of {"key", "name", "type", "status", "pages",
    # "blog_posts"}; an org_sites entry may carry its own "content"). None: the defaults content.py describes.
    "site_content": None,              # the default Cloud site: DOC, TEAM and the admin's personal space
    "cloud_new_site_content": None,    # another Cloud site: what a new site holds, its admin's personal space
    "dc_content": None,                # a Data Center instance: one global space per key of dc_spaces
    # The backup API of the Confluence app Snapshots, RadBee (snapshots.py). Its fields are undocumented: three shapes.
    "snapshots_shape": "a",            # a: 202 + taskId + poll + downloadUrl | b: links/state + 302 to media | file: zip
    "snapshots_done_link": None,       # None | unlisted | nested | only | two: a finished task's link (issue 19)
    "snapshots_path": "/snapshots/api/backup/{token}",   # the "web request URL" the app shows once (on the site port)
    "snapshots_endpoint_token": "f3a9c1e5b2d4",
    "snapshots_key_header": "jira-snapshots-api-key",
    "snapshots_api_keys": ["snap-key-0123456789abcdef"],
    "snapshots_require_pat": False,    # True: Authorization: Bearer <one of snapshots_pats> too (DC 9.x style)
    "snapshots_pats": [],
    "snapshots_spaces": ["DOC", "TEAM", "ARCHIVE", "HR"],
    "snapshots_task_polls": 2,         # answered status GETs before a task ends (None: 0)
    "snapshots_never_finish": False,   # True: tasks stay running forever
    "snapshots_fail": False,           # True: tasks end FAILED / "error" (shape file: 500)
    "snapshots_fail_message": "Export failed: the Snapshots database is being migrated",
    "snapshots_site": "example.atlassian.net",
    "snapshots_zip_size": 64 * 1024,   # bytes of history.bin in each export
    # Atlassian's link-update API for migrations (links.py). A job's timing runs on the emulator clock; 0 s: a job
    # is finished at its first read (test_examples runs the EXAMPLES with these defaults).
    "links_sites": None,               # site (cloud) ids the API knows; None: those of org_sites
    "links_admins": None,              # e-mails allowed to update links; None: every user in "users"
    "links_pending_seconds": 0.0,      # Pending, the initial status
    "links_backup_seconds": 0.0,       # then Backup (a Cloud backup in progress)
    "links_job_seconds": 0.0,          # then In_progress (its middle third Retry with links_retry)
    "links_retry": False,
    "links_outcome": "Complete",       # Complete | Error
    "links_error_message": "The job couldn't be completed: the application link to the destination is missing.",
    "links_start_answer": "documented",  # documented {"uuid"} | renamed {"jobId"} | nested | opaque | empty
    "links_status_report_urls": False,   # True: a Complete job's status answer carries report links [I]
    # The fields of the answers each service does not document (issue 19, shuffle.py): documented (the shapes above,
    # as the sources show them) | shuffled (other plausible names, nestings and wrappers, fixed per field_seed).
    "field_style": "documented",
    "field_seed": 0,
}

FAULT_KINDS = ("http", "non_json", "drop", "hold", "delay", "truncate_json", "redirect", "endless")


class Emulator(object):
    def __init__(self, config=None, host="127.0.0.1", ssl_context=None):
        self.host = host
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context is not None else "http"
        self.initial_config = copy.deepcopy(DEFAULT_CONFIG)
        self.initial_config.update(config or {})
        self.secret = b"emulator-media-signing-key"
        self.site_port = None
        self.media_port = None
        self._runners = []
        self.apis = []
        self.cache_dir = None
        self._media_files = {}
        self._cache_lock = None
        self._cache_serial = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self, config=None):
        self.config = copy.deepcopy(self.initial_config)
        if config:
            self.config.update(config)
        self.clock_offset = 0.0
        self.faults = []
        self.requests = []
        self.media_log = []
        self.fault_log = []
        # Media answers held by a "hold" fault, by name: each waits until POST /_emulator/release names it.
        for event in getattr(self, "holds", {}).values():
            event.set()
        self.holds = {}
        self.rng = random.Random(self.config.get("media_seed", 1))
        from atlassian_emulator.media import _Bucket
        self.total_bucket = _Bucket()
        for api in self.apis:
            api.reset()

    def now(self):
        return time.time() + self.clock_offset

    def shuffle(self, api):
        """The reshaping of ``api``'s undocumented answers under ``field_style: shuffled``; None when documented."""
        if self.config.get("field_style") != "shuffled":
            return None
        from atlassian_emulator.shuffle import Shuffle
        return Shuffle(self.config.get("field_seed", 0), api)

    def record(self, request, host):
        entry = {"host": host, "method": request.method, "path": request.path,
                 "query": request.query_string, "authorization": "Authorization" in request.headers,
                 "time": self.now()}
        self.requests.append(entry)
        return entry

    def count(self, method, path_fragment, host="site"):
        return sum(1 for r in self.requests if r["host"] == host and r["method"] == method
                   and path_fragment in r["path"])

    # ----------------------------------------------------------------- faults
    def take_fault(self, request, host, kinds):
        """The first armed fault rule that matches this request, consumed once."""
        for rule in self.faults:
            if rule.get("kind", "http") not in kinds:
                continue
            if rule.get("host", "site") != host:
                continue
            if rule.get("method") and rule["method"].upper() != request.method:
                continue
            if rule.get("match") and not re.search(rule["match"], request.path):
                continue
            if rule.get("remaining", 1) <= 0:
                continue
            rule["remaining"] = rule.get("remaining", 1) - 1
            self.fault_log.append({"kind": rule.get("kind", "http"), "path": request.path, "host": host})
            return rule
        return None

    def hold_event(self, name):
        """The event a held media answer waits for (set by ``release``)."""
        event = self.holds.get(name)
        if event is None:
            event = self.holds[name] = asyncio.Event()
        return event

    def release(self, name):
        self.hold_event(name).set()

    def set_faults(self, faults):
        armed = []
        for rule in faults:
            rule = dict(rule)
            kind = rule.get("kind", "http")
            if kind not in FAULT_KINDS:
                raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(FAULT_KINDS)))
            rule["remaining"] = int(rule.get("count", 1))
            armed.append(rule)
        self.faults = armed

    # ------------------------------------------------------------------- auth
    def check_basic_auth(self, request):
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _sep, token = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        expected = self.config["users"].get(user)
        if expected is not None and hmac.compare_digest(expected, token):
            return user
        return None

    def unauthorized(self):
        # Confluence's answer to a REST call whose credentials it does not accept.
        return self.json_response(
            {"statusCode": 401, "data": {"authorized": False, "valid": True, "errors": [], "successful": False},
             "message": "Client must be authenticated to access this resource."},
            status=401, headers={"WWW-Authenticate": 'Basic realm="protected-area"'})

    # ------------------------------------------------------------ media links
    def sign_media_link(self, file_id, name):
        expires = int(self.now() + float(self.config["link_ttl_seconds"]))
        sig = hmac.new(self.secret, ("%s|%d" % (file_id, expires)).encode("ascii"), hashlib.sha256).hexdigest()
        token = base64.urlsafe_b64encode(json.dumps({"exp": expires, "sub": file_id, "sig": sig}).encode()).decode()
        return "%s://%s:%s/file/%s/binary?token=%s&client=%s&dl=true&name=%s" % (
            self.scheme, self.host, self.media_port, file_id, token.rstrip("="), "emulator-client", name)

    def check_media_token(self, file_id, token):
        """None when valid, else the reason."""
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            expires = int(data["exp"])
            sig = data["sig"]
        except (ValueError, KeyError, TypeError):
            return "invalid"
        good = hmac.new(self.secret, ("%s|%d" % (file_id, expires)).encode("ascii"), hashlib.sha256).hexdigest()
        if data.get("sub") != file_id or not hmac.compare_digest(good, sig):
            return "invalid"
        if self.now() > expires:
            return "expired"
        return None

    # ------------------------------------------------------------ media cache
    async def media_cache_path(self, blob):
        """The blob written once to a file, so the media host can sendfile(2) it."""
        key = blob.cache_key
        if key in self._media_files:
            return self._media_files[key]
        if self._cache_lock is None:
            self._cache_lock = asyncio.Lock()
        async with self._cache_lock:
            if key not in self._media_files:
                if self.cache_dir is None:
                    self.cache_dir = tempfile.mkdtemp(prefix="atlassian-emulator-")
                self._cache_serial += 1
                path = os.path.join(self.cache_dir, "blob-%d.zip" % self._cache_serial)
                await asyncio.get_running_loop().run_in_executor(None, _materialise, blob, path)
                # Keep the two newest: 4 GiB backups should not pile up on disk.
                while len(self._media_files) >= 2:
                    _unlink(self._media_files.pop(next(iter(self._media_files))))
                self._media_files[key] = path
        return self._media_files[key]

    # ------------------------------------------------------------ middleware
    async def date_header(self, request, response):
        """Every answer's Date comes from the emulator's clock, as a real server's comes from its own."""
        response.headers["Date"] = email.utils.formatdate(self.now(), usegmt=True)

    def dumps(self, body):
        """JSON as the service sends it: compact, like Java's serializers (json_style: spaced for Python's)."""
        if self.config.get("json_style") == "spaced":
            return json.dumps(body)
        return json.dumps(body, separators=(",", ":"))

    def json_response(self, body, status=200, headers=None):
        return web.Response(status=status, text=self.dumps(body), content_type="application/json",
                            headers=headers)

    def fault_middleware(self, host):
        @web.middleware
        async def middleware(request, handler):
            if request.path.startswith("/_emulator"):
                return await handler(request)
            self.record(request, host)
            rule = self.take_fault(request, host, ("http", "delay", "redirect", "endless"))
            if rule is not None and rule.get("kind") == "delay":
                await asyncio.sleep(float(rule.get("seconds", 1)))
            elif rule is not None and rule.get("kind") == "redirect":
                # A misconfigured proxy or SSO: 302 back to the same URL (or to "location").
                return web.Response(status=302, headers={"Location": rule.get("location") or str(request.rel_url)})
            elif rule is not None and rule.get("kind") == "endless":
                return await _endless(request, int(rule.get("max_bytes", 256 * 1024 * 1024)))
            elif rule is not None:
                headers = {}
                if rule.get("retry_after") is not None:
                    value = str(rule["retry_after"])
                    if value.startswith("date:"):
                        value = email.utils.formatdate(self.now() + float(value[5:]), usegmt=True)
                    headers["Retry-After"] = value
                status = int(rule.get("status", 503))
                body = rule.get("body")
                if body is None:
                    body = {429: '{"message":"Rate limit exceeded."}',
                            503: "<html><body><h1>503 Service Unavailable</h1></body></html>",
                            500: '{"statusCode":500,"message":"Internal Server Error"}'}.get(status, "error")
                return web.Response(status=status, text=body, headers=headers,
                                    content_type=rule.get("content_type") or (
                                        "application/json" if body.startswith("{") else "text/html"))
            return await handler(request)
        return middleware

    # --------------------------------------------------------------- control
    def state(self):
        data = {
            "site_url": "%s://%s:%s" % (self.scheme, self.host, self.site_port),
            "media_url": "%s://%s:%s" % (self.scheme, self.host, self.media_port),
            "config": self.config,
            "clock_offset": self.clock_offset,
            "requests": self.requests,
            "media_log": self.media_log,
            "fault_log": self.fault_log,
            "faults_remaining": [dict(r) for r in self.faults if r.get("remaining", 0) > 0],
            "holds": {name: event.is_set() for name, event in self.holds.items()},
        }
        for api in self.apis:
            data.update(api.state())
        return data

    def control_routes(self):
        routes = web.RouteTableDef()

        @routes.get("/_emulator/state")
        async def get_state(request):
            loop = asyncio.get_running_loop()
            for api in self.apis:
                await loop.run_in_executor(None, api.prepare_state)
            return web.json_response(self.state())

        @routes.post("/_emulator/reset")
        async def post_reset(request):
            body = await _json(request)
            self.reset(body.get("config"))
            return web.json_response({"ok": True})

        @routes.post("/_emulator/config")
        async def post_config(request):
            body = await _json(request)
            self.config.update(body)
            return web.json_response({"ok": True, "config": self.config})

        @routes.post("/_emulator/faults")
        async def post_faults(request):
            body = await _json(request)
            try:
                self.set_faults(body.get("faults", []))
            except ValueError as exc:
                return web.json_response({"ok": False, "error": str(exc)}, status=400)
            return web.json_response({"ok": True})

        @routes.post("/_emulator/release")
        async def post_release(request):
            body = await _json(request)
            self.release(str(body.get("name", "")))
            return web.json_response({"ok": True})

        @routes.post("/_emulator/advance")
        async def post_advance(request):
            body = await _json(request)
            self.clock_offset += float(body.get("seconds", 0))
            return web.json_response({"ok": True, "clock_offset": self.clock_offset})

        return routes

    # ---------------------------------------------------------------- serving
    async def start(self, site_port=0, media_port=0):
        # An API may add site middlewares after the fault injection (rest_v2: its request log and rate limits).
        extra = [m for api in self.apis for m in (getattr(api, "site_middlewares", None) or list)()]
        site = web.Application(middlewares=[self.fault_middleware("site")] + extra, client_max_size=1024 * 1024)
        media = web.Application(middlewares=[self.fault_middleware("media")])
        site.add_routes(self.control_routes())
        from atlassian_emulator.media import media_routes
        media.add_routes(media_routes(self))
        for api in self.apis:
            site.add_routes(api.routes())
        for app in (site, media):
            app.on_response_prepare.append(self.date_header)
        for app, port, attr in ((media, media_port, "media_port"), (site, site_port, "site_port")):
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            tcp = web.TCPSite(runner, self.host, port, ssl_context=self.ssl_context)
            await tcp.start()
            setattr(self, attr, runner.addresses[0][1])
            self._runners.append(runner)

    async def stop(self):
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            self.cache_dir = None
            self._media_files = {}


async def _endless(request, max_bytes):
    """A 200 "JSON" answer that never ends (up to max_bytes): a broken proxy or a hostile server."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    piece = b'{"status":"' + b"x" * (64 * 1024)
    sent = 0
    try:
        while sent < max_bytes:
            await response.write(piece)
            sent += len(piece)
    except (ConnectionError, RuntimeError):
        return response
    await response.write_eof()
    return response


def _materialise(blob, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        for piece in blob.iter_range(0, blob.size, 4 * 1024 * 1024):
            handle.write(piece)
    os.replace(tmp, path)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


async def _json(request):
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
