# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's EXAMPLES, run as written against the emulator: a user copies examples first.

Only what points at a real service is replaced: the example site URL by the emulator's (and the organization API's
base URL, through ATLASSIAN_BACKUP_API_URL), the example backup folder by a temporary one, and the vault variable of
the token by the canary token (read from the environment, so it is written to no file). Every task must succeed, in the order the examples give.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

import moduledocs
from conftest import (
    COLLECTIONS_ROOT,
    CANARY_TOKEN,
    CANARY_USER,
    DC_CONTEXT,
    DC_PASSWORD,
    DC_PAT,
    DC_USER_PASSWORD,
    ORG_API_PREFIX,
    SNAP_KEY,
    SNAP_URL_TOKEN,
)
from test_backup_encrypt import make_keys
from test_backup_verify import reseal
from test_datacenter import make_backup_zip

EXAMPLE_SITE = "https://example.atlassian.net"
# Another Cloud site of the organization: the emulator serves its Confluence REST API under /sites/<name>.
EXAMPLE_OTHER_SITE = ("https://example-restore.atlassian.net", "/sites/example-restore")
# Data Center examples: the server, with its context path, and a staging server (the same emulator).
EXAMPLE_DC_SITES = ("https://wiki.example.com/confluence", "https://wiki-staging.example.com/confluence")
EXAMPLE_BACKUPS = "/srv/backups"
# Where the encryption examples keep keys: the recipients' public keys on the backup host, a private key brought for a
# restore; each becomes a folder beside the temporary backup folder, filled by prepare_examples.
EXAMPLE_KEY_FOLDERS = {"/etc/atlassian-backup": "etc-atlassian-backup", "/media/restore-key": "restore-key"}
# Vault variables of the examples -> the environment variable that holds the canary secret.
VAULT_VARIABLES = {"vault_confluence_api_token": "ATLASSIAN_API_TOKEN", "vault_confluence_pat": "EXAMPLE_DC_PAT",
                   "vault_confluence_password": "EXAMPLE_DC_PASSWORD", "vault_jdoe_password": "EXAMPLE_DC_USER_PASSWORD",
                   "vault_snapshots_backup_url": "SNAPSHOTS_BACKUP_URL", "vault_snapshots_api_key": "SNAPSHOTS_API_KEY",
                   "vault_backup_age_identity": "EXAMPLE_AGE_IDENTITY"}
# Backups the restore examples name, made before they run (kind of backup for each).
EXAMPLE_SRC = {"confluence-dc/confluence-wiki.example.com-20261122T020304Z.zip": ("all", None),
               "confluence-dc/confluence-wiki.example.com-space-DOC-20261122T020304Z.zip": ("space", "DOC")}


VAULT_VARS = dict((name, "{{ lookup('ansible.builtin.env', '%s') }}" % env) for name, env in VAULT_VARIABLES.items())


def substitute(text, emulator_url, backups):
    """Point an example at the emulator and a temporary backup folder; nothing else changes."""
    text = text.replace(EXAMPLE_OTHER_SITE[0], emulator_url + EXAMPLE_OTHER_SITE[1])
    text = text.replace(EXAMPLE_SITE, emulator_url).replace(EXAMPLE_BACKUPS, backups)
    for folder, name in EXAMPLE_KEY_FOLDERS.items():
        text = text.replace(folder, os.path.join(os.path.dirname(backups), name))
    for site in EXAMPLE_DC_SITES:
        text = text.replace(site, emulator_url + DC_CONTEXT)
    return text


def examples_playbook(module, emulator_url, backups):
    text = yaml.safe_dump(moduledocs.docs(module)["EXAMPLES"], sort_keys=False)
    assert "atlassian_ops.backup.%s" % module in text, "%s: its examples do not use it" % module
    tasks = yaml.safe_load(substitute(text, emulator_url, backups))
    return [{
        "name": "EXAMPLES of %s" % module,
        "hosts": "localhost",
        "gather_facts": False,
        "vars": VAULT_VARS,
        "tasks": tasks,
    }]


def run_plays(plays, emulator, tmp_path, secrets=None):
    """ansible-playbook on ``plays`` with the canary secrets in the environment, and ``secrets`` (a dict of more
    environment variables, none of whose values may be printed); the completed process."""
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ATLASSIAN_URL=emulator.url, ATLASSIAN_USERNAME=CANARY_USER, ATLASSIAN_API_TOKEN=CANARY_TOKEN,
               ATLASSIAN_BACKUP_API_URL=emulator.url + ORG_API_PREFIX, EXAMPLE_DC_PAT=DC_PAT,
               EXAMPLE_DC_PASSWORD=DC_PASSWORD, EXAMPLE_DC_USER_PASSWORD=DC_USER_PASSWORD, SNAPSHOTS_API_KEY=SNAP_KEY,
               SNAPSHOTS_BACKUP_URL="%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN))
    env.update(secrets or {})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "failed=0" in proc.stdout and "unreachable=0" in proc.stdout, proc.stdout[-4000:]
    for secret in (CANARY_TOKEN, DC_PAT, DC_PASSWORD, DC_USER_PASSWORD, SNAP_KEY, SNAP_URL_TOKEN) + tuple(
            (secrets or {}).values()):
        assert secret not in proc.stdout
    return proc


