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
import http.client
import json
import os
import re
import threading
import time

try:
    import queue
except ImportError:  # pragma: no cover - Python 2
    import Queue as queue  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils._client import (
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

try:
    from requests.exceptions import RequestException, SSLError
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    TRANSFER_ERRORS = (RequestException, Urllib3HTTPError, http.client.HTTPException, OSError)
except ImportError:  # pragma: no cover - requests is checked by the module
    TRANSFER_ERRORS = (http.client.HTTPException, OSError)
    SSLError = None

CHUNK_SIZE = 1024 * 1024
# Ranged downloads: segments are taken in order, so the sha256 front stays
# close behind the writers and reads back from the page cache, not the disk.
SEGMENT_SIZE = 32 * 1024 * 1024
MIN_SPLIT = 2 * 1024 * 1024
ALIGN = 64 * 1024
JOIN_SECONDS = 5.0
SPARE_WAIT = 1.0
FATAL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EBADF)
STATE_SUFFIX = ".state.json"
PART_SUFFIX = ".part"
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$")


class DownloadError(AtlassianError):
    """A download failed. ``resumable`` tells whether the ``.part`` was kept."""

    def __init__(self, message, url=None, resumable=False, status=None):
        super(DownloadError, self).__init__(message, "GET", url)
        self.resumable = resumable
        self.status = status

    def to_dict(self):
        data = super(DownloadError, self).to_dict()
        data.update({"resumable": self.resumable, "http_status": self.status})
        return data


class VerificationError(DownloadError):
    """The downloaded bytes are not what they should be."""


def parse_content_range(value):
    """``bytes 0-99/1000`` -> (0, 99, 1000); total None for ``*``; None if unparsable."""
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    start, end, total = int(match.group(1)), int(match.group(2)), match.group(3)
    return start, end, (None if total == "*" else int(total))


def part_paths(final_path):
    return final_path + PART_SUFFIX, final_path + PART_SUFFIX + STATE_SUFFIX


def _read_state(path):
    try:
        with open(path, "r") as handle:
            return json.load(handle)
    except (OSError, IOError, ValueError):
        return None


def _write_state(path, state):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)


def _remove(*paths):
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - not every platform can open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def hash_prefix(path, length, chunk_size=CHUNK_SIZE):
    """sha256 object over the first ``length`` bytes of ``path``."""
    digest = hashlib.sha256()
    remaining = length
    with open(path, "rb") as handle:
        while remaining > 0:
            block = handle.read(min(chunk_size, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    if remaining:
        raise IOError("partial file shorter than expected")
    return digest


def file_sha256(path, chunk_size=CHUNK_SIZE):
    digest = hashlib.sha256()
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buf)
            if not count:
                break
            digest.update(view[:count])
    return digest.hexdigest()


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

    def download(self, source, final_path, identity=None, resume=True, verify=None, deadline=None):
        """Return a dict: path, size, sha256, attempts, resumed_from, seconds, bytes_per_second, ...

        ``identity`` names what is being downloaded (for example the server's
        file name): a ``.part`` left by another download is never resumed.
        ``verify(part_path)`` may raise :class:`VerificationError`.
        """
        directory = os.path.dirname(os.path.abspath(final_path))
        if not os.path.isdir(directory):
            raise DownloadError("The destination folder %s does not exist." % directory)
        part, state_path = part_paths(final_path)
        job = _Job(self, source, part, state_path, identity, deadline)
        fd = None
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            job.fd = fd
            state = _read_state(state_path) if resume else None
            outcome = None
            if state and state.get("identity") == identity:
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
                # Nothing worth resuming: leave no partial file behind.
                _remove(part, state_path)
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


def _int_header(response, name):
    value = response.headers.get(name)
    return int(value) if value and value.strip().isdigit() else None


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except (OSError, IOError):
        return None


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
                    "Download of %s stopped after %d attempts at %d of %s bytes: %s. "
                    "Run the task again to resume from the partial file %s." % (
                        job.safe_url, job.attempts, self.offset, self.total if self.total is not None else "?",
                        last_error, job.part), job.safe_url, resumable=True)
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
        if status not in (200, 206):
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


