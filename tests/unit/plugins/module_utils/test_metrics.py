# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The textfile renderer of backup_metrics, read back by the Prometheus parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils import _metrics

parser = pytest.importorskip("prometheus_client.parser")

MANIFEST = {"format": 1, "backup_time": "2026-11-22T02:00:00Z", "size": 3145851, "create_seconds": 61.5,
            "download_seconds": 12.25, "verified_level": "inventory", "verified": "zip-structure",
            "inventory": {"spaces": 3, "pages": 120, "blog_posts": 8, "comments": 40, "attachments": 25},
            "inventory_status": "counted"}
LABELS = (("target", "site-a"), ("type", "confluence_cloud"))


def parsed(text):
    found = {}
    for family in parser.text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_manifest_becomes_gauges_the_parser_reads():
    text = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=14)
    found = parsed(text)
    base = (("target", "site-a"), ("type", "confluence_cloud"))
    assert found[("atlassian_backup_last_run_success", base)] == 1
    assert found[("atlassian_backup_last_success_timestamp_seconds", base)] == 1795312800
    assert found[("atlassian_backup_duration_seconds", base)] == 73.75
    assert found[("atlassian_backup_size_bytes", base)] == 3145851
    assert found[("atlassian_backup_verified", tuple(sorted(base + (("level", "inventory"),))))] == 1
    assert found[("atlassian_backup_verification_ok", base)] == 1
    assert found[("atlassian_backup_inventory", tuple(sorted(base + (("kind", "pages"),))))] == 120
    assert found[("atlassian_backup_inventory_known", base)] == 1
    assert found[("atlassian_backup_retained_copies", base)] == 14
    assert text == _metrics.render(LABELS, True, _metrics.backup_samples(dict(MANIFEST)), retained=14), "same bytes"


def test_an_unknown_inventory_and_a_missing_duration_leave_those_out():
    manifest = dict(MANIFEST, inventory=None, inventory_status="unknown")
    for key in ("create_seconds", "download_seconds"):
        manifest.pop(key)
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(manifest)))
    names = set(name for name, labels in found)
    assert "atlassian_backup_duration_seconds" not in names and "atlassian_backup_inventory" not in names
    assert found[("atlassian_backup_inventory_known", LABELS)] == 0


@pytest.mark.parametrize("name", ['quote"d', "back\\slash", "new\nline", "plain"])
def test_label_values_are_escaped(name):
    labels = (("target", name), ("type", "snapshots"))
    found = parsed(_metrics.render(labels, False, []))
    assert found[("atlassian_backup_last_run_success", (("target", name), ("type", "snapshots")))] == 0


def test_a_failed_run_keeps_the_last_success_samples_of_its_own_target():
    good = _metrics.render(LABELS, True, _metrics.backup_samples(MANIFEST), retained=3)
    kept = _metrics.previous_samples(good, LABELS)
    failed = parsed(_metrics.render(LABELS, False, kept))
    assert failed[("atlassian_backup_last_run_success", LABELS)] == 0
    assert failed[("atlassian_backup_last_success_timestamp_seconds", LABELS)] == 1795312800
    assert failed[("atlassian_backup_retained_copies", LABELS)] == 3
    assert _metrics.previous_samples(good, (("target", "other"), ("type", "confluence_cloud"))) == []
    assert _metrics.previous_samples("garbage\n# HELP x\n", LABELS) == []


def test_a_failed_verification_shows():
    found = parsed(_metrics.render(LABELS, True, _metrics.backup_samples(dict(MANIFEST, verified=False))))
    assert found[("atlassian_backup_verification_ok", LABELS)] == 0
