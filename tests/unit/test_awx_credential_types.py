# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX/AAP credential types of extensions/awx/credential_types/ (issue 22): AWX would take each of them, their
injectors set exactly the environment variables the collection reads (a static scan of plugins/, roles/ and
playbooks/), secrets are marked secret, and rendered the way AWX renders them they give the expected environment.
tests/e2e/test_awx_credential_injectors.py runs a module against the emulator in each rendered environment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))

import awx_credential_types as act  # noqa: E402  pylint: disable=wrong-import-position

TYPES = act.load(ROOT)
EXPECTED = {"confluence_cloud", "confluence_datacenter", "organization", "snapshots", "site_migration_destination",
            "azure_blob_storage"}

# Variables read somewhere that no credential type sets, each with the reason. A name listed here that nothing
# reads any more fails too, so that this table stays true.
NOT_INJECTED = {
    # Not a credential: the home folder of the user running the play.
    "HOME": "the runner's own",
    # AWX's built-in "Amazon Web Services" credential type sets the keys and the session token; the rest is boto3's
    # configuration of the execution environment or the backup host.
    "AWS_ACCESS_KEY_ID": "AWX's Amazon Web Services type", "AWS_SECRET_ACCESS_KEY": "AWX's Amazon Web Services type",
    "AWS_SESSION_TOKEN": "AWX's Amazon Web Services type", "AWS_PROFILE": "boto3 configuration",
    "AWS_REGION": "boto3 configuration", "AWS_DEFAULT_REGION": "boto3 configuration",
    "AWS_CA_BUNDLE": "boto3 configuration", "AWS_CONFIG_FILE": "boto3 configuration",
    "AWS_SHARED_CREDENTIALS_FILE": "boto3 configuration",
    # Not a secret: the site's cloud id, the playbook variable atlassian_cloud_id (an extra variable in AWX).
    "ATLASSIAN_CLOUD_ID": "org_backup.yml's atlassian_cloud_id",
    # Also AWX's Amazon Web Services type (the older name of the session token), read by the role's S3 copy.
    "AWS_SECURITY_TOKEN": "AWX's Amazon Web Services type",
    # A private key that decrypts backups (backup_decrypt): given to a restore run only, by the people allowed to
    # restore, never stored in AWX for the nightly job (docs/encryption.md).
    "ATLASSIAN_BACKUP_AGE_IDENTITY": "a restore-time private key, never a stored credential",
}
# The role site_migration reads these first and then the modules' own variable, both where ansible-playbook runs
# (roles/site_migration/vars/main.yml), and passes the value to the modules: the credential type that sets the
# fallback serves the source, the organization and Snapshots. Only the destination needs a type of its own.
MIGRATION_FALLBACK = {
    "SITE_MIGRATION_SOURCE_URL": "ATLASSIAN_URL", "SITE_MIGRATION_SOURCE_USERNAME": "ATLASSIAN_USERNAME",
    "SITE_MIGRATION_SOURCE_API_TOKEN": "ATLASSIAN_API_TOKEN",
    "SITE_MIGRATION_SOURCE_PERSONAL_ACCESS_TOKEN": "ATLASSIAN_PAT", "SITE_MIGRATION_ORG_ID": "ATLASSIAN_ORG_ID",
    "SITE_MIGRATION_ORG_USERNAME": "ATLASSIAN_USERNAME", "SITE_MIGRATION_ORG_API_TOKEN": "ATLASSIAN_API_TOKEN",
    "SITE_MIGRATION_SNAPSHOTS_ENDPOINT": "SNAPSHOTS_BACKUP_URL", "SITE_MIGRATION_SNAPSHOTS_API_KEY": "SNAPSHOTS_API_KEY",
}
# The only variables two types set: a job template takes either a Cloud or a Data Center credential (docs, awx.rst),
# and a Cloud and an organization credential attached together hold the same account.
SHARED = {"ATLASSIAN_URL": ["confluence_cloud", "confluence_datacenter"],
          "ATLASSIAN_USERNAME": ["confluence_cloud", "confluence_datacenter", "organization"],
          "ATLASSIAN_API_TOKEN": ["confluence_cloud", "confluence_datacenter", "organization"]}
SECRET_IDS = {"api_token", "password", "personal_access_token", "api_key", "endpoint", "connection_string", "account_key"}


def test_the_folder_holds_the_types():
    assert set(TYPES) == EXPECTED
    names = [ctype["name"] for ctype in TYPES.values()]
    assert len(set(names)) == len(names), names


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_awx_takes_the_type(name):
    assert act.problems(TYPES[name]) == []
    ctype = TYPES[name]
    assert ctype["kind"] == "cloud" and ctype["description"]
    for field in ctype["inputs"]["fields"]:
        assert field.get("help_text") and field.get("type") == "string", field
        assert bool(field.get("secret")) == (field["id"] in SECRET_IDS), field["id"]
    # extra_vars would show the values in the job's variables; file injectors are not needed by anything.
    assert set(ctype["injectors"]) == {"env"}


