#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_preflight
short_description: Check that a backup folder is writable and has room for the next backup of a target
version_added: 0.3.0
description:
  - Runs before a backup, so that a backup that cannot be stored fails before the service is asked for it. It
    checks, in this order, the folder, that a file can be written there, the previous backup, and the free space.
  - Creates the folder (mode 0700, like every folder the collection creates, and its missing parents) when it is missing. A O(path) that is a file, or under
    a file, is refused.
  - Writes, flushes and deletes a small probe file (C(.preflight-*)) in the folder. Permission bits are not
    trusted, because C(root) ignores them and a read-only mount does not show in them. Nothing else is written.
  - The previous backup is the newest verified backup (by the backup time of its manifest) of the series selected
    by O(product), O(site), O(scope) and O(space_keys), read from the manifests exactly as
    M(atlassian_ops.backup.backup_prune) reads and selects them. Its size is the one its manifest records.
  - The free space (for an unprivileged user, as C(df) shows it) must be at least O(space_factor) times the size
    of the previous backup, and at least O(min_free). With no previous backup, O(min_free) alone is required.
  - Credentials are not checked. The module talks to no service; it reads files on the host that runs it (usually
    C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - A missing folder is not created. It is reported (RV(exists=false), RV(created=false), and the task shows a
        change), and the probe write and the free space are checked in its nearest existing parent instead.
      - The probe file is written and deleted in check mode too.
  diff_mode:
    support: none
options:
  path:
    description:
      - The target's backup folder, on the host that runs the module. Created when missing (not in check mode).
    type: path
    required: true
  product:
    description:
      - The product of the backups, the first word of their file names, for example V(confluence) or
        V(snapshots), as for M(atlassian_ops.backup.backup_prune).
    type: str
    required: true
  site:
    description:
      - The site label or URL of the target, as for M(atlassian_ops.backup.backup_prune), for example
        V(example.atlassian.net) or V(https://example.atlassian.net).
      - When left out, the newest verified backup of any site of O(product) in O(path) (of the selected scope and
        spaces) counts as the previous one.
    type: str
  scope:
    description:
      - Only backups of this scope count. A manifest without a scope (Confluence Cloud, Snapshots) counts as V(site).
    type: str
    choices: [site, space]
  space_keys:
    description:
      - Only backups of exactly these spaces (in any order) count. The space selection of a Snapshots export counts
        as its space keys.
    type: list
    elements: str
  space_factor:
    description:
      - The free space needed, as a multiple of the previous backup's size. V(0) checks only O(min_free).
    type: float
    default: 2.0
  min_free:
    description:
      - The free space needed at least, whatever the previous backup. A number of bytes, or a number with a binary
        unit, V(K), V(M), V(G) or V(T) (V(KiB) and V(KB) mean the same as V(K)), such as V(500M) or V(10G).
      - It is the whole requirement when there is no previous backup, and it wins when it is larger than
        O(space_factor) times the previous backup. When left out, there is no floor.
    type: raw
"""

EXAMPLES = r"""
- name: Tonight's backup, only when it has a place to go
  block:
    - name: Check the folder and its free space (twice the previous backup, and at least 100 MiB)
      atlassian_ops.backup.backup_preflight:
        path: /srv/backups/confluence
        product: confluence
        site: https://example.atlassian.net
        space_factor: 2
        min_free: 100M
      register: preflight

    - name: Take or reuse the backup
      atlassian_ops.backup.confluence_backup:
        url: https://example.atlassian.net
        dest: /srv/backups/confluence
        max_age: 20h

    - name: Show the room there was
      ansible.builtin.debug:
        msg: "{{ preflight.free_bytes | human_readable }} free, {{ preflight.required_bytes | human_readable }} needed"

- name: The space backups of DOC and TEAM of a Data Center server need three times the last one, and 1 GiB at least
  atlassian_ops.backup.backup_preflight:
    path: /srv/backups/confluence-dc
    product: confluence
    site: wiki.example.com
    scope: space
    space_keys: [DOC, TEAM]
    space_factor: 3
    min_free: 1G
"""

RETURN = r"""
path:
  description: The folder checked (absolute).
  returned: always
  type: str
  sample: /var/backups/confluence
exists:
  description: Whether O(path) existed before the run.
  returned: always
  type: bool
  sample: true
created:
  description: Whether the run created the folder (never in check mode).
  returned: always
  type: bool
  sample: false
writable:
  description:
    - Whether a probe file could be written, flushed and deleted there (in check mode with a missing folder, in
      its nearest existing parent).
  returned: always
  type: bool
  sample: true
free_bytes:
  description:
    - The free space available to an unprivileged user there, in bytes. Null when the run failed before it was
      measured.
  returned: always
  type: int
  sample: 118111600640
previous:
  description: The newest verified backup of the target, or null when it has none.
  returned: always
  type: dict
  sample: {"path": "/var/backups/confluence/confluence-example.atlassian.net-20261121T020000Z.zip",
           "size": 3145851, "backup_time": "2026-11-21T02:00:00Z"}
  contains:
    path:
      description: Its zip file.
      type: str
      sample: /var/backups/confluence/confluence-example.atlassian.net-20261121T020000Z.zip
    size:
      description: Its size in bytes, as its manifest records it.
      type: int
      sample: 3145851
    backup_time:
      description: Its backup time (UTC), from its manifest.
      type: str
      sample: "2026-11-21T02:00:00Z"
previous_bytes:
  description: The previous backup's size in bytes, or null when there is none.
  returned: always
  type: int
  sample: 3145851
required_bytes:
  description:
    - The free space required, in bytes, the larger of O(space_factor) times RV(previous_bytes) (rounded up) and
      O(min_free). Null when the run failed before it was computed.
  returned: always
  type: int
  sample: 6291702
checks:
  description: What was checked and passed, one line each, in order.
  returned: always
  type: list
  elements: str
  sample: ["folder /var/backups/confluence exists", "a file was written, flushed and deleted in /var/backups/confluence",
           "previous backup /var/backups/confluence/confluence-example.atlassian.net-20261121T020000Z.zip of
           2026-11-21T02:00:00Z, 3.0 MiB (3145851 bytes)",
           "110.0 GiB (118111600640 bytes) free, 6.0 MiB (6291702 bytes) needed (space_factor 2 x the previous backup
           of 3.0 MiB (3145851 bytes))"]
msg:
  description: The checks that passed, in one sentence, or on failure what is wrong and what to do.
  returned: always
  type: str
  sample: "Ready for the next backup in /var/backups/confluence: folder /var/backups/confluence exists; ..."
"""

import math
import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import preflight as _preflight
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import check_product, target_label
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import FOLDER_MODE, run_module

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    product=dict(type="str", required=True),
    site=dict(type="str"),
    scope=dict(type="str", choices=["site", "space"]),
    space_keys=dict(type="list", elements="str", no_log=False),
    space_factor=dict(type="float", default=2.0),
    min_free=dict(type="raw"),
)


def options(module, params):
    """The checked options: (site label or None, min_free in bytes). Fails on anything unusable, before any check."""
    problem = check_product(params["product"])
    if problem:
        module.fail_json(msg=problem)
    factor = params["space_factor"]
    if math.isnan(factor) or math.isinf(factor) or factor < 0:
        module.fail_json(msg="space_factor must be a number of 0 or more, such as 2 for twice the previous backup "
                             "(got %s)." % factor)
    label, min_free = None, 0
    try:
        label = target_label(params.get("site"))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if params.get("min_free") not in (None, ""):
        try:
            min_free = _preflight.parse_size(params["min_free"])
        except ValueError as exc:
            module.fail_json(msg="min_free: %s." % exc)
    return label, min_free


def run(module, params):
    # Ansible adds the stats of the file named by ``path`` to a result that has one (owner, mode, state, size, ...);
    # ``size`` would then be the folder's next to the backup sizes in it. The result goes without them.
    module.add_path_info = lambda kwargs: kwargs
    label, min_free = options(module, params)
    folder = os.path.abspath(params["path"])
    exists = os.path.lexists(folder)
    result = dict(changed=False, path=folder, exists=exists, created=False, writable=False, free_bytes=None,
                  previous=None, previous_bytes=None, required_bytes=None, checks=[])
    checks = result["checks"]
    if exists and not os.path.isdir(folder):
        module.fail_json(msg="path %s is not a folder, it is %s. Point path at the target's backup folder (or move "
                             "that away)." % (folder, _preflight.kind(folder)), **result)
    where = folder
    if not exists:
        parent = _preflight.nearest_existing(folder)
        if not os.path.isdir(parent):
            module.fail_json(msg="Cannot create the backup folder %s: %s is %s, not a folder. Choose another path "
                                 "(or move that away)." % (folder, parent, _preflight.kind(parent)), **result)
        if module.check_mode:
            where = parent
            result["changed"] = True
            checks.append("check mode: folder %s is missing; it would be created (and %s is checked instead)" % (
                folder, parent))
        else:
            try:
                os.makedirs(folder, FOLDER_MODE)
            except OSError as exc:
                if not os.path.isdir(folder):  # else another process made it meanwhile
                    module.fail_json(msg="Cannot create the backup folder %s (%s). Create it, or choose another path, "
                                         "writable by the user running the backup." % (folder, exc.strerror or exc),
                                     **result)
            else:
                os.chmod(folder, FOLDER_MODE)  # exactly 0700, whatever the umask
                result.update(created=True, changed=True)
                checks.append("folder %s created (mode 0700)" % folder)
    if not checks:
        checks.append("folder %s exists" % folder)

    problem = _preflight.probe_write(where)
    if problem:
        module.fail_json(msg="The backup folder %s is not writable: %s." % (
            folder if where == folder else "%s (its nearest existing parent %s)" % (folder, where), problem), **result)
    result["writable"] = True
    checks.append("a file was written, flushed and deleted in %s" % where)

    selection = dict(scope=params.get("scope"), space_keys=params.get("space_keys"))
    previous = None
    try:
        previous = _preflight.previous_backup(folder, params["product"], label, selection)
    except OSError as exc:
        module.fail_json(msg="Cannot read the backups and manifests in %s (%s). Make the folder readable by the user "
                             "running the backup." % (folder, exc.strerror or exc), **result)
    if previous:
        result.update(previous=previous, previous_bytes=previous["size"])
        checks.append("previous backup %s of %s, %s" % (previous["path"], previous["backup_time"],
                                                        _preflight.figure(previous["size"])))
    else:
        checks.append("no previous verified backup of the target in %s" % folder)

    room = _preflight.room(where, previous, params["space_factor"], min_free)
    result.update(free_bytes=room["free_bytes"], required_bytes=room["required_bytes"])
    if room["problem"]:
        module.fail_json(msg=room["problem"], **result)
    checks.append(room["line"])
    result["msg"] = "Ready for the next backup in %s: %s." % (folder, "; ".join(checks))
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "check the backup folder", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
