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

import json

from ansible_collections.atlassian_ops.backup.plugins.module_utils.org import api as org
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianApiError, AtlassianError
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import format_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.waiter import (
    DONE,
    FAILED,
    RUNNING,
    JobFailed,
    WaitTimeout,
    is_transient,
    poll_until,
)

DONE_STATUSES = (org.COMPLETE, org.INCOMPLETE)
FAILED_STATUSES = (org.FAILED, org.EXPIRED, org.CANCELLED, org.VALIDATION_FAILED)


# How many times a list is read, poll_interval apart, for a job the service accepted without naming it.
START_LISTINGS = 5


def started_job(module, api, params, doc, kind, ids, exclude, listing, listed_by, baseline, matches, fetch):
    """The document of the job a 2xx start answer stands for: never lost, never started twice.

    The answer's documented id (``ids``) first; else an id found by shape (:mod:`core.shape`), with a warning naming
    the field used; else the job is looked for in ``listing()`` (the same list the baseline ``baseline``, the ids
    seen before the POST, came from): one that is new and ``matches(raw)``, with a warning. When the list shows
    nothing new after :data:`START_LISTINGS` reads, the task fails saying that the service accepted the request,
    quoting its answer and naming the call ``listed_by`` that lists it. No second POST in any case.
    Returns ``(job id, the job's document)``: the answer's own object when it names the job by a documented
    name, else the job as ``fetch(job_id)`` reads it (a minimal document when that finds nothing yet).
    """
    plural = kind + "s"
    job_id, path = shape.find_id(doc, ids, prefer=(kind,), exclude=exclude, plural=(plural,),
                                 references=org.JOBS[kind][1])
    if job_id is not None:
        obj, _where = shape.unwrap(doc, (plural,))
        if path in ids:
            return job_id, api.read_job(obj, kind, "The service's answer to the %s start" % kind)
        module.warn("The service's answer to the %s start named the %s id at %s, not at %s: read by its shape. "
                    "Please report the field name (issue 19)." % (kind, kind, path, " or ".join(ids)))
        return job_id, first_look(fetch, job_id) or {ids[0]: job_id}
    sleep = api.client.sleep
    for attempt in range(START_LISTINGS):
        new = [raw for raw in listing() if org.job_view(raw, ids)["id"] not in baseline and matches(raw)]
        if new:
            new.sort(key=lambda raw: org.job_view(raw, ids)["created"] or 0, reverse=True)
            found = org.job_view(new[0], ids)["id"]
            module.warn("The service accepted the %s request but its answer named no %s id; found %s %s as the new "
                        "one in %s (read %d time%s)." % (kind, kind, kind, found, listed_by, attempt + 1,
                                                         "" if attempt == 0 else "s"))
            return found, first_look(fetch, found) or new[0]
        if attempt + 1 < START_LISTINGS:
            sleep(params["poll_interval"])
    raise TaskFailed("The service accepted the %s request (its answer: %s) but named no %s id, and %s showed no new "
                     "%s after %d reads, %s apart. The %s may still have started: look there (or in "
                     "admin.atlassian.com) before running the task again; nothing was requested a second time." % (
                         kind, api.client.redact(org.clip(json.dumps(doc) if doc is not None else "(no body)")), kind,
                         listed_by, kind, START_LISTINGS, format_duration(params["poll_interval"]), kind),
                     status="unknown")


def first_look(fetch, job_id):
    """The job's document right after its start, or None when the answer was a transient one (an empty 200, a
    5xx after the retries): the job is known by its id, and the wait that follows reads it again."""
    try:
        return fetch(job_id)
    except AtlassianError as exc:
        if is_transient(exc):
            return None
        raise


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


def read_until_status(what, fetch, id_keys, params, clock, sleep):
    """The job's document once it carries a status, read again (transient answers absorbed) within wait_timeout:
    for a job known only by its id (:func:`first_look` found no readable answer) whose first document matters."""

    def classify(doc):
        return DONE if doc is not None and org.job_view(doc, id_keys)["status"] else RUNNING

    try:
        doc, _elapsed, _polls = poll_until(fetch, classify, params["wait_timeout"], params["poll_interval"],
                                           clock=clock, sleep=sleep)
    except WaitTimeout as exc:
        raise TaskFailed("%s was started, but no readable status of it came within wait_timeout (%s): %s" % (
            what, format_duration(params["wait_timeout"]), exc.message), status="unknown")
    return doc


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
    listed = _listed(api, spec, module)
    for raw in listed:
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
    result["changed"] = True
    try:
        job_id, started = started_job(
            module, api, params, doc, kind, spec["ids"], (backup_id, cloud_id), lambda: _listed(api, spec, module),
            "GET %s/%ss" % (api.org, kind), set(org.job_view(raw, spec["ids"])["id"] for raw in listed),
            lambda raw: org.job_view(raw, spec["ids"])["backup_id"] in (backup_id, None),
            lambda job: getattr(api, spec["get"])(cloud_id, job))
    except TaskFailed as exc:
        raise TaskFailed(exc.msg, **dict(result, **exc.fields))
    return _transfer_wait(kind, module, api, params, result, cloud_id, started,
                          "Started %s %s of backup %s." % (kind, job_id, backup_id))


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
