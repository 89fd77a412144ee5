#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_fetch
short_description: Bring a backup back from an off-site store (S3 or Azure Blob), checked against its manifest
version_added: 0.4.0
description:
  - Copies one backup from a folder of an object store, as M(atlassian_ops.backup.backup_offsite) left it, into a
    local folder, for a restore or a restore drill on another host.
  - The backup is the one O(name) names, or without it the newest good backup of the folder. That is decided from
    the store's own manifests, as retention decides.
  - Only backups of the O(kind) asked for are fetched. By default that is a backup the product restores itself (a
    site or space backup, a Snapshots export), never a content export. The zip of
    M(atlassian_ops.backup.confluence_export), which neither M(atlassian_ops.backup.confluence_restore) nor the
    organization restore can read, is fetched only with O(kind=content-export), even when it is newer. A store that
    holds only the other kind fails the task and says so; a O(name) of the other kind is refused.
  - Its object is the zip, or, when the store holds only that, the encrypted copy (C(<name>.zip.age)) its manifest
    records. Nothing is decrypted here. Give the C(.zip.age) to M(atlassian_ops.backup.confluence_restore) or
    M(atlassian_ops.backup.backup_decrypt) with the private key, at run time.
  - The bytes are streamed into a C(.part) file (mode 0600) and hashed on the way. Only when their size and sha256
    are the ones the manifest records (of the ciphertext, for an encrypted copy) is the file renamed into place.
    Then its C(.sha256) file is written, and last the manifest. A copy that differs is not kept, and the task fails.
  - A file already in O(dest) with the expected size and sha256 is kept as it is.
  - A backup whose manifest records a failed verification is refused.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.offsite_store
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Lists the store and reads the manifests, and says which object would be fetched. Nothing is written.
  diff_mode:
    support: none
requirements:
  - boto3 (O(store=s3))
  - azure-storage-blob (O(store=azure_blob))
options:
  dest:
    description:
      - The local folder to fetch into. It must exist.
    type: path
    required: true
  name:
    description:
      - The backup to fetch, by its file name (C(<name>.zip), C(<name>.zip.age) or C(<name>.json) all name the same
        backup). Without it, the newest good backup of O(product) (and O(site)) in the store's folder.
    type: str
  product:
    description:
      - Without O(name), the product whose newest backup is fetched (the first part of the backups' file names).
    type: str
    default: confluence
  site:
    description:
      - Without O(name), only backups of this site (a site label such as C(example.atlassian.net), or its URL).
    type: str
  kind:
    description:
      - What is fetched. V(backup), a backup the product's own restore reads (its manifest records no C(kind)), for
        M(atlassian_ops.backup.confluence_restore) or a restore drill.
      - V(content-export), the zip of a M(atlassian_ops.backup.confluence_export) run (C(kind) C(content-export) in its
        manifest). Unpack it into a folder (C(ansible.builtin.unarchive)) and give that folder to
        M(atlassian_ops.backup.confluence_import) as its C(src), to restore pages or spaces from it.
    type: str
    choices: [backup, content-export]
    default: backup
"""

EXAMPLES = r"""
- name: Bring back the newest copy from S3 (encrypted or not) for a restore on this host
  atlassian_ops.backup.backup_fetch:
    store: s3
    prefix: atlassian-backups/wiki
    s3:
      bucket: example-atlassian-backups
      region: eu-central-1
    dest: /srv/backups/restore
  register: fetched

- name: Say what was fetched
  ansible.builtin.debug:
    msg: "{{ fetched.path }} ({{ fetched.size }} bytes, encrypted {{ fetched.encrypted }}), taken {{ fetched.backup_time }}"

- name: The same from Azure Blob (the connection string from AZURE_STORAGE_CONNECTION_STRING)
  atlassian_ops.backup.backup_fetch:
    store: azure_blob
    prefix: atlassian-backups/wiki
    azure:
      container: atlassian-backups
    name: "{{ fetched.path | basename }}"
    dest: /srv/backups/restore

- name: Bring back the newest content export (confluence_export with archive true) for a page restore
  atlassian_ops.backup.backup_fetch:
    store: s3
    prefix: atlassian-backups/wiki-content
    s3:
      bucket: example-atlassian-backups
      region: eu-central-1
    kind: content-export
    dest: /srv/backups/restore
  register: export_zip

- name: Unpack it into an empty folder (export.json at the top), the src of confluence_import
  ansible.builtin.unarchive:
    src: "{{ export_zip.path }}"
    dest: /srv/backups/restore/content-export  # an existing folder, as dest of backup_fetch
    remote_src: true
"""

RETURN = r"""
path:
  description: The fetched file (C(.zip), or C(.zip.age) for an encrypted copy).
  returned: success
  type: str
  sample: /srv/backups/restore/confluence-wiki.example.com-20261203T020304Z.zip.age
manifest_path:
  description: Its manifest in O(dest).
  returned: success
  type: str
  sample: /srv/backups/restore/confluence-wiki.example.com-20261203T020304Z.json
encrypted:
  description: Whether the fetched file is an age-encrypted copy.
  returned: always
  type: bool
  sample: true
size:
  description: Its size in bytes, as the manifest records it.
  returned: success
  type: int
  sample: 2148007936
sha256:
  description: Its sha256 (of the ciphertext for an encrypted copy), as the manifest records it and as it was checked.
  returned: success
  type: str
  sample: 3f2a9c0e4b1d7a65f0e8c2b9a4d6e1f07c3b5a9d8e2f4c6b1a0d9e8f7c6b5a43
url:
  description: Where it was fetched from.
  returned: success
  type: str
  sample: s3://example-atlassian-backups/atlassian-backups/wiki/confluence-wiki.example.com-20261203T020304Z.zip.age
kind:
  description: What was fetched, V(backup) or V(content-export) (as O(kind) asked and its manifest records).
  returned: success
  type: str
  sample: backup
backup_time:
  description: When the backup was taken (UTC), as its manifest records it.
  returned: success
  type: str
  sample: "2026-12-03T02:03:04Z"
changed:
  description: Whether a file was (in check mode, would be) written to O(dest).
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: Fetched s3://example-atlassian-backups/atlassian-backups/wiki/...zip.age (2148007936 bytes, sha256 checked
    against its manifest) into /srv/backups/restore/...zip.age.
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.fetch import OffsiteFetch
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.stores import STORE_SPEC, open_store
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import BACKUP, KINDS

ARGUMENT_SPEC = dict(STORE_SPEC)
ARGUMENT_SPEC.update(
    dest=dict(type="path", required=True),
    name=dict(type="str"),
    product=dict(type="str", default="confluence"),
    site=dict(type="str"),
    kind=dict(type="str", choices=list(KINDS), default=BACKUP),
)


def run(module, params):
    return OffsiteFetch(params, open_store(module, params), module.warn, check_mode=module.check_mode).run()


def main():
    run_module(ARGUMENT_SPEC, run, "fetch the backup from the store", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
