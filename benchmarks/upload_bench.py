# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (uploads): ``confluence_restore src:`` against ``curl -F file=@...``, and the module's memory.

The same generated Data Center backup (a valid zip) is uploaded over loopback to the emulator's
``/restore/space/upload`` (streamed to disk and checked as a zip there), by:

* ``curl -F file=@<zip>`` (what Atlassian's docs show);
* ``confluence_restore`` as Ansible runs it (a Python process with its JSON arguments), with ``wait: false`` so
  that the restore job is not waited for. Both are timed as whole processes (start-up, the module's local zip
  check, the upload, the server's answer); the module's send phase (``upload_seconds``) is printed beside it.

Best of ``--repeat``. Then the module's peak RSS (getrusage of its own process) for backups of each size in
``--memory-sizes-mib``. Targets of issue 11: at least 0.8 of curl's throughput; peak RSS under 100 MB and flat.
Not a test: it asserts nothing.

    python benchmarks/upload_bench.py [--size-mib 2048] [--repeat 2] [--memory-sizes-mib 1024,4096] [--quick]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.path.join(ROOT, ".build")
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

from atlassian_emulator.launcher import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

MODULE = "ansible_collections.atlassian_ops.backup.plugins.modules.confluence_restore"
USER, PASSWORD = "admin", "bench-password"
CONTEXT = "/confluence"
MB = 1000.0 * 1000.0
MIB = 1024 * 1024


def make_zip(path, size):
    """A space backup of about ``size`` bytes: descriptor, entities.xml and one large stored member."""
    block = os.urandom(MIB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>\n")
        archive.writestr("exportDescriptor.properties", "exportType=space\nspaceKey=DOC\n")
        with archive.open("attachments/1/1/data.bin", "w", force_zip64=True) as member:
            left = size
            while left > 0:
                member.write(block[:min(left, MIB)])
                left -= MIB
    return path


def settle():
    os.sync()
    time.sleep(1.0)


def run_curl(em, path):
    settle()
    start = time.monotonic()
    subprocess.check_call(["curl", "-s", "-f", "-o", os.devnull, "-u", "%s:%s" % (USER, PASSWORD),
                           "-H", "X-Atlassian-Token: nocheck", "-F", "file=@%s" % path,
                           em.url + CONTEXT + "/rest/api/backup-restore/restore/space/upload"])
    return time.monotonic() - start


def start_module(em, path, work, measure_rss=False):
    args = {"ANSIBLE_MODULE_ARGS": {"url": em.url + CONTEXT, "username": USER, "api_token": PASSWORD,
                                    "scope": "space", "src": path, "wait": False}}
    args_path = os.path.join(work, "args.json")
    with open(args_path, "w") as handle:
        json.dump(args, handle)
    env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
    command = [sys.executable, "-m", MODULE, args_path]
    if measure_rss:
        out = os.path.join(work, "result.json")
        code = ("import resource,subprocess,sys;"
                "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" % out)
        command = [sys.executable, "-c", code] + command
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE)


def run_module(em, path, work):
    settle()
    start = time.monotonic()
    out, _err = start_module(em, path, work).communicate()
    wall = time.monotonic() - start
    result = json.loads(out.decode())
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result, wall


def check_upload(em, path):
    upload = em.state()["dc"]["uploads"][-1]
    if upload["bytes"] != os.path.getsize(path) or not upload["is_zip"]:
        raise SystemExit("the emulator did not receive the whole zip: %s" % upload)
    return upload


def memory(em, work, mib):
    path = make_zip(os.path.join(work, "mem-%d.zip" % mib), mib * MIB)
    try:
        proc = start_module(em, path, work, measure_rss=True)
        out, _err = proc.communicate()
        with open(os.path.join(work, "result.json")) as handle:
            result = json.load(handle)
        if result.get("failed"):
            raise SystemExit("module failed: %s" % result.get("msg"))
        check_upload(em, path)
        return int(out.decode().strip()) / 1024.0
    finally:
        os.unlink(path)


def bench_dir(args):
    """BENCH_DIR, else /dev/shm when it holds the source and the received copy of the largest file.

    In RAM the figures compare the two clients; on a virtual disk they mostly measure the emulator's write-back.
    """
    if os.environ.get("BENCH_DIR"):
        return os.environ["BENCH_DIR"]
    largest = max([args.size_mib] + [int(x) for x in args.memory_sizes_mib.split(",") if x.strip()]) * MIB
    if os.path.isdir("/dev/shm"):
        stat = os.statvfs("/dev/shm")
        if stat.f_bavail * stat.f_frsize > 2 * largest + 512 * MIB:
            return "/dev/shm"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-sizes-mib", default="1024,4096")
    parser.add_argument("--quick", action="store_true", help="one run each, no memory figures")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    work = tempfile.mkdtemp(prefix="upload-bench-", dir=bench_dir(args))
    print("Upload bench in %s, the emulator's restore folder too (set BENCH_DIR to use another file system)" % work)
    # The emulator writes what it receives under its temp folder: the same file system as the source.
    os.environ["TMPDIR"] = work
    em = EmulatorProcess(work, {"dc_users": {USER: PASSWORD}, "dc_job_polls": 0})
    try:
        size = args.size_mib * MIB
        path = make_zip(os.path.join(work, "space-backup.zip"), size)
        size = os.path.getsize(path)
        best = {}
        for _rep in range(1 if args.quick else args.repeat):
            seconds = run_curl(em, path)
            check_upload(em, path)
            best["curl"] = min(best.get("curl", seconds), seconds)
            result, wall = run_module(em, path, work)
            upload = check_upload(em, path)
            if not upload["had_content_length"] or upload["chunked"]:
                raise SystemExit("the module's upload was chunked: %s" % upload)
            if "module" not in best or wall < best["module"]:
                best["module"], best["module send"] = wall, result["upload_seconds"]
        os.unlink(path)
        print("Upload of a %d MiB backup over loopback (best of %d)" % (args.size_mib, 1 if args.quick else args.repeat))
        print("  curl -F file=@...          %7.2f s %8.1f MB/s  (whole process)" % (best["curl"], size / best["curl"] / MB))
        print("  confluence_restore src:    %7.2f s %8.1f MB/s  (whole process: start-up, zip check, upload, answer; "
              "first to last byte %.2f s)" % (best["module"], size / best["module"] / MB, best["module send"]))
        memories = []
        if not args.quick:
            for mib in [int(x) for x in args.memory_sizes_mib.split(",") if x.strip()]:
                memories.append((mib, memory(em, work, mib)))
                print("Peak RSS of the module process, %5d MiB upload: %6.1f MiB" % memories[-1])
    finally:
        em.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("Targets (issue 11)")
    ratio = best["curl"] / best["module"]
    print("  upload throughput >= 0.8 of curl: %.2f  %s" % (ratio, "pass" if ratio >= 0.8 else "FALLS SHORT"))
    if memories:
        low, high = min(m for _s, m in memories), max(m for _s, m in memories)
        ok = high <= low * 1.1 and high < 100
        print("  peak RSS flat across sizes (within 10 %%) and under 100 MB: %s  %s" % (
            ", ".join("%.1f MiB at %d MiB" % (m, s) for s, m in memories), "pass" if ok else "FALLS SHORT"))


if __name__ == "__main__":
    main()
