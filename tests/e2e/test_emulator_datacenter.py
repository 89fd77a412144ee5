# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's Confluence Data Center backup & restore REST API, over HTTP (docs/emulator_evidence.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import re
import zipfile

import pytest
import requests

from conftest import DC_ADMIN, DC_PASSWORD, DC_PAT, DC_USER, DC_USER_PASSWORD

# The suite's emulator (conftest) has canary credentials for the Data Center users.
ADMIN = (DC_ADMIN, DC_PASSWORD)
JDOE = (DC_USER, DC_USER_PASSWORD)
PAT = DC_PAT
PREFIX = "/confluence/rest/api/backup-restore"
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
JOB_KEYS = {"id", "jobOperation", "jobScope", "jobState", "createTime", "startProcessingTime", "finishProcessingTime",
            "cancelTime", "errorMessage", "owner", "cancelledBy", "fileName", "spaceKeys", "fileDeleteTime", "fileExists"}
DAY = 86400


# The emulator's own defaults for what the suite's emulator (conftest) sets otherwise.
DEFAULTS = {"dc_job_polls": None, "dc_backup_size": 1024 * 1024, "dc_space_permissions": {DC_USER: ["TEAM"]}}


@pytest.fixture(autouse=True)
def emulator_defaults(emulator):
    emulator.reset(**DEFAULTS)


def reset(emulator, **config):
    """Reset with the emulator's defaults, then ``config``."""
    emulator.reset(**dict(DEFAULTS, **config))


def call(emulator, method, path, auth=ADMIN, prefix=PREFIX, **kwargs):
    return requests.request(method, emulator.url + prefix + path, auth=auth, timeout=60, **kwargs)


def site_backup(emulator, auth=ADMIN, **body):
    data = {"skipAttachments": False, "keepPermanently": False}
    data.update(body)
    return call(emulator, "POST", "/backup/site", auth=auth, json=data)


def space_backup(emulator, keys, auth=ADMIN, **body):
    data = {"spaceKeys": keys, "keepPermanently": False}
    data.update(body)
    return call(emulator, "POST", "/backup/space", auth=auth, json=data)


def job(emulator, job_id, auth=ADMIN):
    return call(emulator, "GET", "/jobs/%d" % job_id, auth=auth).json()


def dc(emulator):
    return emulator.state()["dc"]


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status and body["message"] == message, body
    assert body["data"]["successful"] is False and body["data"]["errors"] == []
    return body


def zip_bytes(export_type="all", keys=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("entities.xml", "<hibernate-generic/>\n")
        lines = ["exportType=%s" % export_type] + (["spaceKeys=%s" % ",".join(keys)] if keys else [])
        archive.writestr("exportDescriptor.properties", "\n".join(lines) + "\n")
    return buf.getvalue()


def upload(emulator, scope, data, token="no-check", name="backup.zip", auth=ADMIN):
    headers = {} if token is None else {"X-Atlassian-Token": token}
    return call(emulator, "POST", "/restore/%s/upload" % scope, auth=auth, headers=headers,
                files={"file": (name, data, "application/zip")})


def multipart(data, name="backup.zip", boundary="emulatorboundary0123"):
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\nContent-Type: application/zip'
            '\r\n\r\n' % (boundary, name)).encode()
    return head + data + ("\r\n--%s--\r\n" % boundary).encode(), "multipart/form-data; boundary=" + boundary


# ------------------------------------------------------------- base and auth
def test_context_path_only(emulator):
    assert call(emulator, "GET", "/jobs").json() == []
    assert call(emulator, "GET", "/jobs", prefix="/rest/api/backup-restore").status_code == 404
    assert call(emulator, "GET", "/jobs", prefix="/other/rest/api/backup-restore").status_code == 404
    reset(emulator, dc_context_path="")
    assert call(emulator, "GET", "/jobs", prefix="/rest/api/backup-restore").status_code == 200
    assert call(emulator, "GET", "/jobs").status_code == 404


