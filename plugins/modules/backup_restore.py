#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_restore
short_description: Restore a backup into another site, with explicit consents (organization Backup & Restore API)
version_added: 0.2.0
description:
  - Restores a Jira or Confluence backup from Atlassian's storage into the site O(cloud_id) of the same
    organization (C(POST orgs/{orgId}/cloud/{destCloudId}/restores)), waits for it and fetches the URL of the
    post-operation report.
  - It cannot start by accident. It refuses before any request unless O(confirm=true), and refuses before any
    write when the backup is IN PROGRESS, FAILED, EXPIRED or older than 14 days (the backup is read first).
  - When the service's validation stops the restore, the failing checks the user listed in O(consents) are
    consented to (C(POST .../restores/revalidate)). When any failing check is not in O(consents) the task fails,
    listing each one with what it means, and the restore waits for a re-run with those consents.
  - A restore of the same backup into the same site that is already running, or waiting for consents, is joined,
    not started again. One that finished within the last 7 days (the service restores a backup once in 7 days) is
    reported unchanged, with its post-operation report.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.org_connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group
attributes:
  check_mode:
    support: full
    details:
      - Reads the backup and the restores and reports whether a restore would start. It sends no write, so the
        service's validation (which needs a restore to be created) does not run in check mode.
  diff_mode:
    support: none
options:
  backup_id:
    description:
      - The backup to restore.
    type: str
    required: true
  cloud_id:
    description:
      - The cloud id of the destination site, another site of the same organization.
    type: str
    required: true
  product:
    description:
      - The product restored. Left out, it is read from the backup.
    type: str
    choices: [jira, confluence]
  include_attachments:
    description:
      - Whether attachments are restored (only when the backup has them).
    type: bool
    default: true
  include_users_and_groups:
    description:
      - Whether users and groups are restored into the destination site.
    type: bool
    default: true
  consents:
    description:
      - The validation checks you accept, by name. Only the ones that fail are sent.
      - V(Consent_Conflicting_Space_Check) spaces or projects that already exist on the destination are skipped;
        V(Consent_Conflicting_Group_Check) groups with the same names are merged (users may gain permissions);
        V(Consent_Product_License_Check) the destination's plan is lower than the backed up site's;
        V(Consent_TDP_Shard_Check) the sites are on different shards; V(Consent_Site_License_Check) the
        destination is on a free trial; V(Accept_Custom_Group_Check) or V(Deny_Custom_Group_Check) restore custom
        groups or not.
    type: list
    elements: str
    default: []
  confirm:
    description:
      - Must be V(true), because a restore writes into the destination site. Without it the task fails before any request.
    type: bool
    default: false
notes:
  - The shape of a failing validation is not documented; the module finds the known check names wherever they
    appear in the service's answer.
  - The service restores a given backup once in 7 days; backups larger than 60 GB need a support ticket.
  - The Backup & Restore API is in Atlassian's early access program (Enterprise plan); the account must be an
    organization admin.
seealso:
  - module: atlassian_ops.backup.backup_run
  - module: atlassian_ops.backup.backup_import
"""

EXAMPLES = r"""
- name: Restore last week's Confluence backup into the staging site
  module_defaults:
    group/atlassian_ops.backup.atlassian:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: The site's Confluence backup policy
      atlassian_ops.backup.backup_policy:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence

    - name: A backup no older than 7 days
      atlassian_ops.backup.backup_run:
        cloud_id: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
        product: confluence
        max_age: 7d
      register: weekly

    - name: Restore it; conflicting spaces are skipped and same-name groups merged, knowingly
      atlassian_ops.backup.backup_restore:
        backup_id: "{{ weekly.backup_id }}"
        cloud_id: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
        consents:
          - Consent_Conflicting_Space_Check
          - Consent_Conflicting_Group_Check
        confirm: true
        wait_timeout: 12h
      register: restored

    - name: Where the report is
      ansible.builtin.debug:
        msg: "{{ restored.post_op_report_url }}"
"""

RETURN = r"""
restore_id:
  description: The id of the restore started or joined.
  returned: when there is one
  type: str
  sample: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
status:
  description:
    - The restore's status, normalized to V(COMPLETE), V(IN_PROGRESS), V(VALIDATION_FAILED), V(FAILED)... or the
      service's own word, folded to upper-snake case.
  returned: when there is a restore
  type: str
  sample: COMPLETE
service_status:
  description: The status exactly as the service wrote it.
  returned: when there is a restore
  type: str
  sample: COMPLETED
