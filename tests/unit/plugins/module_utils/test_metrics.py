# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The textfile renderer of backup_metrics, every output read back by the Prometheus parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import metrics as _metrics

parser = pytest.importorskip("prometheus_client.parser")

# A manifest as confluence_backup writes it and backup_verify (level inventory) completes it.
MANIFEST = {"format": 1, "backup_time": "2026-11-22T02:00:00Z", "downloaded_at": "2026-11-22T02:05:00Z",
            "size": 3145851, "create_seconds": 61.5, "download_seconds": 12.25, "verified_level": "inventory",
            "verified": "zip-structure", "inventory_status": "counted",
            "inventory": {"spaces": 3, "pages": 120, "blog_posts": 8, "comments": 40, "attachments": 25,
                          "entities_member": "entities.xml", "objects": 4711}}
BACKUP_TIME = 1795312800  # 2026-11-22T02:00:00Z
LABELS = _metrics.target_labels("site-a", "confluence_cloud")
BASE = (("target", "site-a"), ("type", "confluence_cloud"))
HELP = dict((_metrics.PREFIX + name, text) for name, text in _metrics.METRICS)


def parsed(text):
    """{(sample name, sorted label items): value}, after checking each family is a documented gauge."""
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        assert family.documentation == HELP[family.name], family.name
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in found, key
            found[key] = sample.value
    assert len(found) == _metrics.sample_count(text)
    return found


def with_labels(*extra):
    return tuple(sorted(BASE + extra))


def names_of(found):
    return set(name for name, labels in found)


def test_a_manifest_becomes_gauges_the_parser_reads():
    text = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=14)
    found = parsed(text)
    assert found == {
        ("atlassian_backup_last_run_success", BASE): 1,
        ("atlassian_backup_last_success_timestamp_seconds", BASE): BACKUP_TIME,
        ("atlassian_backup_duration_seconds", BASE): 73.75,
        ("atlassian_backup_size_bytes", BASE): 3145851,
        ("atlassian_backup_verified", with_labels(("level", "inventory"))): 1,
        ("atlassian_backup_verification_ok", BASE): 1,
        ("atlassian_backup_inventory", with_labels(("kind", "spaces"))): 3,
        ("atlassian_backup_inventory", with_labels(("kind", "pages"))): 120,
        ("atlassian_backup_inventory", with_labels(("kind", "blog_posts"))): 8,
        ("atlassian_backup_inventory", with_labels(("kind", "comments"))): 40,
        ("atlassian_backup_inventory", with_labels(("kind", "attachments"))): 25,
        ("atlassian_backup_inventory_known", BASE): 1,
        ("atlassian_backup_retained_copies", BASE): 14,
    }
    assert "atlassian_backup_last_success_timestamp_seconds{target=\"site-a\",type=\"confluence_cloud\"} 1795312800\n" \
        in text, "an integer, not a float"
    assert text.startswith("# HELP atlassian_backup_last_run_success ") and text.endswith(" 14\n")


def test_the_same_inputs_give_the_same_bytes():
    text = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=14)
    reordered = dict(reversed(list(MANIFEST.items())))
    reordered["inventory"] = dict(reversed(list(MANIFEST["inventory"].items())))
    labels = _metrics.target_labels("site-a", "confluence_cloud", {"zone": "b", "env": "prod"})
    assert labels == _metrics.target_labels("site-a", "confluence_cloud", {"env": "prod", "zone": "b"})
    assert _metrics.render(LABELS, True, _metrics.backup_samples(reordered), retained=14) == text
    assert _metrics.render(LABELS, True, _metrics.backup_samples(dict(MANIFEST)), retained=14) == text
    with_env = _metrics.render(labels, True, _metrics.backup_samples(MANIFEST))
    assert 'atlassian_backup_size_bytes{target="site-a",type="confluence_cloud",env="prod",zone="b"} 3145851\n' in with_env
    assert all(dict(k[1]).get("env") == "prod" for k in parsed(with_env))


def test_an_unknown_inventory_and_no_duration_leave_those_out():
    manifest = dict(MANIFEST, inventory_status="unknown")
    for key in ("create_seconds", "download_seconds"):
        manifest.pop(key)
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(manifest)))
    assert not names_of(found) & {"atlassian_backup_duration_seconds", "atlassian_backup_inventory",
                                  "atlassian_backup_retained_copies"}
    assert found[("atlassian_backup_inventory_known", BASE)] == 0
    assert found[("atlassian_backup_last_success_timestamp_seconds", BASE)] == BACKUP_TIME


