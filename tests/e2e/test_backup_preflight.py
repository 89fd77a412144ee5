# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_preflight through ansible-playbook (issue 13). It talks to no service.

The tests run as root, for whom permission bits do not make a folder unwritable. A folder is made really
unwritable by a read-only bind mount in a mount namespace of the playbook's own (it needs CAP_SYS_ADMIN, and is
skipped without it), and by a folder of sysfs, where not even root can create a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from conftest import SAVE
from test_backup_prune import CLOUD, DC, add_backup, files_of, listing

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def failed(run):
    return run.rc == 0 and (run.result or {}).get("failed") is True


def preflight(run_playbook, path, check=False, **args):
    merged = dict(path=path, product="confluence")
    merged.update(args)
    return run_playbook.module("backup_preflight", check=check, **merged)


def test_a_missing_folder_is_created_once_and_only_reported_in_check_mode(run_playbook, tmp_path):
    folder = str(tmp_path / "new" / "confluence")
    check = preflight(run_playbook, folder, check=True)
    assert ok(check), check
    assert check.result["exists"] is False and check.result["created"] is False and check.result["changed"] is True
    assert check.result["writable"] is True and check.result["path"] == folder
    assert not os.path.exists(str(tmp_path / "new"))
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith(".preflight-")], "the probe in the parent is gone"
    assert check.result["checks"][:2] == [
        "check mode: folder %s is missing; it would be created (and %s is checked instead)" % (folder, tmp_path),
        "a file was written, flushed and deleted in %s" % tmp_path]

    first = preflight(run_playbook, folder)
    assert ok(first), first
    assert first.result["changed"] is True and first.result["created"] is True and first.result["exists"] is False
    assert first.result["writable"] is True and first.result["previous"] is None and first.result["previous_bytes"] is None
    assert first.result["required_bytes"] == 0 and first.result["free_bytes"] > 0
    assert oct(os.stat(folder).st_mode & 0o777) == oct(0o700)
    assert first.result["checks"][0] == "folder %s created (mode 0700)" % folder
    assert first.result["msg"].startswith("Ready for the next backup in %s: folder %s created" % (folder, folder))

    second = preflight(run_playbook, folder)
    assert ok(second), second
    assert second.result["changed"] is False and second.result["created"] is False and second.result["exists"] is True
    assert second.result["checks"] == [
        "folder %s exists" % folder, "a file was written, flushed and deleted in %s" % folder,
        "no previous verified backup of the target in %s" % folder,
        "%s free, 0 bytes needed (min_free 0 bytes, as there is no previous backup)" % figure(second.result["free_bytes"])]
    assert os.listdir(folder) == [], "the probe file is gone"


def figure(size):
    units = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    unit = next(((f, u) for f, u in units if size >= f), None)
    return "%.1f %s (%d bytes)" % (float(size) / unit[0], unit[1], size) if unit else "%d bytes" % size


def test_free_space_is_measured_against_the_previous_backup_of_the_series(run_playbook, tmp_path):
    folder = str(tmp_path / "backups")
    os.makedirs(folder)
    add_backup(folder, date(2026, 11, 20))
    newest = add_backup(folder, date(2026, 11, 21))
    unverified = add_backup(folder, date(2026, 11, 22))
    os.unlink(unverified + ".zip")
    other = add_backup(folder, date(2026, 11, 23), label="other.atlassian.net")
    spaces = add_backup(folder, date(2026, 11, 23), label=DC, kind="space-DOC", scope="space", space_keys=["DOC"])
    with open(newest + ".json") as handle:
        size = json.load(handle)["size"]
    before = listing(folder)

    run = preflight(run_playbook, folder, site="https://" + CLOUD.upper())
    assert ok(run), run
    assert run.result["previous"] == {"path": newest + ".zip", "size": size, "backup_time": "2026-11-21T02:00:00Z"}
    assert run.result["previous_bytes"] == size and run.result["required_bytes"] == 2 * size
    assert run.result["free_bytes"] > 2 * size and run.result["changed"] is False
    assert run.result["checks"][2] == "previous backup %s.zip of 2026-11-21T02:00:00Z, %d bytes" % (newest, size)
    # The series is selected as backup_prune selects it: by site, scope and exact space keys.
    assert preflight(run_playbook, folder, site=CLOUD, scope="space").result["previous"] is None
    keys = preflight(run_playbook, folder, site=DC, scope="space", space_keys=["DOC"])
    assert ok(keys) and keys.result["previous"]["path"] == spaces + ".zip", keys
    anyone = preflight(run_playbook, folder, scope="site")
    assert ok(anyone) and anyone.result["previous"]["path"] == other + ".zip", anyone

    full = preflight(run_playbook, folder, site=CLOUD, space_factor=1e12)
    assert failed(full), full
    needed = size * 10 ** 12
    assert full.result["required_bytes"] == needed and full.result["previous_bytes"] == size
    msg = full.result["msg"]
    for text in ("Not enough free space for the next backup in %s" % folder, "%d bytes) free" % full.result["free_bytes"],
                 "%d bytes) needed (space_factor 1e+12 x the previous backup of %d bytes" % (needed, size),
                 "previous backup %s.zip of 2026-11-21T02:00:00Z" % newest, "Free some space there",
                 "lower space_factor"):
        assert text in msg, (text, msg)

    floor = preflight(run_playbook, folder, site=CLOUD, min_free="1000000T")
    assert failed(floor), floor
    assert floor.result["required_bytes"] == 1000000 << 40
    assert "min_free 1000000.0 TiB (1099511627776000000 bytes), more than space_factor 2 x" in floor.result["msg"]
    assert "lower min_free" in floor.result["msg"]
    # min_free in bytes (an integer) and below twice the previous backup: the previous backup decides.
    small = preflight(run_playbook, folder, site=CLOUD, min_free=size)
    assert ok(small) and small.result["required_bytes"] == 2 * size and not small.result.get("warnings"), small
    assert listing(folder) == before and all(os.path.exists(p) for p in files_of(newest))


