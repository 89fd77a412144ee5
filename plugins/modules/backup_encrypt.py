#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_encrypt
short_description: Encrypt a backup with age to public keys, so that only the holders of the private keys can read it
version_added: 0.4.0
description:
  - Encrypts a backup zip that the collection's modules wrote (with its manifest C(<name>.json) beside it) with
    L(age,https://age-encryption.org), an open, streaming format that the C(age) and C(rage) command-line tools and
    M(atlassian_ops.backup.backup_decrypt) read.
  - It is encrypted to one or more O(recipients), public keys only (age X25519 or SSH). Each of their private keys
    can decrypt it on its own, so two people, or a person and a break-glass key kept in a safe, can each restore.
    The host that runs this module never needs a private key.
  - Writes C(<name>.zip.age) into O(dest) and beside it C(<name>.zip.age.sha256), the sha256 of the ciphertext in
    C(sha256sum) format. The zip is read once, as a stream, into C(<name>.zip.age.part), renamed at the end; memory
    stays flat whatever the size of the backup.
  - Records in the backup's manifest an C(encryption) section, through the collection's one manifest writer
    (atomic). It holds C(format) (V(age)), C(object) (the file name), C(size) and C(sha256) of the ciphertext,
    C(plaintext_sha256), C(recipients) (each one's C(type) and C(fingerprint)) and C(encrypted_at) (UTC).
  - The sha256 and size of the zip are computed while it is encrypted and compared with its manifest (and its
    C(.sha256) file) before the C(.age) file is renamed into place. A backup that changed since it was downloaded
    or verified is refused, and nothing is left. So is a backup whose last verification failed (C(verified=false)
    in its manifest, see M(atlassian_ops.backup.backup_verify)).
  - Idempotent. When the manifest already records an encryption of the same plaintext to the same set of
    recipients, and the C(.age) file there still has the recorded size and sha256 (and its C(.sha256) file agrees),
    nothing is done (RV(changed=false)); the zip itself is not read then, and need not be there any more.
    Otherwise (other recipients, a missing or damaged C(.age) file, O(force)) it is encrypted again, and age uses a new
    random file key each time, so the new ciphertext differs from the old one.
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
      - Reads the zip and checks its sha256 against the manifest, as a real run does; writes nothing. RV(changed)
        tells whether a real run would encrypt.
  diff_mode:
    support: none
notes:
  - Keep the private keys off the backup host. Whoever owns the host can then read neither past nor future
    backups from the encrypted copies, only the local zips, which stay as they are.
  - Make an age key with C(age-keygen -o key.txt) (its C(Public key) line is the recipient) or use an SSH key
    (C(ssh-keygen -t ed25519); the recipient is the line of its C(.pub) file). See C(docs/encryption.md) of the
    collection.
  - "A recipient's fingerprint is the X25519 recipient itself (C(age1...)) or, for an SSH key, C(SHA256:...) as
    C(ssh-keygen -lf key.pub) prints it."
  - Memory stays flat (a peak RSS of 36 MB at 1 GiB and at 2 GiB in C(benchmarks/encrypt_bench.py)). Encryption
    ran at about 300 MB/s there, about 0.37 times a plain local copy of the same file; age's cipher in pyrage is
    the limit, the streaming and the two sha256 cost little.
seealso:
  - module: atlassian_ops.backup.backup_decrypt
  - module: atlassian_ops.backup.backup_verify
  - name: The age file format
    description: The specification of the format, read by age, rage and pyrage.
    link: https://age-encryption.org/v1
options:
  path:
    description:
      - The backup zip, on the host that runs the module. Its manifest C(<name>.json) must be beside it, with the
        zip's sha256.
    type: path
    required: true
  recipients:
    description:
      - The public keys to encrypt to. Each entry is an age X25519 recipient (V(age1...), the C(Public key) that
        C(age-keygen) prints) or an SSH public key of type C(ssh-ed25519) or C(ssh-rsa) (the line of a C(.pub)
        file; its comment is ignored).
      - An entry may also hold several lines, as an age recipients file does; blank lines and lines that start with
        C(#) are skipped. A key given twice counts once.
      - An entry that is not a usable public key fails the task, naming the entry (for example C(recipients[1])).
        A private key given by mistake is refused without being shown.
    type: list
    elements: str
    required: true
  dest:
    description:
      - The folder to write C(<name>.zip.age) and its C(.sha256) file into. It is created (mode 0700) when missing.
      - By default the folder of O(path). The manifest stays beside the zip and records the file's name.
    type: path
  force:
    description:
      - Encrypt again even when an intact encryption of the same backup to the same recipients is recorded.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Nightly backup, encrypted for two people before it leaves the host
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

    - name: Encrypt it to an SSH key of the restore admin and an age key kept in the safe (public keys only)
      atlassian_ops.backup.backup_encrypt:
        path: "{{ backup.path }}"
        recipients:
          - "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients/alice_ed25519.pub') }}"
          - "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients/break-glass.txt') }}"
      register: encrypted

    - name: Show what to copy off-site and who can read it
      ansible.builtin.debug:
        msg: "{{ encrypted.path }} ({{ encrypted.size }} bytes) for {{ encrypted.recipients | map(attribute='fingerprint') | join(', ') }}"

- name: Encrypt into a folder that is synced off-site, to every key of an age recipients file
  atlassian_ops.backup.backup_encrypt:
    path: "{{ backup.path }}"
    recipients: "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients.txt').splitlines() }}"
    dest: /srv/backups/offsite

- name: See whether a run would encrypt (the zip is checked against its manifest; nothing is written)
  atlassian_ops.backup.backup_encrypt:
    path: "{{ backup.path }}"
    recipients: "{{ lookup('ansible.builtin.file', '/etc/atlassian-backup/recipients.txt').splitlines() }}"
    dest: /srv/backups/offsite
  check_mode: true
"""

RETURN = r"""
path:
  description: The encrypted file, C(<name>.zip.age) in O(dest).
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.zip.age
checksum_path:
  description: Its C(sha256sum)-format file, C(<name>.zip.age.sha256), with the sha256 of the ciphertext.
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.zip.age.sha256
size:
  description:
    - The size of the encrypted file in bytes (null in check mode when it would be written, or on failure).
    - When a file is at RV(path), Ansible reports its size here.
  returned: always
  type: int
  sample: 2148007936
sha256:
  description: The sha256 of the encrypted file (null in check mode when it would be written, or on failure).
  returned: always
  type: str
  sample: 9f2c1d0b7a6e5f4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d9e8f
plaintext_sha256:
  description: The sha256 of the backup zip, as its manifest records it and as checked while encrypting.
  returned: always
  type: str
  sample: 4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06
plaintext_size:
  description: The size of the backup zip in bytes, as its manifest records it.
  returned: always
  type: int
  sample: 2147483648
recipients:
  description: The recipients it is encrypted to (each key once), sorted by fingerprint, as the manifest records them.
  returned: always
  type: list
  elements: dict
  sample: [{"type": "ssh-ed25519", "fingerprint": "SHA256:mCEvAMgop0f+hPoB9UuifNOAV2TGEr6osFFDgExFES0"},
           {"type": "x25519", "fingerprint": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}]
  contains: &recipient
    type:
      description: V(x25519), V(ssh-ed25519) or V(ssh-rsa).
      type: str
      sample: ssh-ed25519
    fingerprint:
      description:
        - An X25519 recipient's own public key, or an SSH key's C(SHA256:...) fingerprint as C(ssh-keygen -lf)
          prints it.
      type: str
      sample: SHA256:mCEvAMgop0f+hPoB9UuifNOAV2TGEr6osFFDgExFES0
manifest_path:
  description: The backup's manifest, where the encryption is recorded.
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.json
encryption:
  description:
    - The C(encryption) section of the manifest, as recorded by this run or found intact by it (null in check mode
      when it would be written, or on failure).
  returned: always
  type: dict
  sample: {"format": "age", "object": "confluence-example.atlassian.net-20261122T020304Z.zip.age",
           "size": 2148007936, "sha256": "9f2c1d0b7a6e5f4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d9e8f",
           "plaintext_sha256": "4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06",
           "recipients": [{"type": "ssh-ed25519", "fingerprint": "SHA256:mCEvAMgop0f+hPoB9UuifNOAV2TGEr6osFFDgExFES0"}],
           "encrypted_at": "2026-11-22T02:10:00Z"}
  contains:
    format:
      description: Always V(age).
      type: str
      sample: age
    object:
      description: The name of the encrypted file (and of the object it becomes in an off-site store).
      type: str
      sample: confluence-example.atlassian.net-20261122T020304Z.zip.age
    size:
      description: Its size in bytes.
      type: int
      sample: 2148007936
    sha256:
      description: Its sha256.
      type: str
      sample: 9f2c1d0b7a6e5f4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d9e8f
    plaintext_sha256:
      description: The sha256 of the zip it decrypts to.
      type: str
      sample: 4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06
    recipients:
      description: Who can decrypt it.
      type: list
      elements: dict
      contains: *recipient
    encrypted_at:
      description: When it was encrypted (UTC).
      type: str
      sample: "2026-11-22T02:10:00Z"
mode:
  description: Permissions of the encrypted file at RV(path) (added by Ansible to every result that has a C(path)).
  returned: when RV(path) exists
  type: str
  sample: "0600"
owner:
  description: Owner of the encrypted file at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
group:
  description: Group of the encrypted file at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
uid:
  description: Numeric owner of the encrypted file at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
gid:
  description: Numeric group of the encrypted file at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
state:
  description: V(file), the type of RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: file
changed:
  description: Whether the backup was encrypted (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: "Encrypted /srv/backups/confluence/...zip (2147483648 bytes) to 2 recipients into ...zip.age (2148007936
    bytes); recorded in ...json."
"""

import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import check_dest, run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Encryption

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    recipients=dict(type="list", elements="str", required=True),
    dest=dict(type="path"),
    force=dict(type="bool", default=False),
)


def prepare(module, params):
    # A private key given as a recipient by mistake is refused (age.parse_recipients); it must not be echoed in the
    # result's invocation or -vvv output either.
    for entry in params.get("recipients") or []:
        module.no_log_values.update(age.private_strings(entry))
    if not age.HAS_PYRAGE:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=age.PYRAGE_IMPORT_ERROR)
    check_dest(module, params.get("dest") or os.path.dirname(params["path"]) or ".")


def run(module, params):
    return Encryption(params, module.warn).run()


def main():
    run_module(ARGUMENT_SPEC, run, "encrypt the backup", connection="local", prepare=prepare,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
