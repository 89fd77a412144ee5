# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the release artefacts `make release-check` made, as a user would meet them.

1. The tarball holds what a user needs (LICENSE, CHANGELOG.rst, the EE metadata, the AWX credential types) and none
   of the development files (tests' emulator, benchmarks, virtualenvs).
2. Installed from the tarball into a clean path, ``ansible-doc`` shows every module and every role of the checkout,
   each module with its examples and return values.
3. ``ansible-builder introspect`` finds the collection's Python and system requirements, and the build context that
   ``ansible-builder create`` wrote installs this tarball.

Usage: check_release.py CHECKOUT TARBALL INSTALL_PATH INTROSPECT_YAML CONTEXT_DIR
"""

import json
import os
import subprocess
import sys
import tarfile

import yaml

MUST_SHIP = ("LICENSE", "CHANGELOG.rst", "README.md", "requirements.txt", "meta/runtime.yml",
             "meta/execution-environment.yml", "meta/ee-bindep.txt", "execution-environment.yml")
MUST_NOT_SHIP = ("tests/emulator/", "tests/e2e/", "benchmarks/", ".venv", "Makefile", ".ci/")


def fail(message):
    sys.exit("release check: " + message)


def check_tarball(checkout, tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for name in MUST_SHIP:
        if name not in names:
            fail("%s is not in %s" % (name, tarball))
    for prefix in MUST_NOT_SHIP:
        shipped = [name for name in names if name.startswith(prefix)]
        if shipped:
            fail("%s ships development files: %s" % (tarball, ", ".join(shipped[:5])))
    awx = os.path.join(checkout, "extensions", "awx", "credential_types")
    for name in sorted(os.listdir(awx)) if os.path.isdir(awx) else []:
        if "extensions/awx/credential_types/" + name not in names:
            fail("the credential type %s is not in %s" % (name, tarball))
    return len(names)


def ansible_doc(install_path, kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=install_path, ANSIBLE_NOCOLOR="1")
    env.pop("PYTHONPATH", None)  # only the installed copy may answer
    found = subprocess.run(["ansible-doc", "-t", kind, "--json"] + names, env=env, check=False,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if found.returncode != 0 or "WARNING" in found.stderr:
        fail("ansible-doc -t %s failed from the installed tarball:\n%s" % (kind, found.stderr.strip()))
    return json.loads(found.stdout)


def check_docs(checkout, install_path):
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(checkout, "plugins", "modules"))
                     if name.endswith(".py") and not name.startswith("_"))
    docs = ansible_doc(install_path, "module", ["atlassian_ops.backup." + name for name in modules])
    for name in modules:
        doc = docs.get("atlassian_ops.backup." + name) or fail("ansible-doc shows no module %s" % name)
        if not doc.get("doc", {}).get("description") or not doc.get("examples") or not doc.get("return"):
            fail("the installed module %s lacks its description, examples or return values" % name)
    roles = sorted(os.listdir(os.path.join(checkout, "roles")))
    role_docs = ansible_doc(install_path, "role", ["atlassian_ops.backup." + name for name in roles])
    for name in roles:
        doc = role_docs.get("atlassian_ops.backup." + name) or fail("ansible-doc shows no role %s" % name)
        if "main" not in doc.get("entry_points", {}):
            fail("the installed role %s has no documented main entry point" % name)
    return modules, roles


def check_ee(checkout, introspect, context):
    with open(introspect) as handle:
        found = yaml.safe_load(handle) or {}
    for kind, path in (("python", "requirements.txt"), ("system", "meta/ee-bindep.txt")):
        with open(os.path.join(checkout, path)) as handle:
            wanted = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        got = [line.split("  # from collection ")[0] for line in found.get(kind, [])
               if line.endswith("# from collection atlassian_ops.backup")]
        if got != wanted:
            fail("ansible-builder introspect found %s requirements %r, %s says %r" % (kind, got, path, wanted))
    with open(os.path.join(context, "_build", "requirements.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    names = [entry["name"] for entry in galaxy.get("collections", [])]
    tarball = os.path.join(context, "_build", "collections", "atlassian_ops-backup.tar.gz")
    if "collections/atlassian_ops-backup.tar.gz" not in names or not os.path.isfile(tarball):
        fail("the EE build context does not install this collection's tarball (%s)" % names)
    # Containerfile, or Dockerfile when ansible-builder finds docker rather than podman.
    recipes = [name for name in ("Containerfile", "Dockerfile") if os.path.isfile(os.path.join(context, name))]
    if not recipes:
        fail("ansible-builder create wrote no Containerfile in %s" % context)
    with open(os.path.join(context, recipes[0])) as handle:
        if "ansible-galaxy collection install" not in handle.read():
            fail("the EE build context's %s installs no collections" % recipes[0])


def main(checkout, tarball, install_path, introspect, context):
    files = check_tarball(checkout, tarball)
    modules, roles = check_docs(checkout, install_path)
    check_ee(checkout, introspect, context)
    print("release check: %s (%d files); ansible-doc from a clean install shows %d modules and %d roles; "
          "the EE context installs it with its requirements" % (os.path.basename(tarball), files, len(modules), len(roles)))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
