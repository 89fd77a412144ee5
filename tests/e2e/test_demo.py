# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo, twice: each runs the scheduled-backup playbook twice (the second run changes nothing), and the
second make demo finds the first one's backups and takes no new one (the README says so)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import socket
import subprocess
import sys

from conftest import COLLECTION, COLLECTIONS_ROOT

DEMO = os.path.join(COLLECTION, "tests", "tools", "demo.sh")


def free_port_pair():
    for _attempt in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free ports in a row")


def demo(dest, port, tmp_path):
    env = dict(os.environ, DEMO_BIN=os.path.dirname(sys.executable), DEMO_DEST=dest, DEMO_PORT=str(port),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
    proc = subprocess.run(["bash", DEMO], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return [int(n) for n in re.findall(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", proc.stdout)], proc.stdout


def listing(dest):
    return sorted(os.path.relpath(os.path.join(root, name), dest) for root, _dirs, names in os.walk(dest)
                  for name in names if ".locks" not in root)


def test_a_second_make_demo_takes_no_new_backup(tmp_path):
    dest = str(tmp_path / "demo-backups")
    port = free_port_pair()
    changed, output = demo(dest, port, tmp_path)
    assert len(changed) == 2 and changed[0] > 0 and changed[1] == 0, output[-3000:]
    first = listing(dest)
    assert len([n for n in first if n.endswith(".zip")]) == 2, first
    assert "s3://demo-backups/nightly/site/confluence-" in output and "atlassian_backup_inventory" in output
    # A short account on screen (each target's report line, the recaps), the playbook runs in full in demo.log.
    assert len(output.splitlines()) < 80, output
    assert re.search(r"^   site \(confluence_cloud\): ok, ", output, re.MULTILINE) and "TASK [" not in output, output
    with open(os.path.join(dest, "demo.log")) as handle:
        log = handle.read()
    assert log.count("PLAY RECAP") == 2 and "TASK [" in log
    changed, output = demo(dest, port, tmp_path)
    assert changed[1] == 0, output[-3000:]
    assert listing(dest) == first, "the second make demo took no new backup"
    assert output.count(": OK") >= 2  # sha256sum -c
