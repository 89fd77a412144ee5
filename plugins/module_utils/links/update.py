# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The link_update workflow: schedule one link-update job (never two in a run), or pick up a known one by
``job_id``, and wait for it with the shared waiter; and the module runner.

Atlassian says a job may be run again as often as needed ("the already updated links will be omitted"), so a re-run
is safe but not free: it scans the product again. A run that knows its job's id (``job_id``) waits for that job
instead. A 2xx start answer means a job exists: when its id cannot be read, the task fails saying so, and does not
schedule another (the API documents no list of jobs to find it in).

No Ansible imports but through :func:`run_link_update`, which builds the module. ``module`` is only asked for
``check_mode``, ``warn`` and ``debug``. In check mode nothing is sent but GET requests: a new job is described
(``request``), a known one read once and never waited for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    AtlassianConnectionError,
    AtlassianError,
    AtlassianTimeout,
    clip,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import format_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
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
from ansible_collections.atlassian_ops.backup.plugins.module_utils.links import api as links

# Where an admin sees link updates without the API (https://developer.atlassian.com/cloud/migration: "These features
# are also available through the user interface in admin.atlassian.com"; the federated-instances page names the
# "Product links view").
UI = "the Product links view of admin.atlassian.com"
START_OPTIONS = ("product", "product_url", "migrated_from")
URL_OPTIONS = ("product_url", "destination_url", "migrated_from")


def check_options(params):
    """Before any request: what starting a job needs, URLs that are URLs, recreate_as_remote for Jira only."""
    if params.get("job_id"):
        return
    missing = [name for name in START_OPTIONS if not params.get(name)]
    if missing:
        raise TaskFailed("To schedule a link update give %s (or job_id, to wait for a job scheduled earlier)." %
                         ", ".join(missing))
    for name in URL_OPTIONS:
        value = params.get(name)
        if value and not links.is_absolute_url(value):
            raise TaskFailed("%s must be an absolute http(s) URL, for example https://example.atlassian.net (got "
                             "%r)." % (name, value))
    if params.get("recreate_as_remote") and params["product"] != "jira":
        raise TaskFailed("recreate_as_remote is for Jira only: Atlassian recreates links to federated instances in "
                         "Jira, and does not support it for Confluence and page links. Nothing was sent.")


def what_of(params):
    product = links.PRODUCTS.get(params.get("product") or "", None)
    return "the %slinks of site %s" % ((product + " ") if product else "", params["cloud_id"])


def api_error_message(exc, action, api, sent_start=False):
    """``Failed to <action>: HTTP <status> from <method> <url>. The service said: ... <what to do>``."""
    hints = {
        401: "The credentials were refused: username must be the account's e-mail address and api_token a classic "
             "API token of that account (the link API takes basic authentication with an API token).",
        403: "The account is not allowed to do this: Atlassian requires an organization admin or site admin who is "
             "also an admin of the product whose links are updated.",
        404: "Check cloud_id: it must be the id of the site whose links are updated (https://<site>/_edge/tenant_info "
             "shows it), and api_base_url: the link API was reached at %s." % api.base_url,
        429: "The service kept rate-limiting after all retries; run again later or raise retries.",
    }
    hint = hints.get(exc.status)
    if hint is None and exc.status >= 500:
        hint = "The service is unavailable; run again later."
    if sent_start and 400 <= exc.status < 500 and exc.status != 429:
        hint = ("Nothing was scheduled. " + (hint or "Check product, product_url, destination_url and migrated_from "
                                             "against the service's words."))
    elif sent_start and exc.status >= 500:
        hint = ("The job may or may not have been scheduled: look in %s before running the task again. " % UI +
                (hint or ""))
    msg = "Failed to %s: HTTP %s%s from %s %s." % (action, exc.status, (" " + exc.reason) if exc.reason else "",
                                                   exc.method, exc.url)
    if exc.body:
        msg += " The service said: %s" % exc.body
    return msg + (" " + hint.strip() if hint else "")


