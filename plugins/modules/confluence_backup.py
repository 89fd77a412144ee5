#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_backup
short_description: Take, wait for and download a verified Confluence site or space backup (Cloud and Data Center)
version_added: 0.3.0
description:
  - On Confluence Cloud (O(deployment=cloud), the default) it starts a site backup through the backup manager API
    (the one behind C(/wiki/plugins/servlet/ondemandbackupmanager/admin)), waits for it, downloads it and verifies it.
  - On Confluence Data Center 8.3 and later (O(deployment=datacenter)) it starts a site or space backup job through
    the backup and restore REST API (C(/rest/api/backup-restore)), waits while it is C(QUEUED) and C(PROCESSING)
    (Confluence runs one job at a time), and downloads it from C(/jobs/<id>/download) the same way.
  - Idempotent. When O(dest) already holds a verified backup of this site (on Data Center, of the same O(scope) and
    O(space_keys)) younger than O(max_age), nothing is called on the site and the task reports no change.
  - A backup that is already running on the site (started by a person or another job) is joined, not failed.
    On Data Center a space backup of exactly the same spaces is joined (Confluence answers a second one with HTTP
    409); a site backup is joined only when this account started it (the API does not say whether another user's
    skips attachments).
  - On Cloud, when the site refuses a new backup because of its frequency limit (about one every 24 to 48 hours), the newest
    completed backup it still holds is downloaded instead, unless O(on_frequency_limit) says otherwise.
  - Each backup lands as C(confluence-<site host>-<UTC timestamp>.zip) (a Data Center space backup as
    C(confluence-<host>-space-<keys>-<UTC timestamp>.zip)), written to a C(.part) file first and renamed
    only after its size, sha256 and zip structure were checked, with a C(sha256sum)-format C(.sha256) file and a
    JSON manifest beside it. Files are created with mode C(0600).
  - The download uses O(download_connections) parallel byte-range requests into one preallocated partial file, and
    falls back to one stream when the server answers no ranges. Interrupted downloads resume, within the run and on
    the next run, fetching only the missing bytes. A signed download link that expires is fetched again from the site.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.download
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_site
attributes:
  check_mode:
    support: full
    details:
      - Check mode never starts a backup (that would use up the site's daily quota) and never downloads.
      - It reads the site's backup progress (on Data Center, the list of queued and running jobs), which changes
        nothing, and reports what a real run would do in RV(would_trigger) and RV(would_download).
  diff_mode:
    support: none
options:
  include_attachments:
    description:
      - Whether the backup includes attachments. Backups without attachments are much smaller.
      - On Data Center it is sent as C(skipAttachments) for a site backup; space backups always include them.
    type: bool
    default: true
  scope:
    description:
      - V(site) backs up the whole site, V(space) the spaces in O(space_keys).
      - V(space) works with O(deployment=datacenter) only; Cloud backups are site backups.
    type: str
    choices: [site, space]
    default: site
  space_keys:
    description:
      - The keys of the spaces to back up, for O(scope=space) (required then). The order does not matter.
      - A non-administrator may back up the spaces they have export permission for.
    type: list
    elements: str
  keep_permanently:
    description:
      - Data Center only. Ask Confluence to keep the backup file on the server for good; otherwise it deletes it
        at the job's C(fileDeleteTime), 72 hours after it was made by default.
    type: bool
    default: false
  job_id:
    description:
      - Data Center only. Wait for this backup job, started earlier (for example by a run with O(wait=false)), and
        download it, instead of starting one. Its scope and spaces are the job's; O(max_age) is not looked at.
    type: int
  file_name_prefix:
    description:
      - Data Center only. A prefix Confluence puts in front of the backup's file name on the server (letters, digits,
        C(.), C(_) and C(-)). The local file name does not change.
    type: str
  dest:
    description:
      - Folder, on the host that runs the module, where backups are stored. It is created (mode C(0700)) if missing.
      - Required when O(download=true) and O(wait=true).
    type: path
  max_age:
    description:
      - When O(dest) holds a verified backup of this site younger than this, do nothing and make no API call.
      - Seconds, or a duration such as V(24h), V(36h) or V(2d). Omit it to always ask the site.
    type: raw
  download:
    description:
      - Whether to download the finished backup to O(dest).
    type: bool
    default: true
  on_frequency_limit:
    description:
      - Cloud only. What to do when the site refuses a new backup because of its frequency limit.
      - V(use_latest) downloads the newest completed backup the site still holds (if O(dest) does not have it yet)
        and fails if the site holds none.
      - V(skip) ends the task without a change.
      - V(fail) fails the task.
      - In every case RV(next_allowed_at) says when the next backup is allowed.
    type: str
    choices: [use_latest, skip, fail]
    default: use_latest
  start_timeout:
    description:
      - Cloud only. After this run's start request, how long the site may go on showing no backup (its idle answer) or only the
        backup from before the request, before the task fails saying what the site showed. A backup from before the
        request is never returned as this run's.
      - The service answers a start in three ways seen in the wild (HTTP 200 with an empty body, HTTP 200 or HTTP 406
        with a C(Backup is already in progress. CloudHistory{...}) text); in every case the module waits for a backup
        other than the one the site showed before the request.
      - Seconds, or a duration such as V(90s), V(15m) or V(1h).
    type: raw
    default: 15m
  verify:
    description:
      - How the downloaded zip is checked before it is given its final name, in addition to its size and sha256.
      - V(structure) reads the zip's central directory and checks that every member path stays inside the archive.
      - V(full) also reads every member and checks its CRC, which reads the whole file a second time.
    type: str
    choices: [structure, full]
    default: structure
