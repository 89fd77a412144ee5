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


def _lower_bound(spec):
    """The x.y of the first ``>=`` bound of a requirement specifier (``>=2.19,<2.20`` gives ``2.19``)."""
    for part in spec.split(","):
        part = part.strip()
        if part.startswith(">="):
            return ".".join(part[2:].strip().split(".")[:2])
    raise AssertionError("no >= bound in %r" % spec)


def test_required_ansible_core_is_the_one_the_tests_run():
    """meta/runtime.yml, the roles' meta and tests/requirements.txt name the same lowest ansible-core."""
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        required = _lower_bound(yaml.safe_load(handle)["requires_ansible"])
    with open(os.path.join(ROOT, "tests", "requirements.txt")) as handle:
        tested = [_lower_bound(line.split("ansible-core", 1)[1]) for line in handle if line.startswith("ansible-core")]
    assert tested == [required]
    roles = os.path.join(ROOT, "roles")
    for role in sorted(os.listdir(roles)):
        with open(os.path.join(roles, role, "meta", "main.yml")) as handle:
            assert str(yaml.safe_load(handle)["galaxy_info"]["min_ansible_version"]) == required, role
