# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role scheduled_backup through ansible-playbook, against the emulator and a real S3 server (issue 13).

Three targets (Confluence Cloud, Data Center, Snapshots), their credentials from the environment under each
target's prefix; S3 is moto's server on loopback (tests/tools/s3server.py). Data Center jobs end after 2 polls
and Snapshots tasks after 2 status reads, so nothing races the wall clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import CANARY_TOKEN, COLLECTION, DC_CONTEXT, DC_PAT, SAVE, SNAP_KEY, SNAP_URL_TOKEN

boto3 = pytest.importorskip("boto3")
prometheus_parser = pytest.importorskip("prometheus_client.parser")
pyrage = pytest.importorskip("pyrage")

S3_SERVER = os.path.join(COLLECTION, "tests", "tools", "s3server.py")
FAST = {"scheduled_backup_poll_interval": "0.1", "scheduled_backup_wait_timeout": "120"}
PLAYBOOK = [{
    "name": "The role, its report saved even when it fails", "hosts": "localhost", "gather_facts": False,
    "tasks": [{"name": "Run the role", "block": [
        {"name": "Scheduled backups", "ansible.builtin.include_role": {"name": "atlassian_ops.backup.scheduled_backup"}}],
        "always": [{"name": "Save the report", "check_mode": False, SAVE: {
            "content": "{{ scheduled_backup_report | default([]) | to_nice_json }}", "dest": "{{ result_file }}"}}]}],
}]


def dc_url(emulator):
    return emulator.url + DC_CONTEXT


def snap_endpoint(emulator):
    return "%s/snapshots/api/backup/%s" % (emulator.url, SNAP_URL_TOKEN)


def credentials(emulator, snap_key=SNAP_KEY):
    """Each target's secrets from the environment under its prefix; the Cloud site's from ATLASSIAN_* (conftest)."""
    return {"SCHEDULED_BACKUP_WIKI_PERSONAL_ACCESS_TOKEN": DC_PAT,
            "SCHEDULED_BACKUP_SNAP_ENDPOINT": snap_endpoint(emulator),
            "SCHEDULED_BACKUP_SNAP_API_KEY": snap_key}


def three_targets(emulator):
    return [
        {"name": "site-a", "type": "confluence_cloud", "url": emulator.url},
        {"name": "wiki", "type": "confluence_datacenter", "url": dc_url(emulator), "max_age": "0"},
        {"name": "snap", "type": "snapshots", "url": emulator.url},
    ]


def run_role(run_playbook, tmp_path, targets, env=None, check=False, verbosity=0, **variables):
    playbook = tmp_path / "scheduled.yml"
    playbook.write_text(json.dumps(PLAYBOOK))
    extra = dict(FAST)
    extra.update({"scheduled_backup_targets": targets, "scheduled_backup_dest": str(tmp_path / "backups"),
                  "scheduled_backup_textfile_dir": str(tmp_path / "textfile")})
    extra.update(variables)
    (tmp_path / "textfile").mkdir(exist_ok=True)
    return run_playbook(name=str(playbook), module=None, env=env, check=check, verbosity=verbosity, **extra)


def by_name(run):
    return dict((entry["name"], entry) for entry in run.result or [])


def families(path):
    """{metric name: {(label items): value}} of a textfile, through the Prometheus parser."""
    with open(path) as handle:
        text = handle.read()
    found = {}
    for family in prometheus_parser.text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(metrics, name, **labels):
    matches = [v for k, v in metrics.get(name, {}).items() if set(labels.items()) <= set(k)]
    assert len(matches) == 1, "%s%s: %s" % (name, labels, metrics.get(name))
    return matches[0]


def changed_tasks(output):
    """The names of the tasks that reported a change, for a readable assertion message."""
    names, task = [], None
    for text in output.splitlines():
        if text.startswith("TASK ["):
            task = text[len("TASK ["):].split("]")[0]
        elif text.startswith("changed:"):
            names.append(task)
    return names


def role_changes(output):
    """The role's tasks that reported a change (the test's own "Save the report" aside)."""
    return [name for name in changed_tasks(output) if name != "Save the report"]


