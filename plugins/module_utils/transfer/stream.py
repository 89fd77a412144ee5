# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One sequential stream, for servers that give no length or ignore ranges.

It resumes with ``Range``/``If-Range`` and starts over from zero on a 200. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    FATAL_ERRNOS,
    TRANSFER_ERRORS,
    DownloadError,
    VerificationError,
    _Hasher,
    _Retryable,
    _describe,
    _int_header,
    _write_all,
    _write_state,
    hash_prefix,
    parse_content_range,
)

_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$")


class _Stream(object):
    """One sequential stream: for servers that give no length or ignore ranges.

    It resumes with ``Range``/``If-Range`` when a later answer is a 206, and
    starts over from zero when the server sends the whole file again. Its
    progress (offset, digest, ETag, total) lives on the instance, so an answer
    that restarts from zero and then breaks off never leaves an old digest
    paired with a new offset.
    """

    def __init__(self, job):
        self.job = job
        job.mode = "stream"
        job.connections_used = 1
        self.offset, self.digest, self.etag, self.total = 0, hashlib.sha256(), None, None

    @classmethod
    def resume(cls, job, state):
        have = os.path.getsize(job.part)
        total = state.get("total")
        if have <= 0 or (total is not None and have > total):
            return None
        try:
            digest = hash_prefix(job.part, have, job.dl.chunk_size)
        except (IOError, OSError):
            return None
        job.resumed_from = have
        return cls(job).run(have, digest, state.get("etag"), total)

    def run(self, offset, digest, etag, total, first=None):
        job = self.job
        self.offset, self.digest, self.etag, self.total = offset, digest, etag, total
        os.ftruncate(job.fd, offset)
        stalled = 0
        last_error = job.last_open_error
        response = first
        while True:
            if response is None and (job.attempts >= job.dl.max_attempts or stalled >= job.dl.stall_attempts):
                job.bytes_kept = self.offset
                raise DownloadError(
                    "Download of %s stopped after %d attempts at %d of %s bytes: %s." % (
                        job.safe_url, job.attempts, self.offset, self.total if self.total is not None else "?",
                        last_error), job.safe_url, resumable=True, partial=job.part)
            before = self.offset
            try:
                if response is None:
                    headers = {}
                    if self.offset > 0:
                        headers["Range"] = "bytes=%d-" % self.offset
                        if self.etag:
                            headers["If-Range"] = self.etag
                    response = job.open(job.source, headers, site=True)
                    if response is None:
                        raise _Retryable(job.last_open_error)
                self._take(response)
                job.add_transferred(max(0, self.offset - before))
                break
            except _Retryable as exc:
                last_error = exc.reason
                if not job.replayable:
                    # An answer already open (the reply to a POST) cannot be asked for again: no wait, no retry.
                    raise DownloadError("The answer of %s broke off after %d bytes (%s); it cannot be asked for "
                                        "again. Nothing was kept; run the task again." % (
                                            job.safe_url, self.offset, last_error), job.safe_url)
                if exc.restart:
                    self._restart()
                job.add_transferred(max(0, self.offset - before))
                stalled = 0 if self.offset > before else stalled + 1
                job.bytes_kept = self.offset
                job.backoff(stalled, exc.delay, last_error)
            finally:
                if response is not None:
                    response.close()
                    response = None
        job.total = self.total
        if self.total is not None and self.offset != self.total:
            raise VerificationError("Downloaded %d bytes of %s but the server announced %d." % (
                self.offset, job.safe_url, self.total), job.safe_url)
        return self.offset, self.digest

    def _restart(self):
        os.ftruncate(self.job.fd, 0)
        self.offset, self.digest, self.etag, self.total = 0, hashlib.sha256(), None, None

    def _take(self, response):
        job = self.job
        status = response.status_code
        if status == 416 and self.offset > 0:
            match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
            if match and int(match.group(1)) == self.offset:
                self.total = self.offset
                return
            # The server does not know that range any more: start over.
            raise _Retryable("HTTP 416 for a resume at %d" % self.offset, 0, restart=True)
        if status not in (200, 206) and (job.replayable or not 200 <= status < 300):
            job.classify(response)
        if status == 206:
            rng = parse_content_range(response.headers.get("Content-Range"))
            if not rng or rng[0] != self.offset:
                raise _Retryable("the server answered a range we did not ask for", 0, restart=True)
            self.total = rng[2]
        else:
            if self.offset > 0:
                # The server ignored Range (or the file changed): start from zero.
                self._restart()
            self.total = _int_header(response, "Content-Length")
        self.etag = response.headers.get("ETag") or None
        job.total = self.total
        _write_state(job.state_path, {"identity": job.identity, "mode": "stream", "etag": self.etag,
                                      "total": self.total})
        os.lseek(job.fd, self.offset, os.SEEK_SET)
        hasher = _Hasher(self.digest)
        try:
            for block in _blocks(response, job.dl.chunk_size):
                _write_all(job.fd, block)
                hasher.feed(block)
                self.offset += len(block)
                if job.dl.on_progress:
                    job.dl.on_progress(self.offset, self.total)
        except (OSError, IOError) as exc:
            if getattr(exc, "errno", None) in FATAL_ERRNOS:
                raise
            raise _Retryable(_describe(exc))
        except TRANSFER_ERRORS as exc:
            raise _Retryable(_describe(exc))
        finally:
            # Every block fed is hashed before the digest is used or handed on.
            hasher.finish()
            job.bytes_kept = self.offset
        if self.total is not None and self.offset < self.total:
            raise _Retryable("connection closed at %d of %d bytes" % (self.offset, self.total))


def _blocks(response, size):
    raw = response.raw
    while True:
        block = raw.read(size, decode_content=False)
        if not block:
            return
        yield block
