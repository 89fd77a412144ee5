# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atlassian's link-update API for migrations ("Migration utility APIs", link fixing), as its pages describe it.

Sources (every fact with its page in ``docs/link_update.md`` and ``docs/emulator_evidence.md``):
U = https://developer.atlassian.com/cloud/migration/update-product-links (2023-11-10 and 2025-05-16 versions),
S = https://developer.atlassian.com/cloud/migration/check-the-status-and-results/ (2023-11-10),
F = https://developer.atlassian.com/cloud/migration/update-links-to-federated-instances (2024-02-28, 2025-05-17).
[I] marks an inference: no source says it.

* ``POST /links/v1/{siteId}/jobs/cma`` (U) with a JSON body (U: ``-H 'Content-Type: application/json'``):
  ``product`` "Jira or Confluence. The default is Jira." (U; any case accepted [I]), ``productURL``,
  ``destinationURL``, ``migratedFrom`` (U; each required here, 400 when missing or not an absolute URL [I]),
  ``migratedFromOverride``, ``recreateAsRemote``, ``createBackup`` (optional; named by the task brief of issue 21,
  not in the stored excerpts [I]). ``recreateAsRemote`` with Confluence is 400: F "You can recreate links to
  federated instances only for Jira" (the 400 is [I]). The answer carries the job's id, "you'll receive its ID in the
  response" (S), as ``{"uuid": ...}`` (issue 21's summary of the API reference; HTTP 200 [I]).
