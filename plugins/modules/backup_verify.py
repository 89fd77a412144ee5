#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_verify
short_description: Prove that a backup on disk is good, and that it still holds what the previous one held
version_added: 0.3.0
description:
  - Verifies a backup zip that the collection's modules wrote (or any zip with a C(sha256sum)-format C(.sha256)
    file or a manifest beside it) at one of three levels; each level includes the ones before it.
  - V(checksum) computes the file's sha256 and compares it with the C(<zip>.sha256) file and with the manifest
    (C(<zip without .zip>.json)), and the size with the manifest's.
  - V(archive) also reads every zip member back, streamed, and checks its CRC-32.
  - V(inventory) also counts the spaces, pages, blog posts, comments and attachments of the Confluence backup,
    read from its C(entities.xml) as a stream (never loaded whole; memory stays flat for multi-GB files), wherever
    the layout puts it (at the top for Data Center and classic exports; in a folder in some Cloud
    C(Site_Backup.zip)). Only current content is counted, not historical versions, drafts or trashed content. The
    counts are compared with those of the previous backup (O(previous)); a count that dropped by more than
    O(max_drop_percent) fails the task as a possible mass deletion, naming the counts.
  - When no C(entities.xml) is found, or it cannot be parsed, the inventory is recorded as V(unknown) with a
    warning, and nothing is compared. It is never a false alarm.
  - With O(update_manifest), the result is written into the manifest (C(verified_level), C(verified_at), and at
    V(inventory) level C(inventory) and C(inventory_status)), atomically, so that the next backup is compared with
    this one. A run that finds nothing new to record leaves the manifest alone (RV(changed=false)).
  - A failure of the backup itself (size or sha256 mismatch, a bad member CRC, a possible mass deletion) is recorded
    too, with O(update_manifest), as C(verified=false) and C(verification_failure) (the level, the reason and when).
    From then on no module of the collection counts that backup as good; M(atlassian_ops.backup.backup_prune)
    leaves it alone (it never fills a retention slot), M(atlassian_ops.backup.confluence_backup) and
    M(atlassian_ops.backup.snapshots_export) never reuse it under C(max_age), it is never the reference of the next
    inventory comparison, and M(atlassian_ops.backup.backup_metrics) reports C(verification_ok 0) for it. A later
    verification at the same level or deeper that passes clears the mark. A failure that says nothing of the backup
    (the file is missing, nothing to compare it with) records nothing.
  - A content export of M(atlassian_ops.backup.confluence_export) is verified too, as its folder or as its zip
    (O(atlassian_ops.backup.confluence_export#module:archive)). A folder at V(checksum) has every file its
    C(export.json) lists with the size and sha256 recorded there (each read as a stream), and none missing; at
    V(archive) every page and blog post JSON also parses and holds the id and version C(export.json) records; at
    V(inventory) the spaces, pages, blog posts, comments (footer and inline) and attachments are counted from the
    files themselves, compared with the counts C(export.json) records, and with the previous good export of the
    same selection in the same folder under O(max_drop_percent). The outcome is recorded in C(export.json); an
    export whose verification failed is never the base of the next incremental run.
  - The zip of a content export (C(export.json) at its top, no C(entities.xml)) is verified at V(checksum) and
    V(archive) as any zip; at V(inventory) its members are counted the same way, each also checked against the
    sha256 C(export.json) records, and compared with the previous content export zip of the same selection (never
    with a site backup). The outcome is recorded in the zip's manifest and in its folder's C(export.json) when
    the folder is still there.
  - The module talks to no service; it reads files on the host that runs it (usually C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Verifies the same way; the manifest is never written. RV(changed) tells whether it would be.
  diff_mode:
    support: none
notes:
  - After a drop that was intended (content removed on purpose), verify the backup once with
    O(max_drop_percent=100); that clears the recorded failure, and its counts become the reference of the next
    backup.
  - Every read is streamed, so memory stays flat whatever the size of the backup (under 40 MB in
    C(benchmarks/verify_bench.py)); there a verification at level V(inventory) took less time than C(unzip -t) on
    the same file.
seealso:
  - module: atlassian_ops.backup.confluence_backup
options:
  path:
    description:
      - The backup zip, on the host that runs the module, or the folder of a content export
        (M(atlassian_ops.backup.confluence_export)).
    type: path
    required: true
  level:
    description:
      - How deep to verify. V(checksum) is the sha256 and the size against the C(.sha256) file and the manifest.
        V(archive) adds every member's CRC. V(inventory) adds the counts of content and their comparison with the
        previous backup.
    type: str
    choices: [checksum, archive, inventory]
    default: archive
  max_drop_percent:
    description:
      - At level V(inventory), the largest drop of a count, in percent of the previous backup's, that is accepted.
        A larger drop of any count fails the task. V(100) accepts any drop.
      - Counts that are unknown on either side, or zero in the previous backup, are not compared.
    type: float
    default: 20
  previous:
    description:
      - At level V(inventory), the backup to compare with, as the path of its zip or of its manifest (or, for a
        content export's folder, another export folder). Its counts come from its manifest (recorded by an earlier
        verification); when the manifest has none, they are read from its zip (or folder).
      - By default, the newest other backup in the same folder whose manifest has the same C(product),
        C(site_label), C(scope), C(space_keys) and C(kind) and an older backup time. For a content export's
        folder, the newest older export folder beside it of the same site and selection whose verification did
        not fail. A backup whose verification recorded
        counts is preferred, so a backup that failed the comparison (and recorded nothing) is not taken as the
        reference. Without a manifest beside O(path) there is no default.
    type: path
  update_manifest:
    description:
      - Write the result into the backup's manifest (C(verified_level), C(verified_at), C(inventory),
        C(inventory_status)) when it is new. A higher level already recorded is kept.
      - Nothing is written in check mode, without a manifest, or when the verification fails.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Nightly backup, verified down to its content, the site's connection set once for the Cloud modules
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

    - name: Check its sha256 and every member, count its content, compare with the previous backup
      atlassian_ops.backup.backup_verify:
        path: "{{ backup.path }}"
        level: inventory
        max_drop_percent: 20
      register: verified

    - name: Show what it holds
      ansible.builtin.debug:
        msg: "{{ verified.inventory.pages }} pages, {{ verified.inventory.attachments }} attachments"
      when: verified.inventory_status == 'counted'

- name: A quick check of the same file, its sha256 only, without touching the manifest
  atlassian_ops.backup.backup_verify:
    path: "{{ backup.path }}"
    level: checksum
    update_manifest: false

- name: After content was removed on purpose, accept the drop once; this backup becomes the reference
  atlassian_ops.backup.backup_verify:
    path: "{{ backup.path }}"
    level: inventory
    max_drop_percent: 100

- name: Export the site's spaces item by item (a folder per run)
  atlassian_ops.backup.confluence_export:
    url: https://example.atlassian.net
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
    dest: /srv/backups/confluence-export
  register: export

- name: Verify the export's folder down to its content (every file's sha256, every item, the counts)
  atlassian_ops.backup.backup_verify:
    path: "{{ export.path }}"
    level: inventory

- name: Compare with a backup of your choice (its zip or its manifest), in check mode so that nothing is written
  atlassian_ops.backup.backup_verify:
    path: "{{ backup.path }}"
    level: inventory
    previous: "{{ backup.manifest_path }}"
  check_mode: true
"""

RETURN = r"""
verified:
  description:
    - Whether the backup passed every check of O(level). False when a check failed (RV(msg) says which).
    - True in the rare failure where every check passed but the manifest could not be written.
  returned: always
  type: bool
  sample: true
level:
  description: The level verified.
  returned: always
  type: str
  sample: inventory
sha256:
  description: The sha256 of the file, as computed now (null when the file is missing or its size is already wrong,
    and for a content export's folder).
  returned: always
  type: str
  sample: 4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06
size:
  description: The size of the file in bytes (null when it is missing); for a content export's folder, the size of
    the files its C(export.json) lists.
  returned: always
  type: int
  sample: 2147483648
members:
  description:
    - The number of zip members. At level V(archive) and above, every one of them was read back with a good CRC.
    - Null when the file is missing, or at level V(checksum) when its zip directory cannot be read.
    - For a content export's folder, the number of files its C(export.json) lists (all checked).
  returned: always
  type: int
  sample: 1234
inventory:
  description: At level V(inventory), the counts of current content (null when unknown or below that level).
  returned: always
  type: dict
  sample: {"spaces": 3, "pages": 1200, "blog_posts": 40, "comments": 300, "attachments": 500,
           "entities_member": "entities.xml", "objects": 5120}
  contains: &counts
    spaces:
      description: Spaces (archived and personal spaces too).
      type: int
      sample: 3
    pages:
      description: Current pages, without historical versions, drafts and trashed pages.
      type: int
      sample: 1200
    blog_posts:
      description: Current blog posts.
      type: int
      sample: 40
    comments:
      description: Current comments.
      type: int
      sample: 300
    attachments:
      description: Current attachments (not their older versions).
      type: int
      sample: 500
    entities_member:
      description: The zip member that was read, for example V(entities.xml) or V(export/entities.xml).
      type: str
      sample: entities.xml
    objects:
      description: All the objects of the file, of every class and version.
      type: int
      sample: 5120
    by_space:
      description:
        - The current pages and blog posts of each space, by space key (a restore drill or a migration compares a
          site's own counts with them, space by space).
      type: dict
      sample: {"DOC": {"pages": 1100, "blog_posts": 30}, "TEAM": {"pages": 100, "blog_posts": 10}}
inventory_status:
  description:
    - At level V(inventory), V(counted), or V(unknown) when no C(entities.xml) was found or it could not be parsed
      (a warning says why). Null below that level.
  returned: always
  type: str
  sample: counted
previous:
  description: At level V(inventory), the previous backup the counts were compared with (its zip, or its manifest
    when the zip is not named), or null when there is none.
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261121T020304Z.zip
previous_inventory:
  description: The counts of the previous backup (null when there is none or they are unknown).
  returned: always
  type: dict
  sample: {"spaces": 3, "pages": 1210, "blog_posts": 40, "comments": 298, "attachments": 497}
  contains:
    spaces:
      description: Spaces.
      type: int
    pages:
      description: Current pages.
      type: int
    blog_posts:
      description: Current blog posts.
      type: int
    comments:
      description: Current comments.
      type: int
    attachments:
      description: Current attachments.
      type: int
drops:
  description: The counts that dropped by more than O(max_drop_percent) since the previous backup (the task failed).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "pages", "before": 1200, "after": 400, "percent": 66.7}]
  contains:
    name:
      description: Which count, one of V(spaces), V(pages), V(blog_posts), V(comments) or V(attachments).
      type: str
      sample: pages
    before:
      description: The count in the previous backup.
      type: int
      sample: 1200
    after:
      description: The count in this backup.
      type: int
      sample: 400
    percent:
      description: How much it dropped, in percent of RV(drops[].before), rounded to 0.1.
      type: float
      sample: 66.7
manifest_path:
  description: The backup's manifest, or null when there is none beside O(path).
  returned: always
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261122T020304Z.json
failure_recorded:
  description:
    - Whether this run recorded a failure of the backup in its manifest (C(verified=false) and
      C(verification_failure)). False in check mode, when the verification passed, when the failure says nothing of
      the backup, or when it was already recorded.
  returned: always
  type: bool
  sample: false
changed:
  description: Whether the manifest was updated, with a pass or a failure (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
msg:
  description: What was verified and found, in words.
  returned: always
  type: str
  sample: "Verified ...zip at level inventory: sha256 matches the .sha256 file and the manifest; 3 members read back
    with good CRCs; 3 spaces, 1200 pages, 40 blog posts, 300 comments, 500 attachments."
"""

import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.verify import LEVELS, ExportVerification, Verification

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    level=dict(type="str", default="archive", choices=list(LEVELS)),
    max_drop_percent=dict(type="float", default=20.0),
    previous=dict(type="path"),
    update_manifest=dict(type="bool", default=True),
)


def prepare(module, params):
    if not 0 <= params["max_drop_percent"] <= 100:
        module.fail_json(msg="max_drop_percent must be between 0 and 100 (got %s)." % params["max_drop_percent"])


def run(module, params):
    if os.path.isdir(params["path"]):
        return ExportVerification(params, module.warn).run()
    return Verification(params, module.warn).run()


def main():
    run_module(ARGUMENT_SPEC, run, "verify the backup", connection="local", prepare=prepare,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
