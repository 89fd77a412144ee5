# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_metrics through ansible-playbook (issue 13): the textfile, read back by the Prometheus parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
from datetime import date

import pytest

from test_backup_prune import add_backup

parser = pytest.importorskip("prometheus_client.parser")

NAME = "atlassian_backup_site.prom"


def families(path):
    """{(sample name, sorted label items): value} of a textfile; every family a gauge with its HELP."""
    with open(path) as handle:
        text = handle.read()
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation, family
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def plain(found):
    """{sample name: value} of the samples without a label of their own (level, kind)."""
    return dict((name, value) for (name, labels), value in found.items() if not set(dict(labels)) - {"target", "type", "env"})


def verified_backup(tmp_path):
    """A backup as the collection writes it, completed as backup_verify leaves it at level inventory."""
    backups = str(tmp_path / "backups")
    os.makedirs(backups)
    base = add_backup(backups, date(2026, 11, 22))
    with open(base + ".json") as handle:
        manifest = json.load(handle)
    manifest.update(verified_level="inventory", create_seconds=60, download_seconds=3.5, inventory_status="counted",
                    inventory={"spaces": 2, "pages": 40, "blog_posts": 5, "comments": 12, "attachments": 9,
                               "entities_member": "entities.xml", "objects": 99})
    with open(base + ".json", "w") as handle:
        json.dump(manifest, handle)
    return base + ".json", manifest


def test_written_once_then_unchanged_and_kept_on_failure(run_playbook, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    manifest_path, manifest = verified_backup(tmp_path)
    path = str(folder / NAME)
    args = dict(path=path, target="site", type="confluence_cloud", manifest=manifest_path, retained=5,
                labels={"env": "prod"})

    check = run_playbook.module("backup_metrics", check=True, diff=True, status="success", **args)
    assert check.rc == 0 and check.result["changed"] and "Would write" in check.result["msg"], check
    assert os.listdir(str(folder)) == [], "check mode writes nothing"
    assert check.result["diff"]["before"] == "" and check.result["diff"]["after"] == check.result["content"], check

    first = run_playbook.module("backup_metrics", status="success", **args)
    assert first.rc == 0 and first.result["changed"] and first.result["path"] == path, first
    with open(path) as handle:
        assert handle.read() == first.result["content"] == check.result["content"]
    found = families(path)
    base = (("env", "prod"), ("target", "site"), ("type", "confluence_cloud"))
    assert plain(found) == {
        "atlassian_backup_last_run_success": 1,
        "atlassian_backup_last_success_timestamp_seconds": 1795312800,  # the manifest's backup_time
        "atlassian_backup_duration_seconds": 63.5,
        "atlassian_backup_size_bytes": manifest["size"],
        "atlassian_backup_verification_ok": 1,
        "atlassian_backup_inventory_known": 1,
        "atlassian_backup_retained_copies": 5,
    }
    assert found[("atlassian_backup_verified", tuple(sorted(base + (("level", "inventory"),))))] == 1
    kinds = dict((dict(labels)["kind"], value) for (name, labels), value in found.items() if name == "atlassian_backup_inventory")
    assert kinds == {"spaces": 2, "pages": 40, "blog_posts": 5, "comments": 12, "attachments": 9}
    assert first.result["samples"] == len(found) == 13
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(str(folder)) == [NAME], "no temporary file left behind"

    before = os.stat(path)
    second = run_playbook.module("backup_metrics", status="success", **args)
    assert second.rc == 0 and not second.result["changed"] and "Unchanged" in second.result["msg"], second
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (before.st_ino, before.st_mtime_ns, before.st_ctime_ns)
    again = run_playbook.module("backup_metrics", check=True, status="success", **args)
    assert again.rc == 0 and not again.result["changed"], again

    failed_args = dict(path=path, target="site", type="confluence_cloud", status="failed", labels={"env": "prod"})
    failed = run_playbook.module("backup_metrics", diff=True, **failed_args)
    assert failed.rc == 0 and failed.result["changed"], failed
    assert failed.result["diff"]["before"] == first.result["content"], failed
    kept = families(path)
    assert kept.pop(("atlassian_backup_last_run_success", base)) == 0
    assert found.pop(("atlassian_backup_last_run_success", base)) == 1
    assert kept == found, "the last success's samples are kept"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 and os.listdir(str(folder)) == [NAME]

    before = os.stat(path)
    failed_again = run_playbook.module("backup_metrics", **failed_args)
    assert failed_again.rc == 0 and not failed_again.result["changed"], failed_again
    assert os.stat(path).st_ino == before.st_ino and os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_a_failure_with_nothing_known_and_a_foreign_file(run_playbook, tmp_path):
    path = str(tmp_path / NAME)
    run = run_playbook.module("backup_metrics", path=path, target="site", type="snapshots", status="failed")
    assert run.rc == 0 and run.result["changed"] and run.result["samples"] == 1, run
    assert families(path) == {("atlassian_backup_last_run_success", (("target", "site"), ("type", "snapshots"))): 0}
    # Another target's file (or anything we did not write) is not taken over.
    with open(path, "w") as handle:
        handle.write('# TYPE atlassian_backup_size_bytes gauge\natlassian_backup_size_bytes{target="other",type="snapshots"} 5\n')
    run = run_playbook.module("backup_metrics", path=path, target="site", type="snapshots", status="failed")
    assert run.rc == 0 and run.result["changed"] and run.result["samples"] == 1, run


def test_what_cannot_be_written_is_refused_clearly(run_playbook, tmp_path):
    missing = str(tmp_path / "nowhere" / NAME)
    run = run_playbook.module("backup_metrics", path=missing, target="t", type="snapshots", status="failed")
    assert run.result["failed"] and "folder %s does not exist" % (tmp_path / "nowhere") in run.result["msg"], run
    assert not os.path.exists(str(tmp_path / "nowhere"))
    bad = run_playbook.module("backup_metrics", path=str(tmp_path / NAME), target="t", type="snapshots",
                              status="failed", labels={"__name__": "x"})
    assert bad.result["failed"] and "label name" in bad.result["msg"], bad
    manifest = tmp_path / "other.json"
    manifest.write_text(json.dumps({"format": 2, "size": 1}))
    odd = run_playbook.module("backup_metrics", path=str(tmp_path / NAME), target="t", type="snapshots",
                              status="success", manifest=str(manifest))
    assert odd.result["failed"] and "format 2" in odd.result["msg"], odd
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".prom") or n.startswith("." + NAME)], "nothing written"
