# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The media host: serves the bytes behind signed links, with Range support.

It records what it receives (notably whether an Authorization header arrived,
which must never happen: the signed ``token=`` is the credential) and can drop
a connection after N bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from aiohttp import web

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header, size):
    """(start, end_exclusive) for a single-range header; None for no/ignored range; 'bad' if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # multi-range or garbage: serve the whole file (allowed by RFC 9110)
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0:
            return "bad"
        return max(0, size - length), size
    start = int(first)
    end = min(size, int(last) + 1) if last else size
    if start >= size or end <= start:
        return "bad"
    return start, end


def media_routes(em):
    routes = web.RouteTableDef()

    @routes.get("/file/{file_id}/binary")
    async def binary(request):
        file_id = request.match_info["file_id"]
        entry = {"path": request.path, "authorization": "Authorization" in request.headers,
                 "range": request.headers.get("Range"), "if_range": request.headers.get("If-Range"),
                 "status": None, "bytes_sent": 0}
        em.media_log.append(entry)
        reason = em.check_media_token(file_id, request.query.get("token", ""))
        if reason is not None:
            entry["status"] = 401
            return web.json_response({"error": {"code": "JwtUnauthorized", "title": "Unauthorized",
                                                "detail": "Token %s" % reason}}, status=401)
        blob = None
        for api in em.apis:
            finder = getattr(api, "media_file", None)
            if finder is not None:
                blob = finder(file_id)
                if blob is not None:
                    break
        if blob is None:
            entry["status"] = 404
            return web.json_response({"error": {"code": "FileNotFound", "title": "File not found"}}, status=404)
        size = blob.size
        etag = '"%s-%d-%d"' % (file_id, size, blob.seed)
        rng = parse_range(request.headers.get("Range"), size)
        if_range = request.headers.get("If-Range")
        if rng is not None and if_range and if_range != etag:
            rng = None
        if rng == "bad":
            entry["status"] = 416
            return web.Response(status=416, headers={"Content-Range": "bytes */%d" % size})
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Content-Type": "application/zip",
                   "Content-Disposition": 'attachment; filename="%s"' % request.query.get("name", "backup.zip")}
        if rng is None:
            start, end, status = 0, size, 200
        else:
            start, end = rng
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end - 1, size)
        headers["Content-Length"] = str(end - start)
        entry["status"] = status
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        drop = em.take_fault(request, "media", ("drop",))
        limit = None if drop is None else int(drop.get("after_bytes", 0))
        sent = 0
        for piece in blob.iter_range(start, end, int(em.config["media_chunk"])):
            if limit is not None and sent + len(piece) >= limit:
                cut = max(0, limit - sent)
                if cut:
                    await response.write(piece[:cut])
                    sent += cut
                entry["bytes_sent"] = sent
                entry["dropped"] = True
                request.transport.close()
                return response
            await response.write(piece)
            sent += len(piece)
        entry["bytes_sent"] = sent
        await response.write_eof()
        return response

    return routes
