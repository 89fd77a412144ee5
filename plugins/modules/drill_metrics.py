#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: drill_metrics
short_description: Write the outcome of a restore drill as a Prometheus textfile for node_exporter
version_added: 0.3.0
description:
  - Writes one file in the format of node_exporter's textfile collector (C(--collector.textfile.directory)), in the
    same format, with the same labels, as M(atlassian_ops.backup.backup_metrics) writes a target's backups, with the
    outcome and the figures of the last restore drill of a target (the role P(atlassian_ops.backup.restore_drill#role)
    calls it, also when the drill fails).
  - "C(atlassian_backup_drill_last_run_success) (1 or 0), C(atlassian_backup_drill_last_run_timestamp_seconds) (when
    the drill ran, Unix seconds), C(atlassian_backup_drill_last_success_timestamp_seconds) (when the last drill that
    passed ran; a failed drill keeps the value of the file already there),
    C(atlassian_backup_drill_restore_seconds) (the restore's time from its start to its end: the RTO figure),
    C(atlassian_backup_drill_backup_timestamp_seconds) and C(atlassian_backup_drill_backup_age_seconds) (the
    restored backup's time, and its age at the drill: the RPO figure), C(atlassian_backup_drill_found_spaces_ratio)
    and C(atlassian_backup_drill_found_pages_ratio) (the share of the backup's spaces and pages found on the drill
    site, 0 to 1)."
  - A figure left out (a drill that failed before it was measured) is not written. Every sample has the labels
    C(target) and C(type), then those of O(labels).
  - The file is written atomically (a hidden temporary file in the same folder, flushed and synced, mode 0644, then
    renamed; node_exporter reads only C(*.prom)), and only when its content changes.
  - The module talks to no service; it writes a file on the host that runs it (usually C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Renders the file and says whether it would change; writes nothing.
  diff_mode:
    support: full
    details:
      - The file's text before and after.
options:
  path:
    description:
      - The textfile, such as C(/var/lib/node_exporter/textfile/atlassian_restore_drill_wiki.prom). Its folder must
        exist.
      - Its name should end in C(.prom), the files node_exporter reads.
    type: path
    required: true
  target:
    description: The value of the C(target) label.
    type: str
    required: true
  type:
    description: The value of the C(type) label, such as V(confluence_datacenter).
    type: str
    required: true
  passed:
    description: Whether the drill passed, the value of C(atlassian_backup_drill_last_run_success).
    type: bool
    required: true
  drill_time:
    description:
      - When the drill ran, UTC, as the manifests write times (C(YYYY-MM-DDTHH:MM:SSZ)), such as the role's
        C(drill_time). The backup's age is counted up to it.
      - Default is the time the module runs.
    type: str
  backup_time:
    description:
      - The backup time of the backup restored (UTC, C(YYYY-MM-DDTHH:MM:SSZ)), such as its manifest's
        C(backup_time).
    type: str
  restore_seconds:
    description:
      - How long the restore took, from its start to its end, such as
        RV(atlassian_ops.backup.confluence_restore#module:restore_seconds) plus its
        RV(atlassian_ops.backup.confluence_restore#module:upload_seconds).
    type: float
  found_spaces_percent:
    description:
      - The share of the backup's spaces found on the drill site, in percent (0 to 100), such as
        RV(atlassian_ops.backup.confluence_content_info#module:comparison.found_spaces_percent). Written as a ratio.
    type: float
  found_pages_percent:
    description:
      - The share of the backup's pages found on the drill site, in percent (0 to 100), such as
        RV(atlassian_ops.backup.confluence_content_info#module:comparison.found_pages_percent). Written as a ratio.
    type: float
  labels:
    description:
      - More labels for every sample, such as C(site) or C(environment), as name and value.
      - Names are letters, digits and C(_), not starting with a digit or C(__); C(target), C(type), C(level) and
        C(kind) are the collection's own.
    type: dict
seealso:
  - module: atlassian_ops.backup.backup_metrics
  - module: atlassian_ops.backup.confluence_content_info
"""

EXAMPLES = r"""
- name: A restore drill of a staging server, its outcome recorded whether it passes or fails
  block:
    - name: The drill instance answers (one read-only call)
      atlassian_ops.backup.confluence_job_info:
        url: https://wiki-staging.example.com/confluence
        personal_access_token: "{{ vault_confluence_pat }}"
        limit: 1

    # Here the restore (confluence_restore) and the content check (confluence_content_info), as the role
    # atlassian_ops.backup.restore_drill runs them; their results give the figures below.

    - name: The textfile collector's folder (node_exporter --collector.textfile.directory)
      ansible.builtin.file:
        path: /srv/backups/metrics
        state: directory
        mode: "0755"

    - name: Record the drill as passed, with its RTO and RPO figures and the share of the content found
      atlassian_ops.backup.drill_metrics:
        path: /srv/backups/metrics/atlassian_restore_drill_wiki.prom
        target: wiki
        type: confluence_datacenter
        passed: true
        drill_time: "2026-11-22T09:00:00Z"
        backup_time: "2026-11-22T02:03:04Z"
        restore_seconds: 2411.3
        found_spaces_percent: 100
        found_pages_percent: 99.5
        labels:
          environment: staging
      register: drill_metrics

    - name: Show what node_exporter will read
      ansible.builtin.debug:
        msg: "{{ drill_metrics.content }}"
  rescue:
    - name: Record the drill as failed (the time of the last drill that passed stays in the file)
      atlassian_ops.backup.drill_metrics:
        path: /srv/backups/metrics/atlassian_restore_drill_wiki.prom
        target: wiki
        type: confluence_datacenter
        passed: false
        labels:
          environment: staging
"""

RETURN = r"""
path:
  description: The textfile (an absolute path).
  returned: always
  type: str
  sample: /var/lib/node_exporter/textfile/atlassian_restore_drill_wiki.prom
content:
  description: The text written, or that would be written (in check mode), or that the file already holds.
  returned: always
  type: str
  sample: "# HELP atlassian_backup_drill_last_run_success 1 when ...\n# TYPE atlassian_backup_drill_last_run_success gauge\n..."
samples:
  description: How many samples RV(content) holds.
  returned: always
  type: int
  sample: 8
msg:
  description: What was done, or would be done.
  returned: always
  type: str
  sample: "Wrote 8 samples to /var/lib/node_exporter/textfile/atlassian_restore_drill_wiki.prom (the drill passed)."
"""

import calendar
import os
import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import metrics as _metrics

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    target=dict(type="str", required=True),
    type=dict(type="str", required=True),
    passed=dict(type="bool", required=True),
    drill_time=dict(type="str"),
    backup_time=dict(type="str"),
    restore_seconds=dict(type="float"),
    found_spaces_percent=dict(type="float"),
    found_pages_percent=dict(type="float"),
    labels=dict(type="dict"),
)


def epoch_of(params, name):
    """Unix seconds of the time option ``name``, None when it is not given; TaskFailed when it is not a time."""
    text = params.get(name)
    if text is None:
        return None
    when = mf.parse_time(text)
    if when is None:
        raise TaskFailed("%s must be a UTC time written as the manifests write it, such as 2026-11-22T02:03:04Z "
                         "(got %r)." % (name, text), path=params["path"])
    return calendar.timegm(when.utctimetuple())


def run(module, params):
    # Ansible adds the stats of the file named by ``path`` to a result that has one; the result goes without them.
    module.add_path_info = lambda kwargs: kwargs
    path = params["path"] = os.path.abspath(params["path"])
    problem = _metrics.textfile_problem(path, "atlassian_restore_drill_%s.prom" % params["target"])
    if problem:
        raise TaskFailed(problem, path=path)
    try:
        labels = _metrics.target_labels(params["target"], params["type"], params.get("labels"))
    except ValueError as exc:
        raise TaskFailed(str(exc), path=path)
    for name in ("restore_seconds", "found_spaces_percent", "found_pages_percent"):
        value = params.get(name)
        if value is not None and not 0 <= value < float("inf"):
            raise TaskFailed("%s must be 0 or more, not %s." % (name, value), path=path)
    for name in ("found_spaces_percent", "found_pages_percent"):
        if params.get(name) is not None and params[name] > 100:
            raise TaskFailed("%s is a share in percent, 0 to 100, not %s." % (name, params[name]), path=path)
    drill_time = epoch_of(params, "drill_time")
    if drill_time is None:
        drill_time = int(time.time())
    backup_time = epoch_of(params, "backup_time")
    try:
        before = _metrics.read_textfile(path)
    except (IOError, OSError) as exc:
        raise TaskFailed("Cannot read the textfile %s: %s." % (path, exc.strerror or exc), path=path)
    samples = _metrics.drill_samples(
        params["passed"], drill_time, backup_time=backup_time, restore_seconds=params.get("restore_seconds"),
        found_spaces_percent=params.get("found_spaces_percent"), found_pages_percent=params.get("found_pages_percent"),
        last_success=_metrics.previous_drill_success(before, params["target"], params["type"]))
    text = _metrics.render_drill(labels, samples)
    changed = text != before
    result = dict(changed=changed, path=path, content=text, samples=_metrics.sample_count(text))
    if module._diff:
        result["diff"] = dict(before=before or "", after=text, before_header=path, after_header=path)
    if changed and not module.check_mode:
        mf.write_atomic(path, text, mode=0o644)
    if not changed:
        what = "Unchanged: %s holds these %d samples" % (path, result["samples"])
    else:
        what = "%s %d samples to %s" % ("Would write" if module.check_mode else "Wrote", result["samples"], path)
    result["msg"] = "%s (the drill %s)." % (what, "passed" if params["passed"] else "failed")
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "write the drill metrics", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