def first_look(api, job_id):
    """The job's status answer, or None when the read was transient (the wait reads it again)."""
    try:
        return api.job(job_id), True
    except AtlassianError as exc:
        if is_transient(exc):
            return None, False
        raise


def update_links(module, api, params):
    """The whole link_update task; returns its result or raises TaskFailed."""
    what = what_of(params)
    result = {"changed": False, "cloud_id": params["cloud_id"]}
    if params.get("product"):
        result["product"] = params["product"]
    if module.check_mode:
        result["would_start"] = False
    try:
        return _update(module, api, params, result, what)
    except AtlassianApiError as exc:
        # A status read refused for good (401, 403...): the POST's own refusals are reported by _start.
        action = "read link-update job %s" % result["job_id"] if result.get("job_id") else "update %s" % what
        raise TaskFailed(api_error_message(exc, action, api), **dict(result, **exc.to_dict()))


def _update(module, api, params, result, what):
    job_id = params.get("job_id")
    started = False
    if job_id:
        result["job_id"] = job_id
        doc, answered = first_look(api, job_id)
        if answered and doc is None:
            raise TaskFailed("Site %s has no link-update job %s (the API answered 404): check job_id, and cloud_id "
                             "(the site the job was scheduled for). Nothing was scheduled." % (
                                 params["cloud_id"], job_id), **result)
        how = "Link-update job %s of %s (given as job_id: nothing was scheduled)" % (job_id, what)
    else:
        body = links.start_body(params["product"], params["product_url"],
                                params.get("destination_url") or params["product_url"], params["migrated_from"],
                                params.get("migrated_from_override"), params.get("recreate_as_remote"),
                                params.get("create_backup"))
        result["request"] = body
        if module.check_mode:
            return dict(result, changed=True, would_start=True,
                        msg="Check mode: would schedule a link update of %s (POST %s with the body in request); "
                            "nothing was sent.%s" % (what, api.start_url, " A real run would wait for it (up to "
                                                     "wait_timeout, %s)." % params["wait_timeout_text"]
                                                     if params["wait"] else ""))
        doc = _start(api, body, result, what)
        started = True
        result["changed"] = True
        job_id = api.job_id_of(doc)
        if job_id is None:
            raise TaskFailed(
                "The service accepted the link update of %s (its answer: %s) but named no job id (documented as "
                "uuid), and the API documents no list of jobs to find it in. The job has probably started: look in "
                "%s before running the task again; nothing was requested a second time." % (
                    what, api.client.redact(clip(json.dumps(doc)) if doc is not None else "(no body)"),
                    UI), status="unknown", **result)
        result["job_id"] = job_id
        doc, _answered = first_look(api, job_id)
        how = "Scheduled link-update job %s for %s" % (job_id, what)
    return _finish(module, api, params, result, job_id, doc, how, started)


def _start(api, body, result, what):
    """POST the job once. A refusal says nothing was scheduled; a lost answer says the job may exist."""
    try:
        _status, doc = api.start(body)
    except AtlassianApiError as exc:
        raise TaskFailed(api_error_message(exc, "schedule a link update of %s" % what, api, sent_start=True),
                         **dict(result, **exc.to_dict()))
    except (AtlassianTimeout, AtlassianConnectionError) as exc:
        raise TaskFailed("The request to schedule a link update of %s got no answer (%s). The job may have been "
                         "scheduled: the API documents no list of jobs to find it by, so look in %s before running "
                         "the task again (a second job does no harm, links already updated are skipped, but it scans "
                         "the product again)." % (what, exc.message, UI), status="unknown",
                         **dict(result, **exc.to_dict()))
    return doc


