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
  - Runs before a backup, so that a backup that cannot be stored fails before the service is asked for it.
  - Creates the folder (mode 0750) when it is missing, then writes, flushes and deletes a small probe file in it.
    Permission bits are not trusted, because C(root) ignores them and a read-only mount does not show in them.
  - Finds the previous backup of the target, the newest verified one of the series selected by O(product),
    O(site), O(scope) and O(space_keys), read from the manifests exactly as M(atlassian_ops.backup.backup_prune)
    reads them, and requires free space of at least O(space_factor) times its size, and at least O(min_free).
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
      - A missing folder is not created; it is reported (RV(exists=false)), and the free space and the probe
        write are checked in its nearest existing parent.
  diff_mode:
    support: none
options:
  path:
    description: The target's backup folder, on the host that runs the module.
    type: path
    required: true
  product:
    description: The product of the backups, the first word of their file names, for example V(confluence) or V(snapshots).
    type: str
    required: true
  site:
    description:
      - The site label or URL of the target, as for M(atlassian_ops.backup.backup_prune). When left out, the
        newest verified backup of any site of O(product) in O(path) counts as the previous one.
    type: str
  scope:
    description: Only backups of this scope count. A manifest without a scope (Confluence Cloud, Snapshots) counts as V(site).
    type: str
    choices: [site, space]
  space_keys:
    description: Only backups of exactly these spaces count.
    type: list
    elements: str
  space_factor:
    description: The free space needed, as a multiple of the previous backup's size.
    type: float
    default: 2.0
  min_free:
    description:
      - The free space needed at least, in bytes or with a binary unit such as V(500M), V(10G) or V(1T). It is the
        requirement when there is no previous backup.
    type: str
    default: "0"
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
"""

RETURN = r"""
folder:
  description: The folder checked.
  returned: always
  type: str
  sample: /var/backups/confluence
exists:
  description: Whether the folder existed before the run.
  returned: always
  type: bool
  sample: true
created:
  description: Whether the run created the folder (never in check mode).
  returned: always
  type: bool
  sample: false
writable:
  description: Whether a probe file could be written there (in check mode with a missing folder, in its nearest existing parent).
  returned: always
  type: bool
  sample: true
free_bytes:
  description: The free space available to the user running the module, in bytes.
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
      description: Its size in bytes.
      type: int
      sample: 3145851
    backup_time:
      description: Its backup time (UTC), from its manifest.
      type: str
      sample: "2026-11-21T02:00:00Z"
previous_bytes:
  description: The previous backup's size, or null.
  returned: always
  type: int
  sample: 3145851
required_bytes:
  description: The free space required, the larger of O(space_factor) times RV(previous_bytes) and O(min_free).
  returned: always
  type: int
  sample: 6291702
msg:
  description: What was checked, in one sentence, or on failure what is wrong and what to do.
  returned: always
  type: str
  sample: "Ready for the next backup in /var/backups/confluence: folder /var/backups/confluence exists; ..."
checks:
  description: What was checked and passed, one line each.
  returned: always
  type: list
  elements: str
  sample: ["folder /var/backups/confluence exists", "a file was written and deleted there",
           "110.0 GiB free, 6.0 MiB needed (2.0 x the previous backup of 3.0 MiB)"]
"""

import os
import stat

from ansible_collections.atlassian_ops.backup.plugins.module_utils import _preflight
from ansible_collections.atlassian_ops.backup.plugins.module_utils._module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils._store import site_label

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    product=dict(type="str", required=True),
    site=dict(type="str"),
    scope=dict(type="str", choices=["site", "space"]),
    space_keys=dict(type="list", elements="str", no_log=False),
    space_factor=dict(type="float", default=2.0),
    min_free=dict(type="str", default="0"),
)


def run(module, params):
    folder = os.path.abspath(params["path"])
    result = dict(changed=False, folder=folder, exists=os.path.exists(folder), created=False, writable=False,
                  free_bytes=None, previous=None, previous_bytes=None, required_bytes=None, checks=[])
    if params["space_factor"] < 0:
        module.fail_json(msg="space_factor must be 0 or more (got %s)." % params["space_factor"], **result)
    try:
        min_free = _preflight.parse_size(params["min_free"])
    except ValueError as exc:
        module.fail_json(msg="min_free: %s." % exc, **result)
    if result["exists"] and not os.path.isdir(folder):
        module.fail_json(msg="%s is not a folder (it is a %s). Point path at a folder for the backups." % (
            folder, "file" if stat.S_ISREG(os.stat(folder).st_mode) else "special file"), **result)
    where = folder
    if not result["exists"]:
        if module.check_mode:
            where = _preflight.nearest_existing(folder)
            result["checks"].append("check mode: folder %s is missing and would be created" % folder)
            if not os.path.isdir(where):
                module.fail_json(msg="%s cannot be created: %s is not a folder." % (folder, where), **result)
        else:
            try:
                os.makedirs(folder, 0o750)
            except OSError as exc:
                module.fail_json(msg="Cannot create the backup folder %s (%s). Create it, or choose another path, "
                                     "writable by the user running the backup." % (folder, exc.strerror or exc),
                                 **result)
            result.update(created=True, changed=True)
            result["checks"].append("folder %s created" % folder)
    else:
        result["checks"].append("folder %s exists" % folder)
    problem = _preflight.probe_write(where)
    if problem:
        module.fail_json(msg="The backup folder %s is not writable: %s. Make it writable by the user running the "
                             "backup (and check that its file system is not mounted read-only)." % (where, problem),
                         **result)
    result["writable"] = True
    result["checks"].append("a file was written and deleted in %s" % where)

    label = params.get("site")
    if label and "://" in label:
        label = site_label(label)
    selection = dict(scope=params.get("scope"), space_keys=params.get("space_keys"))
    previous = _preflight.previous_backup(folder, params["product"], label.lower() if label else None, selection)
    free = _preflight.free_bytes(where)
    result["free_bytes"] = free
    required = min_free
    why = "at least %s (min_free)" % _preflight.human(min_free)
    if previous:
        result["previous"] = dict(path=previous[0], size=previous[1], backup_time=previous[2])
        result["previous_bytes"] = previous[1]
        by_factor = int(params["space_factor"] * previous[1])
        if by_factor >= required:
            required = by_factor
            why = "%s x the previous backup of %s" % (params["space_factor"], _preflight.human(previous[1]))
    result["required_bytes"] = required
    if free < required:
        module.fail_json(msg="Not enough free space for the next backup in %s: %s (%d bytes) free, %s (%d bytes) "
                             "needed, %s%s. Free some space (or move the folder to a larger disk), or lower "
                             "space_factor or min_free if backups of this target have shrunk." % (
                                 where, _preflight.human(free), free, _preflight.human(required), required, why,
                                 "; previous backup %s" % previous[0] if previous else ""), **result)
    result["checks"].append("%s free, %s needed (%s)" % (_preflight.human(free), _preflight.human(required), why))
    result["msg"] = "Ready for the next backup in %s: %s." % (folder, "; ".join(result["checks"]))
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "check the backup folder", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
