#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_export
short_description: Export the spaces of a Confluence Cloud site item by item through the documented REST API v2
version_added: 0.4.0
description:
  - Exports pages and blog posts (current and archived), with their bodies in storage format, labels, properties,
    footer and inline comments, the metadata of their versions and attachments, and the attachments' binaries.
    It uses the documented Confluence Cloud REST API v2 only (C(/wiki/api/v2/...)), not the backup manager's
    unsupported endpoints that M(atlassian_ops.backup.confluence_backup) drives. It keeps working the day those
    close, as Jira's did in 2026.
  - Each run writes one folder, C(confluence-export-<site>-<UTC time>), in O(dest), in an open layout. It holds JSON
    per item, the attachments' binaries, and the manifest C(export.json) with the counts and every file's size and
    sha256. A person or another tool can read it without this collection; C(docs/confluence_export.md) describes it.
  - Incremental. A later run of the same selection (the same site, and the same spaces or all of them) fetches only
    the pages and blog posts whose version changed since the previous complete export. The others are hard-linked
    from it (copied where the file system cannot link), so each folder is a whole export. Items no longer listed
    are recorded in the manifest's C(deleted), and the previous folders keep them.
  - An attachment added to a page without a new version of the page is exported when the page next changes, or by
    a run with O(full). The API offers no cheap list of a site's attachments changed since a time.
  - Resumable. A run that stops (killed, or after the retries of a failing request) leaves its folder without
    C(export.json). The next run of the same selection continues in it, and nothing already written is fetched
    again. The manifest is written last.
  - Polite. Requests run on O(workers) threads, each with its own connection, and at most
    O(max_requests_per_second) together (kept 5% under it). A C(429) or C(503) answer is retried after its
    C(Retry-After), and it slows the pace, which then grows back. Without O(max_requests_per_second), a C(429)
    sets the pace to what the site let through in the second before, and the pace then probes upwards slowly.
  - Memory does not grow with the site but for the list of its item ids and, in an incremental run, the previous
    export's manifest. Items and files are journaled on disk, and the manifest is streamed from there.
  - Attachments go through the collection's download engine, with resume, sha256 on the way, and an atomic rename.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_site
attributes:
  check_mode:
    support: full
    details:
      - Lists the spaces, pages and blog posts (read-only requests) and says how many items would be fetched,
        reused from the previous export, and recorded as deleted. Nothing is written.
  diff_mode:
    support: none
