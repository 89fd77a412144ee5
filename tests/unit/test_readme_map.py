# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's map of the code ("How it is built") names every file of plugins/module_utils and its folder, and
every folder of module_utils it names exists: the map matches the folders (issue 18)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")


def code_map():
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    section = text[text.index("## How it is built"):]
    return re.search(r"```\n(.*?)```", section, re.DOTALL).group(1)


def test_the_map_names_every_file_in_its_folder():
    text = code_map()
    # Each folder's entry runs from its line to the next line that names another path under plugins/ or tests/.
    entries = re.split(r"\n(?=(?:plugins|tests)/)", text)
    missing = []
    for folder in sorted(os.listdir(MODULE_UTILS)):
        path = os.path.join(MODULE_UTILS, folder)
        if not os.path.isdir(path) or folder.startswith(("_", ".")):
            continue
        named = [e for e in entries if e.startswith("plugins/module_utils/%s/" % folder)]
        for name in sorted(os.listdir(path)):
            if name.endswith(".py") and name != "__init__.py":
                if not any(re.search(r"\b%s\b" % re.escape(name), e) for e in named):
                    missing.append("%s/%s" % (folder, name))
    assert not missing, "files of plugins/module_utils the README's map does not name: %s" % missing


def test_every_folder_the_map_names_exists():
    named = set(re.findall(r"plugins/module_utils/([a-z_]+)/", code_map()))
    assert named and all(os.path.isdir(os.path.join(MODULE_UTILS, folder)) for folder in named), named
    flat = [n for n in os.listdir(MODULE_UTILS) if n.endswith(".py") and n != "__init__.py"]
    assert not flat, "module_utils keeps its files in folders by layer, not flat: %s" % flat
