# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_prune through ansible-playbook on a folder of fake backups (issue 13).

The backups are small files with real sidecars and manifests, one a day at 02:00 UTC. The module talks to no
service; the ``emulator`` fixture is only there because the playbook harness needs it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
from datetime import date, timedelta

from conftest import SAVE

CLOUD = "example.atlassian.net"
DC = "wiki.example.com"


def ok(run):
    return run.rc == 0 and not (run.result or {}).get("failed")


def stamp(day, hour=2):
    return "%sT%02d0000Z" % (day.strftime("%Y%m%d"), hour)


def add_backup(folder, day, label=CLOUD, product="confluence", kind=None, scope=None, space_keys=None, hour=2,
               sidecar=True):
    """A fake backup of ``day``: zip, ``.sha256`` and manifest, as the collection writes them. Returns its base path."""
    base = "%s-%s%s-%s" % (product, label, "-" + kind if kind else "", stamp(day, hour))
    body = ("backup of %s on %s %s" % (label, day.isoformat(), kind or "")).encode()
    digest = hashlib.sha256(body).hexdigest()
    with open(os.path.join(folder, base + ".zip"), "wb") as handle:
        handle.write(body)
    if sidecar:
        with open(os.path.join(folder, base + ".zip.sha256"), "w") as handle:
            handle.write("%s  %s\n" % (digest, base + ".zip"))
    manifest = {"format": 1, "product": product, "site_label": label, "site": "https://" + label,
                "deployment": "datacenter" if scope else "cloud", "file": base + ".zip", "size": len(body),
                "sha256": digest, "backup_time": "%sT%02d:00:00Z" % (day.isoformat(), hour), "verified": "zip-structure"}
    if scope:
        manifest.update(scope=scope, space_keys=space_keys or [])
    with open(os.path.join(folder, base + ".json"), "w") as handle:
        json.dump(manifest, handle)
    return os.path.join(folder, base)


def files_of(base):
    """What deleting a backup removes, in the order the module deletes it: zip, .sha256, manifest."""
    return [base + ".zip", base + ".zip.sha256", base + ".json"]


def listing(folder):
    return sorted(os.listdir(folder))


def sixty_days(folder):
    """2026-09-01 .. 2026-10-30 (a Friday, ISO week 2026-W44 from Monday 10-26): {date: base path}."""
    first = date(2026, 9, 1)
    return dict((first + timedelta(days=n), add_backup(folder, first + timedelta(days=n))) for n in range(60))


# keep_daily 7 and keep_weekly 4 over sixty_days: the 7 newest days, and the newest backup of the 4 newest ISO weeks
# (10-30 of the current week, then the Sundays 10-25, 10-18 and 10-11).
KEEP = dict(keep_daily=7, keep_weekly=4)
EXPECTED_KEPT = [date(2026, 10, d) for d in (30, 29, 28, 27, 26, 25, 24, 18, 11)]


def prune(run_playbook, folder, check=False, diff=False, **args):
    merged = dict(path=folder, product="confluence")
    merged.update(args)
    return run_playbook.module("backup_prune", check=check, diff=diff, **merged)


def test_check_mode_lists_exactly_what_would_go_and_touches_nothing(run_playbook, emulator, dest):
    backups = sixty_days(dest)
    before = listing(dest)
    run = prune(run_playbook, dest, check=True, diff=True, **KEEP)
    assert ok(run), run
    doomed = sorted(d for d in backups if d not in EXPECTED_KEPT)
    assert len(doomed) == 51
    assert run.result["would_delete"] == [path for d in doomed for path in files_of(backups[d])]
    assert run.result["changed"] is True and run.result["deleted"] == []
    assert listing(dest) == before
    assert [k["path"] for k in run.result["kept"]] == [backups[d] + ".zip" for d in EXPECTED_KEPT]
    assert run.result["kept"][0]["reasons"] == ["newest verified", "last 1", "daily 2026-10-30", "weekly 2026-W44"]
    assert run.result["kept"][-1] == {"path": backups[date(2026, 10, 11)] + ".zip", "backup_time": "2026-10-11T02:00:00Z",
                                      "reasons": ["weekly 2026-W41"]}
    assert run.result["series"] == 1 and run.result["unverified"] == [] and run.result["unaccounted"] == []
    assert run.result["diff"]["before"]["backups"] == [backups[d] + ".zip" for d in sorted(backups, reverse=True)]
    assert run.result["diff"]["after"]["backups"] == [backups[d] + ".zip" for d in EXPECTED_KEPT]
    assert "Check mode: would delete 51 backups (153 files)" in run.result["msg"]


