# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's backup API of the Confluence app Snapshots (RadBee), in its three shapes, over HTTP.

The vendor does not document the API's fields, so the emulator serves three shapes (docs/emulator_evidence.md,
"Snapshots app"); these tests pin each one down so that the module's tests can rely on them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import zipfile

import pytest
import requests

HEADER = "jira-snapshots-api-key"
ALL_SPACES = ["DOC", "TEAM", "ARCHIVE", "HR"]
FAIL_MESSAGE = "Export failed: the Snapshots database is being migrated"
UNAUTHORIZED = {"a": {"message": "Invalid API key"}, "file": {"message": "Invalid API key"},
                "b": {"error": "unauthorized", "error_description": "API key is not valid"}}


class Endpoint(object):
    """The suite's emulator's Snapshots endpoint: its path holds the token of the suite's config, and the key is the
    suite's canary key (both read from the emulator, so these tests follow whatever conftest sets)."""
    key = None
    path = None


API = Endpoint()


@pytest.fixture(autouse=True)
def api(emulator):
    config = emulator.state()["config"]
    API.key = config["snapshots_api_keys"][0]
    API.path = "/snapshots/api/backup/" + config["snapshots_endpoint_token"]
    return API


def endpoint(emulator):
    return emulator.url + API.path


def headers(key=True, pat=None):
    """The key header (``True``: the right key, ``None``: no header) and an optional Bearer PAT."""
    out = {} if key is None else {HEADER: API.key if key is True else key}
    if pat is not None:
        out["Authorization"] = "Bearer " + pat
    return out


def trigger(emulator, spaces=None, key=True, pat=None, **kwargs):
    if spaces is not None:
        kwargs["json"] = {"spaceKeys": spaces}
    return requests.post(endpoint(emulator), headers=headers(key, pat), timeout=60, **kwargs)


def get(url, key=True, pat=None, **kwargs):
    return requests.get(url, headers=headers(key, pat), timeout=60, **kwargs)


def snapshots(emulator):
    return emulator.state()["snapshots"]


