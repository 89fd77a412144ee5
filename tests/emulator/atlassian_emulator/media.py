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

import asyncio
import re
import time

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


class _Bucket(object):
    """A shared byte budget per second (the media host's total speed cap)."""

    def __init__(self):
        self.next_free = 0.0

    async def take(self, loop, count, rate):
        now = loop.time()
        start = max(now, self.next_free)
        self.next_free = start + count / float(rate)
        if start > now:
            await asyncio.sleep(start - now)


def _pace_piece(rate):
    # Small enough that pacing is smooth (about 50 pieces per second), never above 1 MiB.
    return max(16 * 1024, min(1024 * 1024, int(rate / 50))) if rate else 1024 * 1024


def media_routes(em):
    routes = web.RouteTableDef()

    @routes.get("/file/{file_id}/binary")
    async def binary(request):
        file_id = request.match_info["file_id"]
        peer = request.transport.get_extra_info("peername") if request.transport else None
        entry = {"path": request.path, "authorization": "Authorization" in request.headers,
                 "range": request.headers.get("Range"), "if_range": request.headers.get("If-Range"),
                 "status": None, "bytes_sent": 0, "peer_port": peer[1] if peer else None,
                 "started": time.monotonic(), "finished": None,
                 "header_names": sorted(name.lower() for name in request.headers)}
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
        config = em.config
        ranges = config.get("media_ranges", True)
        if ranges == "alternate":
            # A pool of servers behind one name, half of which ignore Range: odd requests get the whole file.
            ranges = len(em.media_log) % 2 == 0
        send_length = config.get("media_content_length", True)
        size = blob.size
        etag = '"%s-%d-%d"' % (file_id, size, blob.seed)
        rng = parse_range(request.headers.get("Range"), size) if ranges else None
        if_range = request.headers.get("If-Range")
        if rng is not None and if_range and if_range != etag:
            rng = None
        if rng == "bad":
            entry["status"] = 416
            return web.Response(status=416, headers={"Content-Range": "bytes */%d" % size})
        headers = {"ETag": etag, "Content-Type": getattr(blob, "media_type", None) or "application/zip",
                   "Content-Disposition": 'attachment; filename="%s"' % request.query.get("name", "backup.zip")}
        if ranges:
            headers["Accept-Ranges"] = "bytes"
        if rng is None:
            start, end, status = 0, size, 200
        else:
            start, end = rng
            status = 206
            # Without a length the server does not say how large the whole file is either.
            headers["Content-Range"] = "bytes %d-%d/%s" % (start, end - 1, size if send_length else "*")
        if send_length:
            headers["Content-Length"] = str(end - start)
        entry["status"] = status
        # A blob with open() (rest_v2's attachments) is read as it is sent; the others are cached once on disk.
        opener = getattr(blob, "open", None)
        path = None if opener is not None else await em.media_cache_path(blob)
        if opener is not None:
            config = dict(config, media_sendfile=False)
        response = web.StreamResponse(status=status, headers=headers)
        if not send_length:
            response.enable_chunked_encoding()
        await response.prepare(request)

        # A "hold" fault: after_bytes are sent, then the answer waits (connection open, silent) until the test
        # releases it by name (POST /_emulator/release), and then goes on to its end. No timing involved.
        hold = em.take_fault(request, "media", ("hold",))
        if hold is not None:
            held_at = min(end, start + int(hold.get("after_bytes", 0)))
            name = str(hold.get("name", "hold"))
            loop = asyncio.get_running_loop()
            with (opener() if opener is not None else open(path, "rb")) as handle:
                sent = await _send(request, response, handle, start, held_at, 0, 0, em, loop,
                                   use_sendfile=send_length and config.get("media_sendfile", True))
            entry["bytes_sent"] = sent
            entry["held"] = name
            await em.hold_event(name).wait()
            entry["released"] = True
            start = held_at
        else:
            sent = 0

        # Where this answer stops early: an armed "drop" fault, or a random drop.
        limit = None
        drop = em.take_fault(request, "media", ("drop",))
        if drop is not None:
            limit = int(drop.get("after_bytes", 0))
        elif float(config.get("media_drop_probability") or 0) > 0 and end - start > 1:
            if em.rng.random() < float(config["media_drop_probability"]):
                limit = em.rng.randrange(0, end - start)
                em.fault_log.append({"kind": "random_drop", "path": request.path, "host": "media",
                                     "after_bytes": limit})
        stop_at = end if limit is None else start + limit
        per_connection = float(config.get("media_rate_per_connection") or 0)
        total_rate = float(config.get("media_rate_total") or 0)
        loop = asyncio.get_running_loop()
        with (opener() if opener is not None else open(path, "rb")) as handle:
            sent += await _send(request, response, handle, start, stop_at, per_connection, total_rate,
                                em, loop, use_sendfile=send_length and config.get("media_sendfile", True))
        entry["bytes_sent"] = sent
        if drop is not None and drop.get("advance_seconds"):
            # Time passes at the cut (as on a slow link): signed links given out before it may now be expired.
            em.clock_offset += float(drop["advance_seconds"])
        if drop is not None and drop.get("hold_seconds"):
            # A stall, not a cut: the connection stays open and silent (tests kill the client meanwhile).
            await asyncio.sleep(float(drop["hold_seconds"]))
        entry["finished"] = time.monotonic()
        if limit is not None:
            entry["dropped"] = True
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response

    return routes


async def _send(request, response, handle, start, stop_at, per_connection, total_rate, em, loop, use_sendfile):
    """Send bytes [start, stop_at) of the cached file, paced by the speed caps."""
    transport = request.transport
    piece = _pace_piece(min(r for r in (per_connection, total_rate, 0) if r) if (per_connection or total_rate)
                        else 0)
    paced = bool(per_connection or total_rate)
    began = loop.time()
    sent = 0
    position = start
    while position < stop_at:
        if transport is None or transport.is_closing():
            break
        count = min(piece if paced else stop_at - position, stop_at - position)
        if per_connection:
            due = began + sent / per_connection
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        if total_rate:
            await em.total_bucket.take(loop, count, total_rate)
        try:
            if use_sendfile:
                await loop.sendfile(transport, handle, position, count)
            else:
                handle.seek(position)
                remaining = count
                while remaining:
                    block = handle.read(min(remaining, 1024 * 1024))
                    if not block:
                        break
                    await response.write(block)
                    remaining -= len(block)
        except (ConnectionError, RuntimeError):
            break
        sent += count
        position += count
    return sent
