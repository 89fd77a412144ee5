# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""confluence_import against the emulator's REST API (issue 24): the write side's answers over HTTP (create, a
duplicate title, a stale version, labels, attachments), then one page with its children and attachments, exported
by confluence_export, restored into an empty new space and into its original space after an edit: check mode lists
exactly what the run then does, a re-run writes nothing, a newer site version needs confirm, a tampered export fails
before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import requests

from conftest import CANARY_TOKEN, CANARY_USER

AUTH = (CANARY_USER, CANARY_TOKEN)
SITE = {"seed": 5, "spaces": 2, "pages": 16, "blogposts": 1, "attachments": 16, "attachment_size": [300, 2000],
        "fanout": 3, "labels": 1}


def writes(emulator, start):
    """The requests after ``start`` that were not GETs, and the log's end."""
    answer = emulator.control("rest_v2/requests?since=%d" % start)
    return [r for r in answer["requests"] if r["method"] != "GET"], answer["next"]


def titles(entries, key="title"):
    return sorted(e[key] for e in entries)


def test_the_write_side_answers_as_confluence_does(emulator):
    site = emulator.control("rest_v2/site", dict(SITE, attachments=0))
    space = site["spaces"][0]
    url = emulator.url + "/wiki/api/v2/pages"
    page = {"spaceId": space["id"], "status": "current", "title": "Restored notes",
            "body": {"representation": "storage", "value": "<p>one</p>"}}
    made = requests.post(url, json=page, auth=AUTH, timeout=30)
    assert made.status_code == 200 and made.json()["parentId"] == space["homepageId"], made.text
    page_id = made.json()["id"]
    again = requests.post(url, json=page, auth=AUTH, timeout=30)
    assert again.status_code == 400 and "A page with this title already exists" in again.json()["errors"][0]["title"]
    update = {"id": page_id, "status": "current", "title": "Restored notes",
              "body": {"representation": "storage", "value": "<p>two</p>"}, "version": {"number": 1}}
    stale = requests.put(url + "/" + page_id, json=update, auth=AUTH, timeout=30)
    assert stale.status_code == 409 and "Current version is: 1" in stale.text
    update["version"] = {"number": 2, "message": "second"}
    assert requests.put(url + "/" + page_id, json=update, auth=AUTH, timeout=30).status_code == 200
    read = requests.get(url + "/" + page_id, params={"body-format": "storage"}, auth=AUTH, timeout=30).json()
    assert read["version"]["number"] == 2 and read["body"]["storage"]["value"] == "<p>two</p>"
    found = requests.get(url, params={"space-id": space["id"], "title": "Restored notes"}, auth=AUTH, timeout=30)
    assert [p["id"] for p in found.json()["results"]] == [page_id]
    v1 = emulator.url + "/wiki/rest/api/content/%s/" % page_id
    labels = requests.post(v1 + "label", json=[{"prefix": "global", "name": "restored"}], auth=AUTH, timeout=30)
    assert labels.status_code == 200 and [lab["name"] for lab in labels.json()["results"]] == ["restored"]
    files = {"file": ("notes.txt", b"hello", "text/plain")}
    assert requests.post(v1 + "child/attachment", files=files, auth=AUTH, timeout=30).status_code == 403
    headers = {"X-Atlassian-Token": "no-check"}
    up = requests.post(v1 + "child/attachment", files=files, data={"minorEdit": "true"}, headers=headers, auth=AUTH,
                       timeout=30)
    assert up.status_code == 200, up.text
    att = up.json()["results"][0]
    same = requests.post(v1 + "child/attachment", files=files, headers=headers, auth=AUTH, timeout=30)
    assert same.status_code == 400 and "same file name" in same.json()["message"]
    newer = requests.post(v1 + "child/attachment/%s/data" % att["id"], files={"file": ("notes.txt", b"hello!")},
                          headers=headers, auth=AUTH, timeout=30)
    assert newer.status_code == 200 and newer.json()["version"]["number"] == 2
    listed = requests.get(url + "/%s/attachments" % page_id, auth=AUTH, timeout=30).json()["results"]
    assert [(a["title"], a["fileSize"]) for a in listed] == [("notes.txt", 6)]
    data = requests.get(emulator.url + "/wiki" + listed[0]["downloadLink"], auth=AUTH, timeout=30)
    assert data.content == b"hello!"
    totals = emulator.control("rest_v2/totals")
    assert totals["spaces"][0]["pages"] == space["pages"] + 1


def subtree(items, top):
    out, queue = [top], [top]
    while queue:
        parent = queue.pop(0)
        for item_id, entry in sorted(items.items()):
            if entry.get("parent_id") == parent:
                out.append(item_id)
                queue.append(item_id)
    return out


