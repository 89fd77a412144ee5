# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center: ``confluence_backup`` (deployment: datacenter) and the restore upload of
``confluence_restore`` under faults.

Backup: each run starts a site or space backup into a folder that holds an earlier backup, with the start answer
drawn from ``dc_start_answer`` (documented, nested, empty). Invariants: at most one start reaches the server and at
most one job is created; a success reports that job and its file is byte-identical to what the server serves for
it, with its checksum beside it; the earlier backup is untouched; a failed run leaves no zip under a final name.
Restore: each run uploads a space backup (with its .sha256) and waits for the restore. Invariants: at most one
upload is accepted and at most one restore job created; a success reports it; the source file is untouched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import zipfile

import requests

from chaos_common import (HTTP_CAUSES, DC_ADMIN, DC_API, DC_CONTEXT, DC_PASSWORD, DC_PAT, MIB, StartScenario, corrupt_rule,
                          honest_failure, http_rule, left_files, pick_kinds, sha256_file, tree_digest, write_earlier)

CAUSES = dict(HTTP_CAUSES, **{
    "corrupt_start": ["JSON", "json", "parse", "accepted", "could not be read"],
    "job_fails": ["Restore failed"],
    "refuse_chunked": ["411", "chunked", "Length"],
})


def dc_env(rng):
    """A personal access token, or Basic with the admin's password (both canaries)."""
    if rng.random() < 0.5:
        return {"ATLASSIAN_PAT": DC_PAT}
    return {"ATLASSIAN_USERNAME": DC_ADMIN, "ATLASSIAN_API_TOKEN": DC_PASSWORD, "ATLASSIAN_PAT": None}


class DatacenterScenario(StartScenario):
    api = "datacenter"
    key = "job_id"
    listing = ("GET jobs", "/jobs")
    causes = CAUSES
    start = poll = r"/jobs/\d+$"
    listing_path = r"/rest/api/backup-restore/jobs$"
    operation = None

    def jobs(self, state):
        return [j["id"] for j in state["dc"]["jobs"] if j["jobOperation"] == self.operation]

    def start_posts(self, state):
        return sum(1 for r in state["dc"]["requests"] if r["method"] == "POST" and re.search(self.start, r["path"]))

    def faults(self, rng, config, args, kinds):
        names, rules = [], []
        for name in pick_kinds(rng, kinds):
            names.append(name)
            target = rng.choice(self.targets())
            if name in ("storm429", "storm503"):
                rules.append(http_rule(rng, 429 if name == "storm429" else 503, target[0], target[1]))
            elif name == "burst500":
                rules.append(http_rule(rng, 500, self.poll, "GET", rng.randint(1, 3)))
            elif name == "slow":
                rules.append({"kind": "delay", "match": rng.choice([self.poll, self.listing_path]), "method": "GET",
                              "seconds": 3, "count": rng.randint(1, 2)})
                args["timeout"] = 2
            elif name == "slow_start":
                rules.append({"kind": "delay", "match": self.start, "method": "POST", "seconds": 3, "count": 1})
                args["timeout"] = 2
            elif name == "corrupt":
                rules.append(corrupt_rule(rng, rng.choice([self.poll, self.listing_path])))
            elif name == "corrupt_start":
                rule = corrupt_rule(rng, self.start, "POST")
                rule["count"] = 1
                rules.append(rule)
            elif name == "corrupt_download":
                rules.append({"kind": "http", "status": 200, "match": r"/download$", "method": "GET", "count": 1,
                              "body": "PK\x03\x04 cut short", "content_type": "application/zip"})
            elif name == "redirect_loop":
                rules.append({"kind": "redirect", "match": rng.choice([self.poll, r"/download$"]), "method": "GET",
                              "count": rng.choice([1, 3, 1000])})
            elif name == "endless":
                rules.append({"kind": "endless", "match": self.poll, "method": "GET", "count": rng.choice([1, 100]),
                              "max_bytes": 8 * MIB})
            elif name == "stall":
                config[self.seconds] = 3600
                config["dc_job_polls"] = None
                args["wait_timeout"] = 3
            elif name == "job_fails":
                config["dc_restore_outcome"] = "FAILED"
            elif name == "refuse_chunked":
                config["dc_refuse_chunked_uploads"] = True
        rng.shuffle(rules)
        return names, rules


