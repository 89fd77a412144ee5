# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Snapshots app: the tolerant readers of its answers, the space CSV, and where the key may go."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import responses

from ansible_collections.atlassian_ops.backup.plugins.module_utils.snapshots import api as snap
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianClient
from ansible_collections.atlassian_ops.backup.plugins.module_utils.confluence.spaces import read_space_csv
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

ENDPOINT = "https://snapshots.example.test/api/backup/s3cr3tpath"
KEY = "snap-key-0123456789"


def client():
    return AtlassianClient(ENDPOINT, auth_headers={"jira-snapshots-api-key": KEY}, retries=0, sleep=lambda s: None)


@pytest.mark.parametrize("word,state", [
    ("COMPLETED", snap.DONE), ("done", snap.DONE), ("Success", snap.DONE), ("finished", snap.DONE),
    ("FAILED", snap.FAILED), ("error", snap.FAILED), ("Cancelled", snap.FAILED),
    ("RUNNING", snap.RUNNING), ("in progress", snap.RUNNING), ("QUEUED", snap.RUNNING), (None, snap.RUNNING),
    ("something new", snap.RUNNING),
])
def test_status_words_in_any_case(word, state):
    assert snap.normalize_status(word) == state


@pytest.mark.parametrize("doc,location,task_id,status_url", [
    ({"taskId": "t1", "status": "QUEUED"}, "/api/backup/s3cr3tpath/tasks/t1", "t1",
     "https://snapshots.example.test/api/backup/s3cr3tpath/tasks/t1"),
    ({"id": 7, "state": "pending", "links": {"status": "https://snapshots.example.test/jobs/7"}}, None, 7,
     "https://snapshots.example.test/jobs/7"),
    ({"task_id": "x", "statusUrl": "tasks/x"}, None, "x", "https://snapshots.example.test/api/backup/tasks/x"),
    ({"jobId": "j"}, None, "j", None),
])
def test_tasks_in_every_spelling(doc, location, task_id, status_url):
    task = snap.SnapshotsApi.read_task(doc, location, ENDPOINT)
    assert task["id"] == task_id and task["status_url"] == status_url


@responses.activate
def test_a_task_without_a_status_url_fails_quoting_the_body_without_the_key():
    responses.add(responses.POST, ENDPOINT, json={"jobId": "j", "note": "key was %s" % KEY}, status=202)
    with pytest.raises(snap.SnapshotsApiError) as info:
        snap.SnapshotsApi(client(), ENDPOINT).start(None)
    assert "names no status URL" in info.value.message and KEY not in info.value.message and "jobId" in info.value.message


@responses.activate
def test_the_post_sends_the_selection_and_the_key_to_the_endpoint_only():
    responses.add(responses.POST, ENDPOINT, json={"taskId": "t1"}, status=202,
                  headers={"Location": "https://snapshots.example.test/tasks/t1"})
    kind, task = snap.SnapshotsApi(client(), ENDPOINT).start(["DOC", "TEAM"])
    assert kind == "task" and task["status_url"] == "https://snapshots.example.test/tasks/t1"
    request = responses.calls[0].request
    assert request.body in (b'{"spaceKeys": ["DOC", "TEAM"]}', '{"spaceKeys": ["DOC", "TEAM"]}')
    assert request.headers["jira-snapshots-api-key"] == KEY and "Authorization" not in request.headers
    other = client()
    assert "jira-snapshots-api-key" not in other.headers_for("https://storage.example.net/file?sig=1")
    assert other.headers_for(ENDPOINT + "/tasks/1")["jira-snapshots-api-key"] == KEY


@responses.activate
def test_an_answer_that_is_the_file_is_taken_as_is():
    responses.add(responses.POST, ENDPOINT, body=b"PK\x03\x04rest", content_type="application/zip")
    kind, response = snap.SnapshotsApi(client(), ENDPOINT).start(None)
    assert kind == "file" and response.status_code == 200


@responses.activate
@pytest.mark.parametrize("doc,state,url", [
    ({"status": "COMPLETED", "downloadUrl": "/dl/1"}, snap.DONE, "https://snapshots.example.test/dl/1"),
    ({"state": "done", "result": {"file": "file"}}, snap.DONE, "https://snapshots.example.test/tasks/file"),
    ({"state": "in_progress", "progress": 40}, snap.RUNNING, None),
    ({"url": "https://storage.example.net/x.zip"}, snap.DONE, "https://storage.example.net/x.zip"),
    ({"status": "FAILED", "error": "disk full"}, snap.FAILED, None),
])
def test_poll_readings(doc, state, url):
    status_url = "https://snapshots.example.test/tasks/1"
    responses.add(responses.GET, status_url, json=doc)
    view = snap.SnapshotsApi(client(), ENDPOINT).poll(status_url)
    assert view["state"] == state and view["download_url"] == url
    if state == snap.FAILED:
        assert view["message"] == "disk full"


