# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one download engine: fetch a (huge) file to disk, fast, verified and atomic.

No Ansible imports. Guarantees:

* memory stays constant (a few fixed-size buffers per connection), whatever
  the file size;
* bytes go to ``<final>.part`` in the destination folder (mode 0600), sha256 is
  computed while writing, the size is checked against Content-Length or
  Content-Range, the file is fsynced, an optional ``verify`` callback checks
  the content, and only then is it renamed atomically to the final name;
* when the server answers ranges and gives a length, ``connections`` ranged
  requests fill a preallocated ``.part`` in place (:class:`_Ranged`); a state
  file lists the segments, so a stopped run fetches only what is missing;
  otherwise one stream is used (:class:`_Stream`), which resumes with
  ``Range``/``If-Range`` and restarts from zero on a 200;
* the first request goes to the site's download URL; its redirect target (the
  signed media link) is reused until the media host refuses it, and then a
  fresh one is fetched from the site, mid-transfer if need be;
* Authorization goes to the site only: redirects are followed by the client,
  which adds credentials for its own host alone;
* a failure that cannot be resumed (wrong size, failed verification, the file
  is gone, disk full) removes the partial file; one that can (connection lost
  after all retries) keeps it, with a small state file, for the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import threading

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    AtlassianConnectionError,
    AtlassianError,
    AtlassianTimeout,
    backoff_delay,
    excerpt,
    tls_error,
    parse_retry_after,
    redact_url,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    CHUNK_SIZE,
    SSLError,
    TRANSFER_ERRORS,
    DownloadError,
    VerificationError,
    _Retryable,
    _describe,
    _fsync_dir,
    _int_header,
    _read_state,
    _remove,
    parse_content_range,
    part_paths,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.ranged import (
    MIN_SPLIT,
    SEGMENT_SIZE,
    _Ranged,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.stream import _Stream


class Downloader(object):
    """Download ``source`` (a path on the client's site or an absolute URL).

    ``connections`` is how many ranged requests run at once when the server
    answers ranges and gives a length; otherwise one stream is used.
    """

    def __init__(self, client, connections=1, chunk_size=CHUNK_SIZE, segment_size=SEGMENT_SIZE,
                 max_attempts=None, stall_attempts=None, sleep=None, clock=None, on_progress=None,
                 checkpoint_interval=0.25, sync_interval=30.0):
        self.client = client
        self.connections = max(1, int(connections))
        self.chunk_size = int(chunk_size)
        self.segment_size = max(int(segment_size), MIN_SPLIT)
        # Attempts that made no progress are bounded by the client's retries;
        # attempts that moved bytes forward are bounded more generously.
        self.stall_attempts = client.retries + 1 if stall_attempts is None else int(stall_attempts)
        self.max_attempts = max_attempts or max(50, self.stall_attempts * 4)
        self.sleep = sleep or client.sleep
        self.clock = clock or client.clock
        self.on_progress = on_progress
        self.checkpoint_interval = float(checkpoint_interval)
        self.sync_interval = float(sync_interval)

    def download(self, source, final_path, identity=None, resume=True, verify=None, deadline=None, first=None):
        """Return a dict: path, size, sha256, attempts, resumed_from, seconds, bytes_per_second, ...

        ``identity`` names what is being downloaded (for example the server's
        file name): a ``.part`` left by another download is never resumed.
        ``verify(part_path)`` may raise :class:`VerificationError`.
        ``first`` is an answer already open that carries the file (the reply to a POST): it is read as one stream,
        verified and renamed like any download, and never asked for again (a break fails the download, with no
        partial file kept); ``source`` then only names it in messages.
        """
        directory = os.path.dirname(os.path.abspath(final_path))
        if not os.path.isdir(directory):
            raise DownloadError("The destination folder %s does not exist." % directory)
        part, state_path = part_paths(final_path)
        job = _Job(self, source, part, state_path, identity, deadline)
        job.replayable = first is None
        fd = None
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            job.fd = fd
            state = _read_state(state_path) if resume and first is None else None
            outcome = None
            if first is not None:
                outcome = _Stream(job).run(0, hashlib.sha256(), None, None, first=first)
            elif state and state.get("identity") == identity:
                if state.get("mode") == "ranges":
                    outcome = _Ranged.resume(job, state)
                else:
                    outcome = _Stream.resume(job, state)
            if outcome is None:
                outcome = self._fresh(job)
            size, digest = outcome
            transfer_seconds = self.clock() - job.started
            os.fsync(fd)
            if job.leaked:
                fd = None  # a worker that did not stop in time may still hold it
            else:
                os.close(fd)
                fd = None
            if verify is not None:
                verify(part)
            os.replace(part, final_path)
            _fsync_dir(directory)
            _remove(state_path)
        except VerificationError:
            self._discard(job, fd, part, state_path)
            raise
        except DownloadError as exc:
            self._close(job, fd)
            if not exc.resumable or not job.kept_bytes():
                # Nothing worth resuming: leave no partial file behind, and do not offer to resume from it.
                _remove(part, state_path)
                if exc.resumable:
                    exc.drop_partial()
            raise
        except AtlassianError as exc:
            # Refused outright (HTTP status, TLS): keep bytes worth resuming, unless the file is gone.
            self._close(job, fd)
            if getattr(exc, "status", None) in (404, 410) or not job.kept_bytes():
                _remove(part, state_path)
            raise
        except (OSError, IOError) as exc:
            self._discard(job, fd, part, state_path)
            code = getattr(exc, "errno", None)
            if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                what = {errno.ENOSPC: "No space left on the device", errno.EDQUOT: "Disk quota exceeded",
                        errno.EFBIG: "File too large for this file system or the process's file size limit"}[code]
                raise DownloadError("%s while writing %s; the partial file was removed and nothing else was "
                                    "touched. Free space (the backup needs %s bytes) and run again." % (
                                        what, part, job.total if job.total is not None else "an unknown number of"),
                                    job.safe_url)
            raise DownloadError("Could not write %s: %s" % (part, exc), job.safe_url)
        except BaseException:
            self._close(job, fd)
            raise
        seconds = max(self.clock() - job.started, 1e-9)
        return {
            "path": final_path,
            "size": size,
            "sha256": digest.hexdigest(),
            "attempts": job.attempts,
            "resumed_from": job.resumed_from,
            "seconds": round(seconds, 3),
            "bytes_per_second": int(job.transferred / seconds),
            "transfer_seconds": round(transfer_seconds, 3),
            "connections": job.connections_used,
            "mode": job.mode,
            "link_refreshes": job.link_refreshes,
        }

    def _fresh(self, job):
        """First request for the whole file: it decides between ranged parts and one stream."""
        os.ftruncate(job.fd, 0)
        # With several connections the first request asks for exactly the first segment of a large
        # file, so that answer is read to its end and its connection is reused for the next segment.
        probe = "bytes=0-" if self.connections == 1 else "bytes=0-%d" % (self.segment_size - 1)
        response = job.open(job.source, {"Range": probe}, site=True)
        if response is None:
            # Refused or failed before any byte arrived: the stream engine retries and reports.
            return _Stream(job).run(0, hashlib.sha256(), None, None)
        status = response.status_code
        length = _int_header(response, "Content-Length")
        total = None
        if status == 206:
            rng = parse_content_range(response.headers.get("Content-Range"))
            if rng and rng[0] == 0:
                total = rng[2]
        elif status == 200 and response.headers.get("Accept-Ranges", "").strip().lower() == "bytes":
            total = length
        if status == 206 and total is None and probe != "bytes=0-":
            # A range of a file of unknown size: the rest cannot be planned. Ask for all of it instead.
            response.close()
            return _Stream(job).run(0, hashlib.sha256(), None, None)
        if total is None or total == 0 or status not in (200, 206):
            # No ranges or no length: one stream, as the server sends it.
            return _Stream(job).run(0, hashlib.sha256(), None, None, first=response)
        etag = response.headers.get("ETag") or None
        ranged = _Ranged(job, total, etag, _plan(total, self.connections, self.segment_size))
        ranged.media_url = response.url
        return ranged.run(first=response)

    @staticmethod
    def _close(job, fd):
        if fd is not None and not job.leaked:
            try:
                os.close(fd)
            except OSError:
                pass

    def _discard(self, job, fd, part, state_path):
        self._close(job, fd)
        _remove(part, state_path)


def _plan(total, connections, segment_size):
    """Segments [start, end, written] for a new ranged download."""
    if connections <= 1:
        return [[0, total, 0]]
    size = max(MIN_SPLIT, min(segment_size, -(-total // connections)))
    return [[start, min(total, start + size), 0] for start in range(0, total, size)]


class _Job(object):
    """What one download shares between its engines and threads."""

    def __init__(self, downloader, source, part, state_path, identity, deadline):
        self.dl = downloader
        self.client = downloader.client
        self.source = source
        self.part = part
        self.state_path = state_path
        self.identity = identity
        self.deadline = deadline
        self.safe_url = redact_url(self.client.url_for(source))
        self.started = self.clock()
        self.fd = None
        self.total = None
        self.attempts = 0
        self.transferred = 0
        self.resumed_from = 0
        self.link_refreshes = 0
        self.connections_used = 1
        self.mode = "stream"
        self.leaked = False
        self.lock = threading.Lock()
        self.bytes_kept = None
        self.last_open_error = None
        self.replayable = True

    def clock(self):
        return self.dl.clock()

    def kept_bytes(self):
        """Whether the partial file holds anything worth resuming."""
        if self.bytes_kept is not None:
            return self.bytes_kept > 0
        try:
            return os.path.getsize(self.part) > 0
        except OSError:
            return False

    def count_attempt(self):
        with self.lock:
            self.attempts += 1
            return self.attempts

    def add_transferred(self, count):
        with self.lock:
            self.transferred += count

    def open(self, url, headers, site=False, session=None):
        """GET with our download headers, following redirects; None if it could not connect."""
        merged = {"Accept": "*/*", "Accept-Encoding": "identity"}
        merged.update(headers)
        self.count_attempt()
        try:
            if site:
                with self.lock:
                    self.link_refreshes += 1
                return self.client.resolve_redirects(url, headers=merged, session=session)
            return self.client._send("GET", url, headers=merged, stream=True, timeout=self.client.timeout,
                                     session=session)
        except (AtlassianConnectionError, AtlassianTimeout) as exc:
            self.last_open_error = exc.message
        except TRANSFER_ERRORS as exc:
            if SSLError is not None and isinstance(exc, SSLError):
                # Not transient: no retry makes an untrusted certificate trusted.
                raise tls_error(exc, "GET", url if not site else self.client.url_for(url))
            self.last_open_error = _describe(exc)
        return None

    def backoff(self, stalled, delay, reason):
        """Sleep before the next attempt, or raise when the deadline would pass."""
        if delay is None:
            delay = backoff_delay(stalled, self.client.retry_base_delay, self.client.retry_max_delay,
                                  self.client.rand)
        if self.deadline is not None and self.clock() + delay >= self.deadline:
            raise DownloadError("Download of %s ran out of time: %s. Run the task again to resume." % (
                self.safe_url, reason), self.safe_url, resumable=True)
        self.client._notify(self.attempts, delay, "download: %s" % reason, "GET", self.safe_url)
        self.dl.sleep(delay)

    def classify(self, response):
        """Raise _Retryable or AtlassianApiError for an answer that carries no bytes for us."""
        status = response.status_code
        if status in (401, 403, 410) and not self.client.is_own_host(response.url):
            raise _Retryable("media host answered HTTP %d (expired link?)" % status,
                             parse_retry_after(response.headers.get("Retry-After")), expired=True)
        if status in (429, 500, 502, 503, 504):
            raise _Retryable("HTTP %d" % status, parse_retry_after(response.headers.get("Retry-After")))
        raise AtlassianApiError(status, "GET", redact_url(response.url), response.reason or "",
                                excerpt(response, self.client.secrets))
