# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every off-site store offers the copy workflow, and the one streamed writer they all upload through.

No Ansible imports. A store is one folder of objects (an S3 bucket and key prefix, an Azure Blob container and name
prefix); object names given to it are relative to that folder and never contain ``/``. Each store (``s3.py``,
``azure_blob.py``) implements :class:`Store`; the copy workflow (``copy.py``) knows nothing else about them.

:class:`UploadWriter` is a file-like object (``write``) that cuts what it is given into parts of ``PART_SIZE``
bytes and hands each to the store's upload in a small pool of threads, so that producing the bytes (reading a zip,
or age encrypting it) overlaps sending them. Memory stays bounded: at most ``workers + queued`` parts wait or travel
at once, whatever the file size. While the bytes go by it computes their size, sha256, MD5 and each part's MD5, from
which the store derives the checksum the service itself will report (S3's ETag, Azure's Content-MD5), so that the
read-back after the upload compares the service's own figures with what was sent. Nothing is committed until
:meth:`UploadWriter.commit`; :meth:`UploadWriter.abort` leaves no object behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import threading

try:
    import queue
except ImportError:  # pragma: no cover - Python 2
    import Queue as queue  # type: ignore

PART_SIZE = 8 * 1024 * 1024
# Parts in flight: WORKERS being sent, QUEUED waiting, one being filled. More made no difference to the throughput
# measured (benchmarks/offsite_bench.py), and each costs PART_SIZE of memory.
WORKERS = 2
QUEUED = 1


class StoreError(Exception):
    """A request to the store failed: ``msg`` says what and, when known, what to do."""

    def __init__(self, msg):
        super(StoreError, self).__init__(msg)
        self.msg = msg


class Stat(object):
    """What the store says about one object: its ``size`` and ``checksum`` (the store's own, see
    :meth:`Store.checksums`), and ``metadata`` (a dict)."""

    __slots__ = ("size", "checksum", "metadata")

    def __init__(self, size, checksum, metadata=None):
        self.size = size
        self.checksum = checksum
        self.metadata = metadata or {}


class Store(object):
    """One folder of objects. Subclasses implement every method; names are relative to the folder."""

    kind = None
    checksum_name = "checksum"  # what the service calls it, for messages (ETag, Content-MD5)
    whole_md5 = True  # whether finish() and checksums() need the whole content's MD5 (else they get None)
    takes_bytearray = True  # whether send_part() takes a bytearray as it is (else the writer hands it bytes)
    part_size = PART_SIZE  # the parts sent when the module's part_size is not set

    def url(self, name=""):
        """The object's address for messages and results (``s3://bucket/prefix/name``); never a secret."""
        raise NotImplementedError

    def list(self):
        """{name: size} of the objects in the folder (not in sub-folders)."""
        raise NotImplementedError

    def stat(self, name):
        """The object's :class:`Stat`, or None when there is none."""
        raise NotImplementedError

    def read(self, name, limit=1024 * 1024):
        """The object's bytes (a small one: ``.sha256``, ``.json``), or None when there is none. More than
        ``limit`` bytes raise :class:`StoreError`."""
        raise NotImplementedError

    def chunks(self, name, size=PART_SIZE):
        """The object's bytes, streamed in pieces of about ``size`` bytes (a full read-back)."""
        raise NotImplementedError

    def put(self, name, data, content_type="application/octet-stream"):
        """Write a small object in one request, replacing any there."""
        raise NotImplementedError

    def delete(self, name):
        """Delete the object; one that is already gone is no error."""
        raise NotImplementedError

    def begin(self, name, metadata):
        """Start a multi-part upload of ``name``; returns a token for :meth:`send_part` and :meth:`finish`."""
        raise NotImplementedError

    def send_part(self, token, number, data, md5):
        """Send part ``number`` (1, 2, ...) of ``data`` (bytes-like) whose MD5 digest (raw bytes) is ``md5``; the service
        is asked to check it on receipt. Called from several threads at once."""
        raise NotImplementedError

    def finish(self, token, parts, md5):
        """Commit the parts (a list of (number, md5 digest, size), in order); ``md5`` is the whole content's."""
        raise NotImplementedError

    def cancel(self, token):
        """Forget an unfinished upload, leaving no object."""
        raise NotImplementedError

    def comparable(self, stat):
        """Whether ``stat.checksum`` is one :meth:`checksums` can predict (else the object is read back whole)."""
        return bool(stat.checksum)

    def part_sizes_for(self, stat, default):
        """The part sizes to try computing :meth:`checksums` with for an existing object of :class:`Stat` ``stat``,
        most likely first (stores whose checksum does not depend on the parts return ``[default]``)."""
        return [default]

    def checksums(self, parts, md5):
        """The checksums the service may report in :attr:`Stat.checksum` for content sent as ``parts`` (a list of
        (number, md5 digest, size)) whose whole MD5 is ``md5``: a set, since some stores report one of several
        forms depending on how the object was written."""
        raise NotImplementedError


