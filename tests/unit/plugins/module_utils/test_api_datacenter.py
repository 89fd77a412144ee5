# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence Data Center: the API's readers, the local checks of a backup to restore, the streamed upload body."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from hypothesis import given, settings, strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import api as dc
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianApiError, AtlassianClient
from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter.restore import check_backup_file
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import parse_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.upload import MultipartBody

BASE = "https://wiki.example.test/confluence"
SAMPLE = {"id": 1, "jobOperation": "BACKUP", "jobScope": "SITE", "jobState": "IN_PROGRESS",
          "createTime": "2020-01-01T01:01:01Z", "startProcessingTime": "2020-01-01T01:01:01Z",
          "finishProcessingTime": "2020-01-01T01:01:01Z", "cancelTime": "2020-01-01T01:01:01Z",
          "errorMessage": "Error message", "owner": "admin", "cancelledBy": "admin",
          "fileName": "backup-2020-01-01.zip", "spaceKeys": "spaceKey1,spaceKey2",
          "fileDeleteTime": "2020-01-01T01:01:01Z", "fileExists": True}


def client():
    return AtlassianClient(BASE, auth=("bearer", "pat-0123456789"), retries=0, sleep=lambda s: None)


# ------------------------------------------------------------------- readers
@pytest.mark.parametrize("raw,expected", [
    ("PROCESSING", "PROCESSING"), ("IN_PROGRESS", "PROCESSING"), ("in progress", "PROCESSING"),
    ("QUEUED", "QUEUED"), ("FINISHED", "FINISHED"), ("CANCELED", "CANCELLED"), ("Cancelling", "CANCELLING"),
    ("FAILED", "FAILED"), ("NEW_WORD", "NEW_WORD"), (None, None),
])
def test_job_states(raw, expected):
    assert dc.normalize_state(raw) == expected


def test_the_documented_sample_reads_as_snake_case_with_space_keys_split():
    view = dc.job_view(SAMPLE)
    assert view["state"] == "PROCESSING" and view["service_state"] == "IN_PROGRESS"
    assert view["space_keys"] == ["spaceKey1", "spaceKey2"] and view["operation"] == "backup"
    assert view["scope"] == "site" and view["file_exists"] is True and view["cancelled_by"] == "admin"
    assert "site backup 1 of spaceKey1, spaceKey2: IN_PROGRESS" in dc.describe(view)


@given(st.lists(st.from_regex(r"[A-Z][A-Z0-9]{0,9}", fullmatch=True), min_size=1, max_size=8, unique=True))
def test_space_keys_round_trip_through_the_comma_string(keys):
    assert dc.split_keys(",".join(keys)) == keys
    assert dc.split_keys(" , ".join(keys)) == keys
    assert dc.split_keys(keys) == keys


def test_status_words_are_the_same_in_every_module():
    assert [dc.status_word({"state": s}) for s in dc.STATES] == [
        "queued", "running", "complete", "running", "cancelled", "failed"]
    assert dc.status_word({"state": "NEW_WORD"}) == "new_word" and dc.status_word(None) == "running"


def test_odd_values_in_a_job_do_not_break_the_reader():
    view = dc.job_view({"id": 3, "jobOperation": 1, "jobScope": None, "spaceKeys": None})
    assert view["operation"] == "1" and view["scope"] is None and view["space_keys"] == []


@pytest.mark.parametrize("text,expected", [
    ("2020-01-01T01:01:01Z", 1577840461.0), ("2020-01-01T02:01:01.000+0100", 1577840461.0),
    ("2020-01-01T01:01:01+00:00", 1577840461.0), ("2019-12-31T20:01:01-05:00", 1577840461.0), ("soon", None),
])
def test_times_with_any_zone(text, expected):
    assert parse_time(text) == expected


def test_error_text_takes_confluences_message():
    exc = AtlassianApiError(409, "POST", BASE, "Conflict",
                            '{"statusCode":409,"message":"backup with the same spaces selected is already in PROGRESS '
                            'or QUEUED"}')
    assert dc.error_text(exc).startswith("backup with the same spaces")
    assert dc.is_conflict(exc)


# --------------------------------------------------------------------- calls
@responses.activate
def test_job_filters_repeat_job_states_and_upper_case_the_enums():
    responses.add(responses.GET, BASE + "/rest/api/backup-restore/jobs", json=[SAMPLE])
    jobs = dc.DataCenterApi(client()).jobs(scope="space", operation="backup", states=["QUEUED", "PROCESSING"],
                                           space_key="DOC", limit=5)
    assert jobs == [SAMPLE]
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"jobScope": ["SPACE"], "jobOperation": ["BACKUP"], "jobStates": ["QUEUED", "PROCESSING"],
                     "spaceKey": ["DOC"], "limit": ["5"]}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer pat-0123456789"