class _Ranged(object):
    """Parallel ranged parts written in place into a preallocated ``.part``.

    The file is split into segments ``[start, end, written]`` that workers
    take in order; when none is left, an idle worker takes the far half of
    the segment with the most bytes to go. A checkpoint of the segments is
    written every ``checkpoint_interval`` (and a synced copy after each
    fdatasync), so a run that was stopped fetches only what is missing.

    sha256 follows the contiguous front of written bytes: blocks that arrive
    exactly at the front are hashed from memory; bytes that another worker
    wrote ahead of the front are read back from the file (from the page
    cache, since segments are taken in order and stay close to the front).
    """

    def __init__(self, job, total, etag, segments):
        self.job = job
        self.total = total
        self.etag = etag
        self.segments = segments
        self.synced = None
        self.media_url = None
        self.url_lock = threading.Lock()
        self.cond = threading.Condition()
        self.owners = {}
        self.stop = False
        self.error = None
        job.total = total
        job.mode = "ranges"

    # ------------------------------------------------------------ resuming
    @classmethod
    def resume(cls, job, state):
        total = state.get("total")
        segments = state.get("segments")
        if state.get("boot_id") != _boot_id():
            # The machine restarted: only what was fsynced can be trusted.
            segments = state.get("synced")
        if not isinstance(total, int) or total <= 0 or not _valid_segments(segments, total):
            return None
        if os.path.getsize(job.part) != total:
            return None
        ranged = cls(job, total, state.get("etag"), [list(seg) for seg in segments])
        ranged.synced = [list(seg) for seg in segments]
        job.resumed_from = sum(seg[2] for seg in segments)
        return ranged.run(first=None)

    # ---------------------------------------------------------------- run
    def run(self, first):
        job = self.job
        fd = job.fd
        if first is not None:
            _preallocate(fd, self.total)
        self.hasher = _FrontHasher(self, fd, job.dl.chunk_size)
        workers = []
        count = min(job.dl.connections, max(1, len(self.segments)))
        job.connections_used = count
        if first is not None:
            # The first answer starts at byte 0: it belongs to the first segment.
            self.owners[id(self.segments[0])] = True
        for index in range(count):
            args = (first, self.segments[0]) if (index == 0 and first is not None) else (None, None)
            worker = threading.Thread(target=self._worker, args=args, name="download-%d" % index)
            worker.daemon = True
            workers.append(worker)
        self._checkpoint(sync=False)
        for worker in workers:
            worker.start()
        last_sync = last_checkpoint = self.job.clock()
        try:
            with self.cond:
                while not self._finished() and any(w.is_alive() for w in workers):
                    # Woken early by releases, failures and returned buffers; checkpoints keep their pace.
                    self.cond.wait(max(0.0, last_checkpoint + job.dl.checkpoint_interval - job.clock()))
                    if self.error is not None:
                        break
                    if job.clock() - last_checkpoint < job.dl.checkpoint_interval:
                        continue
                    last_checkpoint = job.clock()
                    sync = job.clock() - last_sync >= job.dl.sync_interval
                    self.cond.release()
                    try:
                        self._checkpoint(sync=sync)
                    finally:
                        self.cond.acquire()
                    if sync:
                        last_sync = job.clock()
                    if job.dl.on_progress:
                        job.dl.on_progress(self._written(), self.total)
        finally:
            with self.cond:
                self.stop = True
                self.cond.notify_all()
            for worker in workers:
                worker.join(JOIN_SECONDS)
            if any(w.is_alive() for w in workers):
                job.leaked = True
            if not job.leaked:
                self._checkpoint(sync=False)
            job.bytes_kept = self._written()
            if not self._finished():
                self.hasher.abandon()
        if self.error is not None:
            raise self.error
        if not self._finished():
            raise DownloadError("Download of %s stopped at %d of %d bytes. Run the task again to resume." % (
                job.safe_url, self._written(), self.total), job.safe_url, resumable=True)
        digest = self.hasher.finish()
        return self.total, digest

    def _finished(self):
        return all(seg[2] >= seg[1] - seg[0] for seg in self.segments)

    def _written(self):
        return sum(seg[2] for seg in self.segments)

    def _checkpoint(self, sync):
        with self.cond:
            snapshot = [list(seg) for seg in self.segments]
        if sync:
            os.fdatasync(self.job.fd)
            self.synced = snapshot
        _write_state(self.job.state_path, {
            "identity": self.job.identity, "mode": "ranges", "etag": self.etag, "total": self.total,
            "boot_id": _boot_id(), "segments": snapshot, "synced": self.synced})

    # -------------------------------------------------------------- claims
    def _claim(self):
        """The next segment to fetch, or None when there is nothing left (under self.cond)."""
        for index, seg in enumerate(self.segments):
            if seg[2] < seg[1] - seg[0] and id(seg) not in self.owners:
                self.owners[id(seg)] = True
                return seg
        # Nothing unowned: split the busy segment with the most bytes to go.
        best, best_left = None, 0
        for seg in self.segments:
            left = seg[1] - seg[0] - seg[2]
            if id(seg) in self.owners and left > best_left:
                best, best_left = seg, left
        if best is None or best_left < 2 * MIN_SPLIT:
            return None
        front = best[0] + best[2]
        middle = front + best_left // 2
        middle -= middle % ALIGN
        if middle <= front + ALIGN:
            return None
        new = [middle, best[1], 0]
        best[1] = middle
        self.segments.insert(self.segments.index(best) + 1, new)
        self.owners[id(new)] = True
        return new

    def _release(self, seg):
        with self.cond:
            self.owners.pop(id(seg), None)
            self.cond.notify_all()

    # -------------------------------------------------------------- workers
    def _worker(self, first, seg):
        job = self.job
        session = job.client.new_session()
        buffers = [self.hasher.buffer()]
        stalled = 0
        try:
            while True:
                with self.cond:
                    if self.stop or self.error is not None:
                        return
                    if seg is None:
                        seg = self._claim()
                    if seg is None:
                        return
                before = seg[2]
                try:
                    try:
                        self._fetch(seg, session, first, buffers)
                    finally:
                        first = None
                    stalled = 0
                except _Retryable as exc:
                    progressed = seg[2] > before
                    stalled = 0 if progressed else stalled + 1
                    if exc.expired:
                        self._forget_link(exc.url)
                    if stalled >= job.dl.stall_attempts or job.attempts >= job.dl.max_attempts:
                        self._fail(DownloadError(
                            "Download of %s stopped after %d attempts with %d of %d bytes written: %s. "
                            "Run the task again to resume from the partial file %s." % (
                                job.safe_url, job.attempts, self._written(), self.total, exc.reason, job.part),
                            job.safe_url, resumable=True))
                        return
                    self._release(seg)
                    seg = None
                    if not (exc.expired and stalled <= 1):
                        job.backoff(stalled, exc.delay, exc.reason)
                    continue
                except _Restart as exc:
                    self._fail(exc.error)
                    return
                self._release(seg)
                seg = None
        except BaseException as exc:  # noqa: B902 - handed to the main thread
            if not isinstance(exc, (DownloadError, AtlassianError, OSError, IOError)):
                exc = DownloadError("Download worker failed: %s" % _describe(exc), job.safe_url,
                                    resumable=True)
            self._fail(exc)
        finally:
            session.close()

    def _fail(self, error):
        with self.cond:
            if self.error is None:
                self.error = error
            self.stop = True
            self.cond.notify_all()

    def _forget_link(self, url):
        with self.url_lock:
            if self.media_url == url:
                self.media_url = None

    def _open(self, seg, session):
        """A response positioned at the segment's front: the cached media link, or a fresh one."""
        job = self.job
        front = seg[0] + seg[2]
        headers = {"Range": "bytes=%d-%d" % (front, seg[1] - 1)}
        if self.etag:
            headers["If-Range"] = self.etag
        with self.url_lock:
            url = self.media_url
            if url is None:
                # Through the site: it answers with a freshly signed link.
                response = job.open(job.source, headers, site=True, session=session)
                if response is not None:
                    self.media_url = response.url
                    return response
                raise _Retryable(job.last_open_error)
        response = job.open(url, headers, session=session)
        if response is None:
            raise _Retryable(job.last_open_error)
        return response

    def _fetch(self, seg, session, first, buffers):
        job = self.job
        front = seg[0] + seg[2]
        response = first
        try:
            if response is None:
                response = self._open(seg, session)
            status = response.status_code
            if status == 206:
                rng = parse_content_range(response.headers.get("Content-Range"))
                if not rng or rng[0] != front or rng[2] != self.total:
                    raise _Restart(DownloadError(
                        "The server answered the range %s for a request at %d of a %d-byte file: the file "
                        "changed. Run the task again to download it from the start." % (
                            response.headers.get("Content-Range"), front, self.total), job.safe_url))
            elif status == 200:
                if front != 0 or _int_header(response, "Content-Length") != self.total:
                    raise _Restart(DownloadError(
                        "The server sent the whole file to a ranged request at byte %d (it changed, or no "
                        "longer serves ranges); the partial download was discarded. Run the task again." % front,
                        job.safe_url))
            elif status == 416:
                raise _Restart(DownloadError("The server refused the range at %d of %d bytes (HTTP 416): the file "
                                             "changed. Run the task again." % (front, self.total), job.safe_url))
            else:
                try:
                    job.classify(response)
                except _Retryable as exc:
                    exc.url = response.url
                    raise
            self._copy(response, seg, front, buffers)
        finally:
            if response is not None:
                response.close()

    def _copy(self, response, seg, pos, buffers):
        """Read the answer into the segment. ``buffers[0]`` is the worker's block buffer, kept across segments
        (swapped with the hasher's spares as blocks are handed over), so nothing is allocated per segment."""
        job = self.job
        fd = job.fd
        view = buffers[0]
        reader = _Reader(response)
        try:
            while True:
                with self.cond:
                    if self.stop:
                        return
                    end = seg[1]
                want = min(len(view), end - pos)
                if want <= 0:
                    reader.done(pos)
                    return
                count = reader.readinto(view[:want])
                if not count:
                    raise _Retryable("connection closed at %d of %d bytes" % (pos, self.total))
                _pwrite_all(fd, view[:count], pos)
                with self.cond:
                    count, view = self.hasher.take(seg, view, pos, count)
                    buffers[0] = view
                    job.transferred += count
                pos += count
        except (OSError, IOError) as exc:
            if getattr(exc, "errno", None) in FATAL_ERRNOS:
                raise
            raise _Retryable(_describe(exc))
        except TRANSFER_ERRORS as exc:
            raise _Retryable(_describe(exc))


