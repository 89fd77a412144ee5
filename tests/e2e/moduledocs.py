# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation blocks of the collection's modules, read from their source (no import, no Ansible)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import yaml

MODULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "plugins", "modules")
# Keys Ansible itself adds to a module's result; modules do not document them.
ANSIBLE_KEYS = frozenset(("changed", "failed", "msg", "invocation", "warnings", "deprecations", "exception",
                          "skipped", "skip_reason", "diff", "_ansible_no_log", "module_stdout", "module_stderr",
                          "rc", "stdout", "stderr", "stdout_lines", "stderr_lines", "ansible_facts"))
_CACHE = {}


def module_names():
    return sorted(n[:-3] for n in os.listdir(MODULES_DIR) if n.endswith(".py") and not n.startswith("_"))


def docs(name):
    """{"DOCUMENTATION": dict, "EXAMPLES": list, "RETURN": dict} of plugins/modules/<name>.py."""
    if name not in _CACHE:
        with open(os.path.join(MODULES_DIR, name + ".py")) as handle:
            tree = ast.parse(handle.read())
        found = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                found[node.targets[0].id] = yaml.safe_load(node.value.value)
        _CACHE[name] = found
    return _CACHE[name]


def undocumented_keys(name, result):
    """Keys of a module result that its RETURN does not document."""
    documented = set(docs(name).get("RETURN") or {})
    return sorted(k for k in result if k not in documented and k not in ANSIBLE_KEYS)


def missing_always_keys(name, result):
    """RETURN keys marked ``returned: always`` that a successful result lacks."""
    if result.get("failed") or result.get("skipped"):
        return []
    always = [k for k, v in (docs(name).get("RETURN") or {}).items() if (v or {}).get("returned") == "always"]
    return sorted(k for k in always if k not in result)
