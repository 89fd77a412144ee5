#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_offsite
short_description: Copy a verified backup off site (S3 or Azure Blob), encrypted on its way out if asked, and read it back
version_added: 0.4.0
description:
  - Copies one backup of the local folder (O(path), with the manifest the collection's modules leave beside it) to a
    folder of an object store. The store's folder holds, per backup, what the local folder holds. That is the
    zip, or with O(encrypt_recipients) the zip encrypted with age (C(<name>.zip.age)), its C(.sha256) object, and
    its manifest C(<name>.json), uploaded last.
  - Only a backup whose manifest says it is good is copied. A backup whose last verification failed is refused,
    and so is one whose C(.sha256) file disagrees with its manifest.
  - The upload streams the file in parts of O(part_size) bytes, several at a time, with a checksum on each part
    that the service checks on receipt. Memory stays flat whatever the size of the backup. With
    O(encrypt_recipients) the zip is encrypted as it is sent, so no encrypted file is written locally. If the
    manifest records a local encrypted copy (M(atlassian_ops.backup.backup_encrypt)) to the same recipients,
    that copy is sent as it is.
  - The plaintext's sha256 is compared with the manifest's before the upload is committed. A backup that changed
    since it was verified never reaches the store, and the unfinished upload is cancelled.
  - After the upload the object is read back. Its size and the store's own checksum must match what was sent.
    The checksum is the ETag on S3 (from the MD5 of each part) and the Content-MD5 on Azure. The host holds no
    private key, so nothing is decrypted.
  - An object that is already in the store is never replaced. It is compared with what it must be, by its size,
    its C(.sha256) object, and the store's checksum. For an encrypted object the checksum is the one its manifest
    records, or, when none is recorded for this kind of store, the sha256 of the whole object read back. A
    difference fails the task and leaves the object as found, for inspection.
  - An encrypted object's manifest in the store records an C(encryption) section. It holds the recipients'
    fingerprints, the plaintext sha256, the ciphertext's size and sha256, and the store's checksum. Later runs check
    the copy with it, and a restore checks the decrypted zip with it (M(atlassian_ops.backup.backup_decrypt)).
  - The local manifest keeps the same record under C(offsite), by the object's address, one per store (two stores
    hold two different ciphertexts of the same backup). Its own C(encryption) section, if any, keeps describing the
    local C(.zip.age) of M(atlassian_ops.backup.backup_encrypt) only.
  - With O(retention), the store's folder then gets the same rule as M(atlassian_ops.backup.backup_prune) applies
    to a local folder, decided from the store's own manifests. Encrypted and plain copies count alike. Each
    backup's objects are deleted oldest backup first, its manifest last.
  - S3-compatible stores are reached through O(s3.endpoint_url). That covers MinIO, Ceph, Cloudflare R2, Backblaze
    B2 and Google Cloud Storage's XML interoperability (HMAC keys). Stores that rewrite the ETag (SSE-KMS, SSE-C)
    make the read-back fail, so use O(s3.server_side_encryption) (SSE-S3) or none.
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
      - Lists the store and checks an object already there, reading only. Says what would be uploaded and what the
        retention would delete (RV(retention.would_delete)). Nothing is written or deleted, here or in the store.
  diff_mode:
    support: none
requirements:
  - boto3 (O(store=s3))
  - azure-storage-blob (O(store=azure_blob))
  - pyrage (with O(encrypt_recipients))