class DatacenterBackup(DatacenterScenario):
    module = "confluence_backup"
    operation = "BACKUP"
    start = r"/backup-restore/backup/(site|space)$"
    seconds = "dc_backup_seconds"

    def targets(self):
        return [(self.poll, "GET")] * 2 + [(self.listing_path, "GET"), (self.start, "POST"), (r"/download$", "GET")]

    def pick(self, rng):
        config = {"dc_backup_seconds": rng.choice([0.3, 1.0]), "dc_job_polls": rng.choice([None, 1, 3]),
                  "dc_processing_word": rng.choice(["PROCESSING", "IN_PROGRESS"]),
                  "dc_time_style": rng.choice(["sample", "java"]), "dc_download_ranges": rng.choice([False, True]),
                  "dc_download_length": rng.choice([True, True, False]),
                  "dc_backup_size": rng.choice([1, 2]) * MIB + rng.randrange(0, 4096)}
        answer = rng.choice(["documented", "nested", "empty"])
        args = {"deployment": "datacenter", "poll_interval": 0.2, "wait_timeout": 30, "retry_max_delay": 1,
                "retries": rng.choice([2, 3, 5])}
        if rng.random() < 0.4:
            args.update(scope="space", space_keys=rng.choice([["DOC"], ["DOC", "TEAM"]]))
        kinds = ["storm429", "storm503", "burst500", "slow", "slow_start", "corrupt", "corrupt_start",
                 "corrupt_download", "redirect_loop", "endless", "stall"]
        names, rules = self.faults(rng, config, args, kinds)
        if answer != "documented":
            names.append("answer_" + answer)   # counted as a fault, never a cause
        return {"names": names, "config": config, "late_config": {"dc_start_answer": answer}, "rules": rules,
                "args": args, "env": dc_env(rng), "answer": answer}

    def place(self, worker, rng, plan):
        dest = os.path.join(worker.work, "dc-%d" % len(os.listdir(worker.work)))
        plan["args"].update(dest=dest, url=worker.emulator.url + DC_CONTEXT)
        return {"folders": [dest], "dest": dest, "earlier": write_earlier(dest, "confluence-earlier-site-backup")}

    def check_files(self, worker, plan, ctx, state, result):
        failed = bool(result.get("failed"))
        violations, new = left_files(ctx["dest"], ctx["earlier"], failed, result.get("msg") or "")
        zips = [n for n in new if n.endswith(".zip")]
        if not zips and not failed:
            violations.append("a success left no backup in the folder")
        if zips:
            worker.emulator.faults()
            served = requests.get("%s%s/jobs/%s/download" % (worker.emulator.url, DC_API, result.get("job_id")),
                                  auth=(DC_ADMIN, DC_PASSWORD), timeout=120)
            digest = hashlib.sha256(served.content).hexdigest() if served.ok else None
            for name in zips:
                if new[name] != digest:
                    violations.append("%s is not what the server serves for job %s" % (name, result.get("job_id")))
                if name + ".sha256" not in new:
                    violations.append("%s has no checksum beside it" % name)
            if result.get("sha256") not in (None, digest):
                violations.append("reported sha256 %s is not the server's %s" % (result.get("sha256"), digest))
        return violations


def space_zip(path, size):
    """A Data Center space backup of DOC: entities.xml and exportDescriptor.properties at the top."""
    piece = hashlib.sha256(path.encode()).digest() * 2048
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("entities.xml", "<?xml version='1.0' encoding='UTF-8'?>\n<hibernate-generic/>\n")
        archive.writestr("exportDescriptor.properties", "#Confluence export\nexportType=space\nspaceKey=DOC\n")
        archive.writestr("attachments/1/1/data.bin", (piece * (size // len(piece) + 1))[:size])
    with open(path + ".sha256", "w") as handle:
        handle.write("%s  %s\n" % (sha256_file(path), os.path.basename(path)))
    return path


class DatacenterRestore(DatacenterScenario):
    module = "confluence_restore"
    operation = "RESTORE"
    start = r"/backup-restore/restore/(site|space)/upload$"
    seconds = "dc_restore_seconds"
    listing = ("GET jobs", "/jobs", "upload")

    def targets(self):
        return [(self.poll, "GET")] * 3 + [(self.listing_path, "GET"), (self.start, "POST")]

    def pick(self, rng):
        config = {"dc_restore_seconds": rng.choice([0.3, 1.0]), "dc_job_polls": rng.choice([None, 1, 3]),
                  "dc_processing_word": rng.choice(["PROCESSING", "IN_PROGRESS"]),
                  "dc_time_style": rng.choice(["sample", "java"])}
        args = {"scope": "space", "poll_interval": 0.2, "wait_timeout": 30, "retry_max_delay": 1,
                "retries": rng.choice([2, 3, 5]), "skip_reindex": rng.choice([True, False])}
        kinds = ["storm429", "storm503", "burst500", "slow", "slow_start", "corrupt", "corrupt_start",
                 "redirect_loop", "endless", "stall", "job_fails", "refuse_chunked"]
        names, rules = self.faults(rng, config, args, kinds)
        size = rng.choice([64 * 1024, MIB + 17])
        return {"names": names, "config": config, "rules": rules, "args": args, "env": dc_env(rng), "size": size}

    def place(self, worker, rng, plan):
        folder = os.path.join(worker.work, "dc-src-%d" % len(os.listdir(worker.work)))
        os.makedirs(folder)
        src = space_zip(os.path.join(folder, "Confluence-space-export-DOC.zip"), plan["size"])
        plan["args"].update(src=src, url=worker.emulator.url + DC_CONTEXT)
        return {"folders": [folder], "folder": folder, "earlier": tree_digest(folder)}

    def check_files(self, worker, plan, ctx, state, result):
        violations = []
        now = tree_digest(ctx["folder"])
        if now != ctx["earlier"]:
            violations.append("the source folder changed: %s -> %s" % (sorted(ctx["earlier"]), sorted(now)))
        accepted = [u for u in state["dc"]["uploads"] if u.get("job_id") is not None]
        if len(accepted) > 1:
            violations.append("%d uploads were accepted" % len(accepted))
        return violations + ([] if not result.get("failed") else honest_failure(result, [], CAUSES))