class _Reader(object):
    """readinto() straight from the socket into our buffer, where the stack allows it.

    urllib3's read() copies each block twice more; for identity-encoded bodies
    the underlying ``http.client`` response fills our buffer directly. When the
    whole body was read that way the connection goes back to the pool, so the
    next segment reuses it (no new TCP or TLS handshake).
    """

    def __init__(self, response):
        self.raw = response.raw
        self.end = None
        rng = parse_content_range(response.headers.get("Content-Range"))
        length = _int_header(response, "Content-Length")
        self.start = rng[0] if rng else 0
        if length is not None:
            self.end = self.start + length
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        fp = getattr(self.raw, "_fp", None)
        self.direct = fp if (encoding == "identity" and hasattr(fp, "readinto")) else None

    def readinto(self, view):
        if self.direct is not None:
            return self.direct.readinto(view)
        data = self.raw.read(len(view), decode_content=False)
        count = len(data)
        view[:count] = data
        return count

    def done(self, pos):
        """The segment is complete at ``pos``: hand the connection back if the body was read to its end."""
        if self.direct is not None and self.end is not None and pos == self.end and self.direct.isclosed():
            release = getattr(self.raw, "release_conn", None)
            if release is not None:
                release()


class _FrontHasher(object):
    """sha256 of a file written out of order, computed at the contiguous front.

    ``offer(view, pos)`` is called under the ranged engine's lock after each
    write: a block at the front is handed over in memory (the caller then
    takes a new buffer); everything else is read back from the file by the
    hashing thread when the front reaches it. Memory: at most ``depth``
    blocks in flight.
    """

    def __init__(self, ranged, fd, chunk_size, depth=8):
        self.ranged = ranged
        self.fd = fd
        self.chunk_size = chunk_size
        self.digest = hashlib.sha256()
        self.queue = queue.Queue()
        self.depth = depth
        self.fed = 0            # bytes handed to the thread (in memory or as a read-back claim)
        self.hashed = 0
        self.read_back = 0
        self.spares = [_buffer(chunk_size) for _index in range(depth)]
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="sha256")
        self.thread.daemon = True
        self.thread.start()
        with ranged.cond:
            self._advance()

    def take(self, seg, view, pos, count):
        """Under ranged.cond: record ``count`` bytes written at ``pos``; return (bytes kept, next buffer).

        A block at the front is taken in memory in exchange for a spare
        buffer. When hashing is the slower side the front waits for one (a
        moment of backpressure costs less CPU than reading the block back);
        a block away from the front is read back from the file later. The
        number of buffers is fixed, so memory does not depend on speed or size.
        The bytes are counted as written only after the wait, so the hashing
        thread cannot claim them for read-back meanwhile.
        """
        if pos == self.fed and count and not self.abandoned:
            deadline = time.monotonic() + SPARE_WAIT
            while not self.spares and not self.ranged.stop and time.monotonic() < deadline:
                self.ranged.cond.wait(SPARE_WAIT)
        # The segment may have been split meanwhile: keep only what is ours.
        count = max(0, min(count, seg[1] - pos))
        seg[2] += count
        buf = view.obj
        if pos == self.fed and self.spares and count:
            self.queue.put(("mem", view[:count], pos))
            self.fed = pos + count
            buf = self.spares.pop()
        self._advance()
        return count, memoryview(buf)

    def _advance(self):
        """Claim written bytes at the front for read-back (under ranged.cond)."""
        segments = self.ranged.segments
        while self.fed < self.ranged.total:
            seg = _segment_at(segments, self.fed)
            if seg is None:
                return
            available = seg[0] + seg[2]
            if available <= self.fed:
                return
            if self.queue.qsize() >= self.depth:
                return
            end = min(available, self.fed + 64 * self.chunk_size)
            self.queue.put(("read", end - self.fed, self.fed))
            self.fed = end

    def _run(self):
        buf = _buffer(self.chunk_size)
        view = memoryview(buf)
        while True:
            kind, item, pos = self.queue.get()
            if kind == "stop":
                return
            if self.abandoned:
                continue
            if kind == "mem":
                self.digest.update(item)
                self.hashed = pos + len(item)
                with self.ranged.cond:
                    self.spares.append(item.obj)
                    self.ranged.cond.notify_all()
            else:
                remaining = item
                while remaining > 0:
                    try:
                        count = _pread_into(self.fd, view[:min(len(buf), remaining)], pos)
                    except (OSError, IOError):
                        count = 0
                    if count <= 0:
                        # finish() reports it; the download is not given its final name.
                        self.abandoned = True
                        break
                    self.digest.update(view[:count])
                    pos += count
                    remaining -= count
                    self.read_back += count
                self.hashed = pos
            with self.ranged.cond:
                self._advance()

    def buffer(self):
        """A worker's own block buffer, for the whole transfer."""
        return memoryview(_buffer(self.chunk_size))

    def abandon(self):
        self.abandoned = True
        self.queue.put(("stop", None, None))
        self.thread.join(JOIN_SECONDS)

    def finish(self):
        """Hash what is left and return the digest of the whole file."""
        with self.ranged.cond:
            self._advance()
        while True:
            with self.ranged.cond:
                self._advance()
                done = self.fed >= self.ranged.total
            if done:
                break
            self.thread.join(0.01)
        self.queue.put(("stop", None, None))
        self.thread.join()
        if self.abandoned or self.hashed != self.ranged.total:
            raise VerificationError("The partial file %s could not be read back to compute its sha256." %
                                    self.ranged.job.part, self.ranged.job.safe_url)
        return self.digest