def test_prune_deletes_exactly_manifest_last_and_leaves_what_it_cannot_account_for(run_playbook, emulator, dest):
    backups = sixty_days(dest)
    stray = os.path.join(dest, "confluence-%s-20261031T020000Z.zip" % CLOUD)
    part = os.path.join(dest, "confluence-%s-20261031T030000Z.zip.part" % CLOUD)
    for path in (stray, part, part + ".state.json"):
        with open(path, "w") as handle:
            handle.write("{}")
    # Another product's backups in the same folder are not looked at.
    other = add_backup(dest, date(2026, 9, 1), product="snapshots")
    checked = prune(run_playbook, dest, check=True, **KEEP)
    assert ok(checked), checked

    run = prune(run_playbook, dest, **KEEP)
    assert ok(run), run
    doomed = sorted(d for d in backups if d not in EXPECTED_KEPT)
    assert run.result["deleted"] == checked.result["would_delete"]
    assert run.result["deleted"] == [path for d in doomed for path in files_of(backups[d])]
    assert "would_delete" not in run.result
    assert all(path.endswith(".json") for path in run.result["deleted"][2::3])
    assert run.result["changed"] is True
    left = set(listing(dest))
    expected = set(os.path.basename(p) for d in EXPECTED_KEPT for p in files_of(backups[d]))
    expected |= set(os.path.basename(p) for p in (stray, part, part + ".state.json"))
    expected |= set(os.path.basename(p) for p in files_of(other))
    assert left == expected
    assert run.result["unaccounted"] == [{"path": stray, "reason": "no manifest"},
                                         {"path": part, "reason": "partial download (.part)"}]
    assert "Deleted 51 backups (153 files)" in run.result["msg"]
    assert any("2 files no manifest accounts for (see unaccounted)" in w for w in run.result.get("warnings", []))

    again = prune(run_playbook, dest, diff=True, **KEEP)
    assert ok(again), again
    assert again.result["changed"] is False and again.result["deleted"] == []
    assert again.result["kept"] == run.result["kept"]
    assert again.result["diff"]["before"] == again.result["diff"]["after"]
    assert set(listing(dest)) == expected
    assert again.result["msg"].startswith("Nothing to delete")


def test_refuses_without_a_keep_count(run_playbook, emulator, dest):
    sixty_days(dest)
    before = listing(dest)
    run = prune(run_playbook, dest, keep_last=3)
    assert run.result["failed"] and "Refusing to prune" in run.result["msg"], run
    run = prune(run_playbook, dest, keep_daily=-1, keep_weekly=2)
    assert run.result["failed"] and "keep_daily must be 0 or more" in run.result["msg"], run
    assert listing(dest) == before


