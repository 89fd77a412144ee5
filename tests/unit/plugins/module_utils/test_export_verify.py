# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A content export (confluence_export's layout) verified as a folder and as its zip, the zip writer, and content
exports kept apart from site backups by retention, the inventory comparison and max_age reuse (issue 24)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import zipfile
from datetime import datetime, timezone

import pytest

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import archive, layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import manifest as mf
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.catalog import scan
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.folder import BackupFolder
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.prune import prune
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.verify import ExportVerification, Verification

LABEL = "example.atlassian.net"
NOW = datetime(2026, 12, 3, 3, 0, 0, tzinfo=timezone.utc)


def write(folder, rel, data):
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return dict(size=len(data), sha256=hashlib.sha256(data).hexdigest())


def make_export(dest, stamp, pages=4, comments=1, selection="all", counts=None):
    """An export folder as confluence_export writes it: one space, ``pages`` pages with ``comments`` footer comments
    each, a blog post, an attachment on the first page."""
    folder = os.path.join(str(dest), "%s%s-%s" % (layout.PREFIX, LABEL, stamp))
    files, items = {}, {}
    files["spaces/DOC/space.json"] = write(folder, "spaces/DOC/space.json", b'{"key": "DOC", "id": "1"}')
    att = "spaces/DOC/attachments/att9/v1/a.bin"
    files[att] = write(folder, att, b"attachment bytes")
    for number in range(pages + 1):
        kind = "page" if number < pages else "blogpost"
        item_id = str(100 + number)
        rel = layout.item_path("DOC", kind, item_id)
        doc = {"id": item_id, "version": {"number": 2}, "footer_comments": [{"id": "c%d" % i} for i in range(comments)],
               "inline_comments": [], "_export": {"space_key": "DOC", "files": [att] if number == 0 else []}}
        files[rel] = write(folder, rel, json.dumps(doc).encode())
        items[item_id] = dict(type=kind, version=2, space_key="DOC", path=rel, attachments=[att] if number == 0 else [])
    data = {"format": 1, "product": "confluence", "kind": "content-export", "site_label": LABEL,
            "selection": selection, "exported_at": "%s-%s-%sT%s:%s:%sZ" % (
                stamp[:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15]),
            "counts": counts or dict(spaces=1, pages=pages, blogposts=1, attachments=1), "items": items,
            "files": files}
    mf.write(os.path.join(folder, layout.MANIFEST), data)
    return folder


def verify(path, level="inventory", drop=20.0, cls=ExportVerification):
    warnings = []
    params = dict(path=path, level=level, max_drop_percent=drop, previous=None, update_manifest=True,
                  check_mode=False)
    return cls(params, warnings.append, now=lambda: NOW).run()


def read(path):
    with open(path) as handle:
        return json.load(handle)


def test_a_good_folder_is_counted_from_its_files_and_recorded(tmp_path):
    folder = make_export(tmp_path, "20261201T020000Z", pages=4, comments=2)
    result = verify(folder)
    assert result["verified"] and result["inventory_status"] == "counted"
    counts = dict((k, result["inventory"][k]) for k in ("spaces", "pages", "blog_posts", "comments", "attachments"))
    assert counts == dict(spaces=1, pages=4, blog_posts=1, comments=10, attachments=1)
    assert result["inventory"]["by_space"] == {"DOC": {"pages": 4, "blog_posts": 1}}
    recorded = read(os.path.join(folder, "export.json"))
    assert recorded["verified_level"] == "inventory" and recorded["inventory"]["comments"] == 10
    assert layout.exports(str(tmp_path), LABEL, "all")[0][0] == folder


@pytest.mark.parametrize("damage, level, said", [
    ("byte", "checksum", "does not have the sha256"),
    ("missing", "checksum", "is missing"),
    ("item", "archive", "does not parse"),
    ("counts", "inventory", "pages 4 in the files, 5 in export.json"),
])
def test_a_damaged_folder_fails_and_is_no_base_for_the_next_export(tmp_path, damage, level, said):
    folder = make_export(tmp_path, "20261201T020000Z")
    page = os.path.join(folder, layout.item_path("DOC", "page", "101"))
    if damage == "byte":
        with open(os.path.join(folder, "spaces/DOC/attachments/att9/v1/a.bin"), "r+b") as handle:
            handle.write(b"A")
    elif damage == "missing":
        os.unlink(os.path.join(folder, "spaces/DOC/attachments/att9/v1/a.bin"))
    elif damage == "item":
        # Not JSON any more, and the manifest made to agree with the bytes: only the item check sees it.
        data = read(os.path.join(folder, "export.json"))
        data["files"][layout.item_path("DOC", "page", "101")] = write(folder, layout.item_path("DOC", "page", "101"),
                                                                      b"{not json")
        mf.write(os.path.join(folder, "export.json"), data)
    else:
        mf.update(os.path.join(folder, "export.json"), {"counts": dict(spaces=1, pages=5, blogposts=1, attachments=1)})
    assert os.path.exists(page) or damage != "item"
    with pytest.raises(TaskFailed) as caught:
        verify(folder)
    assert said in caught.value.msg, caught.value.msg
    recorded = read(os.path.join(folder, "export.json"))
    assert recorded["verified"] is False and recorded["verification_failure"]["level"] == level
    assert layout.exports(str(tmp_path), LABEL, "all")[0] is None


