# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center restores: a backup from the server's restore folder, or a local zip uploaded as a stream.

    [decrypt an .age src into a private temporary folder, its sha256 checked against the manifest]
    -> check the file (locally, or in GET restore/files) -> join a running restore of it or start one -> wait

No Ansible imports. Nothing is written on the server before every check passed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile
import zipfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.jobs import wait_for_job
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import archive as export_archive
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import inventory as export_inventory
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout as export_layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Decryption
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.upload import Uploader
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import JobFailed, WaitTimeout

DESCRIPTOR = "exportDescriptor.properties"
# exportType in a backup's descriptor -> the restore scope it fits.
EXPORT_TYPES = {"all": "site", "site": "site", "space": "space"}
MIB = 1024.0 * 1024.0
# How backup_decrypt's messages end; a restore says what it did not do instead.
_NOTHING_WRITTEN = " Nothing was written."


def _human(size):
    return "%.1f GiB" % (size / MIB / 1024) if size >= MIB * 1024 else "%.1f MiB" % (size / MIB)


def check_backup_file(path, scope, warn, shown=None):
    """Check a local backup before it is uploaded: a readable zip, the right kind, its sidecars matching.

    ``shown``: what messages call the file (the ``.age`` src a decrypted ``path`` came from).
    Returns ``{"size", "sha256" (None without a sidecar to compare), "export_type"}``; raises TaskFailed.
    """
    name = shown or path
    if not os.path.isfile(path):
        raise TaskFailed("src %s is not a file; nothing was uploaded." % name)
    manifest = _manifest(path)
    if export_archive.is_content_export(manifest):
        raise _content_export(name, "its manifest %s records kind content-export" % os.path.basename(
            mf.path_beside(path)), manifest)
    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            descriptor = archive.read(DESCRIPTOR).decode("utf-8", "replace") if DESCRIPTOR in names else None
    except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError) as exc:
        raise TaskFailed("src %s is not a zip file (%s), so it is not a Confluence backup; nothing was uploaded." % (
            name, exc))
    except (IOError, OSError) as exc:
        raise TaskFailed("src %s could not be read as a zip file (%s); nothing was uploaded." % (name, exc))
    if not names:
        raise TaskFailed("src %s is an empty zip file; nothing was uploaded." % name)
    if descriptor is None and export_inventory.holds_export(names):
        raise _content_export(name, "it holds %s at its top and no entities.xml" % export_layout.MANIFEST, manifest)
    export_type = None
    if descriptor is None:
        warn("src %s has no %s at its top level; Confluence may refuse it as a backup." % (name, DESCRIPTOR))
    else:
        match = re.search(r"^\s*exportType\s*[=:]\s*(\S+)", descriptor, re.MULTILINE)
        export_type = match.group(1).strip().lower() if match else None
        fits = EXPORT_TYPES.get(export_type)
        if fits is not None and fits != scope:
            raise TaskFailed("src %s is a %s backup (exportType=%s in %s) and scope is %s: Confluence fails a restore "
                             "whose file does not match the job. Use scope: %s, or another file; nothing was "
                             "uploaded." % (name, fits, export_type, DESCRIPTOR, scope, fits))
    if manifest is not None and not mf.is_good(manifest):
        raise _untrusted(path, manifest)
    expected = _sidecar_sha256(path, manifest)
    digest = None
    if expected is not None:
        digest = file_sha256(path)
        if digest != expected[0]:
            raise TaskFailed("src %s does not match its %s: sha256 %s, expected %s. The file is damaged or was "
                             "changed; nothing was uploaded." % (path, expected[1], digest, expected[0]))
    if manifest is not None and manifest.get("size") not in (None, size):
        raise TaskFailed("src %s is %d bytes but its manifest %s says %s; nothing was uploaded." % (
            path, size, os.path.basename(mf.path_beside(path)), manifest.get("size")))
    return {"size": size, "sha256": digest, "export_type": export_type}


