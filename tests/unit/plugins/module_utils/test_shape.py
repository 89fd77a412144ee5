# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The structural reader (core/shape.py): documented names first, then ids, statuses and links found by shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core import shape

BACKUP = ("backupId", "id")


@pytest.mark.parametrize("body, expected", [
    ({"backupId": "b-1", "policyId": "p-1"}, ("b-1", "backupId")),
    ({"backups": [{"backupId": "b-1"}], "totalItems": 1}, ("b-1", "backups[0].backupId")),
    ([{"id": "b-1", "cloudId": "c-1"}], ("b-1", "[0].id")),
    ({"result": {"data": {"backup_id": "b-1"}}, "cloudId": "c-1"}, ("b-1", "result.data.backup_id")),
    ({"data": [{"uuid": "x", "backupID": "b-1"}]}, ("b-1", "data[0].backupID")),
    ({"job": {"jobId": "j-1"}, "policyId": "p-1", "cloudId": "c-1"}, ("j-1", "job.jobId")),
])
def test_the_id_is_found_documented_first_then_by_shape(body, expected):
    assert shape.find_id(body, BACKUP, prefer=("backup", "job"), exclude=("p-1", "c-1"), plural=("backups",)) == \
        expected


@pytest.mark.parametrize("body", [
    {}, [], "", None, {"policyId": "p-1", "cloudId": "c-1"},        # only the request's own ids echoed
    {"first": {"jobId": "a"}, "second": {"jobId": "b"}},             # two equally good candidates: no guess
    [{"backupId": "a"}, {"backupId": "b"}],                          # a list of several is not one answer
    {"message": "accepted", "uuid": "x"},
])
def test_no_id_is_guessed(body):
    assert shape.find_id(body, BACKUP, prefer=("backup",), exclude=("p-1", "c-1"), plural=("backups",)) == \
        (None, None)


@pytest.mark.parametrize("body, expected", [
    ({"status": "IN_PROGRESS"}, "IN_PROGRESS"),
    ({"result": {"Task-State": "done"}}, "done"),
    ({"backups": [{"backupStatus": "Complete"}]}, "Complete"),
    ({"job": {"state": "running"}, "meta": {"deep": {"status": "ignored: deeper"}}}, "running"),
])
def test_a_status_is_found_under_any_spelling(body, expected):
    assert shape.find_status(body, ("status",), plural=("backups",))[0] == expected


def test_one_link_is_found_and_two_are_refused():
    status_url = "https://snap.example/api/backup/t/status/1"
    assert shape.find_url({"self": status_url, "result": {"archive": "https://snap.example/f/1.zip"}},
                          prefer=("download", "file", "archive"), exclude=(status_url,)) == \
        ("https://snap.example/f/1.zip", "result.archive")
    assert shape.find_url({"whatever": "https://snap.example/f/1.zip"}, prefer=("download",)) == \
        ("https://snap.example/f/1.zip", "whatever")
    with pytest.raises(shape.ShapeError) as info:
        shape.find_url({"a": {"fileLink": "https://x.example/1.zip"}, "b": {"fileLink": "https://x.example/2.zip"}},
                       prefer=("file",))
    assert "https://x.example/1.zip" in str(info.value) and "https://x.example/2.zip" in str(info.value)
    assert shape.find_url({"note": "see /relative/path", "count": 3}, prefer=("download",)) == (None, None)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)


@given(JSON)
def test_any_answer_is_read_without_error_and_an_id_found_is_in_it(body):
    value, path = shape.find_id(body, BACKUP, prefer=("backup",), plural=("backups",))
    assert (value is None) == (path is None)
    if value is not None:
        assert str(value) in repr(body)
    status, where = shape.find_status(body, ("status",))
    assert (status is None) == (where is None)
    try:
        url, _where = shape.find_url(body, prefer=("download",))
    except shape.ShapeError:
        return
    assert url is None or url.startswith(("http://", "https://", "HTTP", "Http", "hTTp")) or "://" in url


# ------------------------------------------------------------------ field_style: shuffled (issue 19)
@pytest.mark.parametrize("body, path", [
    ({"result": {"backupId": "b-1"}}, "result"),
    ({"data": {"job": {"backupId": "b-1"}}}, "data.job"),
    ([{"result": {"backupId": "b-1"}}], "[0].result"),
    ({"backups": [{"data": {"backupId": "b-1"}}], "count": 1}, "backups[0].data"),
    ({"backupId": "b-1", "details": {"storageId": "s-1"}}, ""),
])
def test_a_nesting_and_a_wrapper_around_it_are_unwrapped(body, path):
    obj, where = shape.unwrap(body, ("backups",))
    assert obj["backupId"] == "b-1" and where == path


def test_ids_of_other_objects_are_never_the_answers_own():
    body = {"data": {"jobId": "e-1", "backupId": "b-1", "cloudId": "c-1", "storageId": "s-1"}}
    assert shape.find_id(body, ("exportId",), prefer=("export",)) == (None, None)   # four candidates: no guess
    assert shape.find_id(body, ("exportId",), prefer=("export",),
                         references=("backupId", "cloudId", "storageId")) == ("e-1", "data.jobId")


def test_a_relative_link_counts_only_under_a_key_that_says_it_is_one():
    assert shape.find_url({"result_link": "/snap/tasks/1/file", "note": "/not/a/link"}, prefer=("link", "file"),
                          relative=True) == ("/snap/tasks/1/file", "result_link")
    assert shape.find_url({"note": "/not/a/link"}, prefer=("link",), relative=True) == (None, None)
    assert shape.find_url({"result_link": "/snap/tasks/1/file"}, prefer=("link",)) == (None, None)


@pytest.mark.parametrize("body, expected", [
    ({"backups": [], "totalItems": 3}, (3, "totalItems")),
    ({"values": [], "total_items": 4, "size": 2}, (4, "total_items")),
    ({"values": [], "size": 2}, (None, None)),          # size counts the page, not the list
    ([{"a": 1}], (None, None)),
])
def test_a_total_is_found_under_a_name_that_says_total(body, expected):
    assert shape.find_total(body, ("totalItems",)) == expected


def test_read_object_fills_in_the_documented_names_and_says_where_it_read():
    body = [{"data": {"BackupID": "b-1", "policyId": "p-1", "job-state": "completed"}}]
    obj, used = shape.read_object(body, ("backupId", "id"), ("status",), prefer=("backup",),
                                  references=("policyId",))
    assert obj["backupId"] == "b-1" and obj["status"] == "completed" and "backupId" not in body[0]["data"]
    assert used == [("id", "[0].data.BackupID"), ("status", "[0].data.job-state")]
    assert shape.read_object({"backupId": "b-1", "status": "DONE"}, ("backupId",), ("status",))[1] == []


def test_notes_warn_once_per_field_path():
    said = []
    notes = shape.Notes(said.append)
    for _poll in range(3):
        notes("The answer to GET x", [("status", "data.state")], {"status": ("status",)})
    notes("The answer to GET x", [("id", "data.jobId")])
    assert len(said) == 2 and "status at data.state, not at status" in said[0] and "data.jobId" in said[1]
