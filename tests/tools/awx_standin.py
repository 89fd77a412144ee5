# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small stand-in of the AWX API (/api/v2/), enough for awx.awx's credential_type module: what
awx.awx's module_utils/controller_api.py calls (a token from POST /api/v2/tokens/ with basic auth, the version
headers X-API-Product-Name and -Version, list endpoints filtered by name answering count and results, POST to
create, PATCH to update, DELETE of the token at the end). Objects are kept in memory, as they were sent, and
served at GET /_standin/state. It models no other AWX behaviour (no validation, no RBAC, no project syncs).

Run: python awx_standin.py PORT_FILE (listens on a free loopback port and writes it to PORT_FILE).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
import threading

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit
except ImportError:  # pragma: no cover
    pass

VERSION = "24.6.1"


class Store(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {}  # kind -> {id: object}
        self.next_id = 1
        self.writes = []  # (method, path) of every POST, PATCH, PUT and DELETE

    def add(self, kind, data):
        with self.lock:
            obj = dict(data, id=self.next_id, type=kind.rstrip("s"), url="/api/v2/%s/%d/" % (kind, self.next_id),
                       related={})
            self.next_id += 1
            self.objects.setdefault(kind, {})[obj["id"]] = obj
            return obj


def handler_for(store):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", VERSION)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def _parts(self):
            split = urlsplit(self.path)
            parts = [p for p in split.path.split("/") if p]
            return parts, parse_qs(split.query)

        def do_GET(self):
            parts, query = self._parts()
            if parts == ["_standin", "state"]:
                return self._send(200, {"objects": store.objects, "writes": store.writes})
            if parts[:2] != ["api", "v2"]:
                return self._send(404, {"detail": "Not found."})
            if parts[2:] == ["ping"]:
                return self._send(200, {"version": VERSION})
            if len(parts) == 3:
                items = list(store.objects.get(parts[2], {}).values())
                for key, values in query.items():
                    if key in ("page_size", "page"):
                        continue
                    field = key.split("__")[0]
                    items = [o for o in items if str(o.get(field)) == values[0]]
                return self._send(200, {"count": len(items), "next": None, "previous": None, "results": items})
            if len(parts) == 4 and parts[3].isdigit():
                obj = store.objects.get(parts[2], {}).get(int(parts[3]))
                return self._send(200, obj) if obj else self._send(404, {"detail": "Not found."})
            return self._send(404, {"detail": "Not found."})

        def do_POST(self):
            parts, _query = self._parts()
            body = self._body()
            store.writes.append(("POST", self.path))
            if parts[2:] == ["tokens"]:
                return self._send(201, {"id": 1, "token": "standin-token"})
            if len(parts) == 3:
                return self._send(201, store.add(parts[2], body))
            return self._send(404, {"detail": "Not found."})

        def do_PATCH(self):
            parts, _query = self._parts()
            body = self._body()
            store.writes.append(("PATCH", self.path))
            obj = store.objects.get(parts[2], {}).get(int(parts[3])) if len(parts) == 4 else None
            if obj is None:
                return self._send(404, {"detail": "Not found."})
            obj.update(body)
            return self._send(200, obj)

        do_PUT = do_PATCH

        def do_DELETE(self):
            parts, _query = self._parts()
            if parts[2:3] != ["tokens"]:
                store.writes.append(("DELETE", self.path))
            return self._send(204)

    return Handler


def serve(port=0):
    """Start the stand-in in a thread; return (server, store). ``server.server_address[1]`` is the port."""
    store = Store()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, store


if __name__ == "__main__":
    srv, _store = serve()
    with open(sys.argv[1], "w") as out:
        out.write(str(srv.server_address[1]))
    threading.Event().wait()
