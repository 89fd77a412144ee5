# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""galaxy.yml is the collection's version; the one Python copy (for manifests) must say the same."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.version import COLLECTION_VERSION

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_version_matches_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        assert yaml.safe_load(handle)["version"] == COLLECTION_VERSION


def test_no_module_writes_the_version_itself():
    modules = os.path.join(ROOT, "plugins", "modules")
    for name in os.listdir(modules):
        with open(os.path.join(modules, name)) as handle:
            assert '"%s"' % COLLECTION_VERSION not in handle.read(), name
