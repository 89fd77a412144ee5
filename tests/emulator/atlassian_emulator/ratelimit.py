# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Cloud's rate limiting of REST requests, on the emulator's clock, and 503 storms.

``v2_rate_limit`` (config, ``POST /_emulator/config``): ``None`` (off) or ``{"requests": N, "window_seconds": W,
"per": "user"|"site", "match": regex}``. A client (the Basic user, or every client together with ``per: site``) may
send N requests matching ``match`` (default: the Cloud site's ``/wiki/api/v2/`` and ``/wiki/download/``) per window;
its window starts at its first request and lasts W seconds of the emulator's clock. The next ones answer 429
``{"message": "Rate limit exceeded."}`` with ``Retry-After`` (whole seconds until the window ends),
``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0``, ``X-RateLimit-Reset`` (ISO 8601, ``yyyy-MM-ddTHH:mmZ``) and
``RateLimit-Reason``; a 429 does not count. Answers let through carry ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and, when less than a fifth remains, ``X-RateLimit-NearLimit: true``.

A storm (``POST /_emulator/rest_v2/storm``): the next ``count`` matching requests (or, with ``every: k``, every k-th
of them) answer ``status`` (503) with ``Retry-After``. Sources: ``docs/emulator_evidence.md``, "REST API v2 content".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import math
import re

from aiohttp import web

DEFAULT_MATCH = r"^/(?:sites/[^/]+/)?wiki/(?:api/v2/|download/)"
REASON = "confluence-burst-based"


def client_of(request):
    """The Basic user name of a request (the credential itself is never kept), else its peer address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            return "user:" + base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return "user:?"
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return "peer:%s" % (peer[0] if peer else "?")


def reset_stamp(seconds):
    """``X-RateLimit-Reset``'s form, ``yyyy-MM-ddTHH:mmZ``."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


class RateLimiter(object):
    """Fixed windows per client on the emulator's clock, and the storm; a site middleware."""

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.windows = {}        # client -> [window start, requests counted]
        self.storm = None        # {"status", "retry_after", "count", "every", "seen"}
        self.limited = 0         # 429s answered
        self.stormed = 0         # storm answers

    def set_storm(self, body):
        count = body.get("count")
        every = body.get("every")
        if count is None and every is None:
            self.storm = None
            return None
        self.storm = {"status": int(body.get("status", 503)), "retry_after": body.get("retry_after", 1),
                      "count": None if count is None else int(count), "every": int(every) if every else None,
                      "seen": 0, "match": body.get("match") or DEFAULT_MATCH}
        return dict(self.storm)

    def state(self):
        return {"limited": self.limited, "stormed": self.stormed, "storm": self.storm,
                "windows": dict((k, list(v)) for k, v in self.windows.items())}

    def _storm_answer(self, request):
        storm = self.storm
        if storm is None or not re.search(storm["match"], request.path):
            return None
        storm["seen"] += 1
        if storm["every"] and storm["seen"] % storm["every"]:
            return None
        if storm["count"] is not None:
            if storm["count"] <= 0:
                return None
            storm["count"] -= 1
        self.stormed += 1
        headers = {"Retry-After": str(storm["retry_after"])} if storm["retry_after"] is not None else {}
        return web.Response(status=storm["status"], headers=headers, content_type="text/html",
                            text="<html><body><h1>%d Service Unavailable</h1></body></html>" % storm["status"])

    def _limit(self, request):
        """None when the request may go on, else (429 answer); and the headers for an answer let through."""
        rule = self.em.config.get("v2_rate_limit")
        if not rule or not re.search(rule.get("match") or DEFAULT_MATCH, request.path):
            return None, {}
        limit, window = int(rule.get("requests", 100)), float(rule.get("window_seconds", 1))
        client = "site" if rule.get("per") == "site" else client_of(request)
        now = self.em.now()
        found = self.windows.get(client)
        if found is None or now >= found[0] + window:
            found = self.windows[client] = [now, 0]
        ends = found[0] + window
        if found[1] >= limit:
            self.limited += 1
            wait = max(1, int(math.ceil(ends - now)))
            return web.Response(status=429, content_type="application/json", text='{"message":"Rate limit exceeded."}',
                                headers={"Retry-After": str(wait), "X-RateLimit-Limit": str(limit),
                                         "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_stamp(now + wait),
                                         "RateLimit-Reason": REASON}), {}
        found[1] += 1
        remaining = limit - found[1]
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}
        if remaining < limit / 5.0:
            headers["X-RateLimit-NearLimit"] = "true"
        return None, headers

    def middleware(self):
        @web.middleware
        async def limiter(request, handler):
            if request.path.startswith("/_emulator"):
                return await handler(request)
            answer = self._storm_answer(request)
            if answer is not None:
                return answer
            answer, headers = self._limit(request)
            if answer is not None:
                return answer
            response = await handler(request)
            response.headers.update(headers)
            return response
        return limiter