def test_every_variable_read_is_injected_and_every_injected_one_is_read():
    read = act.read_env(ROOT)
    injected = act.injected(TYPES)
    missing = sorted(set(read) - set(injected) - set(NOT_INJECTED) - set(MIGRATION_FALLBACK))
    assert not missing, "read but no credential type sets them: %s" % dict((n, read[n]) for n in missing)
    unread = sorted(set(injected) - set(read))
    assert not unread, "injected but nothing reads them: %s" % unread
    stale = sorted((set(NOT_INJECTED) | set(MIGRATION_FALLBACK)) - set(read))
    assert not stale, "nothing reads these any more: %s" % stale
    assert not set(NOT_INJECTED) & set(injected)
    for name, fallback in MIGRATION_FALLBACK.items():
        assert fallback in injected, (name, fallback)


def test_the_module_variables_are_what_the_modules_read():
    """The modules' env fallbacks (plugins/module_utils/core/module.py) are all injected, by name."""
    with open(os.path.join(ROOT, "plugins", "module_utils", "core", "module.py")) as handle:
        fallbacks = set(re.findall(r"env_fallback, \[\"([A-Z_]+)\"\]", handle.read()))
    assert fallbacks and fallbacks <= set(act.injected(TYPES))


def test_scheduled_backup_falls_back_on_injected_variables():
    """The role scheduled_backup reads <prefix>_<SUFFIX> (the prefix made of each target's name, which no
    injector can know), then the modules' variable named in scheduled_backup__sources: every one is injected."""
    with open(os.path.join(ROOT, "roles", "scheduled_backup", "vars", "main.yml")) as handle:
        text = handle.read()
    fallbacks = set(re.findall(r"fallback: ([A-Z_]+)", text))
    assert len(fallbacks) == 7 and fallbacks <= set(act.injected(TYPES)), fallbacks
    assert "scheduled_backup__prefix ~ '_URL'" in text  # the prefixed form the docs describe


def test_only_the_documented_variables_are_shared():
    shared = dict((name, sorted(files)) for name, files in act.injected(TYPES).items() if len(files) > 1)
    assert shared == SHARED


SAMPLES = {
    "confluence_cloud": ({"url": "https://example.atlassian.net", "username": "bot@example.com", "api_token": "t0k"},
                         {"ATLASSIAN_URL": "https://example.atlassian.net", "ATLASSIAN_USERNAME": "bot@example.com",
                          "ATLASSIAN_API_TOKEN": "t0k"}),
    "organization": ({"org_id": "org-1", "username": "admin@example.com", "api_token": "t0k"},
                     {"ATLASSIAN_ORG_ID": "org-1", "ATLASSIAN_ACCOUNT_ID": "", "ATLASSIAN_USERNAME": "admin@example.com",
                      "ATLASSIAN_API_TOKEN": "t0k",
                      "ATLASSIAN_BACKUP_API_URL": "https://api.atlassian.com/public/backup-management/v2"}),
    "confluence_datacenter": ({"url": "https://wiki.example.com", "personal_access_token": "pat", "username": ""},
                              {"ATLASSIAN_URL": "https://wiki.example.com", "ATLASSIAN_PAT": "pat",
                               "ATLASSIAN_USERNAME": "", "ATLASSIAN_API_TOKEN": ""}),
    "snapshots": ({"endpoint": "https://snap.example.com/api/backup/x", "api_key": "k"},
                  {"SNAPSHOTS_BACKUP_URL": "https://snap.example.com/api/backup/x", "SNAPSHOTS_API_KEY": "k"}),
    "azure_blob_storage": ({"connection_string": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k"},
                           {"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k",
                            "AZURE_STORAGE_KEY": ""}),
    "site_migration_destination": ({"url": "https://new.example.com", "personal_access_token": "pat"},
                                   {"SITE_MIGRATION_DESTINATION_URL": "https://new.example.com",
                                    "SITE_MIGRATION_DESTINATION_USERNAME": "",
                                    "SITE_MIGRATION_DESTINATION_API_TOKEN": "",
                                    "SITE_MIGRATION_DESTINATION_PERSONAL_ACCESS_TOKEN": "pat"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rendered_like_awx(name):
    inputs, env = SAMPLES[name]
    assert act.render_env(TYPES[name], inputs) == env


def test_an_empty_optional_field_is_empty_and_a_given_base_url_wins():
    env = act.render_env(TYPES["organization"], {"org_id": "o", "username": "u", "api_token": "t",
                                                 "account_id": "acc", "api_base_url": "https://proxy.example.com/v2"})
    assert env["ATLASSIAN_BACKUP_API_URL"] == "https://proxy.example.com/v2" and env["ATLASSIAN_ACCOUNT_ID"] == "acc"


def test_a_template_using_no_field_is_refused():
    """The checker itself: AWX refuses an injector naming an undefined field, or a variable it blocks."""
    bad = {"name": "x", "kind": "cloud", "inputs": {"fields": [{"id": "a", "label": "A"}]},
           "injectors": {"env": {"X": "{{ b }}", "ANSIBLE_CONFIG": "{{ a }}", "PATH": "{{ a }}"}}}
    found = act.problems(bad)
    assert len(found) == 3, found
