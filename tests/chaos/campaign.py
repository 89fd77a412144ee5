# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A seeded fault campaign: the real module through ansible-playbook, against an emulator that misbehaves.

Each run resets the emulator (so the site makes a new backup), picks one to three faults from the
catalogue below with a seeded random generator, runs ``confluence_backup`` through ``ansible-playbook``
into a folder that already holds an earlier verified backup, and checks the invariants:

1. the run ends with a result (a verified backup or a failure), never a crash;
2. a backup file in the folder is byte-identical to the emulator's (sha256), and has its manifest;
3. the earlier backup, its ``.sha256`` and its manifest are unchanged;
4. a failure message is not empty, is not a traceback, and names one of the causes injected;
5. a ``.part`` is left only by a failure that says it can be resumed, with its state file, and then a
   clean run resumes it to a byte-identical backup; otherwise nothing partial is left;
6. the canary token (and its Basic form) appear in no output, result or file, and the media host never
   receives an Authorization header;
7. a run that started a backup never returns the backup the site held before it (each run draws one of the
   three answers a start gets in the wild, and how long the site goes on showing the older backup or nothing).

    python tests/chaos/campaign.py --runs 200 --seed 1 [--workers 2] [--verbose]

It runs from the staged copy of the collection (``make chaos`` stages it and starts it there). Exit status 1 when
an invariant was violated; the summary prints runs, faults injected, outcomes and every violation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import collections
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
PLAYBOOK = os.path.join(TESTS, "e2e", "playbooks", "backup.yml")
EMULATOR_PATH = os.path.join(TESTS, "emulator")
sys.path.insert(0, EMULATOR_PATH)
from atlassian_emulator.launcher import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

# .../ansible_collections/atlassian_ops/backup/tests/chaos -> the folder that holds ansible_collections
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(TESTS))))
USER = "chaos-bot@example.com"
TOKEN = "CANARY-chaos-5d1e7a3b9c0f4e28b6a2"
MIB = 1024 * 1024

# What a failure caused by each fault may say. A failed run must name at least one injected cause.
CAUSES = {
    "storm429": ["429", "rate-limit"],
    "storm503": ["503"],
    "burst500": ["HTTP 500"],
    "drops": ["resume", "connection", "closed"],
    "drop_at": ["resume", "connection", "closed"],
    "slow": ["timed out", "timeout", "Read timed out"],
    "non_json": ["progress", "JSON", "json", "parse"],
    "truncated": ["progress", "JSON", "json", "parse"],
    "stall": ["wait_timeout"],
    "fails_at": ["FAILED", "exporting attachments"],
    "expiry": ["expired", "401", "resume"],
    "redirect_loop": ["redirects"],
    "endless": ["larger than"],
    "outage": ["resume"],
    "no_ranges": ["resume", "connection", "closed"],
}


