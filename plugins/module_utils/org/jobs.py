# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the organization-level workflows share beyond the endpoints: finding a policy, waiting for a job, and the
export and import workflow (``transfer``).

No Ansible imports: the modules pass plain parameters, the API object and the client's clocks. In check mode a
running job is read once and reported (``would_join``), never waited for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianApiError
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import format_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import (
    DONE,
    FAILED,
    RUNNING,
    JobFailed,
    WaitTimeout,
    poll_until,
)

DONE_STATUSES = (org.COMPLETE, org.INCOMPLETE)
FAILED_STATUSES = (org.FAILED, org.EXPIRED, org.CANCELLED, org.VALIDATION_FAILED)


def find_policy(api, cloud_id, product):
    """The policy of a site and product among all the organization's policies (every page), or None."""
    for raw in api.policies():
        view = org.policy_view(raw)
        if view["cloud_id"] == cloud_id and view["product"] == product:
            return raw
    return None


def resolve_policy(api, params):
    """The policy named by ``policy_id``, or found by ``cloud_id`` + ``product``. Fails clearly when absent."""
    if params.get("policy_id"):
        raw = api.policy(params["policy_id"])
        if raw is None:
            raise TaskFailed("No backup policy %s in organization %s. List them with backup_info "
                             "(resource: policies)." % (params["policy_id"], params["org_id"]))
        return raw
    raw = find_policy(api, params["cloud_id"], params["product"])
    if raw is None:
        raise TaskFailed("The organization has no %s backup policy for site %s. Create it with backup_policy "
                         "first." % (params["product"], params["cloud_id"]))
    return raw


def describe(doc, id_keys):
    view = org.job_view(doc or {}, id_keys)
    text = view["service_status"] or "no status"
    if view["message"]:
        text += " (the service said: %s)" % view["message"]
    return text


def wait_job(what, fetch, id_keys, params, clock, sleep, log=None):
    """Poll ``fetch()`` (the job's document) until its status is terminal; return the last document.

    COMPLETE and INCOMPLETE end the wait; FAILED, EXPIRED, CANCELLED and VALIDATION_FAILED fail it with the
    service's words; any other status, known or not, counts as still running until ``wait_timeout``.
    Transient errors are absorbed by the waiter within the same budget.
    """

    def classify(doc):
        if doc is None:
            raise TaskFailed("%s disappeared while waiting for it (the API answered 404)." % what)
        status = org.job_view(doc, id_keys)["status"]
        if status in DONE_STATUSES:
            return DONE
        if status in FAILED_STATUSES:
            return FAILED
        return RUNNING

    def on_poll(doc, elapsed):
        if log:
            log("%s: %s after %d s" % (what, describe(doc, id_keys), elapsed))

    try:
        final, _elapsed, _polls = poll_until(fetch, classify, params["wait_timeout"], params["poll_interval"],
                                             clock=clock, sleep=sleep, on_poll=on_poll,
                                             describe=lambda doc: describe(doc, id_keys))
    except JobFailed as exc:
        view = org.job_view(exc.last or {}, id_keys)
        raise TaskFailed("%s ended as %s." % (what, describe(exc.last, id_keys)), status=view["status"],
                         service_status=view["service_status"])
    except WaitTimeout as exc:
        view = org.job_view(exc.last or {}, id_keys)
        raise TaskFailed("%s is not finished after wait_timeout (%s): %s It keeps running; run the task again to "
                         "wait for it." % (what, format_duration(params["wait_timeout"]), exc.message),
                         status=view["status"], service_status=view["service_status"])
    return final


# export: Atlassian storage -> the policy's external storage; import: back again (seed 001).
TRANSFERS = {
    "export": {"ids": org.EXPORT_IDS, "list": "exports", "get": "export", "start": "start_export",
               "words": "exported to the policy's external storage"},
    "import": {"ids": org.IMPORT_IDS, "list": "imports", "get": "import_", "start": "start_import",
               "words": "imported from the external storage into Atlassian's"},
}


