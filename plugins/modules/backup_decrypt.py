#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_decrypt
short_description: Decrypt an age-encrypted backup for a restore, checked against its manifest before it is kept
version_added: 0.4.0
description:
  - Decrypts a C(<name>.zip.age) file that M(atlassian_ops.backup.backup_encrypt) wrote (or any age file whose
    plaintext sha256 is known) with a private key given at run time, into O(dest).
  - The key is an age identity file (C(AGE-SECRET-KEY-1...) lines, as C(age-keygen) writes it) or an SSH private
    key (C(ssh-ed25519) or C(ssh-rsa), in the OpenSSH format, without a passphrase). It is read when the task runs,
    from O(identity_file) or O(identity); it is never copied, stored, logged or returned.
  - The file is decrypted as a stream into C(<dest>.part) (memory stays flat whatever its size). The sha256 of the
    plaintext, computed on the way, is compared with the one the backup's manifest records (C(encryption) section,
    C(plaintext_sha256)) or with O(expected_sha256) before the file is renamed to O(dest). On a mismatch, a wrong
    key or a damaged file, the part is deleted and nothing is left.
  - A key that is not one of the file's recipients fails the task with a message that names the recipients the
    file was encrypted to (their types and fingerprints, from the manifest), never any key material.
  - Idempotent. When O(dest) already exists with the expected sha256, nothing is decrypted (RV(changed=false)) and
    no key is read.
  - The module talks to no service; it reads and writes files on the host that runs it (usually C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - pyrage >= 1.2 (the Python bindings of rage, an implementation of age)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Decrypts the whole file and checks its sha256, as a real run does, but writes nothing. A drill that proves
        a key can restore a copy without using disk space.
  diff_mode:
    support: none
notes:
  - Give the key only to the run of a restore, for example from a vault or a removable medium on the restore host.
    The host that takes and encrypts the backups needs only the public keys.
  - The C(age) and C(rage) command-line tools decrypt these files as well (C(age -d -i key.txt -o backup.zip
    backup.zip.age)); then compare C(sha256sum backup.zip) with the manifest's C(encryption.plaintext_sha256) by
    hand.
seealso:
  - module: atlassian_ops.backup.backup_encrypt
  - module: atlassian_ops.backup.confluence_restore
options:
  path:
    description:
      - The encrypted backup, C(<name>.zip.age), on the host that runs the module.
    type: path
    required: true
  dest:
    description:
      - The zip to write. Its folder is created (mode 0700) when missing; the file is written with mode 0600.
      - By default O(path) without its C(.age) suffix (required when O(path) has none).
    type: path
  identity_file:
    description:
      - A file with the private key, read at run time and never copied; an age identity file or an OpenSSH private
        key without a passphrase.
      - One of O(identity_file) and O(identity) is needed, unless O(dest) is already there with the expected
        sha256. When both are set (for example O(identity) from the environment), O(identity_file) is used.
    type: path
  identity:
    description:
      - The private key itself, as text (the content of an age identity file or of an OpenSSH private key), for
        example from a vault. Never logged or returned.
      - If not set, the value of the E(ATLASSIAN_BACKUP_AGE_IDENTITY) environment variable is used.
    type: str
  manifest:
    description:
      - The backup's manifest, which holds the expected sha256 of the plaintext and the recipients.
      - By default C(<name>.json) beside O(path) (for C(<name>.zip.age)), where M(atlassian_ops.backup.backup_encrypt)
        records the encryption when the C(.age) file is written beside the zip.
      - Mutually exclusive with O(expected_sha256).
    type: path
  expected_sha256:
    description:
      - The sha256 the plaintext must have, when there is no manifest at hand (for example a copy fetched from an
        off-site store without it). A wrong key then fails without naming the recipients.
    type: str
"""

EXAMPLES = r"""
- name: Restore drill on the backup host, the key given at run time only
  module_defaults:
    group/atlassian_ops.backup.cloud:
      url: https://example.atlassian.net
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Take and download a backup unless one younger than 24 h is already there
      atlassian_ops.backup.confluence_backup:
        dest: /srv/backups/confluence
        max_age: 24h
      register: backup

    - name: Encrypt it (public keys only)
      atlassian_ops.backup.backup_encrypt:
        path: "{{ backup.path }}"
        recipients: "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients.txt').splitlines() }}"
      register: encrypted

    - name: Decrypt the copy with the SSH key brought on a removable medium; its sha256 is checked against the manifest
      atlassian_ops.backup.backup_decrypt:
        path: "{{ encrypted.path }}"
        dest: /srv/backups/restore/confluence.zip
        identity_file: /media/restore-key/id_ed25519
      register: plain

    - name: Show what to restore from
      ansible.builtin.debug:
        msg: "{{ plain.path }} has sha256 {{ plain.sha256 }}, as the manifest records; give it to confluence_restore"

- name: Decrypt with an age identity kept in a vault (or set ATLASSIAN_BACKUP_AGE_IDENTITY instead)
  atlassian_ops.backup.backup_decrypt:
    path: "{{ encrypted.path }}"
    dest: /srv/backups/restore/confluence-from-age-key.zip
    identity: "{{ vault_backup_age_identity }}"
  no_log: true

- name: Prove the key can restore the copy without writing anything
  atlassian_ops.backup.backup_decrypt:
    path: "{{ encrypted.path }}"
    dest: /srv/backups/restore/drill.zip
    identity_file: /media/restore-key/id_ed25519
  check_mode: true

- name: A copy fetched without its manifest, checked against a sha256 known from elsewhere
  atlassian_ops.backup.backup_decrypt:
    path: "{{ encrypted.path }}"
    dest: /srv/backups/restore/fetched.zip
    expected_sha256: "{{ encrypted.plaintext_sha256 }}"
    identity_file: /media/restore-key/id_ed25519
"""

RETURN = r"""
path:
  description: The decrypted zip (O(dest)).
  returned: always
  type: str
  sample: /srv/backups/restore/confluence.zip
sha256:
  description: Its sha256, equal to the expected one (null on failure).
  returned: always
  type: str
  sample: 4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06
size:
  description:
    - Its size in bytes (null on failure).
    - When a file is at RV(path) (in check mode, an older one), Ansible reports its size here.
  returned: always
  type: int
  sample: 2147483648
source:
  description: The encrypted file that was read (O(path)).
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.zip.age
manifest_path:
  description: The manifest the expected sha256 came from (null with O(expected_sha256)).
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.json
mode:
  description: Permissions of the decrypted zip at RV(path) (added by Ansible to every result that has a C(path)).
  returned: when RV(path) exists
  type: str
  sample: "0600"
owner:
  description: Owner of the decrypted zip at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
group:
  description: Group of the decrypted zip at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
uid:
  description: Numeric owner of the decrypted zip at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
gid:
  description: Numeric group of the decrypted zip at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
state:
  description: V(file), the type of RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: file
changed:
  description: Whether the file was decrypted into O(dest) (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words; on a wrong key, the recipients the file was encrypted to.
  returned: always
  type: str
  sample: "Decrypted ...zip.age into /srv/backups/restore/confluence.zip (2147483648 bytes, sha256 4b25...,
    as expected)."
"""

import os

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import check_dest, run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Decryption

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    dest=dict(type="path"),
    identity_file=dict(type="path"),
    identity=dict(type="str", no_log=True, fallback=(env_fallback, ["ATLASSIAN_BACKUP_AGE_IDENTITY"])),
    manifest=dict(type="path"),
    expected_sha256=dict(type="str"),
)


def prepare(module, params):
    if not age.HAS_PYRAGE:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=age.PYRAGE_IMPORT_ERROR)
    if params.get("identity"):
        # Every line of the key is masked wherever Ansible prints this run's results.
        module.no_log_values.update(age.secret_strings(params["identity"]))
    dest = params.get("dest") or (params["path"][:-len(age.SUFFIX)] if params["path"].endswith(age.SUFFIX) else None)
    if dest:
        check_dest(module, os.path.dirname(dest) or ".")


def run(module, params):
    def identities():
        if params.get("identity_file"):
            data = age.read_identity_file(params["identity_file"])
            module.no_log_values.update(age.secret_strings(data))
            return age.parse_identities(data, "identity_file %s" % params["identity_file"])
        if params.get("identity"):
            return age.parse_identities(params["identity"], "identity")
        raise age.IdentityError("A private key is needed to decrypt %s: give identity_file, or identity (or set "
                                "ATLASSIAN_BACKUP_AGE_IDENTITY)." % params["path"])
    return Decryption(params, module.warn).run(identities)


def main():
    run_module(ARGUMENT_SPEC, run, "decrypt the backup", connection="local", prepare=prepare,
               supports_check_mode=True, mutually_exclusive=[("manifest", "expected_sha256")])


if __name__ == "__main__":
    main()