failing_checks:
  description: The validation checks that failed (before the consents were given), by name.
  returned: always
  type: list
  elements: str
  sample: [Consent_Conflicting_Space_Check]
unconsented_checks:
  description: The failing checks missing from O(consents), each with what it means.
  returned: when the task failed for want of consent
  type: list
  elements: str
  sample: ["Consent_Conflicting_Group_Check: Groups with the same names already exist on the destination site..."]
migration_id:
  description: The id of the migration that carried out the restore.
  returned: when the service gave one
  type: str
  sample: 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a
post_op_report_url:
  description: The URL of the post-operation report of the restore.
  returned: when the restore finished and the service gave one
  type: str
  sample: https://example-restore.atlassian.net/admin/migration/9f8e7d6c/post-op-report.csv
restore:
  description: The restore as the API last returned it.
  returned: when there is a restore
  type: dict
  sample: {"restoreId": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "status": "COMPLETED"}
would_restore:
  description: In check mode, whether a real run would start a restore.
  returned: in check mode
  type: bool
  sample: true
http_status:
  description: The HTTP status of a refusal.
  returned: when the service refused the restore
  type: int
  sample: 409
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Restored backup 1f6c0e0a into site b3e2f1a0; the post-operation report is at https://...
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: POST
url:
  description: The URL of the request that failed, without credentials.
  returned: on failure of an HTTP request
  type: str
  sample: https://api.atlassian.com/public/backup-management/v2/orgs/0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d/backups
response:
  description: A short, redacted excerpt of the service's answer to the request that failed.
  returned: on failure, when the service answered
  type: str
  sample: '{"errors":[{"status":403,"title":"The user is not an organization admin."}]}'
request_id:
  description: The service's request or trace id of the answer that failed, for Atlassian support.
  returned: on failure, when the service sent one
  type: str
  sample: 7f3a9c1e5b2d4f60
