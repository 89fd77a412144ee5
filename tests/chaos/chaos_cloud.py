# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Cloud (``confluence_backup`` through tests/e2e/playbooks/backup.yml): the campaign's first scenario.

Each run resets the emulator (so the site makes a new backup), picks one to three faults from the catalogue below,
runs the module into a folder that already holds an earlier verified backup, and checks the invariants:

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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import shutil

from chaos_common import MIB, PLAYBOOK, partial_files, run_ansible, scan_secrets, tree_digest

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


class CloudBackup(object):
    api = "cloud"
    module = "confluence_backup"

    def prepare(self, worker):
        """Once per worker: a clean run makes the earlier backup every run's folder starts with."""
        worker.golden = os.path.join(worker.work, "golden")
        os.makedirs(worker.golden)
        worker.emulator.reset(backup_size=MIB, backup_seconds=0.3)
        first = self.playbook(worker, worker.golden, {}, os.path.join(worker.work, "golden.json"))
        if first["result"] is None or first["result"].get("failed"):
            raise RuntimeError("the clean run that makes the earlier backup failed: %s" % first)
        worker.golden_digest = tree_digest(worker.golden)

    @staticmethod
    def playbook(worker, dest, extra, result_file):
        variables = {"dest": dest, "poll_interval": "0.2s", "retry_max_delay": 1, "wait_timeout": "30s"}
        variables.update(extra)
        return run_ansible(worker.work, PLAYBOOK, variables, worker.env, result_file)

    def run(self, worker, number, seed):
        rng = random.Random("%d-%d" % (seed, number))
        names, config, rules, extra = pick_faults(rng)
        dest = os.path.join(worker.work, "run-%d" % number)
        shutil.copytree(worker.golden, dest)
        worker.emulator.reset(**config)
        if rng.random() < 0.75:
            # The site still holds an older backup, and the frequency window has passed: a start is accepted.
            worker.emulator.seed(state="complete", age_seconds=rng.choice([3600, 5 * 86400]),
                                 last_trigger_age_seconds=2 * 86400)
        worker.emulator.faults(*rules)
        outcome = self.playbook(worker, dest, extra, os.path.join(worker.work, "result-%d.json" % number))
        state = worker.emulator.state()
        violations = check(outcome, state, dest, worker.golden_digest, names)
        recovered = None
        if any(n.endswith(".part") for n in os.listdir(dest)) and not violations:
            # The kept partial file must be resumable: a clean run finishes it.
            worker.emulator.faults()
            worker.emulator.config(media_drop_probability=0, media_rate_per_connection=None, link_ttl_seconds=600)
            again = self.playbook(worker, dest, {"download_connections": extra["download_connections"]},
                                  os.path.join(worker.work, "again-%d.json" % number))
            recovered = again["result"] and not again["result"].get("failed")
            late = check(again, worker.emulator.state(), dest, worker.golden_digest, [], must_succeed=True)
            violations += ["recovery: " + v for v in late]
        violations += scan_secrets([outcome], [dest])
        shutil.rmtree(dest, ignore_errors=True)
        result = outcome["result"] or {}
        return {"faults": names, "rules": len(rules), "config": config, "extra": extra,
                "failed": bool(result.get("failed")), "msg": (result.get("msg") or "")[:300],
                "violations": violations, "recovered": recovered, "faults_fired": len(state["fault_log"])}


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
    violations += partial_files(new, failed, msg)
    # 6. Authorization never reaches the media host
    if any(e.get("authorization") for e in state.get("media_log", [])):
        violations.append("Authorization was sent to the media host")
    return violations
