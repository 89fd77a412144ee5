#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_import
short_description: Restore one page (with its children and attachments) or one space from a confluence_export folder
version_added: 0.4.0
description:
  - Puts content of an export that M(atlassian_ops.backup.confluence_export) wrote back into a Confluence Cloud site
    through the documented REST API. It restores one page, with the pages under it (O(include_children)), or every
    page and blog post of one space (O(space)), without replacing the rest of the site.
  - Pages are recreated in the export's hierarchy, parents before children. The top page goes under
    O(target_parent_id); else under its original parent when that page is in the target space; else under the
    space's home page.
  - Idempotent. Each item is looked for in the target space by its exact title. Missing, it is created with its
    body (storage format) and labels. Present with the same body, it is left alone. Present with another body, it is
    updated to the exported body as a new version, but only when the site's version is not newer than the exported
    one, or with O(confirm). Otherwise the task fails before any write and names the pages and versions.
    Labels the page lacks are added; labels are never removed.
  - Attachments (O(include_attachments)) are uploaded when the page has none of that file name, or one of another
    size. For an attachment this module uploaded earlier, another sha256 too, which it records in the attachment's
    comment. A changed one becomes a new version of the same attachment.
  - Every file used (each item's JSON and the attachments' binaries) is checked against the size and sha256 in the
    export's C(export.json) before the first request. A changed or damaged export fails with nothing sent.
  - An export whose C(export.json) records a failed verification (C(verified) false, as
    M(atlassian_ops.backup.backup_verify) records it) is refused before the first request, with the failure it
    records. There is no option to override it. Restore from another export, or verify this one again if it was
    repaired; a verification that passes clears the record.
  - Not restored. Comments, content properties, the older versions' bodies, and the archived status (an archived
    page comes back as a current page). An existing page is not moved to the exported parent.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 and requests-toolbelt on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_site
attributes:
  check_mode:
    support: full
    details:
      - Sends only GET requests and returns the exact lists of pages it would create (RV(would_create)) and update
        (RV(would_update)) and of attachments it would upload (RV(would_upload)). A real run then does these.
  diff_mode:
    support: none