def test_a_path_that_is_a_file_or_under_a_file_is_refused(run_playbook, tmp_path):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    run = preflight(run_playbook, str(a_file))
    assert failed(run) and run.result["exists"] is True and run.result["writable"] is False, run
    assert run.result["msg"] == ("path %s is not a folder, it is a file. Point path at the target's backup folder (or "
                                 "move that away)." % a_file)
    for check in (False, True):
        under = preflight(run_playbook, str(a_file / "below" / "confluence"), check=check)
        assert failed(under) and under.result["exists"] is False and under.result["created"] is False, under
        assert under.result["msg"] == ("Cannot create the backup folder %s: %s is a file, not a folder. Choose another "
                                       "path (or move that away)." % (a_file / "below" / "confluence", a_file))
    assert a_file.read_text() == "x"


@pytest.mark.parametrize("args, message", [
    (dict(min_free="lots"), "min_free: 'lots' is not a size; write it as bytes or like 500M, 10G or 1T."),
    (dict(min_free=-1), "min_free: a size must not be negative (got -1)."),
    (dict(space_factor=-1), "space_factor must be a number of 0 or more, such as 2 for twice the previous backup (got -1.0)."),
    (dict(product="Confluence"), "product must be a word of lower-case letters, digits or _"),
    (dict(site="a/b"), "site must be a site label such as example.atlassian.net or a URL (got 'a/b')."),
])
def test_unusable_options_are_refused_before_anything_is_created(run_playbook, tmp_path, args, message):
    folder = str(tmp_path / "never")
    run = preflight(run_playbook, folder, **args)
    assert failed(run) and run.result["msg"].startswith(message), run
    assert not os.path.exists(folder)


def read_only_bind(folder):
    """A preexec function: a mount namespace of the child's own, where ``folder`` is a read-only bind mount."""
    def enter():
        libc = ctypes.CDLL(None, use_errno=True)
        path = folder.encode()
        for call in (lambda: libc.unshare(CLONE_NEWNS),
                     lambda: libc.mount(None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None),
                     lambda: libc.mount(path, path, None, ctypes.c_ulong(MS_BIND), None),
                     lambda: libc.mount(None, path, None, ctypes.c_ulong(MS_REMOUNT | MS_BIND | MS_RDONLY), None)):
            if call() != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return enter


def playbook_run(run_playbook, tmp_path, preexec, check=False, **args):
    """One backup_preflight task, like ``run_playbook.module``, with ``preexec`` run before ansible-playbook."""
    task = {"name": "Pre-flight", "atlassian_ops.backup.backup_preflight": args, "register": "result",
            "ignore_errors": True}
    save = {"name": "Save the result", "check_mode": False,
            SAVE: {"content": "{{ result | to_nice_json }}", "dest": "{{ result_file }}"}}
    playbook = tmp_path / ("preflight-%d.yml" % len(run_playbook.runs))
    playbook.write_text(json.dumps([{"name": "Pre-flight", "hosts": "localhost", "gather_facts": False,
                                     "tasks": [task, save]}]))
    return run_playbook(name=str(playbook), preexec=preexec, check=check, module="backup_preflight")


def test_a_read_only_mount_is_refused(run_playbook, tmp_path):
    folder = str(tmp_path / "read-only")
    os.makedirs(folder)
    add_backup(folder, date(2026, 11, 21))
    before = listing(folder)
    try:
        subprocess.run([sys.executable, "-c", "pass"], preexec_fn=read_only_bind(folder), check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip("cannot make a read-only bind mount in a mount namespace here (%s)" % exc)
    # The result file is written outside the mount, by the same ansible-playbook.
    run = playbook_run(run_playbook, tmp_path, read_only_bind(folder), path=folder, product="confluence")
    assert failed(run) and run.result["writable"] is False and run.result["exists"] is True, run
    assert run.result["msg"] == ("The backup folder %s is not writable: cannot create a file there (Read-only file "
                                 "system); its file system is mounted read-only; remount it read-write, or choose a "
                                 "path on a writable one." % folder)
    below = os.path.join(folder, "new", "confluence")
    create = playbook_run(run_playbook, tmp_path, read_only_bind(folder), path=below, product="confluence")
    assert failed(create) and create.result["created"] is False, create
    assert create.result["msg"] == ("Cannot create the backup folder %s (Read-only file system). Create it, or choose "
                                    "another path, writable by the user running the backup." % below)
    check = playbook_run(run_playbook, tmp_path, read_only_bind(folder), check=True, path=below, product="confluence")
    assert failed(check) and check.result["writable"] is False, check
    assert check.result["msg"].startswith("The backup folder %s (its nearest existing parent %s) is not writable: "
                                          "cannot create a file there (Read-only file system)" % (below, folder))
    # Outside the playbook's namespace the folder was never read-only: the module wrote nothing there.
    assert listing(folder) == before


def test_a_folder_not_even_root_can_write_in_is_refused(run_playbook):
    if not os.path.ismount("/sys") or not os.path.isdir("/sys/kernel"):
        pytest.skip("no sysfs at /sys")
    run = preflight(run_playbook, "/sys/kernel")
    assert failed(run) and run.result["writable"] is False and run.result["changed"] is False, run
    assert run.result["msg"].startswith("The backup folder /sys/kernel is not writable: cannot create a file there ("), run