def test_basic_and_bearer_auth(emulator):
    created = call(emulator, "POST", "/backup/site", auth=None, headers={"Authorization": "Bearer " + PAT},
                   json={"skipAttachments": True, "keepPermanently": False})
    assert created.status_code == 200 and created.json()["owner"] == "admin"
    assert call(emulator, "GET", "/jobs", auth=JDOE).status_code == 200
    for auth, headers in ((("admin", "wrong"), {}), (None, {"Authorization": "Bearer not-a-pat"}), (None, {})):
        response = call(emulator, "GET", "/jobs", auth=auth, headers=headers)
        body = assert_error(response, 401, "Client must be authenticated to access this resource.")
        assert body["data"]["authorized"] is False
    kinds = [r.get("auth") for r in dc(emulator)["requests"]]
    assert kinds == ["bearer", "basic", "basic", "bearer", None]


# ---------------------------------------------------------------- creating
def test_site_backup_needs_sysadmin(emulator):
    body = assert_error(site_backup(emulator, auth=JDOE), 403, "user doesn't have permission to create site backups")
    assert body["data"]["authorized"] is False
    state = dc(emulator)
    assert state["jobs"] == [] and state["writes"] == 1


def test_invalid_settings(emulator):
    bad = [("/backup/site", {"skipAttachments": False}),
           ("/backup/site", {"skipAttachments": False, "keepPermanently": False, "extra": 1}),
           ("/backup/site", {"skipAttachments": "no", "keepPermanently": False}),
           ("/backup/space", {"spaceKeys": ["DOC"]}),
           ("/backup/space", {"spaceKeys": [], "keepPermanently": False}),
           ("/backup/space", {"keepPermanently": False}),
           ("/backup/space", {"spaceKeys": ["NOPE"], "keepPermanently": False}),
           ("/backup/space", {"spaceKeys": "DOC", "keepPermanently": False})]
    for path, body in bad:
        answer = assert_error(call(emulator, "POST", path, json=body), 400, "invalid settings provided")
        assert answer["data"]["valid"] is False
    assert call(emulator, "POST", "/backup/site", data="{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert dc(emulator)["jobs"] == []


def test_space_backup_permissions(emulator):
    mine = space_backup(emulator, ["TEAM"], auth=JDOE)
    assert mine.status_code == 200 and mine.json()["owner"] == "jdoe" and mine.json()["spaceKeys"] == "TEAM"
    assert_error(space_backup(emulator, ["TEAM", "DOC"], auth=JDOE), 403,
                 "user doesn't have permission to create space backups")


def test_space_backup_conflict(emulator):
    first = space_backup(emulator, ["DOC", "HR"]).json()
    assert first["spaceKeys"] == "DOC,HR"
    assert_error(space_backup(emulator, ["HR"]), 409,
                 "backup with the same spaces selected is already in PROGRESS or QUEUED")
    assert space_backup(emulator, ["ARCHIVE"]).status_code == 200
    assert site_backup(emulator).status_code == 200 and site_backup(emulator).status_code == 200
    emulator.control("advance", {"seconds": 60})
    assert space_backup(emulator, ["HR"]).status_code == 200


# ------------------------------------------------------------------- queue
def test_one_job_at_a_time_in_creation_order(emulator):
    reset(emulator, dc_job_polls=2)
    ids = [site_backup(emulator).json()["id"], space_backup(emulator, ["DOC"]).json()["id"],
           site_backup(emulator).json()["id"]]
    assert ids == sorted(ids)
    seen = []
    for _round in range(12):
        listed = call(emulator, "GET", "/jobs").json()
        states = dict((j["id"], j["jobState"]) for j in listed)
        seen.append(tuple(states[i] for i in ids))
        assert list(states.values()).count("PROCESSING") <= 1
    assert seen[0] == ("PROCESSING", "QUEUED", "QUEUED")
    assert seen[1] == ("PROCESSING", "QUEUED", "QUEUED")
    assert seen[2] == ("FINISHED", "PROCESSING", "QUEUED")
    assert seen[4] == ("FINISHED", "FINISHED", "PROCESSING")
    assert seen[6] == ("FINISHED", "FINISHED", "FINISHED")
    jobs = [job(emulator, i) for i in ids]
    assert jobs[0]["finishProcessingTime"] <= jobs[1]["startProcessingTime"] <= jobs[1]["finishProcessingTime"]


def test_placed_job_runs_until_polled(emulator):
    placed = emulator.dc_job(state="PROCESSING", polls=3, scope="SPACE", spaceKeys=["HR"])
    emulator.control("advance", {"seconds": 7 * DAY})
    states = [job(emulator, placed["id"])["jobState"] for _poll in range(4)]
    assert states == ["PROCESSING", "PROCESSING", "PROCESSING", "FINISHED"]
    assert dc(emulator)["jobs"][0]["internal"]["polled"] == 3


def test_clock_driven_processing(emulator):
    # Long enough that real time between the requests never matters; the emulator's clock is moved instead.
    reset(emulator, dc_backup_seconds=1000)
    created = site_backup(emulator).json()
    assert created["jobState"] == "PROCESSING" and created["fileExists"] is False
    emulator.control("advance", {"seconds": 500})
    assert job(emulator, created["id"])["jobState"] == "PROCESSING"
    emulator.control("advance", {"seconds": 600})
    done = job(emulator, created["id"])
    assert done["jobState"] == "FINISHED" and done["fileExists"] is True
    assert done["finishProcessingTime"] > done["startProcessingTime"]


def test_in_progress_word(emulator):
    reset(emulator, dc_processing_word="IN_PROGRESS", dc_job_polls=5)
    created = site_backup(emulator).json()
    assert created["jobState"] == "IN_PROGRESS"
    for query in ("jobStates=PROCESSING", "jobStates=IN_PROGRESS"):
        listed = call(emulator, "GET", "/jobs?" + query).json()
        assert [j["id"] for j in listed] == [created["id"]]


def test_job_details_shape(emulator):
    finished = emulator.dc_job(scope="SPACE", spaceKeys=["DOC", "TEAM"], age_seconds=600)
    failed = emulator.dc_job(state="FAILED", errorMessage="Confluence was restarted", age_seconds=300)
    kept = emulator.dc_job(keepPermanently=True, age_seconds=60)
    for doc in (finished, failed, kept):
        view = job(emulator, doc["id"])
        assert set(view) <= JOB_KEYS and isinstance(view["id"], int)
        assert all(ISO.match(view[k]) for k in view if k.endswith("Time")), view
        assert None not in view.values()
    assert finished["spaceKeys"] == "DOC,TEAM" and finished["fileExists"] is True
    assert finished["fileName"].startswith("backup-space-") and finished["fileName"].endswith(".zip")
    assert failed["jobState"] == "FAILED" and failed["errorMessage"] == "Confluence was restarted"
    assert failed["fileExists"] is False and "spaceKeys" not in failed
    assert "fileDeleteTime" not in kept and "cancelTime" not in kept
    names = [site_backup(emulator, fileNamePrefix="nightly-").json()["fileName"] for _i in range(2)]
    assert len(set(names)) == 2 and all(n.startswith("nightly-backup-site-") for n in names)


# ------------------------------------------------------------------ cancel
def test_cancel(emulator):
    reset(emulator, dc_job_polls=5)
    running = site_backup(emulator).json()
    queued = site_backup(emulator).json()
    done = emulator.dc_job(age_seconds=100)
    cancelled = call(emulator, "PUT", "/jobs/%d/cancel" % queued["id"]).json()
    assert cancelled["jobState"] == "CANCELLED" and cancelled["cancelledBy"] == "admin" and "cancelTime" in cancelled
    cancelling = call(emulator, "PUT", "/jobs/%d/cancel" % running["id"]).json()
    assert cancelling["jobState"] == "CANCELLING"
    after = job(emulator, running["id"])
    assert after["jobState"] == "CANCELLED" and "finishProcessingTime" in after
    unchanged = call(emulator, "PUT", "/jobs/%d/cancel" % done["id"]).json()
    assert unchanged == job(emulator, done["id"]) and unchanged["jobState"] == "FINISHED"
    assert_error(call(emulator, "PUT", "/jobs/%d/cancel" % done["id"], auth=JDOE), 404,
                 "job not found or user doesn't have permission to cancel it")
    assert_error(call(emulator, "PUT", "/jobs/999/cancel"), 404,
                 "job not found or user doesn't have permission to cancel it")


def test_clear_queue(emulator):
    reset(emulator, dc_job_polls=5)
    running = site_backup(emulator).json()
    site_backup(emulator)
    space_backup(emulator, ["TEAM"], auth=JDOE)
    assert_error(call(emulator, "PUT", "/jobs/clear-queue", auth=JDOE), 403, "user doesn't have permission to cancel jobs")
    answer = call(emulator, "PUT", "/jobs/clear-queue")
    assert answer.status_code == 200 and answer.text == "2"
    states = sorted(j["jobState"] for j in call(emulator, "GET", "/jobs").json())
    assert states == ["CANCELLED", "CANCELLED", "PROCESSING"]
    assert job(emulator, running["id"])["jobState"] == "PROCESSING"
    assert call(emulator, "PUT", "/jobs/clear-queue").text == "0"


# ---------------------------------------------------------------- download
def test_download_is_the_backup_zip(emulator):
    site = emulator.dc_job(age_seconds=100, skipAttachments=True)
    space = emulator.dc_job(age_seconds=100, scope="SPACE", spaceKeys=["TEAM", "HR"])
    blobs = {}
    for doc, export_type in ((site, "all"), (space, "space")):
        response = call(emulator, "GET", "/jobs/%d/download" % doc["id"])
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"] == 'attachment; filename="%s"' % doc["fileName"]
        assert int(response.headers["Content-Length"]) == len(response.content) == 1024 * 1024
        assert "Accept-Ranges" not in response.headers
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.testzip() is None and "entities.xml" in archive.namelist()
            props = archive.read("exportDescriptor.properties").decode()
        assert "exportType=%s\n" % export_type in props
        blobs[export_type] = hashlib.sha256(response.content).hexdigest()
    assert "spaceKeys=TEAM,HR\n" in props and "backupAttachments=true" in props
    assert blobs["all"] != blobs["space"]
    ranged = call(emulator, "GET", "/jobs/%d/download" % site["id"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 200 and len(ranged.content) == 1024 * 1024


def test_download_ranges_and_length_settings(emulator):
    reset(emulator, dc_download_ranges=True, dc_download_length=False, dc_backup_size=64 * 1024)
    doc = emulator.dc_job(age_seconds=100)
    ranged = call(emulator, "GET", "/jobs/%d/download" % doc["id"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and len(ranged.content) == 10
    assert ranged.headers["Content-Range"] == "bytes 10-19/*"
    whole = call(emulator, "GET", "/jobs/%d/download" % doc["id"])
    assert "Content-Length" not in whole.headers and whole.headers.get("Transfer-Encoding") == "chunked"
    assert len(whole.content) == 64 * 1024 and whole.content[10:20] == ranged.content


def test_download_permissions(emulator):
    reset(emulator, dc_job_polls=3)
    team = emulator.dc_job(age_seconds=100, scope="SPACE", spaceKeys=["TEAM"])
    site = emulator.dc_job(age_seconds=100)
    running = emulator.dc_job(state="PROCESSING", polls=3)
    assert call(emulator, "GET", "/jobs/%d/download" % team["id"], auth=JDOE).status_code == 200
    message = "job not found or user doesn't have permissions for the job or the file is missing"
    for job_id, auth in ((site["id"], JDOE), (running["id"], ADMIN), (12345, ADMIN)):
        assert_error(call(emulator, "GET", "/jobs/%d/download" % job_id, auth=auth), 404, message)
    assert_error(call(emulator, "GET", "/jobs/%d" % team["id"], auth=JDOE), 404,
                 "job not found or user doesn't have permission to see it")
    mine = space_backup(emulator, ["TEAM"], auth=JDOE).json()
    assert job(emulator, mine["id"], auth=JDOE)["owner"] == "jdoe"
    assert [j["id"] for j in call(emulator, "GET", "/jobs", auth=JDOE).json()] == [mine["id"]]


def test_files_deleted_after_retention(emulator):
    temporary = emulator.dc_job(age_seconds=100)
    kept = emulator.dc_job(age_seconds=100, keepPermanently=True)
    gone = emulator.dc_job(age_seconds=100, fileExists=False)
    assert gone["fileExists"] is False
    assert call(emulator, "GET", "/jobs/%d/download" % gone["id"]).status_code == 404
    assert call(emulator, "GET", "/jobs/%d/download" % temporary["id"]).status_code == 200
    emulator.control("advance", {"seconds": 72 * 3600})
    later = job(emulator, temporary["id"])
    assert later["fileExists"] is False and later["jobState"] == "FINISHED"
    assert call(emulator, "GET", "/jobs/%d/download" % temporary["id"]).status_code == 404
    assert job(emulator, kept["id"])["fileExists"] is True
    assert call(emulator, "GET", "/jobs/%d/download" % kept["id"]).status_code == 200


# ------------------------------------------------------------------- find
def test_find_jobs_filters(emulator):
    old = emulator.dc_job(age_seconds=3 * DAY, owner="jdoe", scope="SPACE", spaceKeys=["TEAM"])
    failed = emulator.dc_job(age_seconds=2 * DAY, state="FAILED")
    restore = emulator.dc_job(age_seconds=DAY, operation="RESTORE", fileName="site.zip")
    recent = emulator.dc_job(age_seconds=60, scope="SPACE", spaceKeys=["DOC", "HR"])

    def ids(query, auth=ADMIN):
        response = call(emulator, "GET", "/jobs" + query, auth=auth)
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()]
    assert ids("") == [recent["id"], restore["id"], failed["id"], old["id"]]
    assert ids("?limit=2") == [recent["id"], restore["id"]]
    assert ids("?jobScope=SPACE") == [recent["id"], old["id"]]
    assert ids("?jobOperation=RESTORE") == [restore["id"]]
    assert ids("?jobStates=FAILED&jobStates=QUEUED") == [failed["id"]]
    assert ids("?jobStates=FAILED,FINISHED") == [recent["id"], restore["id"], failed["id"], old["id"]]
    assert ids("?spaceKey=HR") == [recent["id"]]
    assert ids("?owner=jdoe") == [old["id"]]
    assert ids("", auth=JDOE) == [old["id"]]
    created = job(emulator, failed["id"])["createTime"]
    assert ids("?fromDate=%s.000Z" % created[:-1]) == [recent["id"], restore["id"], failed["id"]]
    assert ids("?toDate=%s.999%%2B0000" % created[:-1]) == [failed["id"], old["id"]]
    for query in ("?fromDate=2026-01-01", "?toDate=yesterday", "?jobStates=DONE", "?jobScope=PAGE", "?limit=x"):
        assert_error(call(emulator, "GET", "/jobs" + query), 400, "invalid filter parameters were passed")


# ---------------------------------------------------------------- restore
def test_restore_from_restore_folder(emulator):
    reset(emulator, dc_job_polls=1)
    emulator.dc_restore_file(scope="SITE", name="site-2026.zip", kind="site", size=5000)
    emulator.dc_restore_file(scope="SPACE", name="team.zip", kind="space", spaceKeys=["TEAM"])
    listed = call(emulator, "GET", "/restore/files?jobScope=SITE").json()
    assert listed == [{"fileName": "site-2026.zip", "fileCreationTime": listed[0]["fileCreationTime"],
                       "fileSize": 5000, "jobScope": "SITE"}]
    assert len(call(emulator, "GET", "/restore/files").json()) == 2
    assert_error(call(emulator, "GET", "/restore/files", auth=JDOE), 400, "user is not a system administrator")
    for path, name in (("/restore/site", "team.zip"), ("/restore/site", "nothing.zip"), ("/restore/space", None)):
        assert_error(call(emulator, "POST", path, json={"fileName": name}), 400, "invalid filename provided")
    assert_error(call(emulator, "POST", "/restore/site", auth=JDOE, json={"fileName": "site-2026.zip"}), 403,
                 "user doesn't have permission to restore site")
    assert_error(call(emulator, "POST", "/restore/space", auth=JDOE, json={"fileName": "team.zip"}), 403,
                 "user doesn't have permission to restore spaces")
    started = call(emulator, "POST", "/restore/space", json={"fileName": "team.zip", "skipReindex": True}).json()
    assert started["jobOperation"] == "RESTORE" and started["jobScope"] == "SPACE"
    assert started["fileName"] == "team.zip" and started["jobState"] == "PROCESSING"
    assert job(emulator, started["id"])["jobState"] == "PROCESSING"
    assert job(emulator, started["id"])["jobState"] == "FINISHED"


def test_restore_of_a_mismatched_file_fails(emulator):
    reset(emulator, dc_job_polls=0)
    emulator.dc_restore_file(scope="SPACE", name="site-backup.zip", kind="site")
    emulator.dc_restore_file(scope="SITE", name="broken.zip", kind="notzip")
    mismatch = call(emulator, "POST", "/restore/space", json={"fileName": "site-backup.zip"}).json()
    broken = call(emulator, "POST", "/restore/site", json={"fileName": "broken.zip"}).json()
    mismatch, broken = job(emulator, mismatch["id"]), job(emulator, broken["id"])
    assert mismatch["jobState"] == "FAILED" and "site backup" in mismatch["errorMessage"]
    assert broken["jobState"] == "FAILED" and broken["errorMessage"]


def test_restore_outcome_setting(emulator):
    reset(emulator, dc_job_polls=0, dc_restore_outcome="FAILED", dc_restore_error="Import failed: disk full")
    emulator.dc_restore_file(scope="SITE", name="site.zip", kind="site")
    started = call(emulator, "POST", "/restore/site", json={"fileName": "site.zip"}).json()
    assert job(emulator, started["id"])["errorMessage"] == "Import failed: disk full"


# ----------------------------------------------------------------- upload
def test_upload_of_a_real_zip(emulator):
    reset(emulator, dc_job_polls=1)
    data = zip_bytes("all")
    answer = upload(emulator, "site", data, name="site-export.zip")
    assert answer.status_code == 200, answer.text
    started = answer.json()
    assert started["jobOperation"] == "RESTORE" and started["jobScope"] == "SITE"
    assert started["fileName"] == "site-export.zip"
    record = dc(emulator)["uploads"][-1]
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["bytes"] == len(data)
    assert record["field"] == "file" and record["file_name"] == "site-export.zip" and record["token"] == "no-check"
    assert record["content_type"] == "application/zip" and record["had_content_length"] is True
    assert record["chunked"] is False and record["status"] == 200 and record["job_id"] == started["id"]
    assert record["elapsed"] >= 0
    job(emulator, started["id"])
    assert job(emulator, started["id"])["jobState"] == "FINISHED"
    assert upload(emulator, "site", data, token="nocheck").status_code == 200


def test_upload_of_a_file_that_is_not_a_zip(emulator):
    answer = upload(emulator, "space", b"this is not a zip file\n" * 100, name="notes.txt")
    assert_error(answer, 400, "uploaded file is not a zip file")
    state = dc(emulator)
    assert state["jobs"] == [] and state["uploads"][0]["is_zip"] is False and state["uploads"][0]["bytes"] == 2300


def test_upload_needs_the_xsrf_header_and_a_sysadmin(emulator):
    data = zip_bytes("all")
    for token in (None, "yes"):
        assert_error(upload(emulator, "site", data, token=token), 403, "XSRF check failed")
    assert_error(upload(emulator, "site", data, auth=JDOE), 403, "user doesn't have permission to restore site")
    assert_error(upload(emulator, "space", data, auth=JDOE), 403, "user doesn't have permission to restore space")
    state = dc(emulator)
    assert state["jobs"] == [] and [u["token"] for u in state["uploads"]] == [None, "yes", "no-check", "no-check"]
    assert all(u["bytes"] == 0 for u in state["uploads"])


def test_chunked_upload(emulator):
    body, content_type = multipart(zip_bytes("space", ["DOC"]))
    headers = {"X-Atlassian-Token": "no-check", "Content-Type": content_type}
    answer = call(emulator, "POST", "/restore/space/upload", headers=headers, data=iter([body[:100], body[100:]]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["spaceKeys"] == "DOC"
    record = dc(emulator)["uploads"][-1]
    assert record["chunked"] is True and record["had_content_length"] is False
    reset(emulator, dc_refuse_chunked_uploads=True)
    refused = call(emulator, "POST", "/restore/space/upload", headers=headers, data=iter([body]))
    assert refused.status_code == 411 and "Length Required" in refused.text
    assert call(emulator, "POST", "/restore/space/upload", headers=headers, data=body).status_code == 200


def test_uploaded_site_backup_in_a_space_restore_fails(emulator):
    reset(emulator, dc_job_polls=0)
    started = upload(emulator, "space", zip_bytes("all")).json()
    failed = job(emulator, started["id"])
    assert failed["jobState"] == "FAILED" and "site backup" in failed["errorMessage"]


def test_reads_are_not_writes(emulator):
    emulator.dc_job(age_seconds=100)
    call(emulator, "GET", "/jobs")
    call(emulator, "GET", "/jobs/1")
    call(emulator, "GET", "/jobs/1/download")
    call(emulator, "GET", "/restore/files")
    assert dc(emulator)["writes"] == 0
    site_backup(emulator, auth=JDOE)
    call(emulator, "PUT", "/jobs/clear-queue")
    assert dc(emulator)["writes"] == 2
