#!/usr/bin/env bash
# make docsite: the collection's documentation site, set up by `antsibull-docs sphinx-init` and built by the
# build.sh it generates (antsibull-docs collection --fail-on-error, then sphinx-build -W --keep-going), against the
# staged collection (ANSIBLE_COLLECTIONS_PATH). Any error in a module's or role's docs, in the guides of
# docs/docsite/ or in a reference between them fails the build.
#
#   tests/tools/build_docsite.sh DEST    (the tools on PATH; make docsite runs it with .venv/bin first)
#
# The site is DEST/build/html. The one change to the generated set-up: intersphinx reads no inventory from the
# network (documentation sites are not reachable from CI). The generated pages refer to a few labels of the Ansible
# documentation; docsite_inventory.py writes those into a local inventory with their pages on docs.ansible.com, so
# the links are the ones the real inventory would give. A label missing there fails the build (add it there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: build_docsite.sh DEST}
: "${ANSIBLE_COLLECTIONS_PATH:?set ANSIBLE_COLLECTIONS_PATH to the folder holding ansible_collections/ (make stage)}"
rm -rf "$dest"
mkdir -p "$dest"
chmod 700 "$dest"  # sphinx-init wants a folder only its owner can write to
dest=$(cd "$dest" && pwd)
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
  --title "atlassian_ops.backup" --project "atlassian_ops.backup" --copyright "atlassian_ops.backup contributors" \
  atlassian_ops.backup --dest-dir "$dest" > "$dest/sphinx-init.log"
python "$here/docsite_inventory.py" "$dest/ansible_devel.inv"
cat >> "$dest/conf.py" <<'CONF'

# tests/tools/build_docsite.sh: no inventory from the network; the Ansible documentation's labels from a local file.
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '../ansible_devel.inv'),
}
CONF
bash "$dest/build.sh"
echo "The docsite is in $dest/build/html (index.html)"