options:
  dest:
    description:
      - The folder that holds the exports, one folder per run. It is created (mode 0700) when missing.
    type: path
    required: true
  spaces:
    description:
      - The keys of the spaces to export. Not given (the default), every space the account can see, and the same
        for V(all).
      - A key the site does not hold fails the task before anything is written.
    type: list
    elements: str
  spaces_csv:
    description:
      - A one-column CSV file of space keys (a header line such as C(space key) is skipped), instead of O(spaces).
    type: path
  include_attachments:
    description:
      - Download the attachments' binaries. Their metadata is exported either way.
    type: bool
    default: true
  full:
    description:
      - Fetch everything again, as if there were no previous export. The previous folders are left as they are.
    type: bool
    default: false
  workers:
    description:
      - How many items are exported at once, each on its own connection. Between 1 and 32.
    type: int
    default: 8
  max_requests_per_second:
    description:
      - At most this many requests per second, all workers together. Not set, no limit but the site's own (its
        C(429) answers are honoured either way).
    type: float
  archive:
    description:
      - Also write the complete export as one zip beside its folder, C(confluence-<site>-content-export-<UTC
        time>.zip), with the collection's manifest (C(.json), C(kind=content-export)) and C(.sha256) file. The
        zip's members are the folder's files, stored (not compressed), and C(export.json) at the top.
      - M(atlassian_ops.backup.backup_verify) (up to V(inventory)), M(atlassian_ops.backup.backup_prune),
        M(atlassian_ops.backup.backup_offsite) and M(atlassian_ops.backup.backup_metrics) then work on the zip as on
        any backup. Content exports form a retention series of their own, never mixed with site backups of the same
        site, and M(atlassian_ops.backup.confluence_backup) never reuses one under C(max_age).
      - The zip is not a site backup. M(atlassian_ops.backup.confluence_restore) refuses it,
        M(atlassian_ops.backup.backup_fetch) brings it back only with
        O(atlassian_ops.backup.backup_fetch#module:kind=content-export), and the role
        P(atlassian_ops.backup.restore_drill#role) never drills it. Its pages and spaces are restored with
        M(atlassian_ops.backup.confluence_import), from the zip unpacked into a folder.
      - Once the zip is written, the older complete export folders of the same selection are removed, except the
        newest of them whose C(export.json) records no failed verification. The next run builds on the new folder,
        or on that one if the new export fails its verification. The older zips stay, for
        M(atlassian_ops.backup.backup_prune) to rotate.
      - The role P(atlassian_ops.backup.scheduled_backup#role) sets it for its V(confluence_export) targets.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Export every space of the site (credentials from ATLASSIAN_URL, ATLASSIAN_USERNAME, ATLASSIAN_API_TOKEN)
  atlassian_ops.backup.confluence_export:
    dest: /srv/backups/confluence-export
    max_requests_per_second: 20
  register: export

- name: Say what the run did
  ansible.builtin.debug:
    msg: >-
      {{ export.path }}: {{ export.counts.pages }} pages, {{ export.counts.blogposts }} blog posts,
      {{ export.fetched.pages }} pages fetched, {{ export.reused.pages }} unchanged, {{ export.deleted | length }}
      deleted since the previous export, {{ export.requests }} requests.

- name: Export every space and zip the export, then verify the zip down to its content
  atlassian_ops.backup.confluence_export:
    dest: /srv/backups/confluence-export
    archive: true
  register: zipped

- name: Verify the zip (every file's sha256 against export.json, the counts against the previous export)
  atlassian_ops.backup.backup_verify:
    path: "{{ zipped.archive_path }}"
    level: inventory

- name: Export two spaces only
  atlassian_ops.backup.confluence_export:
    dest: /srv/backups/confluence-export
    spaces: [DOC, TEAM]
    include_attachments: false
"""

RETURN = r"""
path:
  description: The folder of this export.
  returned: success, except in check mode
  type: str
  sample: /srv/backups/confluence-export/confluence-export-example.atlassian.net-20261203T020304Z
manifest_path:
  description: Its manifest, C(export.json).
  returned: success, except in check mode
  type: str
  sample: /srv/backups/confluence-export/confluence-export-example.atlassian.net-20261203T020304Z/export.json
archive_path:
  description:
    - With O(archive), the zip of this export, beside its folder; its manifest is beside it (C(.json)), and its
      C(.sha256) file. Null without O(archive) and in check mode.
  returned: always
  type: str
  sample: /srv/backups/confluence-export/confluence-example.atlassian.net-content-export-20261203T020304Z.zip
archive_manifest_path:
  description: With O(archive), the zip's manifest. Null otherwise.
  returned: always
  type: str
  sample: /srv/backups/confluence-export/confluence-example.atlassian.net-content-export-20261203T020304Z.json
archive_size:
  description: With O(archive), the zip's size in bytes. Null otherwise.
  returned: always
  type: int
  sample: 7412301824
removed:
  description:
    - With O(archive), the older export folders of the same selection that this run removed once its zip was
      written (their zips stay). Empty otherwise.
  returned: always
  type: list
  elements: str
  sample: [/srv/backups/confluence-export/confluence-export-example.atlassian.net-20261201T020304Z]
previous:
  description: The previous complete export of the same selection that unchanged items were taken from, or null.
  returned: always
  type: str
  sample: /srv/backups/confluence-export/confluence-export-example.atlassian.net-20261202T020304Z
resumed:
  description: Whether this run continued an export a stopped run had left unfinished.
  returned: always
  type: bool
  sample: false
counts:
  description: What the export holds. C(spaces), C(pages), C(blogposts), C(attachments), C(attachment_bytes).
  returned: always
  type: dict
  sample: {spaces: 12, pages: 10000, blogposts: 230, attachments: 2000, attachment_bytes: 7340032000}
fetched:
  description: What this run fetched from the site. C(pages), C(blogposts), C(attachments), C(attachment_bytes).
  returned: always
  type: dict
  sample: {pages: 100, blogposts: 2, attachments: 14, attachment_bytes: 52428800}
reused:
  description: What was unchanged and taken from the previous export. C(pages), C(blogposts), C(attachments).
  returned: always
  type: dict
  sample: {pages: 9900, blogposts: 228, attachments: 1986}
deleted:
  description: The pages and blog posts the previous export held that the site no longer lists (trashed, purged,
    or moved out of the selection), with the folder of the last export that holds them.
  returned: always
  type: list
  elements: dict
  sample: [{id: "1002", type: page, title: Old notes, space_key: DOC, version: 4,
            last_exported_in: confluence-export-example.atlassian.net-20261202T020304Z}]
requests:
  description: How many HTTP requests the run sent to the site (retries not counted).
  returned: always
  type: int
  sample: 812
rate_limited:
  description: How many times C(429) or C(503) answers slowed the run down; the refusals of one burst (within a
    second of each other, when every worker is refused at once) count once.
  returned: always
  type: int
  sample: 0
seconds:
  description: How long the export took.
  returned: success, except in check mode
  type: float
  sample: 95.2
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
size:
  description: The size of the folder entry at RV(path) (added by Ansible to every result that has a C(path)).
  returned: when RV(path) exists
  type: int
  sample: 4096
mode:
  description: Permissions of the folder at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: "0700"
owner:
  description: Owner of the folder at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
group:
  description: Group of the folder at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: backup
uid:
  description: Numeric owner of the folder at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
gid:
  description: Numeric group of the folder at RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: int
  sample: 1001
state:
  description: V(directory), the type of RV(path) (added by Ansible).
  returned: when RV(path) exists
  type: str
  sample: directory
changed:
  description: Whether a folder was (in check mode, would be) written.
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: Exported 10230 items (102 to fetch, 10128 unchanged since the previous export, 1 deleted since) into
    /srv/backups/confluence-export/confluence-export-example.atlassian.net-20261203T020304Z with 812 requests.
"""

import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import read_space_csv, valid_space_key
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import check_dest, run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.archive import archive_export, remove_older
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.run import ConfluenceExport
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import site_label

ARGUMENT_SPEC = dict(
    dest=dict(type="path", required=True),
    spaces=dict(type="list", elements="str"),
    spaces_csv=dict(type="path"),
    include_attachments=dict(type="bool", default=True),
    full=dict(type="bool", default=False),
    workers=dict(type="int", default=8),
    max_requests_per_second=dict(type="float"),
    archive=dict(type="bool", default=False),
)


def prepare(module, params):
    if module.datacenter:
        module.fail_json(msg="confluence_export reads the Confluence Cloud REST API v2, which Data Center does not "
                             "have: use confluence_backup (site or space backups) for Data Center.")
    if not 1 <= params["workers"] <= 32:
        module.fail_json(msg="workers must be between 1 and 32 (got %d)." % params["workers"])
    if params.get("max_requests_per_second") is not None and params["max_requests_per_second"] <= 0:
        module.fail_json(msg="max_requests_per_second must be above 0 (got %s)." % params["max_requests_per_second"])
    spaces = params.get("spaces")
    if spaces is not None and params.get("spaces_csv"):
        module.fail_json(msg="Give spaces or spaces_csv, not both.")
    if params.get("spaces_csv"):
        try:
            spaces = read_space_csv(params["spaces_csv"])
        except TaskFailed as exc:
            module.fail_json(msg=exc.msg)
    if spaces is not None and [key for key in spaces if key.lower() == "all"] and len(spaces) == 1:
        spaces = None
    bad = [key for key in spaces or [] if not valid_space_key(key)]
    if bad:
        module.fail_json(msg="spaces holds %s, which %s not a space key." % (
            ", ".join(repr(key) for key in bad[:5]), "is" if len(bad) == 1 else "are"))
    params["spaces"] = sorted(set(spaces)) if spaces else None
    check_dest(module, params["dest"])


def run(module, params):
    label = site_label(params["url"])
    result = ConfluenceExport(params, module.client(), label, module.warn).run()
    result.update(archive_path=None, archive_manifest_path=None, archive_size=None, removed=[])
    if not params["archive"]:
        return result
    if params["check_mode"]:
        result["msg"] += " With archive, the export would then be zipped beside its folder."
        return result
    try:
        zipped = archive_export(result["path"], label, params, result.get("seconds"), result.get("counts"))
        removed = remove_older(params["dest"], label, layout.selection_of(params.get("spaces")),
                               os.path.basename(result["path"]))
    except (OSError, IOError) as exc:
        raise TaskFailed("The export %s is complete, but it could not be zipped (%s). Free space or fix the "
                         "folder's permissions, then run the task again: the next run builds a new export on this one "
                         "(unchanged items linked, not fetched) and zips that." % (result["path"], getattr(exc, "strerror", None) or exc),
                         **dict((key, value) for key, value in result.items() if key != "msg"))
    result.update(archive_path=zipped["path"], archive_manifest_path=zipped["manifest_path"],
                  archive_size=zipped["size"], removed=removed)
    result["msg"] += " Zipped into %s (%d bytes, %d members)%s." % (
        zipped["path"], zipped["size"], zipped["members"],
        "; removed %d older export folder%s" % (len(removed), "" if len(removed) == 1 else "s") if removed else "")
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "export the site's content", prepare=prepare, supports_check_mode=True)


if __name__ == "__main__":
    main()
