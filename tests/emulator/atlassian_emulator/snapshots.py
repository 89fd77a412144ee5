# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup API of the Confluence app Snapshots (vendor RadBee), served in three shapes.

Sources: [seed] seed 004, the vendor's "Backing up and restoring snapshots" page; [notes] our research,
``notes/snapshots_vendor.md`` (the vendor's automation endpoints: the ``jira-snapshots-api-key`` header, and on Data
Center 9.x a personal access token as ``Authorization: Bearer``); [ref] ``shared/reference/atlassian-apis.md``
section 5. [I] marks an inference. **The request and response fields of the backup API are documented nowhere we
found** [notes 3, 5]: the seed says both "The endpoint returns a backup file the same way the manual flow does" and
"(post -> poll task ID -> download zip)". So the emulator serves the flow in three shapes (``snapshots_shape``), and
the module's tests prove tolerance rather than one guess. ``docs/emulator_evidence.md`` has one row per behaviour.

* The endpoint: ``snapshots_path`` with ``{token}`` = ``snapshots_endpoint_token`` on the site port, "the web request
  URL" that the API setting tab shows once [seed]; a secret-looking path is [I]. Both are read at every request, so
  ``reset()`` can move it; other paths are left to the other APIs. Its sub-paths are [I].
* The request (our assumption, [I]): ``POST <endpoint>`` "with the API key as a header" [seed], the header
  ``snapshots_key_header`` (``jira-snapshots-api-key`` [notes 4.1, I for backups]) with a key of ``snapshots_api_keys``;
  ``Authorization: Bearer <PAT>`` when ``snapshots_require_pat`` (checked against ``snapshots_pats``) [notes 4.8, I for
  backups]. Body ``{"spaceKeys": [...]}`` for a selection, ``{}`` or none for all spaces [I: the UI's "All spaces" /
  "Select specific spaces" [seed]]. Every request to the endpoint (status and download too) needs the same headers [I].
* A wrong or missing key: 401 ``{"message": "Invalid API key"}``; shape b ``{"error": "unauthorized",
  "error_description": "API key is not valid"}``. A missing or wrong required PAT: 401 too, with ``WWW-Authenticate:
  Bearer``. Space keys outside ``snapshots_spaces``: 400 naming them; an empty ``spaceKeys``, a non-list or a body
  that is not JSON: 400. All [I]. Error bodies follow the configured shape.
* Shape ``a``: POST -> 202 ``{"taskId","status":"QUEUED"}`` with ``Location: <endpoint>/tasks/<id>``; GET it ->
  ``{"taskId","status":RUNNING|COMPLETED|FAILED,"progress"}`` plus ``downloadUrl`` (absolute) once COMPLETED or
  ``error`` once FAILED; ``GET .../download`` -> 200 ``application/zip`` with Content-Length and Range (206) [I].
* Shape ``b``: POST -> 200 ``{"id","state":"pending","links":{"status":<absolute URL>}}``, no Location; GET it ->
  ``{"id","state":pending|in_progress|done|error,"message"}``, plus ``"result":{"file":<path-absolute URL>}`` when
  done; ``GET .../file`` -> 302 to the media host's signed link (``Emulator.sign_media_link``) [I: a GCP-hosted
  backend plausibly hands out a signed storage URL, notes 3].
* Shape ``file``: POST -> 200 ``application/zip``, ``Content-Disposition: attachment; filename="snapshots-export.zip"``
  ("returns a backup file the same way the manual flow does" [seed]); with ``snapshots_fail``: 500 [I].
* Tasks finish after ``snapshots_task_polls`` answered status GETs (the first N answer RUNNING, the next the end),
  never with ``snapshots_never_finish``, and end FAILED ("error") with ``snapshots_fail_message`` when
  ``snapshots_fail``; all counted in polls, never seconds, so tests do not race [I]. A download before the end: 409.
