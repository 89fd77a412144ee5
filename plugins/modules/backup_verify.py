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
  - The module talks to no service; it reads files on the host that runs it (usually C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.no_connection
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group
attributes:
  check_mode:
    support: full
    details:
      - Verifies the same way; the manifest is never written. RV(changed) tells whether it would be.
  diff_mode:
    support: none
notes:
  - A failed verification writes nothing. After a drop that was intended (content removed on purpose), verify the
    backup once with O(max_drop_percent=100); its counts then become the reference of the next backup.
  - Every read is streamed, so memory stays flat whatever the size of the backup (under 40 MB in
    C(benchmarks/verify_bench.py)); there a verification at level V(inventory) took less time than C(unzip -t) on
    the same file.
seealso:
  - module: atlassian_ops.backup.confluence_backup
options:
  path:
    description:
      - The backup zip, on the host that runs the module.
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
      - At level V(inventory), the backup to compare with, as the path of its zip or of its manifest. Its counts
        come from its manifest (recorded by an earlier verification); when the manifest has none, they are read
        from its zip.
      - By default, the newest other backup in the same folder whose manifest has the same C(product),
        C(site_label), C(scope) and C(space_keys) and an older backup time. A backup whose verification recorded
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
- name: Nightly backup, verified down to its content, connection set once for every module of the collection
  module_defaults:
    group/atlassian_ops.backup.atlassian:
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
  description: The sha256 of the file, as computed now (null when the file is missing or its size is already wrong).
  returned: always
  type: str
  sample: 4b25a39167a5709b9094ab494cba7ac57a318c7a4c43912199d3afe383749b06
size:
  description: The size of the file in bytes (null when it is missing).
  returned: always
  type: int
  sample: 2147483648
members:
  description:
    - The number of zip members. At level V(archive) and above, every one of them was read back with a good CRC.
    - Null when the file is missing, or at level V(checksum) when its zip directory cannot be read.
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
changed:
  description: Whether the manifest was updated (in check mode, whether it would be).
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

import json
import os
import zipfile
from datetime import datetime

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import inventory as inv
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import (
    MANIFEST_FORMAT,
    UTC,
    iso,
    parse_iso,
    read_manifests,
    write_atomic,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import file_sha256

LEVELS = ("checksum", "archive", "inventory")
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


def rank(level):
    return LEVELS.index(level) if level in LEVELS else -1


def manifest_beside(zip_path):
    return (zip_path[:-4] if zip_path.lower().endswith(".zip") else zip_path) + ".json"


def read_json(path):
    """The manifest at ``path`` (a dict), or None when it does not exist. Raises ValueError when it is unreadable."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, IOError, ValueError) as exc:
        raise ValueError("%s cannot be read as a manifest (%s)" % (path, exc))
    if not isinstance(data, dict):
        raise ValueError("%s is not a manifest (not a JSON object)" % path)
    return data


def read_sidecar(path):
    """The sha256 a ``sha256sum``-format file records (its first word). Raises ValueError."""
    try:
        with open(path) as handle:
            words = handle.read(4096).split()
    except (OSError, IOError, UnicodeDecodeError) as exc:
        raise ValueError("%s cannot be read (%s)" % (path, exc))
    digest = words[0].lower() if words else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("%s is not in sha256sum format (<64 hex digits>  <file name>)" % path)
    return digest


def backup_time(manifest):
    return parse_iso(manifest.get("backup_time")) or parse_iso(manifest.get("downloaded_at"))


def same_kind(one, other):
    return (one.get("product") == other.get("product") and one.get("site_label") == other.get("site_label")
            and one.get("scope") == other.get("scope")
            and sorted(one.get("space_keys") or []) == sorted(other.get("space_keys") or []))


class Verification(object):
    """One run of the module: the checks of ``level`` in order, the result fields filled as they are known."""

    def __init__(self, params, warn, now=None):
        self.p = params
        self.warn = warn
        self.now = now or (lambda: datetime.now(UTC))
        self.path = params["path"]
        self.level = params["level"]
        self.result = dict(changed=False, verified=False, level=self.level, sha256=None, size=None, members=None,
                           inventory=None, inventory_status=None, previous=None, previous_inventory=None, drops=[],
                           manifest_path=None)
        self.manifest = None
        self.done = []
        self.notes = []

    def fail(self, msg):
        raise TaskFailed(msg, **self.result)

    def run(self):
        self.checksum()
        if rank(self.level) >= rank("archive"):
            self.archive()
        else:
            self.count_members()
        if self.level == "inventory":
            self.inventory()
        self.result["verified"] = True
        self.record()
        return self.result

    # ------------------------------------------------------------------ checksum
    def checksum(self):
        path = self.path
        if not os.path.exists(path):
            self.fail("The backup %s does not exist." % path)
        if not os.path.isfile(path):
            self.fail("The backup %s is not a file." % path)
        manifest_path = manifest_beside(path)
        try:
            self.manifest = read_json(manifest_path)
        except ValueError as exc:
            self.fail("Cannot verify %s: its manifest %s." % (path, exc))
        if self.manifest is not None:
            self.result["manifest_path"] = manifest_path
            named = self.manifest.get("file")
            if named and named != os.path.basename(path):
                self.fail("The manifest %s describes %s, not %s." % (manifest_path, named, os.path.basename(path)))
        sidecar = path + ".sha256"
        expected = []
        if os.path.isfile(sidecar):
            try:
                expected.append(("the .sha256 file %s" % sidecar, read_sidecar(sidecar)))
            except ValueError as exc:
                self.fail("Cannot verify %s: %s." % (path, exc))
        if self.manifest is not None and self.manifest.get("sha256"):
            expected.append(("the manifest %s" % manifest_path, str(self.manifest["sha256"]).lower()))
        if not expected:
            self.fail("Nothing to check %s against: neither %s (sha256sum format) nor a manifest %s with its sha256 "
                      "is there. The collection's modules write both beside every backup." % (
                          path, sidecar, manifest_path))
        size = os.path.getsize(path)
        self.result["size"] = size
        recorded = self.manifest.get("size") if self.manifest is not None else None
        if isinstance(recorded, int) and recorded != size:
            self.fail("Size mismatch: the manifest %s records %d bytes, %s has %d: the file is not the backup that "
                      "was downloaded (cut short or changed)." % (manifest_path, recorded, path, size))
        digest = file_sha256(path)
        self.result["sha256"] = digest
        for source, value in expected:
            if value != digest:
                self.fail("sha256 mismatch: %s expects %s, but %s has %s: the file is not the backup that was "
                          "downloaded (or the record was changed)." % (source, value, path, digest))
        self.done.append("sha256 matches %s" % " and ".join(
            "the .sha256 file" if s.startswith("the .sha256") else "the manifest" for s, v in expected))

    # ------------------------------------------------------------------- archive
    def archive(self):
        try:
            checked = inv.check_archive(self.path)
        except inv.ArchiveError as exc:
            self.fail("%s The backup cannot be trusted for a restore; take a new one." % exc.msg)
        self.result["members"] = checked["members"]
        self.done.append("%d members read back with good CRCs" % checked["members"])

    def count_members(self):
        try:
            with zipfile.ZipFile(self.path) as archive:
                self.result["members"] = len(archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, IOError, EOFError, ValueError):
            self.result["members"] = None

    # ----------------------------------------------------------------- inventory
    def inventory(self):
        found = inv.read_inventory(self.path)
        counts = inv.counts_of(found)
        if counts is None:
            self.result["inventory_status"] = "unknown"
            self.warn("The inventory of %s is unknown: %s. It was recorded as unknown and not compared with a "
                      "previous backup." % (self.path, found["reason"]))
            self.notes.append("inventory unknown (%s)" % found["reason"])
        else:
            self.result["inventory_status"] = "counted"
            self.result["inventory"] = dict(counts, entities_member=found["entities_member"], objects=found["objects"])
            self.done.append(inv.describe_counts(counts))
        previous, previous_counts = self.find_previous()
        self.result["previous"] = previous
        self.result["previous_inventory"] = previous_counts
        if previous is None:
            self.notes.append("no previous backup to compare with")
            return
        if counts is None:
            return
        if previous_counts is None:
            self.warn("The inventory of the previous backup %s is unknown; the counts of %s were not compared." % (
                previous, self.path))
            self.notes.append("the previous backup's inventory is unknown")
            return
        limit = self.p["max_drop_percent"]
        drops = inv.compare(counts, previous_counts, limit)
        self.result["drops"] = drops
        if drops:
            self.fail("Possible mass deletion in %s: %s, since the previous backup %s (more than max_drop_percent "
                      "%g %%). Check the site before this backup replaces older ones; if the content was removed on "
                      "purpose, verify this backup once with max_drop_percent: 100 to make it the new reference." % (
                          self.path, inv.describe_drops(drops), previous, limit))
        self.done.append("no count dropped more than %g %% since %s" % (limit, previous))

    def find_previous(self):
        """(the previous backup's path, its counts or None); (None, None) when there is none."""
        explicit = self.p.get("previous")
        if explicit:
            return self.explicit_previous(explicit)
        mine = self.manifest
        if mine is None or not mine.get("product") or not mine.get("site_label") or backup_time(mine) is None:
            return None, None
        folder = os.path.dirname(os.path.abspath(self.path))
        own = os.path.abspath(manifest_beside(self.path))
        candidates = [m for m in read_manifests(folder, mine["product"], mine["site_label"])
                      if os.path.abspath(m["_manifest_path"]) != own and same_kind(m, mine)
                      and backup_time(m) is not None and backup_time(m) < backup_time(mine)]
        if not candidates:
            return None, None
        chosen = next((m for m in candidates if inv.counts_of(m.get("inventory"))), candidates[0])
        zip_path = os.path.join(folder, chosen["file"]) if chosen.get("file") else None
        return zip_path or chosen["_manifest_path"], self.counts_from(chosen, zip_path)

    def explicit_previous(self, given):
        if not os.path.exists(given):
            self.fail("previous %s does not exist." % given)
        if given.lower().endswith(".json"):
            try:
                manifest = read_json(given)
            except ValueError as exc:
                self.fail("previous: %s." % exc)
            if manifest.get("format") not in (None, MANIFEST_FORMAT):
                self.fail("previous: %s is a manifest of an unknown format %r." % (given, manifest.get("format")))
            named = manifest.get("file")
            zip_path = os.path.join(os.path.dirname(given), named) if named else None
            return zip_path or given, self.counts_from(manifest, zip_path)
        try:
            manifest = read_json(manifest_beside(given))
        except ValueError:
            manifest = None
        return given, self.counts_from(manifest, given)

    @staticmethod
    def counts_from(manifest, zip_path):
        """A previous backup's counts: recorded in its manifest, else read from its zip when it is there."""
        counts = inv.counts_of((manifest or {}).get("inventory"))
        if counts is None and zip_path and os.path.isfile(zip_path):
            counts = inv.counts_of(inv.read_inventory(zip_path))
        return counts

    # -------------------------------------------------------------------- record
    def record(self):
        """Write what is new into the manifest (not in check mode); ``changed`` tells whether it was (would be)."""
        manifest_path = self.result["manifest_path"]
        wrote = ""
        if self.p["update_manifest"] and manifest_path:
            try:
                current = read_json(manifest_path) or {}
            except ValueError as exc:
                self.fail("%s is verified, but its manifest could not be updated: %s." % (self.path, exc))
            update = {}
            if rank(self.level) > rank(current.get("verified_level")):
                update["verified_level"] = self.level
            if self.level == "inventory" and (current.get("inventory") != self.result["inventory"] or
                                              current.get("inventory_status") != self.result["inventory_status"]):
                update.update(inventory=self.result["inventory"], inventory_status=self.result["inventory_status"])
            if update:
                current.update(update)
                current["verified_at"] = iso(self.now())
                self.result["changed"] = True
                if self.p["check_mode"]:
                    wrote = " Check mode: would record %s in the manifest." % ", ".join(sorted(update))
                else:
                    try:
                        write_atomic(manifest_path, json.dumps(current, indent=2, sort_keys=True) + "\n")
                    except (OSError, IOError) as exc:
                        self.result["changed"] = False
                        self.fail("%s is verified, but its manifest %s could not be updated: %s." % (
                            self.path, manifest_path, exc.strerror or exc))
                    wrote = " Recorded %s in the manifest." % ", ".join(sorted(update))
            else:
                wrote = " The manifest already records this."
        notes = ("; " + "; ".join(self.notes)) if self.notes else ""
        self.result["msg"] = "Verified %s at level %s: %s%s.%s" % (
            self.path, self.level, "; ".join(self.done), notes, wrote)


def run(module, params):
    return Verification(params, module.warn).run()


def main():
    run_module(ARGUMENT_SPEC, run, "verify the backup", connection="local", prepare=prepare,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
