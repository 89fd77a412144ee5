# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_prune workflow: the backups of a folder read from their manifests, retention planned per series, and
each doomed backup deleted oldest first, its manifest last.

Only good backups take part (``catalog``: the files match the manifest, and the last verification did not fail);
the others are reported and left alone. No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import retention
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import scan, wanted


def prune(params, label, check_mode=False, diff=False, warn=None):
    """Prune the backups of ``params["product"]`` (and site ``label``) in ``params["path"]``; returns the result.

    ``params``: the module's options (``path``, ``product``, ``scope``, ``space_keys``, the ``keep_*`` counts,
    ``objects``). Raises :class:`TaskFailed` (with the result so far) when a deletion fails.
    """
    warn = warn or (lambda msg: None)
    folder = params["path"]
    objects = params.get("objects")
    backups, unaccounted = scan(folder, params["product"], label, objects=objects)
    groups = {}
    for backup in backups:
        if wanted(backup.series, params):
            groups.setdefault(backup.series, []).append(backup)
    kept, unverified, doomed = [], [], []
    for members in groups.values():
        by_id = dict((b.manifest_path, b) for b in members)
        decision = retention.plan(
            [dict(id=b.manifest_path, time=b.time, verified=b.problem is None) for b in members if b.time is not None],
            keep_daily=params["keep_daily"], keep_weekly=params["keep_weekly"], keep_monthly=params["keep_monthly"],
            keep_yearly=params["keep_yearly"], keep_last=params["keep_last"])
        for ident in decision["keep"]:
            b = by_id[ident]
            kept.append((b.time, dict(path=b.zip_path, backup_time=b.backup_time, reasons=decision["reasons"][ident])))
        doomed += [by_id[ident] for ident in decision["delete"]]
        for b in members:
            if b.problem is not None:
                unverified.append(b)
    kept.sort(key=lambda entry: (entry[0], entry[1]["path"]), reverse=True)
    unverified.sort(key=lambda b: (b.backup_time or "", b.manifest_path), reverse=True)
    doomed.sort(key=lambda b: (b.time, b.manifest_path))
    result = dict(changed=bool(doomed), deleted=[], kept=[entry[1] for entry in kept], unaccounted=unaccounted,
                  unverified=[dict(path=b.zip_path, manifest_path=b.manifest_path, backup_time=b.backup_time,
                                   reason=b.problem) for b in unverified],
                  series=len(groups))
    if diff:
        before = sorted((b.zip_path for members in groups.values() for b in members), reverse=True)
        gone = set(b.zip_path for b in doomed)
        result["diff"] = dict(before=dict(backups=before), after=dict(backups=[p for p in before if p not in gone]),
                              before_header=folder, after_header=folder)
    planned = [path for b in doomed for path in b.files()]
    if check_mode or objects is not None:
        result["would_delete"] = planned
        result["changed"] = bool(doomed) and objects is None
    else:
        failures = delete(doomed, result["deleted"])
        if failures:
            result["changed"] = bool(result["deleted"])
            raise TaskFailed("Could not delete %d of %d backups: %s. What was deleted is in deleted; each backup "
                             "not fully deleted keeps its manifest." % (len(failures), len(doomed), "; ".join(failures)),
                             **result)
    result["msg"] = summary("copy" if objects is not None else "check" if check_mode else "run", folder, doomed,
                            planned, result)
    left = []
    if unverified:
        left.append("%s not verified (see unverified)" % plural(len(unverified), "backup"))
    if unaccounted:
        left.append("%s no manifest accounts for (see unaccounted)" % plural(len(unaccounted), "file"))
    if left:
        warn("Left alone in %s: %s." % (folder, "; ".join(left)))
    return result


def delete(doomed, deleted):
    """Delete each backup's files, oldest backup first, manifest last; returns what failed."""
    failures = []
    for backup in doomed:
        for path in backup.files():
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue
                failures.append("%s (%s)" % (path, exc.strerror or exc))
                break
            deleted.append(path)
    return failures


def plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def summary(mode, folder, doomed, planned, result):
    counts = "%s kept in %d series; %s and %s left alone" % (
        plural(len(result["kept"]), "backup"), result["series"], plural(len(result["unverified"]), "unverified backup"),
        plural(len(result["unaccounted"]), "unaccounted file"))
    if not doomed:
        return "Nothing to delete in %s: %s." % (folder, counts)
    if mode == "copy":
        return "The copy should lose %s (%s, see would_delete); nothing was deleted here; %s." % (
            plural(len(doomed), "backup"), plural(len(planned), "file"), counts)
    if mode == "check":
        return "Check mode: would delete %s (%s) in %s; %s." % (
            plural(len(doomed), "backup"), plural(len(planned), "file"), folder, counts)
    return "Deleted %s (%s) in %s; %s." % (
        plural(len(doomed), "backup"), plural(len(result["deleted"]), "file"), folder, counts)