def _finish(module, api, params, result, job_id, doc, how, started):
    """Wait unless the job is finished (never in check mode); fail on Error; fill the result."""
    view = api.view(doc) if doc is not None else None
    # A status seen once makes a later 404 mean the job is gone; right after the start it may not be readable yet.
    seen = [view is not None and view["status"] is not None]
    finished = view is not None and view["status"] in links.DONE + links.FAILED
    waited = False
    if params["wait"] and not finished and not module.check_mode:
        doc = _wait(api, params, result, job_id, started, seen, module)
        view, waited = api.view(doc), True
    if view is None:
        # Its first read was transient and it was not waited for: the job exists, its status is not known yet.
        result.update(status=None, service_status=None)
    else:
        result.update(status=view["status"], service_status=view["service_status"], job=doc,
                      report_urls=view["report_urls"])
    if view is not None and view["status"] in links.FAILED:
        raise TaskFailed(
            "Link-update job %s of %s ended as %s. Its links are not (all) updated: see the job's history report and "
            "audit log in %s, fix the cause (Atlassian's prerequisites include an app link between the product and "
            "the destination), then run the task again without job_id: a new job skips the links already updated." % (
                job_id, what_of(params), links.describe(view), UI), **result)
    state = links.describe(view) if view is not None else "not readable yet"
    if module.check_mode:
        msg = "Check mode: %s is %s." % (how, state)
        if not finished:
            msg += (" A real run would wait for it (up to wait_timeout, %s); check mode read it once and does not "
                    "wait." % params["wait_timeout_text"]) if params["wait"] else " A real run would not wait for it."
    elif waited:
        msg = "%s; it is %s after waiting." % (how, state)
    else:
        msg = "%s; it is %s%s." % (how, state, "" if finished else ", not waited for (wait is false)")
    if view is not None and view["report_urls"]:
        msg += " Reports: %s." % ", ".join(sorted(view["report_urls"].values()))
    return dict(result, msg=msg)


def _wait(api, params, result, job_id, started, seen, module):
    """Poll the job's status until Complete or Error, within wait_timeout (transient errors absorbed)."""
    what = "Link-update job %s" % job_id

    def fetch():
        return api.job(job_id)

    def classify(doc):
        if doc is None:
            if started and not seen[0]:
                return RUNNING   # just scheduled: the status may not be readable yet
            raise TaskFailed("%s disappeared while waiting for it (the API answered 404)." % what,
                             **dict(result, status="unknown"))
        view = api.view(doc)
        seen[0] = seen[0] or view["status"] is not None
        if view["status"] in links.DONE:
            return DONE
        if view["status"] in links.FAILED:
            return FAILED
        return RUNNING

    def describe(doc):
        return links.describe(api.view(doc)) if doc is not None else "not readable yet (HTTP 404)"

    def on_poll(doc, elapsed):
        module.debug("%s: %s after %d s" % (what, describe(doc), elapsed))

    try:
        final, _elapsed, _polls = poll_until(fetch, classify, params["wait_timeout"], params["poll_interval"],
                                             clock=api.client.clock, sleep=api.client.sleep, on_poll=on_poll,
                                             describe=describe)
    except JobFailed as exc:
        return exc.last
    except WaitTimeout as exc:
        view = api.view(exc.last) if exc.last is not None else {"status": None, "service_status": None}
        raise TaskFailed("%s is not finished after wait_timeout (%s): %s It keeps running; run the task again with "
                         "job_id: %s to wait for it (without job_id the task schedules another job)." % (
                             what, format_duration(params["wait_timeout"]), exc.message, job_id),
                         **dict(result, status=view["status"], service_status=view["service_status"]))
    return final


def run_link_update(argument_spec):
    """main() of link_update: the organization API's connection (the link API is on its host), check mode, wait."""
    def call(module, params):
        check_options(params)
        api = links.LinksApi(module.client(), links.base_url_for(params["api_base_url"]), params["cloud_id"],
                             warn=module.warn)
        return update_links(module, api, params)

    run_module(argument_spec, call, "update the links", connection="org", wait=True, supports_check_mode=True)
