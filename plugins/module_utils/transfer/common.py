# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every transfer shares: errors, constants, the ``.part`` state file, hashing and retry signals.

No Ansible imports.
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

try:
    import queue
except ImportError:  # pragma: no cover - Python 2
    import Queue as queue  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianError,
    redact_url,
)

try:
    from requests.exceptions import RequestException, SSLError  # pylint: disable=unused-import
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    TRANSFER_ERRORS = (RequestException, Urllib3HTTPError, http.client.HTTPException, OSError)
except ImportError:  # pragma: no cover - requests is checked by the module
    TRANSFER_ERRORS = (http.client.HTTPException, OSError)
    SSLError = None

CHUNK_SIZE = 1024 * 1024
FATAL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EBADF)
STATE_SUFFIX = ".state.json"
PART_SUFFIX = ".part"
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class DownloadError(AtlassianError):
    """A download failed. ``resumable`` tells whether the ``.part`` was kept.

    ``partial``: the ``.part`` a later run resumes from; the message then says so, until :meth:`drop_partial`
    (the file was removed after all) takes the offer back.
    """

    def __init__(self, message, url=None, resumable=False, status=None, partial=None):
        self.stated = message
        if partial:
            message = "%s Run the task again to resume from the partial file %s." % (message, partial)
        super(DownloadError, self).__init__(message, "GET", url)
        self.resumable = resumable
        self.status = status

    def drop_partial(self):
        """The partial file is gone: nothing to resume, and the message no longer offers it."""
        self.resumable = False
        self.message = "%s Nothing was kept: the next run starts over." % self.stated
        self.args = (self.message,)

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


def open_new_part(part, mode=0o600):
    """A new ``.part`` file for writing (``mode``, 0600 by default); an older one is replaced, and a symlink there is
    not followed."""
    _remove(part)
    return os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb")


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
    with open(path, "rb", buffering=0) as handle:
        return stream_sha256(handle, chunk_size)


def stream_sha256(handle, chunk_size=CHUNK_SIZE):
    """The sha256 (hex) of what is left to read in ``handle`` (a file, a zip member), through one buffer."""
    digest = hashlib.sha256()
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    while True:
        count = handle.readinto(buf)
        if not count:
            break
        digest.update(view[:count])
    return digest.hexdigest()


def _int_header(response, name):
    value = response.headers.get(name)
    return int(value) if value and value.strip().isdigit() else None


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