def prepare_examples(module, emulator, backups):
    """What the examples refer to: backups on disk, a file in the restore folder, job 42, a CSV of spaces, keys.

    Returns the secrets the examples read from the environment (a dict), or None."""
    if module in ("backup_encrypt", "backup_decrypt"):
        # The recipients' public keys, and the private keys a restore brings (the age one from a vault variable).
        parent = os.path.dirname(backups)
        keys = make_keys(os.path.join(parent, EXAMPLE_KEY_FOLDERS["/etc/atlassian-backup"], "recipients"))
        os.rename(keys["recipients"], os.path.join(parent, EXAMPLE_KEY_FOLDERS["/etc/atlassian-backup"],
                                                   "recipients.txt"))
        os.makedirs(os.path.join(parent, EXAMPLE_KEY_FOLDERS["/media/restore-key"]), mode=0o700)
        os.rename(keys["ssh"], os.path.join(parent, EXAMPLE_KEY_FOLDERS["/media/restore-key"], "id_ed25519"))
        for private in ("age", "stranger"):  # only public keys stay in the backup host's folder
            os.unlink(keys[private])
        return {"EXAMPLE_AGE_IDENTITY": keys["secrets"][0]}
    if module == "confluence_restore":
        for name, (export_type, space) in EXAMPLE_SRC.items():
            path = os.path.join(backups, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            make_backup_zip(path, export_type=export_type, space_key=space)
        emulator.dc_restore_file(scope="SPACE", name="Confluence-space-export-DOC.zip", kind="space")
        # The site backup's encrypted copy with its manifest, and the age identity a restore brings (issue 23).
        from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.encryption import Encryption
        import pyrage
        site = os.path.join(backups, sorted(EXAMPLE_SRC)[0])
        reseal(site, {"format": 1, "product": "confluence", "deployment": "datacenter", "scope": "site",
                      "site_label": "wiki.example.com", "backup_time": "2026-11-22T02:03:04Z", "verified": "zip-crc"})
        identity = pyrage.x25519.Identity.generate()
        Encryption(dict(path=site, recipients=[str(identity.to_public())], check_mode=False), print).run()
        keys = os.path.join(os.path.dirname(backups), EXAMPLE_KEY_FOLDERS["/media/restore-key"])
        os.makedirs(keys, mode=0o700)
        fd = os.open(os.path.join(keys, "age-identity.txt"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("%s\n" % identity)
        return {"EXAMPLE_AGE_IDENTITY": str(identity)}
    if module == "snapshots_export":
        os.makedirs(backups, exist_ok=True)
        with open(os.path.join(backups, "snapshots-spaces.csv"), "w") as handle:
            handle.write("space key\nDOC\nTEAM\n")
    if module == "backup_lock":
        # The folder of the lock file must exist (the module never creates folders).
        os.makedirs(os.path.join(backups, "confluence"), exist_ok=True)
    if module == "backup_metrics":
        # The manifest of a verified Data Center backup the second example reports, as backup_verify leaves it.
        folder = os.path.join(backups, "confluence-dc")
        os.makedirs(folder, exist_ok=True)
        base = "confluence-wiki.example.com-20261122T020304Z"
        manifest = {"format": 1, "product": "confluence", "deployment": "datacenter", "site_label": "wiki.example.com",
                    "file": base + ".zip", "size": 3145851, "sha256": "0" * 64, "backup_time": "2026-11-22T02:03:04Z",
                    "create_seconds": 61.5, "download_seconds": 12.25, "verified": "zip-structure",
                    "verified_level": "inventory", "inventory_status": "counted",
                    "inventory": {"spaces": 3, "pages": 120, "blog_posts": 8, "comments": 40, "attachments": 25}}
        with open(os.path.join(folder, base + ".json"), "w") as handle:
            json.dump(manifest, handle)
    if module == "confluence_content_info":
        # The other site after a restore of the first: it holds the same spaces.
        source = emulator.state()["content"]["sites"]
        spaces = next(site["spaces"] for name, site in source.items() if name == "cloud:example")
        fields = ("key", "name", "type", "pages", "blog_posts")
        emulator.content_site(cloud="example-restore", spaces=[dict((k, s[k]) for k in fields) for s in spaces])
    if module in ("confluence_job", "confluence_job_info"):
        for number in range(42):
            emulator.dc_job(operation="BACKUP", scope="SITE", state="FINISHED" if number < 41 else "QUEUED")


EXPORT_BASE = "confluence-wiki.example.com-content-export-20261204T020304Z"


def content_export_objects():
    """The zip of a confluence_export run (export.json at its top), its .sha256 and its manifest, as objects."""
    import hashlib
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("export.json", json.dumps({"format": 1, "kind": "content-export", "items": {}, "files": {}}))
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    manifest = {"format": 1, "product": "confluence", "kind": "content-export", "site_label": "wiki.example.com",
                "file": EXPORT_BASE + ".zip", "size": len(payload), "sha256": digest,
                "backup_time": "2026-12-04T02:03:04Z"}
    return {EXPORT_BASE + ".zip": payload,
            EXPORT_BASE + ".zip.sha256": ("%s  %s.zip\n" % (digest, EXPORT_BASE)).encode(),
            EXPORT_BASE + ".json": json.dumps(manifest).encode()}


def prepare_offsite(module, request, backups):
    """backup_offsite's and backup_fetch's examples: a bucket on moto's S3 server and a container on Azurite, reached
    through the variables a user sets (AWS_ENDPOINT_URL_S3 is boto3's own), the recipients' public keys, and for
    backup_fetch a copy in both stores."""
    import boto3
    from azure.storage.blob import BlobServiceClient
    endpoint = request.getfixturevalue("s3_server")
    azurite = request.getfixturevalue("azurite")
    try:
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                     region_name="eu-central-1").create_bucket(
            Bucket="example-atlassian-backups", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    except Exception as exc:  # pylint: disable=broad-except
        if "BucketAlreadyOwnedByYou" not in str(exc):
            raise
    container = BlobServiceClient.from_connection_string(azurite["connection_string"]).get_container_client(
        "atlassian-backups")
    if not container.exists():
        container.create_container()
    folder = os.path.join(os.path.dirname(backups), EXAMPLE_KEY_FOLDERS["/etc/atlassian-backup"])
    keys = make_keys(folder)
    for private in ("age", "stranger", "ssh"):  # only public keys stay on the backup host
        os.unlink(keys[private])
    # The servers live for the whole session: start from an empty folder, whatever another test left there (the
    # examples of backup_offsite copy a newer backup into the same one).
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="eu-central-1")
    for item in s3.list_objects_v2(Bucket="example-atlassian-backups", Prefix="atlassian-backups/").get("Contents", []):
        s3.delete_object(Bucket="example-atlassian-backups", Key=item["Key"])
    for item in container.list_blobs(name_starts_with="atlassian-backups/"):
        container.delete_blob(item.name)
    if module == "backup_fetch":
        # A copy as backup_offsite leaves it, in both stores; the restore folder the examples fetch into.
        import hashlib
        os.makedirs(os.path.join(backups, "restore", "content-export"), exist_ok=True)
        base = "confluence-wiki.example.com-20261203T020304Z"
        payload = os.urandom(4096)
        digest = hashlib.sha256(payload).hexdigest()
        manifest = {"format": 1, "product": "confluence", "site_label": "wiki.example.com", "file": base + ".zip",
                    "size": len(payload), "sha256": digest, "backup_time": "2026-12-03T02:03:04Z"}
        objects = {base + ".zip": payload, base + ".zip.sha256": ("%s  %s.zip\n" % (digest, base)).encode(),
                   base + ".json": json.dumps(manifest).encode()}
        for name, data in objects.items():
            s3.put_object(Bucket="example-atlassian-backups", Key="atlassian-backups/wiki/" + name, Body=data)
            container.upload_blob("atlassian-backups/wiki/" + name, data, overwrite=True)
        # A newer content export beside it (never fetched as the backup), and one in the export target's folder.
        for prefix in ("atlassian-backups/wiki/", "atlassian-backups/wiki-content/"):
            for name, data in content_export_objects().items():
                s3.put_object(Bucket="example-atlassian-backups", Key=prefix + name, Body=data)
    return {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "example-secret",
            "AZURE_STORAGE_CONNECTION_STRING": azurite["connection_string"]}


@pytest.mark.parametrize("module", moduledocs.module_names())
def test_examples_run_as_written(module, emulator, tmp_path, request):
    # A service that finishes its jobs at once, so examples with real poll intervals need not wait.
    emulator.reset(backup_seconds=0, queued_seconds=0, idle_polls_after_trigger=0,
                   org_backup_seconds=0, org_export_seconds=0, org_import_seconds=0, org_restore_seconds=0,
                   dc_job_polls=0, snapshots_task_polls=0)
    backups = str(tmp_path / "srv-backups")
    if module in ("backup_offsite", "backup_fetch"):
        secrets = prepare_offsite(module, request, backups)
    else:
        secrets = prepare_examples(module, emulator, backups)
    run_plays(examples_playbook(module, emulator.url, backups), emulator, tmp_path, secrets)
    if module == "backup_fetch":  # it talks to the stores only: the copy is in the restore folder
        fetched = os.listdir(os.path.join(backups, "restore"))
        assert sorted(fetched) == sorted(["confluence-wiki.example.com-20261203T020304Z" + ext
                                          for ext in (".zip", ".zip.sha256", ".json")]
                                         + [EXPORT_BASE + ext for ext in (".zip", ".zip.sha256", ".json")]
                                         + ["content-export"]), fetched
        assert os.listdir(os.path.join(backups, "restore", "content-export")) == ["export.json"]
        return
    assert emulator.state()["requests"], "the examples of %s sent no request to the emulator" % module
