# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the fault campaign's scenarios share: credentials, running one module through ansible-playbook, files,
honest failures, the started-job invariants and the secret scan (see campaign.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
PLAYBOOK = os.path.join(TESTS, "e2e", "playbooks", "backup.yml")
EMULATOR_PATH = os.path.join(TESTS, "emulator")
# .../ansible_collections/atlassian_ops/backup/tests/chaos -> the folder that holds ansible_collections
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(TESTS))))
MIB = 1024 * 1024

# Canary credentials of every API. None may appear in any output, result, file or the emulator's log.
USER = "chaos-bot@example.com"
TOKEN = "CANARY-chaos-5d1e7a3b9c0f4e28b6a2"
DC_ADMIN = "admin"
DC_PASSWORD = "CANARY-chaos-dcpw-3e8a1f6b"
DC_PAT = "CANARY-chaos-dcpat-7b2c9e4d1a"
SNAP_KEY = "CANARY-chaos-snapkey-6d3f0a9c"
SNAP_URL_TOKEN = "CANARYchaosurl4e1b7c"
ORG_ID = "0aa1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
ORG_PREFIX = "/public/backup-management/v2"
SITE = "6c7a6f55-1b7e-4a3e-9a55-08edb3a15371"
RESTORE_SITE = "b3e2f1a0-7c6d-4e5f-8a9b-0c1d2e3f4a5b"
DC_CONTEXT = "/confluence"
DC_API = DC_CONTEXT + "/rest/api/backup-restore"
SNAP_PATH = "/snapshots/api/backup/" + SNAP_URL_TOKEN

EMULATOR_CONFIG = {"users": {USER: TOKEN}, "dc_users": {DC_ADMIN: DC_PASSWORD}, "dc_pats": {DC_PAT: DC_ADMIN},
                   "snapshots_api_keys": [SNAP_KEY], "snapshots_endpoint_token": SNAP_URL_TOKEN}


def secret_forms():
    forms = [TOKEN, DC_PASSWORD, DC_PAT, SNAP_KEY, SNAP_URL_TOKEN]
    for name, secret in ((USER, TOKEN), (DC_ADMIN, DC_PASSWORD)):
        forms.append(base64.b64encode(("%s:%s" % (name, secret)).encode()).decode())
    return forms


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(folder):
    return {name: sha256_file(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, name))}


def write_earlier(folder, stem):
    """An earlier verified backup in ``folder`` (zip, .sha256, manifest): no run may touch it."""
    os.makedirs(folder, exist_ok=True)
    data = hashlib.sha256(stem.encode()).digest() * 4096
    path = os.path.join(folder, stem + ".zip")
    with open(path, "wb") as handle:
        handle.write(data)
    with open(path + ".sha256", "w") as handle:
        handle.write("%s  %s.zip\n" % (hashlib.sha256(data).hexdigest(), stem))
    with open(os.path.join(folder, stem + ".json"), "w") as handle:
        json.dump({"file": stem + ".zip", "sha256": hashlib.sha256(data).hexdigest()}, handle)
    return tree_digest(folder)


def base_env(work, emulator_url):
    return dict(os.environ, ATLASSIAN_URL=emulator_url, ATLASSIAN_USERNAME=USER, ATLASSIAN_API_TOKEN=TOKEN,
                ATLASSIAN_ORG_ID=ORG_ID, ATLASSIAN_BACKUP_API_URL=emulator_url + ORG_PREFIX,
                ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT,
                ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-tmp"))


def run_ansible(work, playbook, variables, env, result_file):
    """ansible-playbook ``playbook`` with ``variables``; (rc, output, the saved module result or None)."""
    inventory = os.path.join(work, "inventory.ini")
    with open(inventory, "w") as handle:
        handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    if os.path.exists(result_file):
        os.unlink(result_file)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook,
               "-e", json.dumps(dict(variables, result_file=result_file))]
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    result = None
    if os.path.exists(result_file):
        with open(result_file) as handle:
            result = json.load(handle)
        os.unlink(result_file)
    return {"rc": proc.returncode, "output": proc.stdout, "result": result}