notes:
  - With O(deployment=datacenter), a job is read under the documented C(JobDetails) names (C(id), C(jobState));
    where the start answer or C(GET jobs/{id}) names them otherwise, they are read by shape (issue 19; the job
    inside a list or a C(result)/C(data) nesting, its id under any key ending in C(id)/C(Id)/C(ID), its state under
    any key named like status or state, any case), and a warning names each field path read so, once per run.
    The Cloud C(getprogress) names are attested by several clients and read by name only.
  - The backup manager API of Confluence Cloud is not documented or supported by Atlassian; it can change without
    notice. This module follows its behaviour as observed by many clients and reports unknown answers verbatim.
  - Atlassian keeps one backup per site for about 14 days and allows a new one about every 24 to 48 hours.
  - On Data Center, Atlassian's own advice is that XML backups do not replace database and home-directory backups
    for production; the scheduled XML backup of 8.x was removed in 9.0 and this API replaces it.
  - On Data Center a job fails when Confluence restarts during it; run the task again.
  - Run the module where the backups should be stored, usually with C(delegate_to=localhost) or on a backup host.
  - Creating a backup can take hours. For very long runs in AWX/AAP use a job timeout above O(wait_timeout), or
    C(async) with C(poll).
seealso:
  - name: Reference of the Atlassian backup APIs
    description: What this collection knows about the endpoints, their answers and limits.
    link: https://github.com/atlassian-ops/backup/blob/main/docs/confluence_cloud.md
"""

EXAMPLES = r"""
- name: Nightly backup, the connection set once for the Cloud modules (TLS and timeouts for every module)
  module_defaults:
    group/atlassian_ops.backup.atlassian:
      timeout: 60
    group/atlassian_ops.backup.cloud:
      url: https://example.atlassian.net
      username: backup-bot@example.com
      api_token: "{{ vault_confluence_api_token }}"
  block:
    - name: Take and download a backup unless one younger than 24 h is already there
      atlassian_ops.backup.confluence_backup:
        dest: /srv/backups/confluence
        max_age: 24h
      register: backup

    - name: Show where it landed
      ansible.builtin.debug:
        msg: "{{ backup.path }} ({{ backup.size }} bytes, sha256 {{ backup.sha256 }})"

