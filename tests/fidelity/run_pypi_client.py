# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the PyPI client ``jira-confluence-full-instance-backup`` (1.3.3), unmodified,
for a Confluence-only backup against a given site, and print one JSON line:

    {"rc": 0, "file": "/out/run-xyz/confluence-2026-01-31.zip", "output_tail": "...", ...}

Install the client first, outside any project venv:

    python3.11 -m venv /tmp/fidelity-venv
    /tmp/fidelity-venv/bin/pip install jira-confluence-full-instance-backup==1.3.3

Then:

    run_pypi_client.py --venv /tmp/fidelity-venv --url http://127.0.0.1:PORT \
        --user admin@example.com --token TOKEN --out /tmp/fid-out --timeout 120

Standard library only. Nothing here knows about any particular server.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def client_python(venv):
    """The venv's interpreter (POSIX bin/, Windows Scripts/)."""
    for rel in ("bin/python", "Scripts/python.exe"):
        path = os.path.join(venv, rel)
        if os.path.exists(path):
            return path
    sys.exit("no python in venv %s" % venv)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--venv", required=True, help="virtualenv holding the client")
    p.add_argument("--url", required=True, help="site base, e.g. http://127.0.0.1:8990 (/wiki is added)")
    p.add_argument("--user", required=True, help="Atlassian account e-mail (ATL_EMAIL)")
    p.add_argument("--token", required=True, help="API token (ATL_TOKEN)")
    p.add_argument("--out", required=True, help="a fresh run-* folder is made in here for the download")
    p.add_argument("--timeout", type=float, default=300, help="seconds before the client is killed")
    p.add_argument("--poll-timeout", type=int,
                   help="the client's own poll deadline in seconds (default: --timeout); only the module entry has one")
    p.add_argument("--entry", choices=("cli", "module"), default="cli",
                   help="cli: `jira-confluence-backup --backup confluence` (the documented command, "
                        "exit 0/1); module: `python -m backup.confluence` (the Jenkins stage, exit 0/1/2, "
                        "honours --poll-timeout)")
    p.add_argument("--ca-file", help="CA bundle for an https site (sets REQUESTS_CA_BUNDLE)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra env for the client, e.g. BACKUP_DOWNLOAD_BACKOFF=1 (repeatable)")
    args = p.parse_args()

    # The client builds every Confluence URL as SITE_CONFLUENCE + "/rest/obm/1.0/...", so the
    # site must end in /wiki (confluence.py:56,98). Plain http and any host:port are accepted.
    site = args.url.rstrip("/")
    if not site.endswith("/wiki"):
        site += "/wiki"

    # Fresh folders per run: the client names the file confluence-<UTC date>.zip and, if that
    # file already exists, tries to *resume* it with a Range request (transfer.py:386-389).
    # The working directory is fresh too, so no stray ./.env is read (config.py:147).
    os.makedirs(args.out, exist_ok=True)
    out_dir = tempfile.mkdtemp(prefix="run-", dir=os.path.abspath(args.out))
    work_dir = tempfile.mkdtemp(prefix="cwd-")

    # A clean environment: only what the client needs. No proxies (requests would honour
    # HTTP(S)_PROXY even for 127.0.0.1), no ~/.netrc (HOME points at the empty work dir).
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT") if k in os.environ}
    env.update(HOME=work_dir, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8",
               SITE_CONFLUENCE=site, ATL_EMAIL=args.user, ATL_TOKEN=args.token)
    if args.ca_file:
        env["REQUESTS_CA_BUNDLE"] = os.path.abspath(args.ca_file)
    for item in args.env:
        key, _sep, value = item.partition("=")
        env[key] = value

    py = client_python(args.venv)
    if args.entry == "cli":
        # backup/cli.py: do_backup() runs only the products asked for, so Jira is skipped.
        # It polls every 30 s with a fixed 6 h deadline (POLL_TIMEOUT is not passed on here).
        cmd = [py, "-m", "backup", "--backup", "confluence", "--out", out_dir,
               "--env-file", os.path.join(work_dir, "no.env")]
    else:
        cmd = [py, "-m", "backup.confluence", "--site", site, "--out", out_dir,
               "--poll-timeout", str(args.poll_timeout or int(args.timeout))]

    started = time.time()
    proc = subprocess.Popen(cmd, cwd=work_dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timed_out = False
    try:
        output = proc.communicate(timeout=args.timeout)[0]
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()   # the client starts no processes of its own
        output = proc.communicate()[0]

    shutil.rmtree(work_dir, ignore_errors=True)
    zips = sorted(f for f in os.listdir(out_dir) if f.endswith(".zip"))
    text = output.decode("utf-8", "replace")
    print(json.dumps({
        "rc": None if timed_out else proc.returncode,
        "timed_out": timed_out,
        # The zip the client wrote (may be partial when rc != 0).
        "file": os.path.join(out_dir, zips[0]) if zips else None,
        "seconds": round(time.time() - started, 2),
        "cmd": cmd,
        "output_tail": "\n".join(text.splitlines()[-25:]),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