* The export [I: its layout is undocumented, notes 3]: a zip made in memory, deterministic per task (the task id
  seeds it): ``snapshots.json`` (``site``, ``exportedAt``, ``taskId``, ``spaces``, fake snapshot records),
  ``macros.csv`` and ``history.bin`` of ``snapshots_zip_size`` bytes.
* Test-only, no auth: ``POST /_emulator/snapshots/task`` places a task. ``state()["snapshots"]``: ``posts``,
  ``tasks``, ``requests`` (method, path, ``key_header_present``, ``authorization``, status), ``downloads`` (zips
  answered by the site plus 302s to the media host) and ``endpoint``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import hashlib
import hmac
import io
import json
import random
import re
import time
import uuid
import zipfile
import zlib

from aiohttp import web

from atlassian_emulator.media import parse_range

SHAPES = ("a", "b", "file")
TERMINAL = ("COMPLETED", "FAILED")
STATUSES = ("QUEUED", "RUNNING") + TERMINAL
# The lower-case words of shape b for the statuses.
WORDS_B = {"QUEUED": "pending", "RUNNING": "in_progress", "COMPLETED": "done", "FAILED": "error"}
FROM_B = dict((v, k) for k, v in WORDS_B.items())
MESSAGES_B = {"QUEUED": "The export is queued", "RUNNING": "Exporting Snapshots metadata (%d%%)",
              "COMPLETED": "The export is ready"}
FILE_NAME = "snapshots-export.zip"
_SUB = re.compile(r"^/(tasks|exports)/([A-Za-z0-9-]{1,64})(?:/(download|file))?$")
# What each kind of sub-path serves: the shape of its tasks.
SUB_SHAPE = {("tasks", None): "a", ("tasks", "download"): "a", ("exports", None): "b", ("exports", "file"): "b"}
# error -> (status, shape b's "error" code, shapes a/file "message", shape b's "error_description")
ERRORS = {
    "key": (401, "unauthorized", "Invalid API key", "API key is not valid"),
    "pat": (401, "unauthorized", "Invalid or missing personal access token", "Bearer token is missing or not valid"),
    "json": (400, "invalid_request", "The request body is not valid JSON", "The request body is not valid JSON"),
    "keys": (400, "invalid_request", "spaceKeys must be a non-empty list of space keys (send {} for all spaces)",
             "spaceKeys must be a non-empty list of space keys (send {} for all spaces)"),
    "unknown": (400, "invalid_request", "Unknown space keys: %s", "Unknown space keys: %s"),
    "task": (404, "not_found", "Task not found", "Export not found"),
    "path": (404, "not_found", "Not found", "Not found"),
    "ready": (409, "not_ready", "The export is not ready: the task is %s", "The export is not ready: it is %s"),
    "shape": (500, "server_error", "emulator: unknown snapshots_shape %r", "emulator: unknown snapshots_shape %r"),
}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class ExportBlob(object):
    """The bytes of one export, as the media host wants them (``size``, ``seed``, ``cache_key``, ``iter_range``)."""

    def __init__(self, data, seed):
        self.data = data
        self.size = len(data)
        self.seed = seed
        self.digest = hashlib.sha256(data).hexdigest()
        # The bytes themselves key the media cache: task ids never repeat, but be safe across resets.
        self.cache_key = ("snapshots", self.size, self.digest)

    def iter_range(self, start=0, end=None, chunk=1024 * 1024):
        end = self.size if end is None else min(end, self.size)
        view = memoryview(self.data)
        pos = start
        while pos < end:
            piece = view[pos:min(end, pos + chunk)]
            yield piece
            pos += len(piece)

    def read(self, start, length):
        return self.data[start:start + length]

    def sha256(self):
        return self.digest


