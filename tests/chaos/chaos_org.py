# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The organization-level Backup & Restore API: ``backup_run``, ``backup_export``, ``backup_import`` and
``backup_restore`` under faults, with every start-answer shape the emulator serves (issue 19).

Each run resets the emulator, places what the module needs (a policy; a finished backup; an export of it for an
import), draws the answer the start gets (``org_start_answer``: documented, empty, nested, list, plural, opaque,
echo) and whether the lists hide what was started (``org_list_hides_new``), arms one to three faults on the start,
the job's status or the listing, and runs the module. Invariants: at most one start reaches the service and at
most one job is created; a success reports exactly that job; a failure after the job was created names it or the
listing call; failures are honest (see chaos_common); no secret anywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import requests

from chaos_common import (HTTP_CAUSES, ORG_ID, ORG_PREFIX, RESTORE_SITE, SITE, TOKEN, USER, StartScenario, corrupt_rule,
                          http_rule, pick_kinds)

ANSWERS = ("documented", "empty", "nested", "list", "plural", "opaque", "echo")
NAMELESS = ("empty", "opaque", "echo")
CONSENTS = ["Consent_Conflicting_Space_Check", "Consent_Conflicting_Group_Check"]

# What a failure caused by each fault may say.
CAUSES = dict(dict((kind, words) for kind, words in HTTP_CAUSES.items() if kind != "corrupt_download"), **{
    "corrupt_start": ["JSON", "json", "parse", "accepted the", "could not be read"],
    "job_fails": ["failed", "FAILED"],
    "hides_new": ["accepted the", "GET orgs/"],
})


def job_id(doc, kind):
    return doc.get(kind + "Id") or doc.get("id")