@responses.activate
def test_backup_bodies_follow_the_schemas():
    responses.add(responses.POST, BASE + "/rest/api/backup-restore/backup/site", json=SAMPLE)
    responses.add(responses.POST, BASE + "/rest/api/backup-restore/backup/space", json=SAMPLE)
    api = dc.DataCenterApi(client())
    api.start_backup("site", skip_attachments=True, keep_permanently=False)
    api.start_backup("space", ["DOC", "TEAM"], keep_permanently=True, prefix="nightly-")
    assert json.loads(responses.calls[0].request.body) == {"skipAttachments": True, "keepPermanently": False}
    assert json.loads(responses.calls[1].request.body) == {"spaceKeys": ["DOC", "TEAM"], "keepPermanently": True,
                                                           "fileNamePrefix": "nightly-"}


@responses.activate
def test_a_404_job_is_none_and_a_job_without_an_id_is_an_error():
    responses.add(responses.GET, BASE + "/rest/api/backup-restore/jobs/7", status=404,
                  json={"statusCode": 404, "message": "job not found"})
    responses.add(responses.GET, BASE + "/rest/api/backup-restore/jobs/8", json={"jobState": "FINISHED"})
    api = dc.DataCenterApi(client())
    assert api.job(7) is None
    with pytest.raises(dc.DcApiError, match="expected a job"):
        api.job(8)


@responses.activate
def test_clear_queue_reads_the_bare_count():
    responses.add(responses.PUT, BASE + "/rest/api/backup-restore/jobs/clear-queue", body="2")
    assert dc.DataCenterApi(client()).clear_queue() == 2


# ------------------------------------------------------------ local checks
def backup_zip(path, export_type="all"):
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>")
        archive.writestr("exportDescriptor.properties", "exportType=%s\n" % export_type)
    return str(path)


def test_a_site_backup_fits_a_site_restore_and_not_a_space_restore(tmp_path):
    path = backup_zip(tmp_path / "b.zip")
    assert check_backup_file(path, "site", lambda m: None)["export_type"] == "all"
    with pytest.raises(TaskFailed, match="is a site backup"):
        check_backup_file(path, "space", lambda m: None)


def test_not_a_zip_and_a_missing_file_are_refused(tmp_path):
    junk = tmp_path / "b.zip"
    junk.write_bytes(b"PK\x03\x04 but not really a zip" * 10)
    with pytest.raises(TaskFailed, match="is not a zip file"):
        check_backup_file(str(junk), "site", lambda m: None)
    with pytest.raises(TaskFailed, match="is not a file"):
        check_backup_file(str(tmp_path / "nothing.zip"), "site", lambda m: None)


def test_the_sidecar_or_the_manifest_must_match(tmp_path):
    path = backup_zip(tmp_path / "b.zip", "space")
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    (tmp_path / "b.json").write_text(json.dumps({"format": 1, "file": "b.zip", "sha256": digest, "size": 1}))
    with pytest.raises(TaskFailed, match="its manifest b.json says 1"):
        check_backup_file(path, "space", lambda m: None)
    (tmp_path / "b.json").write_text(json.dumps({"format": 1, "file": "b.zip", "sha256": "0" * 64}))
    with pytest.raises(TaskFailed, match="does not match its b.json"):
        check_backup_file(path, "space", lambda m: None)
    (tmp_path / "b.zip.sha256").write_text("%s  b.zip\n" % digest)
    assert check_backup_file(path, "space", lambda m: None)["sha256"] == digest  # the sidecar wins
    (tmp_path / "b.zip.sha256").write_text("not a hash\n")
    with pytest.raises(TaskFailed, match="is not in sha256sum format"):
        check_backup_file(path, "space", lambda m: None)


def test_a_zip_without_a_descriptor_is_warned_about_not_refused(tmp_path):
    path = str(tmp_path / "b.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("export/entities.xml", "<x/>")
    warnings = []
    assert check_backup_file(path, "site", warnings.append)["export_type"] is None
    assert "exportDescriptor.properties" in warnings[0]


# ---------------------------------------------------------------- upload body
@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=300000), st.integers(min_value=1, max_value=70000))
def test_the_body_is_as_long_as_it_says_in_pieces_no_larger_than_asked(tmp_path_factory, size, chunk):
    path = tmp_path_factory.mktemp("up") / "b.zip"
    data = (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1))[:size]
    path.write_bytes(data)
    seen = []
    body = MultipartBody(str(path), chunk_size=chunk, on_bytes=lambda sent, total: seen.append((sent, total)))
    first = list(body)
    assert all(len(piece) <= chunk for piece in first)
    joined = b"".join(first)
    assert len(joined) == len(body) and seen[-1] == (len(body), len(body))
    assert data in joined and ('name="file"; filename="b.zip"').encode() in joined
    assert joined.startswith(b"--" + body.boundary.encode()) and b"Content-Type: application/zip" in joined
    assert b"".join(body) == joined  # a retry sends the same bytes again


def test_requests_sends_the_body_with_a_content_length_not_chunked(tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(b"x" * 5000)
    body = MultipartBody(str(path))
    prepared = requests.Request("POST", BASE, data=body, headers={"Content-Type": body.content_type}).prepare()
    assert prepared.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in prepared.headers
    assert prepared.body is body  # streamed, not read into memory


def test_a_file_that_changes_during_the_upload_is_caught(tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(b"x" * 5000)
    body = MultipartBody(str(path), chunk_size=1000)
    path.write_bytes(b"x" * 100)
    with pytest.raises(Exception, match="changed while it was being uploaded"):
        list(body)