def export_zip(task_id, spaces, site, created, history_size):
    """The export of one task: a valid zip whose bytes depend on the task id, its spaces and its creation time."""
    rnd = random.Random("snapshots-" + task_id)
    stamp = time.gmtime(max(created, 315532800))[:6]    # zip times start in 1980
    records, rows = [], ["spaceKey,pageId,macroId,jql,versions,lastSnapshotAt"]
    for space in spaces:
        for number in range(3):
            page_id = str(rnd.randrange(10 ** 8, 10 ** 9))
            macro_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            versions = rnd.randint(1, 12)
            when = iso(created - rnd.randrange(3600, 90 * 86400))
            jql = "project = %s AND labels = snapshot-%d ORDER BY key" % (space, number)
            records.append({"spaceKey": space, "pageId": page_id, "macroId": macro_id, "jql": jql,
                            "versions": versions, "lastSnapshotAt": when,
                            "stickers": [{"issueKey": "%s-%d" % (space, rnd.randint(1, 999)), "sticker": "done"}]})
            rows.append('%s,%s,%s,"%s",%d,%s' % (space, page_id, macro_id, jql, versions, when))
    document = {"format": "snapshots-export", "formatVersion": 1, "site": site, "exportedAt": iso(created),
                "taskId": task_id, "spaces": list(spaces), "snapshots": records}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        members = (("snapshots.json", json.dumps(document, indent=1).encode("utf-8"), zipfile.ZIP_DEFLATED),
                   ("macros.csv", ("\n".join(rows) + "\n").encode("utf-8"), zipfile.ZIP_DEFLATED),
                   ("history.bin", rnd.randbytes(int(history_size)), zipfile.ZIP_STORED))
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = method
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return buf.getvalue()


class _EndpointResource(web.DynamicResource):
    """Matches the endpoint as the config says *now*; any other path is left alone, so the other APIs keep their own
    404 and 405 answers (the resource is indexed under "/", which the router tries last)."""

    def __init__(self, api):
        web.DynamicResource.__init__(self, "/{snapshots_rest:.*}")
        self.api = api

    def _match(self, path):
        rest = self.api.sub_path(path)
        return None if rest is None else {"snapshots_rest": rest}


class _EndpointDef(web.AbstractRouteDef):
    def __init__(self, api):
        self.api = api

    def register(self, router):
        resource = _EndpointResource(self.api)
        router.register_resource(resource)
        return [resource.add_route("*", self.api.dispatch)]


