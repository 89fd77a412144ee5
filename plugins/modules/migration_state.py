#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: migration_state
short_description: Read or record the steps of a resumable site migration
version_added: 0.3.0
description:
  - Keeps the state of a migration in C(migration.json) in its working folder O(path), the file that lets the role
    P(atlassian_ops.backup.site_migration#role) resume after a failure at the step that failed and never repeat a
    completed one.
  - Without O(step) it reads the state. With O(step) and O(status) it records that the step V(started) (an attempt,
    with its start time), is V(done), V(failed) (with O(note)) or V(waiting) for something done by hand, and
    merges O(data) into what the step recorded before (the ids a step found survive a later attempt).
  - Each write replaces the file at once (a temporary file in the same folder, flushed, synced and renamed) under an
    exclusive lock on C(migration.json.lock), so a reader sees the old state or the new one, never a part.
  - The file names the migration it belongs to (O(migration)); a folder that holds another migration's state is
    refused, so that a working folder is never reused for another migration by mistake.
  - The module talks to no service; it writes on the host that runs it (usually C(localhost)).
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
extends_documentation_fragment:
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_local
attributes:
  check_mode:
    support: full
    details:
      - Reads the state and returns the one it would write; creates and writes nothing.
  diff_mode:
    support: full
    details:
      - The step's record before and after.
options:
  path:
    description:
      - The migration's working folder. Created (mode 0700) at the first write.
    type: path
    required: true
  migration:
    description:
      - What identifies the migration, such as its kind, source and destination. Recorded at the first write;
        a later call whose values differ from the recorded ones fails.
    type: dict
    default: {}
  step:
    description:
      - The step to record. Without it the state is only read.
    type: str
  status:
    description:
      - What happened to O(step). Required with O(step).
    type: str
    choices: [started, done, failed, waiting]
  data:
    description:
      - Facts of the step to keep (ids, counts, file names), merged into those recorded before.
    type: dict
    default: {}
  note:
    description:
      - Why a step V(failed), or what a V(waiting) step waits for (recorded as the step's C(message)).
    type: str
"""

EXAMPLES = r"""
- name: Read the state of the migration
  atlassian_ops.backup.migration_state:
    path: /srv/backups/migrations/wiki-to-wiki2
    migration: {kind: cloud_to_cloud, source: example.atlassian.net, destination: example-restore.atlassian.net}
  register: migration

- name: Count the source's content once, and record it
  when: migration.statuses.preflight | default('') != 'done'
  block:
    - name: Record that the pre-flight started
      atlassian_ops.backup.migration_state:
        path: /srv/backups/migrations/wiki-to-wiki2
        migration: {kind: cloud_to_cloud, source: example.atlassian.net, destination: example-restore.atlassian.net}
        step: preflight
        status: started

    - name: Count the spaces and pages of the source
      atlassian_ops.backup.confluence_content_info:
        url: https://example.atlassian.net
        username: backup-bot@example.com
        api_token: "{{ vault_confluence_api_token }}"
      register: source_content

    - name: Record that the pre-flight is done, with the counts
      atlassian_ops.backup.migration_state:
        path: /srv/backups/migrations/wiki-to-wiki2
        migration: {kind: cloud_to_cloud, source: example.atlassian.net, destination: example-restore.atlassian.net}
        step: preflight
        status: done
        data:
          source_totals: "{{ source_content.totals }}"
  rescue:
    - name: Record the failure, to be resumed by the next run
      atlassian_ops.backup.migration_state:
        path: /srv/backups/migrations/wiki-to-wiki2
        migration: {kind: cloud_to_cloud, source: example.atlassian.net, destination: example-restore.atlassian.net}
        step: preflight
        status: failed
        note: "{{ ansible_failed_result.msg }}"
"""

RETURN = r"""
record:
  description:
    - The state of the migration after this call (as it would be, in check mode), as the state file holds it.
    - Not named C(state), a key that Ansible reads as a module's own desired state in a changed result.
  returned: always
  type: dict
  sample: {"format": 1, "migration": {"kind": "cloud_to_cloud"}, "created_at": "2026-12-01T10:00:00Z",
           "updated_at": "2026-12-01T10:20:00Z",
           "steps": {"backup": {"status": "done", "attempts": 1, "started_at": "2026-12-01T10:00:00Z",
                               "finished_at": "2026-12-01T10:20:00Z", "duration_seconds": 1200.0,
                               "data": {"backup_id": "7d2c..."}, "message": null}}}
  contains:
    format:
      description: The format of the file, 1.
      type: int
    migration:
      description: What identifies the migration (O(migration) of the first write).
      type: dict
    created_at:
      description: When the state was first written (UTC, ISO 8601); null before.
      type: str
    updated_at:
      description: When it was last written.
      type: str
    steps:
      description:
        - Each step by name, with C(status), C(attempts), C(started_at), C(started_epoch), C(finished_at),
          C(duration_seconds) of the last attempt, C(data) and C(message).
      type: dict
statuses:
  description: The status of each step by name, for a C(when).
  returned: always
  type: dict
  sample: {"preflight": "done", "backup": "done", "restore": "failed"}
path:
  description: The state file.
  returned: always
  type: str
  sample: /var/backups/atlassian/migrations/wiki-to-wiki2/migration.json
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import migration as ms

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    migration=dict(type="dict", default={}),
    step=dict(type="str"),
    status=dict(type="str", choices=list(ms.STATUSES)),
    data=dict(type="dict", default={}),
    note=dict(type="str"),
)


def run(module, params):
    folder = params["path"]
    try:
        if not params.get("step"):
            state = ms.read(folder)
            if state is not None:
                ms.check_identity(state, params["migration"], folder)
            state = state or ms.empty(params["migration"])
            return dict(changed=False, record=state, statuses=ms.summary(state), path=ms.state_path(folder))
        old, new = ms.update(folder, params["migration"], params["step"], params["status"], params["data"],
                             params.get("note"), write=not module.check_mode)
    except ms.StateError as exc:
        raise TaskFailed(str(exc), path=ms.state_path(folder))
    except (IOError, OSError) as exc:
        raise TaskFailed("The state of the migration in %s could not be written: %s. Nothing else was changed; fix "
                         "the folder and run again." % (folder, exc), path=ms.state_path(folder))
    before = ((old or {}).get("steps") or {}).get(params["step"])
    after = new["steps"][params["step"]]
    result = dict(changed=True, record=new, statuses=ms.summary(new), path=ms.state_path(folder))
    if module._diff:
        result["diff"] = {"before": before or {}, "after": after,
                          "before_header": "%s (%s)" % (ms.state_path(folder), params["step"]),
                          "after_header": "%s (%s)" % (ms.state_path(folder), params["step"])}
    return result


def prepare(module, params):
    if params.get("step") and not params.get("status"):
        module.fail_json(msg="status is required with step: started, done, failed or waiting.")
    if params.get("status") and not params.get("step"):
        module.fail_json(msg="step is required with status.")


def main():
    run_module(ARGUMENT_SPEC, run, "record the state of the migration", connection="local", prepare=prepare,
               supports_check_mode=True)


if __name__ == "__main__":
    main()
