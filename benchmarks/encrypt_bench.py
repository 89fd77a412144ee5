# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (encryption): ``backup_encrypt`` against a plain copy (``cp``) of the same backup, ``backup_decrypt``
after it, and the peak RSS of each module, at each of ``--sizes-mib`` (1 and 2 GiB by default).

For each size, a backup zip of that size (incompressible bytes: what age sees of a zip is noise), its ``.sha256``
file and its manifest are written, as ``confluence_backup`` leaves them. Then, timed as whole processes (start-up
included), best of ``--repeat``:

* ``cp`` of the zip into another file of the same folder (the reference: the same bytes read and written);
* ``backup_encrypt`` as Ansible runs it (``python -m ...backup_encrypt args.json``) to two recipients (an age X25519
  key and an SSH ed25519 key), with ``force`` so that each repeat encrypts: the zip read once, its sha256 checked
  against the manifest, the ciphertext and its sha256 written, the manifest updated;
* ``backup_decrypt`` of that file with the SSH key, its sha256 checked against the manifest.

Peak RSS comes from a tiny parent process (``getrusage(RUSAGE_CHILDREN)``). Not a test: it asserts nothing; it
prints the figures and how they compare with issue 23's targets (at least 0.8x the plain copy; peak RSS under
100 MB, flat across sizes). The files go to BENCH_DIR, else /tmp, and are deleted at the end.

    python benchmarks/encrypt_bench.py [--sizes-mib 1024,2048] [--repeat 2]
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
STAGE_ROOT = os.environ.get("STAGE_ROOT") or os.path.join(ROOT, ".build")
MODULES = "ansible_collections.atlassian_ops.backup.plugins.modules."
SITE = "bench.atlassian.net"
MB = 1000.0 * 1000.0
MIB = 1024 * 1024


def make_keys(work):
    """(recipients, path of an SSH private key): an age X25519 recipient and an SSH ed25519 key."""
    import pyrage  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ed25519  # pylint: disable=import-outside-toplevel
    key = ed25519.Ed25519PrivateKey.generate()
    private = os.path.join(work, "id_ed25519")
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return [str(pyrage.x25519.Identity.generate().to_public()), public], private


def make_backup(work, size):
    """A zip-sized file of incompressible bytes, its .sha256 file and its manifest; returns its path."""
    started = time.monotonic()
    name = "confluence-%s-20261122T020304Z.zip" % SITE
    path = os.path.join(work, name)
    digest = hashlib.sha256()
    block = os.urandom(8 * MIB)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[:min(len(block), size - written)]
            digest.update(piece)
            handle.write(piece)
            written += len(piece)
    with open(path + ".sha256", "w") as handle:
        handle.write("%s  %s\n" % (digest.hexdigest(), name))
    manifest = {"format": 1, "product": "confluence", "deployment": "cloud", "site": "https://" + SITE,
                "site_label": SITE, "file": name, "size": size, "sha256": digest.hexdigest(),
                "backup_time": "2026-11-22T02:03:04Z", "verified": "zip-crc"}
    with open(path[:-4] + ".json", "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
    print("Generated %s (%d MiB) in %.1f s" % (path, size // MIB, time.monotonic() - started))
    return path


def settle():
    os.sync()
    time.sleep(1.0)


def run_copy(path):
    target = path + ".copy"
    settle()
    started = time.monotonic()
    subprocess.run(["cp", path, target], check=True)
    seconds = time.monotonic() - started
    os.unlink(target)
    return seconds


def run_module(name, args, work):
    """The module as Ansible runs it, under a parent that reports its peak RSS; (result, seconds, peak bytes)."""
    args_path = os.path.join(work, "args.json")
    with open(args_path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    out = os.path.join(work, "result.json")
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" % out)
    env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
    settle()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", MODULES + name, args_path], env=env,
                          stdout=subprocess.PIPE, check=True)
    seconds = time.monotonic() - started
    os.unlink(args_path)
    with open(out) as handle:
        result = json.load(handle)
    if result.get("failed") or not result.get("changed"):
        raise SystemExit("%s did not run as expected: %s" % (name, result.get("msg")))
    return result, seconds, int(proc.stdout.decode().strip()) * 1024


def bench_size(size, repeat, base):
    work = tempfile.mkdtemp(prefix="encrypt-bench-", dir=base)
    try:
        recipients, identity = make_keys(work)
        path = make_backup(work, size)
        best = {}
        peaks = {"encrypt": [], "decrypt": []}
        for _rep in range(repeat):
            best["copy"] = min(best.get("copy", float("inf")), run_copy(path))
            result, seconds, peak = run_module("backup_encrypt", {"path": path, "recipients": recipients,
                                                                  "force": True}, work)
            best["encrypt"] = min(best.get("encrypt", float("inf")), seconds)
            peaks["encrypt"].append(peak)
            restored = os.path.join(work, "restored.zip")
            _result, seconds, peak = run_module("backup_decrypt", {"path": result["path"], "dest": restored,
                                                                   "identity_file": identity}, work)
            os.unlink(restored)
            best["decrypt"] = min(best.get("decrypt", float("inf")), seconds)
            peaks["decrypt"].append(peak)
        overhead = result["size"] - size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return best, peaks, overhead


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mib", default="1024,2048")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    base = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    print("Encryption bench in %s (set BENCH_DIR to use another file system)" % base)
    ratios = []
    peaks_all = []
    for size_mib in [int(s) for s in args.sizes_mib.split(",") if s.strip()]:
        size = size_mib * MIB
        best, peaks, overhead = bench_size(size, args.repeat, base)
        ratio = best["copy"] / best["encrypt"]
        ratios.append(ratio)
        peaks_all += peaks["encrypt"] + peaks["decrypt"]
        print("A %d MiB backup, two recipients, best of %d (whole processes):" % (size_mib, args.repeat))
        print("  cp (plain copy)            %7.2f s %8.1f MB/s" % (best["copy"], size / best["copy"] / MB))
        print("  backup_encrypt             %7.2f s %8.1f MB/s  (%.2fx the copy; ciphertext +%d bytes)" % (
            best["encrypt"], size / best["encrypt"] / MB, ratio, overhead))
        print("  backup_decrypt             %7.2f s %8.1f MB/s" % (best["decrypt"], size / best["decrypt"] / MB))
        print("  peak RSS: encrypt %s; decrypt %s" % (
            ", ".join("%.1f MB" % (p / MB) for p in peaks["encrypt"]),
            ", ".join("%.1f MB" % (p / MB) for p in peaks["decrypt"])))
    print("Targets (issue 23, measured here against a local copy, not yet an upload)")
    print("  throughput >= 0.8x the plain copy: %s  %s" % (
        ", ".join("%.2f" % r for r in ratios), "pass" if min(ratios) >= 0.8 else "FALLS SHORT"))
    high = max(peaks_all)
    print("  peak RSS < 100 MB: %.1f MB  %s" % (high / MB, "pass" if high < 100 * MB else "FALLS SHORT"))


if __name__ == "__main__":
    main()