def test_a_manifest_verified_only_by_checksum():
    """Straight from confluence_backup or snapshots_export: no inventory, no level, download time only."""
    manifest = {"format": 1, "downloaded_at": "2026-11-22T02:05:00Z", "size": 10, "download_seconds": 2,
                "verified": "zip-crc"}
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(manifest)))
    assert found == {
        ("atlassian_backup_last_run_success", BASE): 1,
        ("atlassian_backup_last_success_timestamp_seconds", BASE): BACKUP_TIME + 300,
        ("atlassian_backup_duration_seconds", BASE): 2,
        ("atlassian_backup_size_bytes", BASE): 10,
        ("atlassian_backup_verification_ok", BASE): 1,
        ("atlassian_backup_inventory_known", BASE): 0,
    }


@pytest.mark.parametrize("times, expected", [
    ({"create_seconds": 60, "download_seconds": 5.5}, 65.5),
    ({"export_seconds": 30.25, "download_seconds": 1}, 31.25),
    ({"create_seconds": 60, "export_seconds": 30, "download_seconds": 1}, 61),
    ({"export_seconds": 30.25}, 30.25),
    ({"create_seconds": None, "download_seconds": 4}, 4),
    ({"create_seconds": True, "download_seconds": "4"}, None),
    ({}, None),
])
def test_duration_is_create_or_export_plus_download(times, expected):
    manifest = dict((k, v) for k, v in MANIFEST.items() if not k.endswith("_seconds"))
    manifest.update(times)
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(manifest)))
    assert found.get(("atlassian_backup_duration_seconds", BASE)) == expected


def test_a_failed_verification_shows():
    manifest = dict(MANIFEST, verified=False, verified_level="checksum")
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(manifest)))
    assert found[("atlassian_backup_verification_ok", BASE)] == 0
    assert found[("atlassian_backup_verified", with_labels(("level", "checksum")))] == 1


@pytest.mark.parametrize("value", ['quote"d', "back\\slash", "new\nline", 'all \\" of\n them \\n', "plain", "spa ce} 1"])
def test_label_values_are_escaped(value):
    labels = _metrics.target_labels(value, "snapshots", {"site": value})
    manifest = dict(MANIFEST, verified_level=value)
    text = _metrics.render(labels, True, _metrics.backup_samples(manifest))
    assert "\n" not in text.rstrip("\n").replace("\n#", "").replace("\natlassian_backup_", ""), "one sample a line"
    found = parsed(text)
    mine = (("site", value), ("target", value), ("type", "snapshots"))
    assert found[("atlassian_backup_last_run_success", mine)] == 1
    assert found[("atlassian_backup_verified", tuple(sorted(mine + (("level", value),))))] == 1
    kept = _metrics.previous_samples(text, value, "snapshots")
    assert ("verified", (("level", value),), 1) in kept
    assert _metrics.render(labels, True, kept) == text, "read back exactly"


def test_a_failed_run_keeps_the_last_success_samples_of_its_own_target():
    good = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=3)
    kept = _metrics.previous_samples(good, "site-a", "confluence_cloud")
    failed_text = _metrics.render(LABELS, False, kept)
    failed = parsed(failed_text)
    before = parsed(good)
    assert failed.pop(("atlassian_backup_last_run_success", BASE)) == 0
    assert before.pop(("atlassian_backup_last_run_success", BASE)) == 1
    assert failed == before, "everything else kept"
    again = _metrics.render(LABELS, False, _metrics.previous_samples(failed_text, "site-a", "confluence_cloud"))
    assert again == failed_text, "a second failure changes nothing"
    relabelled = _metrics.render(_metrics.target_labels("site-a", "confluence_cloud", {"env": "prod"}), False, kept)
    assert parsed(relabelled)[("atlassian_backup_last_success_timestamp_seconds", with_labels(("env", "prod")))] == BACKUP_TIME