def test_tampered_sidecar_is_unverified_and_left_alone(run_playbook, emulator, dest):
    backups = sixty_days(dest)
    tampered = [date(2026, 10, 30), date(2026, 9, 15)]
    for day in tampered:
        with open(backups[day] + ".zip.sha256", "w") as handle:
            handle.write("%s  %s\n" % ("0" * 64, os.path.basename(backups[day]) + ".zip"))
    # A zip cut short is not verified either (its size differs from the manifest's).
    short = date(2026, 9, 20)
    with open(backups[short] + ".zip", "ab") as handle:
        handle.truncate(3)
    with open(backups[short] + ".json") as handle:
        size = json.load(handle)["size"]
    # A manifest that names another backup's zip (copied by hand, say) accounts for nothing and deletes nothing.
    stray = add_backup(dest, date(2026, 10, 31))
    os.unlink(stray + ".zip")
    os.unlink(stray + ".zip.sha256")
    with open(stray + ".json") as handle:
        manifest = json.load(handle)
    manifest["file"] = os.path.basename(backups[date(2026, 9, 2)]) + ".zip"
    with open(stray + ".json", "w") as handle:
        json.dump(manifest, handle)
    run = prune(run_playbook, dest, **KEEP)
    assert ok(run), run
    # The newest verified is now 10-29: 7 days 10-23..10-29, and 10-29 stands for week 44.
    kept = [date(2026, 10, d) for d in (29, 28, 27, 26, 25, 24, 23, 18, 11)]
    assert [k["path"] for k in run.result["kept"]] == [backups[d] + ".zip" for d in kept]
    assert run.result["kept"][0]["reasons"] == ["newest verified", "last 1", "daily 2026-10-29", "weekly 2026-W44"]
    assert run.result["unverified"] == [
        {"path": stray + ".zip", "manifest_path": stray + ".json", "backup_time": "2026-10-31T02:00:00Z",
         "reason": "the manifest names %r, not %s.zip" % (manifest["file"], os.path.basename(stray))},
        {"path": backups[date(2026, 10, 30)] + ".zip", "manifest_path": backups[date(2026, 10, 30)] + ".json",
         "backup_time": "2026-10-30T02:00:00Z", "reason": "the .sha256 file does not hold the manifest's sha256"},
        {"path": backups[short] + ".zip", "manifest_path": backups[short] + ".json",
         "backup_time": "2026-09-20T02:00:00Z", "reason": "the zip file has 3 bytes, the manifest records %d" % size},
        {"path": backups[date(2026, 9, 15)] + ".zip", "manifest_path": backups[date(2026, 9, 15)] + ".json",
         "backup_time": "2026-09-15T02:00:00Z", "reason": "the .sha256 file does not hold the manifest's sha256"},
    ]
    for day in tampered + [short]:
        assert all(os.path.exists(p) for p in files_of(backups[day]))
    assert os.path.exists(stray + ".json")
    doomed = sorted(d for d in backups if d not in kept and d not in tampered and d != short)
    assert run.result["deleted"] == [path for d in doomed for path in files_of(backups[d])]
    assert any("4 backups not verified (see unverified)" in w for w in run.result.get("warnings", []))


def test_series_are_pruned_separately_and_filters_narrow_them(run_playbook, emulator, dest):
    first = date(2026, 10, 21)
    ten = [first + timedelta(days=n) for n in range(10)]  # 10-21 .. 10-30
    cloud = dict((d, add_backup(dest, d)) for d in ten)
    other_site = dict((d, add_backup(dest, d, label="other.atlassian.net")) for d in ten)
    spaces = dict((d, add_backup(dest, d, label=DC, kind="space-DOC_TEAM", scope="space", space_keys=["TEAM", "DOC"]))
                  for d in ten)
    site = dict((d, add_backup(dest, d, label=DC, kind=None, scope="site", hour=3)) for d in ten)

    run = prune(run_playbook, dest, check=True, keep_daily=3)
    assert ok(run), run
    assert run.result["series"] == 4
    assert len(run.result["would_delete"]) == 4 * 7 * 3 and len(run.result["kept"]) == 4 * 3

    run = prune(run_playbook, dest, keep_daily=3, site=DC, scope="space", space_keys=["DOC", "TEAM"])
    assert ok(run), run
    assert run.result["series"] == 1
    assert run.result["deleted"] == [p for d in ten[:7] for p in files_of(spaces[d])]
    assert [k["path"] for k in run.result["kept"]] == [spaces[d] + ".zip" for d in reversed(ten[7:])]

    run = prune(run_playbook, dest, keep_daily=5, site="https://" + CLOUD)
    assert ok(run), run
    assert run.result["series"] == 1
    assert run.result["deleted"] == [p for d in ten[:5] for p in files_of(cloud[d])]
    assert all(os.path.exists(p) for d in ten for p in files_of(other_site[d]) + files_of(site[d]))


