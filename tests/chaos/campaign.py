# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A seeded fault campaign: every module that starts or moves data, through ansible-playbook, against an
emulator that misbehaves.

Run ``n`` of a campaign with seed ``s`` drives slot ``(n + 6 * s) % 10`` of SCENARIOS, so that 200 runs give
Cloud, Data Center and Snapshots 40 runs each and the organization API 80, and the short campaign of make test
(seeds 101 to 104, six runs each) covers every slot:

* Confluence Cloud: ``confluence_backup`` (chaos_cloud.py, the campaign's first scenario, its invariants unchanged);
* Confluence Data Center: ``confluence_backup`` with ``deployment: datacenter`` and the restore upload of
  ``confluence_restore`` (chaos_datacenter.py);
* the Snapshots app: ``snapshots_export`` (chaos_snapshots.py);
* the organization-level Backup & Restore API: ``backup_run``, ``backup_export``, ``backup_import`` and
  ``backup_restore`` (chaos_org.py).

Each run resets the emulator, places what the module needs, draws the answer shapes (start answers, links,
status words) and one to three faults (5xx and 429 storms, slow answers, truncated or corrupt bodies, redirect
loops, endless bodies, stalls, jobs that fail, media resets where a download goes through the media host), runs
the module, and checks the invariants of its scenario plus those every starting module shares (chaos_common.py):
at most one start reaches the service and at most one job is created (the emulator's request log and state); a
success reports exactly the job the emulator created; a failure after a job was created names it or the call that
lists it; failures are non-empty, not tracebacks and name an injected cause; no file is left where a verified one
should be and earlier backups are untouched; the canary secrets appear in no output, result, file or the
emulator's log, and the media host never receives an Authorization header.

    python tests/chaos/campaign.py --runs 200 --seed 1 [--workers 2] [--verbose]

It runs from the staged copy of the collection (``make chaos`` stages it and starts it there). Exit status 1 when
an invariant was violated; the summary prints runs, faults injected, outcomes and every violation, in all and per
API and module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import collections
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chaos_common import EMULATOR_CONFIG, EMULATOR_PATH, base_env, secret_forms  # noqa: E402  pylint: disable=wrong-import-position
sys.path.insert(0, EMULATOR_PATH)
from atlassian_emulator.launcher import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position
import chaos_cloud  # noqa: E402  pylint: disable=wrong-import-position
import chaos_datacenter  # noqa: E402  pylint: disable=wrong-import-position
import chaos_org  # noqa: E402  pylint: disable=wrong-import-position
import chaos_snapshots  # noqa: E402  pylint: disable=wrong-import-position

# Ten slots: each API gets a fifth of the runs or more (Cloud and Snapshots two slots, Data Center backup and
# restore one each, the organization API's four modules one each).
CLOUD, SNAPSHOTS = chaos_cloud.CloudBackup(), chaos_snapshots.SnapshotsExport()
SCENARIOS = [CLOUD, chaos_datacenter.DatacenterBackup(), chaos_org.OrgRun(), SNAPSHOTS, chaos_org.OrgExport(),
             chaos_datacenter.DatacenterRestore(), CLOUD, chaos_org.OrgImport(), SNAPSHOTS, chaos_org.OrgRestore()]
APIS = ("cloud", "datacenter", "snapshots", "org")


def scenario_for(number, seed):
    return SCENARIOS[(number + 6 * seed) % len(SCENARIOS)]


def label(scenario):
    return "%s/%s" % (scenario.api, scenario.module)


class Worker(object):
    def __init__(self, index, base, scenarios):
        self.index = index
        self.work = os.path.join(base, "worker-%d" % index)
        os.makedirs(self.work)
        self.emulator = EmulatorProcess(self.work, EMULATOR_CONFIG)
        self.env = base_env(self.work, self.emulator.url)
        for scenario in scenarios:
            scenario.prepare(self)

    def run(self, number, seed):
        scenario = scenario_for(number, seed)
        try:
            record = scenario.run(self, number, seed)
        except Exception as exc:  # pylint: disable=broad-except
            # The campaign's own trouble (an emulator control call refused...) is reported, never hidden.
            record = {"faults": [], "rules": 0, "failed": True, "msg": "", "recovered": None, "faults_fired": 0,
                      "violations": ["the campaign could not run this scenario: %r" % exc]}
        record.update(run=number, api=scenario.api, scenario=label(scenario))
        return record

    def stop(self):
        self.emulator.stop()


def summarise(records, key):
    groups = collections.OrderedDict()
    for record in records:
        group = groups.setdefault(record[key], {"runs": 0, "faults": 0, "verified": 0, "clean_failures": 0,
                                                "violations": 0})
        group["runs"] += 1
        group["faults"] += len(record["faults"])
        group["violations"] += len(record["violations"])
        if record["failed"] and not record["violations"]:
            group["clean_failures"] += 1
        elif not record["failed"]:
            group["verified"] += 1
    return groups


def campaign(runs, seed, workers=2, verbose=False, out=sys.stdout):
    """Run the campaign; return the summary dict (``violations`` is the list of failing runs)."""
    base = tempfile.mkdtemp(prefix="chaos-")
    pool = []
    try:
        used = []
        for number in range(runs):
            if scenario_for(number, seed) not in used:
                used.append(scenario_for(number, seed))
        pool = [Worker(i, base, used) for i in range(workers)]
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
                        print("run %3d %-32s %-40s %s%s" % (
                            number, record["scenario"], ",".join(record["faults"] + (
                                ["(%s)" % record["detail"]] if record.get("detail") else [])),
                            "failed: " + record["msg"][:110] if record["failed"] else "verified",
                            ("  VIOLATIONS: %s" % record["violations"]) if record["violations"] else ""), file=out)
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
                        log = handle.read()
                        log_leaks += ["a canary secret (%s...) is in the emulator's log" % f[:12]
                                      for f in secret_forms() if f.encode() in log]
        shutil.rmtree(base, ignore_errors=True)
    if log_leaks:
        records.append({"run": runs, "faults": [], "failed": False, "recovered": None, "faults_fired": 0,
                        "violations": log_leaks, "msg": "", "api": "emulator log", "scenario": "emulator log"})
    records.sort(key=lambda r: r["run"])
    kinds = collections.Counter(n for r in records for n in r["faults"])
    summary = {
        "runs": len(records), "seed": seed,
        "faults_injected": sum(len(r["faults"]) for r in records),
        "fault_rules_fired": sum(r["faults_fired"] for r in records),
        "by_kind": dict(sorted(kinds.items())),
        "by_api": summarise(records, "api"),
        "by_scenario": summarise(records, "scenario"),
        "verified_backups": sum(1 for r in records if not r["failed"]),
        "clean_failures": sum(1 for r in records if r["failed"]),
        "resumed_after_failure": sum(1 for r in records if r["recovered"]),
        "violations": [r for r in records if r["violations"]],
    }
    print("Chaos campaign, seed %d: %d runs, %d faults injected (%d emulator rules fired)" % (
        seed, summary["runs"], summary["faults_injected"], summary["fault_rules_fired"]), file=out)
    print("  by kind: %s" % ", ".join("%s %d" % kv for kv in summary["by_kind"].items()), file=out)
    print("  outcomes: %d verified, %d failures (%d partial downloads then resumed by a clean run)" % (
        summary["verified_backups"], summary["clean_failures"], summary["resumed_after_failure"]), file=out)
    for title, key in (("API", "by_api"), ("module", "by_scenario")):
        print("  %-34s %5s %7s %9s %15s %11s" % ("by " + title, "runs", "faults", "verified", "clean failures",
                                                 "violations"), file=out)
        for name, group in summary[key].items():
            print("    %-32s %5d %7d %9d %15d %11d" % (name, group["runs"], group["faults"], group["verified"],
                                                       group["clean_failures"], group["violations"]), file=out)
    print("  invariant violations: %d" % sum(len(r["violations"]) for r in summary["violations"]), file=out)
    for record in summary["violations"]:
        line = (record["run"], record["scenario"], ",".join(record["faults"] + (
            ["(%s)" % record["detail"]] if record.get("detail") else [])), "; ".join(record["violations"]))
        print("    run %d %s (%s): %s" % line, file=out)
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
