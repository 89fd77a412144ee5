# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the emulator: ``python -m atlassian_emulator --port 8990 --media-port 8991``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import asyncio
import json
import os
import signal
import sys

from atlassian_emulator import build


def main(argv=None):
    parser = argparse.ArgumentParser(prog="atlassian_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only)")
    parser.add_argument("--port", type=int, default=0, help="site port (0: any free port)")
    parser.add_argument("--media-port", type=int, default=0, help="media host port (0: any free port)")
    parser.add_argument("--config", help="JSON file of settings (see core.DEFAULT_CONFIG)")
    parser.add_argument("--ready-file", help="write the ports here as JSON once listening")
    parser.add_argument("--tls", metavar="DIR", help="serve HTTPS with a self-signed CA made in DIR (DIR/ca.pem)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the emulator listens on loopback only")
    config = {}
    if args.config:
        with open(args.config) as handle:
            config = json.load(handle)
    ssl_context, ca_file = None, None
    if args.tls:
        from atlassian_emulator.tls import server_context
        os.makedirs(args.tls, exist_ok=True)
        ssl_context, ca_file = server_context(args.tls)
    emulator = build(config, host=args.host, ssl_context=ssl_context)
    scheme = "https" if ssl_context is not None else "http"

    async def serve():
        await emulator.start(args.port, args.media_port)
        info = {"site_url": "%s://%s:%s" % (scheme, args.host, emulator.site_port),
                "media_url": "%s://%s:%s" % (scheme, args.host, emulator.media_port),
                "ca_file": ca_file, "pid": os.getpid()}
        if args.ready_file:
            tmp = args.ready_file + ".tmp"
            with open(tmp, "w") as handle:
                json.dump(info, handle)
            os.replace(tmp, args.ready_file)
        print("atlassian emulator: site %(site_url)s, media %(media_url)s" % info, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await emulator.stop()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
