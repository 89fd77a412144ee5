# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""confluence_export through ansible-playbook against the emulator's REST API v2 (issue 24): a whole export matching
the emulator's counts and its manifest's checksums; an incremental run after edits, additions and deletions that
asks for exactly the changed items (counted in the emulator's request log) and links the rest; a stopped export
continued without fetching anything twice; a 429 storm; check mode; bad selections; no token anywhere."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from conftest import CANARY_TOKEN

SITE = {"seed": 11, "spaces": 2, "pages": 24, "blogposts": 4, "attachments": 6, "attachment_size": [400, 3000],
        "fanout": 4}
ITEM = re.compile(r"^/wiki/api/v2/(pages|blogposts)/(\d+)(/[a-z-]+)?$")


def log_since(emulator, start):
    answer = emulator.control("rest_v2/requests?since=%d" % start)
    return answer["requests"], answer["next"]


def items_asked(requests):
    """The ids of the pages and blog posts whose own resource (not a sub-list) was asked for."""
    return sorted(set(m.group(2) for m in (ITEM.match(r["path"]) for r in requests) if m and not m.group(3)))


def export(run_playbook, dest, **args):
    run = run_playbook.module("confluence_export", dest=str(dest), **args)
    assert run.rc == 0 and not run.result.get("failed"), run.output[-3000:]
    return run.result


def check_manifest(path):
    with open(os.path.join(path, "export.json")) as handle:
        manifest = json.load(handle)
    for rel, facts in manifest["files"].items():
        with open(os.path.join(path, rel), "rb") as handle:
            data = handle.read()
        assert len(data) == facts["size"] and hashlib.sha256(data).hexdigest() == facts["sha256"], rel
        assert CANARY_TOKEN.encode() not in data
    assert not os.path.exists(os.path.join(path, "journal.jsonl"))
    return manifest


def test_a_whole_export_then_an_incremental_one_after_edits_additions_and_deletions(emulator, run_playbook, tmp_path):
    site = emulator.control("rest_v2/site", SITE)
    totals = site["totals"]
    dest = tmp_path / "exports"
    check = run_playbook.module("confluence_export", check=True, dest=str(dest))
    assert check.rc == 0 and check.result["changed"] and not dest.exists(), check.output[-2000:]
    dummy, start = log_since(emulator, 0)

    first = export(run_playbook, dest)
    requests, start = log_since(emulator, start)
    pages = totals["pages"]["current"] + totals["pages"]["archived"]
    assert first["counts"]["pages"] == pages and first["counts"]["blogposts"] == totals["blogposts"]["current"]
    assert first["counts"]["attachments"] == totals["attachments"] and first["fetched"]["attachments"] == totals["attachments"]
    assert first["requests"] == len(requests), (first["requests"], len(requests))
    manifest = check_manifest(first["path"])
    assert manifest["counts"]["pages"] == pages and manifest["previous"] is None and manifest["deleted"] == []

    emulator.control("advance", {"seconds": 3600})
    home = site["spaces"][0]["homepageId"]
    changed = emulator.control("rest_v2/change", {
        "edit": [home], "edit_pages": 1, "add_pages": [{"space": "GEN2", "count": 1}],
        "add_attachments": [{"container": int(home), "count": 1, "size": 1234}]})
    gone = sorted(set(manifest["items"]) - set(changed["edited"]) - set(str(a) for a in changed["added"]))[3]
    emulator.control("rest_v2/change", {"trash": [int(gone)]})

    second = export(run_playbook, dest)
    requests, start = log_since(emulator, start)
    wanted = sorted(set(changed["edited"]) | set(str(a) for a in changed["added"]))
    assert items_asked(requests) == wanted, (items_asked(requests), wanted)
    assert second["fetched"]["pages"] == len(wanted) and second["fetched"]["attachments"] == 1
    assert second["reused"]["pages"] == pages - len(changed["edited"]) - 1
    assert [d["id"] for d in second["deleted"]] == [gone] and second["previous"] == first["path"]
    assert second["requests"] == len(requests) < first["requests"] / 4, (second["requests"], first["requests"])
    later = check_manifest(second["path"])
    kept = next(i for i, item in later["items"].items() if i not in wanted and item["attachments"])
    for rel in [later["items"][kept]["path"]] + later["items"][kept]["attachments"]:
        assert os.stat(os.path.join(second["path"], rel)).st_ino == os.stat(os.path.join(first["path"], rel)).st_ino


def test_a_stopped_export_continues_where_it_stopped(emulator, run_playbook, tmp_path):
    emulator.control("rest_v2/site", SITE)
    dest = tmp_path / "exports"
    dummy, start = log_since(emulator, 0)
    # The 60th request gets a 500, which nothing retries: the run stops half-way.
    emulator.control("rest_v2/storm", {"count": 1, "every": 60, "status": 500, "retry_after": None})
    stopped = run_playbook.module("confluence_export", dest=str(dest), workers=1)
    assert stopped.result["failed"] and "run the task again to continue" in stopped.result["msg"], stopped.result
    folder = stopped.result["path"]
    assert not os.path.exists(os.path.join(folder, "export.json"))
    with open(os.path.join(folder, "journal.jsonl")) as handle:
        written = [json.loads(line)["path"] for line in handle]
    done = set(os.path.basename(p)[:-len(".json")] for p in written if "/pages/" in p or "/blogposts/" in p)
    assert done, written
    dummy, start = log_since(emulator, start)
    emulator.control("rest_v2/storm", {"count": 0})

    resumed = export(run_playbook, dest)
    requests, dummy = log_since(emulator, start)
    assert resumed["resumed"] and resumed["path"] == folder
    assert not set(items_asked(requests)) & done, sorted(set(items_asked(requests)) & done)
    check_manifest(folder)


def test_a_429_storm_slows_the_export_down_and_it_completes(emulator, run_playbook, tmp_path):
    emulator.control("rest_v2/site", dict(SITE, pages=6, blogposts=1, attachments=1))
    emulator.control("rest_v2/storm", {"count": 3, "status": 429, "retry_after": 0})
    done = export(run_playbook, tmp_path / "exports", max_requests_per_second=200)
    # Three refusals in a row, within a second: the client retried each, and the pace was cut once for the burst.
    assert done["rate_limited"] == 1 and done["http_retries"] == 3, done
    check_manifest(done["path"])


def test_a_space_the_site_does_not_hold_fails_before_anything_is_written(emulator, run_playbook, tmp_path):
    emulator.control("rest_v2/site", dict(SITE, pages=4, blogposts=0, attachments=0))
    listed = tmp_path / "spaces.csv"
    listed.write_text("space key\nGEN1\nNOPE\n")
    run = run_playbook.module("confluence_export", dest=str(tmp_path / "exports"), spaces_csv=str(listed))
    assert run.result["failed"] and "no space NOPE" in run.result["msg"], run.result
    assert os.listdir(str(tmp_path / "exports")) == []
    one = export(run_playbook, tmp_path / "exports", spaces=["GEN1"])
    assert one["counts"]["spaces"] == 1