- name: Credentials from the environment (ATLASSIAN_URL, ATLASSIAN_USERNAME, ATLASSIAN_API_TOKEN)
  atlassian_ops.backup.confluence_backup:
    dest: /srv/backups/confluence
    include_attachments: false
    on_frequency_limit: skip

- name: Start a backup now and download it in a later job; no_log hides the whole task, token included
  atlassian_ops.backup.confluence_backup:
    url: https://example.atlassian.net
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
    wait: false
  no_log: true

- name: The later job joins that backup (or takes the site's latest), waits for it and downloads it
  atlassian_ops.backup.confluence_backup:
    url: https://example.atlassian.net
    username: backup-bot@example.com
    api_token: "{{ vault_confluence_api_token }}"
    dest: /srv/backups/confluence
  no_log: true

- name: Report what would happen, without starting anything
  atlassian_ops.backup.confluence_backup:
    dest: /srv/backups/confluence
  check_mode: true
  register: plan

- name: Data Center site backup with a personal access token (or ATLASSIAN_PAT in the environment)
  atlassian_ops.backup.confluence_backup:
    deployment: datacenter
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    dest: /srv/backups/confluence-dc
    max_age: 24h
    wait_timeout: 12h

- name: Data Center backup of two spaces, kept on the server too, as a space administrator with a password
  atlassian_ops.backup.confluence_backup:
    deployment: datacenter
    url: https://wiki.example.com/confluence
    username: jdoe
    api_token: "{{ vault_jdoe_password }}"
    scope: space
    space_keys: [DOC, TEAM]
    keep_permanently: true
    file_name_prefix: nightly-
    dest: /srv/backups/confluence-dc
"""

RETURN = r"""
changed:
  description: Whether a backup was started or a file was written.
  returned: always
  type: bool
  sample: true
triggered:
  description: Whether this run started a new backup on the site (false when it joined one or used the latest).
  returned: always
  type: bool
  sample: true
path:
  description: Path of the verified backup zip in O(dest).
  returned: when a backup is in O(dest)
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261121T020304Z.zip
size:
  description: Size of the backup in bytes.
  returned: when a backup is in O(dest)
  type: int
  sample: 10786224128
sha256:
  description: SHA-256 of the backup, also written to the C(.sha256) file beside it.
  returned: when a backup is in O(dest)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
file_name:
  description: The file name the service gave the backup (its C(fileName); on Data Center the job's C(fileName)).
  returned: when the site reported one
  type: str
  sample: temp/filestore/f414ec92-8c55-4f39-9c3a-c3fb80968852
backup_id:
  description:
    - The backup's identifier. On Cloud, its file name without the C(temp/filestore/) prefix; on Data Center,
      C(<site label>/jobs/<job id>/<file name>).
  returned: when the site reported one
  type: str
  sample: f414ec92-8c55-4f39-9c3a-c3fb80968852
backup_time:
  description: When the site finished the backup (UTC, ISO 8601), from the service's C(time) (Data Center
    C(finishProcessingTime)).
  returned: when known
  type: str
  sample: "2026-11-21T02:03:04Z"
include_attachments:
  description:
    - Whether the downloaded backup holds attachments, as taken, not as asked; the manifest records the same (with
      C(include_attachments_from)). The archive's C(exportDescriptor.properties) (C(backupAttachments)) says so;
      without it, the request of this run when it started the backup. Null when neither tells (a joined backup
      whose archive does not say).
    - When it differs from O(include_attachments) (a backup started by someone else, or the newest one the site
      held under O(on_frequency_limit=use_latest)), RV(msg) says so. C(max_age) reuses only a backup taken as asked.
  returned: when a Cloud run downloaded a backup or found the site's backup already in O(dest)
  type: bool
  sample: true
status:
  description:
    - Where the backup stands, one of V(complete), V(running), V(idle), V(failed), V(frequency_limited) or
      V(not_started) (the site accepted the start request but never showed a new backup within O(start_timeout)).
    - After a start with O(wait=false) it is V(running) (the site may still show its idle answer for a moment).
    - On Data Center also V(queued) (the job waits behind another), V(cancelled), V(not_started) (HTTP 409 for a
      backup of overlapping spaces) and V(gone) (the server deleted the file before it was downloaded).
  returned: always
  type: str
  sample: complete
service_status:
  description: The service's own C(currentStatus) text (on Data Center the job's C(jobState)), as last seen.
  returned: when the site was asked
  type: str
  sample: COMPLETE