def test_one_failing_target_does_not_stop_the_others_and_fails_the_play_naming_it(emulator, run_playbook, tmp_path):
    emulator.config(backup_inventory={"spaces": 3, "pages": 40, "blog_posts": 5, "comments": 12, "attachments": 9})
    hook = tmp_path / "notify.yml"
    hook.write_text(json.dumps([{"name": "Keep what the hook was given", "ansible.builtin.copy": {
        "content": "{{ {'failed': scheduled_backup_failed | map(attribute='name') | list, "
                   "'lines': scheduled_backup_report | map(attribute='line') | list} | to_json }}",
        "dest": str(tmp_path / "notified.json"), "mode": "0600"}}]))
    run = run_role(run_playbook, tmp_path, three_targets(emulator), env=credentials(emulator, snap_key="wrong-key"),
                   scheduled_backup_notify_tasks=str(hook))
    assert run.rc != 0, run
    notified = json.loads((tmp_path / "notified.json").read_text())
    assert notified["failed"] == ["snap"] and len(notified["lines"]) == 3, notified
    report = by_name(run)
    assert [report[n]["status"] for n in ("site-a", "wiki", "snap")] == ["ok", "ok", "failed"], run
    assert "1 of 3 backup targets failed:" in run.output
    failed_line = [line for line in run.output.splitlines() if line.lstrip().startswith("snap (snapshots): failed at")]
    assert failed_line and "api_key" in failed_line[0], run.output[-3000:]
    assert "else from the environment variables SCHEDULED_BACKUP_SNAP_API_KEY: the service refused" in failed_line[0]
    for name in ("site-a", "wiki"):
        entry = report[name]
        assert os.path.exists(entry["path"]) and entry["verified"] == "inventory", entry
        with open(entry["manifest_path"]) as handle:
            manifest = json.load(handle)
        assert manifest["inventory"]["pages"] == 40 and manifest["verified_level"] == "inventory", manifest
        metrics = families(str(tmp_path / "textfile" / ("atlassian_backup_%s.prom" % name.replace("-", "_"))))
        assert value(metrics, "atlassian_backup_last_run_success", target=name) == 1
        assert value(metrics, "atlassian_backup_size_bytes", target=name) == entry["size"]
        assert value(metrics, "atlassian_backup_inventory", target=name, kind="pages") == 40
        assert value(metrics, "atlassian_backup_retained_copies", target=name) == 1
    failed = families(str(tmp_path / "textfile" / "atlassian_backup_snap.prom"))
    assert value(failed, "atlassian_backup_last_run_success", target="snap") == 0
    assert not os.listdir(str(tmp_path / "backups" / "snap")), "a failed export leaves nothing"


def test_a_second_run_within_max_age_changes_nothing(emulator, run_playbook, tmp_path):
    targets = [t for t in three_targets(emulator) if t["name"] != "wiki"]
    first = run_role(run_playbook, tmp_path, targets, env=credentials(emulator))
    assert first.rc == 0, first
    before = sorted(os.listdir(str(tmp_path / "backups" / "site-a")))
    seen = len(emulator.state()["requests"])
    second = run_role(run_playbook, tmp_path, targets, env=credentials(emulator))
    assert second.rc == 0 and role_changes(second.output) == [], role_changes(second.output)
    assert sorted(os.listdir(str(tmp_path / "backups" / "site-a"))) == before
    assert [e["changed"] for e in second.result] == [False, False], second.result
    sent = [r for r in emulator.state()["requests"][seen:] if r.get("method") not in ("GET", "HEAD")]
    assert not sent, "a second run within max_age asks for nothing new: %s" % sent


