#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confluence_restore
short_description: Restore a Confluence Data Center site or spaces from a backup, uploading it as a stream if need be
version_added: 0.3.0
description:
  - Restores a site or space XML backup into Confluence Data Center 8.3 or later through the backup and restore REST
    API, and waits for the restore job to finish.
  - The backup is either O(file_name), a file already in the server's restore folder
    (C(<confluence-home>/restore/site) or C(.../space)), checked against C(GET /restore/files) before anything is
    written, or O(src), a local zip uploaded to C(/restore/site/upload) or C(/restore/space/upload).
  - The upload streams the file from disk as C(multipart/form-data) with a C(Content-Length) (never chunked,
    which many proxies refuse), so a 10 GB backup is never read into memory. Its progress is in RV(upload_progress)
    (shown at C(-v)) and in the system log of the host that runs the module.
  - Before uploading, O(src) is checked locally. It must be a zip file, of the kind O(scope) asks for when its
    C(exportDescriptor.properties) says (Confluence fails a restore whose file does not match the job). When a
    C(.sha256) file (or this collection's C(.json) manifest) lies beside it, its sha256 must match.
  - A content export, the zip of M(atlassian_ops.backup.confluence_export), is not a Confluence backup and is
    refused before any request, whether its manifest beside it says so (C(kind) C(content-export)) or the zip holds
    C(export.json) at its top and no C(entities.xml); an O(file_name) named as such a zip is refused too. Its pages and
    spaces are restored with M(atlassian_ops.backup.confluence_import), from the export's folder.
  - O(src) may be an age-encrypted copy, C(<name>.zip.age), as M(atlassian_ops.backup.backup_encrypt) writes it,
    with the backup's manifest C(<name>.json) beside it. It is decrypted with the private key given at run time
    (O(identity_file) or O(identity)) into a private temporary folder (mode 0700) in O(decrypt_dir), through the
    workflow of M(atlassian_ops.backup.backup_decrypt). The sha256 of the plaintext is compared with the one the manifest
    records before anything is uploaded; the decrypted zip is then checked and uploaded like any O(src), and the
    temporary folder is deleted when the task ends, whether it passed or failed. A wrong key, a damaged copy or a
    mismatch fails the task before any request that writes, and leaves no plaintext behind. Only Data Center
    restores upload a local file; a Cloud restore (M(atlassian_ops.backup.backup_restore)) has no local source.
  - A restore replaces data. A site restore replaces the whole site, so it requires O(confirm=true) and is refused
    before any request without it.
  - A restore of the same O(file_name) that is already queued or running is joined, not started again. O(src) is
    always uploaded, because a running restore of a file with the same name may be another file. A restore that has
    finished is started again when the task runs again; guard the task (for example with C(when)) where a second
    restore would do harm.
author:
  - atlassian_ops.backup contributors (@atlassian-ops)
requirements:
  - requests >= 2.20 and requests-toolbelt >= 0.9 on the host that runs the module (usually C(localhost)).
extends_documentation_fragment:
  - atlassian_ops.backup.connection
  - atlassian_ops.backup.transport
  - atlassian_ops.backup.wait
  - atlassian_ops.backup.attributes
  - atlassian_ops.backup.attributes.action_group_datacenter
attributes:
  check_mode:
    support: full
    details:
      - Checks O(src) locally, or O(file_name) in the server's restore folder, looks for a restore of it already
        running, and reports in RV(would_restore) what a real run would do. It uploads nothing and starts nothing.
      - An encrypted O(src) (C(.age)) is decrypted in full, as in a real run, into the private temporary folder and
        checked (its sha256 against the manifest, then the zip itself), then deleted. This proves the key can
        restore the copy; it needs room for the plaintext in O(decrypt_dir) while the task runs.
  diff_mode:
    support: none
options:
  scope:
    description:
      - V(site) restores a site backup (it replaces the whole site and needs O(confirm=true)); V(space) restores a
        space backup (the spaces it holds).
    type: str
    choices: [site, space]
    required: true
  file_name:
    description:
      - The name of a backup already in the server's restore folder for O(scope).
      - Exactly one of O(file_name) and O(src) is required.
    type: str
  src:
    description:
      - A local backup zip, on the host that runs the module, to upload and restore.
      - Or its age-encrypted copy C(<name>.zip.age), with its manifest C(<name>.json) beside it (copy both from
        where they are kept, for example an off-site store). It needs O(identity_file) or O(identity).
    type: path
  identity_file:
    description:
      - For an encrypted O(src) (C(.age)), a file with the private key that decrypts it, on the host that runs the
        module, read at run time and never copied; an age identity file (C(AGE-SECRET-KEY-1...) lines, as
        C(age-keygen) writes it) or an OpenSSH private key (C(ssh-ed25519) or C(ssh-rsa)) without a passphrase.
      - One of O(identity_file) and O(identity) is required when O(src) ends in C(.age), and unused otherwise. When
        both are set (for example O(identity) from the environment), O(identity_file) is used, as in
        M(atlassian_ops.backup.backup_decrypt).
    type: path
  identity:
    description:
      - For an encrypted O(src) (C(.age)), the private key itself as text (the content of an age identity file or
        of an OpenSSH private key), for example from a vault. Never logged or returned.
      - If not set, the value of the E(ATLASSIAN_BACKUP_AGE_IDENTITY) environment variable is used.
    type: str
  decrypt_dir:
    description:
      - For an encrypted O(src), the folder in which a private temporary folder (mode 0700) receives the decrypted
        zip until the task ends. It needs room for the whole backup.
      - By default the folder of O(src) (a backups folder is private, and holds the room the backup needs). Avoid a
        C(tmpfs) such as C(/tmp) on many systems, which would hold the backup in memory.
    type: path
  skip_reindex:
    description:
      - Whether Confluence skips rebuilding the search index after the restore (faster; search results stay stale
        until the index is rebuilt).
    type: bool
    default: false
  confirm:
    description:
      - Must be V(true) for O(scope=site), because a site restore replaces everything on the site. Without it the
        task fails before any request.
    type: bool
    default: false
notes:
  - Atlassian recommends restoring a site backup into the same Confluence version it came from; space backups can
    be restored into the same or a later version.
  - The account must be a Confluence system administrator.
  - The decryption of an encrypted O(src) needs C(pyrage) >= 1.2 on the host that runs the module. The key is read
    only for the decryption and is never copied, stored, logged or returned; the host that takes and encrypts the
    backups needs only the public keys.
  - After the last byte of an upload Confluence stores and checks the file before it answers; the module waits for
    that answer for at least 10 minutes (or O(timeout), if longer).
seealso:
  - module: atlassian_ops.backup.confluence_backup
  - module: atlassian_ops.backup.confluence_job_info
  - module: atlassian_ops.backup.confluence_job
  - module: atlassian_ops.backup.backup_decrypt
  - module: atlassian_ops.backup.confluence_import
"""

EXAMPLES = r"""
- name: Restore drill on a staging server, credentials set once for the Data Center modules
  module_defaults:
    group/atlassian_ops.backup.datacenter:
      url: https://wiki-staging.example.com/confluence
      personal_access_token: "{{ vault_confluence_pat }}"
  block:
    - name: Upload last night's site backup and restore it (replaces the whole staging site)
      atlassian_ops.backup.confluence_restore:
        scope: site
        src: /srv/backups/confluence-dc/confluence-wiki.example.com-20261122T020304Z.zip
        confirm: true
        wait_timeout: 12h
      register: drill

    - name: Show how long it took
      ansible.builtin.debug:
        msg: "Job {{ drill.job_id }} {{ drill.status }}: upload {{ drill.upload_seconds }} s, restore {{ drill.restore_seconds }} s"

- name: Restore spaces from a file an administrator copied into <confluence-home>/restore/space
  atlassian_ops.backup.confluence_restore:
    url: https://wiki.example.com/confluence
    username: admin
    api_token: "{{ vault_confluence_password }}"
    scope: space
    file_name: Confluence-space-export-DOC.zip
    skip_reindex: true

- name: Restore from an encrypted copy fetched from the off-site store, with the key brought for this run only
  atlassian_ops.backup.confluence_restore:
    url: https://wiki-staging.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    scope: site
    # Fetched with its manifest, confluence-wiki.example.com-20261122T020304Z.json, which lies beside it.
    src: /srv/backups/confluence-dc/confluence-wiki.example.com-20261122T020304Z.zip.age
    identity_file: /media/restore-key/age-identity.txt
    confirm: true

- name: Check the file and the server, change nothing
  atlassian_ops.backup.confluence_restore:
    url: https://wiki.example.com/confluence
    personal_access_token: "{{ vault_confluence_pat }}"
    scope: space
    src: /srv/backups/confluence-dc/confluence-wiki.example.com-space-DOC-20261122T020304Z.zip
  check_mode: true
"""

RETURN = r"""
changed:
  description: Whether a restore was started (or, in check mode, would be).
  returned: always
  type: bool
  sample: true
job_id:
  description: The id of the restore job started or joined.
  returned: when a job was started or joined
  type: int
  sample: 43
job:
  description:
    - The restore job as Confluence last described it, with the keys documented for
      RV(atlassian_ops.backup.confluence_job_info#module:job).
  returned: when a job was started or joined
  type: dict
  sample: {"id": 43, "operation": "restore", "scope": "site", "state": "FINISHED", "service_state": "FINISHED",
           "space_keys": [], "owner": "admin", "file_name": "confluence-wiki.example.com-20261122T020304Z.zip",
           "file_exists": true, "create_time": "2026-11-22T09:00:00Z", "start_processing_time": "2026-11-22T09:00:01Z",
           "finish_processing_time": "2026-11-22T09:40:12Z"}
status:
  description:
    - Where the restore stands, in the words of every Data Center module, V(queued), V(running) (also while
      C(CANCELLING)), V(complete), V(cancelled) or V(failed) (another word Confluence sends, in lower case).
  returned: when a job was started or joined
  type: str
  sample: complete
scope:
  description: V(site) or V(space), as asked.
  returned: always
  type: str
  sample: site
file_name:
  description: The name of the backup on the server (for O(src), the name of the local file).
  returned: always
  type: str
  sample: confluence-wiki.example.com-20261122T020304Z.zip
restore_seconds:
  description: Seconds spent waiting for the restore job.
  returned: when the task waited
  type: float
  sample: 2411.3
size:
  description: The size of O(src) in bytes.
  returned: when O(src) was given
  type: int
  sample: 2147483648
decrypted:
  description:
    - Whether O(src) was an encrypted copy (C(.age)) decrypted for the restore; then RV(size), RV(sha256),
      RV(export_type) and RV(uploaded_bytes) describe the decrypted zip, and RV(file_name) is its name.
    - Also true in check mode, where it was decrypted to be checked, and then deleted.
  returned: always
  type: bool
  sample: false
sha256:
  description:
    - The sha256 of O(src), when it was compared with a C(.sha256) file or manifest beside it.
    - For an encrypted O(src), the sha256 of the decrypted zip, equal to the one its manifest records.
  returned: when O(src) was given (null when nothing was there to compare with)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
export_type:
  description: The C(exportType) in the backup's C(exportDescriptor.properties) (V(all) for a site backup).
  returned: when O(src) was given (null when the file has none)
  type: str
  sample: all
uploaded_bytes:
  description: How many bytes of O(src) were uploaded.
  returned: when O(src) was uploaded
  type: int
  sample: 2147483648
upload_seconds:
  description: Seconds from the first to the last byte of the upload.
  returned: when O(src) was uploaded
  type: float
  sample: 21.4
upload_bytes_per_second:
  description: The upload's throughput.
  returned: when O(src) was uploaded
  type: int
  sample: 100350000
upload_progress:
  description: The upload's progress, one line about every 10 %.
  returned: when O(src) was uploaded
  type: list
  elements: str
  sample: ["10% (204.8 MiB of 2.0 GiB) after 2.1 s", "100% (2.0 GiB of 2.0 GiB) after 21.4 s"]
would_restore:
  description: In check mode, whether a real run would start a restore.
  returned: in check mode, when no restore of the file is running
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
  sample: 400
method:
  description: The HTTP method of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: POST
url:
  description: The URL of the request that failed.
  returned: on failure of an HTTP request
  type: str
  sample: https://wiki.example.com/confluence/rest/api/backup-restore/restore/site/upload
response:
  description: A short, redacted excerpt of the server's answer to the request that failed.
  returned: on failure, when the server answered
  type: str
  sample: '{"statusCode":400,"message":"uploaded file is not a zip file"}'
request_id:
  description: The server's request id of the answer that failed.
  returned: on failure, when the server sent one
  type: str
  sample: 1a2b3c
"""

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.crypto import age
from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.restore import (
    DataCenterRestore,
    decrypt_src,
    is_encrypted,
    remove_decrypted,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.archive import is_zip_name
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.upload import (
    HAS_TOOLBELT,
    TOOLBELT_IMPORT_ERROR,
)

ARGUMENT_SPEC = dict(
    scope=dict(type="str", required=True, choices=["site", "space"]),
    file_name=dict(type="str"),
    src=dict(type="path"),
    skip_reindex=dict(type="bool", default=False),
    confirm=dict(type="bool", default=False),
    identity_file=dict(type="path"),
    identity=dict(type="str", no_log=True, fallback=(env_fallback, ["ATLASSIAN_BACKUP_AGE_IDENTITY"])),
    decrypt_dir=dict(type="path"),
)

# The private folders this run decrypted into: removed when the module exits, whatever the outcome.
_DECRYPTED = []


def identities(module, params):
    """The callable that reads the key of an encrypted src (only when the decryption starts)."""
    def read():
        if params.get("identity_file"):
            data = age.read_identity_file(params["identity_file"])
            module.no_log_values.update(age.secret_strings(data))
            return age.parse_identities(data, "identity_file %s" % params["identity_file"])
        return age.parse_identities(params["identity"], "identity")
    return read


def decrypt(module, params):
    """Decrypt an encrypted src into a private temporary folder, checked against its manifest, before any request."""
    if not age.HAS_PYRAGE:
        module.fail_json(msg=missing_required_lib("pyrage"), exception=age.PYRAGE_IMPORT_ERROR, decrypted=False)
    if params.get("identity"):
        # Every line of the key is masked wherever Ansible prints this run's results.
        module.no_log_values.update(age.secret_strings(params["identity"]))
    if not params.get("identity_file") and not params.get("identity"):
        module.fail_json(msg="src %s is encrypted (age): give the private key that decrypts it, identity_file (a "
                             "file on the host that runs the task) or identity (or set "
                             "ATLASSIAN_BACKUP_AGE_IDENTITY). Nothing was decrypted or uploaded." % params["src"],
                         decrypted=False)
    try:
        path, info = decrypt_src(params["src"], identities(module, params), module.warn, _DECRYPTED.append,
                                 parent=params.get("decrypt_dir"))
    except TaskFailed as exc:
        module.fail_json(msg=exc.msg, decrypted=False)
    params.update(_decrypted=path, _decrypted_sha256=info["sha256"])


def prepare(module, params):
    """Every check that needs no request: confirm, the options, and src itself (decrypted first when encrypted)."""
    if params["scope"] == "site" and not params["confirm"]:
        module.fail_json(msg="A site restore replaces the whole Confluence site (every space, user and setting) with "
                             "the backup's. Set confirm: true to do it. Nothing was sent.")
    if params.get("file_name") and ("/" in params["file_name"] or params["file_name"] in (".", "..")):
        module.fail_json(msg="file_name is a file name in the server's restore folder, not a path: %r." %
                         params["file_name"])
    if is_zip_name(params.get("file_name")):
        module.fail_json(msg="file_name %s is named as confluence_export names a content export "
                             "(<product>-<site>-content-export-<time>.zip), not a Confluence backup: Confluence's "
                             "restore cannot read it. Restore its pages or spaces with confluence_import, src the "
                             "export's folder; restore a site from a backup of confluence_backup. Nothing was sent."
                         % params["file_name"])
    if params.get("src") and not HAS_TOOLBELT:
        module.fail_json(msg=missing_required_lib("requests-toolbelt"), exception=TOOLBELT_IMPORT_ERROR)
    if is_encrypted(params.get("src")):
        decrypt(module, params)
    elif params.get("identity_file"):
        module.warn("identity_file is not used: src %s is not encrypted (it does not end in .age)." % (
            params.get("src") or "(none, file_name is restored)"))
    restore = DataCenterRestore(params, None, warn=module.warn)
    try:
        restore.check_local()
    except TaskFailed as exc:
        module.fail_json(msg=exc.msg, decrypted=restore.result["decrypted"])
    params["_local"] = dict((k, restore.result.get(k)) for k in ("size", "sha256", "export_type") if params.get("src"))


def run(module, params):
    restore = DataCenterRestore(params, module.client(), log=module.log, warn=module.warn)
    restore.result.update(params["_local"])
    return restore.run()


def main():
    try:
        run_module(ARGUMENT_SPEC, run, "restore Confluence", wait=True, prepare=prepare, datacenter=True,
                   supports_check_mode=True, required_one_of=[("file_name", "src")],
                   mutually_exclusive=[("file_name", "src")])
    finally:
        # exit_json and fail_json end the process with SystemExit: the decrypted backup goes with it.
        for folder in _DECRYPTED:
            remove_decrypted(folder)


if __name__ == "__main__":
    main()
