# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX/AAP credential types of extensions/awx/credential_types/, checked and rendered the way AWX does it.

AWX's code (ansible/awx, awx/main/fields.py ``CredentialTypeInputField``, ``CredentialTypeInjectorField`` and
awx/main/models/credential.py ``CredentialType.inject_credential``, read at e21dd0a, 2024-10-23):

- inputs: ``fields`` (each ``id`` matching ``^[a-zA-Z_]+[a-zA-Z0-9_]*$``, ``label``, and only the keys ``type``
  (string or boolean), ``format`` (ssh_private_key or url), ``choices``, ``help_text``, ``multiline``, ``secret``,
  ``ask_at_runtime``, ``default``) and ``required``; unique ids, none named ``tower``;
- injectors: every template renders in ``ImmutableSandboxedEnvironment(undefined=StrictUndefined)`` with every
  field set to ``'EXAMPLE'``; no environment variable starting with ``ANSIBLE_`` or in ``ENV_BLOCKLIST``;
- a job's environment: each ``env`` template rendered by ``ImmutableSandboxedEnvironment()`` (the default,
  lenient Undefined) over a namespace holding only the inputs that have a non-empty value (and booleans), so an
  optional field left empty renders as ``''``.

And the environment variables the collection reads, found by a static scan of plugins/, roles/ and playbooks/.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

FOLDER = os.path.join("extensions", "awx", "credential_types")

# awx/main/constants.py ENV_BLOCKLIST
ENV_BLOCKLIST = frozenset((
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
))
FIELD_KEYS = {"id", "type", "format", "choices", "label", "help_text", "multiline", "secret", "ask_at_runtime",
              "default"}
FIELD_ID = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
TYPE_KEYS = {"name", "description", "kind", "inputs", "injectors"}


def load(collection):
    """{file name without .yml: the credential type} for every file of the folder."""
    types = {}
    for path in sorted(glob.glob(os.path.join(collection, FOLDER, "*.yml"))):
        with open(path) as handle:
            types[os.path.basename(path)[:-4]] = yaml.safe_load(handle)
    return types


def problems(ctype):
    """What AWX would refuse in this credential type (an empty list when it takes it)."""
    found = []
    if set(ctype) - TYPE_KEYS or not {"name", "kind", "inputs", "injectors"} <= set(ctype):
        found.append("keys %s (want %s)" % (sorted(ctype), sorted(TYPE_KEYS)))
    if ctype.get("kind") not in ("cloud", "net"):
        found.append("kind %r: a custom credential type is cloud or net" % ctype.get("kind"))
    inputs = ctype.get("inputs") or {}
    if set(inputs) - {"fields", "required"}:
        found.append("inputs keys %s" % sorted(inputs))
    ids = []
    for field in inputs.get("fields", []):
        if set(field) - FIELD_KEYS or "id" not in field or "label" not in field:
            found.append("field %r keys %s" % (field.get("id"), sorted(field)))
        if not FIELD_ID.match(str(field.get("id"))) or field.get("id") == "tower":
            found.append("field id %r" % field.get("id"))
        if field.get("type", "string") not in ("string", "boolean"):
            found.append("field %r type %r" % (field.get("id"), field.get("type")))
        if field.get("format", "url") not in ("ssh_private_key", "url"):
            found.append("field %r format %r" % (field.get("id"), field.get("format")))
        ids.append(field.get("id"))
    if len(ids) != len(set(ids)):
        found.append("duplicate field ids %s" % ids)
    for name in inputs.get("required", []):
        if name not in ids:
            found.append("required %r is no field" % name)
    injectors = ctype.get("injectors") or {}
    if set(injectors) - {"env", "extra_vars", "file"}:
        found.append("injectors keys %s" % sorted(injectors))
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    example = dict((name, "EXAMPLE") for name in ids)
    for kind in ("env", "extra_vars", "file"):
        for key, template in (injectors.get(kind) or {}).items():
            if kind == "env" and (key.startswith("ANSIBLE_") or key in ENV_BLOCKLIST):
                found.append("env %s is not allowed in credentials" % key)
            try:
                strict.from_string(template).render(example)
            except Exception as error:  # pylint: disable=broad-except
                found.append("%s %s: %s" % (kind, key, error))
    return found


def render_env(ctype, inputs):
    """The environment variables AWX gives a job for a credential of this type holding ``inputs``."""
    namespace = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[name] = value
    for field in ctype["inputs"].get("fields", []):
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    env = {}
    for key, template in (ctype["injectors"].get("env") or {}).items():
        if key.startswith("ANSIBLE_") or key in ENV_BLOCKLIST:
            continue  # AWX logs and skips it
        env[key] = sandbox.from_string(template).render(**namespace)
    return env


def injected(types):
    """{environment variable: [credential type files that set it]}."""
    names = {}
    for name, ctype in types.items():
        for key in (ctype["injectors"].get("env") or {}):
            names.setdefault(key, []).append(name)
    return names


# What reads the environment: the modules' env fallbacks and the E(...) their documentation names; the roles' and
# playbooks' lookup('ansible.builtin.env', 'NAME') (or 'env'); the lists of variables scheduled_backup passes on.
_FALLBACK = re.compile(r"env_fallback,\s*\[([^\]]*)\]")
_DOC_ENV = re.compile(r"E\(([A-Z][A-Z0-9_]+)\)")
_LOOKUP = re.compile(r"lookup\(\s*['\"](?:ansible\.builtin\.)?env['\"]\s*,\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")
_PASSED = re.compile(r"^scheduled_backup__passed_env:\s*\[([^\]]*)\]", re.M)


def read_env(collection):
    """{environment variable: [files that read or document it]} for plugins/, roles/ and playbooks/."""
    found = {}

    def add(name, path):
        found.setdefault(name, [])
        rel = os.path.relpath(path, collection)
        if rel not in found[name]:
            found[name].append(rel)

    for path in glob.glob(os.path.join(collection, "plugins", "**", "*.py"), recursive=True):
        with open(path) as handle:
            text = handle.read()
        for group in _FALLBACK.findall(text):
            for name in re.findall(r"['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]", group):
                add(name, path)
        for name in _DOC_ENV.findall(text):
            add(name, path)
    paths = (glob.glob(os.path.join(collection, "roles", "**", "*.yml"), recursive=True) +
             glob.glob(os.path.join(collection, "roles", "**", "*.j2"), recursive=True) +
             glob.glob(os.path.join(collection, "playbooks", "*.yml")))
    for path in paths:
        with open(path) as handle:
            text = handle.read()
        for name in _LOOKUP.findall(text):
            add(name, path)
        for group in _PASSED.findall(text):
            for name in re.split(r"[\s,]+", group.strip()):
                if name:
                    add(name, path)
    return found
