#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: link_update
short_description: Update the links that still point at the source after a migration (Atlassian's link-update API)
version_added: 0.3.0
description:
  - After a migration from Data Center to Cloud or from one Cloud site to another, links in the destination keep
    pointing at the source. This module schedules one of Atlassian's link-update jobs for one product of the
    destination site (C(POST https://api.atlassian.com/links/v1/{siteId}/jobs/cma)) and waits for it (C(GET
    .../links/v1/{siteId}/jobs/status/{jobId})) until it is C(Complete) or C(Error).
  - It returns the job's id, its status and, when the status answer carries them, the links to its reports.
  - Atlassian says jobs may be run again as often as needed, links already updated being skipped. So a re-run is
    safe but not free, since it scans the product again. Give O(job_id) to wait for a job scheduled earlier instead
    of scheduling another.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.org_connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_org
attributes:
  check_mode:
    support: full
    details:
      - Sends no POST. A new job is described (RV(request), RV(would_start)); a job given by O(job_id) is read once
        and never waited for.
  diff_mode:
    support: none
options:
  org_id:
    description:
      - The organization's id, as in the URL of admin.atlassian.com (C(admin.atlassian.com/o/<org_id>/...)).
      - Required, as for every module of the C(group/atlassian_ops.backup.org) action group. If not set, the value of
        the E(ATLASSIAN_ORG_ID) environment variable is used. The link API's paths name the site (O(cloud_id)), not
        the organization, so the value goes to no request.
  api_base_url:
    description:
      - Base URL of the organization-level Backup & Restore API. The link API is on the same host; its base URL is
        this one with the path C(/public/backup-management/v2) replaced by C(/links/v1) (by default
        C(https://api.atlassian.com/links/v1)). A URL that ends in C(/links/v1) is taken as it is.
      - If not set, the value of the E(ATLASSIAN_BACKUP_API_URL) environment variable is used, else the default.
  cloud_id:
    description:
      - The cloud id of the site whose links are updated (the destination of the migration), which the API calls
        the site id. C(https://<site>/_edge/tenant_info) shows it.
    type: str
    required: true
    aliases: [site_id]
  product:
    description:
      - The product whose links are updated, sent as C(Jira) or C(Confluence).
      - Required to schedule a job (the API's own default, Jira, is never relied on); with O(job_id) it may be left
        out.
    type: str
    choices: [jira, confluence]
  product_url:
    description:
      - The URL of the cloud product whose links are updated (C(productURL)), for example
        V(https://example-new.atlassian.net).
      - Required to schedule a job.
    type: str
  destination_url:
    description:
      - The URL of the cloud product the links will point to (C(destinationURL)).
      - The same as O(product_url) for links inside the product (local links); another cloud product's URL for links
        to it (remote links), for example Jira issues that link to Confluence pages moved to another site.
      - Default O(product_url).
    type: str
  migrated_from:
    description:
      - The base URL of the instance the data was migrated from (C(migratedFrom)). Links that point at it are
        updated. For a migration from Data Center, its base URL (for example
        V(https://wiki.example.com/confluence)); for one between Cloud sites, the source site's URL.
      - Required to schedule a job.
    type: str
  migrated_from_override:
    description:
      - Sent as C(migratedFromOverride), as given, when set. An optional field of the request whose meaning the
        parts of Atlassian's pages this collection could check do not give (C(docs/link_update.md)); leave it unset
        unless Atlassian tells you a value.
    type: str
  recreate_as_remote:
    description:
      - Sent as C(recreateAsRemote) when set. With V(true), links between issues that were local before a Jira Data
        Center instance was split into several cloud sites (federated instances) are recreated as remote links and
        updated to their new destinations.
      - Atlassian supports it for Jira only (refused for Confluence before any request), for migrations from Data
        Center only, within 2 weeks of the migration, and after the app links were authorized.
    type: bool
  create_backup:
    description:
      - Sent as C(createBackup) when set. An optional field of the request whose meaning the parts of Atlassian's
        pages this collection could check do not give (C(docs/link_update.md)).
    type: bool
  job_id:
    description:
      - The id of a link-update job scheduled earlier (RV(job_id) of an earlier run). The task reads and waits for
        that job and schedules nothing; O(product), O(product_url) and O(migrated_from) may then be left out.
      - A run that failed after scheduling its job names the job's id; give it here to wait for that job.
    type: str
notes:
  - Atlassian's prerequisites are an organization admin or site admin who is also an admin of the product whose links
    are updated, an app link between that product and the destination product (created automatically within one
    site), and an API token of that account (basic authentication, O(username) and O(api_token)).
  - The statuses are C(Pending) (waiting in the queue), C(Backup) (not started because a Cloud backup is in
    progress), C(In_progress), C(Retry) (a batch of links is tried again), C(Complete) and C(Error) (the job could not
    be started or completed), in any case. C(Error) fails the task; any status the documentation does not name counts
    as running until O(wait_timeout).
  - The shape of the status answer is not documented. The status is read under C(status) first; when it is missing,
    by shape (a key named like status or state, in the answer or inside a wrapper), and the field used is named in a
    warning. The job's id in the start answer is read under C(uuid) first, then by shape in the same way.
  - The API documents no list of jobs. When the start answer names no job id, the job cannot be found again. The task
    fails saying that the job has probably started, quoting the answer, and schedules nothing more; look in the
    Product links view of admin.atlassian.com.
  - Atlassian documents a history report and an audit log per job, downloaded with requests of their own; the module
    returns, in RV(report_urls), the links the status answer carries, if any.
seealso:
  - module: atlassian_ops.backup.backup_restore
  - name: Update links with REST API
    description: Atlassian's page on scheduling link-update jobs, its prerequisites and request body.
    link: https://developer.atlassian.com/cloud/migration/update-product-links/
  - name: Check the status and results
    description: The status request, the statuses and the reports of a link-update job.
    link: https://developer.atlassian.com/cloud/migration/check-the-status-and-results/
  - name: Update links to federated instances
    description: Recreating local Jira links as remote links after splitting a Data Center instance.
    link: https://developer.atlassian.com/cloud/migration/update-links-to-federated-instances/
"""

EXAMPLES = r"""
- name: After the Cloud-to-Cloud restore, point the new site's links at the new site
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Confluence pages that link to pages of the old site
      atlassian_ops.backup.link_update:
        cloud_id: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
        product: confluence
        product_url: https://example-new.atlassian.net
        migrated_from: https://example.atlassian.net
        wait_timeout: 4h
      register: confluence_links

    - name: The job and where its reports are
      ansible.builtin.debug:
        msg: "Job {{ confluence_links.job_id }} is {{ confluence_links.status }}: {{ confluence_links.report_urls }}"

- name: From Data Center - schedule the update of Jira's links to the migrated Confluence now, wait for it later
  module_defaults:
    group/atlassian_ops.backup.org:
      org_id: 0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Schedule it
      atlassian_ops.backup.link_update:
        cloud_id: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
        product: jira
        product_url: https://example-new.atlassian.net
        migrated_from: https://wiki.example.com/confluence
        wait: false
      register: jira_links

    - name: Wait for exactly that job (without job_id, a re-run would schedule another one)
      atlassian_ops.backup.link_update:
        cloud_id: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
        job_id: "{{ jira_links.job_id }}"
        wait_timeout: 8h
"""

RETURN = r"""
job_id:
  description: The id of the link-update job scheduled, or given as O(job_id).
  returned: when there is a job (not in check mode without O(job_id))
  type: str
  sample: b0476a8b-4cc4-4818-a7b4-2fa08cd7703a
cloud_id:
  description: The site whose links are updated.
  returned: always
  type: str
  sample: b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b
product:
  description: The product whose links are updated, as given.
  returned: when O(product) is given
  type: str
  sample: confluence
status:
  description:
    - The job's status in upper-snake case (V(PENDING), V(BACKUP), V(IN_PROGRESS), V(RETRY), V(COMPLETE), V(ERROR)),
      or the service's own word folded so; V(null) when the job's first read after scheduling got no readable answer
      and O(wait=false).
  returned: when there is a job
  type: str
  sample: COMPLETE
service_status:
  description: The status exactly as the service wrote it.
  returned: when there is a job
  type: str
  sample: Complete
job:
  description: The job's status answer as the API last returned it.
  returned: when the job's status was read
  type: dict
  sample: {"uuid": "b0476a8b-4cc4-4818-a7b4-2fa08cd7703a", "status": "Complete"}
report_urls:
  description:
    - The links to the job's reports (the history report, the audit log) that the status answer carries, by the
      path of the field that held each one; empty when it carries none.
  returned: when the job's status was read
  type: dict
  sample: {"historyReportUrl": "https://api.atlassian.com/links/v1/b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b/history.csv"}
request:
  description: The body sent to schedule the job, or in check mode the body a real run would send.
  returned: when a job is scheduled, or would be in check mode
  type: dict
  sample:
    product: Confluence
    productURL: https://example-new.atlassian.net
    destinationURL: https://example-new.atlassian.net
    migratedFrom: https://example.atlassian.net
would_start:
  description: In check mode, whether a real run would schedule a job (false with O(job_id)).
  returned: in check mode
  type: bool
  sample: true
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: >-
    Scheduled link-update job b0476a8b-4cc4-4818-a7b4-2fa08cd7703a for the Confluence links of site
    b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b; it is Complete (completed; the results are ready to view) after waiting.
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
  sample: https://api.atlassian.com/links/v1/b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b/jobs/cma
http_status:
  description: The HTTP status of the answer that failed.
  returned: on failure, when the service answered
  type: int
  sample: 401
response:
  description: A short, redacted excerpt of the service's answer to the request that failed.
  returned: on failure, when the service answered
  type: str
  sample: '{"code":401,"message":"Unauthorized"}'
request_id:
  description: The service's request or trace id of the answer that failed, for Atlassian support.
  returned: on failure, when the service sent one
  type: str
  sample: 7f3a9c1e5b2d4f60
"""

from ansible_collections.atlassian_ops.backup.plugins.module_utils.links.update import run_link_update

ARGUMENT_SPEC = dict(
    cloud_id=dict(type="str", required=True, aliases=["site_id"]),
    product=dict(type="str", choices=["jira", "confluence"]),
    product_url=dict(type="str"),
    destination_url=dict(type="str"),
    migrated_from=dict(type="str"),
    migrated_from_override=dict(type="str"),
    recreate_as_remote=dict(type="bool"),
    create_backup=dict(type="bool"),
    job_id=dict(type="str"),
)


def main():
    run_link_update(ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