def read_manifests(store, listing, folder):
    """Write each manifest (``<name>.json``) of ``listing`` into ``folder`` as the store holds it: the catalog
    (``store/catalog.py``, which retention and the choice of a backup read) takes a folder of manifests and the
    store's object names."""
    for name in listing:
        if name.endswith(".json") and not name.endswith(".state.json"):
            raw = store.read(name)
            if raw is not None:
                with open(os.path.join(folder, name), "wb") as handle:
                    handle.write(raw)


class Digests(object):
    """Size, sha256, the MD5 of each ``PART_SIZE`` part and (``whole_md5``) the whole content's MD5 of a stream,
    computed as it goes by."""

    def __init__(self, part_size=PART_SIZE, whole_md5=True):
        self.part_size = part_size
        self.size = 0
        self.sha256 = hashlib.sha256()
        # nosec - the services' checksum, compared with what they report; not a security use
        self.md5 = hashlib.md5() if whole_md5 else None  # nosec
        self.parts = []

    def add_part(self, data):
        self.sha256.update(data)
        if self.md5 is not None:
            self.md5.update(data)
        self.size += len(data)
        self.parts.append((len(self.parts) + 1, hashlib.md5(data).digest(), len(data)))  # nosec - as above

    def summary(self):
        return dict(size=self.size, sha256=self.sha256.hexdigest(),
                    md5=self.md5.digest() if self.md5 is not None else None, parts=list(self.parts))


def file_digests(path, part_size=PART_SIZE):
    """:class:`Digests` of a local file, read once in parts."""
    digests = Digests(part_size)
    with open(path, "rb") as handle:
        while True:
            data = handle.read(part_size)
            if not data:
                break
            digests.add_part(data)
    if not digests.parts:
        digests.add_part(b"")
    return digests


class UploadWriter(object):
    """A file-like object uploading what is written to ``store`` as ``name``, in parts, through a pool of threads.

    Use as ``writer = UploadWriter(...)``, ``writer.write(...)`` any number of times, then ``writer.commit()`` (which
    returns :meth:`Digests.summary` plus ``checksum``, the one the service will report) or ``writer.abort()``.
    ``before_commit``, when given, is called with the summary before anything is committed; it may raise to cancel.
    """

    def __init__(self, store, name, metadata=None, part_size=PART_SIZE, workers=WORKERS, queued=QUEUED):
        self.store = store
        self.name = name
        self.part_size = part_size
        self.digests = Digests(part_size, whole_md5=store.whole_md5)
        self.buffer = bytearray(part_size)
        self.filled = 0
        self.token = store.begin(name, metadata or {})
        self.tasks = queue.Queue(maxsize=queued)
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work, name="upload-%d" % n) for n in range(workers)]
        for thread in self.threads:
            thread.daemon = True
            thread.start()
        self.closed = False

    def _work(self):
        while True:
            task = self.tasks.get()
            if task is None:
                return
            number, data, md5 = task
            task = None  # a worker waiting for its next part must not hold on to the last one
            try:
                if not self.errors:
                    self.store.send_part(self.token, number, data, md5)
            except Exception as exc:  # pylint: disable=broad-except
                with self.lock:
                    self.errors.append(exc)
            finally:
                data = None

    @property
    def error(self):
        """The first error a part's upload raised (None while all went well)."""
        return self.errors[0] if self.errors else None

    def _check(self):
        if self.errors:
            raise self.errors[0]

    def _queue(self, data):
        self.digests.add_part(data)
        number, md5, dummy = self.digests.parts[-1]
        self.tasks.put((number, data, md5))

    def write(self, data):
        """Copy ``data`` (bytes-like; the caller may reuse its buffer) into the part being filled; a full part is
        queued as it is (no further copy) and a new one started."""
        self._check()
        view = memoryview(data)
        while len(view):
            take = min(len(view), self.part_size - self.filled)
            self.buffer[self.filled:self.filled + take] = view[:take]
            self.filled += take
            view = view[take:]
            if self.filled == self.part_size:
                self._queue(self.buffer if self.store.takes_bytearray else bytes(self.buffer))
                self.buffer, self.filled = bytearray(self.part_size), 0
        return len(data)

    def flush(self):
        self._check()

    def _drain(self):
        for dummy in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join()
        self.closed = True

    def commit(self, before_commit=None):
        """Send what is left, wait for every part, and commit; returns the digests and the expected checksum."""
        try:
            if self.filled or not self.digests.parts:
                self._queue(bytes(self.buffer[:self.filled]))
                self.buffer, self.filled = bytearray(0), 0
            self._drain()
            self._check()
            summary = self.digests.summary()
            if before_commit is not None:
                before_commit(summary)
            self.store.finish(self.token, summary["parts"], summary["md5"])
        except BaseException:
            self.abort()
            raise
        summary["checksums"] = self.store.checksums(summary["parts"], summary["md5"])
        return summary

    def abort(self):
        """Stop and forget the upload (nothing committed stays)."""
        if not self.closed:
            self.errors.append(StoreError("the upload was cancelled"))
            while True:
                try:
                    self.tasks.get_nowait()
                except queue.Empty:
                    break
            self._drain()
        try:
            self.store.cancel(self.token)
        except Exception:  # pylint: disable=broad-except
            pass
