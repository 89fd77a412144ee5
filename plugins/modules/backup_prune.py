#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_prune
short_description: Delete old local backups by a grandfather-father-son rule, decided from their manifests
version_added: 0.3.0
description:
  - Keeps a history of the backups in a local folder (the O(path) the other modules of this collection download
    to). It keeps daily, weekly, monthly and yearly copies and deletes the rest, like C(restic forget) or
    C(borg prune).
  - The decision is taken from the backups' JSON manifests only, never from file names or file times. Only
    manifests of format 1 (the collection's) are read.
  - Each target is pruned on its own, as one series. A target is a site label, a scope (V(site) or V(space)) and
    a sorted set of space keys. A site backup and a backup of spaces C(DOC) and C(TEAM) of the same site are two
    series. The space selection of a Snapshots export counts as its space keys. A content export (the zip of
    M(atlassian_ops.backup.confluence_export)) is a series of its own, apart from the site backups of the same site.
  - Only verified backups take part. A backup counts as verified when its zip is there with the size its
    manifest records, and when its C(.sha256) file, if there is one, holds the manifest's sha256. The module
    does not read the zip itself.
  - A backup that is not verified is neither kept by a rule nor deleted. It is left alone and reported in
    RV(unverified). The same goes for a manifest with no backup time or one that names another file. Nothing
    that the module cannot account for is deleted. Zip files of the product with no manifest (a download still
    running, or a file copied in by hand), encrypted copies (C(.zip.age)) that no manifest records, and C(.part)
    files are left alone and reported in RV(unaccounted).
  - What is kept is the union of these rules.
  - The newest verified backup of each series is always kept.
  - The O(keep_last) newest verified backups are kept.
  - For O(keep_daily), O(keep_weekly), O(keep_monthly) and O(keep_yearly), the verified backups are walked newest
    first. The newest backup of each distinct period is kept until the count of that kind is reached. Periods
    are UTC days, ISO 8601 weeks (Monday to Sunday), months and years. Periods without a backup use up no slot.
  - Every other verified backup is deleted. The zip goes first, then its C(.sha256) file, then the encrypted copy
    that M(atlassian_ops.backup.backup_encrypt) recorded in the manifest beside them (C(.zip.age) and its
    C(.sha256)), then its manifest. An
    interrupted run therefore leaves at worst a manifest without its zip (reported in RV(unverified) next time),
    never a zip nobody accounts for.
  - At least one of O(keep_daily), O(keep_weekly), O(keep_monthly) and O(keep_yearly) must be above 0. The module
    refuses to run otherwise, because a rule that keeps only the newest backup is never a default.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Takes the same decision and returns the exact list of files a real run would delete in RV(would_delete).
        Nothing is deleted.
  diff_mode:
    support: full
    details:
      - The zip files of the pruned series before and after the run (in check mode, after a real run).
options:
  path:
    description:
      - The folder that holds the backups, on the host that runs the module (usually C(localhost)). It must exist.
    type: path
    required: true
  product:
    description:
      - The product of the backups, the first word of their file names, for example V(confluence) or V(snapshots).
    type: str
    required: true
  site:
    description:
      - The site label, as in the file names and the manifests' C(site_label), for example
        V(example.atlassian.net), or V(wiki.example.com_8443) for a port other than 80 and 443. A URL such as
        V(https://example.atlassian.net) is turned into its label.
      - When left out, every site of O(product) in O(path) is pruned, each series on its own.
    type: str
  scope:
    description:
      - Only series of this scope. A manifest without a scope (Confluence Cloud, Snapshots) counts as V(site).
    type: str
    choices: [site, space]
  space_keys:
    description:
      - Only the series of exactly these spaces (in any order). Implies O(scope=space) for Confluence backups.
    type: list
    elements: str
  kind:
    description:
      - Only series of this kind. V(backup) is a backup the product restores itself (a site or space backup, a
        Snapshots export; its manifest records no C(kind)). V(content-export) is the zip of a
        M(atlassian_ops.backup.confluence_export) run (C(kind) C(content-export) in its manifest), restored page by
        page with M(atlassian_ops.backup.confluence_import).
      - When left out, every kind, each in series of its own. A content export and a site backup of the same site
        never share a series.
    type: str
    choices: [backup, content-export]
    version_added: 0.4.0
  keep_daily:
    description:
      - Keep the newest verified backup of each of this many most recent UTC days that have one.
    type: int
    default: 0
  keep_weekly:
    description:
      - Keep the newest verified backup of each of this many most recent ISO weeks that have one.
    type: int
    default: 0
  keep_monthly:
    description:
      - Keep the newest verified backup of each of this many most recent months that have one.
    type: int
    default: 0
  keep_yearly:
    description:
      - Keep the newest verified backup of each of this many most recent years that have one.
    type: int
    default: 0
  keep_last:
    description:
      - Keep this many newest verified backups, whatever their times. The newest verified backup is kept even
        with V(0).
    type: int
    default: 1
  objects:
    description:
      - Decide for a copy of the folder kept elsewhere, such as an S3 bucket prefix, by the same rule.
      - The names of the copy's files (object keys; only the last path segment counts). The manifests are read from
        O(path), where the caller has put the copy's C(.json) objects. A backup counts as verified in the copy when
        its zip and its C(.sha256) file are both listed.
      - Nothing is deleted then, in O(path) or anywhere. RV(would_delete) lists the files the copy should lose, as
        paths under O(path) whose last segment is the object name, and the task reports no change. The role
        P(atlassian_ops.backup.scheduled_backup#role) deletes them from the bucket.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Tonight's backup, then 7 daily, 4 weekly, 12 monthly and 2 yearly copies of the site
  block:
    - name: Take and download a backup unless one younger than 24 h is already there
      atlassian_ops.backup.confluence_backup:
        url: https://example.atlassian.net
        username: backup-bot@example.com
        api_token: "{{ vault_confluence_api_token }}"
        dest: /srv/backups/confluence
        max_age: 24h

    - name: Prune that site's backups (reached only when the backup above succeeded, verified)
      atlassian_ops.backup.backup_prune:
        path: /srv/backups/confluence
        product: confluence
        site: https://example.atlassian.net
        keep_daily: 7
        keep_weekly: 4
        keep_monthly: 12
        keep_yearly: 2
      register: pruned

- name: What would be deleted for every Confluence site in the folder (nothing is touched)
  atlassian_ops.backup.backup_prune:
    path: /srv/backups/confluence
    product: confluence
    keep_daily: 14
  check_mode: true
  register: plan

- name: Show it
  ansible.builtin.debug:
    var: plan.would_delete

- name: The space backups of DOC and TEAM of a Data Center server, 30 days
  atlassian_ops.backup.backup_prune:
    path: /srv/backups/confluence
    product: confluence
    site: wiki.example.com
    scope: space
    space_keys: [DOC, TEAM]
    keep_daily: 30
"""

RETURN = r"""
deleted:
  description:
    - The files deleted, in the order they were deleted. Backups go oldest first, and for each one the zip, its
      C(.sha256) file, its encrypted copy and that copy's C(.sha256) when they are beside it, and its manifest (last).
    - Empty in check mode.
  returned: always
  type: list
  elements: str
  sample: ["/var/backups/confluence-example.atlassian.net-20261001T020000Z.zip",
           "/var/backups/confluence-example.atlassian.net-20261001T020000Z.zip.sha256",
           "/var/backups/confluence-example.atlassian.net-20261001T020000Z.json"]
would_delete:
  description:
    - In check mode, or with O(objects), the files a real run would delete, in the same order as RV(deleted).
  returned: in check mode, or with O(objects)
  type: list
  elements: str
  sample: ["/var/backups/confluence-example.atlassian.net-20261001T020000Z.zip",
           "/var/backups/confluence-example.atlassian.net-20261001T020000Z.zip.sha256",
           "/var/backups/confluence-example.atlassian.net-20261001T020000Z.json"]
kept:
  description: The verified backups kept, newest first, with the rules that keep each one.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/backups/confluence-example.atlassian.net-20261122T020000Z.zip",
            "backup_time": "2026-11-22T02:00:00Z", "reasons": ["newest verified", "last 1", "daily 2026-11-22"]}]
  contains:
    path:
      description: The backup's zip file.
      type: str
      sample: /var/backups/confluence-example.atlassian.net-20261122T020000Z.zip
    backup_time:
      description: The backup's time from its manifest (UTC).
      type: str
      sample: "2026-11-22T02:00:00Z"
    reasons:
      description:
        - Why it is kept. V(newest verified), V(last N) (O(keep_last)) and one entry per period it stands for,
          such as V(daily 2026-11-22), V(weekly 2026-W47), V(monthly 2026-11) or V(yearly 2026).
      type: list
      elements: str
      sample: ["daily 2026-11-22", "weekly 2026-W47"]
unverified:
  description:
    - Backups with a manifest that did not pass the cheap check (or whose manifest cannot be used), left alone,
      newest first. They neither fill a period nor are deleted.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/backups/confluence-example.atlassian.net-20261121T020000Z.zip",
            "manifest_path": "/var/backups/confluence-example.atlassian.net-20261121T020000Z.json",
            "backup_time": "2026-11-21T02:00:00Z",
            "reason": "the .sha256 file does not hold the manifest's sha256"}]
  contains:
    path:
      description: The zip file the manifest names (it may be missing).
      type: str
      sample: /var/backups/confluence-example.atlassian.net-20261121T020000Z.zip
    manifest_path:
      description: The manifest.
      type: str
      sample: /var/backups/confluence-example.atlassian.net-20261121T020000Z.json
    backup_time:
      description: The backup's time from its manifest (UTC), null when it has none.
      type: str
      sample: "2026-11-21T02:00:00Z"
    reason:
      description: Why it does not count as verified.
      type: str
      sample: the zip file is missing
