# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every variant of the backup manager's answers that real clients have met (reference 1.3-1.5)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud import api as obm
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import (
    format_duration,
    parse_duration,
    parse_service_duration,
)


@pytest.mark.parametrize("raw,expected", [
    ("100", 100), ("100%", 100), ("Estimated progress: 100 %", 100), ("66", 66), ("0", 0), (42, 42),
    ("Estimated progress: 7 %", 7), (None, None), ("", None), ("n/a", None),
])
def test_percentages(raw, expected):
    assert obm.parse_percentage(raw) == expected


SEED_IDLE = '{"size": 0, "concurrentBackupInProgress": false, "time": 0, "isOutdated": false}'
SEED_RUNNING = ('{"size": 0, "currentStatus": "PROCESSING", "alternativePercentage": "0", '
                '"concurrentBackupInProgress": false, "time": 1774002187647, "isOutdated": false}')
SEED_COMPLETE = ('{"fileName": "temp/filestore/f414ec92-0000-c3fb80968852", "size": 0, "currentStatus": "COMPLETE",'
                 ' "alternativePercentage": "100", "concurrentBackupInProgress": false, "time": 1774004016420,'
                 ' "isOutdated": false}')
SEED_FAILED = ('{"size": 0, "currentStatus": "FAILED", "alternativePercentage": "66", '
               '"concurrentBackupInProgress": false, "time": 1774002187647, "isOutdated": false}')


def test_seed_000_bodies():
    assert obm.parse_progress(SEED_IDLE)["state"] == obm.IDLE
    running = obm.parse_progress(SEED_RUNNING)
    assert running["state"] == obm.RUNNING and running["percentage"] == 0
    complete = obm.parse_progress(SEED_COMPLETE)
    assert complete["state"] == obm.COMPLETE and complete["size"] == 0
    assert complete["file_name"] == "temp/filestore/f414ec92-0000-c3fb80968852"
    failed = obm.parse_progress(SEED_FAILED)
    assert failed["state"] == obm.FAILED and failed["percentage"] == 66


def test_reference_variants():
    legacy = obm.parse_progress('{"fileName": "abc-123", "alternativePercentage": "Estimated progress: 100 %", '
                                '"size": 10, "currentStatus": "Archiving attachments."}')
    assert legacy["state"] == obm.COMPLETE and legacy["percentage"] == 100
    archiving = obm.parse_progress('{"alternativePercentage": "45%", "currentStatus": "Archiving attachments."}')
    assert archiving["state"] == obm.RUNNING
    with_message = obm.parse_progress('{"alternativePercentage": "12%", "failedMessage": "disk full"}')
    assert with_message["state"] == obm.FAILED and with_message["failed_message"] == "disk full"
    concurrent = obm.parse_progress('{"concurrentBackupInProgress": true, "size": 0}')
    assert concurrent["state"] == obm.RUNNING
    done_no_name = obm.parse_progress('{"currentStatus": "COMPLETE", "alternativePercentage": "100"}')
    assert done_no_name["state"] == obm.RUNNING, "finished but no fileName yet: keep polling"
    error = obm.parse_progress('{"currentStatus": "ERROR"}')
    assert error["state"] == obm.FAILED


def test_xml_backupresult():
    xml = ('<?xml version="1.0" encoding="UTF-8"?><backupresult fileName="temp/filestore/abc" '
           'alternativePercentage="100%" size="2048" currentStatus="COMPLETE" '
           'concurrentBackupInProgress="false"/>')
    progress = obm.parse_progress(xml)
    assert progress["state"] == obm.COMPLETE and progress["size"] == 2048
    assert progress["file_name"] == "temp/filestore/abc" and progress["concurrent_backup_in_progress"] is False


@pytest.mark.parametrize("body", ["", "   ", "<!DOCTYPE html><html>login</html>", '{"size": 0, "curr', "[1, 2]",
                                  "Service Unavailable"])
def test_unreadable_bodies_are_transient(body):
    with pytest.raises(obm.ObmParseError):
        obm.parse_progress(body)


@pytest.mark.parametrize("name,path", [
    ("temp/filestore/f414ec92-8c55", "/wiki/download/temp/filestore/f414ec92-8c55"),
    ("f414ec92-8c55", "/wiki/download/temp/filestore/f414ec92-8c55"),
])
def test_download_path_with_and_without_prefix(name, path):
    assert obm.download_path(name) == path
    assert obm.server_file_id(name) == "f414ec92-8c55"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "temp/../x", "a b", "temp/filestore/x?y=1",
                                  "", "temp//x", "x\ny"])
def test_download_path_refuses_unsafe_names(name):
    with pytest.raises(obm.UnsafeFileName):
        obm.download_path(name)