@responses.activate
def test_a_status_url_that_answers_the_zip_is_the_download():
    status_url = "https://snapshots.example.test/tasks/1"
    responses.add(responses.GET, status_url, body=b"PK\x03\x04", content_type="application/octet-stream")
    view = snap.SnapshotsApi(client(), ENDPOINT).poll(status_url)
    assert view["state"] == snap.DONE and view["download_url"] == status_url


@responses.activate
def test_html_is_an_error_that_quotes_it():
    responses.add(responses.POST, ENDPOINT, body="<html>Sign in</html>", content_type="text/html")
    with pytest.raises(snap.SnapshotsApiError, match="neither JSON nor a zip.*Sign in"):
        snap.SnapshotsApi(client(), ENDPOINT).start(None)


# ------------------------------------------------------------------ the CSV
def write(tmp_path, text):
    path = tmp_path / "spaces.csv"
    path.write_text(text)
    return str(path)


def test_a_csv_with_a_header_blank_lines_and_a_bom(tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_bytes(u"\ufeffSpace Key\r\nDOC\r\n\r\n  TEAM  \r\n~jdoe\r\n".encode("utf-8"))
    assert read_space_csv(str(path)) == ["DOC", "TEAM", "~jdoe"]


def test_every_bad_line_is_reported(tmp_path):
    with pytest.raises(TaskFailed) as info:
        read_space_csv(write(tmp_path, "DOC\nbad key\nDOC\nA,B\nTEAM\n"))
    msg = info.value.msg
    assert "line 2: 'bad key' is not a space key" in msg and "line 3: DOC repeats line 1" in msg
    assert "line 4 has 2 values" in msg and "Nothing was sent" in msg


@pytest.mark.parametrize("text", ["", "\n\n", "key\n", " , \n"])
def test_an_empty_csv_is_refused(tmp_path, text):
    with pytest.raises(TaskFailed, match="holds no space key"):
        read_space_csv(write(tmp_path, text))


def test_a_missing_or_binary_csv_is_refused(tmp_path):
    with pytest.raises(TaskFailed, match="cannot be read"):
        read_space_csv(str(tmp_path / "none.csv"))
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xff\xfe\x00D\x00O")
    with pytest.raises(TaskFailed, match="not UTF-8"):
        read_space_csv(str(path))


@responses.activate
def test_a_redirect_from_the_post_is_the_status_url_and_from_the_status_the_download():
    responses.add(responses.POST, ENDPOINT, status=303, headers={"Location": "/api/tasks/9"})
    kind, task = snap.SnapshotsApi(client(), ENDPOINT).start(None)
    assert kind == "task" and task["status_url"] == "https://snapshots.example.test/api/tasks/9"
    responses.add(responses.GET, task["status_url"], status=302, headers={"Location": "https://storage.example.net/z"})
    view = snap.SnapshotsApi(client(), ENDPOINT).poll(task["status_url"])
    assert view["state"] == snap.DONE and view["download_url"] == "https://storage.example.net/z"
    assert responses.calls[0].request.headers["Accept-Encoding"] == "identity"


@responses.activate
def test_a_post_that_answers_a_ready_export_goes_straight_to_the_download():
    responses.add(responses.POST, ENDPOINT, json={"status": "COMPLETED", "downloadUrl": "/files/1.zip"})
    kind, task = snap.SnapshotsApi(client(), ENDPOINT).start(["DOC"])
    assert kind == "done" and task["download_url"] == "https://snapshots.example.test/files/1.zip"


def test_capital_header_words_are_space_keys_and_lines_are_physical(tmp_path):
    assert read_space_csv(write(tmp_path, "KEY\nDOC\n")) == ["KEY", "DOC"]
    with pytest.raises(TaskFailed, match="line 3: 'TE AM' is not a space key"):
        read_space_csv(write(tmp_path, '"DOC\n"\nTE AM\n'))


def test_a_csv_the_csv_module_cannot_read_is_refused_with_its_line(tmp_path):
    import csv
    old = csv.field_size_limit(64)
    try:
        with pytest.raises(TaskFailed, match="cannot be read as CSV at line 2"):
            read_space_csv(write(tmp_path, "DOC\n%s\n" % ("A" * 100)))
    finally:
        csv.field_size_limit(old)