def test_a_page_with_children_and_attachments_restored_into_a_new_space_and_into_its_own(
        emulator, run_playbook, tmp_path):
    emulator.control("rest_v2/site", SITE)
    exported = run_playbook.module("confluence_export", dest=str(tmp_path / "exports"))
    assert exported.rc == 0 and not exported.result.get("failed"), exported.output[-3000:]
    src = exported.result["path"]
    with open(os.path.join(src, "export.json")) as handle:
        items = json.load(handle)["items"]
    # A page (not a home page) with pages under it and attachments in its tree.
    top = next(i for i, e in sorted(items.items()) if e["type"] == "page" and e["parent_id"] and
               len(subtree(items, i)) > 2 and sum(len(items[k]["attachments"]) for k in subtree(items, i)))
    tree = subtree(items, top)
    files = [rel for k in tree for rel in items[k]["attachments"]]
    new = emulator.control("rest_v2/space", {"key": "NEW", "name": "Restored"})
    dummy, start = writes(emulator, 0)

    preview = run_playbook.module("confluence_import", check=True, src=src, page_id=top, target_space="NEW")
    assert preview.rc == 0 and preview.result["changed"], preview.output[-3000:]
    assert titles(preview.result["would_create"]) == titles(items[k] for k in tree)
    assert len(preview.result["would_upload"]) == len(files) and not preview.result["would_update"]
    sent, start = writes(emulator, start)
    assert sent == []

    done = run_playbook.module("confluence_import", src=src, page_id=top, target_space="NEW")
    assert done.rc == 0 and done.result["changed"], done.output[-3000:]
    logged = emulator.control("rest_v2/requests?since=%d" % start)
    assert len(logged["requests"]) == done.result["requests"]
    assert sum(r["method"] != "GET" for r in logged["requests"]) == len(tree) + len(files) + sum(
        1 for e in done.result["created"] if e["labels"])
    assert [e["title"] for e in done.result["created"]] == [e["title"] for e in preview.result["would_create"]]
    assert titles(done.result["uploaded"]) == titles(preview.result["would_upload"]) and not done.result["updated"]
    assert done.result["created"][0]["parent_id"] == new["homepageId"]
    mapping = done.result["mapping"]
    for item_id in tree[1:]:
        parent = items[item_id]["parent_id"]
        page = emulator_get(emulator, "/wiki/api/v2/pages/%s" % mapping[item_id], **{"body-format": "storage"})
        assert page["parentId"] == mapping[parent] and page["spaceId"] == new["id"]
        with open(os.path.join(src, items[item_id]["path"])) as handle:
            assert page["body"]["storage"]["value"] == json.load(handle)["body"]["storage"]["value"]
    for up in done.result["uploaded"]:
        facts = emulator.control("rest_v2/attachment/%s" % up["id"])
        assert (facts["size"], facts["sha256"]) == (up["size"], up["sha256"])
    sent, start = writes(emulator, start)

    again = run_playbook.module("confluence_import", src=src, page_id=top, target_space="NEW")
    assert again.rc == 0 and not again.result["changed"] and len(again.result["unchanged"]) == len(tree)
    sent, start = writes(emulator, start)
    assert sent == []

    # The original space, after an edit of the top page on the site: its version is newer than the export's.
    emulator.control("rest_v2/change", {"edit": [int(top)]})
    refused = run_playbook.module("confluence_import", src=src, page_id=top)
    assert refused.result["failed"] and "confirm: true" in refused.result["msg"], refused.result
    assert items[top]["title"] in refused.result["msg"]
    sent, start = writes(emulator, start)
    assert sent == []
    preview = run_playbook.module("confluence_import", check=True, src=src, page_id=top, confirm=True)
    assert [e["title"] for e in preview.result["would_update"]] == [items[top]["title"]], preview.result
    assert not preview.result["would_create"] and not preview.result["would_upload"]
    restored = run_playbook.module("confluence_import", src=src, page_id=top, confirm=True)
    assert restored.rc == 0 and restored.result["changed"], restored.output[-3000:]
    assert [e["title"] for e in restored.result["updated"]] == [items[top]["title"]]
    assert not restored.result["created"] and not restored.result["uploaded"]
    sent, start = writes(emulator, start)
    assert [r["method"] for r in sent] == ["PUT"]
    last = run_playbook.module("confluence_import", src=src, page_id=top)
    assert last.rc == 0 and not last.result["changed"], last.result
    sent, start = writes(emulator, start)
    assert sent == []

    # A file changed after the export: the run fails before its first request.
    with open(os.path.join(src, files[0]), "r+b") as handle:
        handle.write(b"X")
    before = emulator.control("rest_v2/requests")["next"]
    tampered = run_playbook.module("confluence_import", src=src, page_id=top, target_space="NEW")
    assert tampered.result["failed"] and "does not match export.json" in tampered.result["msg"], tampered.result
    assert emulator.control("rest_v2/requests")["next"] == before and tampered.result["requests"] == 0


def emulator_get(emulator, path, **params):
    answer = requests.get(emulator.url + path, params=params, auth=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()
