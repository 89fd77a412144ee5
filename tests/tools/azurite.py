# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azurite's Blob service (Microsoft's Azure Storage emulator, from npm) on loopback, for the tests.

    python azurite.py --ready-file FILE [--azurite PATH] [--pid-file FILE]

Starts ``azurite-blob`` (PATH, else $AZURITE_BIN, else ``azurite-blob`` on PATH; ``make azurite`` installs it into
.build/azurite) in memory on 127.0.0.1 and port 0, so that the kernel chooses a free port and nothing races for one;
reads the port Azurite prints, checks that the service answers a request, then writes
{"endpoint": "http://127.0.0.1:<port>/devstoreaccount1", "connection_string": ..., "account": ..., "key": ...,
"pid": <pid>} to the ready file (atomically), and serves until SIGTERM or SIGINT, which stop Azurite too. The account
is Azurite's well-known development account (devstoreaccount1 and its published key: no secret). Readers wait for
the ready file, never for a port to open.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
OPTIONS = ["--blobHost", "127.0.0.1", "--blobPort", "0", "--silent", "--disableTelemetry", "--inMemoryPersistence",
           "--skipApiVersionCheck", "--loose", "--extentMemoryLimit", "512"]
LISTENING = re.compile(r"listens on (http://127\.0\.0\.1:(\d+))")
STARTUP_SECONDS = 60


def find_azurite(given=None):
    """The azurite-blob program: ``given``, $AZURITE_BIN, or on PATH; None when there is none."""
    for candidate in (given, os.environ.get("AZURITE_BIN"), shutil.which("azurite-blob")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def connection_string(endpoint):
    return "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;" % (ACCOUNT, KEY, endpoint)


def _answers(port):
    """True when the Blob service answers HTTP (an unauthenticated request gets a 4xx: that is an answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/%s?comp=list" % ACCOUNT)
        return connection.getresponse().status > 0
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _write(path, text):
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--azurite")
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    program = find_azurite(args.azurite)
    if program is None:
        sys.exit("azurite-blob was not found (--azurite, $AZURITE_BIN, PATH): run make azurite, or npm install "
                 "azurite@3.35.0 and set AZURITE_BIN to its node_modules/.bin/azurite-blob.")
    workdir = os.path.dirname(os.path.abspath(args.ready_file))
    proc = subprocess.Popen([program] + OPTIONS, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=workdir)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *dummy: stop.set())
    try:
        output, url, port = [], None, None
        for line in iter(proc.stdout.readline, b""):
            output.append(line.decode("utf-8", "replace"))
            match = LISTENING.search(output[-1])
            if match:
                url, port = match.group(1), int(match.group(2))
                break
        if url is None:
            sys.exit("Azurite stopped before it listened (exit %s):\n%s" % (proc.wait(), "".join(output)))
        # Keep reading its output so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for dummy in iter(proc.stdout.readline, b"")], daemon=True).start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("Azurite listened on %s but did not answer" % url)
            time.sleep(0.05)
        endpoint = "%s/%s" % (url, ACCOUNT)
        ready = dict(endpoint=endpoint, connection_string=connection_string(endpoint), account=ACCOUNT, key=KEY,
                     pid=os.getpid(), azurite_pid=proc.pid)
        if args.pid_file:
            _write(args.pid_file, str(os.getpid()))
        _write(args.ready_file, json.dumps(ready))
        parent = os.getppid()
        while not stop.wait(0.5):
            if os.getppid() != parent:
                break  # whoever started it is gone
            if proc.poll() is not None:
                sys.exit("Azurite stopped (exit %s)" % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
