# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_run workflow: reuse a recent COMPLETE backup of a policy, join a running one, or start one and wait.

No Ansible imports. ``module`` is only asked for ``check_mode``, ``warn`` and ``debug``. Ages are measured on the
service's clock (:meth:`OrgBackupApi.now`). In check mode the policy and its backups are read once and nothing is
waited for: the result says what a real run would do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.jobs import resolve_policy, started_job, wait_job
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.manifest import format_epoch

# Seed 001: "You can run a new backup 7 days after your last complete backup".
FREQUENCY_SECONDS = 7 * 86400


def check_options(params):
    """Before any request: the policy must be named."""
    if not params.get("policy_id") and not (params.get("cloud_id") and params.get("product")):
        raise TaskFailed("Name the policy: give policy_id, or cloud_id and product.")


def run_backup(module, api, params):
    """The whole backup_run task; returns its result or raises TaskFailed."""
    check_options(params)
    policy = resolve_policy(api, params)
    view = org.policy_view(policy)
    policy_id, what = view["policy_id"], "the %s backup policy of site %s" % (view["product"], view["cloud_id"])
    backups = [(org.job_view(raw, org.BACKUP_IDS), raw) for raw in api.backups(policy_id)]
    backups.sort(key=lambda pair: pair[0]["created"] or 0, reverse=True)
    # Only backups with a readable creation time can say when the next one is allowed or how old they are.
    complete = [pair for pair in backups if pair[0]["status"] == org.COMPLETE and pair[0]["created"] is not None]
    result = dict(changed=False, triggered=False, policy_id=policy_id)
    if module.check_mode:
        result.update(would_start=False, would_join=False)
    if complete:
        result["next_allowed_at"] = format_epoch(complete[0][0]["created"] + FREQUENCY_SECONDS)

    max_age = params["max_age"]
    if max_age is not None and complete and api.now() - complete[0][0]["created"] <= max_age:
        return finish(module, dict(result, msg="%s has a COMPLETE backup younger than max_age (%s); nothing "
                                               "started." % (what.capitalize(), params["max_age_text"])), complete[0][1])

    running = [pair for pair in backups if pair[0]["status"] not in org.TERMINAL]
    if running:
        return wait(module, api, params, result, running[0][1],
                    "A backup of %s was already running (%s); joined it." % (what, running[0][0]["service_status"]))
    if module.check_mode:
        refused = ""
        if complete and api.now() < complete[0][0]["created"] + FREQUENCY_SECONDS:
            refused = " The service will refuse it until %s (7 days after the last complete backup)." % (
                result["next_allowed_at"])
        return dict(result, changed=True, would_start=True,
                    msg="Check mode: would start a backup of %s.%s" % (what, refused))

    status, doc = api.start_backup(policy_id, view["cloud_id"])
    if status >= 400:
        words = org.refusal_text(doc)
        # A backup may have started in between (by a person or another job): join it.
        for raw in api.backups(policy_id):
            if org.job_view(raw, org.BACKUP_IDS)["status"] not in org.TERMINAL:
                return wait(module, api, params, result, raw,
                            "The service refused a new backup of %s (\"%s\") while one ran; joined it." % (what, words))
        when = (" The next backup is allowed from %s (7 days after the last complete one, %s)." % (
            result["next_allowed_at"], complete[0][1].get("backupId")) if complete else "")
        raise TaskFailed("The service refused to start a backup of %s: HTTP %s \"%s\".%s" % (what, status, words, when),
                         http_status=status, policy_id=policy_id, next_allowed_at=result.get("next_allowed_at"),
                         triggered=False)
    result.update(changed=True, triggered=True)
    job_id, doc = started_job(module, api, params, doc, "backup", org.BACKUP_IDS, (policy_id, view["cloud_id"]),
                              lambda: api.backups(policy_id), "GET %s/policies/%s/backups" % (api.org, policy_id),
                              set(pair[0]["id"] for pair in backups), lambda raw: True, api.backup)
    return wait(module, api, params, result, doc, "Started backup %s of %s." % (job_id, what))


def wait(module, api, params, result, doc, how):
    backup_id = org.job_view(doc, org.BACKUP_IDS)["id"]
    if module.check_mode:
        # Read once, never wait: a real run would join this backup (and wait for it unless wait is false).
        result["would_join"] = True
        how = "Check mode: %s is running (%s); a real run would join it%s." % (
            "backup %s" % backup_id, org.job_view(doc, org.BACKUP_IDS)["service_status"],
            " and wait for it" if params["wait"] else "")
    elif params["wait"]:
        doc = wait_job("Backup %s" % backup_id, lambda: api.backup(backup_id), org.BACKUP_IDS, params,
                       api.client.clock, api.client.sleep, module.debug)
        how += " It is %s after waiting." % org.job_view(doc, org.BACKUP_IDS)["service_status"]
    else:
        how += " Not waiting (wait: false)."
    return finish(module, dict(result, msg=how), doc)


def finish(module, result, doc):
    view = org.job_view(doc, org.BACKUP_IDS)
    result.update(backup_id=view["id"], status=view["status"], service_status=view["service_status"], backup=doc)
    if view["status"] == org.COMPLETE and view["created"] is not None:
        result["next_allowed_at"] = max(result.get("next_allowed_at") or "", format_epoch(view["created"] + FREQUENCY_SECONDS))
    if view["status"] == org.INCOMPLETE:
        missing = view["message"] or "the service did not say what is missing (Jira: some attachments; " \
            "Confluence: some spaces)"
        warning = "Backup %s is INCOMPLETE: %s" % (view["id"], missing)
        module.warn(warning)
        result["warning"] = warning
        result["msg"] += " " + warning + ("" if warning.endswith(".") else ".")
    if view["status"] in (org.FAILED, org.EXPIRED):
        said = (": %s" % view["message"]) if view["message"] else ""
        raise TaskFailed("Backup %s is %s%s." % (view["id"], view["service_status"], said), **result)
    return result
