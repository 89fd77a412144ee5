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
    gauges that describe the target's newest verified backup and the outcome of its last run, labelled with
    C(target) and C(type).
  - "C(atlassian_backup_last_run_success) (1 or 0), C(atlassian_backup_last_success_timestamp_seconds) (the backup
    time of the newest verified backup), C(atlassian_backup_duration_seconds) (create plus download, from the
    manifest), C(atlassian_backup_size_bytes), C(atlassian_backup_verified{level}),
    C(atlassian_backup_verification_ok), C(atlassian_backup_inventory{kind}), C(atlassian_backup_inventory_known)
    and C(atlassian_backup_retained_copies)."
  - The samples come from the backup's manifest, not from the time of the run, so that a run that reuses the
    same backup renders the same bytes and changes nothing. The file is written atomically (a hidden temporary
    file in the same folder, flushed, then renamed; node_exporter reads only C(*.prom)), mode 0644, and only when
    its content changes.
  - With O(status=failed) and no O(manifest), the backup samples of the file already there are kept and only
    C(atlassian_backup_last_run_success) turns 0, so that an alert on the age of the last success keeps working.
  - The module talks to no service; it writes a file on the host that runs it (usually C(localhost)).
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
      - Renders the file and says whether it would change; writes nothing.
  diff_mode:
    support: full
    details:
      - The file's text before and after.
options:
  path:
    description: The textfile, such as C(/var/lib/node_exporter/textfile/atlassian_backup_site_a.prom). Its folder must exist.
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
    description: The outcome of this run for the target.
    type: str
    required: true
    choices: [success, failed]
  manifest:
    description: The manifest (C(.json)) of the target's newest verified backup.
    type: path
  retained:
    description: How many verified copies retention kept.
    type: int
  labels:
    description: More labels for every sample, such as C(site) or C(environment).
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
"""

RETURN = r"""
textfile:
  description: The textfile.
  returned: always
  type: str
  sample: /var/lib/node_exporter/textfile/atlassian_backup_example.prom
content:
  description: The text written, or that would be written.
  returned: always
  type: str
  sample: "# HELP atlassian_backup_last_run_success 1 when ...\n# TYPE atlassian_backup_last_run_success gauge\n..."
samples:
  description: How many samples the file holds.
  returned: always
  type: int
  sample: 12
msg:
  description: What was done.
  returned: always
  type: str
  sample: Wrote 12 samples to /var/lib/node_exporter/textfile/atlassian_backup_example.prom.
"""

import json
import os
import tempfile

from ansible_collections.atlassian_ops.backup.plugins.module_utils import _metrics
from ansible_collections.atlassian_ops.backup.plugins.module_utils._module import run_module

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    target=dict(type="str", required=True),
    type=dict(type="str", required=True),
    status=dict(type="str", required=True, choices=["success", "failed"]),
    manifest=dict(type="path"),
    retained=dict(type="int"),
    labels=dict(type="dict"),
)


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def write_atomic(path, text):
    folder = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=folder)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def run(module, params):
    path = os.path.abspath(params["path"])
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        module.fail_json(msg="The textfile's folder %s does not exist. Create it, or point path at node_exporter's "
                             "--collector.textfile.directory." % folder)
    labels = [("target", params["target"]), ("type", params["type"])]
    for name, value in sorted((params.get("labels") or {}).items()):
        if not _metrics.LABEL_NAME.match(name) or name in ("target", "type") or name.startswith("__"):
            module.fail_json(msg="labels: %r is not a label name this module can add (letters, digits and _, not "
                                 "starting with a digit or __, not target or type)." % name)
        labels.append((name, value))
    samples = []
    if params.get("manifest"):
        try:
            with open(params["manifest"]) as handle:
                manifest = json.load(handle)
        except (IOError, OSError, ValueError) as exc:
            module.fail_json(msg="Cannot read the manifest %s: %s." % (params["manifest"], exc))
        if not isinstance(manifest, dict):
            module.fail_json(msg="The manifest %s is not a JSON object." % params["manifest"])
        samples = _metrics.backup_samples(manifest)
    before = read_text(path)
    if not samples and params["status"] == "failed":
        samples = _metrics.previous_samples(before, labels)
    text = _metrics.render(labels, params["status"] == "success", samples, params.get("retained"))
    changed = text != before
    result = dict(changed=changed, textfile=path, content=text, samples=text.count("\n") - 2 * text.count("# TYPE"))
    if module._diff:
        result["diff"] = dict(before=before or "", after=text, before_header=path, after_header=path)
    if changed and not module.check_mode:
        write_atomic(path, text)
    result["msg"] = "%s %d samples %s %s." % (
        "Would write" if changed and module.check_mode else "Wrote" if changed else "Unchanged:",
        result["samples"], "to" if changed else "in", path)
    return result


def main():
    run_module(ARGUMENT_SPEC, run, "write the metrics", connection="local", supports_check_mode=True)


if __name__ == "__main__":
    main()