def test_only_a_file_of_the_same_target_we_wrote_is_kept():
    good = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=3)
    assert _metrics.previous_samples(good, "other", "confluence_cloud") == []
    assert _metrics.previous_samples(good, "site-a", "snapshots") == []
    assert _metrics.previous_samples(good, "site", "confluence_cloud") == []
    assert _metrics.previous_samples(None, "site-a", "confluence_cloud") == []
    assert _metrics.previous_samples("", "site-a", "confluence_cloud") == []
    assert _metrics.previous_samples("garbage\n# HELP x\n", "site-a", "confluence_cloud") == []
    for foreign in ('node_load1 0.5\n', 'atlassian_backup_other{target="site-a",type="confluence_cloud"} 1\n',
                    '# TYPE atlassian_backup_size_bytes counter\n', 'atlassian_backup_size_bytes 5\n',
                    'atlassian_backup_size_bytes{target="site-a",type="confluence_cloud",} 5\n',
                    'atlassian_backup_size_bytes{target="site-a",type="confluence_cloud"} many\n',
                    'atlassian_backup_inventory{target="site-a",type="confluence_cloud"} 5\n'):
        assert _metrics.previous_samples(good + foreign, "site-a", "confluence_cloud") == [], foreign
    only_failure = _metrics.render(LABELS, False, [])
    assert _metrics.previous_samples(only_failure, "site-a", "confluence_cloud") == []
    assert parsed(only_failure) == {("atlassian_backup_last_run_success", BASE): 0}


def test_a_skipped_run_counts_the_skips_and_keeps_the_last_outcome_and_samples():
    good = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=3)
    success, skips = _metrics.after_skip(good, "site-a", "confluence_cloud")
    assert (success, skips) == (1, 1)
    kept = _metrics.previous_samples(good, "site-a", "confluence_cloud")
    skipped_text = _metrics.render(LABELS, success, kept, skipped=skips)
    skipped = parsed(skipped_text)
    assert skipped.pop(("atlassian_backup_last_run_skipped", BASE)) == 1
    assert skipped == parsed(good), "the last run's outcome and the backup samples are kept"
    assert _metrics.after_skip(skipped_text, "site-a", "confluence_cloud") == (1, 2), "two skips in a row"
    failed = _metrics.render(LABELS, False, _metrics.previous_samples(skipped_text, "site-a", "confluence_cloud"))
    assert ("atlassian_backup_last_run_skipped", BASE) not in parsed(failed), "a run that took the lock resets it"
    assert _metrics.after_skip(failed, "site-a", "confluence_cloud") == (0, 1)


def test_a_skip_with_no_earlier_file_writes_only_the_skip():
    for nothing in (None, "", "garbage\n"):
        assert _metrics.after_skip(nothing, "site-a", "confluence_cloud") == (None, 1)
    other = _metrics.render(_metrics.target_labels("other", "confluence_cloud"), True, [])
    assert _metrics.after_skip(other, "site-a", "confluence_cloud") == (None, 1), "another target's file"
    text = _metrics.render(LABELS, None, [], skipped=1)
    assert parsed(text) == {("atlassian_backup_last_run_skipped", BASE): 1}


@pytest.mark.parametrize("name", ["target", "type", "level", "kind", "__name__", "__x", "1abc", "a-b", "", "é"])
def test_label_names_are_checked(name):
    with pytest.raises(ValueError, match="label name"):
        _metrics.target_labels("t", "snapshots", {name: "x"})


def test_label_values_are_text():
    assert _metrics.target_labels("t", "s", {"n": 3, "_ok": "x"}) == [("target", "t"), ("type", "s"), ("_ok", "x"), ("n", "3")]
    for value in (None, {"a": 1}, ["a"]):
        with pytest.raises(ValueError, match="must be a string"):
            _metrics.target_labels("t", "s", {"n": value})


def test_values_the_exposition_format_reads():
    samples = [("size_bytes", (), float("nan")), ("duration_seconds", (), float("inf")), ("retained_copies", (), 0),
               ("last_success_timestamp_seconds", (), 1e20)]
    text = _metrics.render(LABELS, True, samples)
    found = parsed(text)
    assert found[("atlassian_backup_duration_seconds", BASE)] == float("inf")
    assert found[("atlassian_backup_size_bytes", BASE)] != found[("atlassian_backup_size_bytes", BASE)]
    assert found[("atlassian_backup_last_success_timestamp_seconds", BASE)] == 1e20
    assert _metrics.render(LABELS, True, _metrics.previous_samples(text, "site-a", "confluence_cloud")) == text


def test_bad_manifest_values_are_left_out():
    manifest = {"format": 1, "backup_time": "yesterday", "downloaded_at": "2026-13-40T00:00:00Z", "size": -1,
                "verified_level": "", "inventory": {"pages": "many", "spaces": True}, "inventory_status": "counted"}
    found = parsed(_metrics.render(LABELS, False, _metrics.backup_samples(manifest)))
    assert found == {("atlassian_backup_last_run_success", BASE): 0, ("atlassian_backup_verification_ok", BASE): 1,
                     ("atlassian_backup_inventory_known", BASE): 0}