def test_a_drop_against_the_previous_good_export_fails_it(tmp_path):
    before = make_export(tmp_path, "20261201T020000Z", pages=10)
    assert verify(before)["verified"]
    after = make_export(tmp_path, "20261202T020000Z", pages=3)
    with pytest.raises(TaskFailed) as caught:
        verify(after)
    assert "Possible mass deletion" in caught.value.msg and "pages 10 -> 3" in caught.value.msg
    assert caught.value.fields["previous"] == before
    # The failed one is passed over: the next run builds on the good one.
    assert layout.exports(str(tmp_path), LABEL, "all")[0][0] == before
    assert verify(after, drop=100)["verified"]  # accepted on purpose: it becomes the reference


def test_the_zip_is_streamed_with_its_manifest_and_verified_at_inventory(tmp_path, monkeypatch):
    first = make_export(tmp_path, "20261201T020000Z", pages=10)
    copied = []
    real = archive.shutil.copyfileobj
    monkeypatch.setattr(archive.shutil, "copyfileobj", lambda src, dst, size: copied.append(size) or real(src, dst, size))
    done = archive.archive_export(first, LABEL, dict(include_attachments=True), seconds=1.5)
    assert copied and set(copied) == {archive.BUFFER}  # each member through a buffer, never read whole
    assert os.path.basename(done["path"]) == "confluence-%s-content-export-20261201T020000Z.zip" % LABEL
    with zipfile.ZipFile(done["path"]) as zipped:
        assert zipped.namelist()[-1] == "export.json"
        assert set(i.compress_type for i in zipped.infolist()) == {zipfile.ZIP_STORED}
    data = read(done["manifest_path"])
    assert data["kind"] == "content-export" and data["file"] == os.path.basename(done["path"])
    assert data["sha256"] == hashlib.sha256(open(done["path"], "rb").read()).hexdigest()
    assert not os.path.exists(done["path"] + ".part")
    assert verify(done["path"], cls=Verification)["inventory"]["pages"] == 10

    second = make_export(tmp_path, "20261202T020000Z", pages=2)
    zipped = archive.archive_export(second, LABEL, dict(include_attachments=True))
    with pytest.raises(TaskFailed) as caught:
        verify(zipped["path"], cls=Verification)
    assert "Possible mass deletion" in caught.value.msg and caught.value.fields["previous"] == done["path"]
    # Recorded in the zip's manifest and in its folder's export.json: no base for the next run.
    assert read(zipped["manifest_path"])["verified"] is False
    assert read(os.path.join(second, "export.json"))["verified"] is False
    assert layout.exports(str(tmp_path), LABEL, "all")[0][0] == first
    # Older folders go, but the newest good one stays as the next run's base.
    third = make_export(tmp_path, "20261203T020000Z", pages=10)
    assert archive.remove_older(str(tmp_path), LABEL, "all", os.path.basename(third)) == [second]


def test_a_member_that_differs_from_export_json_fails_the_zip_at_inventory(tmp_path):
    folder = make_export(tmp_path, "20261201T020000Z")
    with open(os.path.join(folder, "spaces/DOC/attachments/att9/v1/a.bin"), "r+b") as handle:
        handle.write(b"A")
    done = archive.archive_export(folder, LABEL, dict(include_attachments=True))
    assert verify(done["path"], level="archive", cls=Verification)["verified"]  # the zip's own CRCs are good
    with pytest.raises(TaskFailed) as caught:
        verify(done["path"], cls=Verification)
    assert "does not have the sha256" in caught.value.msg


def site_backup(folder, stamp):
    base = "confluence-%s-%s" % (LABEL, stamp)
    body = b"PK\x05\x06" + b"\0" * 18
    digest = hashlib.sha256(body).hexdigest()
    with open(os.path.join(folder, base + ".zip"), "wb") as handle:
        handle.write(body)
    with open(os.path.join(folder, base + ".zip.sha256"), "w") as handle:
        handle.write("%s  %s.zip\n" % (digest, base))
    mf.write(os.path.join(folder, base + ".json"), {
        "product": "confluence", "deployment": "cloud", "site_label": LABEL, "file": base + ".zip",
        "size": len(body), "sha256": digest, "include_attachments": True, "verified": "zip-structure",
        "backup_time": "%s-%s-%sT%s:%s:%sZ" % (stamp[:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13],
                                               stamp[13:15])})
    return os.path.join(folder, base + ".zip")


