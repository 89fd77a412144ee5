# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one manifest model (store/manifest.py), and the property that retention acts on it: for any sequence of
backups, verifications (some failing, some passing again) and prunes, the newest good backup is never deleted and
a backup whose last verification failed never fills a slot and is never deleted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.prune import prune

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 2, 0, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- files
def test_read_write_update_round_trip(tmp_path):
    path = str(tmp_path / "b.json")
    assert mf.read(path) is None
    written = mf.write(path, {"file": "b.zip", "_manifest_path": "not kept", "size": 3})
    assert written == {"file": "b.zip", "size": 3, "format": 1}
    assert mf.read(path) == written
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    updated = mf.update(path, {"size": 4, "file": mf.DELETE, "inventory": None})
    assert updated == {"size": 4, "format": 1, "inventory": None} and mf.read(path) == updated


@pytest.mark.parametrize("text, problem", [
    ("{", "is not JSON"),
    ("[1]", "not a JSON object"),
    ('{"format": 2}', "of format 2"),
    ("{}", "of format None"),
])
def test_one_strictness_for_every_reader(tmp_path, text, problem):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(mf.ManifestError) as info:
        mf.read(str(path))
    assert problem in str(info.value) and str(path) in str(info.value)
    assert mf.load(str(path)) is None


def test_update_of_a_missing_manifest_says_so(tmp_path):
    with pytest.raises(mf.ManifestError):
        mf.update(str(tmp_path / "none.json"), {"verified": False})


@pytest.mark.parametrize("text, digest", [
    ("%s  b.zip\n" % ("ab" * 32), "ab" * 32),
    ("%s *b.zip\n" % ("AB" * 32), "ab" * 32),
    ("%s\n" % ("0" * 64), "0" * 64),
])
def test_sha256_files_in_sha256sum_format(tmp_path, text, digest):
    path = tmp_path / "b.zip.sha256"
    path.write_text(text)
    assert mf.read_sha256(str(path)) == digest


@pytest.mark.parametrize("text", ["", "not-a-digest  b.zip\n", "%s  b.zip\n" % ("g" * 64), "%s\n" % ("a" * 63)])
def test_a_sha256_file_without_a_digest_is_refused(tmp_path, text):
    path = tmp_path / "b.zip.sha256"
    path.write_text(text)
    with pytest.raises(mf.ManifestError):
        mf.read_sha256(str(path))
    assert mf.read_sha256(str(tmp_path / "missing.sha256")) is None


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)))
def test_times_round_trip(when):
    when = when.replace(microsecond=0, tzinfo=UTC)
    assert mf.parse_time(mf.format_time(when)) == when


@pytest.mark.parametrize("text", [None, "", "2026-11-21", "2026-11-21T02:03:04", "2026-13-01T00:00:00Z", 5])
def test_other_times_are_none(text):
    assert mf.parse_time(text) is None


# ---------------------------------------------------------------------------------------------- verification
def test_a_failure_is_cleared_only_by_a_pass_at_its_level_or_deeper():
    now = T0
    data = {"format": 1, "verified": "zip-crc", "verified_level": "checksum"}
    failed = mf.apply(data, mf.failed_changes(data, "archive", "bad CRC", now))
    assert not mf.is_good(failed) and mf.failure(failed) == "archive: bad CRC"
    assert failed["verification_failure"] == {"level": "archive", "reason": "bad CRC", "at": "2026-11-01T02:00:00Z",
                                              "replaced": "zip-crc"}
    assert mf.failed_changes(failed, "archive", "bad CRC", now) == {}  # already recorded
    shallow = mf.apply(failed, mf.verified_changes(failed, "checksum", now))
    assert not mf.is_good(shallow)
    deeper = mf.apply(failed, mf.verified_changes(failed, "inventory", now))
    assert mf.is_good(deeper) and deeper["verified"] == "zip-crc" and "verification_failure" not in deeper
    assert deeper["verified_level"] == "inventory"
    again = mf.apply(failed, mf.failed_changes(failed, "checksum", "sha256 mismatch", now))
    assert again["verification_failure"]["replaced"] == "zip-crc" and mf.failure(again) == "checksum: sha256 mismatch"


