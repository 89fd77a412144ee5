# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench (off-site copies): ``backup_offsite`` plain against age-encrypted on the way out, to the same
stand-in store, and the peak RSS of the module, at each of ``--sizes-mib`` (1, 2 and 4 GiB by default).

The stand-ins: moto's S3 server (tests/tools/s3server.py, the e2e tests' one) and, with ``--azure`` (the default
when Azurite is installed: ``make azurite``, AZURITE_BIN), Azurite's Blob service, started here with its data on
disk in the bench folder (the tests' tests/tools/azurite.py keeps blobs in memory, with a limit far below 4 GiB).

For each size, a backup zip of that size (incompressible bytes: what age sees of a zip is noise), its ``.sha256``
file and its manifest are written, as ``confluence_backup`` leaves them. Then, timed as whole processes (start-up
and the read-back included), best of ``--repeat`` at ``--throughput-mib`` (once at the other sizes, whose figure is
the peak RSS; their throughput is printed too), each to a fresh prefix (emptied afterwards):

* ``backup_offsite`` as Ansible runs it (``python -m ...backup_offsite args.json``), plain: the zip read once,
  uploaded in parts, read back by size and the store's checksum, the manifest sent;
* the same with ``encrypt_recipients`` (an age X25519 key and an SSH ed25519 key): the zip encrypted with age as it
  is read, the ciphertext uploaded in parts as it is produced.

Also, once per size, the encryption alone (``age.encrypt_into`` into a writer that discards the bytes, in a process
of its own): what the encryption costs without any upload. Peak RSS comes from a tiny parent process
(``getrusage(RUSAGE_CHILDREN)``). Not a test: it asserts nothing; it prints the figures and how they compare with
issue 23's targets (encrypted throughput at least 0.8x the plain upload at 2 GiB; peak RSS under 100 MB, flat
across sizes). The files go to BENCH_DIR, else /tmp, and are deleted at the end.

    python benchmarks/offsite_bench.py [--sizes-mib 1024,2048,4096] [--throughput-mib 2048] [--repeat 2]
                                       [--azure | --no-azure]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE_ROOT = os.environ.get("STAGE_ROOT") or os.path.join(ROOT, ".build")
TOOLS = os.path.join(ROOT, "tests", "tools")
MODULE = "ansible_collections.atlassian_ops.backup.plugins.modules.backup_offsite"
SITE = "bench.atlassian.net"
MB = 1000.0 * 1000.0
MIB = 1024 * 1024
BUCKET = "offsite-bench"
CONTAINER = "offsite-bench"
CREDENTIALS = dict(access_key="testing", secret_key="testing", region="us-east-1")  # moto's; no secret
AZURITE_LISTENING = re.compile(r"listens on (http://127\.0\.0\.1:(\d+))")
STARTUP_SECONDS = 60
ENCRYPT_ALONE = """
import sys, time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
class Sink(object):
    size = 0
    def write(self, data):
        self.size += len(data)
        return len(data)
    def flush(self):
        pass
recipients = age.parse_recipients(sys.argv[2:], "recipients")
started = time.monotonic()
sink = Sink()
age.encrypt_into(sys.argv[1], sink, recipients)
print(time.monotonic() - started)
"""


def make_keys():
    """Two recipients: an age X25519 public key and an SSH ed25519 public key (their private keys are not kept)."""
    import pyrage  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ed25519  # pylint: disable=import-outside-toplevel
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return [str(pyrage.x25519.Identity.generate().to_public()), public]


def make_backup(work, size):
    """A zip-sized file of incompressible bytes, its .sha256 file and its manifest; returns (path, manifest text)."""
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
    text = json.dumps(manifest, indent=2, sort_keys=True)
    with open(path[:-4] + ".json", "w") as handle:
        handle.write(text)
    print("Generated %s (%d MiB) in %.1f s" % (path, size // MIB, time.monotonic() - started))
    return path, text


def wait_ready(proc, ready, log, what):
    deadline = time.monotonic() + STARTUP_SECONDS
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            with open(log) as handle:
                raise SystemExit("%s did not start:\n%s" % (what, handle.read()))
        time.sleep(0.05)
    with open(ready) as handle:
        return json.load(handle)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class S3Standin(object):
    """moto's S3 server (tests/tools/s3server.py), its spool files (objects over its memory buffer) in ``work``."""

    kind = "s3"
    label = "S3 (moto)"

    def __init__(self, work):
        import boto3  # pylint: disable=import-outside-toplevel
        ready, self.log = os.path.join(work, "s3-ready.json"), os.path.join(work, "s3.log")
        spool = os.path.join(work, "moto-tmp")
        os.mkdir(spool)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, os.path.join(TOOLS, "s3server.py"), "--ready-file", ready],
                                         stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ, TMPDIR=spool))
        self.endpoint = wait_ready(self.proc, ready, self.log, "moto's S3 server")["endpoint_url"]
        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=CREDENTIALS["access_key"],
                                   aws_secret_access_key=CREDENTIALS["secret_key"],
                                   region_name=CREDENTIALS["region"])
        self.client.create_bucket(Bucket=BUCKET)

    def args(self, prefix):
        return dict(store="s3", prefix=prefix, s3=dict(CREDENTIALS, bucket=BUCKET, endpoint_url=self.endpoint))

    def empty(self, prefix):
        listing = self.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
        for item in listing.get("Contents") or []:
            self.client.delete_object(Bucket=BUCKET, Key=item["Key"])

    def close(self):
        stop(self.proc)