def read_zip(data):
    """(member names, the parsed snapshots.json, the size of history.bin)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        document = json.loads(archive.read("snapshots.json").decode("utf-8"))
        assert archive.read("macros.csv").decode("utf-8").startswith("spaceKey,pageId,macroId,")
        return names, document, archive.getinfo("history.bin").file_size


def poll_a(url, times):
    return [get(url).json() for index in range(times)]


# ------------------------------------------------------------------ shape a
def test_shape_a_full_flow(emulator):
    created = trigger(emulator, ["DOC", "TEAM"])
    assert created.status_code == 202
    body = created.json()
    assert set(body) == {"taskId", "status"} and body["status"] == "QUEUED"
    status_url = created.headers["Location"]
    assert status_url == endpoint(emulator) + "/tasks/" + body["taskId"]
    answers = poll_a(status_url, 3)
    assert [a["status"] for a in answers] == ["RUNNING", "RUNNING", "COMPLETED"]
    assert [a["progress"] for a in answers] == [0, 50, 100]
    assert all("downloadUrl" not in a and "error" not in a for a in answers[:2])
    done = answers[2]
    assert done["taskId"] == body["taskId"]
    assert done["downloadUrl"] == status_url + "/download" and done["downloadUrl"].startswith(emulator.url + "/")
    download = get(done["downloadUrl"])
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/zip"
    assert int(download.headers["Content-Length"]) == len(download.content)
    assert download.headers["Content-Disposition"] == 'attachment; filename="snapshots-export.zip"'
    names, document, history = read_zip(download.content)
    assert names == ["snapshots.json", "macros.csv", "history.bin"] and history == 64 * 1024
    assert document["spaces"] == ["DOC", "TEAM"] and document["taskId"] == body["taskId"]
    assert document["site"] == "example.atlassian.net" and document["exportedAt"].endswith("Z")
    assert {r["spaceKey"] for r in document["snapshots"]} == {"DOC", "TEAM"}
    # Range is honoured (optional for clients).
    part = requests.get(done["downloadUrl"], headers=dict(headers(), Range="bytes=10-109"), timeout=60)
    assert part.status_code == 206 and part.content == download.content[10:110]
    assert part.headers["Content-Range"] == "bytes 10-109/%d" % len(download.content)
    state = snapshots(emulator)
    assert state["posts"] == 1 and state["downloads"] == 2 and state["endpoint"] == endpoint(emulator)
    task = state["tasks"][0]
    assert task["id"] == body["taskId"] and task["shape"] == "a" and task["status"] == "COMPLETED"
    assert task["spaces"] == ["DOC", "TEAM"] and task["polls"] == 2 and task["polled"] == 2
    assert task["sha256"] == hashlib.sha256(download.content).hexdigest()
    assert [(r["method"], r["key_header_present"], r["authorization"], r["status"]) for r in state["requests"]] == \
        [("POST", True, "none", 202)] + [("GET", True, "none", 200)] * 4 + [("GET", True, "none", 206)]


# ------------------------------------------------------------------ shape b
def test_shape_b_full_flow(emulator):
    emulator.reset(snapshots_shape="b")
    created = trigger(emulator)                         # no body: all spaces
    assert created.status_code == 200 and "Location" not in created.headers
    body = created.json()
    assert set(body) == {"id", "state", "links"} and body["state"] == "pending"
    status_url = body["links"]["status"]
    assert status_url == endpoint(emulator) + "/exports/" + body["id"]
    answers = [get(status_url).json() for index in range(3)]
    assert [a["state"] for a in answers] == ["in_progress", "in_progress", "done"]
    assert all(set(a) == {"id", "state", "message"} for a in answers[:2])
    done = answers[2]
    assert done["id"] == body["id"] and done["message"] == "The export is ready"
    assert done["result"] == {"file": API.path + "/exports/%s/file" % body["id"]}
    # The status URL still answers JSON once done.
    assert get(status_url).json() == done
    session = requests.Session()
    redirect = session.get(emulator.url + done["result"]["file"], headers=headers(), allow_redirects=False,
                           timeout=60)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(emulator.media_url + "/file/%s/binary?token=" % body["id"])
    media = session.get(location, timeout=60)           # the client does not forward the key
    assert media.status_code == 200 and media.headers["Content-Type"] == "application/zip"
    assert int(media.headers["Content-Length"]) == len(media.content)
    document = read_zip(media.content)[1]
    assert document["spaces"] == ALL_SPACES and document["taskId"] == body["id"]
    state = emulator.state()
    entry = state["media_log"][-1]
    assert entry["status"] == 200 and entry["authorization"] is False
    assert HEADER not in entry["header_names"] and "authorization" not in entry["header_names"]
    task = state["snapshots"]["tasks"][0]
    assert task["shape"] == "b" and task["word"] == "done" and task["status"] == "COMPLETED"
    assert task["sha256"] == hashlib.sha256(media.content).hexdigest() and state["snapshots"]["downloads"] == 1


def test_shape_b_media_host_gets_no_key(emulator):
    """A client that forwarded the key would show it here: the log records header names, never values."""
    emulator.reset(snapshots_shape="b", snapshots_task_polls=0)
    status_url = trigger(emulator, ["HR"]).json()["links"]["status"]
    file_url = emulator.url + get(status_url).json()["result"]["file"]
    session = requests.Session()
    redirect = session.get(file_url, headers=headers(), allow_redirects=False, timeout=60)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith(emulator.media_url)
    clean = session.get(redirect.headers["Location"], timeout=60)
    # A client that forwards the key header (never Authorization: the suite's guard forbids it at the media host).
    leaky = session.get(redirect.headers["Location"], headers=headers(), timeout=60)
    assert clean.status_code == leaky.status_code == 200 and clean.content == leaky.content
    first, second = emulator.state()["media_log"][-2:]
    assert HEADER not in first["header_names"] and "authorization" not in first["header_names"]
    assert HEADER in second["header_names"] and "authorization" not in second["header_names"]
    assert not any(API.key in json.dumps(e) for e in (first, second))
    # The file link needs the key like every request to the endpoint; the media link only its token.
    assert get(file_url, key=None, allow_redirects=False).status_code == 401


# --------------------------------------------------------------- shape file
def test_shape_file_answers_the_zip(emulator):
    emulator.reset(snapshots_shape="file")
    answer = trigger(emulator, ["ARCHIVE"])
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="snapshots-export.zip"'
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    document, history = read_zip(answer.content)[1:]
    assert document["spaces"] == ["ARCHIVE"] and history == 64 * 1024
    all_spaces = trigger(emulator, json={})
    assert read_zip(all_spaces.content)[1]["spaces"] == ALL_SPACES
    state = snapshots(emulator)
    assert state["posts"] == 2 and state["downloads"] == 2
    assert [t["shape"] for t in state["tasks"]] == ["file", "file"]
    assert all(t["status"] == "COMPLETED" for t in state["tasks"])


# -------------------------------------------------------------------- auth
@pytest.mark.parametrize("shape", ["a", "b", "file"])
def test_wrong_or_missing_key_is_401(emulator, shape):
    emulator.reset(snapshots_shape=shape)
    for key in ("snap-key-wrong", None, ""):
        answer = trigger(emulator, ["DOC"], key=key)
        assert answer.status_code == 401 and answer.json() == UNAUTHORIZED[shape]
    # Another header name does not count.
    other = requests.post(endpoint(emulator), headers={"X-Api-Key": API.key}, timeout=60)
    assert other.status_code == 401
    state = snapshots(emulator)
    assert state["posts"] == 4 and state["tasks"] == [] and state["downloads"] == 0
    assert [r["key_header_present"] for r in state["requests"]] == [True, False, True, False]


def test_status_and_download_need_the_key(emulator):
    placed = emulator.snapshots_task(status="COMPLETED", spaces=["DOC"])
    assert get(placed["statusUrl"], key="wrong").status_code == 401
    assert get(placed["downloadUrl"], key=None).json() == {"message": "Invalid API key"}
    assert get(placed["downloadUrl"]).status_code == 200


def test_pat_required(emulator):
    emulator.reset(snapshots_require_pat=True, snapshots_pats=["pat-1234567890"])
    for pat in (None, "wrong-pat"):
        refused = trigger(emulator, ["DOC"], pat=pat)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert refused.json() == {"message": "Invalid or missing personal access token"}
    assert trigger(emulator, ["DOC"], key="wrong", pat="pat-1234567890").json() == {"message": "Invalid API key"}
    created = trigger(emulator, ["DOC"], pat="pat-1234567890")
    assert created.status_code == 202
    status_url = created.headers["Location"]
    assert get(status_url).status_code == 401
    assert get(status_url, pat="pat-1234567890").json()["status"] == "RUNNING"
    kinds = [r["authorization"] for r in snapshots(emulator)["requests"]]
    assert kinds == ["none", "bearer", "bearer", "bearer", "none", "bearer"]


def test_pat_not_required_by_default(emulator):
    assert trigger(emulator, ["DOC"], pat="anything").status_code == 202
    assert trigger(emulator, ["DOC"]).status_code == 202


# --------------------------------------------------------------- the body
@pytest.mark.parametrize("shape", ["a", "b", "file"])
def test_unknown_space_is_400(emulator, shape):
    emulator.reset(snapshots_shape=shape)
    answer = trigger(emulator, ["DOC", "NOPE", "GONE"])
    assert answer.status_code == 400
    body = answer.json()
    if shape == "b":
        assert body == {"error": "invalid_request", "error_description": "Unknown space keys: NOPE, GONE",
                        "unknown_space_keys": ["NOPE", "GONE"]}
    else:
        assert body == {"message": "Unknown space keys: NOPE, GONE", "unknownSpaceKeys": ["NOPE", "GONE"]}
    assert snapshots(emulator)["tasks"] == []


def test_bad_bodies_are_400(emulator):
    assert trigger(emulator, []).status_code == 400
    assert trigger(emulator, json={"spaceKeys": "DOC"}).status_code == 400
    assert trigger(emulator, data="not json").status_code == 400
    assert requests.post(endpoint(emulator), headers=dict(headers(), **{"Content-Type": "application/json"}),
                         data="{not json", timeout=60).status_code == 400
    assert trigger(emulator, json=["DOC"]).status_code == 400
    assert snapshots(emulator)["tasks"] == []
    # Duplicates count once; an empty object means all spaces.
    assert trigger(emulator, ["DOC", "DOC"]).status_code == 202
    assert trigger(emulator, json={}).status_code == 202
    assert [t["spaces"] for t in snapshots(emulator)["tasks"]] == [["DOC"], ALL_SPACES]


# ------------------------------------------------------------------ timing
def test_polls_drive_completion(emulator):
    emulator.reset(snapshots_task_polls=5)
    status_url = trigger(emulator, ["DOC"]).headers["Location"]
    emulator.control("advance", {"seconds": 86400})     # the clock does not matter
    answers = poll_a(status_url, 6)
    assert [a["status"] for a in answers] == ["RUNNING"] * 5 + ["COMPLETED"]
    assert [a["progress"] for a in answers] == [0, 20, 40, 60, 80, 100]
    emulator.reset(snapshots_task_polls=0)
    assert get(trigger(emulator, ["DOC"]).headers["Location"]).json()["status"] == "COMPLETED"
    emulator.reset(snapshots_task_polls=None)
    assert get(trigger(emulator, ["DOC"]).headers["Location"]).json()["status"] == "COMPLETED"


def test_never_finish(emulator):
    emulator.reset(snapshots_never_finish=True)
    status_url = trigger(emulator, ["DOC"]).headers["Location"]
    answers = poll_a(status_url, 25)
    assert all(a["status"] == "RUNNING" and "downloadUrl" not in a for a in answers)
    assert max(a["progress"] for a in answers) <= 99
    refused = get(status_url + "/download")
    assert refused.status_code == 409 and refused.json() == {"message": "The export is not ready: the task is RUNNING"}
    emulator.reset(snapshots_never_finish=True, snapshots_shape="b")
    status_url = trigger(emulator).json()["links"]["status"]
    assert {get(status_url).json()["state"] for index in range(10)} == {"in_progress"}
    assert get(status_url + "/file", allow_redirects=False).status_code == 409
    assert snapshots(emulator)["tasks"][0]["polled"] == 10


def test_failure(emulator):
    emulator.reset(snapshots_fail=True)
    status_url = trigger(emulator, ["DOC"]).headers["Location"]
    answers = poll_a(status_url, 4)
    assert [a["status"] for a in answers] == ["RUNNING", "RUNNING", "FAILED", "FAILED"]
    assert answers[2] == {"taskId": answers[2]["taskId"], "status": "FAILED", "progress": 50, "error": FAIL_MESSAGE}
    assert get(status_url + "/download").status_code == 409
    emulator.reset(snapshots_fail=True, snapshots_shape="b", snapshots_task_polls=1)
    status_url = trigger(emulator).json()["links"]["status"]
    states = [get(status_url).json() for index in range(2)]
    assert states[0]["state"] == "in_progress"
    assert states[1] == {"id": states[1]["id"], "state": "error", "message": FAIL_MESSAGE}
    emulator.reset(snapshots_fail=True, snapshots_shape="file", snapshots_fail_message="quota exceeded")
    failed = trigger(emulator, ["DOC"])
    assert failed.status_code == 500 and failed.json() == {"message": "quota exceeded"}
    assert snapshots(emulator)["tasks"][0]["status"] == "FAILED"


# -------------------------------------------------------------- the export
def test_zip_lists_the_selected_spaces(emulator):
    emulator.reset(snapshots_task_polls=0, snapshots_zip_size=200 * 1024, snapshots_site="acme.atlassian.net")
    contents = []
    for spaces in (["HR"], ["TEAM", "DOC"], None):
        created = trigger(emulator, spaces)
        done = get(created.headers["Location"]).json()
        data = get(done["downloadUrl"]).content
        document, history = read_zip(data)[1:]
        assert document["spaces"] == (spaces or ALL_SPACES) and history == 200 * 1024
        assert document["site"] == "acme.atlassian.net"
        assert sorted({r["spaceKey"] for r in document["snapshots"]}) == sorted(spaces or ALL_SPACES)
        assert get(done["downloadUrl"]).content == data     # deterministic per task
        contents.append(data)
    # The same selection twice still gives two different exports.
    again = get(get(trigger(emulator, ["HR"]).headers["Location"]).json()["downloadUrl"]).content
    assert len({hashlib.sha256(c).hexdigest() for c in contents + [again]}) == 4


# ----------------------------------------------------------------- routing
def test_paths_and_methods(emulator):
    placed = emulator.snapshots_task(status="COMPLETED")
    assert requests.get(endpoint(emulator), headers=headers(), timeout=60).status_code == 405
    assert requests.post(placed["statusUrl"], headers=headers(), timeout=60).status_code == 405
    assert get(endpoint(emulator) + "/tasks/0000-unknown").json() == {"message": "Task not found"}
    assert get(endpoint(emulator) + "/nothing/here").status_code == 404
    # A task of shape a is not served under the paths of shape b.
    assert get(placed["statusUrl"].replace("/tasks/", "/exports/")).status_code == 404
    # The endpoint follows the config at every request; other paths keep their own answers.
    wrong = requests.post(emulator.url + API.path[:-1], headers=headers(), timeout=60)   # a token one short
    assert wrong.status_code == 404
    emulator.reset(snapshots_endpoint_token="a1b2c3", snapshots_path="/rb/{token}/backup")
    assert trigger(emulator, ["DOC"]).status_code == 404
    moved = requests.post(emulator.url + "/rb/a1b2c3/backup", headers=headers(), timeout=60)
    assert moved.status_code == 202 and moved.headers["Location"].startswith(emulator.url + "/rb/a1b2c3/backup/tasks/")
    assert requests.get(emulator.url + "/wiki/rest/obm/1.0/getprogress", timeout=60).status_code != 404


def test_key_header_name_is_configurable(emulator):
    emulator.reset(snapshots_key_header="X-Snapshots-Key", snapshots_api_keys=["k1", "k2"])
    assert trigger(emulator, ["DOC"], key="k1").status_code == 401
    assert requests.post(endpoint(emulator), headers={"x-snapshots-key": "k2"}, timeout=60).status_code == 202


# ------------------------------------------------------------ test control
def test_control_route_places_tasks(emulator):
    done = emulator.snapshots_task(status="COMPLETED", spaces=["HR", "DOC"])
    assert set(done) == {"id", "shape", "status", "statusUrl", "downloadUrl"} and done["status"] == "COMPLETED"
    assert done["statusUrl"] == endpoint(emulator) + "/tasks/" + done["id"]
    assert get(done["statusUrl"]).json()["downloadUrl"] == done["downloadUrl"]
    assert read_zip(get(done["downloadUrl"]).content)[1]["spaces"] == ["HR", "DOC"]
    running = emulator.snapshots_task(status="RUNNING", polls=1)
    assert [a["status"] for a in poll_a(running["statusUrl"], 2)] == ["RUNNING", "COMPLETED"]
    failed = emulator.snapshots_task(status="FAILED", error="boom")
    assert get(failed["statusUrl"]).json()["error"] == "boom"
    placed_b = emulator.snapshots_task(status="done", shape="b")
    assert placed_b["statusUrl"].endswith("/exports/" + placed_b["id"]) and placed_b["downloadUrl"].endswith("/file")
    assert get(placed_b["statusUrl"]).json()["state"] == "done"
    with pytest.raises(requests.HTTPError):
        emulator.snapshots_task(status="COMPLETED", spaces=["NOPE"])
    with pytest.raises(requests.HTTPError):
        emulator.snapshots_task(status="COMPLETED", shape="file")
    state = snapshots(emulator)
    assert state["posts"] == 0 and len(state["tasks"]) == 4
    assert [t["status"] for t in state["tasks"]] == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"]
