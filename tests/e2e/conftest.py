# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration harness: a real emulator over loopback and real ansible-playbook runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
EMULATOR_PATH = os.path.join(COLLECTION, "tests", "emulator")
sys.path.insert(0, EMULATOR_PATH)

from atlassian_emulator.launcher import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position
import moduledocs  # noqa: E402  pylint: disable=wrong-import-position
PLAYBOOKS = os.path.join(HERE, "playbooks")
# save_result, the harness's "save the result" task: copy's write without its two module runs (see the plugin).
ACTION_PLUGINS = os.path.join(PLAYBOOKS, "action_plugins")
SAVE = "save_result"

# Canary credentials: used by every test; no output, result or file may contain them.
CANARY_USER = "backup-bot@example.com"
CANARY_TOKEN = "CANARY-tok-7f3a9c1e5b2d4f60a8e1"
# The organization-level Backup & Restore API of the emulator (its default organization and sites).
ORG_ID = "0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
ORG_API_PREFIX = "/public/backup-management/v2"
SITE = "6c7a6f55-1b7e-4a3e-9a55-08edb3a15371"
RESTORE_SITE = "b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b"
# Confluence Data Center (datacenter.py): canary password of the system administrator "admin", of the space user
# "jdoe", and a canary personal access token of "admin"; the API lives under the context path /confluence.
DC_ADMIN = "admin"
DC_PASSWORD = "CANARY-pw-2b7d4e9a1c6f3b80"
DC_USER = "jdoe"
DC_USER_PASSWORD = "CANARY-pw-jdoe-5e1f9c3a"
DC_PAT = "CANARY-pat-9d1e5c7a3f2b4e6081"
DC_CONTEXT = "/confluence"
# The Snapshots app (snapshots.py): a canary API key, and the secret token in its web request URL's path.
SNAP_KEY = "CANARY-snapkey-41c8e2a7d95b"
SNAP_URL_TOKEN = "CANARYurltok7e3d90"


def Emulator(workdir, tls=False):
    """The emulator of the suite: canary credentials, a 3 MiB Cloud backup that takes 0.4 s of the emulator's clock
    (queued for its first 0.1 s), so that a module polling every 0.2 s mostly sees it running before it completes
    while the suite's hundred-odd Cloud backups no longer wait 1.5 s of wall clock each; what must be seen running
    is held there by polls (``seed(state="running", polls=N)``), never by time."""
    return EmulatorProcess(workdir, {"users": {CANARY_USER: CANARY_TOKEN}, "backup_seconds": 0.4,
                                     "queued_seconds": 0.1, "backup_size": 3 * 1024 * 1024 + 123,
                                     "dc_users": {DC_ADMIN: DC_PASSWORD, DC_USER: DC_USER_PASSWORD},
                                     "dc_pats": {DC_PAT: DC_ADMIN}, "dc_job_polls": 2,
                                     "dc_space_permissions": {DC_USER: ["DOC", "TEAM"]},
                                     "dc_backup_size": 2 * 1024 * 1024 + 77,
                                     "snapshots_api_keys": [SNAP_KEY], "snapshots_endpoint_token": SNAP_URL_TOKEN},
                           tls=tls)


# The longest files, started first: make test runs pytest -n 2 --dist worksteal, where a worker that runs out of
# tests takes half of the other's queue, but not the test the other is running; one of these started last would
# keep the run waiting on it with the other worker idle (test_demo alone takes two minutes).
LONGEST_FIRST = ("test_demo.py", "test_scheduled_backup.py", "test_chaos.py", "test_scheduled_org.py", "test_getting_started.py",
                 "test_awx_setup.py", "test_scheduled_hosts.py")


def pytest_collection_modifyitems(items):
    """Start the files of LONGEST_FIRST first, in that order; the rest keep their order (the sort is stable)."""
    last = len(LONGEST_FIRST)
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST else last)


@pytest.fixture(scope="session")
def emulator_session(tmp_path_factory):
    emu = Emulator(str(tmp_path_factory.mktemp("emulator")))
    yield emu
    emu.stop()


@pytest.fixture
def emulator(emulator_session):
    emulator_session.reset()
    return emulator_session


@pytest.fixture(scope="session")
def tls_emulator_session(tmp_path_factory):
    emu = Emulator(str(tmp_path_factory.mktemp("tls-emulator")), tls=True)
    yield emu
    emu.stop()


@pytest.fixture
def tls_emulator(tls_emulator_session):
    """The emulator over HTTPS, with a certificate from its own throwaway CA (``ca_file``)."""
    tls_emulator_session.reset()
    return tls_emulator_session


