#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_metrics
short_description: Write a target's backup state as a Prometheus textfile for node_exporter
version_added: 0.3.0
description:
  - Writes one file in the format of node_exporter's textfile collector (C(--collector.textfile.directory)) with
    gauges that describe the target's newest verified backup and the outcome of its last run. Every sample has
    the labels C(target) and C(type), then those of O(labels).
  - With O(status=skipped) (another run held the target's lock), C(atlassian_backup_last_run_skipped) counts the
    runs in a row that skipped the target, and C(atlassian_backup_last_run_success) and the backup samples of the
    file already there are kept. The next run with another O(status) writes no C(atlassian_backup_last_run_skipped).
  - With O(warning=true) (a run that succeeded with a warning, such as an organization backup that is INCOMPLETE),
    C(atlassian_backup_last_run_warning) is 1. A run without O(warning) writes no
    C(atlassian_backup_last_run_warning).
  - "C(atlassian_backup_last_run_success) (1 or 0), C(atlassian_backup_last_success_timestamp_seconds) (the backup
    time of the newest verified backup, Unix seconds), C(atlassian_backup_duration_seconds) (create or export, plus
    download, from the manifest), C(atlassian_backup_size_bytes), C(atlassian_backup_verified{level}) (1 for the
    level recorded by P(atlassian_ops.backup.backup_verify#module)), C(atlassian_backup_verification_ok),
    C(atlassian_backup_inventory{kind}) (one per count of the inventory, kinds V(spaces), V(pages), V(blog_posts),
    V(comments) and V(attachments)), C(atlassian_backup_inventory_known) and C(atlassian_backup_retained_copies)."
  - The samples come from the backup's manifest, not from the time of the run, so that a run that reuses the
    same backup renders the same bytes and changes nothing. The file is written atomically (a hidden temporary
    file in the same folder, flushed and synced, mode 0644, then renamed; node_exporter reads only C(*.prom)),
    and only when its content changes.
  - With O(status=failed) and no O(manifest), the backup samples of the file already there are kept (when it is a
    file this module wrote for the same O(target) and O(type)) and only C(atlassian_backup_last_run_success) turns
    0, so that an alert on the age of the last success keeps working. With no such file, the file holds only
    C(atlassian_backup_last_run_success) 0.
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
      - The textfile, such as C(/var/lib/node_exporter/textfile/atlassian_backup_site_a.prom). Its folder must exist.
      - Its name should end in C(.prom), the files node_exporter reads.
    type: path
    required: true
  target:
    description: The value of the C(target) label.
    type: str
    required: true
  type:
    description: The value of the C(type) label, such as V(confluence_cloud).
    type: str
    required: true
  status:
    description:
      - The outcome of this run for the target, the value of C(atlassian_backup_last_run_success).
      - V(skipped) when the run left the target alone because another run held its lock.
    type: str
    required: true
    choices: [success, failed, skipped]
  warning:
    description:
      - The run succeeded with a warning (such as an organization backup that is INCOMPLETE); writes
        C(atlassian_backup_last_run_warning) 1.
    type: bool
    default: false
  manifest:
    description:
      - The manifest (C(.json), format 1) of the target's newest verified backup, such as RV(atlassian_ops.backup.confluence_backup#module:manifest_path).
      - "Read from it: C(backup_time) (else C(downloaded_at)), C(size), C(create_seconds) (else C(export_seconds))
        and C(download_seconds), C(verified_level), C(verified), C(inventory) and C(inventory_status)."
      - Without it, O(status=failed) and O(status=skipped) keep the backup samples of the file already there.
    type: path
  retained:
    description: How many verified copies retention kept, such as the number of RV(atlassian_ops.backup.backup_prune#module:kept) entries.
    type: int
  labels:
    description:
      - More labels for every sample, such as C(site) or C(environment), as name and value.
      - Names are letters, digits and C(_), not starting with a digit or C(__); C(target), C(type), C(level) and
        C(kind) are the module's own.
    type: dict
"""

EXAMPLES = r"""
- name: Tonight's backup, then its metrics for node_exporter
  block:
    - name: Take or reuse the backup
      atlassian_ops.backup.confluence_backup:
        url: https://example.atlassian.net
        dest: /srv/backups/confluence
        max_age: 20h
      register: backup

    - name: The textfile collector's folder (node_exporter --collector.textfile.directory)
      ansible.builtin.file:
        path: /srv/backups/metrics
        state: directory
        mode: "0755"

    - name: Write the target's metrics
      atlassian_ops.backup.backup_metrics:
        path: /srv/backups/metrics/atlassian_backup_example.prom
        target: example
        type: confluence_cloud
        status: success
        manifest: "{{ backup.manifest_path }}"
        labels:
          environment: production
  rescue:
    - name: Record the failure (the last success's time, size and counts stay in the file)
      atlassian_ops.backup.backup_metrics:
        path: /srv/backups/metrics/atlassian_backup_example.prom
        target: example
        type: confluence_cloud
        status: failed
        labels:
          environment: production

- name: The metrics of a Data Center backup, verified by backup_verify, with the copies retention kept
  atlassian_ops.backup.backup_metrics:
    path: /srv/backups/metrics/atlassian_backup_wiki.prom
    target: wiki
    type: confluence_datacenter
    status: success
    manifest: /srv/backups/confluence-dc/confluence-wiki.example.com-20261122T020304Z.json
    retained: 14
  register: metrics

- name: Show what node_exporter will read
  ansible.builtin.debug:
    msg: "{{ metrics.content }}"
"""

RETURN = r"""
path:
  description: The textfile (an absolute path).
  returned: always
  type: str
  sample: /var/lib/node_exporter/textfile/atlassian_backup_example.prom
content:
  description: The text written, or that would be written (in check mode), or that the file already holds.
  returned: always
  type: str
  sample: "# HELP atlassian_backup_last_run_success 1 when ...\n# TYPE atlassian_backup_last_run_success gauge\n..."
samples:
  description: How many samples RV(content) holds.
  returned: always
  type: int
  sample: 14
msg:
  description: What was done, or would be done, and where the samples came from.
  returned: always
  type: str
  sample: "Wrote 14 samples to /var/lib/node_exporter/textfile/atlassian_backup_example.prom (last run success;
    the manifest /srv/backups/confluence/confluence-example.atlassian.net-20261122T020000Z.json)."
"""

import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import metrics as _metrics
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    target=dict(type="str", required=True),
    type=dict(type="str", required=True),
    status=dict(type="str", required=True, choices=["success", "failed", "skipped"]),
    warning=dict(type="bool", default=False),
    manifest=dict(type="path"),
    retained=dict(type="int"),
    labels=dict(type="dict"),
)


def read_text(path):
    """The file's text, None when there is none."""
    try:
        return _metrics.read_textfile(path)
    except (IOError, OSError) as exc:
        raise TaskFailed("Cannot read the textfile %s: %s." % (path, exc.strerror or exc))


def read_manifest(path):
    try:
        manifest = mf.read(path)
    except mf.ManifestError as exc:
        raise TaskFailed("Cannot use the manifest: %s." % exc)
    if manifest is None:
        raise TaskFailed("The manifest %s does not exist." % path)
    return manifest


def run(module, params):
    # Ansible adds the stats of the file named by ``path`` to a result that has one (owner, mode, state, size, ...);
    # ``size`` would then be the textfile's next to the backup's size_bytes in it. The result goes without them.
    module.add_path_info = lambda kwargs: kwargs
    path = os.path.abspath(params["path"])
    problem = _metrics.textfile_problem(path, "atlassian_backup_%s.prom" % params["target"])
    if problem:
        raise TaskFailed(problem, path=path)
    try:
        labels = _metrics.target_labels(params["target"], params["type"], params.get("labels"))
    except ValueError as exc:
        raise TaskFailed(str(exc), path=path)
    if params.get("retained") is not None and params["retained"] < 0:
        raise TaskFailed("retained must be 0 or more, not %d." % params["retained"], path=path)
    before = read_text(path)
    success, skipped = params["status"] == "success", 0
    if params["status"] == "skipped":
        success, skipped = _metrics.after_skip(before, params["target"], params["type"])
    if params.get("manifest"):
        samples = _metrics.backup_samples(read_manifest(params["manifest"]))
        source = "the manifest %s" % params["manifest"]
    elif params["status"] != "success":
        samples = _metrics.previous_samples(before, params["target"], params["type"])
        source = "the last success's samples kept" if samples else "no backup known"
    else:
        samples = []
        source = "no manifest given"
    text = _metrics.render(labels, success, samples, params.get("retained"), skipped=skipped,
                           warning=params["warning"])
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
    outcome = "skipped, %d in a row" % skipped if skipped else params["status"]
    if params["warning"]:
        outcome += " with a warning"
    result["msg"] = "%s (last run %s; %s)." % (what, outcome, source)
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "write the metrics", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