def _untrusted(path, manifest, zip_path=None):
    """The refusal of a backup (``path``, or the ``.age`` copy of ``zip_path``) whose last verification failed."""
    return TaskFailed("src %s failed its last verification (%s, recorded in %s); it cannot be trusted for a "
                      "restore. Restore another backup, or verify this one again at that level if it was "
                      "repaired; nothing was uploaded." % (path, mf.failure(manifest), mf.path_beside(zip_path or path)))


def _content_export(name, evidence, manifest=None):
    """The refusal of a content export (confluence_export's zip, ``name``) given as a backup to restore."""
    folder = (manifest or {}).get("export_folder")
    where = ("its folder %s, beside it while it is kept, or the zip unpacked into a folder" % folder if folder
             else "the zip unpacked into a folder")
    return TaskFailed("src %s is a content export of confluence_export (%s), not a Confluence backup: Confluence's "
                      "restore cannot read it. Restore its pages or spaces with confluence_import, src the export's "
                      "folder (%s); restore a site from a backup of confluence_backup. Nothing was uploaded." % (
                          name, evidence, where))


def is_encrypted(src):
    """Whether ``src`` is an age file (``<name>.zip.age``, as backup_encrypt writes it), decrypted before the upload."""
    return bool(src) and src.endswith(age.SUFFIX)


def decrypt_src(src, identities, warn, keep, parent=None):
    """Decrypt the age file ``src`` for its upload, before anything is sent; returns ``(zip path, decryption result)``.

    The zip goes into a new private folder (mode 0700, made by ``tempfile.mkdtemp``) in ``parent`` (by default the
    folder of ``src``), whose path is handed to ``keep`` as soon as it exists: the caller removes it
    (:func:`remove_decrypted`) whatever happens next. backup_decrypt's workflow decrypts it as a stream and compares
    the plaintext's sha256 (and size) with the manifest beside ``src`` before the file is renamed into place; on a
    wrong key, a mismatch or a damaged file nothing is left in the folder. ``identities`` is a callable that reads
    the key (only when the decryption starts). Raises TaskFailed; no message holds key material.
    """
    if not os.path.isfile(src):
        raise TaskFailed("src %s is not a file; nothing was uploaded." % src)
    stem = src[:-len(age.SUFFIX)]
    manifest_path = mf.path_beside(stem)
    if not os.path.isfile(manifest_path):
        raise TaskFailed("src %s is encrypted, but its manifest %s is not beside it. Fetch the backup's .json with "
                         "its .age file: it records the sha256 that the decrypted backup must have before it is "
                         "restored. Nothing was decrypted or uploaded." % (src, manifest_path))
    manifest = _manifest(stem)
    if export_archive.is_content_export(manifest):
        raise _content_export(src, "its manifest %s records kind content-export" % os.path.basename(manifest_path),
                              manifest)
    if manifest is not None and not mf.is_good(manifest):
        raise _untrusted(src, manifest, stem)
    parent = parent or os.path.dirname(os.path.abspath(src))
    try:
        folder = tempfile.mkdtemp(prefix=".confluence_restore-", dir=parent)
    except (IOError, OSError) as exc:
        raise TaskFailed("Could not make a private folder in %s to decrypt src %s into (%s). Set decrypt_dir to a "
                         "folder this user can write, with room for the backup. Nothing was decrypted or "
                         "uploaded." % (parent, src, getattr(exc, "strerror", None) or exc))
    keep(folder)
    params = dict(path=src, dest=os.path.join(folder, os.path.basename(stem)), manifest=None, expected_sha256=None,
                  check_mode=False)
    try:
        info = Decryption(params, warn).run(identities)
    except TaskFailed as exc:
        said = exc.msg[:-len(_NOTHING_WRITTEN)] if exc.msg.endswith(_NOTHING_WRITTEN) else exc.msg
        raise TaskFailed("%s No decrypted data was kept, and nothing was uploaded." % said)
    return params["dest"], info


def remove_decrypted(folder):
    """Remove a folder :func:`decrypt_src` made, with the decrypted backup in it (nothing when it is gone)."""
    shutil.rmtree(folder, ignore_errors=True)