class OrgScenario(StartScenario):
    api = "org"
    kind = None          # backup | export | import | restore
    seconds = None       # the emulator setting of how long the job runs
    start = poll = listing_path = None   # regexes of the start POST, the job's GET, the list GET
    listing = ("accepted the", "GET orgs/")
    causes = CAUSES
    extra_kinds = ()

    @property
    def key(self):
        return self.kind + "_id"

    def jobs(self, state):
        return [job_id(doc, self.kind) for doc in state["org"][self.kind + "s"]]

    def start_posts(self, state):
        return sum(1 for r in state["org"]["requests"] if r["method"] == "POST" and self.start_re(r["path"]))

    def start_re(self, path):
        return re.search(self.start, path) is not None

    def pick(self, rng):
        config = {self.seconds: rng.choice([0.3, 0.8]), "org_status_style": rng.choice(["v2", "seed"]),
                  "org_page_start": rng.choice(["index0", "index1", "items"])}
        args = {"poll_interval": "0.2s", "wait_timeout": "30s", "retry_max_delay": 1,
                "retries": rng.choice([2, 3, 5])}
        answer = rng.choice(ANSWERS)
        late = {"org_start_answer": answer}
        names, rules = [], []
        kinds = ["storm429", "storm503", "burst500", "slow", "slow_start", "corrupt", "corrupt_start",
                 "redirect_loop", "endless", "stall"] + list(self.extra_kinds)
        if answer in NAMELESS:
            kinds.append("hides_new")
        for name in pick_kinds(rng, kinds):
            names.append(name)
            target = rng.choice([(self.poll, "GET")] * 3 + [(self.listing_path, "GET"), (self.start, "POST")])
            if name in ("storm429", "storm503"):
                rules.append(http_rule(rng, 429 if name == "storm429" else 503, target[0], target[1]))
            elif name == "burst500":
                rules.append(http_rule(rng, 500, self.poll, "GET", rng.randint(1, 3)))
            elif name == "slow":
                rules.append({"kind": "delay", "match": self.poll, "method": "GET", "seconds": 3,
                              "count": rng.randint(1, 2)})
                args["timeout"] = 2
            elif name == "slow_start":
                # The start is answered after the client gave up: the job exists, the module never saw the answer.
                rules.append({"kind": "delay", "match": self.start, "method": "POST", "seconds": 3, "count": 1})
                args["timeout"] = 2
            elif name == "corrupt":
                rules.append(corrupt_rule(rng, self.poll))
            elif name == "corrupt_start":
                # A proxy answers the start 200 with a broken body: nothing was started.
                rule = corrupt_rule(rng, self.start, "POST")
                rule["count"] = 1
                rules.append(rule)
            elif name == "redirect_loop":
                rules.append({"kind": "redirect", "match": self.poll, "method": "GET",
                              "count": rng.choice([1, 3, 1000])})
            elif name == "endless":
                rules.append({"kind": "endless", "match": self.poll, "method": "GET", "count": rng.choice([1, 100]),
                              "max_bytes": 8 * 1024 * 1024})
            elif name == "stall":
                config[self.seconds] = 3600
                args["wait_timeout"] = "3s"
            elif name == "job_fails":
                self.fail_job(config, late, rng)
            elif name == "hides_new":
                late["org_list_hides_new"] = True
        if answer != "documented":
            # An answer shape is a fault too (counted), but never a cause: alone, it must not fail the run.
            names.append("answer_" + answer)
        rng.shuffle(rules)
        return {"names": names, "config": config, "late_config": late, "rules": rules, "args": args,
                "answer": answer}

    def fail_job(self, config, late, rng):
        raise NotImplementedError

    def place(self, worker, rng, plan):
        emulator = worker.emulator
        storage = "chaos-storage" if self.kind in ("export", "import") else None
        policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True,
                                                 "storageId": storage})
        ctx = {"folders": [], "policy": policy.get("policyId") or policy.get("id")}
        if self.kind != "backup":
            backup = emulator.control("org/backup", {"policyId": ctx["policy"], "status": "COMPLETE",
                                                     "age_seconds": 3600})
            ctx["backup"] = backup.get("backupId") or backup.get("id")
            plan["args"]["backup_id"] = ctx["backup"]
        if self.kind == "import":
            # An export of that backup, finished: made through the API itself, before the faults are armed.
            answer = requests.post("%s%s/orgs/%s/exports" % (emulator.url, ORG_PREFIX, ORG_ID), auth=(USER, TOKEN),
                                   json=[{"product": "CONFLUENCE", "cloudId": SITE, "backupId": ctx["backup"]}],
                                   timeout=60)
            answer.raise_for_status()
            emulator.control("advance", {"seconds": 30})
        if self.kind == "backup":
            if rng.random() < 0.5:
                plan["args"]["policy_id"] = ctx["policy"]
            else:
                plan["args"].update(cloud_id=SITE, product="confluence")
        if self.kind == "restore":
            plan["args"].update(cloud_id=RESTORE_SITE, confirm=True, consents=list(CONSENTS))
            if "job_fails" in plan["names"]:
                plan["args"]["consents"] = CONSENTS[:1]
        return ctx


class OrgRun(OrgScenario):
    module, kind, seconds = "backup_run", "backup", "org_backup_seconds"
    start, poll, listing_path = r"/orgs/[^/]+/backups$", r"/backups/[^/]+$", r"/policies(/[^/]+/backups)?$"
    extra_kinds = ("job_fails",)

    def fail_job(self, config, late, rng):
        config["org_backup_outcome"] = "FAILED"


class OrgExport(OrgScenario):
    module, kind, seconds = "backup_export", "export", "org_export_seconds"
    start, poll, listing_path = r"/orgs/[^/]+/exports$", r"/exports/[^/]+$", r"/orgs/[^/]+/exports$"


class OrgImport(OrgScenario):
    module, kind, seconds = "backup_import", "import", "org_import_seconds"
    start, poll, listing_path = r"/orgs/[^/]+/imports$", r"/imports/[^/]+$", r"/orgs/[^/]+/imports$"


class OrgRestore(OrgScenario):
    module, kind, seconds = "backup_restore", "restore", "org_restore_seconds"
    start, poll, listing_path = r"/restores$", r"/restores/[^/]+$", r"/orgs/[^/]+/restores$"
    extra_kinds = ("job_fails",)
    causes = dict(CAUSES, job_fails=["Consent_"])

    def fail_job(self, config, late, rng):
        """The restore stops at validation: a consent it needs was not given (see place)."""