percentage:
  description: The progress the service last reported, as a number from 0 to 100.
  returned: when a Cloud site was asked
  type: int
  sample: 100
job_id:
  description: Data Center only. The id of the backup job that was started or joined.
  returned: on Data Center, when a job was started or joined
  type: int
  sample: 42
job:
  description:
    - Data Center only. The job as Confluence last described it (its C(JobDetails) in snake_case, C(space_keys) as a
      list), with the keys documented for RV(atlassian_ops.backup.confluence_job_info#module:job).
  returned: on Data Center, when a job was started or joined
  type: dict
  sample: {"id": 42, "operation": "backup", "scope": "space", "state": "FINISHED", "service_state": "FINISHED",
           "space_keys": ["DOC", "TEAM"], "owner": "admin", "file_name": "nightly-backup-space-20261122-020304.zip",
           "file_exists": true, "file_delete_time": "2026-11-25T02:03:04Z", "create_time": "2026-11-22T02:00:00Z",
           "start_processing_time": "2026-11-22T02:00:01Z", "finish_processing_time": "2026-11-22T02:03:04Z",
           "cancel_time": null, "cancelled_by": null, "error_message": null}
scope:
  description: V(site) or V(space), as asked.
  returned: on Data Center
  type: str
  sample: site
space_keys:
  description: The spaces of a space backup, sorted (null for a site backup).
  returned: on Data Center
  type: list
  elements: str
  sample: [DOC, TEAM]
backup_request:
  description:
    - The C(CloudHistory) the site returned to the start request, when it returned one (seed 000 shows it for a
      backup the request started, with HTTP 200 or 406 and the words "Backup is already in progress").
  returned: when this run sent a start request and the answer carried a C(CloudHistory)
  type: dict
  contains:
    status:
      description: The status in the answer, for example V(QUEUED).
      type: str
      sample: QUEUED
    backup_id:
      description: The service's id of the backup request (not the file id; see RV(backup_id)).
      type: str
      sample: mplus-376919eb-0000-4a3e-9a55-75329a198259
    creation_time:
      description: When the service created the request (UTC, as the service printed it, spaces removed).
      type: str
      sample: "2026-03-25T08:35:32.398721536Z"
    cloud_id:
      description: The site's cloud id.
      type: str
      sample: 6c7a6f55-1b7e-4a3e-9a55-08edb3a15371
    has_attachments:
      description: Whether the requested backup includes attachments.
      type: bool
      sample: true
backup_request_id:
  description: The same as RV(backup_request.backup_id), kept at the top level for convenience.
  returned: when this run sent a start request and the answer carried a C(CloudHistory)
  type: str
  sample: mplus-376919eb-0000-4a3e-9a55-75329a198259
start_answer:
  description:
    - Cloud. The site's raw answer to this run's start request, as the API gave it. The summary in RV(msg) says
      what it meant (for example "Started a new backup; the site acknowledged it", even when the site answered HTTP
      406 "Backup is already in progress", which is how it acknowledges a start); the same answer is kept in the
      manifest as C(start_request).
  returned: when this run sent a start request to a Cloud site
  type: dict
  contains:
    http_status:
      description: The HTTP status of the answer.
      type: int
      sample: 406
    outcome:
      description:
        - How the module read the answer. V(started) (a 2xx), V(in_progress) ("already in progress"),
          V(frequency_limited), or V(refused) (words the module does not know).
      type: str
      sample: in_progress
    message:
      description: The answer's text, cut to 500 characters.
      type: str
      sample: "Backup is already in progress. CloudHistory{cloudId='6c7a6f55-1b7e-4a3e-9a55-08edb3a15371', status='QUEUED'}"
next_allowed_at:
  description: When the site will allow the next backup (UTC, ISO 8601), parsed from its frequency-limit message.
  returned: when the site refused a backup because of its frequency limit
  type: str
  sample: "2026-11-22T06:21:00Z"
msg:
  description: What happened, in words.
  returned: always
  type: str
  sample: Started a new backup of example.atlassian.net. Downloaded 1048576 bytes to ...
create_seconds:
  description: Seconds spent waiting for the site to finish the backup.
  returned: when the task waited
  type: float
  sample: 1812.5
download_seconds:
  description: Seconds spent downloading.
  returned: when a file was downloaded
  type: float
  sample: 620.1
transfer_seconds:
  description: Seconds of the transfer itself, before the fsync and the zip check that RV(download_seconds) includes.
  returned: when a file was downloaded
  type: float
  sample: 598.7
bytes_per_second:
  description: Download throughput of this run.
  returned: when a file was downloaded
  type: int
  sample: 16588800
manifest_path:
  description: Path of the JSON manifest beside the backup (site, server file name, size, sha256, times).
  returned: when a backup is in O(dest)
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261121T020304Z.json
checksum_path:
  description: Path of the C(sha256sum)-format file beside the backup.
  returned: when a backup is in O(dest)
  type: str
  sample: /srv/backups/confluence/confluence-example.atlassian.net-20261121T020304Z.zip.sha256
download_attempts:
  description: How many HTTP requests the download took (one per segment with several connections, more after
    a lost connection or an expired link).
  returned: when a file was downloaded
  type: int
  sample: 1
resumed_from:
  description: How many bytes of a partial file left by an earlier run were kept (0 when the download started
    from scratch).
  returned: when a file was downloaded
  type: int
  sample: 0
download_connections:
  description:
    - How many connections the download used. It is 1 when the server gives no ranges or no length, and fewer than
      O(download_connections) for a small file, which is cut into segments of at least 2 MiB (a 1 MiB backup takes
      one connection).
  returned: when a file was downloaded
  type: int
  sample: 4
download_mode:
  description: V(ranges) for parallel byte ranges into a preallocated file, V(stream) for one sequential stream.
  returned: when a file was downloaded
  type: str
  sample: ranges
link_refreshes:
  description: How many times a signed download link was fetched from the site (more than 1 when a link expired
    during the transfer).
  returned: when a file was downloaded
  type: int
  sample: 1
would_trigger:
  description: In check mode, whether a real run would start a backup.
  returned: in check mode
  type: bool
  sample: true
would_download:
  description: In check mode, whether a real run would download a backup.
  returned: in check mode
  type: bool
  sample: true
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
mode:
  description: Permissions of the backup file at RV(path) (added by Ansible to every result that has a C(path)).
  returned: when a backup is in O(dest)
  type: str
  sample: "0600"
owner:
  description: Owner of the backup file at RV(path) (added by Ansible).
  returned: when a backup is in O(dest)
  type: str
  sample: backup
group:
  description: Group of the backup file at RV(path) (added by Ansible).
  returned: when a backup is in O(dest)
  type: str
  sample: backup
uid:
  description: Numeric owner of the backup file at RV(path) (added by Ansible).
  returned: when a backup is in O(dest)
  type: int
  sample: 1001
gid:
  description: Numeric group of the backup file at RV(path) (added by Ansible).
  returned: when a backup is in O(dest)
  type: int
  sample: 1001
state:
  description: V(file), the type of RV(path) (added by Ansible).
  returned: when a backup is in O(dest)
  type: str
  sample: file
failed_message:
  description: The service's C(failedMessage) for a backup it reported as FAILED.
  returned: when the site reported the backup as failed
  type: str
  sample: "Backup failed: an unexpected error occurred while exporting attachments"
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 401
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: GET
url:
  description: The URL of the request that failed, without credentials or signed tokens.
  returned: on failure of an HTTP request
  type: str
  sample: https://example.atlassian.net/wiki/rest/obm/1.0/getprogress
response:
  description: A short, redacted excerpt of the service's answer to the request that failed.
  returned: on failure, when the service answered
  type: str
  sample: '{"message":"Client must be authenticated to access this resource."}'
request_id:
  description: The service's request or trace id of the answer that failed, for Atlassian support.
  returned: on failure, when the service sent one
  type: str
  sample: 7f3a9c1e5b2d4f60
resumable:
  description: Whether a failed download left a partial file that the next run resumes.
  returned: on failure of a download
  type: bool
  sample: true
"""

import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import valid_space_key
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import (
    WAIT_SPEC,
    AtlassianModule,
    check_dest,
    module_params,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.version import COLLECTION_VERSION

ARGUMENT_SPEC = dict(
    WAIT_SPEC,
    include_attachments=dict(type="bool", default=True),
    dest=dict(type="path"),
    max_age=dict(type="raw"),
    download=dict(type="bool", default=True),
    on_frequency_limit=dict(type="str", default="use_latest", choices=["use_latest", "skip", "fail"]),
    verify=dict(type="str", default="structure", choices=["structure", "full"]),
    start_timeout=dict(type="raw", default="15m"),
    scope=dict(type="str", default="site", choices=["site", "space"]),
    space_keys=dict(type="list", elements="str", no_log=False),
    keep_permanently=dict(type="bool", default=False),
    file_name_prefix=dict(type="str"),
    job_id=dict(type="int"),
)


def build_params(module):
    p = module.params
    params = module_params(module, ("wait_timeout", "poll_interval", "start_timeout"), optional=("max_age",))
    if p["deployment"] == "cloud" and (p["scope"] != "site" or p.get("space_keys")):
        module.fail_json(msg="Confluence Cloud backups are site backups: scope: space and space_keys work with "
                             "deployment: datacenter only.")
    if p.get("job_id") is not None and p["deployment"] != "datacenter":
        module.fail_json(msg="job_id names a Data Center backup job; it works with deployment: datacenter only.")
    if p["scope"] == "space" and p.get("job_id") is None:
        keys = p.get("space_keys") or []
        if not keys:
            module.fail_json(msg="scope: space needs space_keys: the keys of the spaces to back up, for example "
                                 "[DOC, TEAM].")
        bad = [k for k in keys if not valid_space_key(k)]
        if bad:
            module.fail_json(msg="space_keys holds values that are not space keys: %s." % ", ".join(repr(k) for k in bad))
    elif p.get("space_keys"):
        module.fail_json(msg="space_keys is for scope: space; a site backup covers every space.")
    prefix = p.get("file_name_prefix")
    if prefix and not re.match(r"^[A-Za-z0-9._-]{1,100}$", prefix):
        module.fail_json(msg="file_name_prefix may hold letters, digits, '.', '_' and '-' only (up to 100), "
                             "got %r." % prefix)
    dest = p.get("dest")
    if p["download"] and p["wait"] and not dest:
        module.fail_json(msg="dest is required to download the backup: name the folder where backups are kept, "
                             "or set download: false (or wait: false) to only start it.")
    if dest:
        check_dest(module, dest)
    return params


def main():
    module = AtlassianModule(argument_spec=ARGUMENT_SPEC, downloads=True, supports_check_mode=True)
    params = build_params(module)

    def run(mod):
        if mod.datacenter:
            from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.backup import DataCenterBackup
            params["username"] = None if params.get("personal_access_token") else params.get("username")
            job = DataCenterBackup(params, mod.client(), log=mod.debug, collection_version=COLLECTION_VERSION,
                                   warn=mod.warn)
        else:
            from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud.backup import CloudBackup
            job = CloudBackup(params, mod.client(), log=mod.debug, collection_version=COLLECTION_VERSION)
        return job.run()

    result = module.run_guarded(run, "%s %s" % ("check the backups of" if module.check_mode else "back up", params["url"]))
    result["http_retries"] = module.http_retries
    module.exit_json(**result)


if __name__ == "__main__":
    main()