class AzuriteStandin(object):
    """Azurite's Blob service on a free loopback port, its blobs on disk in ``work``."""

    kind = "azure_blob"
    label = "Azure Blob (Azurite)"

    def __init__(self, work, program):
        from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
        sys.path.insert(0, TOOLS)
        import azurite  # pylint: disable=import-outside-toplevel,import-error
        location = os.path.join(work, "azurite")
        os.mkdir(location)
        self.log = os.path.join(work, "azurite.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [program, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", location, "--silent",
                 "--disableTelemetry", "--skipApiVersionCheck", "--loose"], stdout=log, stderr=subprocess.STDOUT,
                cwd=location)
        deadline, url = time.monotonic() + STARTUP_SECONDS, None
        while url is None:
            with open(self.log) as handle:
                match = AZURITE_LISTENING.search(handle.read())
            if match:
                url = match.group(1)
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                stop(self.proc)
                with open(self.log) as handle:
                    raise SystemExit("Azurite did not start:\n%s" % handle.read())
            else:
                time.sleep(0.05)
        self.connection_string = azurite.connection_string("%s/%s" % (url, azurite.ACCOUNT))
        self.service = BlobServiceClient.from_connection_string(self.connection_string)
        while True:
            try:
                self.service.create_container(CONTAINER)
                break
            except Exception:  # pylint: disable=broad-except
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.container = self.service.get_container_client(CONTAINER)

    def args(self, prefix):
        return dict(store="azure_blob", prefix=prefix,
                    azure=dict(container=CONTAINER, connection_string=self.connection_string))

    def empty(self, prefix):
        for blob in self.container.list_blobs(name_starts_with=prefix + "/"):
            self.container.delete_blob(blob.name)

    def close(self):
        stop(self.proc)


def settle():
    os.sync()
    time.sleep(1.0)


def measured(argv, work, out):
    """Run ``argv`` under a parent that reports its peak RSS; (seconds, peak bytes)."""
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=open(%r,'w'),check=False);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" % out)
    env = dict(os.environ, PYTHONPATH=STAGE_ROOT)
    settle()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code] + argv, env=env, stdout=subprocess.PIPE, check=True,
                          cwd=work)
    return time.monotonic() - started, int(proc.stdout.decode().strip()) * 1024