class PlaybookRun(object):
    def __init__(self, proc, result, output, module=None, peak_rss=None):
        self.rc = proc.returncode
        self.result = result
        self.output = output
        self.module = module
        self.peak_rss = peak_rss

    def __repr__(self):
        return "PlaybookRun(rc=%s, result=%s)\n%s" % (self.rc, json.dumps(self.result, indent=1), self.output[-3000:])


@pytest.fixture
def run_playbook(emulator, tmp_path):
    """Run a playbook of tests/e2e/playbooks against the emulator; return rc, the module result, the output."""
    runs = []

    def prepare(name="backup.yml", check=False, verbosity=0, env=None, token=CANARY_TOKEN, diff=False, inventory=None,
                **extra_vars):
        """``inventory``: a dict in the YAML inventory's shape (written as JSON) instead of localhost alone."""
        result_file = str(tmp_path / ("result-%d.json" % len(runs)))
        extra = {"result_file": result_file}
        extra.update(extra_vars)
        if inventory is not None:
            given = inventory
            inventory = tmp_path / "inventory.json"
            inventory.write_text(json.dumps(given))
        else:
            inventory = tmp_path / "inventory.ini"
            inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
               os.path.join(PLAYBOOKS, name), "-e", json.dumps(extra)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        run_env = dict(os.environ)
        run_env.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_ROOT,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_ATLASSIAN_TEST": "1",
            "ANSIBLE_ACTION_PLUGINS": ACTION_PLUGINS,
            "ATLASSIAN_URL": emulator.url,
            "ATLASSIAN_USERNAME": CANARY_USER,
            "ATLASSIAN_API_TOKEN": token,
            "ATLASSIAN_ORG_ID": ORG_ID,
            "ATLASSIAN_BACKUP_API_URL": emulator.url + ORG_API_PREFIX,
        })
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)  # None removes a variable, e.g. to pass a secret as an option instead
            else:
                run_env[key] = value
        return cmd, run_env, result_file

    def start(**kwargs):
        """Start ansible-playbook in its own process group (so a test can kill the whole tree)."""
        cmd, run_env, result_file = prepare(**kwargs)
        runs.append(None)
        proc = subprocess.Popen(cmd, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        proc.result_file = result_file  # where the playbook saves the module's result, once it ends
        return proc

    def run(preexec=None, module="confluence_backup", measure_rss=False, **kwargs):
        """``preexec`` runs in the child before ansible-playbook starts (limits set there are inherited).
        ``module`` is the module whose result the playbook saves (its RETURN documents every key).
        ``measure_rss``: a small parent process reports the peak RSS of ansible-playbook and its children (the
        module's process included), as ``peak_rss`` in bytes."""
        cmd, run_env, result_file = prepare(**kwargs)
        rss_file = result_file + ".rss"
        if measure_rss:
            code = ("import resource,subprocess,sys; rc=subprocess.call(sys.argv[2:]); "
                    "open(sys.argv[1],'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
                    "sys.exit(rc)")
            cmd = [sys.executable, "-c", code, rss_file] + cmd
        proc = subprocess.run(cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600, check=False, preexec_fn=preexec)
        result = None
        if os.path.exists(result_file):
            with open(result_file) as handle:
                result = json.load(handle)
        peak = None
        if measure_rss and os.path.exists(rss_file):
            with open(rss_file) as handle:
                peak = int(handle.read()) * 1024  # ru_maxrss is in KiB on Linux
        outcome = PlaybookRun(proc, result, proc.stdout, module, peak)
        runs.append(outcome)
        return outcome

    def module(module_name, check=False, diff=False, verbosity=0, env=None, token=CANARY_TOKEN, measure_rss=False, **args):
        """Run one task of the collection's module ``module_name`` with ``args``; the result is the module's."""
        name = module_name
        playbook = tmp_path / ("module-%d.yml" % len(runs))
        task = {"name": "Run %s" % name, "atlassian_ops.backup.%s" % name: args, "register": "result",
                "ignore_errors": True}
        save = {"name": "Save the result", SAVE: {"content": "{{ result | to_nice_json }}", "dest": "{{ result_file }}"},
                "check_mode": False}
        playbook.write_text(json.dumps([{"name": "One module", "hosts": "localhost", "gather_facts": False,
                                         "tasks": [task, save]}]))
        return run(name=str(playbook), check=check, diff=diff, verbosity=verbosity, env=env, token=token,
                   module=name, measure_rss=measure_rss)

    run.runs = runs
    run.start = start
    run.module = module
    return run


def secret_forms(user=CANARY_USER, token=CANARY_TOKEN):
    """Every form in which the canary credentials could leak: the tokens, passwords and Basic header blobs."""
    import base64
    forms = []
    for name, secret in ((user, token), (DC_ADMIN, DC_PASSWORD), (DC_USER, DC_USER_PASSWORD)):
        forms += [secret, base64.b64encode(("%s:%s" % (name, secret)).encode()).decode()]
    return forms + [DC_PAT, SNAP_KEY, SNAP_URL_TOKEN]


@pytest.fixture(autouse=True)
def leak_guard(request, tmp_path):
    """After every integration test: no canary secret in any output, result or file the test produced,
    nor in the emulator's log; no Authorization header ever reached the media host; and every key a module
    returned is documented in its RETURN (and every ``returned: always`` key was there)."""
    yield
    forms = secret_forms()
    runs = getattr(request.node.funcargs.get("run_playbook"), "runs", [])
    for index, run in enumerate(r for r in runs if r is not None):
        for secret in forms:
            assert secret not in run.output, "a secret leaked into the output of run %d" % index
            assert secret not in json.dumps(run.result), "a secret leaked into the result of run %d" % index
        if run.module and run.result:
            assert not moduledocs.undocumented_keys(run.module, run.result), (
                "%s returned keys its RETURN does not document: %s" % (
                    run.module, moduledocs.undocumented_keys(run.module, run.result)))
            assert not moduledocs.missing_always_keys(run.module, run.result), (
                "%s did not return keys documented as 'returned: always': %s" % (
                    run.module, moduledocs.missing_always_keys(run.module, run.result)))
    for name, text in all_text_under(str(tmp_path)):
        for secret in forms:
            assert secret not in text, "a secret leaked into %s" % name
    for key in ("emulator", "tls_emulator"):
        emu = request.node.funcargs.get(key)
        if emu is None:
            continue
        with open(emu.log.name, "rb") as handle:
            log = handle.read().decode("latin-1")
        for secret in forms:
            assert secret not in log, "a secret leaked into the emulator's log"
        sent = [e for e in emu.state()["media_log"] if e["authorization"]]
        assert not sent, "Authorization was sent to the media host: %s" % sent


@pytest.fixture
def dest(tmp_path):
    path = tmp_path / "backups"
    path.mkdir()
    return str(path)


def all_text_under(path):
    """(name, text) of every file below path, read as latin-1 so binary files are scanned too."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                yield full, handle.read().decode("latin-1")


@pytest.fixture
def tmpdir_str():
    return tempfile.mkdtemp()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """Azurite's Blob service (Microsoft's Azure Storage emulator) on a free loopback port, from tests/tools/azurite.py:
    a dict with ``endpoint``, ``connection_string``, ``account`` and ``key`` (Azurite's published development key, no
    secret). It creates no container. ``make test`` and ``make e2e`` install Azurite (``make azurite``) and set
    AZURITE_BIN; without it the tests fail, never skip."""
    import shutil
    import time
    program = os.environ.get("AZURITE_BIN") or shutil.which("azurite-blob")
    if not program or not os.access(program, os.X_OK):
        pytest.fail("Azurite is not installed (AZURITE_BIN=%r): run make azurite, which installs it into "
                    ".build/azurite, and set AZURITE_BIN to .build/azurite/node_modules/.bin/azurite-blob (make test "
                    "and make e2e do both)." % (os.environ.get("AZURITE_BIN"),), pytrace=False)
    work = tmp_path_factory.mktemp("azurite")
    ready, log = str(work / "ready.json"), open(str(work / "azurite.log"), "wb")
    proc = subprocess.Popen([sys.executable, os.path.join(COLLECTION, "tests", "tools", "azurite.py"),
                             "--ready-file", ready, "--azurite", program], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            with open(log.name) as handle:
                pytest.fail("Azurite did not start:\n%s" % handle.read(), pytrace=False)
        time.sleep(0.05)
    with open(ready) as handle:
        info = json.load(handle)
    yield info
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 server on a free loopback port; waits for its ready file, not for a port."""
    work = tmp_path_factory.mktemp("s3")
    ready = str(work / "ready.json")
    proc = subprocess.Popen([sys.executable, os.path.join(COLLECTION, "tests", "tools", "s3server.py"), "--ready-file", ready], stdout=subprocess.DEVNULL,
                            stderr=open(str(work / "s3.log"), "w"))
    import time
    deadline = time.monotonic() + 60
    while not os.path.exists(ready):
        assert proc.poll() is None, "the S3 server stopped: %s" % (work / "s3.log").read_text()
        assert time.monotonic() < deadline, "the S3 server did not get ready in 60 s"
        time.sleep(0.05)
    with open(ready) as handle:
        endpoint = json.load(handle)["endpoint_url"]
    yield endpoint
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def s3(s3_server, tmp_path):
    """A fresh bucket on the S3 server, and a client for it."""
    import boto3
    client = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    bucket = "backups-%s" % os.path.basename(str(tmp_path)).lower().replace("_", "-")[-40:].strip("-")
    client.create_bucket(Bucket=bucket)
    return dict(client=client, bucket=bucket, endpoint_url=s3_server)