def run_module(work, module, args, env, number):
    """One task of the collection's ``module`` with ``args`` (a one-task playbook that saves its result)."""
    playbook = os.path.join(work, "module-%d.yml" % number)
    task = {"name": "Run %s" % module, "atlassian_ops.backup.%s" % module: args, "register": "result",
            "ignore_errors": True}
    save = {"name": "Save the result", "check_mode": False,
            "ansible.builtin.copy": {"content": "{{ result | to_nice_json }}", "dest": "{{ result_file }}",
                                     "mode": "0600"}}
    with open(playbook, "w") as handle:
        json.dump([{"name": "One module", "hosts": "localhost", "gather_facts": False, "tasks": [task, save]}], handle)
    try:
        return run_ansible(work, playbook, {}, env, os.path.join(work, "result-%d.json" % number))
    finally:
        os.unlink(playbook)


def honest_failure(result, names, causes):
    """Invariant 4: a failure has a message, is no traceback, and names one of the injected causes."""
    violations = []
    msg = result.get("msg") or ""
    if not msg.strip():
        violations.append("a failure without a message")
    if "Traceback" in msg or "MODULE FAILURE" in msg:
        violations.append("a crash instead of a message: %s" % msg[:300])
    words = [w for n in names for w in causes.get(n, ())]
    if names and not any(w in msg for w in words):
        violations.append("the message names none of the causes %s: %s" % (names, msg[:300]))
    return violations


def started_job(result, created, start_posts, key, listing_words, accepted=True):
    """The started-job invariants (issue 19) for one run.

    ``created``: the ids of the jobs the emulator created in this run (its state); ``start_posts``: the start
    requests that reached the service (its request log); ``key``: the result's key for the job's id;
    ``listing_words``: what a failure that lost the job's id must quote (the listing call); ``accepted``: whether
    the service answered the start 2xx (a job it made while refusing the start need not be named).
    """
    violations = []
    created = [str(job) for job in created]
    reported = result.get(key)
    reported = None if reported is None else str(reported)
    if start_posts > 1:
        violations.append("%d start requests reached the service (at most one per run)" % start_posts)
    if len(created) > 1:
        violations.append("%d jobs were started: %s" % (len(created), created))
    failed = bool(result.get("failed"))
    if not failed:
        if not created:
            violations.append("success reported for %s=%s although no job was started" % (key, reported))
        elif key is not None and reported not in created:
            violations.append("success reported for %s=%s, not the started job %s" % (key, reported, created))
    elif created and accepted and reported not in created:
        # A failed result that carries the job's id reports it; else its message must name it or the listing call.
        msg = result.get("msg") or ""
        if not any(job in msg for job in created) and not any(w in msg for w in listing_words):
            violations.append("a failure after job %s was started names neither it nor the listing call: %s" % (
                created[0], msg[:300]))
    return violations


# What a failure caused by a fault of the HTTP layer may say, whichever API it hit (each API adds its own faults).
HTTP_CAUSES = {
    "storm429": ["429", "rate-limit", "rate limit", "Rate limit"],
    "storm503": ["503"],
    "burst500": ["500"],
    "slow": ["timed out", "timeout", "Timeout"],
    "slow_start": ["timed out", "timeout", "Timeout"],
    "corrupt": ["JSON", "json", "parse", "not valid", "could not be read", "got: ", "empty body"],
    "corrupt_download": ["zip", "size", "bytes", "sha256", "truncated", "Content-Length", "short"],
    "redirect_loop": ["redirect", "302"],
    "endless": ["larger than"],
    "stall": ["wait_timeout", "still"],
}


def partial_files(new, failed, msg):
    """A .part only with its state file, and only after a failure that says it can be resumed."""
    violations = []
    parts = [n for n in new if n.endswith(".part")]
    states = [n for n in new if n.endswith(".part.state.json")]
    if parts:
        if not failed or "resume" not in msg:
            violations.append("a .part was left by a run that does not say it can resume: %s" % msg[:200])
        if not states:
            violations.append("a .part was left without its state file")
    elif states:
        violations.append("a state file was left without its .part")
    return violations


def left_files(folder, earlier_digest, failed, msg):
    """Invariants on the destination: the earlier backup unchanged; nothing partial under a final name; a .part
    only with its state file and a failure that says it can be resumed. Returns (violations, new file digests)."""
    violations = []
    now = tree_digest(folder)
    for name, digest in earlier_digest.items():
        if now.get(name) != digest:
            violations.append("the earlier file %s changed or vanished" % name)
    new = {n: d for n, d in now.items() if n not in earlier_digest}
    violations += partial_files(new, failed, msg)
    others = [n for n in new if not n.endswith(".part") and not n.endswith(".part.state.json")]
    if failed and [n for n in others if n.endswith(".zip")]:
        violations.append("a failed run left %s under a final name" % [n for n in others if n.endswith(".zip")])
    return violations, new


