# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docsite's getting-started guide (docs/docsite/rst/getting_started.rst), run block by block against the
emulator as a newcomer would type it, and ending with a verified backup, its manifest and an installed timer.

How the page's code blocks are run:

- ``code-block:: console``: the commands after ``$`` (a line ending in ``\\`` goes on), in one bash session with
  ``set -e``, in the page's order, with HOME in a temporary folder; lines without ``$`` are output and not run.
  The API token is typed in: it reaches ``read`` on standard input, as from a keyboard.
- ``code-block:: yaml`` with a ``:caption:`` that is a path: the file the reader writes there.
- A block right after the comment ``.. getting-started-test: skip, <why>`` is not run. Only installing software
  (python -m venv, activating it, pip install, ansible-galaxy collection install) and asking systemd
  (systemctl, journalctl) may be skipped; the test fails when a skipped block holds any other command.
- Replaced in the text, as for the modules' EXAMPLES: the example site URL by the emulator's, and the backup,
  metrics and timer folders (/var/backups/atlassian, /var/lib/node_exporter/textfile, /etc/atlassian-backup,
  /etc/systemd/system) by temporary ones. The installed collection is the one under test
  (ANSIBLE_COLLECTIONS_PATH), and the suite's Python's bin folder stands first on PATH for the skipped
  ``activate``.
- The variables file gets what keeps the timer step off the test machine, as test_scheduled_backup does: the
  timer's folders in the temporary folder, ``scheduled_backup_timer_activate: false`` (no systemctl call) and
  ``scheduled_backup_timer_kind: systemd`` (the same files on every machine).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat
import subprocess
import sys

import yaml

from conftest import COLLECTION, COLLECTIONS_ROOT

GUIDE = os.path.join(COLLECTION, "docs", "docsite", "rst", "getting_started.rst")
SKIP_MARK = ".. getting-started-test: skip"
# What a skipped block may hold: installing software, and asking systemd.
SKIPPABLE = ("python3.11 -m venv ", ". /opt/atlassian-backup/bin/activate", "pip install ",
             "ansible-galaxy collection install ", "systemctl ", "journalctl ")
EXAMPLE_SITE = "https://example.atlassian.net"
GUIDE_USER = "admin@example.com"
# Not a canary secret: the timer's environment file holds it (under tmp_path), as in test_scheduled_backup.
GUIDE_TOKEN = "getting-started-token-3d8b1f"


def code_blocks(text):
    """[(language, options, body lines, skip reason or None)] of every code-block of the page, in order."""
    lines = text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        match = re.match(r"^\.\. code-block:: *(\S+)\s*$", lines[index])
        if not match:
            index += 1
            continue
        skip = None
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        while before >= 0 and lines[before].startswith("   ") and lines[before].strip():
            before -= 1  # the continuation lines of a comment above the block
        if before >= 0 and lines[before].startswith(SKIP_MARK):
            skip = lines[before][len(SKIP_MARK):].lstrip(", ") or "no reason given"
        index += 1
        options = {}
        while index < len(lines) and re.match(r"^   :(\w+):", lines[index]):
            name, _sep, value = lines[index].strip()[1:].partition(":")
            options[name] = value.strip()
            index += 1
        body = []
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith("   ")):
            body.append(lines[index][3:])
            index += 1
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        found.append((match.group(1), options, body, skip))
    return found


def commands(body):
    """The commands of a console block: the lines after '$ ', with their '\\' continuation lines."""
    found, current = [], None
    for line in body:
        if current is not None:
            current += "\n" + line
        elif line.startswith("$ "):
            current = line[2:]
        else:
            continue  # output shown on the page
        if not current.endswith("\\"):
            found.append(current)
            current = None
    assert current is None, "a command ends in a continuation: %s" % current
    return found


