# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (verification): ``backup_verify level=inventory`` against ``unzip -t`` on the same backup, and the
module's memory.

One generated Confluence site backup of ``--size-mib`` (a valid zip, members stored as Confluence writes them):
an ``entities.xml`` of about ``--entities-mib`` (15 % of the backup by default, about 300 MiB at 2 GiB) whose
objects look like a real export's (spaces, pages with bodies and historical versions, blog posts, comments,
attachments, permissions, drafts and trashed content), an ``exportDescriptor.properties``, and attachments for the
rest; its ``.sha256`` file and manifest beside it, as ``confluence_backup`` leaves them.

* ``unzip -t`` reads every member back and checks its CRC (the reference of issue 13);
* ``backup_verify`` as Ansible runs it (``python -m ...backup_verify args.json``): the sha256 against the ``.sha256``
  file and the manifest, every member's CRC, and the counts read from ``entities.xml`` as a stream. Both are timed
  as whole processes (start-up included), best of ``--repeat``. The module's peak RSS comes from a tiny parent
  process (``getrusage(RUSAGE_CHILDREN)``). The phases are timed in-process as well, for the record.

Targets of issue 13: at least 1x the throughput of ``unzip -t``; peak RSS under 100 MB. Not a test: it asserts
nothing. The files go to BENCH_DIR, else /dev/shm when it has room, else the temporary folder.

    python benchmarks/verify_bench.py [--size-mib 2048] [--entities-mib N] [--body-bytes 2048] [--repeat 2]
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.path.join(ROOT, ".build")
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
sys.path.insert(0, STAGE_ROOT)

from atlassian_emulator.zipstream import BackupZip, entities_xml  # noqa: E402  pylint: disable=wrong-import-position

MODULE = "ansible_collections.atlassian_ops.backup.plugins.modules.backup_verify"
SITE = "bench.atlassian.net"
MB = 1000.0 * 1000.0
MIB = 1024 * 1024