def test_a_target_whose_lock_another_run_holds_is_skipped_naming_the_holder(emulator, run_playbook, tmp_path):
    locks = tmp_path / "backups" / ".locks"
    locks.mkdir(parents=True)
    holder = {"pid": 4242, "token": "someone-else", "owner": "scheduled_backup site-a", "host": "other-host",
              "started": "2026-11-22T01:00:00Z", "expires": "2026-11-22T23:00:00Z"}
    with open(str(locks / "site-a.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(json.dumps(holder) + "\n")
        handle.flush()
        run = run_role(run_playbook, tmp_path, [three_targets(emulator)[0]], env=credentials(emulator))
    assert run.rc == 0, run
    entry = by_name(run)["site-a"]
    assert entry["status"] == "skipped" and "4242" in entry["msg"] and "other-host" in entry["msg"], entry
    assert not os.path.exists(str(tmp_path / "backups" / "site-a")) or not os.listdir(str(tmp_path / "backups" / "site-a"))


def test_an_inventory_drop_fails_the_target_naming_the_counts(emulator, run_playbook, tmp_path):
    target = [three_targets(emulator)[1]]
    emulator.config(backup_inventory={"spaces": 4, "pages": 200, "blog_posts": 10, "comments": 50, "attachments": 30})
    first = run_role(run_playbook, tmp_path, target, env=credentials(emulator))
    assert first.rc == 0, first
    emulator.config(backup_inventory={"spaces": 4, "pages": 20, "blog_posts": 10, "comments": 50, "attachments": 30})
    second = run_role(run_playbook, tmp_path, target, env=credentials(emulator))
    assert second.rc != 0, second
    entry = by_name(second)["wiki"]
    assert entry["status"] == "failed" and entry["task"] == "Verify the backup", entry
    assert "pages" in entry["msg"] and "200" in entry["msg"] and "20" in entry["msg"], entry["msg"]
    kept = [n for n in os.listdir(str(tmp_path / "backups" / "wiki")) if n.endswith(".zip")]
    assert len(kept) == 2, "nothing is pruned when the new backup fails verification: %s" % kept


def s3_vars(s3):
    return {"scheduled_backup_s3": {"bucket": s3["bucket"], "prefix": "nightly", "endpoint_url": s3["endpoint_url"],
                                    "region": "us-east-1", "validate_certs": False}}


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_the_s3_copy_is_read_back_and_a_tampered_object_is_caught(emulator, run_playbook, tmp_path, s3):
    env = dict(credentials(emulator), **S3_ENV)
    target = [three_targets(emulator)[0]]
    first = run_role(run_playbook, tmp_path, target, env=env, **s3_vars(s3))
    assert first.rc == 0, first
    entry = by_name(first)["site-a"]
    key = "nightly/site-a/" + os.path.basename(entry["path"])
    assert entry["s3"] == "s3://%s/%s" % (s3["bucket"], key)
    listed = sorted(o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"])["Contents"])
    base = key[:-len(".zip")]
    assert listed == sorted([key, key + ".sha256", base + ".json"]), listed
    body = s3["client"].get_object(Bucket=s3["bucket"], Key=key)["Body"].read()
    import hashlib
    assert hashlib.sha256(body).hexdigest() == entry["sha256"] and len(body) == entry["size"]

    second = run_role(run_playbook, tmp_path, target, env=env, **s3_vars(s3))
    assert second.rc == 0 and role_changes(second.output) == [], role_changes(second.output)

    tampered = bytearray(body)
    tampered[len(tampered) // 2] ^= 0xFF
    s3["client"].put_object(Bucket=s3["bucket"], Key=key, Body=bytes(tampered))
    third = run_role(run_playbook, tmp_path, target, env=env, **s3_vars(s3))
    assert third.rc != 0, third
    entry = by_name(third)["site-a"]
    assert entry["status"] == "failed" and "is not the verified backup" in entry["msg"], entry
    assert "differs (ETag)" in entry["msg"], entry["msg"]
    left = s3["client"].get_object(Bucket=s3["bucket"], Key=key)["Body"].read()
    assert left == bytes(tampered), "the tampered object is left as found, for inspection"


def test_the_bucket_gets_the_same_retention(emulator, run_playbook, tmp_path, s3):
    """Old copies in the bucket (with their manifests) are pruned by the same rule as the folder."""
    env = dict(credentials(emulator), **S3_ENV)
    target = [dict(three_targets(emulator)[0], keep_daily=2, keep_weekly=0, keep_monthly=0, keep_yearly=0)]
    label = emulator.url.split("://")[1].replace(":", "_")
    old = []
    for day in ("20250101", "20250102", "20250103"):
        base = "nightly/site-a/confluence-%s-%sT020000Z" % (label, day)
        payload = ("old backup " + day).encode()
        import hashlib
        digest = hashlib.sha256(payload).hexdigest()
        manifest = {"format": 1, "product": "confluence", "site_label": label, "deployment": "cloud",
                    "file": os.path.basename(base) + ".zip", "size": len(payload), "sha256": digest,
                    "backup_time": "%s-%s-%sT02:00:00Z" % (day[:4], day[4:6], day[6:])}
        s3["client"].put_object(Bucket=s3["bucket"], Key=base + ".zip", Body=payload)
        s3["client"].put_object(Bucket=s3["bucket"], Key=base + ".zip.sha256", Body=("%s  x\n" % digest).encode())
        s3["client"].put_object(Bucket=s3["bucket"], Key=base + ".json", Body=json.dumps(manifest).encode())
        old.append(base)
    run = run_role(run_playbook, tmp_path, target, env=env, **s3_vars(s3))
    assert run.rc == 0, run
    listed = set(o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"])["Contents"])
    assert not any(k.startswith(old[0]) or k.startswith(old[1]) for k in listed), sorted(listed)
    assert old[2] + ".zip" in listed, "kept: the newest day before today (keep_daily: 2)"
    new_key = "nightly/site-a/" + os.path.basename(by_name(run)["site-a"]["path"])
    assert new_key in listed
    line = by_name(run)["site-a"]["line"]
    assert "In the bucket, retention deleted 2 old copies (-v names them)." in line, line
    assert by_name(run)["site-a"]["s3_deleted"] == [os.path.basename(old[0]) + ".zip", os.path.basename(old[1]) + ".zip"]


def test_check_mode_asks_for_nothing_and_writes_no_backup(emulator, run_playbook, tmp_path):
    targets = [t for t in three_targets(emulator) if t["name"] != "wiki"]
    run = run_role(run_playbook, tmp_path, targets, env=credentials(emulator), check=True)
    assert run.rc == 0, run
    sent = [r for r in emulator.state()["requests"] if r.get("method") not in ("GET", "HEAD")]
    assert not sent, "check mode asks the services for nothing: %s" % sent
    assert not os.path.exists(str(tmp_path / "backups" / "site-a")), "nor does it create the target's folder"
    assert os.listdir(str(tmp_path / "textfile")) == [], "nor write metrics"


def test_a_wrong_target_type_is_refused_before_any_task(emulator, run_playbook, tmp_path):
    run = run_role(run_playbook, tmp_path, [{"name": "jira", "type": "jira_cloud"}])
    assert run.rc != 0
    assert "jira_cloud" in run.output and "confluence_cloud" in run.output, run.output[-2000:]
    assert "Take the target's lock" not in run.output


def test_the_timer_and_its_service_are_rendered_and_valid(emulator, run_playbook, tmp_path):
    config, units, cron = tmp_path / "etc", tmp_path / "units", tmp_path / "cron"
    units.mkdir()
    cron.mkdir()
    secret = "timer-test-token-5b1e"
    targets = [{"name": "site-a", "type": "confluence_cloud", "url": "https://example.atlassian.net",
                "api_token": secret, "username": "bot@example.com", "enabled": False}]
    common = {"scheduled_backup_install_timer": True, "scheduled_backup_timer_activate": False,
              "scheduled_backup_timer_config_dir": str(config), "scheduled_backup_timer_unit_dir": str(units),
              "scheduled_backup_timer_cron_dir": str(cron)}
    run = run_role(run_playbook, tmp_path, targets, scheduled_backup_timer_kind="systemd", **common)
    assert run.rc == 0, run
    env_file = config / "atlassian-backup.env"
    assert stat.S_IMODE(os.stat(str(env_file)).st_mode) == 0o600
    assert "SCHEDULED_BACKUP_SITE_A_API_TOKEN='%s'" % secret in env_file.read_text()
    variables = (config / "atlassian-backup.yml").read_text()
    assert secret not in variables and "scheduled_backup_install_timer: false" in variables
    assert secret not in run.output
    service, timer = (units / "atlassian-backup.service").read_text(), (units / "atlassian-backup.timer").read_text()
    assert "Persistent=true" in timer and "RandomizedDelaySec=30m" in timer and "OnCalendar=*-*-* 02:00:00" in timer
    assert "EnvironmentFile=%s" % env_file in service and "atlassian_ops.backup.scheduled_backup" in service
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "verify", str(units / "atlassian-backup.service"),
                                str(units / "atlassian-backup.timer")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert check.returncode == 0, check.stdout

    again = run_role(run_playbook, tmp_path, targets, scheduled_backup_timer_kind="cron", **common)
    assert again.rc == 0, again
    entry = (cron / "atlassian-backup").read_text()
    line = [text for text in entry.splitlines() if text.startswith("0 2 * * * root ")]
    assert line and ". %s" % env_file in line[0] and "atlassian_ops.backup.scheduled_backup" in line[0], entry


# --- the installed timer (issue 18, defect 6; issue 20, item 1) ------------------------------------------------------

TIMER_USER = "timer-bot@example.com"
TIMER_TOKEN = "timer-test-token-0c4e7a"  # not a canary: the timer's environment file holds it, under tmp_path


def timer_vars(tmp_path, kind, **more):
    config, units, cron = tmp_path / "etc", tmp_path / "units", tmp_path / "cron"
    for folder in (units, cron):
        folder.mkdir(exist_ok=True)
    found = {"scheduled_backup_install_timer": True, "scheduled_backup_timer_activate": False,
             "scheduled_backup_timer_kind": kind, "scheduled_backup_timer_config_dir": str(config),
             "scheduled_backup_timer_unit_dir": str(units), "scheduled_backup_timer_cron_dir": str(cron)}
    found.update(more)
    return found


def collection_beside_the_playbook(tmp_path):
    """The collection in <playbook dir>/collections (as teams vendor it), and ANSIBLE_COLLECTIONS_PATH elsewhere."""
    beside = tmp_path / "collections" / "ansible_collections" / "atlassian_ops"
    beside.mkdir(parents=True)
    os.symlink(COLLECTION, str(beside / "backup"))
    elsewhere = tmp_path / "no-collections"
    elsewhere.mkdir()
    return str(elsewhere)


def environment_file(path):
    """KEY=value lines as systemd's EnvironmentFile= reads the ones the role writes (values in single quotes)."""
    found = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _sep, value = line.partition("=")
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            found[key] = value
    return found


def run_the_installed_command(tmp_path, kind):
    """The timer's command line run as systemd or cron would run it: only the variables they set, none of ours."""
    home = tmp_path / "timer-home"
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LOGNAME": "root"}
    if kind == "systemd":
        service = (tmp_path / "units" / "atlassian-backup.service").read_text()
        settings = [line.partition("=") for line in service.splitlines() if "=" in line and not line.startswith("#")]
        for key, _sep, value in settings:
            if key == "Environment":
                name, _sep, text = value.partition("=")
                env[name] = text
            elif key == "EnvironmentFile":
                env.update(environment_file(value))
        command = [value for key, _sep, value in settings if key == "ExecStart"][0]
        proc = subprocess.run(shlex.split(command), env=env, cwd="/", stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
        return proc.returncode, proc.stdout
    # cron: the file's NAME=value lines, then the entry's command through /bin/sh; its output goes to logger,
    # here a stand-in that keeps it in a file.
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    log = tmp_path / "logger.out"
    (fake / "logger").write_text("#!/bin/sh\ncat >> %s\n" % shlex.quote(str(log)))
    os.chmod(str(fake / "logger"), 0o755)
    env["PATH"] = "%s:/usr/bin:/bin" % fake
    entry = (tmp_path / "cron" / "atlassian-backup").read_text().splitlines()
    for line in entry:
        if line and not line.startswith("#") and "=" in line.split()[0]:
            name, _sep, value = line.partition("=")
            env[name] = value
    schedule = [line for line in entry if line[:1].isdigit()][0]
    user, command = schedule.split(None, 6)[5:]
    assert user == "root"
    proc = subprocess.run(["/bin/sh", "-c", command], env=env, cwd=str(home), timeout=600, check=False)
    return proc.returncode, log.read_text() if log.exists() else ""


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_the_installed_timer_command_backs_up_and_copies_to_s3_with_its_environment_file(
        emulator, run_playbook, tmp_path, s3, kind):
    """Every credential the interactive run took from the environment reaches the scheduled run: the target's
    under its prefix (_URL, _USERNAME), a module's own variable (ATLASSIAN_API_TOKEN) and boto3's AWS_*; and the
    scheduled run finds the collection where the role was loaded from (beside the playbook)."""
    emulator.config(users={TIMER_USER: TIMER_TOKEN}, frequency_limit_seconds=0)
    env = {"ANSIBLE_COLLECTIONS_PATH": collection_beside_the_playbook(tmp_path),
           "ATLASSIAN_URL": None, "ATLASSIAN_USERNAME": None, "ATLASSIAN_ORG_ID": None,
           "ATLASSIAN_BACKUP_API_URL": None, "ATLASSIAN_API_TOKEN": TIMER_TOKEN,
           "SCHEDULED_BACKUP_SITE_A_URL": emulator.url, "SCHEDULED_BACKUP_SITE_A_USERNAME": TIMER_USER}
    env.update(dict((name, None) for name in os.environ if name.startswith("AWS_")), **S3_ENV)
    # The interactive run installs the timer and leaves out every step of a backup (--skip-tags, the role's tags): a
    # backup and copy of its own would only be deleted before tonight's. test_the_installed_command_that_cannot_find_
    # the_collection_writes_last_run_success_0 installs in a run that backs up too.
    env["ANSIBLE_SKIP_TAGS"] = "preflight,backup,verify,retention,s3,metrics"
    variables = dict(s3_vars(s3), **timer_vars(tmp_path, kind))
    # The cron run encrypts its copy (issue 23): the recipients reach the scheduled run through its variables file.
    recipient = str(pyrage.x25519.Identity.generate().to_public()) if kind == "cron" else None
    if recipient:
        variables["scheduled_backup_encrypt_recipients"] = [recipient]
    install = run_role(run_playbook, tmp_path, [{"name": "site-a", "type": "confluence_cloud"}], env=env, **variables)
    assert install.rc == 0, install
    env_file = tmp_path / "etc" / "atlassian-backup.env"
    assert environment_file(str(env_file)) == {
        "SCHEDULED_BACKUP_SITE_A_URL": emulator.url, "SCHEDULED_BACKUP_SITE_A_USERNAME": TIMER_USER,
        "SCHEDULED_BACKUP_SITE_A_API_TOKEN": TIMER_TOKEN, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing"}
    assert TIMER_TOKEN not in (tmp_path / "etc" / "atlassian-backup.yml").read_text()
    assert TIMER_TOKEN not in install.output

    # Tonight starts from nothing, locally or in the bucket.
    folder = tmp_path / "backups" / "site-a"
    assert not folder.exists() or not [n for n in os.listdir(str(folder)) if n.endswith(".zip")]
    assert not s3["client"].list_objects_v2(Bucket=s3["bucket"]).get("Contents"), "the install copied nothing"
    seen = len(emulator.state()["requests"])
    rc, output = run_the_installed_command(tmp_path, kind)
    assert "could not be found" not in output, output[-3000:]
    assert "failed=0" in output and "site-a (confluence_cloud): ok" in output, output[-3000:]
    if kind == "systemd":
        assert rc == 0, output[-3000:]
    assert [r for r in emulator.state()["requests"][seen:] if r.get("method") == "POST"], "a new backup was taken"
    zips = [n for n in os.listdir(str(tmp_path / "backups" / "site-a")) if n.endswith(".zip")]
    assert len(zips) == 1, zips
    listed = [o["Key"] for o in s3["client"].list_objects_v2(Bucket=s3["bucket"]).get("Contents", [])]
    assert "nightly/site-a/" + zips[0] + (".age" if recipient else "") in listed, listed
    metrics = families(str(tmp_path / "textfile" / "atlassian_backup_site_a.prom"))
    assert value(metrics, "atlassian_backup_last_run_success", target="site-a") == 1


def test_the_timer_files_are_the_timer_users_and_an_install_that_cannot_start_fails(emulator, run_playbook, tmp_path):
    """A non-root timer user can read its variables and environment files (owner, 0600); a scheduled run whose
    command cannot find the collection is refused at install, before any unit is written."""
    pwd = pytest.importorskip("pwd")
    if os.geteuid() != 0:
        pytest.skip("giving the files to another user needs root")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    targets = [{"name": "site-a", "type": "confluence_cloud", "url": "https://example.atlassian.net",
                "api_token": TIMER_TOKEN, "username": TIMER_USER, "enabled": False}]
    outside = tempfile.mkdtemp(prefix="timer-config-")  # pytest's folders are root's only: nobody could not reach it
    try:
        os.chmod(outside, 0o755)
        config = os.path.join(outside, "etc")
        run = run_role(run_playbook, tmp_path, targets, **timer_vars(
            tmp_path, "cron", scheduled_backup_timer_user="nobody", scheduled_backup_timer_config_dir=config))
        assert run.rc == 0, run
        files = [os.path.join(config, name) for name in ("atlassian-backup.yml", "atlassian-backup.env")]
        for name in files:
            info = os.stat(name)
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (nobody.pw_uid, 0o600), name

        def become_nobody():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)

        as_nobody = subprocess.run(["cat"] + files, preexec_fn=become_nobody, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, universal_newlines=True, check=False)
        assert as_nobody.returncode == 0 and TIMER_TOKEN in as_nobody.stdout, as_nobody.stderr
    finally:
        shutil.rmtree(outside)

    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "cron" / "atlassian-backup").unlink()
    broken = run_role(run_playbook, tmp_path, targets, **timer_vars(
        tmp_path, "cron", scheduled_backup_timer_collections_path=str(empty)))
    assert broken.rc != 0, broken
    assert "The scheduled run's command does not start" in broken.output, broken.output[-3000:]
    assert "could not be found" in broken.output and str(empty) in broken.output, broken.output[-3000:]
    assert "Nothing was installed or written" in broken.output and "amazon.aws" not in broken.output
    assert not (tmp_path / "cron" / "atlassian-backup").exists()
    assert not (tmp_path / "etc").exists(), "no credentials, variables or wrapper are left by a refused install"


# --- a busy lock (issue 18, defect 8) and tags per step ---------------------------------------------------------------

def test_a_busy_lock_is_reported_to_the_hook_counted_in_the_metrics_and_a_stale_holder_flagged(
        emulator, run_playbook, tmp_path):
    """site-a's holder took the lock long before scheduled_backup_lock_stale_after (a dead controller); wiki's a
    minute ago (a run in progress). Both are skipped, reported to the hook and counted; only site-a is flagged."""
    locks = tmp_path / "backups" / ".locks"
    locks.mkdir(parents=True)
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    held = {"site-a": "2020-01-01T00:00:00Z", "wiki": recent}
    hook = tmp_path / "notify.yml"
    hook.write_text(json.dumps([{"name": "Keep what the hook was given", "ansible.builtin.copy": {
        "content": "{{ {'skipped': scheduled_backup_skipped | items2dict(key_name='name', value_name='stale'), "
                   "'failed': scheduled_backup_failed | length, "
                   "'lines': scheduled_backup_report | map(attribute='line') | list} | to_json }}",
        "dest": str(tmp_path / "notified.json"), "mode": "0600"}}]))
    handles = []
    try:
        for name, started in sorted(held.items()):
            handle = open(str(locks / ("%s.lock" % name)), "w")
            handles.append(handle)
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            handle.write(json.dumps({"pid": 4242, "token": "someone-else", "owner": "scheduled_backup " + name,
                                     "host": "other-host", "started": started,
                                     "expires": "2099-01-01T00:00:00Z"}) + "\n")
            handle.flush()
        targets = three_targets(emulator)[:2]
        first = run_role(run_playbook, tmp_path, targets, env=credentials(emulator),
                         scheduled_backup_notify_tasks=str(hook))
        second = run_role(run_playbook, tmp_path, targets, env=credentials(emulator),
                          scheduled_backup_notify_tasks=str(hook))
    finally:
        for handle in handles:
            handle.close()
    assert first.rc == 0 and second.rc == 0, (first, second)
    report = by_name(second)
    assert [report[n]["status"] for n in ("site-a", "wiki")] == ["skipped", "skipped"], report
    assert report["site-a"]["stale"] is True and report["wiki"]["stale"] is False, report
    assert report["site-a"]["held_seconds"] > 6 * 365 * 86400 and report["wiki"]["held_seconds"] < 12 * 3600
    assert "WARNING: stale lock" in report["site-a"]["line"] and "longer than stale_after (12h)" in report["site-a"]["msg"]
    assert "end pid 4242" in report["site-a"]["msg"] and "other-host" in report["site-a"]["msg"]
    assert "WARNING" not in report["wiki"]["line"], report["wiki"]
    assert "[WARNING]: Lock %s" % (locks / "site-a.lock") in second.output, second.output[-3000:]
    notified = json.loads((tmp_path / "notified.json").read_text())
    assert notified["skipped"] == {"site-a": True, "wiki": False} and notified["failed"] == 0, notified
    for name in ("site-a", "wiki"):
        metrics = families(str(tmp_path / "textfile" / ("atlassian_backup_%s.prom" % name.replace("-", "_"))))
        assert value(metrics, "atlassian_backup_last_run_skipped", target=name) == 2, "two runs in a row"
        assert "atlassian_backup_last_run_success" not in metrics, "no run of this target has ended yet"
    assert not [r for r in emulator.state()["requests"] if r.get("method") == "POST"], "nothing was started"


def test_skip_tags_leaves_out_the_s3_copy_and_the_metrics(emulator, run_playbook, tmp_path, s3):
    env = dict(credentials(emulator), ANSIBLE_SKIP_TAGS="s3,metrics", **S3_ENV)
    run = run_role(run_playbook, tmp_path, [three_targets(emulator)[0]], env=env, **s3_vars(s3))
    assert run.rc == 0, run
    entry = by_name(run)["site-a"]
    assert entry["status"] == "ok" and entry["verified"] == "inventory" and entry["s3"] is None, entry
    assert os.path.exists(entry["path"]) and entry["retained"] == 1, entry
    assert "Contents" not in s3["client"].list_objects_v2(Bucket=s3["bucket"]), "nothing copied"
    assert os.listdir(str(tmp_path / "textfile")) == [], "no metrics written"
    assert "Take the target's lock" in run.output and "Release the target's lock" in run.output


# --- what a new admin hit (issue 20) -----------------------------------------------------------------------------------

DAY = 86400


def service_requests(emulator, since=0):
    """The requests that reached the emulated services (its own control calls aside)."""
    return [r for r in emulator.state()["requests"][since:] if not r.get("path", "").startswith("/_emulator")]


def test_a_missing_metrics_folder_fails_at_preflight_before_any_request(emulator, run_playbook, tmp_path):
    """Item 2: the folder is checked before the backup, and the failure to write the failed target's metrics is in
    the play's failure, not swallowed."""
    missing = tmp_path / "no-such-textfile-dir"
    run = run_role(run_playbook, tmp_path, [three_targets(emulator)[0]], env=credentials(emulator),
                   scheduled_backup_textfile_dir=str(missing))
    assert run.rc != 0, run
    entry = by_name(run)["site-a"]
    assert entry["status"] == "failed" and entry["task"] == "Refuse a metrics folder the run cannot write", entry
    assert str(missing) in entry["msg"] and "scheduled_backup_textfile_dir" in entry["msg"], entry["msg"]
    assert "does not exist" in entry["msg"] and "No backup was asked for" in entry["msg"], entry["msg"]
    assert "were not written either" in entry["line"], entry["line"]
    assert "1 of 1 backup targets failed:" in run.output and "were not written either" in run.output
    assert service_requests(emulator) == [], "nothing reached the service"
    assert not missing.exists()


def test_a_target_without_a_token_names_the_roles_variable_before_any_request(emulator, run_playbook, tmp_path):
    """Item 4: the role checks its own credentials and names SCHEDULED_BACKUP_<NAME>_API_TOKEN and the target's
    field, not the module's variables."""
    run = run_role(run_playbook, tmp_path, [three_targets(emulator)[0]], env={"ATLASSIAN_API_TOKEN": None})
    assert run.rc != 0, run
    entry = by_name(run)["site-a"]
    assert entry["status"] == "failed" and entry["task"] == "Check that the target has its credentials, before any request"
    assert "site-a (confluence_cloud) has no API token" in entry["msg"], entry["msg"]
    assert "SCHEDULED_BACKUP_SITE_A_API_TOKEN" in entry["msg"] and "field api_token" in entry["msg"], entry["msg"]
    assert "Nothing was sent" in entry["msg"], entry["msg"]
    assert service_requests(emulator) == [], "nothing reached the service"
    metrics = families(str(tmp_path / "textfile" / "atlassian_backup_site_a.prom"))
    assert value(metrics, "atlassian_backup_last_run_success", target="site-a") == 0


def test_a_misspelled_top_level_variable_warns_naming_the_closest_one(emulator, run_playbook, tmp_path):
    """Item 6: scheduled_backup_keep_daly ran silently with the default retention."""
    target = dict(three_targets(emulator)[0], enabled=False)
    run = run_role(run_playbook, tmp_path, [target], scheduled_backup_keep_daly=3, scheduled_backup_zzz_qqq=1)
    assert run.rc == 0, run
    warnings = " ".join(line for line in run.output.splitlines() if "[WARNING]" in line)
    assert ("scheduled_backup_keep_daly is not a variable of the role atlassian_ops.backup.scheduled_backup and is "
            "ignored; did you mean scheduled_backup_keep_daily?") in warnings, run.output[-3000:]
    assert "scheduled_backup_zzz_qqq is not a variable of the role" in warnings and "zzz_qqq is not a variable of " \
        "the role atlassian_ops.backup.scheduled_backup and is ignored. ansible-doc" in warnings, warnings
    assert "scheduled_backup_textfile_dir" not in warnings and "scheduled_backup_targets" not in warnings, warnings


def test_a_wrong_field_inside_a_target_fails_short_naming_the_closest_field_before_any_request(
        emulator, run_playbook, tmp_path):
    """Item 6: a wrong key inside a target failed well but printed a 13.8 KB line dumping the whole spec."""
    good, second = three_targets(emulator)[:2]
    wrong = dict(good, keep_daly=3, max_drop_percent="a lot", api_token=CANARY_TOKEN)
    run = run_role(run_playbook, tmp_path, [wrong, dict(second, wait_timout="1h")])
    assert run.rc != 0, run
    fatal = [line for line in run.output.splitlines() if "fatal:" in line or "FAILED!" in line]
    assert len(fatal) == 1 and len(fatal[0]) < 1200, fatal
    said = fatal[0].replace("\\n", "\n")
    assert "scheduled_backup_targets[0] (site-a): no field 'keep_daly' (did you mean 'keep_daily'?); field " \
        "'max_drop_percent' must be a float, not a str" in said, said
    assert "scheduled_backup_targets[1] (%s): no field 'wait_timout' (did you mean 'wait_timeout'?)" % second["name"] \
        in said, said
    assert "Supported parameters" not in run.output and "argument_spec_data" not in run.output
    assert CANARY_TOKEN not in run.output
    assert "entry point target" in said
    assert service_requests(emulator) == [], "nothing reached the service"


def test_the_report_line_says_what_retention_deleted_and_what_the_metrics_did(emulator, run_playbook, tmp_path):
    """Item 7: nights simulated on the emulator's clock, from five days ago (a backup is never in the future of the
    module's clock); a run that rewrote only the metrics does not say "nothing to do"."""
    emulator.config(frequency_limit_seconds=0)
    emulator.control("advance", {"seconds": -5 * DAY})
    nightly = [dict(three_targets(emulator)[0], max_age="0", keep_daily=2, keep_weekly=0, keep_monthly=0,
                    keep_yearly=0)]
    lines, deleted = [], []
    for night in range(4):
        before = set(n for n in os.listdir(str(tmp_path / "backups" / "site-a"))) if night else set()
        run = run_role(run_playbook, tmp_path, nightly, env=credentials(emulator), verbosity=1 if night == 3 else 0)
        assert run.rc == 0, "night %d: %r" % (night, run)
        entry = by_name(run)["site-a"]
        lines.append(entry["line"])
        deleted.append(sorted(n for n in before if n.endswith(".zip")
                              and not os.path.exists(str(tmp_path / "backups" / "site-a" / n))))
        assert entry["deleted"] == deleted[-1], (night, entry)
        emulator.control("advance", {"seconds": DAY})
    assert deleted[:3] == [[], [], deleted[2]] and len(deleted[2]) == 1 and len(deleted[3]) == 1, deleted
    assert "Retention deleted nothing, kept 1. Metrics rewritten (atlassian_backup_site_a.prom)." in lines[0], lines[0]
    assert "Retention deleted nothing, kept 2." in lines[1], lines[1]
    assert "Retention deleted 1 old backup (-v names them), kept 2." in lines[2], lines[2]
    assert "Retention deleted 1 old backup: %s, kept 2." % deleted[3][0] in lines[3], lines[3]

    # The same night again: the backup is reused, and only the metrics (removed meanwhile) are written.
    os.remove(str(tmp_path / "textfile" / "atlassian_backup_site_a.prom"))
    again = run_role(run_playbook, tmp_path, [dict(nightly[0], max_age="72h")], env=credentials(emulator))
    assert again.rc == 0, again
    line = by_name(again)["site-a"]["line"]
    assert "nothing to do" not in line and "Metrics rewritten" in line, line
    assert "Retention deleted nothing, kept 2." in line, line
    third = run_role(run_playbook, tmp_path, [dict(nightly[0], max_age="72h")], env=credentials(emulator))
    assert "Metrics unchanged (atlassian_backup_site_a.prom)." in by_name(third)["site-a"]["line"], third.result


@pytest.mark.parametrize("kind", ["systemd", "cron"])
def test_the_installed_command_that_cannot_find_the_collection_writes_last_run_success_0(
        emulator, run_playbook, tmp_path, kind):
    """Item 1: a nightly run that fails before the role (here, the collection is gone) is seen by the monitoring:
    the wrapper sets last_run_success to 0 in each target's textfile, keeps the other samples, and keeps the run's
    exit code."""
    emulator.config(users={TIMER_USER: TIMER_TOKEN}, frequency_limit_seconds=0)
    env = {"ANSIBLE_COLLECTIONS_PATH": collection_beside_the_playbook(tmp_path), "ATLASSIAN_API_TOKEN": TIMER_TOKEN}
    targets = [{"name": name, "type": "confluence_cloud", "url": emulator.url, "username": TIMER_USER}
               for name in ("site-a", "site-b")] + [
        {"name": "off", "type": "confluence_cloud", "url": emulator.url, "username": TIMER_USER, "enabled": False}]
    install = run_role(run_playbook, tmp_path, targets, env=env, **timer_vars(tmp_path, kind))
    assert install.rc == 0, install
    textfiles = dict((n, str(tmp_path / "textfile" / ("atlassian_backup_%s.prom" % n.replace("-", "_"))))
                     for n in ("site-a", "site-b"))
    with open(textfiles["site-a"]) as handle:
        help_line = [line for line in handle if line.startswith("# HELP atlassian_backup_last_run_success ")]
    os.remove(textfiles["site-b"])  # as on a first night: no textfile yet

    # Tonight the collection is gone (removed, or upgraded away).
    os.unlink(str(tmp_path / "collections" / "ansible_collections" / "atlassian_ops" / "backup"))
    seen = len(emulator.state()["requests"])
    rc, output = run_the_installed_command(tmp_path, kind)
    assert "could not be found" in output, output[-3000:]
    for name, path in sorted(textfiles.items()):
        metrics = families(path)
        assert value(metrics, "atlassian_backup_last_run_success", target=name, type="confluence_cloud") == 0, name
    assert value(families(textfiles["site-a"]), "atlassian_backup_size_bytes", target="site-a") > 0, "kept"
    with open(textfiles["site-b"]) as handle:
        assert [line for line in handle if line.startswith("# HELP ")] == help_line, "the module's HELP text"
    assert not os.path.exists(str(tmp_path / "textfile" / "atlassian_backup_off.prom")), "a disabled target"
    assert "wrote atlassian_backup_last_run_success 0 to %s" % textfiles["site-a"] in output, output[-3000:]
    assert len(emulator.state()["requests"]) == seen
    if kind == "systemd":
        service = (tmp_path / "units" / "atlassian-backup.service").read_text()
        command = [line for line in service.splitlines() if line.startswith("ExecStart=")][0]
        unwrapped = shlex.split(command.partition(" -- ")[2])
        alone = subprocess.run(unwrapped, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "timer-home"),
                                               "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections")},
                               cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        assert rc == alone.returncode != 0, (rc, alone.returncode)
