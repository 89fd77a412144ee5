# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module is in the action group (so module_defaults: group/atlassian_ops.backup.atlassian reaches it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_action_group_lists_every_module():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["atlassian"]
    modules = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if n.endswith(".py") and not n.startswith("_"))
    assert sorted(group) == modules