def pick_faults(rng):
    """(names, emulator config, fault rules, extra playbook vars) for one run."""
    config = {"backup_size": rng.choice([1, 2, 3, 5]) * MIB + rng.randrange(0, 4096),
              "backup_seconds": rng.choice([0.3, 0.8, 1.5]), "queued_seconds": rng.choice([0, 0.2]),
              # Every answer a start gets in the wild, and the moment after it (issue 8).
              "trigger_reply": rng.choice(["406_history", "200_history", "200_empty"]),
              "stale_polls_after_trigger": rng.choice([0, 1, 3]),
              "idle_polls_after_trigger": rng.choice([0, 1, 4]),
              "filename_style": rng.choice(["bare", "filestore"]),
              "percentage_style": rng.choice(["percent", "plain", "legacy"])}
    rules, names, extra, tail = [], [], {}, []
    site_paths = ["getprogress", "runbackup", "/wiki/download/"]
    for name in rng.sample(sorted(CAUSES), rng.choice([1, 1, 2, 2, 3])):
        names.append(name)
        if name in ("storm429", "storm503"):
            rule = {"kind": "http", "status": 429 if name == "storm429" else 503,
                    "match": rng.choice(site_paths), "count": rng.randint(1, 7)}
            after = rng.choice([None, "0", "1", "date:1"])
            if after is not None:
                rule["retry_after"] = after
            rules.append(rule)
        elif name == "burst500":
            rules.append({"kind": "http", "status": 500, "match": "getprogress", "count": rng.randint(1, 3)})
        elif name == "drops":
            config["media_drop_probability"] = rng.choice([0.2, 0.4, 0.6])
            config["media_seed"] = rng.randrange(1 << 30)
        elif name == "drop_at":
            for _index in range(rng.randint(1, 3)):
                rules.append({"kind": "drop", "host": "media", "after_bytes": rng.randrange(0, MIB)})
        elif name == "slow":
            rules.append({"kind": "delay", "match": rng.choice(["getprogress", "/wiki/download/"]),
                          "seconds": 3, "count": rng.randint(1, 2)})
            extra["http_timeout"] = 2
        elif name == "non_json":
            rules.append({"kind": "non_json", "match": "getprogress", "count": rng.randint(1, 8)})
        elif name == "truncated":
            rules.append({"kind": "truncate_json", "match": "getprogress", "count": rng.randint(1, 8)})
        elif name == "stall":
            config["backup_seconds"] = 60
            extra["wait_timeout"] = "3s"
        elif name == "fails_at":
            config["fail_at_percent"] = rng.randint(5, 95)
        elif name == "expiry":
            config["link_ttl_seconds"] = 1
            config["media_rate_per_connection"] = rng.choice([1, 2]) * 1000 * 1000
            rules.append({"kind": "drop", "host": "media", "after_bytes": rng.randrange(600000, 1200000)})
        elif name == "redirect_loop":
            rules.append({"kind": "redirect", "match": "/wiki/download/", "count": rng.choice([1, 3, 1000])})
        elif name == "outage":
            # The media host goes away mid-download and stays away: the partial file must be kept and resumable.
            # (same kind as the placed drops, so they are armed after them: see below)
            tail.append({"kind": "drop", "host": "media", "after_bytes": rng.randrange(100000, MIB)})
            tail.append({"kind": "drop", "host": "media", "after_bytes": 0, "count": 1000})
            extra["retries"] = 1
        elif name == "no_ranges":
            # Servers that ignore Range, always or every other time: one stream that restarts from zero.
            config["media_ranges"] = rng.choice([False, "alternate"])
            for _index in range(rng.randint(0, 3)):
                rules.append({"kind": "drop", "host": "media", "after_bytes": rng.randrange(0, MIB)})
        elif name == "endless":
            rules.append({"kind": "endless", "match": "getprogress", "count": rng.choice([1, 100]),
                          "max_bytes": 8 * MIB})
    # Armed in order: the first matching rule fires first.
    rng.shuffle(rules)
    rules += tail
    extra["download_connections"] = rng.choice([1, 2, 4, 8])
    extra.setdefault("retries", rng.choice([2, 3, 5]))
    return names, config, rules, extra


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(folder):
    return {name: sha256_file(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, name))}


