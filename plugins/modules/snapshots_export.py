#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: snapshots_export
short_description: Export the Snapshots app's metadata, so that snapshots survive a restore or a move of Confluence
version_added: 0.3.0
description:
  - The Confluence app Snapshots (RadBee) keeps part of its data outside Confluence (page and macro ids, version
    history, sticker assignments, the automation key registry), so a Confluence backup alone cannot bring snapshots
    back. This module asks the app's backup API for an export, waits for it and downloads it, verified, beside the
    Confluence backups.
  - The sequence is the vendor's "post, poll the task id, download the zip". When the answer to the POST is the
    file itself, that is taken.
  - Each export lands as C(snapshots-<site host>-<UTC time>.zip). It is written to a C(.part) file first and renamed
    only after its size, sha256 and every zip member's CRC were checked. A C(sha256sum)-format C(.sha256) file and a
    JSON manifest (the site, the spaces it covers, the task id, the endpoint's host) go beside it.
  - Idempotent. When O(dest) already holds a verified export of the same space selection younger than O(max_age),
    nothing is sent.
  - The space selection is checked before any request. That covers O(spaces), and every line of O(spaces_csv).
    An empty file, a value that is not a space key, a repeated key or a line with several values is reported with
    its line number.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.snapshots_connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_snapshots
attributes:
  check_mode:
    support: full
    details:
      - Checks the options, the space selection and O(dest), and reports in RV(would_export) whether a real run
        would ask for an export. It sends no request at all, because the API has no documented read-only call.
  diff_mode:
    support: none
options:
  spaces:
    description:
      - V(all) (the default) exports every space. A list of space keys exports those spaces only.
      - Cannot be combined with O(spaces_csv).
    type: raw
    default: all
  spaces_csv:
    description:
      - A one-column CSV file of space keys, on the host that runs the module. A header line such as C(key) or
        C(space key) and blank lines are skipped.
    type: path
  dest:
    description:
      - Folder where exports are stored, usually the folder of the Confluence backups. It is created (mode C(0700))
        if missing.
    type: path
    required: true
  max_age:
    description:
      - When O(dest) holds a verified export of the same spaces younger than this, do nothing and send nothing.
      - Seconds, or a duration such as V(24h) or V(2d). Omit it to always export.
    type: raw
notes:
  - Where none of the field names the module knows is in an answer, it reads the answer by shape (issue 19), as
    the task inside a one-element list or a C(result)/C(data) nesting, its id and status under any id-like or
    status-like key, the status link of the POST's answer and the download link of a finished task as the one URL
    under a key that says what it is (two different links are refused). A warning names each field path read so,
    once per run, never the URL itself.
  - The vendor documents that the backup API exists, where its URL and key come from, and the header of its other
    automation endpoints, but not the fields of its requests and answers.
  - The module sends C(POST <endpoint>) with the key header and the JSON body C({"spaceKeys":[...]}) for a
    selection, or C({}) for every space. This body is an assumption.
  - With O(wait=false) the export is asked for and not collected. The API documents no way to fetch it later, so
    the next run asks for a new one.
  - It reads the answer as either the zip itself, or a task. A task has an id under C(taskId), C(id) or C(task_id),
    and a status URL in the C(Location) header or in the body (C(statusUrl), C(links.status)...). It polls that
    URL and reads the status in any case (C(COMPLETED), C(done), C(FAILED), C(error)...). It downloads from the URL
    the status gives (C(downloadUrl), C(url), C(result.file)...), or from the status URL itself once that answers
    the zip.
  - An answer that fits none of these fails the task and quotes the body, with the key and the token removed.
    Please report such a body; see C(docs/snapshots.md) for the sources.
  - On Confluence Data Center the vendor keeps snapshot data in Confluence's own database tables, so a full site
    backup carries it; the app's backup API is documented for Cloud.
seealso:
  - module: atlassian_ops.backup.confluence_backup
  - name: Snapshots - backing up and restoring
    description: The vendor's page that describes the backup API (the source of seed 004).
    link: https://snapshots-docs.radbee.com/snapshots-cloud-manual-v2/backing-up-and-restoring-snapshots
"""

EXAMPLES = r"""
- name: Export the Snapshots metadata of every space, beside last night's Confluence backup
  atlassian_ops.backup.snapshots_export:
    url: https://example.atlassian.net
    endpoint: "{{ vault_snapshots_backup_url }}"
    api_key: "{{ vault_snapshots_api_key }}"
    dest: /srv/backups/confluence
    max_age: 24h
  register: snapshots

- name: Only the spaces listed in a CSV file (key and secret URL from SNAPSHOTS_API_KEY and SNAPSHOTS_BACKUP_URL)
  atlassian_ops.backup.snapshots_export:
    spaces_csv: /srv/backups/snapshots-spaces.csv
    dest: /srv/backups/confluence

- name: Two spaces, and report only
  atlassian_ops.backup.snapshots_export:
    spaces: [DOC, TEAM]
    dest: /srv/backups/confluence
  check_mode: true
"""

RETURN = r"""
changed:
  description: Whether an export was asked for (and downloaded).
  returned: always
  type: bool
  sample: true
path:
  description: Path of the verified export zip in O(dest).
  returned: when an export is in O(dest)
  type: str
  sample: /srv/backups/confluence/snapshots-example.atlassian.net-20261122T021500Z.zip
sha256:
  description: SHA-256 of the export, also in the C(.sha256) file beside it.
  returned: when an export is in O(dest)
  type: str
  sample: 3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea
size:
  description: Size of the export in bytes.
  returned: when an export is in O(dest)
  type: int
  sample: 183211
spaces:
  description: V(all), or the sorted list of the space keys exported.
  returned: always
  type: raw
  sample: [DOC, TEAM]
task_id:
  description: The id of the app's export task, as text (null when the app answered the file at once).
  returned: always
  type: str
  sample: 4c1e7b0a-52d4-4d59-9f0e-2b8f1c3a9d77
status:
  description:
    - V(complete) once the export is in O(dest); V(running) when not waited for or still running at O(wait_timeout);
      V(failed) when the app reported the task as failed. Null in check mode.
  returned: always
  type: str
  sample: complete
manifest_path:
  description: Path of the JSON manifest beside the export (site, spaces, task id, endpoint host, size, sha256).
  returned: when an export is in O(dest)
  type: str
  sample: /srv/backups/confluence/snapshots-example.atlassian.net-20261122T021500Z.json
checksum_path:
  description: Path of the C(sha256sum)-format file beside the export.
  returned: when an export is in O(dest)
  type: str
  sample: /srv/backups/confluence/snapshots-example.atlassian.net-20261122T021500Z.zip.sha256
export_seconds:
  description: Seconds spent waiting for the app's task.
  returned: when the task was waited for
  type: float
  sample: 41.2
download_seconds:
  description: Seconds spent downloading and checking the zip.
  returned: when an export was downloaded
  type: float
  sample: 0.8
would_export:
  description: In check mode, whether a real run would ask for an export.
  returned: in check mode, when no fresh export is in O(dest)
  type: bool
  sample: true
http_retries:
  description: How many HTTP requests were retried (throttling, unavailability, lost connections).
  returned: always
  type: int
  sample: 0
http_status:
  description: The HTTP status of the answer that made the task fail.
  returned: on failure, when an HTTP answer caused it
  type: int
  sample: 401
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: POST
url:
  description: The URL of the request that failed (masked when it is O(endpoint)).
  returned: on failure of an HTTP request
  type: str
  sample: https://snapshots.example.com/tasks/4c1e7b0a/status
response:
  description: A short, redacted excerpt of the app's answer to the request that failed.
  returned: on failure, when the app answered
  type: str
  sample: '{"message":"Invalid API key"}'
request_id:
  description: The app's request id of the answer that failed.
  returned: on failure, when the app sent one
  type: str
  sample: 1a2b3c
resumable:
  description: Whether a failed download left a partial file that the next run resumes.
  returned: on failure of a download
  type: bool
  sample: false
mode:
  description: Permissions of the export file at RV(path) (added by Ansible to every result that has a C(path)).
  returned: when an export is in O(dest)
  type: str
  sample: "0600"
owner:
  description: Owner of the export file at RV(path) (added by Ansible).
  returned: when an export is in O(dest)
  type: str
  sample: backup
group:
  description: Group of the export file at RV(path) (added by Ansible).
  returned: when an export is in O(dest)
  type: str
  sample: backup
uid:
  description: Numeric owner of the export file at RV(path) (added by Ansible).
  returned: when an export is in O(dest)
  type: int
  sample: 1001
gid:
  description: Numeric group of the export file at RV(path) (added by Ansible).
  returned: when an export is in O(dest)
  type: int
  sample: 1001
state:
  description: V(file), the type of RV(path) (added by Ansible).
  returned: when an export is in O(dest)
  type: str
  sample: file
"""

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import valid_space_key
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import check_dest, run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import read_space_csv
from ansible_collections.atlassian_ops.backup.plugins.module_utils.snapshots.export import SnapshotsExport
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.version import COLLECTION_VERSION

ARGUMENT_SPEC = dict(
    spaces=dict(type="raw", default="all"),
    spaces_csv=dict(type="path"),
    dest=dict(type="path", required=True),
    max_age=dict(type="raw"),
)


def selection(module, params):
    """The space keys asked for (None for all), checked before any request."""
    spaces = params.get("spaces")
    if params.get("spaces_csv"):
        if spaces not in (None, "all"):
            module.fail_json(msg="Give spaces or spaces_csv, not both.")
        try:
            return read_space_csv(params["spaces_csv"])
        except TaskFailed as exc:
            module.fail_json(msg=exc.msg)
    if spaces in (None, "all") or spaces == ["all"]:
        return None
    if isinstance(spaces, str):
        spaces = [part.strip() for part in spaces.split(",") if part.strip()]
    if not isinstance(spaces, list) or not spaces:
        module.fail_json(msg="spaces must be 'all' or a list of space keys, got %r." % (params.get("spaces"),))
    keys = [str(key).strip() for key in spaces]
    bad = [key for key in keys if not valid_space_key(key)]
    if bad:
        module.fail_json(msg="spaces holds values that are not space keys: %s." % ", ".join(repr(k) for k in bad))
    folded = [key.upper() for key in keys]
    repeated = sorted(set(k for k in folded if folded.count(k) > 1))
    if repeated:
        module.fail_json(msg="spaces names %s more than once." % ", ".join(repeated))
    return keys


def prepare(module, params):
    params["spaces"] = selection(module, params)
    check_dest(module, params["dest"])


def run(module, params):
    pat, site = params.get("personal_access_token"), params.get("url")
    if pat and site and urlsplit(site).hostname != urlsplit(params["endpoint"]).hostname:
        module.warn("personal_access_token (or ATLASSIAN_PAT) is sent to the Snapshots endpoint's host %s, which is not "
                    "the site's (%s). The vendor asks for a token on Confluence Data Center 9.x only; leave it unset "
                    "otherwise." % (urlsplit(params["endpoint"]).hostname, urlsplit(site).hostname))
    return SnapshotsExport(params, module.client(), log=module.debug, collection_version=COLLECTION_VERSION,
                           warn=module.warn).run()


def main():
    run_module(ARGUMENT_SPEC, run, "export the Snapshots metadata", connection="snapshots", wait=True,
               optional_durations=("max_age",), prepare=prepare, downloads=False, supports_check_mode=True)


if __name__ == "__main__":
    main()
