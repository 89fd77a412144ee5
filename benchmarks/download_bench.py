# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench: confluence_backup's download throughput against curl, and its peak memory.

Both download the same emulator backup over loopback, from the site URL through
the 302 to the media host, into the same folder. The module runs as Ansible runs
it (a Python process with its JSON arguments); its peak RSS is read from
getrusage of that child. Not a test: it prints figures, it asserts nothing.

    python benchmarks/download_bench.py [--size-mib 1024] [--repeat 2] [--memory-sizes-mib 1024,4096]
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
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.path.join(ROOT, ".build")
USER, TOKEN = "bench@example.com", "bench-token"


def start_emulator(work, size):
    config = os.path.join(work, "config.json")
    with open(config, "w") as handle:
        json.dump({"users": {USER: TOKEN}, "backup_size": size, "backup_seconds": 0.2, "queued_seconds": 0}, handle)
    ready = os.path.join(work, "ready.json")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests", "emulator"))
    proc = subprocess.Popen([sys.executable, "-m", "atlassian_emulator", "--config", config, "--ready-file", ready],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _i in range(200):
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    with open(ready) as handle:
        url = json.load(handle)["site_url"]
    # A completed backup on the site, frequency limit active: the module downloads the latest one.
    requests.post(url + "/_emulator/obm/backup", json={"state": "complete", "age_seconds": 60}, timeout=30)
    state = requests.get(url + "/_emulator/state", timeout=600).json()  # computes the sha256 once
    return proc, url, state["backup"]


def child_peak_rss_mib(before):
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024.0


def run_curl(url, file_name, out):
    start = time.monotonic()
    subprocess.check_call(["curl", "-s", "-f", "-L", "-u", "%s:%s" % (USER, TOKEN), "-o", out,
                           "%s/wiki/download/%s" % (url, file_name)])
    return time.monotonic() - start


def run_module(url, dest):
    args = {"ANSIBLE_MODULE_ARGS": {"url": url, "username": USER, "api_token": TOKEN, "dest": dest,
                                    "poll_interval": 1, "on_frequency_limit": "use_latest"}}
    path = os.path.join(dest, "..", "args-%d.json" % os.getpid())
    with open(path, "w") as handle:
        json.dump(args, handle)
    env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "ansible_collections.atlassian_ops.backup.plugins.modules."
                          "confluence_backup", path], env=env, stdout=subprocess.PIPE, check=False)
    wall = time.monotonic() - start
    result = json.loads(out.stdout.decode())
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result, wall


def measure_memory(size):
    """Peak RSS of the module process downloading a backup of ``size`` bytes (own child, fresh getrusage)."""
    work = tempfile.mkdtemp(prefix="bench-mem-")
    proc, url, _backup = start_emulator(work, size)
    try:
        dest = os.path.join(work, "dest")
        os.mkdir(dest)
        code = ("import resource,subprocess,sys,json;"
                "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" % os.path.join(work, "out.json"))
        args = {"ANSIBLE_MODULE_ARGS": {"url": url, "username": USER, "api_token": TOKEN, "dest": dest}}
        with open(os.path.join(work, "args.json"), "w") as handle:
            json.dump(args, handle)
        env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
        peak = subprocess.check_output([sys.executable, "-c", code, sys.executable, "-m",
                                        "ansible_collections.atlassian_ops.backup.plugins.modules.confluence_backup",
                                        os.path.join(work, "args.json")], env=env)
        with open(os.path.join(work, "out.json")) as handle:
            result = json.load(handle)
        if result.get("failed"):
            raise SystemExit("module failed: %s" % result.get("msg"))
        return int(peak.decode().strip()) / 1024.0, result
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-sizes-mib", default="1024,4096")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    size = args.size_mib * 1024 * 1024
    work = tempfile.mkdtemp(prefix="bench-")
    proc, url, backup = start_emulator(work, size)
    try:
        curl_times, module_times, walls, transfers = [], [], [], []
        for i in range(args.repeat):
            out = os.path.join(work, "curl.zip")
            curl_times.append(run_curl(url, backup["file_name"], out))
            os.unlink(out)
            dest = os.path.join(work, "dest-%d" % i)
            os.mkdir(dest)
            result, wall = run_module(url, dest)
            if result["sha256"] != backup["sha256"]:
                raise SystemExit("sha256 mismatch: %s != %s" % (result["sha256"], backup["sha256"]))
            module_times.append(result["download_seconds"])
            transfers.append(result["transfer_seconds"])
            walls.append(wall)
            shutil.rmtree(dest)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    mib = size / 1048576.0
    best_curl, best_mod = min(curl_times), min(module_times)
    print("Download of a %d MiB emulator backup over loopback (best of %d)" % (args.size_mib, args.repeat))
    print("  curl -L            : %6.2f s  %7.1f MiB/s" % (best_curl, mib / best_curl))
    print("  confluence_backup  : %6.2f s  %7.1f MiB/s  (download only; whole module run %.2f s incl. sha256,"
          " zip check, fsync)" % (best_mod, mib / best_mod, min(walls)))
    print("  ratio module/curl  : %.2f  (transfer phase alone, before fsync and zip check: %.2f s, ratio %.2f;"
          " curl does not fsync)" % (best_curl / best_mod, min(transfers), best_curl / min(transfers)))
    for mem_mib in [int(x) for x in args.memory_sizes_mib.split(",") if x.strip()]:
        peak, result = measure_memory(mem_mib * 1024 * 1024)
        print("Peak RSS of the module process, %5d MiB backup: %6.1f MiB (download %.2f s)" % (
            mem_mib, peak, result["download_seconds"]))


if __name__ == "__main__":
    main()