def test_the_getting_started_guide_ends_with_a_verified_backup_and_a_nightly_timer(emulator, tmp_path):
    with open(GUIDE) as handle:
        text = handle.read()
    home, backups, textfile = tmp_path / "home", tmp_path / "backups", tmp_path / "textfile"
    config, units, cron = tmp_path / "etc-atlassian-backup", tmp_path / "units", tmp_path / "cron"
    for folder in (home, units, cron):
        folder.mkdir()
    for example, path in ((EXAMPLE_SITE, emulator.url), ("/var/backups/atlassian", str(backups)),
                          ("/var/lib/node_exporter/textfile", str(textfile)), ("/etc/atlassian-backup", str(config)),
                          ("/etc/systemd/system", str(units))):
        text = text.replace(example, path)
    timer_vars = {"scheduled_backup_timer_config_dir": str(config), "scheduled_backup_timer_unit_dir": str(units),
                  "scheduled_backup_timer_cron_dir": str(cron), "scheduled_backup_timer_activate": False,
                  "scheduled_backup_timer_kind": "systemd"}

    # The site made a backup a minute ago: Confluence Cloud's one-a-day limit, so the run downloads that one at once.
    emulator.reset(users={GUIDE_USER: GUIDE_TOKEN}, backup_seconds=0, queued_seconds=0)
    emulator.seed(state="complete", age_seconds=60)

    script, skipped, files = ["set -euo pipefail"], [], []
    for number, (language, options, body, skip) in enumerate(code_blocks(text)):
        if skip:
            for command in commands(body):
                assert command.startswith(SKIPPABLE), "block %d is skipped (%s) but runs %r" % (number, skip, command)
            skipped.append(number)
            continue
        if language == "console":
            script.append("echo '=== block %d'" % number)
            script.extend(commands(body))
        elif language == "yaml" and options.get("caption", "").startswith("~/"):
            content = yaml.safe_load("\n".join(body))
            if options["caption"].endswith("/vars.yml"):
                content.update(timer_vars)
            path = os.path.join(str(home), options["caption"][2:])
            files.append(path)
            script.append("echo '=== block %d: %s'" % (number, options["caption"]))
            # Written when the reader gets there: the folder is made by an earlier block.
            script.append("cat > %s <<'EOF'\n%s\nEOF" % (path, yaml.safe_dump(content, sort_keys=False)))
        else:
            assert language in ("yaml", "text"), "block %d: a %s block the test cannot run" % (number, language)
    assert len(skipped) == 2 and files, (skipped, files)

    bindir = os.path.dirname(sys.executable)
    env = {"PATH": "%s:/usr/bin:/bin" % bindir, "HOME": str(home), "LANG": "C.UTF-8",
           "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_ROOT, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")}
    run = subprocess.run(["bash", "-c", "\n".join(script)], input=GUIDE_TOKEN + "\n", env=env, cwd=str(tmp_path),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600,
                         check=False)
    assert run.returncode == 0, run.stdout[-5000:]
    assert GUIDE_TOKEN not in run.stdout
    assert run.stdout.count("wiki (confluence_cloud): ok") == 2, run.stdout[-5000:]
    assert "wiki already holds a verified backup" in run.stdout, "the second run did not reuse the backup"

    # The verified backup and its manifest, as the page shows them.
    folder = backups / "wiki"
    zips = sorted(name for name in os.listdir(str(folder)) if name.endswith(".zip"))
    assert len(zips) == 1, zips
    with open(str(folder / zips[0]), "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    assert "%s: OK" % zips[0] in run.stdout, run.stdout[-5000:]
    with open(str(folder / (zips[0][:-len(".zip")] + ".json"))) as handle:
        manifest = json.load(handle)
    assert manifest["sha256"] == digest and manifest["file"] == zips[0], manifest
    assert manifest["verified_level"] == "inventory" and manifest["inventory"]["pages"] > 0, manifest
    assert '"verified_level"' in run.stdout, run.stdout[-3000:]
    posts = [r for r in emulator.state()["requests"] if r.get("method") == "POST"]
    assert len(posts) <= 1, "the second run asked the site for another backup: %s" % posts

    # The nightly timer, written where the test pointed it, with the token in its environment file only.
    assert (units / "atlassian-backup.timer").is_file() and (units / "atlassian-backup.service").is_file()
    env_file = config / "atlassian-backup.env"
    assert stat.S_IMODE(os.stat(str(env_file)).st_mode) == 0o600
    assert "SCHEDULED_BACKUP_WIKI_API_TOKEN='%s'" % GUIDE_TOKEN in env_file.read_text()
    assert GUIDE_TOKEN not in (config / "atlassian-backup.yml").read_text()

    # The metrics the page shows.
    metrics = (textfile / "atlassian_backup_wiki.prom").read_text()
    assert re.search(r'^atlassian_backup_last_run_success\{[^}]*target="wiki"[^}]*\} 1$', metrics, re.M), metrics
    assert "atlassian_backup_last_run_success" in run.stdout
