# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streamed multipart uploads: a (huge) local file sent as ``multipart/form-data`` without reading it into memory.

No Ansible imports. Guarantees:

* memory stays constant: ``requests-toolbelt``'s ``MultipartEncoder`` reads the file as the socket takes it,
  in pieces of ``chunk_size`` (1 MiB), whatever the file size;
* the request carries a ``Content-Length`` (the encoder knows the body's length up front), never
  ``Transfer-Encoding: chunked``, which many reverse proxies in front of Data Center refuse;
* credentials go to the client's own host only (the client adds them per request);
* ``on_progress(sent, total, seconds)`` is called as the body goes out, for progress logs;
* a POST that may have reached the server is not sent again: the client retries it only when the server
  certainly did not act on it (HTTP 429, or a connection never established), and then the body is read again
  from the start of the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback
import uuid

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError

try:
    from requests_toolbelt.multipart.encoder import MultipartEncoder
    HAS_TOOLBELT = True
    TOOLBELT_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    MultipartEncoder = None
    HAS_TOOLBELT = False
    TOOLBELT_IMPORT_ERROR = traceback.format_exc()

UPLOAD_CHUNK = 1024 * 1024
# After the last byte the server stores and checks the file before it answers: wait at least this long.
MIN_ANSWER_TIMEOUT = 600


class UploadError(AtlassianError):
    """An upload failed before the server answered; ``sent`` says how far it got."""

    def __init__(self, message, method="POST", url=None, sent=0):
        super(UploadError, self).__init__(message, method, url)
        self.sent = sent

    def to_dict(self):
        data = super(UploadError, self).to_dict()
        data["uploaded_bytes"] = self.sent
        return data


class MultipartBody(object):
    """One file as a ``multipart/form-data`` body: an iterable of pieces with a length, readable again.

    ``requests`` sends an iterable that has a length with ``Content-Length`` and hands its pieces to the socket
    as they come; iterating again (a retry) starts again from the first byte of the file.
    """

    def __init__(self, path, field="file", file_name=None, content_type="application/zip", chunk_size=UPLOAD_CHUNK,
                 on_bytes=None):
        if not HAS_TOOLBELT:
            raise AtlassianError("The Python library 'requests-toolbelt' is required for uploads.")
        self.path = path
        self.field = field
        self.file_name = file_name or os.path.basename(path)
        self.file_type = content_type
        self.chunk_size = int(chunk_size)
        self.on_bytes = on_bytes
        self.boundary = uuid.uuid4().hex
        self.sent = 0
        with open(path, "rb") as handle:
            self.length = self._encoder(handle).len

    def _encoder(self, handle):
        return MultipartEncoder(fields={self.field: (self.file_name, handle, self.file_type)}, boundary=self.boundary)

    @property
    def content_type(self):
        return "multipart/form-data; boundary=%s" % self.boundary

    def __len__(self):
        return self.length

    def __iter__(self):
        self.sent = 0
        with open(self.path, "rb") as handle:
            encoder = self._encoder(handle)
            while True:
                piece = encoder.read(self.chunk_size)
                if not piece:
                    break
                self.sent += len(piece)
                if self.on_bytes is not None:
                    self.on_bytes(self.sent, self.length)
                yield piece
        if self.sent != self.length:
            raise AtlassianError("%s changed while it was being uploaded (%d bytes sent, %d expected)." % (
                self.path, self.sent, self.length))


class Uploader(object):
    """POST a local file as multipart/form-data through the client, with progress."""

    def __init__(self, client, chunk_size=UPLOAD_CHUNK, on_progress=None, progress_every=0.1):
        self.client = client
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.progress_every = float(progress_every)

    def upload(self, path, target, field="file", content_type="application/zip", headers=None, expected=None):
        """Send ``path`` to ``target`` (a path on the client's site); return ``(response, info)``.

        ``info``: size (of the file), body_bytes, seconds (until the answer), send_seconds, bytes_per_second.
        The response is open (``stream=True``): the caller reads its JSON.
        """
        clock = self.client.clock
        size = os.path.getsize(path)
        marks = {"next": 0.0, "start": None, "sent_at": None}

        def on_bytes(sent, total):
            if marks["start"] is None:
                marks["start"] = clock()
            if sent >= total:
                marks["sent_at"] = clock()
            if self.on_progress is not None and (sent >= total or sent >= marks["next"] * total):
                self.on_progress(sent, total, clock() - marks["start"])
                while marks["next"] * total <= sent and marks["next"] <= 1.0:
                    marks["next"] += self.progress_every

        body = MultipartBody(path, field=field, content_type=content_type, chunk_size=self.chunk_size,
                             on_bytes=on_bytes)
        send_headers = {"Content-Type": body.content_type}
        send_headers.update(headers or {})
        started = clock()
        timeout = (self.client.timeout, max(self.client.timeout, MIN_ANSWER_TIMEOUT))
        try:
            response = self.client.request("POST", target, data=body, headers=send_headers, stream=True,
                                           timeout=timeout, expected=expected)
        except AtlassianError as exc:
            if body.sent and body.sent < body.length and getattr(exc, "status", None) is None:
                raise UploadError("The upload of %s stopped after %d of %d bytes: %s. Nothing was restored; run the "
                                  "task again to send it again." % (path, body.sent, body.length, exc.message),
                                  url=exc.url, sent=body.sent)
            raise
        ended = clock()
        seconds = max(ended - started, 1e-9)
        send_seconds = max((marks["sent_at"] or ended) - (marks["start"] or started), 1e-9)
        return response, {
            "size": size,
            "body_bytes": body.length,
            "seconds": round(seconds, 3),
            "send_seconds": round(send_seconds, 3),
            "bytes_per_second": int(size / send_seconds),
        }