class Worker(object):
    def __init__(self, index, base):
        self.index = index
        self.work = os.path.join(base, "worker-%d" % index)
        os.makedirs(self.work)
        self.emulator = EmulatorProcess(self.work, {"users": {USER: TOKEN}})
        self.golden = os.path.join(self.work, "golden")
        os.makedirs(self.golden)
        self.emulator.reset(backup_size=MIB, backup_seconds=0.3)
        first = self.playbook(self.golden, {}, os.path.join(self.work, "golden.json"))
        if first["result"] is None or first["result"].get("failed"):
            raise RuntimeError("the clean run that makes the earlier backup failed: %s" % first)
        self.golden_digest = tree_digest(self.golden)

    def playbook(self, dest, extra, result_file):
        variables = {"dest": dest, "result_file": result_file, "poll_interval": "0.2s", "retry_max_delay": 1,
                     "wait_timeout": "30s"}
        variables.update(extra)
        inventory = os.path.join(self.work, "inventory.ini")
        with open(inventory, "w") as handle:
            handle.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        env = dict(os.environ, ATLASSIAN_URL=self.emulator.url, ATLASSIAN_USERNAME=USER, ATLASSIAN_API_TOKEN=TOKEN,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT,
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.work, "ansible-tmp"))
        if os.path.exists(result_file):
            os.unlink(result_file)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, PLAYBOOK,
                   "-e", json.dumps(variables)]
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=900, check=False)
        result = None
        if os.path.exists(result_file):
            with open(result_file) as handle:
                result = json.load(handle)
            os.unlink(result_file)
        return {"rc": proc.returncode, "output": proc.stdout, "result": result}

    def run(self, number, seed):
        rng = random.Random("%d-%d" % (seed, number))
        names, config, rules, extra = pick_faults(rng)
        dest = os.path.join(self.work, "run-%d" % number)
        shutil.copytree(self.golden, dest)
        self.emulator.reset(**config)
        if rng.random() < 0.75:
            # The site still holds an older backup, and the frequency window has passed: a start is accepted.
            self.emulator.seed(state="complete", age_seconds=rng.choice([3600, 5 * 86400]),
                               last_trigger_age_seconds=2 * 86400)
        self.emulator.faults(*rules)
        outcome = self.playbook(dest, extra, os.path.join(self.work, "result-%d.json" % number))
        state = self.emulator.state()
        violations = check(outcome, state, dest, self.golden_digest, names)
        recovered = None
        if any(n.endswith(".part") for n in os.listdir(dest)) and not violations:
            # The kept partial file must be resumable: a clean run finishes it.
            self.emulator.faults()
            self.emulator.config(media_drop_probability=0, media_rate_per_connection=None, link_ttl_seconds=600)
            again = self.playbook(dest, {"download_connections": extra["download_connections"]},
                                  os.path.join(self.work, "again-%d.json" % number))
            recovered = again["result"] and not again["result"].get("failed")
            late = check(again, self.emulator.state(), dest, self.golden_digest, [], must_succeed=True)
            violations += ["recovery: " + v for v in late]
        leaks = scan_secrets([outcome], dest)
        violations += leaks
        shutil.rmtree(dest, ignore_errors=True)
        result = outcome["result"] or {}
        return {"run": number, "faults": names, "rules": len(rules), "config": config, "extra": extra,
                "failed": bool(result.get("failed")), "msg": (result.get("msg") or "")[:300],
                "violations": violations, "recovered": recovered,
                "faults_fired": len(state["fault_log"])}

    def stop(self):
        self.emulator.stop()


def check(outcome, state, dest, golden_digest, names, must_succeed=False):
    violations = []
    result = outcome["result"]
    if result is None:
        return ["no result: ansible-playbook rc %s; output tail: %s" % (outcome["rc"], outcome["output"][-500:])]
    failed = bool(result.get("failed"))
    msg = result.get("msg") or ""
    backup = state.get("backup") or {}
    if must_succeed and failed:
        violations.append("a clean run failed: %s" % msg[:300])
    # 3. the earlier backup is untouched
    now = tree_digest(dest)
    for name, digest in golden_digest.items():
        if now.get(name) != digest:
            violations.append("the earlier file %s changed or vanished" % name)
    new = {n: d for n, d in now.items() if n not in golden_digest}
    # 2. every new zip is the emulator's backup, with its manifest
    for name, digest in new.items():
        if name.endswith(".zip"):
            if digest != backup.get("sha256"):
                violations.append("%s differs from the emulator's backup" % name)
            if name[:-4] + ".json" not in new or name + ".sha256" not in new:
                violations.append("%s has no manifest or checksum beside it" % name)
    if not failed and result.get("path") and result.get("sha256") != backup.get("sha256"):
        violations.append("reported sha256 %s is not the emulator's %s" % (result.get("sha256"), backup.get("sha256")))
    # 7. a run that started a backup never returns the one that was on the site before it
    previous = state.get("previous") or {}
    older = (previous.get("id"), previous.get("file_name"))
    if result.get("triggered") and previous and result.get("backup_id") in older:
        violations.append("a run that started a backup returned the older one %s" % previous.get("id"))
    # 4. failures are honest
    if failed:
        if not msg.strip():
            violations.append("a failure without a message")
        if "Traceback" in msg or "MODULE FAILURE" in msg:
            violations.append("a crash instead of a message: %s" % msg[:300])
        words = [w for n in names for w in CAUSES[n]]
        if names and not any(w in msg for w in words):
            violations.append("the message names none of the causes %s: %s" % (names, msg[:300]))
    # 5. partial files
    parts = [n for n in new if n.endswith(".part")]
    states = [n for n in new if n.endswith(".part.state.json")]
    if parts:
        if not failed or "resume" not in msg:
            violations.append("a .part was left by a run that does not say it can resume: %s" % msg[:200])
        if not states:
            violations.append("a .part was left without its state file")
    elif states:
        violations.append("a state file was left without its .part")
    # 6. Authorization never reaches the media host
    if any(e.get("authorization") for e in state.get("media_log", [])):
        violations.append("Authorization was sent to the media host")
    return violations


