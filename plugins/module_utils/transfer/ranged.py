# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel ranged parts written in place into a preallocated ``.part``, and its sha256.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import threading
import time

try:
    import queue
except ImportError:  # pragma: no cover - Python 2
    import Queue as queue  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianError
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    FATAL_ERRNOS,
    TRANSFER_ERRORS,
    DownloadError,
    VerificationError,
    _Restart,
    _Retryable,
    _describe,
    _int_header,
    _write_state,
    parse_content_range,
)

# Ranged downloads: segments are taken in order, so the sha256 front stays
# close behind the writers and reads back from the page cache, not the disk.
SEGMENT_SIZE = 32 * 1024 * 1024
MIN_SPLIT = 2 * 1024 * 1024
ALIGN = 64 * 1024
JOIN_SECONDS = 5.0
SPARE_WAIT = 1.0


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except (OSError, IOError):
        return None


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
                            "Download of %s stopped after %d attempts with %d of %d bytes written: %s." % (
                                job.safe_url, job.attempts, self._written(), self.total, exc.reason),
                            job.safe_url, resumable=True, partial=job.part))
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