def test_what_was_taken_wins_over_what_was_asked():
    assert mf.include_attachments_taken(True, True, False) == (False, "archive")
    assert mf.include_attachments_taken(False, False, True) == (True, "archive")
    assert mf.include_attachments_taken(False, True, None) == (False, "request")
    assert mf.include_attachments_taken(True, False, None) == (None, None)


# ------------------------------------------------------------------------------------------- the property
def add_backup(folder, index):
    when = T0 + timedelta(hours=7 * index)
    base = "confluence-example.atlassian.net-%s" % when.strftime("%Y%m%dT%H%M%SZ")
    body = ("backup %d" % index).encode()
    with open(os.path.join(folder, base + ".zip"), "wb") as handle:
        handle.write(body)
    digest = hashlib.sha256(body).hexdigest()
    with open(os.path.join(folder, base + ".zip.sha256"), "w") as handle:
        handle.write(mf.sha256_text(digest, base + ".zip"))
    mf.write(os.path.join(folder, base + ".json"), {
        "product": "confluence", "site_label": "example.atlassian.net", "file": base + ".zip", "size": len(body),
        "sha256": digest, "backup_time": mf.format_time(when), "verified": "zip-structure",
        "include_attachments": True})
    return os.path.join(folder, base + ".json")


STEP = st.one_of(
    st.tuples(st.just("backup")),
    st.tuples(st.just("fail"), st.integers(0, 30), st.sampled_from(mf.LEVELS)),
    st.tuples(st.just("pass"), st.integers(0, 30), st.sampled_from(mf.LEVELS)),
    st.tuples(st.just("prune"), st.integers(0, 3), st.integers(0, 2), st.integers(1, 2)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=25))
def test_retention_never_deletes_the_newest_good_backup_and_never_counts_a_failed_one(steps):
    folder = tempfile.mkdtemp()
    try:
        made = []
        for step in steps:
            if step[0] == "backup":
                made.append(add_backup(folder, len(made)))
                continue
            alive = [m for m in made if os.path.exists(m)]
            if step[0] in ("fail", "pass"):
                if not alive:
                    continue
                path = alive[step[1] % len(alive)]
                data = mf.read(path)
                changes = (mf.failed_changes(data, step[2], "step", T0) if step[0] == "fail"
                           else mf.verified_changes(data, step[2], T0))
                mf.update(path, changes)
                continue
            before = dict((m, mf.read(m)) for m in alive)
            good = [m for m in alive if mf.is_good(before[m])]
            newest_good = max(good, key=lambda m: before[m]["backup_time"]) if good else None
            params = dict(path=folder, product="confluence", scope=None, space_keys=None, objects=None,
                          keep_daily=step[1], keep_weekly=step[2], keep_monthly=0, keep_yearly=0, keep_last=step[3])
            result = prune(params, "example.atlassian.net")
            kept = set(k["path"][:-4] + ".json" for k in result["kept"])
            for path, data in before.items():
                if not mf.is_good(data):
                    assert os.path.exists(path) and path not in kept, (path, data, result)
                    assert path[:-5] + ".zip" in [u["path"] for u in result["unverified"]]
            if newest_good is not None:
                assert os.path.exists(newest_good) and newest_good in kept, (newest_good, result)
            assert not (kept & set(p for p in before if not mf.is_good(before[p])))
            leftovers = [n for n in os.listdir(folder) if n.endswith(".tmp")]
            assert not leftovers
            for name in os.listdir(folder):  # every deletion took the whole backup: no zip without its manifest
                if name.endswith(".zip"):
                    assert os.path.exists(os.path.join(folder, name[:-4] + ".json")), name
    finally:
        shutil.rmtree(folder)


def test_a_manifest_on_disk_is_the_json_the_model_writes(tmp_path):
    path = add_backup(str(tmp_path), 0)
    with open(path) as handle:
        assert json.load(handle) == mf.read(path)
