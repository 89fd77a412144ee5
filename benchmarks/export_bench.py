# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (content export): ``confluence_export`` against the emulator's generated REST API v2 site (issue 24).

The emulator runs in its own process (``python -m atlassian_emulator``, as tests/e2e/conftest.py starts it) on
loopback, plain http. The module runs as Ansible runs it (``python -m ...confluence_export args.json``), timed as a
whole process (start-up included), its peak RSS and CPU from a tiny parent (``getrusage(RUSAGE_CHILDREN)``); the
emulator's CPU from /proc. Figures:

1. a first export of a site of ``--pages`` pages (default 10,000; 20 spaces, a blog post per 20 pages, an attachment
   per 5 pages of 1 to 64 KiB): seconds, requests (the module's count and the emulator's request log), items per
   second; then, after 1 % of the pages changed (an hour later on the emulator's clock), the second, incremental
   export: seconds and requests, and their ratio to the first (target: under 5 % of both);
2. throughput under a rate limit of ``--rate`` requests per second (the emulator's 1-second windows, 429 with
   ``Retry-After`` past them): an export of a ``--rate-pages`` site with ``max_requests_per_second: N``, and one
   relying on 429 + ``Retry-After`` alone: requests let through per second of the whole process (target: within
   10 % of N);
3. the module's peak RSS at 1,000 pages and at ``--pages`` (target: flat, under 100 MB).

Not a test: it asserts nothing; it prints the figures and whether each target is met. The exports go to BENCH_DIR,
else /tmp, and are deleted at the end.

    python benchmarks/export_bench.py [--pages 10000] [--quick] [--workers 8] [--rate 50] [--rate-pages 1000]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.environ.get("STAGE_ROOT") or os.path.join(ROOT, ".build")
EMULATOR_PATH = os.path.join(ROOT, "tests", "emulator")
MODULE = "ansible_collections.atlassian_ops.backup.plugins.modules.confluence_export"
# The e2e suite's canary account (tests/e2e/conftest.py): an emulator-only credential, never a real one.
USER = "backup-bot@example.com"
TOKEN = "CANARY-tok-7f3a9c1e5b2d4f60a8e1"
MB = 1000.0 * 1000.0
SMALL = 1000
KINDS = [("list", re.compile(r"/api/v2/(spaces(/\d+/(pages|blogposts))?)$")),
         ("item", re.compile(r"/api/v2/(pages|blogposts)/\d+$")),
         ("sub-list", re.compile(r"/api/v2/(pages|blogposts)/\d+/[a-z-]+$")),
         ("download", re.compile(r"/wiki/download/"))]
TICKS = os.sysconf("SC_CLK_TCK")


def site_body(pages):
    return {"seed": 1, "spaces": 20, "pages": pages, "blogposts": max(1, pages // 20),
            "attachments": max(1, pages // 5), "attachment_size": [1024, 65536]}


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (from /proc), or None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IOError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / float(TICKS)


class Bench(object):

    def __init__(self, work, workers):
        sys.path.insert(0, EMULATOR_PATH)
        from atlassian_emulator.launcher import EmulatorProcess  # pylint: disable=import-outside-toplevel
        self.work = work
        self.workers = workers
        self.emulator = EmulatorProcess(work, {"users": {USER: TOKEN}}, start_timeout=60)
        self.runs = 0

    def stop(self):
        self.emulator.stop()

    def control(self, path, body=None):
        return self.emulator.control(path, body)

    def log_mark(self):
        return self.control("rest_v2/requests?since=1000000000")["next"]

    def log_since(self, start):
        return self.control("rest_v2/requests?since=%d" % start)["requests"]

    def generate(self, pages):
        started = time.monotonic()
        site = self.control("rest_v2/site", site_body(pages))
        totals = site["totals"]
        print("Generated a site of %d spaces, %d pages, %d blog posts, %d attachments in %.1f s" % (
            len(site["spaces"]), totals["pages"]["current"] + totals["pages"]["archived"],
            totals["blogposts"]["current"], totals["attachments"], time.monotonic() - started))
        return site

    def export(self, dest, may_fail=False, **extra):
        """One run of the module; a dict of its result, seconds, peak RSS, CPU, the emulator's CPU and log."""
        self.runs += 1
        os.makedirs(dest, exist_ok=True)
        args = dict(dest=dest, url=self.emulator.url, username=USER, api_token=TOKEN, workers=self.workers)
        args.update(extra)
        args_path = os.path.join(self.work, "args.json")
        with open(args_path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        out = os.path.join(self.work, "result.json")
        code = ("import json,resource,subprocess,sys;"
                "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
                "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
                "print(json.dumps([r.ru_maxrss,r.ru_utime+r.ru_stime]))" % out)
        env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
        mark = self.log_mark()
        emulator_cpu = cpu_seconds(self.emulator.proc.pid)
        os.sync()
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", MODULE, args_path], env=env,
                              stdout=subprocess.PIPE, check=True)
        seconds = time.monotonic() - started
        emulator_cpu = cpu_seconds(self.emulator.proc.pid) - emulator_cpu
        os.unlink(args_path)
        with open(out) as handle:
            result = json.load(handle)
        if result.get("failed") and not may_fail:
            raise SystemExit("confluence_export failed: %s" % result.get("msg"))
        rss, cpu = json.loads(proc.stdout.decode())
        log = self.log_since(mark)
        return dict(result=result, seconds=seconds, rss=rss * 1024, cpu=cpu, emulator_cpu=emulator_cpu, log=log)


def breakdown(run, items):
    """The emulator's log of a run by kind of request, per item exported."""
    kinds = collections.Counter()
    for entry in run["log"]:
        if entry.get("status") == 429:
            kinds["429"] += 1
            continue
        kinds[next((name for name, pattern in KINDS if pattern.search(entry["path"])), "other")] += 1
    return ", ".join("%s %d (%.2f/item)" % (name, count, count / float(max(1, items)))
                     for name, count in sorted(kinds.items()))


def describe(name, run):
    result = run["result"]
    items = result["fetched"]["pages"] + result["fetched"]["blogposts"]
    print("  %-28s %8.1f s  %6d requests (log %d)  %7.1f pages/s fetched  peak RSS %.1f MB" % (
        name, run["seconds"], result["requests"], len(run["log"]), result["fetched"]["pages"] / run["seconds"],
        run["rss"] / MB))
    print("  %-28s CPU: module %.1f s, emulator %.1f s; fetched %d pages, %d blog posts, %d attachments (%.1f MB);"
          " reused %d items" % ("", run["cpu"], run["emulator_cpu"], result["fetched"]["pages"],
                                result["fetched"]["blogposts"], result["fetched"]["attachments"],
                                result["fetched"]["attachment_bytes"] / MB,
                                result["reused"]["pages"] + result["reused"]["blogposts"]))
    print("  %-28s requests: %s" % ("", breakdown(run, items)))


def verdict(ok):
    return "pass" if ok else "FALLS SHORT"


def incremental(bench, base, pages):
    print("1. A first export, then an incremental one after 1 %% of the pages changed (%d workers)" % bench.workers)
    bench.generate(pages)
    dest = os.path.join(base, "incremental")
    first = bench.export(dest)
    describe("first export", first)
    bench.control("advance", {"seconds": 3600})
    changed = bench.control("rest_v2/change", {"edit_pages": max(1, pages // 100), "totals": False})
    second = bench.export(dest)
    describe("after %d pages changed" % len(changed["edited"]), second)
    shutil.rmtree(dest, ignore_errors=True)
    return first, second


def rate_limited(bench, base, pages, rate):
    print("2. Under a rate limit of %d requests per second (the emulator's 1-second windows), %d pages" % (rate, pages))
    bench.generate(pages)
    bench.control("config", {"v2_rate_limit": {"requests": rate, "window_seconds": 1}})
    achieved = []
    try:
        for name, extra in (("max_requests_per_second: %d" % rate, {"max_requests_per_second": rate}),
                            ("429 + Retry-After only", {})):
            dest = os.path.join(base, "rate-%d" % len(achieved))
            run = bench.export(dest, may_fail=True, **extra)
            shutil.rmtree(dest, ignore_errors=True)
            if run["result"].get("failed"):
                print("  %-28s %8.1f s  FAILED (%d requests let through, %d answered 429): %s" % (
                    name, run["seconds"], sum(1 for e in run["log"] if e.get("status") != 429),
                    sum(1 for e in run["log"] if e.get("status") == 429), run["result"].get("msg")))
                achieved.append(0.0)
                continue
            passed = [e for e in run["log"] if e.get("status") != 429]
            refused = len(run["log"]) - len(passed)
            span = passed[-1]["time"] - passed[0]["time"] if len(passed) > 1 else 0.0
            per_second = len(passed) / run["seconds"]
            achieved.append(per_second)
            print("  %-28s %8.1f s  %6d requests let through, %d answered 429 (pace halved %d times):"
                  " %.1f/s (%.2f of N; %.1f/s from the first to the last in the emulator's log)" % (
                      name, run["seconds"], len(passed), refused, run["result"].get("rate_limited") or 0,
                      per_second, per_second / rate, (len(passed) - 1) / span if span else 0.0))
    finally:
        bench.control("config", {"v2_rate_limit": None})
    return achieved


def small_rss(bench, base, pages):
    bench.generate(pages)
    dest = os.path.join(base, "small")
    run = bench.export(dest)
    shutil.rmtree(dest, ignore_errors=True)
    describe("first export, %d pages" % pages, run)
    return run["rss"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--quick", action="store_true", help="1,000 pages (and 200 under the rate limit): a check")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rate", type=int, default=50, help="the rate limit N, requests per second")
    parser.add_argument("--rate-pages", type=int, default=1000)
    parser.add_argument("--small-pages", type=int, default=SMALL, help="the smaller site of the RSS comparison")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.rate_pages = args.small_pages, 200
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    base = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="export-bench-", dir=base)
    print("Content export bench in %s (set BENCH_DIR to use another file system)" % work)
    bench = Bench(work, args.workers)
    try:
        first, second = incremental(bench, work, args.pages)
        achieved = rate_limited(bench, work, args.rate_pages, args.rate)
        print("3. Peak RSS as the site grows")
        rss = {args.pages: first["rss"]}
        if args.pages != args.small_pages:
            rss[args.small_pages] = small_rss(bench, work, args.small_pages)
    finally:
        bench.stop()
        shutil.rmtree(work, ignore_errors=True)
    request_ratio = second["result"]["requests"] / float(first["result"]["requests"])
    time_ratio = second["seconds"] / first["seconds"]
    print("Targets (issue 24)")
    print("  second run < 5 %% of the first's requests: %.2f %%  %s" % (100 * request_ratio,
                                                                        verdict(request_ratio < 0.05)))
    print("  second run < 5 %% of the first's time: %.2f %% (%.1f s of %.1f s)  %s" % (
        100 * time_ratio, second["seconds"], first["seconds"], verdict(time_ratio < 0.05)))
    print("  throughput within 10 %% of N=%d: %s  %s" % (
        args.rate, ", ".join("%.1f/s" % a for a in achieved),
        verdict(all(abs(a - args.rate) <= 0.1 * args.rate for a in achieved))))
    high = max(rss.values())
    print("  peak RSS < 100 MB and flat: %s  %s" % (
        ", ".join("%.1f MB at %d pages" % (rss[p] / MB, p) for p in sorted(rss)),
        verdict(high < 100 * MB and high <= 1.2 * min(rss.values()))))


if __name__ == "__main__":
    main()