* ``GET /links/v1/{siteId}/jobs/status/{jobId}`` (S). Statuses, spelled as S lists them: Pending ("The initial
  status"), Backup ("hasn't been started, because a Cloud backup is in progress"), In_progress, Complete, Retry ("an
  issue updating a batch of links. We're trying again"), Error ("couldn't be started or completed"). The answer's
  shape is not documented: ``{"uuid", "status"}`` here, plus ``message`` on Error [I].
* Basic auth with an e-mail and an API token (U); 401 otherwise (Confluence's answer, as the other services here
  [I]). U's prerequisites ("organization admin or site admin", "admin of the product"): a user outside
  ``links_admins`` gets 403 [I]. A site the API does not know is 404 [I]; an unknown job of a known site is 404 [I].
* No job list, no history/audit download endpoints: S documents the reports but the stored copy ends before their
  paths, so none is served. With ``links_status_report_urls`` a Complete job's status answer carries two links
  [I: a test device for reading links by shape, not a documented field].
* Timing on the emulator clock (``POST /_emulator/advance`` moves it): Pending for ``links_pending_seconds``, Backup
  for ``links_backup_seconds``, In_progress (its middle third Retry with ``links_retry``) for ``links_job_seconds``,
  then ``links_outcome``. Test-only, no auth: ``POST /_emulator/links/job`` places a job (``siteId``, ``product``,
  ``age_seconds``, ``outcome``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import uuid

from aiohttp import web

PREFIX = "/links/v1"
PRODUCTS = {"jira": "Jira", "confluence": "Confluence"}
BODY_FIELDS = ("product", "productURL", "destinationURL", "migratedFrom", "migratedFromOverride", "recreateAsRemote",
               "createBackup")


class Refusal(Exception):
    """An error answer: ``{"code": status, "message": ...}`` [I]."""

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status, self.message = status, message


def _absolute(value):
    return isinstance(value, str) and re.match(r"^https?://[^\s/]+", value, re.IGNORECASE) is not None


class LinksApi(object):
    name = "links"

    def __init__(self, emulator):
        self.em = emulator
        self.reset()

    def reset(self):
        self.jobs = {}
        self.requests = []
        self.posts = 0

    # ------------------------------------------------------------ helpers
    def sites(self):
        known = self.em.config.get("links_sites")
        if known is None:
            known = [site["cloudId"] for site in self.em.config.get("org_sites") or []]
        return set(known)

    def new_job(self, site_id, body, now, outcome=None):
        cfg = self.em.config
        seconds = dict((key, float(cfg.get("links_%s_seconds" % key) or 0)) for key in ("pending", "backup", "job"))
        job = {"uuid": str(uuid.uuid4()), "siteId": site_id, "created": now, "body": dict(body),
               "pending": seconds["pending"], "backup": seconds["backup"], "run": seconds["job"],
               "retry": bool(cfg.get("links_retry")), "outcome": outcome or cfg.get("links_outcome") or "Complete",
               "message": cfg.get("links_error_message")}
        self.jobs[job["uuid"]] = job
        return job

    @staticmethod
    def status(job, now):
        """The job's status at ``now`` (S's spellings)."""
        elapsed = now - job["created"]
        if elapsed < job["pending"]:
            return "Pending"
        elapsed -= job["pending"]
        if elapsed < job["backup"]:
            return "Backup"
        elapsed -= job["backup"]
        if elapsed < job["run"]:
            third = job["run"] / 3.0
            return "Retry" if job["retry"] and third <= elapsed < 2 * third else "In_progress"
        return "Error" if str(job["outcome"]).lower() == "error" else "Complete"

    def view(self, job, now):
        status = self.status(job, now)
        answer = {"uuid": job["uuid"], "status": status}
        if status == "Error":
            answer["message"] = job["message"]
        if status == "Complete" and self.em.config.get("links_status_report_urls"):
            base = "%s://%s:%s%s/%s/jobs/%s" % (self.em.scheme, self.em.host, self.em.site_port, PREFIX,
                                                job["siteId"], job["uuid"])
            answer["historyReportUrl"] = base + "/history.csv"
            answer["auditLogUrl"] = base + "/audit.csv"
        return answer

    def start_answer(self, job):
        """The POST's answer in the shape ``links_start_answer`` asks for: ``documented`` ``{"uuid"}``; the others
        are plausible shapes the collection must read by shape or fail on honestly (issue 19)."""
        style = self.em.config.get("links_start_answer") or "documented"
        if style == "empty":
            return web.Response(status=200)
        if style == "renamed":
            return self.em.json_response({"jobId": job["uuid"]})
        if style == "nested":
            return self.em.json_response({"data": {"job": {"uuid": job["uuid"]}}})
        if style == "opaque":
            return self.em.json_response({"message": "Job scheduled."})
        return self.em.json_response({"uuid": job["uuid"]})

    async def _body(self, request):
        try:
            body = await request.json() if request.can_read_body else None
        except ValueError:
            raise Refusal(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            raise Refusal(400, "The request body must be a JSON object.")
        return body

    # ------------------------------------------------------------ handlers
    async def h_start(self, request, user, site_id, now):
        body = await self._body(request)
        product = body.get("product", "Jira")     # U: "The default is Jira."
        if not isinstance(product, str) or product.lower() not in PRODUCTS:
            raise Refusal(400, "product must be Jira or Confluence.")
        for key in ("productURL", "destinationURL", "migratedFrom"):
            if not _absolute(body.get(key)):
                raise Refusal(400, "%s must be an absolute URL." % key)
        for key in ("recreateAsRemote", "createBackup"):
            if key in body and not isinstance(body[key], bool):
                raise Refusal(400, "%s must be true or false." % key)
        if body.get("recreateAsRemote") and product.lower() != "jira":
            raise Refusal(400, "Links can be recreated as remote links only in Jira.")
        self.posts += 1
        job = self.new_job(site_id, dict((k, body[k]) for k in BODY_FIELDS if k in body), now)
        return self.start_answer(job)

    async def h_status(self, request, user, site_id, now):
        job = self.jobs.get(request.match_info["jobId"])
        if job is None or job["siteId"] != site_id:
            raise Refusal(404, "Job not found.")
        return self.em.json_response(self.view(job, now))

    def _api(self, handler):
        """Every endpoint: recorded, then Basic auth (401), the site (404), an admin (403)."""
        em = self.em

        async def endpoint(request):
            entry = {"method": request.method, "path": request.path, "authorized": False}
            self.requests.append(entry)
            user = em.check_basic_auth(request)
            if user is None:
                return em.unauthorized()
            entry["authorized"] = True
            site_id = request.match_info.get("siteId")
            try:
                if site_id not in self.sites():
                    raise Refusal(404, "Site not found.")
                admins = em.config.get("links_admins")
                if admins is not None and user not in admins:
                    raise Refusal(403, "You need to be an organization admin or site admin, and an admin of the "
                                       "product.")
                return await handler(request, user, site_id, em.now())
            except Refusal as refusal:
                return em.json_response({"code": refusal.status, "message": refusal.message}, status=refusal.status)
        return endpoint

    # ---------------------------------------------------------- test control
    def prepare_state(self):
        pass

    def state(self):
        now = self.em.now()
        jobs = [dict(self.view(job, now), siteId=job["siteId"], body=job["body"]) for job in self.jobs.values()]
        return {"links": {"jobs": jobs, "requests": list(self.requests), "posts": self.posts}}

    def routes(self):
        routes = web.RouteTableDef()
        routes.route("POST", PREFIX + "/{siteId}/jobs/cma")(self._api(self.h_start))
        routes.route("GET", PREFIX + "/{siteId}/jobs/status/{jobId}")(self._api(self.h_status))

        async def unknown(request, user, site_id, now):
            raise Refusal(404, "No such endpoint.")
        routes.route("*", PREFIX + "/{siteId}/{tail:.*}")(self._api(unknown))

        @routes.post("/_emulator/links/job")
        async def place_job(request):
            """{siteId, product, age_seconds, outcome}: a job scheduled age_seconds ago (no auth, not recorded)."""
            body = await request.json()
            site_id = body.get("siteId") or sorted(self.sites())[0]
            product = PRODUCTS.get(str(body.get("product") or "jira").lower(), "Jira")
            job = self.new_job(site_id, {"product": product}, self.em.now() - float(body.get("age_seconds", 0)),
                               outcome=body.get("outcome"))
            return self.em.json_response(self.view(job, self.em.now()))
        return routes
