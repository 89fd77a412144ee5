# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (many targets): the role ``scheduled_backup`` over 50 Confluence Cloud targets, as a list and as hosts.

Each target is its own Cloud site: ``--targets`` emulators on loopback (one process each, started before anything is
timed), each with a backup that takes ``--backup-seconds`` of the emulator's clock after the start request (queued
for the first quarter, at most 5 s), 3 MiB, no frequency limit (every run asks for a new backup and waits for it).
The role polls every ``--poll-interval``. The playbook is the collection's ``atlassian_ops.backup.scheduled_backup``,
as a user runs it, timed as a whole ``ansible-playbook`` process:

* one target: the list form with the first target alone (the reference);
* the list form: all targets in ``scheduled_backup_targets`` of ``localhost``, one after another;
* the host form: one inventory host per target (``ansible_connection: local``, the target in the host variable
  ``scheduled_backup_target``), ``--forks`` forks (``ANSIBLE_FORKS``); the backup step runs in the background
  (``scheduled_backup_async``, the host form's default), so a host waiting for its site does not hold a fork.

It prints each run's wall time, its ratio to the one-target run, and the CPU time of ``ansible-playbook`` and the
processes it waited for (the backup steps run in the background are not among them). Issue 22's goal: the host form
under 3x the one-target run (not 50x). On a machine with few cores the host form cannot be faster than the CPU work
of all targets spread over the cores: the ratio depends on how long a backup takes against the role's own work per
target (see roles/scheduled_backup/README.md). Not a test: it asserts nothing, but says when a run failed.

    python benchmarks/scale_bench.py [--targets 50] [--forks 10] [--backup-seconds 20] [--poll-interval 2]
                                     [--skip-list] [--keep-dir] [--stage-root .build]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.path.join(ROOT, ".build")
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

from atlassian_emulator.launcher import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

USER, TOKEN = "bench@example.com", "bench-token-5c1d"
PLAYBOOK = "atlassian_ops.backup.scheduled_backup"
MIB = 1024 * 1024


def start_emulators(work, count, backup_seconds):
    """``count`` emulators, started side by side (each waits for its own ready file)."""
    config = {"users": {USER: TOKEN}, "backup_seconds": backup_seconds,
              "queued_seconds": min(5.0, backup_seconds / 4.0), "backup_size": 3 * MIB + 123,
              "frequency_limit_seconds": 0}
    found = [None] * count
    errors = []

    def one(index):
        folder = os.path.join(work, "emulator-%02d" % index)
        os.mkdir(folder)
        try:
            found[index] = EmulatorProcess(folder, config, start_timeout=120)
        except RuntimeError as exc:  # pragma: no cover - said below
            errors.append(str(exc))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for emu in found:
            if emu is not None:
                emu.stop()
        raise SystemExit("an emulator did not start: %s" % errors[0])
    return found


def target(index, emu):
    return {"name": "site-%02d" % (index + 1), "type": "confluence_cloud", "url": emu.url}


def role_vars(work, name, poll_interval):
    folder = os.path.join(work, name)
    os.mkdir(folder)
    return folder, {"scheduled_backup_dest": os.path.join(folder, "backups"),
                    "scheduled_backup_report_file": os.path.join(folder, "report.json"),
                    "scheduled_backup_poll_interval": str(poll_interval), "scheduled_backup_wait_timeout": "1h"}


def run(stage_root, name, inventory, variables, forks, emulators):
    """One ansible-playbook run; returns (wall seconds, CPU seconds, the run's report)."""
    for emu in emulators:
        emu.reset()
    folder = os.path.dirname(variables["scheduled_backup_report_file"])
    with open(os.path.join(folder, "inventory.json"), "w") as handle:
        json.dump(inventory, handle)
    with open(os.path.join(folder, "vars.json"), "w") as handle:
        json.dump(variables, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=stage_root, ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS=str(forks),
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=os.path.join(folder, "tmp"),
               ANSIBLE_ASYNC_DIR=os.path.join(folder, "async"),
               ATLASSIAN_USERNAME=USER, ATLASSIAN_API_TOKEN=TOKEN)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.path.join(folder, "inventory.json"), "-e", "@" + os.path.join(folder, "vars.json"), PLAYBOOK]
    log = os.path.join(folder, "ansible.log")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = []
    if os.path.exists(variables["scheduled_backup_report_file"]):
        with open(variables["scheduled_backup_report_file"]) as handle:
            report = json.load(handle)
    good = [e for e in report if e.get("status") == "ok" and e.get("changed")]
    if proc.returncode != 0 or len(good) != len(emulators):
        with open(log) as handle:
            tail = handle.read()[-3000:]
        raise SystemExit("%s: ansible-playbook exited %d, %d of %d targets took a new backup; the end of %s:\n%s" % (
            name, proc.returncode, len(good), len(emulators), log, tail))
    return wall, cpu, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--backup-seconds", type=float, default=20.0,
                        help="how long each site's backup takes after the start request (emulator clock)")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="scheduled_backup_poll_interval, seconds")
    parser.add_argument("--skip-list", action="store_true", help="leave out the list form (it takes targets x one)")
    parser.add_argument("--keep-dir", action="store_true", help="leave the runs' folders and logs in place")
    parser.add_argument("--stage-root", default=STAGE_ROOT, help="the staged collection (make stage)")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(args.stage_root, "ansible_collections")):
        raise SystemExit("Run `make stage` first (the playbook runs from %s)." % args.stage_root)

    work = tempfile.mkdtemp(prefix="scale-bench-")
    emulators = []
    try:
        start = time.monotonic()
        emulators = start_emulators(work, args.targets, args.backup_seconds)
        print("started %d emulated Cloud sites in %.1f s; each backup takes %g s of the emulator's clock (3 MiB), "
              "polled every %g s; %d CPU core(s), load %s" % (
                  args.targets, time.monotonic() - start, args.backup_seconds, args.poll_interval, os.cpu_count(),
                  " ".join("%.2f" % x for x in os.getloadavg())))
        python = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        rows = []

        folder, variables = role_vars(work, "one", args.poll_interval)
        variables["scheduled_backup_targets"] = [target(0, emulators[0])]
        wall, cpu, _report = run(args.stage_root, "one target", {"all": {"hosts": {"localhost": python}}}, variables, 5,
                                 emulators[:1])
        one = wall
        rows.append(("one target (list form)", 1, 1, wall, cpu))

        if not args.skip_list:
            folder, variables = role_vars(work, "list", args.poll_interval)
            variables["scheduled_backup_targets"] = [target(n, emu) for n, emu in enumerate(emulators)]
            wall, cpu, _report = run(args.stage_root, "list form", {"all": {"hosts": {"localhost": python}}}, variables, 5,
                                     emulators)
            rows.append(("list form, %d targets on localhost" % args.targets, args.targets, 1, wall, cpu))

        folder, variables = role_vars(work, "hosts", args.poll_interval)
        variables["scheduled_backup_hosts"] = "sites"
        hosts = dict(("site-%02d" % (n + 1), {"scheduled_backup_target": target(n, emu)})
                     for n, emu in enumerate(emulators))
        wall, cpu, _report = run(args.stage_root, "host form", {"sites": {"hosts": hosts, "vars": python}}, variables,
                                 args.forks, emulators)
        rows.append(("host form, %d hosts, %d forks" % (args.targets, args.forks), args.targets, args.forks, wall, cpu))

        print("")
        print("%-44s %9s %9s %11s %13s" % ("run", "wall s", "x one", "CPU s", "CPU s/target"))
        for label, count, _forks, wall, cpu in rows:
            print("%-44s %9.1f %9.2f %11.1f %13.1f" % (label, wall, wall / one, cpu, cpu / count))
        hosts_wall = rows[-1][3]
        print("")
        print("goal of issue 22: the host form under 3x one target: %.2fx (%s)" % (
            hosts_wall / one, "pass" if hosts_wall < 3 * one else "falls short"))
        per_target_cpu = rows[-1][4] / args.targets
        print("floor of the host form on this machine: %d targets x %.1f CPU s (the host form's, its background steps "
              "aside) / %d cores = %.0f s, plus one backup (%g s)" % (
                  args.targets, per_target_cpu, os.cpu_count(), args.targets * per_target_cpu / os.cpu_count(),
                  args.backup_seconds))
    finally:
        for emu in emulators:
            emu.stop()
        if args.keep_dir:
            print("left in place: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