def test_content_exports_and_site_backups_never_share_a_series_or_a_reuse(tmp_path):
    dest = str(tmp_path)
    exports = [archive.archive_export(make_export(tmp_path, "202612%02dT020000Z" % day), LABEL,
                                      dict(include_attachments=True))["path"] for day in (1, 2, 3)]
    backups = [site_backup(dest, "202612%02dT030000Z" % day) for day in (1, 2)]
    found, dummy = scan(dest, "confluence", LABEL)
    assert len(set(b.series for b in found)) == 2
    result = prune(dict(path=dest, product="confluence", scope=None, space_keys=None, keep_daily=1, keep_weekly=0,
                        keep_monthly=0, keep_yearly=0, keep_last=0), LABEL)
    assert result["series"] == 2
    assert sorted(k["path"] for k in result["kept"]) == sorted([exports[-1], backups[-1]])
    assert not os.path.exists(exports[0]) and not os.path.exists(backups[0]) and os.path.exists(exports[1]) is False
    # max_age reuse (confluence_backup, snapshots_export) sees site backups only, however young the export.
    reusable = BackupFolder(dest, "confluence", LABEL).manifests()
    assert [m["file"] for m in reusable] == [os.path.basename(backups[-1])]


def test_a_content_export_is_never_restored_as_a_site_backup(tmp_path):
    """The drill's pick (backup_prune kind backup) passes a newer export over; confluence_restore refuses an export's
    zip by its manifest, by its content without one, its encrypted copy before decrypting, and a file_name named as
    one; confluence_import refuses an export whose export.json records a failed verification, and a zip as src."""
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.datacenter import restore as dc_restore
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.restore import ConfluenceImport
    dest = str(tmp_path)
    backup = site_backup(dest, "20261201T030000Z")
    folder = make_export(tmp_path, "20261202T020000Z")
    export = archive.archive_export(folder, LABEL, dict(include_attachments=True))
    picked = prune(dict(path=dest, product="confluence", scope="site", space_keys=None, kind="backup", keep_daily=1,
                        keep_weekly=0, keep_monthly=0, keep_yearly=0, keep_last=10 ** 9), LABEL, check_mode=True)
    assert [k["path"] for k in picked["kept"]] == [backup] and picked["would_delete"] == []
    exports = prune(dict(path=dest, product="confluence", kind="content-export", keep_daily=1, keep_weekly=0,
                         keep_monthly=0, keep_yearly=0, keep_last=1), LABEL, check_mode=True)
    assert [k["path"] for k in exports["kept"]] == [export["path"]]

    with pytest.raises(TaskFailed) as by_manifest:
        dc_restore.check_backup_file(export["path"], "site", lambda msg: None)
    said = by_manifest.value.msg
    assert "is a content export of confluence_export (its manifest " in said and "records kind content-export" in said
    assert "confluence_import" in said and os.path.basename(folder) in said and said.endswith("Nothing was uploaded.")
    alone = str(tmp_path / "elsewhere.zip")
    with open(export["path"], "rb") as source, open(alone, "wb") as target:
        target.write(source.read())
    with pytest.raises(TaskFailed) as by_content:
        dc_restore.check_backup_file(alone, "space", lambda msg: None)
    assert "it holds export.json at its top and no entities.xml" in by_content.value.msg
    encrypted = export["path"] + ".age"
    with open(encrypted, "wb") as handle:
        handle.write(b"age-encryption.org/v1\n")

    def no_key():
        raise AssertionError("the key is read only for a decryption")
    with pytest.raises(TaskFailed) as by_copy:
        dc_restore.decrypt_src(encrypted, no_key, print, lambda folder: pytest.fail("nothing is decrypted"))
    assert "is a content export of confluence_export" in by_copy.value.msg
    assert archive.is_zip_name(os.path.basename(export["path"]))
    assert not archive.is_zip_name(os.path.basename(backup))

    class NoRequests(object):
        def __getattr__(self, name):
            raise AssertionError("no request before the export is checked")

    def restore(src):
        params = dict(src=src, page_id="100", space=None, include_children=True, include_attachments=True,
                      target_space=None, target_parent_id=None, confirm=False, check_mode=False)
        with pytest.raises(TaskFailed) as caught:
            ConfluenceImport(params, NoRequests(), print).run()
        return caught.value
    refused = restore(export["path"])
    assert "is a file; confluence_import reads the folder of an export" in refused.msg
    assert refused.fields["requests"] == 0
    path = os.path.join(folder, layout.MANIFEST)
    mf.update(path, mf.failed_changes(read(path), "inventory", "Possible mass deletion", NOW))
    refused = restore(folder)
    assert "failed its last verification (inventory: Possible mass deletion, recorded in its export.json)" in \
        refused.msg
    assert refused.fields["requests"] == 0 and "backup_verify" in refused.msg