@pytest.mark.parametrize("status,text,seconds", [
    (406, "Backup frequency is limited. You can not make another backup right now. Approximate time till next "
          "allowed backup: 14h 19m", 14 * 3600 + 19 * 60),
    (406, "Backupfrequencyislimited.Youcannotmakeanotherbackuprightnow.Approximatetimetillnextallowedbackup: "
          "4hoursand2minutes", 4 * 3600 + 2 * 60),
    (500, "Backup frequency is limited. You can not make another backup right now. Approximate time till next "
          "allowed backup: 47h 50m", 47 * 3600 + 50 * 60),
    (412, '{"error":"Backup frequency is limited. You cannot make another backup right now. Approximate time until '
          'next allowed backup: 26h 58m"}', 26 * 3600 + 58 * 60),
    (406, "Backup frequency is limited. You can not make another backup right now.", None),
])
def test_frequency_limit_texts(status, text, seconds):
    refusal = obm.parse_runbackup_refusal(status, text)
    assert refusal["kind"] == "frequency_limited"
    assert refusal["wait_seconds"] == seconds


def test_in_progress_texts_and_cloud_history():
    seed = ("Backupisalreadyinprogress.CloudHistory{\n  cloudId='6c7a6f55-08edb3a15371',\n  status='QUEUED',\n"
            "  backupId='mplus-376919eb-75329a198259',\n  creationTime='2026-03-25T08: 35: 32.398721536Z',\n"
            "  hasAttachments=true\n}")
    refusal = obm.parse_runbackup_refusal(406, seed)
    assert refusal["kind"] == "in_progress"
    assert refusal["history"]["status"] == "QUEUED"
    assert refusal["history"]["backupId"] == "mplus-376919eb-75329a198259"
    assert refusal["history"]["hasAttachments"] == "true"
    assert obm.parse_runbackup_refusal(406, "Backup is already in progress")["kind"] == "in_progress"
    assert obm.parse_runbackup_refusal(406, "Something else")["kind"] == "unknown"


@pytest.mark.parametrize("value,seconds", [
    (30, 30), ("30", 30), ("30s", 30), ("15m", 900), ("24h", 86400), ("2d", 172800), ("1h30m", 5400),
    ("0.5s", 0.5), ("1w", 604800), ("8 h", 28800),
])
def test_user_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["-5", -1, "soon", "5 parsecs", "h", True, "1h-2m"])
def test_bad_durations(value):
    with pytest.raises(ValueError) as info:
        parse_duration(value, "max_age")
    assert "max_age" in str(info.value)


def test_format_duration():
    assert format_duration(0) == "0s" and format_duration(3660) == "1h1m" and format_duration(90000) == "1d1h"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_progress_parser_never_crashes(text):
    try:
        progress = obm.parse_progress(text)
    except obm.ObmParseError:
        return
    assert progress["state"] in (obm.IDLE, obm.RUNNING, obm.COMPLETE, obm.FAILED)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["fileName", "size", "currentStatus", "alternativePercentage",
                                        "concurrentBackupInProgress", "time", "isOutdated", "failedMessage"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40))))
def test_progress_json_never_crashes(data):
    progress = obm.parse_progress(json.dumps(data))
    assert progress["state"] in (obm.IDLE, obm.RUNNING, obm.COMPLETE, obm.FAILED)
    assert progress["percentage"] is None or 0 <= progress["percentage"] <= 100


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from([406, 409, 412, 500]))
def test_refusal_parser_never_crashes(text, status):
    refusal = obm.parse_runbackup_refusal(status, text)
    assert refusal["kind"] in ("frequency_limited", "in_progress", "unknown")
    assert parse_service_duration(text) is None or parse_service_duration(text) >= 0


def test_cloud_history_of_seed_000_with_its_spaces_lost_and_added():
    text = ("Backupisalreadyinprogress.CloudHistory{\n  cloudId='6c7a6f55-0000-08edb3a15371',\n  status='QUEUED',\n"
            "  backupId='mplus-376919eb-0000-75329a198259',\n  creationTime='2026-03-25T08: 35: 32.398721536Z',\n"
            "  lastModifiedTime='2026-03-25T08: 35: 32.398721536Z',\n  hasAttachments=true\n}")
    history = obm.parse_cloud_history(text)
    summary = obm.history_summary(history)
    assert summary == {"status": "QUEUED", "backup_id": "mplus-376919eb-0000-75329a198259",
                       "creation_time": "2026-03-25T08:35:32.398721536Z", "cloud_id": "6c7a6f55-0000-08edb3a15371",
                       "has_attachments": True}
    assert obm.parse_history_time(history["creationTime"]) == 1774427732.0
    assert obm.parse_runbackup_refusal(406, text)["kind"] == "in_progress"
    assert obm.history_summary(None) is None and obm.parse_history_time("yesterday") is None