"""

import time

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.module import run_org_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import TaskFailed, wait_job

ARGUMENT_SPEC = dict(
    backup_id=dict(type="str", required=True),
    cloud_id=dict(type="str", required=True),
    product=dict(type="str", choices=["jira", "confluence"]),
    include_attachments=dict(type="bool", default=True),
    include_users_and_groups=dict(type="bool", default=True),
    consents=dict(type="list", elements="str", default=[]),
    confirm=dict(type="bool", default=False),
)
RETENTION_SECONDS = 14 * 86400
RESTORE_AGAIN_SECONDS = 7 * 86400
MAX_REVALIDATIONS = 3


def check_backup(api, params):
    """The backup, read first: refuse (no write yet) when it cannot be restored."""
    backup = api.backup(params["backup_id"])
    if backup is None:
        raise TaskFailed("No backup %s in organization %s; nothing was written." % (params["backup_id"],
                                                                                    params["org_id"]))
    view = org.job_view(backup, org.BACKUP_IDS)
    why = None
    if view["status"] in (org.IN_PROGRESS, org.FAILED, org.EXPIRED):
        why = "it is %s (only COMPLETE and INCOMPLETE backups can be restored)" % view["service_status"]
    elif view["status"] not in (org.COMPLETE, org.INCOMPLETE):
        why = "its status %s is not one a restore can start from" % view["service_status"]
    elif view["created"] is not None and time.time() - view["created"] > RETENTION_SECONDS:
        why = "it is older than 14 days (taken %s), past Atlassian's retention" % org.field(backup, "createdAt")
    if why:
        raise TaskFailed("Refusing to restore backup %s: %s. Nothing was written." % (params["backup_id"], why),
                         status=None, failing_checks=[])
    if view["cloud_id"] == params["cloud_id"]:
        raise TaskFailed("Refusing to restore backup %s into its own site %s: the destination must be another site "
                         "of the organization. Nothing was written." % (params["backup_id"], params["cloud_id"]),
                         failing_checks=[])
    return backup, view


def run(module, api, params):
    backup, bview = check_backup(api, params)
    product = params["product"] or bview["product"]
    dest = params["cloud_id"]
    what = "the restore of backup %s into site %s" % (params["backup_id"], dest)
    result = dict(changed=False, failing_checks=[])

    for raw in api.restores(cloud_id=dest, product=product):
        view = org.job_view(raw, org.RESTORE_IDS)
        # The destination is checked here too, in case the service ignores the cloudId filter.
        if view["backup_id"] != params["backup_id"] or org.field(raw, "destinationCloudId", "cloudId") not in (
                None, dest):
            continue
        if view["status"] not in org.TERMINAL:
            return proceed(module, api, params, result, raw, dest,
                           "Joined %s, already %s (restore %s)." % (what, view["service_status"], view["id"]))
        if view["status"] in (org.COMPLETE, org.INCOMPLETE) and view["created"] is not None and \
                time.time() - view["created"] < RESTORE_AGAIN_SECONDS:
            # The service restores a backup once in 7 days: a re-run reports the restore that was made.
            return proceed(module, api, params, result, raw, dest,
                           "This backup was already restored into site %s (restore %s, %s); nothing started." % (
                               dest, view["id"], view["service_status"]))
    if module.check_mode:
        return dict(result, changed=True, would_restore=True, msg="Check mode: would start %s." % what)

    body = {"backupId": params["backup_id"], "includeAttachments": params["include_attachments"],
            "includeUsersAndGroups": params["include_users_and_groups"], "product": org.api_product(product)}
    status, doc = api.create_restore(dest, body)
    if status >= 400:
        raise TaskFailed("The service refused %s: HTTP %s \"%s\"." % (what, status, org.refusal_text(doc)),
                         http_status=status, **result)
    result["changed"] = True
    return proceed(module, api, params, result, doc, dest, "Started %s." % what)


def proceed(module, api, params, result, doc, dest, how):
    """Consent to the failing checks the user listed, then wait for the restore and fetch its report."""
    restore_id = org.job_view(doc or {}, org.RESTORE_IDS)["id"]
    if not restore_id:
        raise TaskFailed("The service answered the restore without a restore id: %s" % org.clip(str(doc)), **result)
    result.update(restore_id=restore_id)
    for _round in range(MAX_REVALIDATIONS):
        failing = org.failing_checks(doc)
        for name in failing:
            if name not in result["failing_checks"]:
                result["failing_checks"].append(name)
        if not failing:
            break
        missing = [name for name in failing if name not in params["consents"]]
        if missing:
            set_restore(result, doc)
            raise TaskFailed(
                "%s The service's validation stopped restore %s; these failing checks are not in consents:\n%s\n"
                "Nothing is restored until they are consented to: add them to consents (if you accept what they "
                "mean) and run the task again; it picks up this restore." % (
                    how, restore_id, "\n".join("- " + line for line in org.explain_checks(missing))),
                unconsented_checks=org.explain_checks(missing), **result)
        if module.check_mode:
            set_restore(result, doc)
            return dict(result, changed=True, would_restore=True,
                        msg=how + " Check mode: would consent to %s." % ", ".join(failing))
        status, answer = api.revalidate(dest, restore_id, failing)
        if status >= 400:
            raise TaskFailed("The service refused the consents %s for restore %s: HTTP %s \"%s\"." % (
                ", ".join(failing), restore_id, status, org.refusal_text(answer)), http_status=status, **result)
        result["changed"] = True
        how += " Consented to %s." % ", ".join(failing)
        doc = answer if isinstance(answer, dict) and org.job_view(answer, org.RESTORE_IDS)["status"] else \
            api.restore(restore_id)
    if params["wait"] and not module.check_mode:
        doc = wait_job("Restore %s" % restore_id, lambda: api.restore(restore_id), org.RESTORE_IDS, params,
                       api.client.clock, api.client.sleep, module.debug)
    set_restore(result, doc)
    migration_id = org.field(doc, "migrationId", "migration.id")
    if migration_id:
        result["migration_id"] = migration_id
    if result["status"] in (org.COMPLETE, org.INCOMPLETE) and migration_id:
        url = api.post_op_report(dest, migration_id)
        if url:
            result["post_op_report_url"] = url
            how += " The post-operation report is at %s." % url
    how += " The restore is %s." % result["service_status"]
    result["msg"] = how
    return result


def set_restore(result, doc):
    view = org.job_view(doc or {}, org.RESTORE_IDS)
    result.update(status=view["status"], service_status=view["service_status"], restore=doc)


def main():
    def guarded(module, api, params):
        if not params["confirm"]:
            module.fail_json(msg="A restore writes into site %s; set confirm: true to run it. Nothing was sent." %
                                 params["cloud_id"], failing_checks=[])
        unknown = [name for name in params["consents"] if name not in org.CHECKS]
        if unknown:
            module.fail_json(msg="Unknown consent(s) %s; the checks are: %s." % (
                ", ".join(unknown), ", ".join(sorted(org.CHECKS))), failing_checks=[])
        return run(module, api, params)

    run_org_module(ARGUMENT_SPEC, guarded, "restore the backup", wait=True, supports_check_mode=True)


if __name__ == "__main__":
    main()
