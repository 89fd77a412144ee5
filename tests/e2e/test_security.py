# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS, secrets given as options, hostile answers and invalid options: a clear error and nothing written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import moduledocs

from conftest import CANARY_TOKEN, CANARY_USER

MIB = 1024 * 1024


def assert_nothing_written(dest):
    assert os.listdir(dest) == [], os.listdir(dest)


def tls_env(tls_emulator):
    return {"ATLASSIAN_URL": tls_emulator.url}


# ---------------------------------------------------------------------- TLS
def test_untrusted_certificate_is_refused_clearly_and_not_retried(tls_emulator, run_playbook, dest):
    run = run_playbook(dest=dest, env=tls_env(tls_emulator))
    assert run.result["failed"] is True, run
    msg = run.result["msg"]
    assert "certificate" in msg and "not trusted" in msg and "ca_path" in msg, msg
    assert run.result["http_retries"] == 0
    # The handshake failed, so not one request reached the site.
    assert tls_emulator.state()["requests"] == []
    assert_nothing_written(dest)


def test_validate_certs_false_works_with_a_warning(tls_emulator, run_playbook, dest):
    run = run_playbook(dest=dest, env=tls_env(tls_emulator), validate_certs=False)
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["sha256"] == tls_emulator.state()["backup"]["sha256"]
    assert "validate_certs is false" in run.output


def test_ca_path_trusts_the_private_ca_without_warnings(tls_emulator, run_playbook, dest):
    run = run_playbook(dest=dest, env=tls_env(tls_emulator), ca_path=tls_emulator.ca_file, download_connections=2)
    assert run.rc == 0 and not run.result.get("failed"), run
    state = tls_emulator.state()
    assert run.result["sha256"] == state["backup"]["sha256"]
    # Both hosts were reached over TLS with the same CA bundle, and the download used ranges.
    assert run.result["download_mode"] == "ranges" and state["media_log"]
    assert "[WARNING]" not in run.output, run.output


def test_plain_http_cloud_url_gets_a_warning(emulator, run_playbook, dest):
    run = run_playbook(dest=dest)
    assert run.rc == 0, run
    assert "uses plain http://" in run.output


# ------------------------------------------------------------------ secrets
def test_secrets_as_options_work_and_stay_hidden(emulator, run_playbook, dest):
    # No ATLASSIAN_* variables: url, username and api_token come as module options, with -vvv.
    env = {"ATLASSIAN_URL": None, "ATLASSIAN_USERNAME": None, "ATLASSIAN_API_TOKEN": None}
    run = run_playbook(dest=dest, env=env, verbosity=3, site_url=emulator.url, site_username=CANARY_USER,
                       site_api_token=CANARY_TOKEN)
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["sha256"] == emulator.state()["backup"]["sha256"]
    # (the leak guard scans the output, the result and every file for the token after the test)


# Options whose names look secret and are not: each with its reason.
NOT_SECRETS = {
    "space_keys": "Confluence space keys (DOC, TEAM) are names, shown in every space's URL",
    "space_key": "a Confluence space key, a name",
    "api_key_header": "the name of the header that carries the key, not the key",
    "token": "backup_lock's lock token: a random id that names the holder of a local lock and grants no access",
}


@pytest.mark.parametrize("module", moduledocs.module_names())
def test_every_secret_looking_option_has_no_log(module):
    import importlib
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import module as _module
    mod = importlib.import_module("ansible_collections.atlassian_ops.backup.plugins.modules.%s" % module)
    spec = dict(_module.CONNECTION_SPEC, **_module.ORG_CONNECTION_SPEC)
    spec.update(_module.SNAPSHOTS_CONNECTION_SPEC)
    spec.update(_module.DOWNLOAD_SPEC)
    spec.update(getattr(mod, "ARGUMENT_SPEC", {}))
    secretish = [name for name in spec if any(w in name for w in ("token", "password", "secret", "key"))]
    assert "api_token" in secretish
    for name in secretish:
        if name in NOT_SECRETS:
            assert spec[name].get("no_log") is False, "%s: say no_log=False explicitly (%s)" % (name, NOT_SECRETS[name])
        else:
            assert spec[name].get("no_log") is True, name


# ------------------------------------------------------------ hostile input
def test_path_traversal_file_name_is_refused(emulator, run_playbook, dest):
    emulator.reset(hostile_file_name="../../../../etc/cron.d/evil")
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    assert "Refusing to download" in run.result["msg"]
    assert not [r for r in emulator.state()["requests"] if "/wiki/download" in r["path"]]
    assert_nothing_written(dest)


@pytest.mark.parametrize("name", ["/etc/passwd", "temp/filestore/abc\n123", "temp/filestore/a b;rm -rf"])
def test_absolute_and_odd_file_names_are_refused(emulator, run_playbook, dest, name):
    emulator.reset(hostile_file_name=name)
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    assert "Refusing to download" in run.result["msg"]
    assert_nothing_written(dest)


def test_endless_body_where_json_is_expected(emulator, run_playbook, dest):
    emulator.faults({"kind": "endless", "match": "getprogress", "count": 100})
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    assert "larger than" in run.result["msg"] and "refusing to read it" in run.result["msg"], run.result["msg"]
    assert_nothing_written(dest)


def test_zip_member_escaping_its_folder_is_refused(emulator, run_playbook, dest):
    emulator.reset(zip_extra_member="../../outside.txt")
    run = run_playbook(dest=dest)
    assert run.result["failed"] is True, run
    assert "outside.txt" in run.result["msg"], run.result["msg"]
    # Verification failed before the rename: no zip, no partial file, no sidecars.
    assert_nothing_written(dest)


def test_redirect_loop_is_a_clear_error(emulator, run_playbook, dest):
    emulator.faults({"kind": "redirect", "match": "/wiki/download/", "count": 1000})
    run = run_playbook(dest=dest, retries=1)
    assert run.result["failed"] is True, run
    assert "redirects" in run.result["msg"], run.result["msg"]
    assert_nothing_written(dest)


@pytest.mark.parametrize("options, words", [
    ({"http_timeout": -5}, "timeout must be greater than 0"),
    ({"retries": -1}, "retries must be 0 or more"),
    ({"max_age": "yesterday"}, "max_age"),
    ({"wait_timeout": "10 parsecs"}, "wait_timeout"),
    ({"poll_interval": "0s"}, "poll_interval must be greater than 0"),
    ({"download_connections": 0}, "download_connections must be between 1 and 16"),
    ({"download_connections": 64}, "download_connections must be between 1 and 16"),
    ({"deployment": "server"}, "deployment"),
    ({"on_frequency_limit": "retry"}, "on_frequency_limit"),
])
def test_invalid_options_fail_before_any_request(emulator, run_playbook, dest, options, words):
    run = run_playbook(dest=dest, **options)
    assert run.result["failed"] is True, run
    assert words in run.result["msg"], run.result["msg"]
    assert emulator.state()["requests"] == []
    assert_nothing_written(dest)


def test_dest_that_is_a_file_is_refused(emulator, run_playbook, tmp_path):
    not_a_folder = tmp_path / "backups.txt"
    not_a_folder.write_text("precious\n")
    run = run_playbook(dest=str(not_a_folder))
    assert run.result["failed"] is True, run
    assert "exists and is not a folder" in run.result["msg"]
    assert not_a_folder.read_text() == "precious\n"
    assert emulator.state()["requests"] == []