def test_an_interrupted_deletion_keeps_the_manifest(run_playbook, emulator, dest):
    first = date(2026, 10, 1)
    backups = dict((first + timedelta(days=n), add_backup(dest, first + timedelta(days=n))) for n in range(5))
    # The oldest backup's "zip" is a folder: unlinking it fails, as a file the module may not delete would.
    base = backups[first]
    os.unlink(base + ".zip")
    os.unlink(base + ".zip.sha256")
    os.mkdir(base + ".zip")
    with open(base + ".json") as handle:
        manifest = json.load(handle)
    manifest["size"] = os.stat(base + ".zip").st_size
    with open(base + ".json", "w") as handle:
        json.dump(manifest, handle)
    run = prune(run_playbook, dest, keep_daily=2)
    assert run.result["failed"], run
    assert "Could not delete 1 of 3 backups" in run.result["msg"] and base + ".zip" in run.result["msg"]
    # The two others went; the failed one keeps its manifest, so it stays accounted for.
    assert run.result["deleted"] == [p for d in (date(2026, 10, 2), date(2026, 10, 3)) for p in files_of(backups[d])]
    assert os.path.exists(base + ".json") and os.path.isdir(base + ".zip")
    assert run.result["changed"] is True


def test_module_defaults_of_the_groups_reach_it(run_playbook, emulator, dest, tmp_path):
    """A play's defaults for the site's modules (group cloud) and for every module that talks to a service (group
    atlassian) do not reach it: it is in group local only (whose defaults do), and takes no connection option."""
    backups = sixty_days(dest)
    task = {"name": "Prune", "atlassian_ops.backup.backup_prune": dict(product="confluence", **KEEP),
            "register": "result", "ignore_errors": True}
    save = {"name": "Save the result", "check_mode": False,
            SAVE: {"content": "{{ result | to_nice_json }}", "dest": "{{ result_file }}"}}
    site = {"url": "{{ lookup('ansible.builtin.env', 'ATLASSIAN_URL') }}", "username": "backup-bot@example.com",
            "api_token": "{{ lookup('ansible.builtin.env', 'ATLASSIAN_API_TOKEN') }}"}
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(json.dumps([{"name": "Prune with the groups' defaults", "hosts": "localhost",
                                     "gather_facts": False,
                                     "module_defaults": {"group/atlassian_ops.backup.cloud": site,
                                                         "group/atlassian_ops.backup.atlassian": {"timeout": 60},
                                                         "group/atlassian_ops.backup.local": {"path": dest}},
                                     "tasks": [task, save]}]))
    run = run_playbook(name=str(playbook), check=True, module="backup_prune")
    assert ok(run), run
    assert len(run.result["would_delete"]) == 51 * 3
    assert all(os.path.exists(p) for base in backups.values() for p in files_of(base))


# objects: the same rule for a copy of the folder (an S3 prefix). The folder holds only the copy's manifests; the
# copy's zip and .sha256 objects are given by name.
YEAR_KEEP = dict(keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=2)
# A year of dailies 2025-11-01 .. 2026-10-31 (a Saturday): the 7 newest days, the Sundays 10-18 and 10-11 (ISO weeks
# 42 and 41; weeks 44 and 43 are 10-31 and 10-25), the last day of each month back to 2025-11 (2025-12-31 also
# stands for the year 2025).
YEAR_KEPT = ([date(2026, 10, d) for d in (31, 30, 29, 28, 27, 26, 25, 18, 11)]
             + [date(2026, m, d) for m, d in ((9, 30), (8, 31), (7, 31), (6, 30), (5, 31), (4, 30), (3, 31), (2, 28), (1, 31))]
             + [date(2025, 12, 31), date(2025, 11, 30)])


def a_year(folder):
    first = date(2025, 11, 1)
    return dict((first + timedelta(days=n), add_backup(folder, first + timedelta(days=n))) for n in range(365))


def manifests_only(backups):
    """Leave only the manifests in the folder (as the role fetches them from the bucket); the object names."""
    objects = []
    for day in sorted(backups):
        for path in files_of(backups[day])[:2]:
            os.unlink(path)
            objects.append("nightly/example/" + os.path.basename(path))
    return objects


