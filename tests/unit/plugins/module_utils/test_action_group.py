# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action groups, one per kind of connection (issue 20, item 9).

Ansible gives a group's module_defaults to every module in it, unfiltered: so every module of a group takes every
option that group is for, no module documents an option it does not use ("Not used"), and each module's documented
membership is the groups meta/runtime.yml puts it in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))
FQCN = "atlassian_ops.backup"

TRANSPORT = {"validate_certs", "ca_path", "timeout", "retries", "retry_max_delay"}
SITE = {"url", "username", "api_token", "personal_access_token", "deployment"}
# The options each group is for: a module_defaults of the group may carry any of them.
GROUP_OPTIONS = {
    "atlassian": TRANSPORT,
    "cloud": SITE | TRANSPORT,
    "datacenter": SITE | TRANSPORT,
    "org": {"org_id", "username", "api_token", "api_base_url", "account_id"} | TRANSPORT,
    "snapshots": {"endpoint", "api_key", "api_key_header", "personal_access_token", "url"} | TRANSPORT,
    "local": set(),
}


def groups():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        return yaml.safe_load(handle)["action_groups"]


def modules():
    return sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                  if n.endswith(".py") and not n.startswith("_"))


@pytest.fixture(scope="module")
def docs():
    """ansible-doc's view of every module (doc fragments merged), as an admin sees it."""
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1")
    out = subprocess.run([ansible_doc, "--json", "-t", "module"] + ["%s.%s" % (FQCN, m) for m in modules()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, check=True)
    data = json.loads(out.stdout)
    return dict((name.split(".")[-1], value["doc"]) for name, value in data.items())


def test_the_groups_are_the_kinds_of_connection():
    assert sorted(groups()) == ["atlassian", "cloud", "datacenter", "local", "org", "snapshots"]
    every = groups()
    # Every module is in a group of its kind; confluence_backup serves Cloud and Data Center.
    kinds = [g for g in every if g != "atlassian"]
    assert sorted(set(m for g in kinds for m in every[g])) == modules()
    assert sorted(g for g in kinds if "confluence_backup" in every[g]) == ["cloud", "datacenter"]
    # The all-in-one group: every module that talks to a service (not the folder modules, which take no TLS option).
    assert sorted(every["atlassian"]) == sorted(set(modules()) - set(every["local"]))


def test_no_module_documents_an_option_it_does_not_use(docs):
    unused = dict((module, sorted(name for name, option in doc["options"].items()
                                  if "not used" in " ".join(option.get("description") or []).lower()))
                  for module, doc in docs.items())
    assert not any(unused.values()), dict((m, o) for m, o in unused.items() if o)


@pytest.mark.parametrize("group", sorted(GROUP_OPTIONS))
def test_every_module_of_a_group_takes_every_option_of_the_group(docs, group):
    missing = dict((module, sorted(GROUP_OPTIONS[group] - set(docs[module]["options"])))
                   for module in groups()[group])
    assert not any(missing.values()), missing


def test_a_module_documents_the_groups_it_is_in(docs):
    every = groups()
    for module, doc in docs.items():
        documented = doc["attributes"]["action_group"]["membership"]
        assert sorted(documented) == sorted("%s.%s" % (FQCN, g) for g in every if module in every[g]), module


def test_the_folder_modules_take_no_connection_option(docs):
    connection = set().union(*GROUP_OPTIONS.values())
    for module in groups()["local"]:
        assert not connection & set(docs[module]["options"]), module