options:
  path:
    description:
      - The local backup, a zip with its manifest C(<name>.json) beside it.
    type: path
    required: true
  encrypt_recipients:
    description:
      - Encrypt the copy with age to these recipients. Give age X25519 public keys (C(age1...)) or SSH public keys
        (C(ssh-ed25519 ...), C(ssh-rsa ...)), one per entry or several per entry, one per line.
      - Anyone holding one of the matching private keys can decrypt the copy. The host needs none.
      - Not given, the zip is copied as it is.
    type: list
    elements: str
  retention:
    description:
      - Apply this retention to the store's folder after the copy, as M(atlassian_ops.backup.backup_prune) does to
        a local folder. Not given, nothing is deleted from the store.
      - At least one of O(retention.keep_daily), O(retention.keep_weekly), O(retention.keep_monthly) and
        O(retention.keep_yearly) must be above 0.
    type: dict
    suboptions:
      keep_daily:
        description: Keep the newest verified backup of each of this many most recent UTC days that have one.
        type: int
        default: 0
      keep_weekly:
        description: Keep the newest verified backup of each of this many most recent ISO weeks that have one.
        type: int
        default: 0
      keep_monthly:
        description: Keep the newest verified backup of each of this many most recent months that have one.
        type: int
        default: 0
      keep_yearly:
        description: Keep the newest verified backup of each of this many most recent years that have one.
        type: int
        default: 0
      keep_last:
        description: Keep this many newest verified backups, whatever their times.
        type: int
        default: 1
  part_size:
    description:
      - The size of each uploaded part, in bytes. Not set, 5 MiB on S3 (its smallest part, as rclone sends) and 4 MiB
        on Azure Blob. Two parts travel at once and one waits; each costs about twice its size in memory while sent.
      - S3 takes 5 MiB to 5 GiB and at most 10,000 parts per object; a part size too small for the backup is raised
        to fit.
    type: int
"""

EXAMPLES = r"""
- name: Take a verified backup of the site (credentials from ATLASSIAN_URL, ATLASSIAN_USERNAME, ATLASSIAN_API_TOKEN)
  atlassian_ops.backup.confluence_backup:
    dest: /srv/backups/confluence
    max_age: 24h
  register: backup

- name: Copy it to S3, encrypted to the restore admins' public keys, and apply the retention there
  atlassian_ops.backup.backup_offsite:
    path: "{{ backup.path }}"
    store: s3
    prefix: atlassian-backups/wiki
    s3:
      bucket: example-atlassian-backups
      region: eu-central-1
    # age1... and ssh-ed25519 lines; only public keys live on the backup host
    encrypt_recipients:
      - "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients.txt') }}"
    retention:
      keep_daily: 7
      keep_weekly: 4
      keep_monthly: 12
  register: offsite

- name: Say where the copy is
  ansible.builtin.debug:
    msg: "{{ offsite.url }} ({{ offsite.size }} bytes, {{ offsite.read_back }})"

- name: Copy it to Azure Blob too (the connection string from AZURE_STORAGE_CONNECTION_STRING)
  atlassian_ops.backup.backup_offsite:
    path: "{{ backup.path }}"
    store: azure_blob
    prefix: atlassian-backups/wiki
    azure:
      container: atlassian-backups
    encrypt_recipients:
      - "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients.txt') }}"