def run_module(args, work):
    """backup_offsite as Ansible runs it; (result, seconds, peak bytes)."""
    args_path = os.path.join(work, "args.json")
    with open(args_path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    out = os.path.join(work, "result.json")
    seconds, peak = measured([sys.executable, "-m", MODULE, args_path], work, out)
    os.unlink(args_path)
    with open(out) as handle:
        result = json.load(handle)
    os.unlink(out)
    if result.get("failed") or not result.get("uploaded"):
        raise SystemExit("backup_offsite did not upload: %s" % result.get("msg"))
    return result, seconds, peak


def encrypt_alone(path, recipients, work):
    """age.encrypt_into the zip into a writer that discards the bytes, in a process of its own: seconds."""
    out = os.path.join(work, "alone.txt")
    measured([sys.executable, "-c", ENCRYPT_ALONE, path] + recipients, work, out)
    with open(out) as handle:
        seconds = float(handle.read().strip())
    os.unlink(out)
    return seconds


def bench_size(size, repeat, stores, recipients, base):
    """{store kind: {"plain"/"encrypted": (best seconds, [peaks])}}, and the seconds of the encryption alone."""
    work = tempfile.mkdtemp(prefix="offsite-bench-", dir=base)
    figures = {}
    try:
        path, manifest = make_backup(work, size)
        alone = min(encrypt_alone(path, recipients, work) for dummy in range(repeat))
        for store in stores:
            figures[store.kind] = {}
            for _rep in range(repeat):
                for mode in ("plain", "encrypted"):
                    with open(path[:-4] + ".json", "w") as handle:
                        handle.write(manifest)  # as the backup left it: no record of an earlier run's copy
                    prefix = "bench/%s-%s" % (mode, uuid.uuid4().hex[:12])
                    args = dict(store.args(prefix), path=path)
                    if mode == "encrypted":
                        args["encrypt_recipients"] = recipients
                    try:
                        result, seconds, peak = run_module(args, work)
                    finally:
                        store.empty(prefix)
                    best, peaks = figures[store.kind].get(mode, (float("inf"), []))
                    figures[store.kind][mode] = (min(best, seconds), peaks + [peak])
                    if mode == "encrypted":
                        figures[store.kind]["overhead"] = result["size"] - size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures, alone


def report_size(size, repeat, stores, figures, alone):
    print("A %d MiB backup, best of %d (whole processes, read-back included):" % (size // MIB, repeat))
    print("  age encryption alone (2 recipients, no upload) %7.2f s %8.1f MiB/s" % (alone, size / alone / MIB))
    ratios = {}
    for store in stores:
        got = figures[store.kind]
        plain, encrypted = got["plain"][0], got["encrypted"][0]
        ratios[store.kind] = plain / encrypted
        print("  %-22s plain          %7.2f s %8.1f MiB/s" % (store.label, plain, size / plain / MIB))
        print("  %-22s encrypted      %7.2f s %8.1f MiB/s  (%.2fx the plain upload; ciphertext +%d bytes)" % (
            store.label, encrypted, size / encrypted / MIB, ratios[store.kind], got["overhead"]))
        print("  %-22s peak RSS: plain %s; encrypted %s" % (
            store.label, ", ".join("%.1f MB" % (p / MB) for p in got["plain"][1]),
            ", ".join("%.1f MB" % (p / MB) for p in got["encrypted"][1])))
    return ratios


def start_stores(work, azure):
    stores = [S3Standin(work)]
    if azure:
        program = os.environ.get("AZURITE_BIN") or shutil.which("azurite-blob")
        if not program or not os.access(program, os.X_OK):
            raise SystemExit("--azure: Azurite is not installed (AZURITE_BIN=%r); run make azurite, or --no-azure" %
                             program)
        stores.append(AzuriteStandin(work, program))
    return stores


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mib", default="1024,2048,4096")
    parser.add_argument("--throughput-mib", type=int, default=2048,
                        help="the size whose ratio is compared with the 0.8x target (the others are reported)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each at --throughput-mib (best taken); one at "
                        "the other sizes, whose peak RSS is the figure")
    parser.add_argument("--azure", action=argparse.BooleanOptionalAction, default=None,
                        help="Azure Blob through Azurite too (default: when AZURITE_BIN or azurite-blob is there)")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(STAGE_ROOT, "ansible_collections")):
        raise SystemExit("run `make stage` first (make bench does)")
    sizes = [int(s) * MIB for s in args.sizes_mib.split(",") if s.strip()]
    azure = args.azure
    if azure is None:
        program = os.environ.get("AZURITE_BIN") or shutil.which("azurite-blob")
        azure = bool(program and os.access(program, os.X_OK))
    base = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    # The zip, plus what the stand-ins keep of one object while it is uploaded and completed (moto's parts and the
    # completed object spooled to files, Azurite's blocks and blob): about four times the largest size.
    free, needed = shutil.disk_usage(base).free, 4 * max(sizes) + 2 * 1024 * MIB
    print("Off-site bench in %s (set BENCH_DIR to use another file system): %.1f GB free, %.1f GB needed" % (
        base, free / 1e9, needed / 1e9))
    if free < needed:
        raise SystemExit("Not enough free space in %s; set BENCH_DIR or smaller --sizes-mib" % base)
    print("Load before: %s" % ", ".join("%.2f" % x for x in os.getloadavg()))
    recipients = make_keys()
    work = tempfile.mkdtemp(prefix="offsite-standins-", dir=base)
    stores = []
    ratios, peaks = {}, []
    target = args.throughput_mib * MIB
    try:
        stores = start_stores(work, azure)
        for size in sizes:
            repeat = args.repeat if size == target else 1
            figures, alone = bench_size(size, repeat, stores, recipients, base)
            ratios[size] = report_size(size, repeat, stores, figures, alone)
            peaks += [(size, peak) for got in figures.values() for mode in ("plain", "encrypted")
                      for peak in got[mode][1]]
    finally:
        for store in stores:
            store.close()
        shutil.rmtree(work, ignore_errors=True)
    print("Load after: %s" % ", ".join("%.2f" % x for x in os.getloadavg()))
    print("Targets (issue 23)")
    for size in sorted(ratios):
        for store in stores:
            ratio = ratios[size][store.kind]
            print("  %s, %d MiB: encrypted >= 0.8x plain: %.2f  %s%s" % (
                store.label, size // MIB, ratio, "pass" if ratio >= 0.8 else "FALLS SHORT",
                "" if size == target else " (reported; the target is at %d MiB)" % args.throughput_mib))
    high = max(peak for dummy, peak in peaks)
    by_size = ", ".join("%d MiB %.1f MB" % (size // MIB, max(p for s, p in peaks if s == size) / MB)
                        for size in sorted(ratios))
    print("  peak RSS < 100 MB and flat: %s  %s" % (by_size, "pass" if high < 100 * MB else "FALLS SHORT"))


if __name__ == "__main__":
    main()