# ------------------------------------------------------------------------------------------- restore drill family
DRILL_HELP = dict((_metrics.DRILL_PREFIX + name, text) for name, text in _metrics.DRILL_METRICS)
DRILL_LABELS = _metrics.target_labels("wiki", "confluence_datacenter")
DRILL_BASE = (("target", "wiki"), ("type", "confluence_datacenter"))
DRILL_TIME = BACKUP_TIME + 7 * 3600 + 15  # the drill ran 7 h 15 s after the backup


def drill_parsed(text):
    """{sample name: value} of a drill textfile, each family a documented gauge with the target's labels."""
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation == DRILL_HELP[family.name], family.name
        for sample in family.samples:
            assert tuple(sorted(sample.labels.items())) == tuple(sorted(DRILL_BASE)), sample
            assert sample.name not in found, sample.name
            found[sample.name] = sample.value
    assert len(found) == _metrics.sample_count(text)
    return found


def test_a_drill_that_passed_gives_every_figure_the_parser_reads():
    samples = _metrics.drill_samples(True, DRILL_TIME, backup_time=BACKUP_TIME, restore_seconds=2411.25,
                                     found_spaces_percent=100.0, found_pages_percent=97.5)
    text = _metrics.render_drill(DRILL_LABELS, samples)
    assert drill_parsed(text) == {
        "atlassian_backup_drill_last_run_success": 1,
        "atlassian_backup_drill_last_run_timestamp_seconds": DRILL_TIME,
        "atlassian_backup_drill_last_success_timestamp_seconds": DRILL_TIME,
        "atlassian_backup_drill_restore_seconds": 2411.25,
        "atlassian_backup_drill_backup_timestamp_seconds": BACKUP_TIME,
        "atlassian_backup_drill_backup_age_seconds": 7 * 3600 + 15,
        "atlassian_backup_drill_found_spaces_ratio": 1,
        "atlassian_backup_drill_found_pages_ratio": 0.975,
    }
    assert text.startswith("# HELP atlassian_backup_drill_last_run_success ")
    assert 'atlassian_backup_drill_found_spaces_ratio{target="wiki",type="confluence_datacenter"} 1\n' in text
    assert _metrics.parse(text) is None, "not a backup textfile"
    assert _metrics.previous_samples(text, "wiki", "confluence_datacenter") == []


def test_a_failed_drill_writes_success_0_and_keeps_the_last_passed_drill_time():
    passed = _metrics.render_drill(DRILL_LABELS, _metrics.drill_samples(True, DRILL_TIME, restore_seconds=3))
    later = DRILL_TIME + 86400
    last = _metrics.previous_drill_success(passed, "wiki", "confluence_datacenter")
    assert last == DRILL_TIME
    failed = _metrics.render_drill(DRILL_LABELS, _metrics.drill_samples(False, later, last_success=last))
    assert drill_parsed(failed) == {"atlassian_backup_drill_last_run_success": 0,
                                    "atlassian_backup_drill_last_run_timestamp_seconds": later,
                                    "atlassian_backup_drill_last_success_timestamp_seconds": DRILL_TIME}
    again = _metrics.previous_drill_success(failed, "wiki", "confluence_datacenter")
    assert again == DRILL_TIME, "a second failure keeps it too"
    assert _metrics.previous_drill_success(failed, "other", "confluence_datacenter") is None
    assert _metrics.previous_drill_success("garbage\n", "wiki", "confluence_datacenter") is None
    first = _metrics.render_drill(DRILL_LABELS, _metrics.drill_samples(False, later, found_pages_percent=62.5))
    assert drill_parsed(first) == {"atlassian_backup_drill_last_run_success": 0,
                                   "atlassian_backup_drill_last_run_timestamp_seconds": later,
                                   "atlassian_backup_drill_found_pages_ratio": 0.625}


def test_a_backup_time_after_the_drill_is_an_age_of_0_not_negative():
    samples = dict((name, value) for name, _labels, value in
                   _metrics.drill_samples(True, BACKUP_TIME - 5, backup_time=BACKUP_TIME))
    assert samples["backup_age_seconds"] == 0


def test_the_backup_family_still_renders_as_before():
    text = _metrics.render(LABELS, True, [])
    assert text == ("# HELP atlassian_backup_last_run_success %s\n# TYPE atlassian_backup_last_run_success gauge\n"
                    'atlassian_backup_last_run_success{target="site-a",type="confluence_cloud"} 1\n'
                    % HELP["atlassian_backup_last_run_success"])
    assert _metrics.render_rows(LABELS, [("last_run_success", (), 1)]) == text