def _buffer(size):
    """A buffer whose pages are touched now: memory in use is the same at the start as at the peak."""
    return bytearray(b"\x00" * size)


def _segment_at(segments, offset):
    for seg in segments:
        if seg[0] <= offset < seg[1]:
            return seg
    return None


def _valid_segments(segments, total):
    if not isinstance(segments, list) or not segments:
        return False
    expected = 0
    for seg in segments:
        if not (isinstance(seg, list) and len(seg) == 3 and all(isinstance(x, int) for x in seg)):
            return False
        start, end, written = seg
        if start != expected or end <= start or not 0 <= written <= end - start:
            return False
        expected = end
    return expected == total


def _preallocate(fd, total):
    """Reserve the whole file now: a full disk fails before the download, not after it."""
    os.ftruncate(fd, 0)
    try:
        os.posix_fallocate(fd, 0, total)
    except AttributeError:  # pragma: no cover - not on every platform
        os.ftruncate(fd, total)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
            os.ftruncate(fd, total)
        else:
            raise


def _pwrite_all(fd, view, pos):
    while view:
        written = os.pwrite(fd, view, pos)
        view = view[written:]
        pos += written


def _pread_into(fd, view, pos):
    try:
        return os.preadv(fd, [view], pos)
    except AttributeError:  # pragma: no cover - no preadv on this platform
        data = os.pread(fd, len(view), pos)
        view[:len(data)] = data
        return len(data)


