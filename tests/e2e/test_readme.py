# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's playbooks, run as written against the emulator (site URLs, the backup folder and the vault
variables replaced as for the modules' EXAMPLES): a newcomer copies them first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from conftest import COLLECTION
from test_examples import VAULT_VARS, run_plays, substitute

README = os.path.join(COLLECTION, "README.md")
# The README's vault variable of the organization example holds the same canary token as the Cloud one.
EXTRA_VARS = {"vault_atlassian_api_token": "{{ lookup('ansible.builtin.env', 'ATLASSIAN_API_TOKEN') }}"}


def readme_playbooks():
    with open(README) as handle:
        text = handle.read()
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        data = yaml.safe_load(block)
        if isinstance(data, list) and data and isinstance(data[0], dict) and "hosts" in data[0]:
            found.append((data[0]["name"], block))
    return found


@pytest.mark.parametrize("name,block", readme_playbooks(), ids=[n for n, _b in readme_playbooks()])
def test_readme_playbooks_run_as_written(name, block, emulator, tmp_path):
    emulator.reset(org_backup_seconds=0, org_export_seconds=0, org_import_seconds=0, org_restore_seconds=0,
                   dc_job_polls=0)
    # Confluence Cloud: a completed backup on the site, and the frequency limit, so the run downloads it at once.
    emulator.seed(state="complete", age_seconds=60)
    plays = yaml.safe_load(substitute(block, emulator.url, str(tmp_path / "srv-backups")))
    for play in plays:
        play["vars"] = dict(VAULT_VARS, **EXTRA_VARS)
    run_plays(plays, emulator, tmp_path)
    assert emulator.state()["requests"], "%s sent no request to the emulator" % name


def test_the_readme_shows_every_kind_of_playbook():
    names = [n for n, _b in readme_playbooks()]
    assert len(names) >= 3, names
