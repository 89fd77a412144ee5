# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real S3-compatible server on loopback (moto's), for the tests, molecule and `make demo`.

    python s3server.py --ready-file FILE [--port 0] [--pid-file FILE]

Binds 127.0.0.1 on the given port (0: a free one, chosen by the kernel, so nothing races for it), then writes
{"endpoint_url": "http://127.0.0.1:<port>", "pid": <pid>} to the ready file (atomically), and serves until
SIGTERM or SIGINT. Readers wait for the ready file, never for a port to open.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pid-file")
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer  # imported here: a clear error if moto is missing comes after --help

    server = ThreadedMotoServer("127.0.0.1", args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    ready = dict(endpoint_url="http://%s:%d" % (host, port), pid=os.getpid())
    for path, text in ((args.pid_file, str(os.getpid())), (args.ready_file, json.dumps(ready))):
        if path:
            with open(path + ".tmp", "w") as handle:
                handle.write(text)
            os.replace(path + ".tmp", path)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *args: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