def scan_secrets(outcomes, dest):
    forms = [TOKEN, base64.b64encode(("%s:%s" % (USER, TOKEN)).encode()).decode()]
    found = []
    for outcome in outcomes:
        blob = outcome["output"] + json.dumps(outcome["result"])
        found += ["the token (%s form) is in the output or result" % ("basic" if f != TOKEN else "plain")
                  for f in forms if f in blob]
    for root, _dirs, files in os.walk(dest):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                text = handle.read().decode("latin-1")
            found += ["the token is in %s" % name for f in forms if f in text]
    return found


def campaign(runs, seed, workers=2, verbose=False, out=sys.stdout):
    """Run the campaign; return the summary dict (``violations`` is the list of failing runs)."""
    base = tempfile.mkdtemp(prefix="chaos-")
    pool = []
    try:
        pool = [Worker(i, base) for i in range(workers)]
        todo = list(range(runs))
        lock = threading.Lock()
        records = []

        def work(worker):
            while True:
                with lock:
                    if not todo:
                        return
                    number = todo.pop(0)
                record = worker.run(number, seed)
                with lock:
                    records.append(record)
                    if verbose or record["violations"]:
                        print("run %3d %-40s %s%s" % (
                            number, ",".join(record["faults"]), "failed: " + record["msg"][:110] if record["failed"]
                            else "verified backup", ("  VIOLATIONS: %s" % record["violations"])
                            if record["violations"] else ""), file=out)
                        out.flush()

        threads = [threading.Thread(target=work, args=(w,)) for w in pool]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in pool:
            worker.stop()
        log_leaks = []
        for root, _dirs, files in os.walk(base):
            for name in files:
                if name == "emulator.log":
                    with open(os.path.join(root, name), "rb") as handle:
                        if TOKEN.encode() in handle.read():
                            log_leaks.append("the token is in the emulator's log")
        shutil.rmtree(base, ignore_errors=True)
    if log_leaks:
        records.append({"run": runs, "faults": [], "failed": False, "recovered": None, "faults_fired": 0,
                        "violations": log_leaks, "msg": ""})
    records.sort(key=lambda r: r["run"])
    kinds = collections.Counter(n for r in records for n in r["faults"])
    summary = {
        "runs": len(records), "seed": seed,
        "faults_injected": sum(len(r["faults"]) for r in records),
        "fault_rules_fired": sum(r["faults_fired"] for r in records),
        "by_kind": dict(sorted(kinds.items())),
        "verified_backups": sum(1 for r in records if not r["failed"]),
        "clean_failures": sum(1 for r in records if r["failed"]),
        "resumed_after_failure": sum(1 for r in records if r["recovered"]),
        "violations": [r for r in records if r["violations"]],
    }
    print("Chaos campaign, seed %d: %d runs, %d faults injected (%d emulator rules fired)" % (
        seed, summary["runs"], summary["faults_injected"], summary["fault_rules_fired"]), file=out)
    print("  by kind: %s" % ", ".join("%s %d" % kv for kv in summary["by_kind"].items()), file=out)
    print("  outcomes: %d verified backups, %d clean failures (%d partial downloads then resumed by a clean run)" % (
        summary["verified_backups"], summary["clean_failures"], summary["resumed_after_failure"]), file=out)
    print("  invariant violations: %d" % sum(len(r["violations"]) for r in summary["violations"]), file=out)
    for record in summary["violations"]:
        print("    run %d (%s): %s" % (record["run"], ",".join(record["faults"]), "; ".join(record["violations"])),
              file=out)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print every run, not only violations")
    args = parser.parse_args()
    started = time.time()
    summary = campaign(args.runs, args.seed, args.workers, args.verbose)
    print("  took %.0f s" % (time.time() - started))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