def test_objects_decide_for_a_copy_by_the_folder_rule_and_delete_nothing(run_playbook, emulator, tmp_path):
    full, copy = str(tmp_path / "full"), str(tmp_path / "copy")
    os.makedirs(full)
    os.makedirs(copy)
    local = a_year(full)
    backups = a_year(copy)
    objects = manifests_only(backups)
    before = listing(copy)

    rule = prune(run_playbook, full, check=True, **YEAR_KEEP)
    assert ok(rule), rule
    assert [k["path"] for k in rule.result["kept"]] == [local[d] + ".zip" for d in YEAR_KEPT]

    run = prune(run_playbook, copy, objects=objects, **YEAR_KEEP)
    assert ok(run), run
    assert [k["path"] for k in run.result["kept"]] == [backups[d] + ".zip" for d in YEAR_KEPT]
    assert [k["reasons"] for k in run.result["kept"]] == [k["reasons"] for k in rule.result["kept"]]
    doomed = sorted(d for d in backups if d not in YEAR_KEPT)
    assert len(doomed) == 365 - len(YEAR_KEPT)
    # zip, .sha256, then the manifest of each backup, oldest backup first; paths under path, named as the objects.
    assert run.result["would_delete"] == [p for d in doomed for p in files_of(backups[d])]
    assert [os.path.basename(p) for p in rule.result["would_delete"]] == [os.path.basename(p) for p in run.result["would_delete"]]
    assert run.result["changed"] is False and run.result["deleted"] == []
    assert run.result["unverified"] == [] and run.result["unaccounted"] == [] and run.result["series"] == 1
    assert listing(copy) == before
    assert run.result["msg"].startswith("The copy should lose %d backups (%d files, see would_delete); nothing was deleted"
                                        % (len(doomed), 3 * len(doomed))), run.result["msg"]

    # The role lists the manifests' objects too: the same plan.
    manifests = ["nightly/example/" + os.path.basename(backups[d]) + ".json" for d in sorted(backups)]
    listed = prune(run_playbook, copy, check=True, objects=objects + manifests, **YEAR_KEEP)
    assert ok(listed), listed
    assert listed.result["would_delete"] == run.result["would_delete"] and listed.result["changed"] is False
    assert listed.result["kept"] == run.result["kept"]
    assert listing(copy) == before


def test_objects_a_missing_object_is_unverified_and_an_unknown_zip_unaccounted(run_playbook, emulator, dest):
    first = date(2026, 10, 1)
    backups = dict((first + timedelta(days=n), add_backup(dest, first + timedelta(days=n))) for n in range(10))
    objects = manifests_only(backups)
    no_zip, no_sidecar = date(2026, 10, 2), date(2026, 10, 3)
    objects.remove("nightly/example/" + os.path.basename(backups[no_zip]) + ".zip")
    objects.remove("nightly/example/" + os.path.basename(backups[no_sidecar]) + ".zip.sha256")
    stray = "confluence-%s-20261011T020000Z.zip" % CLOUD
    part = "confluence-%s-20261011T030000Z.zip.part" % CLOUD
    objects += ["nightly/example/" + stray, "nightly/example/" + part]
    before = listing(dest)

    run = prune(run_playbook, dest, objects=objects, keep_daily=3)
    assert ok(run), run
    kept = [date(2026, 10, d) for d in (10, 9, 8)]
    assert [k["path"] for k in run.result["kept"]] == [backups[d] + ".zip" for d in kept]
    assert run.result["unverified"] == [
        {"path": backups[no_sidecar] + ".zip", "manifest_path": backups[no_sidecar] + ".json",
         "backup_time": "2026-10-03T02:00:00Z", "reason": "the copy holds no .sha256 object"},
        {"path": backups[no_zip] + ".zip", "manifest_path": backups[no_zip] + ".json",
         "backup_time": "2026-10-02T02:00:00Z", "reason": "the copy holds no zip object"},
    ]
    doomed = sorted(d for d in backups if d not in kept and d not in (no_zip, no_sidecar))
    assert run.result["would_delete"] == [p for d in doomed for p in files_of(backups[d])]
    assert not [p for p in run.result["would_delete"] if os.path.basename(p).startswith(
        tuple(os.path.basename(backups[d]) for d in (no_zip, no_sidecar)))]
    assert run.result["unaccounted"] == [{"path": os.path.join(dest, stray), "reason": "no manifest"},
                                         {"path": os.path.join(dest, part), "reason": "partial download (.part)"}]
    assert run.result["changed"] is False and run.result["deleted"] == []
    assert any("2 backups not verified (see unverified)" in w and "2 files no manifest accounts for" in w
               for w in run.result.get("warnings", [])), run.result.get("warnings")
    assert listing(dest) == before