unaccounted:
  description:
    - Files of the product (and of O(site), when given) that no manifest accounts for, left alone. These are zip
      files without a manifest, encrypted copies whose manifest does not record them, and C(.part) files of
      downloads or encryptions that did not finish or are still running.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/backups/confluence-example.atlassian.net-20261123T020000Z.zip.part",
            "reason": "partial download (.part)"}]
  contains:
    path:
      description: The file.
      type: str
      sample: /var/backups/confluence-example.atlassian.net-copy.zip
    reason:
      description: V(no manifest) (none, or none of format 1), V(encrypted copy its manifest does not record) or
        V(partial download (.part)) (also a C(.zip.age.part) file).
      type: str
      sample: no manifest
series:
  description: How many series (targets) were pruned.
  returned: always
  type: int
  sample: 2
"""

import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import (
    KINDS,
    check_product,
    target_label,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.prune import prune

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    product=dict(type="str", required=True),
    site=dict(type="str"),
    scope=dict(type="str", choices=["site", "space"]),
    space_keys=dict(type="list", elements="str", no_log=False),
    kind=dict(type="str", choices=list(KINDS)),
    keep_daily=dict(type="int", default=0),
    keep_weekly=dict(type="int", default=0),
    keep_monthly=dict(type="int", default=0),
    keep_yearly=dict(type="int", default=0),
    keep_last=dict(type="int", default=1),
    objects=dict(type="list", elements="str"),
)
KEEP = ("keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")


def prepare(module, params):
    """Refuse options that could delete more than the user meant; returns the site label (or None)."""
    problem = check_product(params["product"])
    if problem:
        module.fail_json(msg=problem)
    for name in KEEP + ("keep_last",):
        if params[name] < 0:
            module.fail_json(msg="%s must be 0 or more (got %d)." % (name, params[name]))
    if not any(params[name] > 0 for name in KEEP):
        module.fail_json(msg="Refusing to prune: set at least one of keep_daily, keep_weekly, keep_monthly or "
                             "keep_yearly above 0. With none, only the newest backup and the keep_last newest ones "
                             "would be kept, and that is never a default.")
    if not os.path.isdir(params["path"]):
        module.fail_json(msg="path %s is not a folder (it must hold the backups and their manifests)." % params["path"])
    label = None
    try:
        label = target_label(params.get("site"))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return label


def run(module, params):
    label = prepare(module, params)
    return prune(params, label, check_mode=module.check_mode, diff=module._diff, warn=module.warn)


def main():
    run_module(ARGUMENT_SPEC, run, "prune the backups", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