def scan_secrets(outcomes, folders):
    forms = secret_forms()
    found = []
    for outcome in outcomes:
        blob = outcome["output"] + json.dumps(outcome["result"])
        found += ["a canary secret (%s...) is in the output or result" % f[:12] for f in forms if f in blob]
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                with open(os.path.join(root, name), "rb") as handle:
                    text = handle.read().decode("latin-1")
                found += ["a canary secret (%s...) is in %s" % (f[:12], name) for f in forms if f in text]
    return found


def http_rule(rng, status, match, method=None, count=None):
    rule = {"kind": "http", "status": status, "match": match, "count": count or rng.randint(1, 5)}
    if method:
        rule["method"] = method
    if status == 429:
        after = rng.choice([None, "0", "1"])
        if after is not None:
            rule["retry_after"] = after
    return rule


def corrupt_rule(rng, match, method="GET"):
    """A 2xx answer whose body is cut short or is not JSON at all: a proxy that broke it."""
    body = rng.choice(['{"status":"IN_PROG', '<html><body>Gateway login</body></html>', '{"id": ', ''])
    return {"kind": "http", "status": 200, "match": match, "method": method, "count": rng.randint(1, 3),
            "body": body, "content_type": "application/json" if body.startswith("{") else "text/html"}


class StartScenario(object):
    """A module that starts a job: one run = reset, place what it needs, arm the faults, run it, check.

    Subclasses set ``api``, ``module``, ``key`` (the result's key for the job id), ``listing`` (words a failure
    that lost the job's id must quote), ``causes`` (what a failure caused by each fault may say), and give
    ``pick`` (the run's plan), ``place`` (after the reset), ``jobs`` / ``start_posts`` (read from the emulator's
    state) and ``check_files``.
    """

    api = module = key = None
    listing = ()
    causes = {}

    def prepare(self, worker):
        """Once per worker."""

    def place(self, worker, rng, plan):
        return {"folders": []}

    def check_files(self, worker, plan, ctx, state, result):
        return []

    def accepted(self, state):
        """Whether the service answered the start 2xx (the emulators that make a job only then: always)."""
        return True

    def run(self, worker, number, seed):
        rng = random.Random("%s-%d-%d" % (self.module, seed, number))
        plan = self.pick(rng)
        worker.emulator.reset(**plan["config"])
        ctx = self.place(worker, rng, plan)
        before = worker.emulator.state()
        known, posts = set(self.jobs(before)), self.start_posts(before)
        if plan.get("late_config"):
            worker.emulator.config(**plan["late_config"])
        worker.emulator.faults(*plan["rules"])
        env = dict(worker.env)
        env.update(plan.get("env") or {})
        for name in [k for k, v in env.items() if v is None]:
            env.pop(name)
        outcome = run_module(worker.work, self.module, plan["args"], env, number)
        state = worker.emulator.state()
        result = outcome["result"]
        if result is None:
            violations = ["no result: ansible-playbook rc %s; output tail: %s" % (
                outcome["rc"], outcome["output"][-500:])]
            result = {}
        else:
            created = [j for j in self.jobs(state) if j not in known]
            violations = started_job(result, created, self.start_posts(state) - posts, plan.get("key", self.key),
                                     self.listing, self.accepted(state))
            if result.get("failed"):
                violations += honest_failure(result, plan["names"], self.causes)
            violations += self.check_files(worker, plan, ctx, state, result)
        if any(e.get("authorization") for e in state.get("media_log", [])):
            violations.append("Authorization was sent to the media host")
        violations += scan_secrets([outcome], ctx["folders"])
        for folder in ctx["folders"]:
            shutil.rmtree(folder, ignore_errors=True)
        detail = ", ".join("%s=%s" % (k, plan[k]) for k in ("answer", "shape") if plan.get(k))
        return {"faults": plan["names"], "rules": len(plan["rules"]), "config": plan["config"], "detail": detail,
                "failed": bool(result.get("failed")), "msg": (result.get("msg") or "")[:300],
                "violations": violations, "recovered": None, "faults_fired": len(state["fault_log"])}


def pick_kinds(rng, kinds, most=3):
    """One to ``most`` of ``kinds``, one most often."""
    return rng.sample(sorted(kinds), rng.choice([1, 1, 1, 2, 2, most]))
