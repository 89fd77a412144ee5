# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_restore workflow: guards, the backup read first, join or start a restore, consents, wait, report.

No Ansible imports. ``module`` is only asked for ``check_mode`` and ``debug``. Ages are measured on the service's
clock (:meth:`OrgBackupApi.now`). In check mode the backup and the restores are read once, nothing is written and
nothing is waited for: the result says what a real run would do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import read_until_status, started_job, wait_job
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

# Seed 001 and 003: backups are kept 14 days; "You can restore a specific backup once in 7 days".
RETENTION_SECONDS = 14 * 86400
RESTORE_AGAIN_SECONDS = 7 * 86400
MAX_REVALIDATIONS = 3


def check_options(params):
    """Before any request: ``confirm`` and known consent names."""
    if not params["confirm"]:
        raise TaskFailed("A restore writes into site %s; set confirm: true to run it. Nothing was sent." %
                         params["cloud_id"], failing_checks=[])
    unknown = [name for name in params["consents"] if name not in org.CHECKS]
    if unknown:
        raise TaskFailed("Unknown consent(s) %s; the checks are: %s." % (
            ", ".join(unknown), ", ".join(sorted(org.CHECKS))), failing_checks=[])


def check_backup(api, params):
    """The backup, read first: refuse (no write yet) when it cannot be restored."""
    backup = api.backup(params["backup_id"])
    if backup is None:
        raise TaskFailed("No backup %s in organization %s; nothing was written." % (params["backup_id"],
                                                                                    params["org_id"]),
                         failing_checks=[])
    view = org.job_view(backup, org.BACKUP_IDS)
    why = None
    if view["status"] in (org.IN_PROGRESS, org.FAILED, org.EXPIRED):
        why = "it is %s (only COMPLETE and INCOMPLETE backups can be restored)" % view["service_status"]
    elif view["status"] not in (org.COMPLETE, org.INCOMPLETE):
        why = "its status %s is not one a restore can start from" % view["service_status"]
    elif view["created"] is not None and api.now() - view["created"] > RETENTION_SECONDS:
        why = "it is older than 14 days (taken %s), past Atlassian's retention" % org.field(backup, "createdAt")
    if why:
        raise TaskFailed("Refusing to restore backup %s: %s. Nothing was written." % (params["backup_id"], why),
                         status=None, failing_checks=[])
    if view["cloud_id"] == params["cloud_id"]:
        raise TaskFailed("Refusing to restore backup %s into its own site %s: the destination must be another site "
                         "of the organization. Nothing was written." % (params["backup_id"], params["cloud_id"]),
                         failing_checks=[])
    return backup, view


def run_restore(module, api, params):
    """The whole backup_restore task; returns its result or raises TaskFailed."""
    check_options(params)
    _backup, bview = check_backup(api, params)
    product = params["product"] or bview["product"]
    dest = params["cloud_id"]
    what = "the restore of backup %s into site %s" % (params["backup_id"], dest)
    result = dict(changed=False, failing_checks=[])
    if module.check_mode:
        result.update(would_restore=False, would_join=False)

    listed = api.restores(cloud_id=dest, product=product)
    for raw in listed:
        view = org.job_view(raw, org.RESTORE_IDS)
        # The destination is checked here too, in case the service ignores the cloudId filter.
        if view["backup_id"] != params["backup_id"] or org.field(raw, "destinationCloudId", "cloudId") not in (
                None, dest):
            continue
        if view["status"] not in org.TERMINAL:
            if module.check_mode:
                result["would_join"] = True
                return proceed(module, api, params, result, raw, dest,
                               "Check mode: %s is already %s (restore %s); a real run would join it%s." % (
                                   what, view["service_status"], view["id"],
                                   " and wait for it" if params["wait"] else ""))
            return proceed(module, api, params, result, raw, dest,
                           "Joined %s, already %s (restore %s)." % (what, view["service_status"], view["id"]))
        if view["status"] in (org.COMPLETE, org.INCOMPLETE) and view["created"] is not None and \
                api.now() - view["created"] < RESTORE_AGAIN_SECONDS:
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
    try:
        _restore_id, doc = started_job(
            module, api, params, doc, "restore", org.RESTORE_IDS, (params["backup_id"], dest),
            lambda: api.restores(cloud_id=dest, product=product), "GET %s/restores?cloudId=%s" % (api.org, dest),
            set(org.job_view(raw, org.RESTORE_IDS)["id"] for raw in listed),
            lambda raw: org.job_view(raw, org.RESTORE_IDS)["backup_id"] in (params["backup_id"], None), api.restore)
    except TaskFailed as exc:
        raise TaskFailed(exc.msg, **dict(result, **exc.fields))
    return proceed(module, api, params, result, doc, dest, "Started %s." % what)


def proceed(module, api, params, result, doc, dest, how):
    """Consent to the failing checks the user listed, then wait for the restore and fetch its report.

    In check mode nothing is sent and nothing is waited for: the restore is reported as read.
    """
    restore_id = org.job_view(doc or {}, org.RESTORE_IDS)["id"]
    if not restore_id:
        raise TaskFailed("The service answered the restore without a restore id: %s" % org.clip(str(doc)), **result)
    result.update(restore_id=restore_id)
    if not org.job_view(doc or {}, org.RESTORE_IDS)["status"] and not module.check_mode:
        # Known by its id only (its first read was a transient answer): its validation checks are in the document.
        doc = read_until_status("Restore %s" % restore_id, lambda: api.restore(restore_id), org.RESTORE_IDS, params,
                                api.client.clock, api.client.sleep)
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
    if not module.check_mode:
        how += " The restore is %s." % result["service_status"]
    result["msg"] = how
    return result


def set_restore(result, doc):
    view = org.job_view(doc or {}, org.RESTORE_IDS)
    result.update(status=view["status"], service_status=view["service_status"], restore=doc)