def _sidecar_sha256(path, manifest):
    """``(sha256, which file said so)`` from ``<src>.sha256`` or the manifest beside it, or None."""
    sidecar = mf.sha256_path(path)
    try:
        digest = mf.read_sha256(sidecar)
    except mf.ManifestError as exc:
        raise TaskFailed("%s; fix or remove it. Nothing was uploaded." % exc)
    if digest is not None:
        return digest, os.path.basename(sidecar)
    if manifest is not None and re.match(r"^[0-9a-f]{64}$", str(manifest.get("sha256") or "")):
        return manifest["sha256"], os.path.basename(mf.path_beside(path))
    return None


def _manifest(path):
    """The manifest beside ``path`` when it describes that file, else None (a zip from elsewhere has none)."""
    if not path.endswith(".zip"):
        return None
    data = mf.load(mf.path_beside(path))
    if data is not None and data.get("file") == os.path.basename(path):
        return data
    return None


class DataCenterRestore(object):
    """One run of ``confluence_restore``. ``params``: scope, file_name or src, skip_reindex, wait, wait_timeout,
    poll_interval (seconds), check_mode."""

    def __init__(self, params, client, log=None, warn=None):
        self.p = params
        self.client = client
        self.log = log or (lambda msg: None)
        self.warn = warn or self.log
        self.api = dc.DataCenterApi(client, warn=self.warn)
        # What is uploaded: src, or the zip an .age src was decrypted into (decrypt_src).
        self.upload_path = params.get("_decrypted") or params.get("src")
        self.result = dict(changed=False, job_id=None, job=None, status=None, scope=params["scope"],
                           file_name=params.get("file_name") or (os.path.basename(self.upload_path)
                                                                 if self.upload_path else None),
                           decrypted=bool(params.get("_decrypted")))
        self.progress = []

    def _fail(self, msg, **fields):
        data = dict(self.result)
        data.update(fields)
        raise TaskFailed(msg, **data)

    def _set_job(self, view):
        self.result.update(job_id=view["id"], job=view, status=dc.status_word(view))

    def check_local(self):
        """The local checks of ``src`` (before any request)."""
        if self.p.get("src"):
            decrypted = self.p.get("_decrypted")
            info = check_backup_file(self.upload_path, self.p["scope"], self.warn,
                                     shown="%s (decrypted)" % self.p["src"] if decrypted else None)
            self.result.update(size=info["size"], sha256=info["sha256"], export_type=info["export_type"])
            if decrypted:
                # Compared with the manifest's as it was decrypted.
                self.result["sha256"] = self.p["_decrypted_sha256"]

    def run(self):
        p = self.p
        what = "%s restore of %s" % (p["scope"], self.result["file_name"])
        running = None
        if p.get("file_name"):
            self._check_restore_folder()
            # Only a file of the restore folder is known by its name; an upload is never taken for another one.
            running = self._running_restore()
        if running is not None:
            self._set_job(running)
            return self._wait(running, "A %s was already %s (job %s, by %s); joined it instead of starting "
                                       "another." % (what, running["service_state"], running["id"],
                                                     running.get("owner") or "an unknown user"))
        if p["check_mode"]:
            self.result.update(changed=True, would_restore=True,
                               msg="Check mode: would %s the %s%s." % (
                                   "upload %s (%s%s) and start" % (
                                       p["src"], "decrypted with the key given, " if self.result["decrypted"] else "",
                                       _human(self.result["size"]))
                                   if p.get("src") else "start", what,
                                   " (it replaces the whole site)" if p["scope"] == "site" else ""))
            return self.result
        if p.get("src"):
            raw = self._upload()
        else:
            raw = self.api.start_restore(p["scope"], p["file_name"], p["skip_reindex"])
        view = dc.job_view(raw)
        self._set_job(view)
        self.result["changed"] = True
        return self._wait(view, "Started the %s (job %s)." % (what, view["id"]))

    def _check_restore_folder(self):
        files = self.api.restore_files(self.p["scope"])
        names = [dc.file_name_of(entry) for entry in files]
        if self.p["file_name"] in names:
            return
        shown = ", ".join(n for n in names[:10] if n) or "none"
        self._fail("%s is not in the server's %s restore folder (<confluence-home>/restore/%s); nothing was started. "
                   "Files there: %s%s. Copy the backup there first, or give src to upload it." % (
                       self.p["file_name"], self.p["scope"], self.p["scope"], shown,
                       " and %d more" % (len(names) - 10) if len(names) > 10 else ""))

    def _running_restore(self):
        name = self.result["file_name"]
        for raw in self.api.jobs(scope=self.p["scope"], operation="RESTORE", states=dc.ACTIVE):
            view = dc.job_view(raw)
            if view["state"] in dc.ACTIVE and view["operation"] == "restore" and view.get("file_name") == name:
                return view
        return None

    def _upload(self):
        p = self.p
        total = self.result["size"]

        def on_progress(sent, body_total, seconds):
            percent = int(100 * sent / max(body_total, 1))
            line = "%d%% (%s of %s) after %.1f s" % (percent, _human(sent), _human(body_total), seconds)
            self.progress.append(line)
            self.log("upload of %s: %s" % (p["src"], line))

        uploader = Uploader(self.client, on_progress=on_progress)
        response, info = uploader.upload(self.upload_path, self.api.upload_path(p["scope"]))
        self.result.update(upload_progress=self.progress, upload_seconds=info["send_seconds"],
                           upload_bytes_per_second=info["bytes_per_second"], uploaded_bytes=total)
        raw = self.api.upload_answer(response, p["scope"])
        if raw is not None:
            return raw
        # The docs say only "200": find the restore job the upload queued, newest first.
        name = os.path.basename(self.upload_path)
        for candidate in self.api.jobs(scope=p["scope"], operation="RESTORE", limit=10):
            if dc.job_view(candidate).get("file_name") == name:
                return candidate
        self._fail("Confluence took the upload of %s (HTTP %s) but its answer is not a job, and no restore job of "
                   "that file is listed. Look at confluence_job_info (job_operation: restore) before running the task "
                   "again: a second run uploads and restores again." % (p["src"], response.status_code),
                   changed=True)

    def _wait(self, view, how):
        p = self.p
        if not p["wait"]:
            self.result["msg"] = how + " Not waiting (wait: false); follow it with confluence_job_info."
            return self.result
        try:
            final, elapsed = wait_for_job(self.api, view, p, self.client.clock, self.client.sleep,
                                          on_poll=lambda current, seconds: self._set_job(current))
        except TaskFailed as exc:
            self._fail(exc.msg, **exc.fields)
        except JobFailed as exc:
            last = exc.last or view
            self._set_job(last)
            self.result["restore_seconds"] = round(exc.elapsed or 0, 3)
            if last["state"] == dc.CANCELLED:
                self._fail("%s Then the restore job was cancelled%s." % (
                    how, (" by %s" % last["cancelled_by"]) if last.get("cancelled_by") else ""))
            self._fail("%s Then Confluence reported the restore as %s: %s. Look at the server's log (a restore "
                       "also fails when its file does not match the job, for example a site backup in a space "
                       "restore)." % (how, last.get("service_state") or "FAILED",
                                      ("\"%s\"" % last["error_message"]) if last.get("error_message")
                                      else "no reason was given"))
        except WaitTimeout as exc:
            if exc.last:
                self._set_job(exc.last)
            self._fail("%s Gave up waiting after wait_timeout (%s): %s The restore goes on on the server; follow it "
                       "with confluence_job_info (job_id %s)." % (how, p["wait_timeout_text"], exc.message, view["id"]),
                       restore_seconds=round(exc.elapsed or 0, 3))
        self._set_job(final)
        self.result["restore_seconds"] = round(elapsed, 3)
        self.result["msg"] = how + " Confluence finished the restore after %.0f s." % elapsed
        return self.result
