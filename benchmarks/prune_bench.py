# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (retention): ``backup_prune``'s decision over 10,000 manifests on disk (issue 13).

A temporary folder gets ``--count`` fake backups (a 16-byte zip, its ``.sha256`` file and a format-1 manifest
each), one every ``--every-hours`` hours, spread over ``--sites`` sites. Then, best of ``--repeat``:

* ``backup_prune`` in check mode as Ansible runs it: ``python -m ansible_collections.atlassian_ops.backup.plugins.
  modules.backup_prune args.json`` with ``PYTHONPATH=.build``, timed as a whole process (interpreter start-up,
  imports, reading every manifest, the cheap verification of every zip and sidecar, the decision, the JSON
  answer);
* the same imports alone in a process (the fixed cost inside the figure above);
* in-process: the module's folder scan and decision (``scan`` + ``plan`` per series), and ``_retention.plan`` alone
  over the same backups.

Target of issue 13: the decision over 10,000 manifests in under a second. Not a test: it asserts nothing.

    python benchmarks/prune_bench.py [--count 10000] [--sites 1] [--every-hours 6] [--repeat 3] [--keep-dir]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.path.join(ROOT, ".build")
MODULE = "ansible_collections.atlassian_ops.backup.plugins.modules.backup_prune"
KEEP = dict(keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=5, keep_last=1)


def generate(folder, count, sites, every_hours):
    """``count`` backups, newest on 2026-11-22 02:00 UTC, round-robin over ``sites`` site labels."""
    newest = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    for n in range(count):
        label = "site%02d.example.atlassian.net" % (n % sites)
        when = newest - timedelta(hours=every_hours * (n // sites))
        base = "confluence-%s-%s" % (label, when.strftime("%Y%m%dT%H%M%SZ"))
        body = ("%016d" % n).encode()
        digest = hashlib.sha256(body).hexdigest()
        with open(os.path.join(folder, base + ".zip"), "wb") as handle:
            handle.write(body)
        with open(os.path.join(folder, base + ".zip.sha256"), "w") as handle:
            handle.write("%s  %s.zip\n" % (digest, base))
        manifest = {"format": 1, "product": "confluence", "deployment": "cloud", "site": "https://" + label,
                    "site_label": label, "file": base + ".zip", "size": len(body), "sha256": digest,
                    "backup_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "verified": "zip-structure",
                    "backup_id": "b%06d" % n, "include_attachments": True}
        with open(os.path.join(folder, base + ".json"), "w") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True)


def run_process(command, env):
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return time.perf_counter() - start, proc


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--every-hours", type=float, default=6.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-dir", action="store_true", help="leave the generated folder in place")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("Run `make stage` first (the module runs from %s)." % STAGE_ROOT)
    sys.path.insert(0, STAGE_ROOT)
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.retention import plan
    from ansible_collections.atlassian_ops.backup.plugins.modules import backup_prune

    work = tempfile.mkdtemp(prefix="prune-bench-")
    folder = os.path.join(work, "backups")
    os.mkdir(folder)
    try:
        start = time.perf_counter()
        generate(folder, args.count, args.sites, args.every_hours)
        print("generated %d backups (%d files) over %d site(s), one every %g h, in %s (%.1f s)" % (
            args.count, 3 * args.count, args.sites, args.every_hours, folder, time.perf_counter() - start))
        params = dict(path=folder, product="confluence", **KEEP)
        args_path = os.path.join(work, "args.json")
        with open(args_path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=True)}, handle)
        env = dict(os.environ, PYTHONPATH=STAGE_ROOT)

        whole, imports, scans, plans = [], [], [], []
        result = None
        for _round in range(args.repeat):
            seconds, proc = run_process([sys.executable, "-m", MODULE, args_path], env)
            result = json.loads(proc.stdout.decode())
            if result.get("failed"):
                raise SystemExit("module failed: %s" % result.get("msg"))
            whole.append(seconds)
            seconds, proc = run_process([sys.executable, "-c", "import %s" % MODULE], env)
            if proc.returncode:
                raise SystemExit(proc.stderr.decode())
            imports.append(seconds)

            start = time.perf_counter()
            backups, unaccounted = backup_prune.scan(folder, "confluence", None)
            groups = {}
            for backup in backups:
                groups.setdefault(backup.series, []).append(backup)
            items = dict((key, [dict(id=b.manifest_path, time=b.time, verified=b.problem is None) for b in members])
                         for key, members in groups.items())
            decisions = [plan(members, **KEEP) for members in items.values()]
            scans.append(time.perf_counter() - start)

            start = time.perf_counter()
            for members in items.values():
                plan(members, **KEEP)
            plans.append(time.perf_counter() - start)
        left = len(os.listdir(folder))
        print("module result: %d series, %d kept, %d files would be deleted, %d unverified, %d unaccounted; "
              "%d files still in the folder (check mode deletes nothing)" % (
                  result["series"], len(result["kept"]), len(result["would_delete"]), len(result["unverified"]),
                  len(result["unaccounted"]), left))
        agrees = sum(len(d["keep"]) for d in decisions) == len(result["kept"]) and not unaccounted
        print("in-process decision agrees with the module: %s" % agrees)
        print("")
        print("%-62s %8s %8s" % ("best of %d (median)" % args.repeat, "best s", "median s"))
        rows = [
            ("backup_prune, check mode, whole process (as Ansible runs it)", whole),
            ("  of which: interpreter start-up + imports alone", imports),
            ("module scan + decision in-process (%d manifests)" % args.count, scans),
            ("_retention.plan alone in-process", plans),
        ]
        for label, values in rows:
            print("%-62s %8.3f %8.3f" % (label, min(values), sorted(values)[len(values) // 2]))
        print("")
        verdict = "pass" if min(whole) < 1.0 else "falls short"
        print("target: the decision over %d manifests in under 1 s, whole module process: %.3f s (%s)" % (
            args.count, min(whole), verdict))
    finally:
        if args.keep_dir:
            print("left in place: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
