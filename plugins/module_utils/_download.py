# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one download engine: stream a (huge) file to disk, verified and atomic.

No Ansible imports. Guarantees:

* memory stays constant (one fixed-size buffer), whatever the file size;
* bytes go to ``<final>.part`` in the destination folder (mode 0600), sha256 is
  computed while writing, the size is checked against Content-Length or
  Content-Range, the file is fsynced, an optional ``verify`` callback checks
  the content, and only then is it renamed atomically to the final name;
* an interrupted transfer resumes with ``Range`` (and ``If-Range`` when the
  server gave an ETag); a 200 answer to a ranged request restarts from zero;
* every attempt starts again at the site's download URL, so a signed media
  link that expired is simply fetched anew;
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
import json
import os
import re
import threading

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
    parse_retry_after,
    redact_url,
)

try:
    from requests.exceptions import RequestException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    TRANSFER_ERRORS = (RequestException, Urllib3HTTPError, OSError)
except ImportError:  # pragma: no cover - requests is checked by the module
    TRANSFER_ERRORS = (OSError,)

CHUNK_SIZE = 1024 * 1024
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
        data.update({"resumable": self.resumable, "status": self.status})
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
    """Download ``source`` (a path on the client's site or an absolute URL)."""

    def __init__(self, client, chunk_size=CHUNK_SIZE, max_attempts=None, stall_attempts=None,
                 sleep=None, clock=None, on_progress=None):
        self.client = client
        self.chunk_size = int(chunk_size)
        # Attempts that made no progress are bounded by the client's retries;
        # attempts that moved bytes forward are bounded more generously.
        self.stall_attempts = client.retries + 1 if stall_attempts is None else int(stall_attempts)
        self.max_attempts = max_attempts or max(50, self.stall_attempts * 4)
        self.sleep = sleep or client.sleep
        self.clock = clock or client.clock
        self.on_progress = on_progress

    def download(self, source, final_path, identity=None, resume=True, verify=None, deadline=None):
        """Return a dict: path, size, sha256, attempts, resumed_from, seconds, bytes_per_second.

        ``identity`` names what is being downloaded (for example the server's
        file name): a ``.part`` left by another download is never resumed.
        ``verify(part_path)`` may raise :class:`VerificationError`.
        """
        directory = os.path.dirname(os.path.abspath(final_path))
        if not os.path.isdir(directory):
            raise DownloadError("The destination folder %s does not exist." % directory)
        part, state_path = part_paths(final_path)
        safe_url = redact_url(self.client.url_for(source))
        started = self.clock()

        offset, digest, etag = 0, hashlib.sha256(), None
        state = _read_state(state_path) if resume else None
        if state and state.get("identity") == identity and os.path.exists(part):
            have = os.path.getsize(part)
            if have > 0 and (state.get("total") is None or have <= state["total"]):
                try:
                    digest = hash_prefix(part, have, self.chunk_size)
                    offset, etag = have, state.get("etag")
                except (IOError, OSError):
                    offset, digest, etag = 0, hashlib.sha256(), None
        resumed_from = offset
        total = state.get("total") if (state and offset) else None

        attempts = 0
        stalled = 0
        transferred = 0
        last_error = None
        fd = None
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o600)
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            while True:
                if attempts >= self.max_attempts or stalled >= self.stall_attempts:
                    raise DownloadError(
                        "Download of %s stopped after %d attempts at %d of %s bytes: %s. "
                        "Run the task again to resume from the partial file %s." % (
                            safe_url, attempts, offset, total if total is not None else "?",
                            last_error, part), safe_url, resumable=True)
                attempts += 1
                before = offset
                try:
                    outcome = self._attempt(source, fd, part, state_path, identity, offset, digest, etag, total)
                except _Retryable as exc:
                    outcome = None
                    last_error = exc.reason
                    offset, digest, etag, total = exc.offset, exc.digest, exc.etag, exc.total
                    transferred += max(0, offset - before)
                    stalled = 0 if offset > before else stalled + 1
                    delay = exc.delay
                    if delay is None:
                        delay = backoff_delay(stalled, self.client.retry_base_delay,
                                              self.client.retry_max_delay, self.client.rand)
                    if deadline is not None and self.clock() + delay >= deadline:
                        raise DownloadError("Download of %s ran out of time at %d bytes: %s. Run the task again "
                                            "to resume." % (safe_url, offset, last_error), safe_url, resumable=True)
                    self.client._notify(attempts, delay, "download: %s" % last_error, "GET", safe_url)
                    self.sleep(delay)
                    continue
                offset, digest, etag, total = outcome
                transferred += max(0, offset - before)
                break

            transfer_seconds = self.clock() - started
            if total is not None and offset != total:
                raise VerificationError("Downloaded %d bytes of %s but the server announced %d." % (
                    offset, safe_url, total), safe_url)
            os.fsync(fd)
            os.close(fd)
            fd = None
            if verify is not None:
                verify(part)
            os.replace(part, final_path)
            _fsync_dir(directory)
            _remove(state_path)
        except VerificationError:
            self._discard(fd, part, state_path)
            raise
        except DownloadError as exc:
            if fd is not None:
                os.close(fd)
                fd = None
            if not exc.resumable or not os.path.exists(part) or os.path.getsize(part) == 0:
                # Nothing worth resuming: leave no partial file behind.
                _remove(part, state_path)
            raise
        except (OSError, IOError) as exc:
            self._discard(fd, part, state_path)
            if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
                raise DownloadError("No space left on the device while writing %s; the partial file was removed "
                                    "and nothing else was touched. Free space (the backup needs %s bytes) and run "
                                    "again." % (part, total if total is not None else "an unknown number of"),
                                    safe_url)
            raise DownloadError("Could not write %s: %s" % (part, exc), safe_url)
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        seconds = max(self.clock() - started, 1e-9)
        return {
            "path": final_path,
            "size": offset,
            "sha256": digest.hexdigest(),
            "attempts": attempts,
            "resumed_from": resumed_from,
            "seconds": round(seconds, 3),
            "bytes_per_second": int(transferred / seconds),
            "transfer_seconds": round(transfer_seconds, 3),
        }

    @staticmethod
    def _discard(fd, part, state_path):
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        _remove(part, state_path)

    def _attempt(self, source, fd, part, state_path, identity, offset, digest, etag, total):
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = "bytes=%d-" % offset
            if etag:
                headers["If-Range"] = etag
        try:
            response = self.client.resolve_redirects(source, headers=headers)
        except (AtlassianConnectionError, AtlassianTimeout) as exc:
            raise _Retryable(exc.message, offset, digest, etag, total)
        except TRANSFER_ERRORS as exc:
            raise _Retryable(_describe(exc), offset, digest, etag, total)
        try:
            status = response.status_code
            url = redact_url(response.url)
            if status == 416 and offset > 0:
                match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
                if match and int(match.group(1)) == offset:
                    return offset, digest, etag, offset
                # The server does not know that range any more: start over.
                self._restart(fd)
                raise _Retryable("HTTP 416 for a resume at %d" % offset, 0, hashlib.sha256(), None, None, 0)
            if status in (401, 403, 410) and not self.client.is_own_host(response.url):
                # A signed media link that expired or was refused: fetch a new one.
                raise _Retryable("media host answered HTTP %d (expired link?)" % status, offset, digest, etag,
                                 total, parse_retry_after(response.headers.get("Retry-After")))
            if status in (429, 500, 502, 503, 504):
                raise _Retryable("HTTP %d" % status, offset, digest, etag, total,
                                 parse_retry_after(response.headers.get("Retry-After")))
            if status not in (200, 206):
                raise AtlassianApiError(status, "GET", url, response.reason or "",
                                        excerpt(response, self.client.secrets))
            new_etag = response.headers.get("ETag") or None
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if status == 206:
                rng = parse_content_range(response.headers.get("Content-Range"))
                if not rng or rng[0] != offset:
                    self._restart(fd)
                    raise _Retryable("the server answered a range we did not ask for", 0, hashlib.sha256(),
                                     None, None, 0)
                total = rng[2]
            else:
                if offset > 0:
                    # The server ignored Range (or the file changed): start from zero.
                    self._restart(fd)
                    offset, digest = 0, hashlib.sha256()
                total = length
            etag = new_etag
            _write_state(state_path, {"identity": identity, "etag": etag, "total": total})
            offset, digest = self._copy(response, fd, offset, digest, etag, total)
            return offset, digest, etag, total
        finally:
            response.close()

    def _copy(self, response, fd, offset, digest, etag, total):
        raw = response.raw
        hasher = _Hasher(digest)
        try:
            while True:
                block = raw.read(self.chunk_size, decode_content=False)
                if not block:
                    break
                _write_all(fd, block)
                hasher.feed(block)
                offset += len(block)
                if self.on_progress:
                    self.on_progress(offset, total)
        except (OSError, IOError) as exc:
            if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EBADF):
                raise
            raise _Retryable(_describe(exc), offset, digest, etag, total)
        except TRANSFER_ERRORS as exc:
            raise _Retryable(_describe(exc), offset, digest, etag, total)
        finally:
            # Every block fed is hashed before the digest is used or handed on.
            hasher.finish()
        if total is not None and offset < total:
            raise _Retryable("connection closed at %d of %d bytes" % (offset, total), offset, digest, etag, total)
        return offset, digest

    @staticmethod
    def _restart(fd):
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)


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
    def __init__(self, reason, offset, digest, etag, total, delay=None):
        super(_Retryable, self).__init__(reason)
        self.reason = reason
        self.offset = offset
        self.digest = digest
        self.etag = etag
        self.total = total
        self.delay = delay