options:
  src:
    description:
      - The folder of one complete export (it holds C(export.json)), as RV(atlassian_ops.backup.confluence_export#module:path)
        returns it.
      - The zip of an export (O(atlassian_ops.backup.confluence_export#module:archive=true), or fetched back with
        M(atlassian_ops.backup.backup_fetch) and O(atlassian_ops.backup.backup_fetch#module:kind=content-export)) is
        not read as it is. Unpack it into a folder first (C(ansible.builtin.unarchive)); C(export.json) is at its top.
    type: path
    required: true
  page_id:
    description:
      - The id of the page or blog post to restore, as the export holds it (a key of C(items) in C(export.json)).
    type: str
  space:
    description:
      - The key of a space of the export; every page and blog post of it is restored.
    type: str
  include_children:
    description:
      - With O(page_id), restore every page under it in the export too.
    type: bool
    default: true
  include_attachments:
    description:
      - Upload the attachments the export holds for the restored items.
    type: bool
    default: true
  target_space:
    description:
      - The key of the space to restore into. Default, the item's own space in the export.
      - The space must exist; create it first when restoring into a new one.
    type: str
  target_parent_id:
    description:
      - The page (in the target space) to put the top restored page under.
      - Default, its original parent when the target space holds that page, else the space's home page.
    type: str
  confirm:
    description:
      - Overwrite pages whose version on the site is newer than the exported one. Without it such a page fails the
        task before anything is written.
    type: bool
    default: false
notes:
  - Uses the REST API v2 for pages and blog posts, and the v1 API for labels and attachment uploads, which v2 lacks.
  - Data Center is refused. Its space backups restore through M(atlassian_ops.backup.confluence_restore).
seealso:
  - module: atlassian_ops.backup.confluence_export
  - module: atlassian_ops.backup.backup_fetch
"""

EXAMPLES = r"""
- name: Export the space DOC (credentials from ATLASSIAN_URL, ATLASSIAN_USERNAME, ATLASSIAN_API_TOKEN)
  atlassian_ops.backup.confluence_export:
    dest: /srv/backups/confluence-export
    spaces: [DOC]
  register: export

- name: Show what a restore of the whole space would create or update
  atlassian_ops.backup.confluence_import:
    src: "{{ export.path }}"
    space: DOC
  check_mode: true
  register: preview

- name: Restore the page "Documentation Home" with the pages under it and their attachments
  atlassian_ops.backup.confluence_import:
    src: "{{ export.path }}"
    page_id: >-
      {{ (lookup('ansible.builtin.file', export.manifest_path) | from_json)['items'] | dict2items
         | selectattr('value.title', 'equalto', 'Documentation Home') | map(attribute='key') | first }}
  register: restored

- name: Say what the restore did
  ansible.builtin.debug:
    msg: >-
      {{ restored.created | length }} created, {{ restored.updated | length }} updated,
      {{ restored.unchanged | length }} unchanged, {{ restored.uploaded | length }} attachments uploaded.
"""

RETURN = r"""
created:
  description: The pages and blog posts created, parents first. C(id) is the new id on the site, C(exported_id) the
    export's.
  returned: always
  type: list
  elements: dict
  sample: [{id: "98305000031", exported_id: "9830400002", type: page, title: Runbooks, parent_id: "98305000001",
            version: 1, labels: [howto]}]
updated:
  description: The pages and blog posts changed. C(changes) holds C(body) (a new version with the exported body) or
    C(labels) (labels added), C(site_version) the version before, C(version) the version after.
  returned: always
  type: list
  elements: dict
  sample: [{id: "9830400002", exported_id: "9830400002", type: page, title: Runbooks, site_version: 4, version: 5,
            changes: [body]}]
unchanged:
  description: The items the site already holds as exported.
  returned: always
  type: list
  elements: dict
  sample: [{id: "9830400003", exported_id: "9830400003", type: page, title: Release notes}]
uploaded:
  description: The attachments uploaded. C(new_version) is true when an attachment of that name got a new version.
  returned: always
  type: list
  elements: dict
  sample: [{id: att983040000200, page_id: "98305000031", page_title: Runbooks, title: diagram.png, size: 20480,
            sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, new_version: false}]
would_create:
  description: In check mode, what a run would create (as RV(created), with no C(id) yet; C(parent_id) names an
    exported id as C((restored) <id>) when the parent is created by the same run).
  returned: in check mode
  type: list
  elements: dict
  sample: [{id: null, exported_id: "9830400002", type: page, title: Runbooks, parent_id: "98305000001",
            labels: [howto]}]
would_update:
  description: In check mode, what a run would update (as RV(updated)).
  returned: in check mode
  type: list
  elements: dict
  sample: [{id: "9830400002", exported_id: "9830400002", type: page, title: Runbooks, site_version: 3, version: 3,
            changes: [body]}]
would_upload:
  description: In check mode, the attachments a run would upload (as RV(uploaded); C(page_id) null for a page it
    would create).
  returned: in check mode
  type: list
  elements: dict
  sample: [{id: null, page_id: null, page_title: Runbooks, title: diagram.png, size: 20480,
            sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, new_version: false}]
mapping:
  description: The exported id of every restored item and its id on the site (null in check mode for an item it
    would create).
  returned: always
  type: dict
  sample: {"9830400002": "98305000031"}
target_space:
  description: The key of the space restored into.
  returned: always
  type: str
  sample: DOC
requests:
  description: How many HTTP requests the run sent to the site (retries not counted).
  returned: always
  type: int
  sample: 14
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
changed:
  description: Whether anything was (in check mode, would be) created, updated or uploaded.
  returned: always
  type: bool
  sample: true
msg:
  description: What was done, in words.
  returned: always
  type: str
  sample: Restored 3 items of confluence-export-example.atlassian.net-20261203T020304Z into the space DOC
    (3 created, 0 updated, 0 unchanged, 2 attachments uploaded) with 14 requests.
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import valid_space_key
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.restore import ConfluenceImport

ARGUMENT_SPEC = dict(
    src=dict(type="path", required=True),
    page_id=dict(type="str"),
    space=dict(type="str"),
    include_children=dict(type="bool", default=True),
    include_attachments=dict(type="bool", default=True),
    target_space=dict(type="str"),
    target_parent_id=dict(type="str"),
    confirm=dict(type="bool", default=False),
)


def prepare(module, params):
    if module.datacenter:
        module.fail_json(msg="confluence_import writes through the Confluence Cloud REST API v2, which Data Center "
                             "does not have: restore Data Center spaces with confluence_restore.")
    for name in ("space", "target_space"):
        if params.get(name) is not None and not valid_space_key(params[name]):
            module.fail_json(msg="%s %r is not a space key." % (name, params[name]))
    if params.get("target_parent_id") is not None and not str(params["target_parent_id"]).isdigit():
        module.fail_json(msg="target_parent_id %r is not a page id (a number)." % params["target_parent_id"])


def run(module, params):
    return ConfluenceImport(params, module.client(), module.warn).run()


def main():
    run_module(ARGUMENT_SPEC, run, "restore content from the export", prepare=prepare, supports_check_mode=True,
               required_one_of=[("page_id", "space")], mutually_exclusive=[("page_id", "space")])


if __name__ == "__main__":
    main()