class _Hasher(object):
    """Feeds sha256 on a second thread, so hashing overlaps reading and writing.

    hashlib and os.write release the GIL on large buffers, so on two cores the
    transfer is bound by the slower of the two instead of their sum. The queue
    is bounded (``depth`` blocks), so memory stays constant.
    """

    def __init__(self, digest, depth=8):
        self.digest = digest
        self.queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name="sha256")
        self.thread.daemon = True
        self.thread.start()

    def _run(self):
        while True:
            block = self.queue.get()
            if block is None:
                return
            self.digest.update(block)

    def feed(self, block):
        self.queue.put(block)

    def finish(self):
        """Wait until every block fed so far is hashed."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()


def _write_all(fd, block):
    view = memoryview(block)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _describe(exc):
    text = re.sub(r"\s+", " ", str(exc))
    text = redact_url_in_text(text)
    return "%s: %s" % (type(exc).__name__, text[:200])


def redact_url_in_text(text):
    return re.sub(r"https?://[^\s'\"]+", lambda m: redact_url(m.group(0)), text)


class _Retryable(Exception):
    """A transfer attempt failed in a way another attempt may fix. Progress is kept by the engine, not here."""

    def __init__(self, reason, delay=None, restart=False, expired=False):
        super(_Retryable, self).__init__(reason)
        self.reason = reason
        self.delay = delay
        self.restart = restart
        self.expired = expired
        self.url = None


class _Restart(Exception):
    """The ranged download cannot go on (the file changed): fail with ``error``."""

    def __init__(self, error):
        super(_Restart, self).__init__(error.message)
        self.error = error