def inventory_for(entities_bytes, body_bytes):
    """Counts whose entities.xml is about ``entities_bytes`` long (measured on a sample, then scaled)."""
    def shape(pages):
        return dict(spaces=max(1, pages // 1000), pages=pages, blog_posts=pages // 50, comments=pages // 4,
                    attachments=pages // 2, body_size=body_bytes)
    sample = 2000
    per_page = len(entities_xml(shape(sample), SITE)) / float(sample)
    return shape(max(1, int(entities_bytes / per_page)))


def make_backup(work, size, inventory):
    """The backup zip, its .sha256 file and its manifest in ``work``; returns (path, entities.xml bytes)."""
    started = time.monotonic()
    backup = BackupZip(size, seed=13, site=SITE, inventory=inventory)
    entities = len(backup.small[0][1])
    name = "confluence-%s-20261122T020304Z.zip" % SITE
    path = os.path.join(work, name)
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for piece in backup.iter_range(chunk=8 * MIB):
            digest.update(piece)
            handle.write(piece)
    del backup
    with open(path + ".sha256", "w") as handle:
        handle.write("%s  %s\n" % (digest.hexdigest(), name))
    manifest = {"format": 1, "product": "confluence", "deployment": "cloud", "site": "https://" + SITE,
                "site_label": SITE, "file": name, "size": size, "sha256": digest.hexdigest(),
                "backup_time": "2026-11-22T02:03:04Z"}
    with open(path[:-4] + ".json", "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    print("Generated %s (%d MiB, entities.xml %.0f MiB) in %.1f s" % (
        path, size // MIB, entities / float(MIB), time.monotonic() - started))
    return path, entities


def settle():
    os.sync()
    time.sleep(1.0)


def run_unzip(path):
    settle()
    started = time.monotonic()
    proc = subprocess.run(["unzip", "-tqq", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("unzip -t failed: %s" % proc.stdout.decode(errors="replace")[-2000:])
    return seconds


def run_module(path, work):
    """backup_verify as Ansible runs it, under a parent that reports its peak RSS; (result, seconds, peak bytes)."""
    args_path = os.path.join(work, "args.json")
    with open(args_path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {"path": path, "level": "inventory"}}, handle)
    out = os.path.join(work, "result.json")
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" % out)
    env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
    settle()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", MODULE, args_path], env=env,
                          stdout=subprocess.PIPE, check=True)
    seconds = time.monotonic() - started
    with open(out) as handle:
        result = json.load(handle)
    if result.get("failed") or not result.get("verified"):
        raise SystemExit("backup_verify failed: %s" % result.get("msg"))
    return result, seconds, int(proc.stdout.decode().strip()) * 1024


def phases(path):
    """The module's three steps, timed in this process (for the record; the comparison uses whole processes)."""
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import inventory as inv  # pylint: disable=import-outside-toplevel
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256  # pylint: disable=import-outside-toplevel
    settle()
    timings = []
    for name, step in (("sha256", lambda: file_sha256(path)), ("archive (every CRC)", lambda: inv.check_archive(path)),
                       ("inventory (entities.xml)", lambda: inv.read_inventory(path))):
        started = time.monotonic()
        step()
        timings.append((name, time.monotonic() - started))
    return timings


def bench_dir(size):
    """BENCH_DIR, else /dev/shm when it holds the backup with room to spare, else None (the temporary folder)."""
    if os.environ.get("BENCH_DIR"):
        return os.environ["BENCH_DIR"]
    if os.path.isdir("/dev/shm"):
        stat = os.statvfs("/dev/shm")
        if stat.f_bavail * stat.f_frsize > size + 1024 * MIB:
            return "/dev/shm"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--entities-mib", type=int, default=None, help="default: 15 %% of --size-mib")
    parser.add_argument("--body-bytes", type=int, default=2048, help="the body of each page in entities.xml")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    if not shutil.which("unzip"):
        raise SystemExit("unzip is needed (the reference of the comparison)")
    size = args.size_mib * MIB
    entities_mib = args.entities_mib if args.entities_mib is not None else max(1, args.size_mib * 15 // 100)
    work = tempfile.mkdtemp(prefix="verify-bench-", dir=bench_dir(size))
    print("Verification bench in %s (set BENCH_DIR to use another file system)" % work)
    try:
        inventory = inventory_for(entities_mib * MIB, args.body_bytes)
        path, entities = make_backup(work, size, inventory)
        best = {}
        peaks = []
        result = None
        for _rep in range(args.repeat):
            best["unzip"] = min(best.get("unzip", float("inf")), run_unzip(path))
            result, seconds, peak = run_module(path, work)
            best["module"] = min(best.get("module", float("inf")), seconds)
            peaks.append(peak)
        timings = phases(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counted = result["inventory"]
    print("Verification of a %d MiB backup: %d members, entities.xml %.0f MiB with %d objects (%d pages, %d "
          "attachments counted), best of %d" % (
              args.size_mib, result["members"], entities / float(MIB), counted["objects"], counted["pages"],
              counted["attachments"], args.repeat))
    print("  unzip -t                        %7.2f s %8.1f MB/s  (whole process)" % (best["unzip"], size / best["unzip"] / MB))
    print("  backup_verify level=inventory   %7.2f s %8.1f MB/s  (whole process: start-up, sha256, every CRC, "
          "counts)" % (best["module"], size / best["module"] / MB))
    print("    in-process phases: %s" % ", ".join("%s %.2f s" % t for t in timings))
    print("Peak RSS of the module process: %s" % ", ".join("%.1f MB" % (p / MB) for p in peaks))
    print("Targets (issue 13)")
    ratio = best["unzip"] / best["module"]
    print("  throughput >= 1x unzip -t: %.2f  %s" % (ratio, "pass" if ratio >= 1 else "FALLS SHORT"))
    high = max(peaks)
    print("  peak RSS < 100 MB: %.1f MB  %s" % (high / MB, "pass" if high < 100 * MB else "FALLS SHORT"))


if __name__ == "__main__":
    main()