class SnapshotsApi(object):
    name = "snapshots"

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.tasks = {}             # id -> task, in creation order
        self.requests = []
        self.posts = 0
        self.downloads = 0
        self._blobs = {}            # id -> ExportBlob, the two newest

    @property
    def cfg(self):
        return self.em.config

    # ------------------------------------------------------------ addresses
    def base_path(self):
        path = str(self.cfg.get("snapshots_path") or "/snapshots/api/backup/{token}")
        return "/" + path.replace("{token}", str(self.cfg.get("snapshots_endpoint_token") or "")).strip("/")

    def sub_path(self, path):
        """What follows the endpoint in ``path`` ("" for the endpoint itself), or None for another path."""
        base = self.base_path()
        if path == base:
            return ""
        return path[len(base):] if path.startswith(base + "/") else None

    def site_url(self):
        return "%s://%s:%s" % (self.em.scheme, self.em.host, self.em.site_port)

    def endpoint(self):
        return self.site_url() + self.base_path()

    def status_path(self, task):
        return "%s/%s/%s" % (self.base_path(), "tasks" if task["shape"] == "a" else "exports", task["id"])

    def download_path(self, task):
        return self.status_path(task) + ("/download" if task["shape"] == "a" else "/file")

    # ---------------------------------------------------------------- tasks
    def new_task(self, shape, spaces, status="QUEUED", polls=None, never=None, fail=None, message=None):
        cfg = self.cfg
        task = {"id": str(uuid.uuid4()), "shape": shape, "status": status, "spaces": list(spaces),
                "polls": int((cfg.get("snapshots_task_polls") if polls is None else polls) or 0), "polled": 0,
                "never_finish": bool(cfg.get("snapshots_never_finish") if never is None else never),
                "fail": bool(cfg.get("snapshots_fail") if fail is None else fail),
                "message": message or cfg.get("snapshots_fail_message"), "progress": 0, "created": self.em.now(),
                "downloads": 0, "size": None, "sha256": None,
                # The export's inputs, fixed at creation so its bytes never change.
                "site": cfg.get("snapshots_site") or "example.atlassian.net",
                "zip_size": int(cfg.get("snapshots_zip_size") or 0)}
        if status in TERMINAL:
            self._end(task, status)
        self.tasks[task["id"]] = task
        return task

    def _end(self, task, status):
        task["status"] = status
        task["progress"] = 100 if status == "COMPLETED" else task["progress"]

    def poll(self, task):
        """One status GET, before it is answered: the task ends once ``polls`` GETs were answered while it ran."""
        if task["status"] in TERMINAL:
            return
        if not task["never_finish"] and task["polled"] >= task["polls"]:
            self._end(task, "FAILED" if task["fail"] else "COMPLETED")
            return
        task["status"] = "RUNNING"
        task["progress"] = min(99, 100 * task["polled"] // task["polls"]) if task["polls"] else 0

    def blob(self, task):
        if task["id"] not in self._blobs:
            while len(self._blobs) >= 2:
                self._blobs.pop(next(iter(self._blobs)))
            data = export_zip(task["id"], task["spaces"], task["site"], task["created"], task["zip_size"])
            blob = self._blobs[task["id"]] = ExportBlob(data, zlib.crc32(task["id"].encode("ascii")))
            task.update(size=blob.size, sha256=blob.digest)
        return self._blobs[task["id"]]

    async def blob_async(self, task):
        if task["id"] in self._blobs:
            return self._blobs[task["id"]]
        return await asyncio.get_running_loop().run_in_executor(None, self.blob, task)

    def media_file(self, file_id):
        """The media host's lookup: the export of a COMPLETED task, or None."""
        task = self.tasks.get(file_id)
        if task is None or task["status"] != "COMPLETED":
            return None
        return self.blob(task)

    # ---------------------------------------------------------------- views
    def view(self, task):
        if task["shape"] == "a":
            body = {"taskId": task["id"], "status": task["status"], "progress": task["progress"]}
            if task["status"] == "COMPLETED":
                body["downloadUrl"] = self.site_url() + self.download_path(task)
            elif task["status"] == "FAILED":
                body["error"] = task["message"]
            return self.relink(task, body)
        status = task["status"]
        message = task["message"] if status == "FAILED" else MESSAGES_B[status]
        body = {"id": task["id"], "state": WORDS_B[status], "message": message % task["progress"]
                if status == "RUNNING" else message}
        if status == "COMPLETED":
            body["result"] = {"file": self.download_path(task)}
        return self.relink(task, body)

    def relink(self, task, body):
        """A finished task's link as ``snapshots_done_link`` asks (issue 19; the vendor documents no field):
        ``unlisted`` (an absolute link under a name the module does not list), ``nested`` (one level down, under
        other names), ``only`` (the one URL of a body whose status word is gone too), ``two`` (two different
        links: the module must refuse to guess). None: the shape's own."""
        style = self.cfg.get("snapshots_done_link")
        if not style or task["status"] != "COMPLETED":
            return body
        link = self.site_url() + self.download_path(task)
        body.pop("downloadUrl", None)
        body.pop("result", None)
        if style == "unlisted":
            body["archiveLocation"] = link
        elif style == "nested":
            body["output"] = {"artifact": {"location": link}}
        elif style == "only":
            body = {"taskRef": task["id"], "meta": {"u": link}}
        elif style == "two":
            body["archive"] = {"primaryLocation": link, "mirrorLocation": link + "?mirror=1"}
        return body

    def _error(self, what, *args, **kwargs):
        status, code, text_a, text_b = ERRORS[what]
        if self.cfg.get("snapshots_shape") == "b":
            body = {"error": code, "error_description": text_b % args if args else text_b}
        else:
            body = {"message": text_a % args if args else text_a}
        body.update(kwargs.get("extra") or {})
        return self.em.json_response(body, status=status, headers=kwargs.get("headers"))

    # ------------------------------------------------------------- requests
    def _authorization(self, request):
        scheme = request.headers.get("Authorization", "").strip().partition(" ")[0].lower()
        return "none" if not scheme else ("bearer" if scheme == "bearer" else "other")

    def _auth(self, request):
        """An error answer, or None when the key (and the PAT, if required) is good."""
        key = request.headers.get(self.cfg.get("snapshots_key_header") or "jira-snapshots-api-key")
        if key is None or not _known(key, self.cfg.get("snapshots_api_keys")):
            return self._error("key")
        if self.cfg.get("snapshots_require_pat"):
            scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not _known(token.strip(), self.cfg.get("snapshots_pats")):
                return self._error("pat", headers={"WWW-Authenticate": 'Bearer realm="snapshots"'})
        return None

    async def dispatch(self, request):
        rest = request.match_info["snapshots_rest"]
        header = self.cfg.get("snapshots_key_header") or "jira-snapshots-api-key"
        entry = {"method": request.method, "path": request.path, "key_header_present": header in request.headers,
                 "authorization": self._authorization(request), "status": None}
        self.requests.append(entry)
        if request.method == "POST" and rest == "":
            self.posts += 1
        response = await self._answer(request, rest)
        entry["status"] = response.status
        return response

    async def _answer(self, request, rest):
        if rest == "":
            if request.method != "POST":
                return web.Response(status=405, headers={"Allow": "POST"})
            return self._auth(request) or await self.trigger(request)
        match = _SUB.match(rest)
        kind = match and SUB_SHAPE.get((match.group(1), match.group(3)))
        if not kind:
            return self._error("path")
        if request.method != "GET":
            return web.Response(status=405, headers={"Allow": "GET"})
        refusal = self._auth(request)
        if refusal is not None:
            return refusal
        task = self.tasks.get(match.group(2))
        if task is None or task["shape"] != kind:
            return self._error("task")
        if match.group(3) is None:
            self.poll(task)
            response = self.em.json_response(self.shuffled(task, self.view(task), "status"))
            if task["status"] == "RUNNING":
                task["polled"] += 1
            return response
        if task["status"] != "COMPLETED":
            word = task["status"] if task["shape"] == "a" else WORDS_B[task["status"]]
            return self._error("ready", word)
        if match.group(3) == "download":
            return await self.send_zip(request, task, ranges=True)
        await self.blob_async(task)
        task["downloads"] += 1
        self.downloads += 1
        return web.Response(status=302, headers={"Location": self.em.sign_media_link(task["id"], FILE_NAME)})

    async def _spaces(self, request):
        """(space keys, None) or (None, error answer)."""
        raw = await request.read() if request.can_read_body else b""
        body = {}
        if raw.strip():
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                return None, self._error("json")
            if not isinstance(body, dict):
                return None, self._error("json")
        known = list(self.cfg.get("snapshots_spaces") or [])
        keys = body.get("spaceKeys")
        if keys is None:
            return known, None
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            return None, self._error("keys")
        unknown = [k for k in dict.fromkeys(keys) if k not in known]
        if unknown:
            field = "unknown_space_keys" if self.cfg.get("snapshots_shape") == "b" else "unknownSpaceKeys"
            return None, self._error("unknown", ", ".join(unknown), extra={field: unknown})
        return list(dict.fromkeys(keys)), None

    async def trigger(self, request):
        spaces, refusal = await self._spaces(request)
        if refusal is not None:
            return refusal
        shape = self.cfg.get("snapshots_shape") or "a"
        if shape not in SHAPES:
            return self._error("shape", shape)
        task = self.new_task(shape, spaces)
        if shape == "file":
            if task["fail"]:
                self._end(task, "FAILED")
                return self.em.json_response({"message": task["message"]}, status=500)
            self._end(task, "COMPLETED")
            return await self.send_zip(request, task, ranges=False)
        if shape == "a":
            return self.em.json_response(self.shuffled(task, {"taskId": task["id"], "status": "QUEUED"}, "start"),
                                         status=202, headers={"Location": self.site_url() + self.status_path(task)})
        return self.em.json_response(self.shuffled(task, {"id": task["id"], "state": "pending", "links": {
            "status": self.site_url() + self.status_path(task)}}, "start"))

    def shuffled(self, task, body, where):
        """A start (``where``: start) or status answer, reshaped under ``field_style: shuffled`` (issue 19): the
        task's id, status and link keys renamed, the body maybe nested or wrapped. Not with snapshots_done_link,
        which places the link itself."""
        shuffle = self.em.shuffle("snapshots")
        if shuffle is None or self.cfg.get("snapshots_done_link"):
            return body
        if task["shape"] == "a":
            fields = dict(id_key="taskId", status_key="status", links=("downloadUrl",))
        else:
            fields = dict(id_key="id", status_key="state", links=("result.file",), status_links=("links.status",))
        return shuffle.answer(body, "task", where, "tasks", **fields)

    async def send_zip(self, request, task, ranges):
        blob = await self.blob_async(task)
        headers = {"Content-Disposition": 'attachment; filename="%s"' % FILE_NAME}
        rng = parse_range(request.headers.get("Range"), blob.size) if ranges else None
        if ranges:
            headers["Accept-Ranges"] = "bytes"
        if rng == "bad":
            return web.Response(status=416, headers={"Content-Range": "bytes */%d" % blob.size})
        start, end = rng or (0, blob.size)
        if rng is not None:
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, blob.size)
        task["downloads"] += 1
        self.downloads += 1
        return web.Response(status=206 if rng else 200, body=blob.read(start, end - start),
                            content_type="application/zip", headers=headers)

    # ---------------------------------------------------------------- routes
    def routes(self):
        control = web.RouteTableDef()

        @control.post("/_emulator/snapshots/task")
        async def place_task(request):
            """{status: QUEUED|RUNNING|COMPLETED|FAILED (or b's words), spaces, polls, shape: a|b, never_finish, fail,
            error}: a task made directly, as a POST of that shape would make it."""
            try:
                body = await request.json() if request.can_read_body else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return web.json_response({"ok": False, "error": "send a JSON object"}, status=400)
            status = str(body.get("status") or "COMPLETED")
            status = FROM_B.get(status, status.upper())
            shape = str(body.get("shape") or self.cfg.get("snapshots_shape") or "a")
            known = list(self.cfg.get("snapshots_spaces") or [])
            spaces = body.get("spaces") or known
            if status not in STATUSES or shape not in ("a", "b") or not isinstance(spaces, list) or \
                    any(s not in known for s in spaces):
                return web.json_response({"ok": False, "error": "unknown status, shape (a|b) or space"}, status=400)
            task = self.new_task(shape, spaces, status=status, polls=body.get("polls"),
                                 never=body.get("never_finish"), fail=True if status == "FAILED" else body.get("fail"),
                                 message=body.get("error"))
            answer = {"id": task["id"], "shape": shape, "status": task["status"],
                      "statusUrl": self.site_url() + self.status_path(task),
                      "downloadUrl": self.site_url() + self.download_path(task)}
            return self.em.json_response(answer)

        return list(control) + [_EndpointDef(self)]

    # ---------------------------------------------------------- test control
    def prepare_state(self):
        pass

    def state(self):
        fields = ("id", "shape", "status", "spaces", "polls", "polled", "never_finish", "fail", "progress",
                  "downloads", "size", "sha256")
        tasks = []
        for task in self.tasks.values():
            item = dict((k, task[k]) for k in fields)
            item.update(word=WORDS_B[task["status"]] if task["shape"] == "b" else task["status"],
                        created=iso(task["created"]), error=task["message"] if task["status"] == "FAILED" else None)
            tasks.append(item)
        return {"snapshots": {"posts": self.posts, "tasks": tasks, "requests": list(self.requests),
                              "downloads": self.downloads, "endpoint": self.endpoint()}}


def _known(value, accepted):
    return any(hmac.compare_digest(value.encode("utf-8"), str(good).encode("utf-8")) for good in accepted or ())