"""

RETURN = r"""
url:
  description: Where the copy is (C(s3://bucket/prefix/name) or C(azure://account/container/prefix/name)).
  returned: always
  type: str
  sample: s3://backups/atlassian-backups/wiki/confluence-example.atlassian.net-20261203T020304Z.zip.age
manifest_url:
  description: Where the copy's manifest is.
  returned: always
  type: str
  sample: s3://backups/atlassian-backups/wiki/confluence-example.atlassian.net-20261203T020304Z.json
uploaded:
  description: Whether the object was uploaded by this run (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
encrypted:
  description: Whether the copy is encrypted with age (O(encrypt_recipients)).
  returned: always
  type: bool
  sample: true
size:
  description: The object's size in bytes (null in check mode for an encrypted copy not yet uploaded).
  returned: always
  type: int
  sample: 2148007936
sha256:
  description: The object's sha256 (of the ciphertext when encrypted).
  returned: always
  type: str
  sample: 3f2a9c0e4b1d7a65f0e8c2b9a4d6e1f07c3b5a9d8e2f4c6b1a0d9e8f7c6b5a43
plaintext_sha256:
  description: The backup's sha256, as its manifest records it.
  returned: always
  type: str
  sample: 9e107d9d372bb6826bd81d3542a419d6e7b1c8f0a2d3e4f5a6b7c8d9e0f1a2b3
checksum:
  description: The checksum the store reports for the object (S3 ETag, Azure Content-MD5 in base64).
  returned: always
  type: str
  sample: 5d41402abc4b2a76b9719d911017c592-256
read_back:
  description: How the object was checked against what it must be.
  returned: always
  type: str
  sample: size and store checksum
recipients:
  description: The recipients' types and fingerprints (empty without encryption).
  returned: always
  type: list
  elements: dict
  sample: [{type: x25519, fingerprint: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p}]
retention:
  description: What the store's retention did, with O(retention); null otherwise.
  returned: always
  type: dict
  contains:
    deleted:
      description: The objects deleted, in order (none in check mode).
      type: list
      elements: str
      sample: [confluence-example.atlassian.net-20261101T020304Z.zip.age]
    would_delete:
      description: The objects a real run deletes, in order.
      type: list
      elements: str
      sample: [confluence-example.atlassian.net-20261101T020304Z.zip.age]
    kept:
      description: The backups kept, newest first, by object name.
      type: list
      elements: str
      sample: [confluence-example.atlassian.net-20261203T020304Z.zip]
    unverified:
      description: Backups whose manifest is in the store but whose objects are not all there, left alone.
      type: list
      elements: dict
      sample: [{name: confluence-example.atlassian.net-20261102T020304Z.zip, reason: the copy holds no zip object}]
    unaccounted:
      description: Objects no manifest accounts for, left alone.
      type: list
      elements: dict
      sample: [{name: confluence-example.atlassian.net-20261102T020304Z.zip, reason: no manifest}]
changed:
  description: Whether anything was (in check mode, would be) written to or deleted from the store.
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: "Uploaded the encrypted copy s3://backups/atlassian-backups/wiki/...zip.age (2148007936 bytes, read back:
    size and store checksum); retention deleted 4 objects and keeps 9 backups."
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.copy import OffsiteCopy
from ansible_collections.atlassian_ops.backup.plugins.module_utils.offsite.stores import STORE_SPEC, open_store

KEEP = dict(type="int", default=0)
ARGUMENT_SPEC = dict(STORE_SPEC)
ARGUMENT_SPEC.update(
    path=dict(type="path", required=True),
    encrypt_recipients=dict(type="list", elements="str"),
    retention=dict(type="dict", options=dict(keep_daily=KEEP, keep_weekly=KEEP, keep_monthly=KEEP, keep_yearly=KEEP,
                                             keep_last=dict(type="int", default=1))),
    part_size=dict(type="int"),
)


def prepare(module, params):
    for entry in params.get("encrypt_recipients") or []:
        module.no_log_values.update(age.private_strings(entry))
    if params.get("encrypt_recipients") and not age.HAS_PYRAGE:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=age.PYRAGE_IMPORT_ERROR)
    retention = params.get("retention")
    if retention is not None:
        if not any(retention[key] > 0 for key in ("keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")):
            module.fail_json(msg="retention keeps nothing by date: set at least one of keep_daily, keep_weekly, "
                                 "keep_monthly and keep_yearly above 0 (a rule that keeps only the newest backups is "
                                 "never a default).")
        if any(value < 0 for value in retention.values()):
            module.fail_json(msg="retention counts cannot be negative.")
        params.update(retention)
    if params["part_size"] is None:
        return
    if params["part_size"] < 5 * 1024 * 1024 and params["store"] == "s3":
        module.fail_json(msg="part_size must be at least 5242880 bytes (5 MiB) for S3, which refuses smaller parts "
                             "(got %d)." % params["part_size"])
    if params["part_size"] < 64 * 1024:
        module.fail_json(msg="part_size must be at least 65536 bytes (got %d)." % params["part_size"])


def run(module, params):
    store = open_store(module, params)
    return OffsiteCopy(params, store, module.warn, check_mode=module.check_mode).run()


def main():
    run_module(ARGUMENT_SPEC, run, "copy the backup off site", connection="local", prepare=prepare,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