def transfer(kind, module, api, params):
    """Export or import one backup, once: an existing transfer of that backup is returned or joined."""
    spec = TRANSFERS[kind]
    backup_id = params["backup_id"]
    cloud_id, product = params.get("cloud_id"), params.get("product")
    if not (cloud_id and product):
        backup = api.backup(backup_id)
        if backup is None:
            raise TaskFailed("No backup %s in organization %s." % (backup_id, params["org_id"]))
        view = org.job_view(backup, org.BACKUP_IDS)
        cloud_id, product = cloud_id or view["cloud_id"], product or view["product"]
    what = "the %s of backup %s" % (kind, backup_id)
    result = {"changed": False, "backup_id": backup_id, "cloud_id": cloud_id, "product": product}
    if module.check_mode:
        result.update(would_start=False, would_join=False)

    existing = []
    for raw in _listed(api, spec, module):
        view = org.job_view(raw, spec["ids"])
        if view["backup_id"] == backup_id and view["status"] not in FAILED_STATUSES:
            existing.append((view, raw))
    existing.sort(key=lambda pair: pair[0]["created"] or 0, reverse=True)
    if existing:
        view, raw = existing[0]
        how = "Backup %s was already %s (%s %s, %s)." % (
            backup_id, spec["words"], kind, view["id"], view["service_status"])
        return _transfer_wait(kind, module, api, params, result, cloud_id, raw, how)
    if module.check_mode:
        return dict(result, changed=True, would_start=True, msg="Check mode: would start %s." % what)
    status, doc = getattr(api, spec["start"])(product, cloud_id, backup_id)
    if status >= 400:
        raise TaskFailed("The service refused %s: HTTP %s \"%s\"." % (what, status, org.refusal_text(doc)),
                         http_status=status, **result)
    items = [] if doc is None else [doc] if _single(doc, spec) else org.items_of(doc, kind + "s")
    started = next((raw for raw in items if org.job_view(raw, spec["ids"])["backup_id"] in (backup_id, None)),
                   items[0] if items else None)
    if not started or not org.job_view(started, spec["ids"])["id"]:
        raise TaskFailed("The service accepted %s but its answer names no %s id: %s" % (
            what, kind, org.clip(str(doc))), **result)
    result["changed"] = True
    return _transfer_wait(kind, module, api, params, result, cloud_id, started,
                          "Started %s %s of backup %s." % (kind, org.job_view(started, spec["ids"])["id"], backup_id))


def _listed(api, spec, module):
    """The organization's transfers of this kind; [] (with a warning) where the service has no such list."""
    try:
        return getattr(api, spec["list"])()
    except AtlassianApiError as exc:
        if exc.status != 404:
            raise
        module.warn("The service has no list of %s (HTTP 404), so an earlier one of this backup cannot be found; "
                    "starting one." % spec["list"])
        return []


def _single(doc, spec):
    return isinstance(doc, dict) and org.field(doc, *spec["ids"]) is not None


def _transfer_wait(kind, module, api, params, result, cloud_id, doc, how):
    """Wait for the transfer unless it is done; in check mode read once and never wait."""
    spec = TRANSFERS[kind]
    job_id = org.job_view(doc, spec["ids"])["id"]
    running = org.job_view(doc, spec["ids"])["status"] not in DONE_STATUSES
    if module.check_mode and running:
        result["would_join"] = True
        how = "Check mode: %s %s of backup %s is %s; a real run would join it%s." % (
            kind, job_id, result["backup_id"], org.job_view(doc, spec["ids"])["service_status"],
            " and wait for it" if params["wait"] else "")
    elif params["wait"] and running:
        doc = wait_job("%s %s" % (kind.capitalize(), job_id), lambda: getattr(api, spec["get"])(cloud_id, job_id),
                       spec["ids"], params, api.client.clock, api.client.sleep, module.debug)
        how += " It is %s after waiting." % org.job_view(doc, spec["ids"])["service_status"]
    view = org.job_view(doc, spec["ids"])
    result.update({kind + "_id": job_id, "status": view["status"], "service_status": view["service_status"],
                   kind: doc, "msg": how})
    return result
