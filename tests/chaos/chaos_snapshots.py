# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Snapshots app's backup API: ``snapshots_export`` under faults, in every answer shape of the emulator
(``snapshots_shape`` a, b, file) and every way a finished task gives its link (``snapshots_done_link``).

Invariants: at most one export is requested and at most one task created; a success reports that task and its zip
is byte-identical to the task's export, with its checksum beside it; two different links are refused (a clean
failure, no zip); the earlier export in the folder is untouched; a ``.part`` only with a failure that says it can
be resumed; the API key and the secret token of the endpoint's path appear nowhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from chaos_common import (HTTP_CAUSES, MIB, SNAP_KEY, SNAP_PATH, StartScenario, corrupt_rule, http_rule, left_files, pick_kinds,
                          write_earlier)

CAUSES = dict(HTTP_CAUSES, **{
    "drops": ["resume", "connection", "closed", "Connection"],
    "job_fails": ["Export failed"],
    "two_links": ["refusing to guess"],
})

START = r"/snapshots/api/backup/[^/]+$"
POLL = r"/(tasks|exports)/[^/]+$"
DOWNLOAD = r"/(tasks|exports)/[^/]+/(download|file)$"


class SnapshotsExport(StartScenario):
    api = "snapshots"
    module = "snapshots_export"
    key = "task_id"
    listing = ("task",)
    causes = CAUSES

    def jobs(self, state):
        return [t["id"] for t in state["snapshots"]["tasks"]]

    def start_posts(self, state):
        return state["snapshots"]["posts"]

    def accepted(self, state):
        # With shape "file", a task that fails is answered 500 to the start itself: nothing was accepted.
        return any(r["method"] == "POST" and 200 <= (r["status"] or 0) < 300 for r in state["snapshots"]["requests"])

    def pick(self, rng):
        shape = rng.choice(["a", "a", "b", "b", "file"])
        config = {"snapshots_shape": shape, "snapshots_task_polls": rng.choice([0, 1, 3]),
                  "snapshots_zip_size": rng.choice([64 * 1024, MIB + 5])}
        args = {"url": "https://example.atlassian.net", "poll_interval": 0.2, "wait_timeout": 30,
                "retry_max_delay": 1, "retries": rng.choice([2, 3, 5])}
        if rng.random() < 0.4:
            args["spaces"] = rng.choice([["DOC"], ["TEAM", "DOC"]])
        kinds = ["storm429", "storm503", "burst500", "slow", "slow_start", "corrupt_download", "redirect_loop",
                 "stall", "job_fails"]
        if shape != "file":
            kinds += ["corrupt", "endless", "two_links"]
            config["snapshots_done_link"] = rng.choice([None, None, "unlisted", "nested", "only"])
        if shape == "b":
            kinds.append("drops")
        names, rules = [], []
        targets = [(START, "POST")] + ([(POLL, "GET")] * 2 + [(DOWNLOAD, "GET")] if shape != "file" else [])
        for name in pick_kinds(rng, kinds):
            names.append(name)
            target = rng.choice(targets)
            if name in ("storm429", "storm503"):
                rules.append(http_rule(rng, 429 if name == "storm429" else 503, target[0], target[1]))
            elif name == "burst500":
                rules.append(http_rule(rng, 500, target[0], target[1], rng.randint(1, 3)))
            elif name == "slow":
                rules.append({"kind": "delay", "match": POLL if shape != "file" else START, "seconds": 3,
                              "count": rng.randint(1, 2)})
                args["timeout"] = 2
            elif name == "slow_start":
                rules.append({"kind": "delay", "match": START, "method": "POST", "seconds": 3, "count": 1})
                args["timeout"] = 2
            elif name == "corrupt":
                rules.append(corrupt_rule(rng, POLL))
            elif name == "corrupt_download":
                rules.append({"kind": "http", "status": 200, "match": DOWNLOAD if shape != "file" else START,
                              "count": 1, "body": "PK\x03\x04 cut short", "content_type": "application/zip"})
            elif name == "drops":
                for _index in range(rng.randint(1, 3)):
                    rules.append({"kind": "drop", "host": "media", "after_bytes": rng.randrange(0, 64 * 1024)})
            elif name == "redirect_loop":
                rules.append({"kind": "redirect", "match": DOWNLOAD if shape != "file" else START,
                              "count": rng.choice([1, 3, 1000])})
            elif name == "endless":
                rules.append({"kind": "endless", "match": POLL, "method": "GET", "count": rng.choice([1, 100]),
                              "max_bytes": 8 * MIB})
            elif name == "stall":
                config["snapshots_never_finish"] = True
                args["wait_timeout"] = 3
            elif name == "job_fails":
                config["snapshots_fail"] = True
            elif name == "two_links":
                config["snapshots_done_link"] = "two"
        if config.get("snapshots_done_link") not in (None, "two"):
            names.append("link_" + config["snapshots_done_link"])   # counted as a fault, never a cause
        rng.shuffle(rules)
        plan = {"names": names, "config": config, "rules": rules, "args": args, "shape": shape}
        if shape == "file":
            plan["key"] = None   # the zip is the start's answer: there is no task id to report
        return plan

    def place(self, worker, rng, plan):
        dest = os.path.join(worker.work, "snap-%d" % len(os.listdir(worker.work)))
        plan["args"]["dest"] = dest
        plan["env"] = {"SNAPSHOTS_BACKUP_URL": worker.emulator.url + SNAP_PATH, "SNAPSHOTS_API_KEY": SNAP_KEY}
        return {"folders": [dest], "dest": dest,
                "earlier": write_earlier(dest, "snapshots-example.atlassian.net-20260101T000000Z")}

    def check_files(self, worker, plan, ctx, state, result):
        failed = bool(result.get("failed"))
        violations, new = left_files(ctx["dest"], ctx["earlier"], failed, result.get("msg") or "")
        zips = [n for n in new if n.endswith(".zip")]
        if not zips and not failed:
            violations.append("a success left no export in the folder")
        if "two_links" in plan["names"] and not failed and state["snapshots"]["tasks"] and \
                state["snapshots"]["tasks"][0]["status"] == "COMPLETED":
            violations.append("a task that gave two different links was downloaded anyway")
        tasks = dict((t["id"], t) for t in state["snapshots"]["tasks"])
        for name in zips:
            digests = [t["sha256"] for t in tasks.values() if t["sha256"]]
            if new[name] not in digests:
                violations.append("%s is not the export the app made" % name)
            if name + ".sha256" not in new:
                violations.append("%s has no checksum beside it" % name)
        return violations
