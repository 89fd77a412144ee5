# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory reader, the archive check and the comparison of counts (issue 13), on generated backups."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import sys
import tracemalloc
import zipfile

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store import inventory as inv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))

from atlassian_emulator.zipstream import BackupZip, entities_xml  # noqa: E402  pylint: disable=wrong-import-position

COUNTS = dict(spaces=3, pages=57, blog_posts=6, comments=21, attachments=13)
PAGE = 'class="Page" package="com.atlassian.confluence.pages"'


def materialise(backup, path):
    with open(str(path), "wb") as handle:
        for piece in backup.iter_range():
            handle.write(piece)
    return str(path)


def zip_of(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(str(path), "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return str(path)


def counts(result):
    return dict((name, result[name]) for name in inv.COUNT_NAMES)


def entities(*objects):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<hibernate-generic datetime="2026-01-01 00:00:00">\n%s\n'
            '</hibernate-generic>\n' % "\n".join(objects)).encode("utf-8")


def obj(cls, ident, *properties):
    return '<object class="%s" package="com.atlassian.confluence.pages"><id name="id">%d</id>%s</object>' % (
        cls, ident, "".join(properties))


def status(value):
    return '<property name="contentStatus"><![CDATA[%s]]></property>' % value


def original(ident, cls="Page"):
    return '<property name="originalVersion" class="%s" package="com.atlassian.confluence.pages"><id name="id">%d</id>' \
           '</property>' % (cls, ident)


def original_id(ident):
    return '<property name="originalVersionId"><![CDATA[%d]]></property>' % ident


# ------------------------------------------------------------------------------------------------ layouts
@pytest.mark.parametrize("layout, member", [("flat", "entities.xml"), ("nested", "export/entities.xml")])
def test_counts_of_data_center_and_cloud_layouts(tmp_path, layout, member):
    path = materialise(BackupZip(2 * 1024 * 1024, layout=layout, inventory=COUNTS), tmp_path / "backup.zip")
    result = inv.read_inventory(path)
    assert result["reason"] is None and result["entities_member"] == member
    assert counts(result) == COUNTS
    assert result["objects"] > sum(COUNTS.values())  # versions, drafts, bodies and permissions were seen, not counted


def test_default_emulator_backup_has_twenty_current_pages(tmp_path):
    """The emulator's default entities.xml (no contentStatus: an old export's pages) counts as 20 current pages."""
    result = inv.read_inventory(materialise(BackupZip(1024 * 1024), tmp_path / "backup.zip"))
    assert counts(result) == dict(spaces=0, pages=20, blog_posts=0, comments=0, attachments=0)


def test_generated_entities_hold_what_must_not_be_counted():
    text = entities_xml(COUNTS).decode("utf-8")
    assert text.count('<property name="originalVersion"') == 57 // 4 + 1 + 1  # pages, one blog post
    assert "<![CDATA[draft]]>" in text and "<![CDATA[deleted]]>" in text and 'name="originalVersionId"' in text


def test_shallowest_then_shortest_entities_member_is_read():
    names = ["attachments/1/entities.xml/", "export/site/entities.xml", "b/entities.xml", "ab/ENTITIES.XML",
             "entities.xml.bak", "xentities.xml"]
    assert inv.find_entities(names) == "b/entities.xml"
    assert inv.find_entities(names + ["entities.xml"]) == "entities.xml"
    assert inv.find_entities(["entities.xml.bak", "exportDescriptor.properties"]) is None
    assert inv.find_entities(["Export\\Entities.XML"]) == "Export\\Entities.XML"


# ---------------------------------------------------------------------------------------- what counts
def test_only_current_content_is_counted(tmp_path):
    data = entities(
        '<object class="Space" package="com.atlassian.confluence.spaces"><id name="id">1</id>'
        '<property name="spaceStatus"><![CDATA[ARCHIVED]]></property></object>',
        obj("Page", 10, status("current")),
        obj("Page", 11, status("current"), original(10)),        # a historical version
        obj("Page", 12, status("current"), original_id(10)),     # the same, as newer exports write it
        obj("Page", 13, status("draft")),
        obj("Page", 14, status("deleted")),
        obj("Page", 15),                                         # no contentStatus: an old export, current
        obj("Page", 16, status(" current "), '<property name="originalVersion"/>'),  # an empty link is no link
        obj("BlogPost", 20, status("current")),
        obj("BlogPost", 21, status("current"), original(20, "BlogPost")),
        obj("BlogPost", 22, status("draft")),
        obj("Comment", 30, status("current")),
        obj("Comment", 31, status("current"), original(30, "Comment")),
        obj("Comment", 32, status("deleted")),
        obj("Attachment", 40, status("current")),
        obj("Attachment", 41, status("current"), original_id(40)),
        obj("Attachment", 42, status("deleted")),
        obj("BodyContent", 50, '<property name="body"><![CDATA[<p>text</p>]]></property>'),
        obj("ContentProperty", 51),
    )
    result = inv.read_inventory(zip_of(tmp_path / "b.zip", [("entities.xml", data)]))
    assert counts(result) == dict(spaces=1, pages=3, blog_posts=1, comments=1, attachments=1)
    assert result["objects"] == 19


def in_space(ident):
    return ('<property name="space" class="Space" package="com.atlassian.confluence.spaces"><id name="id">%d</id>'
            '</property>' % ident)


def space(ident, key):
    return ('<object class="Space" package="com.atlassian.confluence.spaces"><id name="id">%d</id>'
            '<property name="key"><![CDATA[%s]]></property></object>' % (ident, key))


def test_current_pages_and_blog_posts_are_counted_per_space_whatever_the_order(tmp_path):
    data = entities(
        obj("Page", 10, status("current"), in_space(2)),           # before its space in the file
        obj("Page", 11, status("current"), in_space(2), original(10)),
        obj("Page", 12, status("draft"), in_space(2)),
        space(1, "DOC"), space(2, "~jdoe"), space(3, "EMPTY"),
        obj("Page", 13, status("current"), in_space(1)),
        obj("Page", 14, status("current"), in_space(1)),
        obj("BlogPost", 20, status("current"), in_space(1)),
        obj("Page", 15, status("current"), in_space(99)),          # a space the export does not hold
    )
    result = inv.read_inventory(zip_of(tmp_path / "b.zip", [("entities.xml", data)]))
    assert result["by_space"] == {"DOC": {"pages": 2, "blog_posts": 1}, "~jdoe": {"pages": 1, "blog_posts": 0},
                                  "EMPTY": {"pages": 0, "blog_posts": 0}}
    assert result["pages"] == 4


def test_control_characters_that_xml_forbids_are_dropped(tmp_path):
    data = entities(obj("Page", 1, status("current"), '<property name="title"><![CDATA[back\x08space \x01]]></property>'))
    result = inv.read_inventory(zip_of(tmp_path / "b.zip", [("entities.xml", data)], zipfile.ZIP_DEFLATED))
    assert result["reason"] is None and result["pages"] == 1


# ------------------------------------------------------------------------------------------ unknown
@pytest.mark.parametrize("members, reason", [
    ([("exportDescriptor.properties", b"exportType=all\n"), ("attachments/1/1", b"x")], "has no entities.xml"),
    ([("entities.xml", b"<hibernate-generic><object class='Page'>")], "could not be parsed"),
    ([("entities.xml", b"PK\x03\x04 not xml at all")], "could not be parsed"),
    ([("export/entities.xml", b"<?xml version='1.0'?><html><body/></html>")], "is not a Confluence export"),
    ([("entities.xml", b"<?xml version='1.0'?>\n<hibernate-generic/>\n")], "holds no objects"),
])
def test_unknown_layouts_give_no_counts_and_a_reason(tmp_path, members, reason):
    result = inv.read_inventory(zip_of(tmp_path / "b.zip", members))
    assert counts(result) == dict.fromkeys(inv.COUNT_NAMES) and result["objects"] is None
    assert reason in result["reason"]
    assert inv.counts_of(result) is None


def test_a_file_that_is_not_a_zip_is_unknown(tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(b"not a zip" * 100)
    assert "not a readable zip" in inv.read_inventory(str(path))["reason"]


def test_memory_stays_flat_however_many_objects():
    """Finished objects leave the tree: the peak of a 4 times longer file is about the same."""

    class Stream(object):
        """An entities.xml of ``count`` pages, produced as it is read."""

        def __init__(self, count):
            self.parts = iter([b'<?xml version="1.0"?><hibernate-generic>'] + [None] * count + [b"</hibernate-generic>"])
            self.index = 0

        def read(self, size=-1):  # pylint: disable=unused-argument
            chunk = []
            for part in self.parts:
                if part is None:
                    self.index += 1
                    part = obj("Page", self.index, status("current"), '<property name="title">T</property>').encode()
                chunk.append(part)
                if len(chunk) > 200:
                    break
            return b"".join(chunk)

    peaks = []
    for count in (10000, 40000):
        tracemalloc.start()
        found, objects = inv.count_entities(Stream(count))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert found["pages"] == count and objects == count
    assert peaks[1] < peaks[0] * 1.5 + 256 * 1024, peaks


@settings(max_examples=20, deadline=None)
@given(st.fixed_dictionaries(dict((name, st.integers(0, 40)) for name in inv.COUNT_NAMES)))
def test_generated_inventories_read_back(wanted):
    found, objects = inv.count_entities(io.BytesIO(entities_xml(wanted)))
    assert found == wanted and objects >= sum(wanted.values())


# ------------------------------------------------------------------------------------------- archive
def flip_byte_in_member(path, name, at=100):
    """Change one byte inside a stored member's data (not its header): only its CRC can tell."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "r+b") as handle:
        handle.seek(info.header_offset + 26)
        header = handle.read(4)
        start = info.header_offset + 30 + int.from_bytes(header[:2], "little") + int.from_bytes(header[2:], "little")
        handle.seek(start + at)
        byte = handle.read(1)
        handle.seek(start + at)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_check_archive_reads_every_member(tmp_path):
    path = materialise(BackupZip(3 * 1024 * 1024, inventory=COUNTS), tmp_path / "backup.zip")
    checked = inv.check_archive(path)
    assert checked["members"] == 3 and checked["bytes"] > 3 * 1000 * 1000


@pytest.mark.parametrize("member", ["attachments/0/0/data.bin", "entities.xml"])
def test_a_corrupt_stored_member_is_named(tmp_path, member):
    path = materialise(BackupZip(2 * 1024 * 1024, inventory=COUNTS), tmp_path / "backup.zip")
    flip_byte_in_member(path, member)
    with pytest.raises(inv.ArchiveError) as caught:
        inv.check_archive(path)
    assert caught.value.member == member and repr(member) in caught.value.msg and "CRC" in caught.value.msg


def test_a_corrupt_deflated_member_is_named(tmp_path):
    path = zip_of(tmp_path / "b.zip", [("entities.xml", entities(obj("Page", 1)) * 50), ("b.txt", b"hello " * 5000)],
                  zipfile.ZIP_DEFLATED)
    flip_byte_in_member(path, "b.txt", at=20)
    with pytest.raises(inv.ArchiveError) as caught:
        inv.check_archive(path)
    assert caught.value.member == "b.txt"


@pytest.mark.parametrize("members, words", [
    ([], "empty zip"),
    ([("../../etc/cron.d/x", b"x")], "leaves its folder"),
])
def test_archives_that_are_no_backup(tmp_path, members, words):
    with pytest.raises(inv.ArchiveError) as caught:
        inv.check_archive(zip_of(tmp_path / "b.zip", members))
    assert words in caught.value.msg


def test_a_truncated_archive_is_refused(tmp_path):
    path = materialise(BackupZip(1024 * 1024), tmp_path / "backup.zip")
    with open(path, "r+b") as handle:
        handle.truncate(500 * 1024)
    with pytest.raises(inv.ArchiveError) as caught:
        inv.check_archive(path)
    assert "not a readable zip" in caught.value.msg


# ------------------------------------------------------------------------------------------- compare
BEFORE = dict(spaces=3, pages=1200, blog_posts=40, comments=300, attachments=0)


@pytest.mark.parametrize("after, limit, names", [
    (dict(BEFORE, pages=400), 20, ["pages"]),
    (dict(BEFORE, pages=960), 20, []),               # exactly 20 %: not more than the limit
    (dict(BEFORE, pages=959), 20, ["pages"]),
    (dict(BEFORE, pages=1190, comments=10), 20, ["comments"]),
    (dict(BEFORE, pages=0, spaces=0), 100, []),      # 100 accepts everything
    (dict(BEFORE, pages=1300, attachments=5), 0, []),  # growth, and zero before, are never drops
    (dict(BEFORE, pages=1199), 0, ["pages"]),
    (dict(BEFORE, pages=None), 0, []),               # unknown after
])
def test_compare_thresholds(after, limit, names):
    assert [d["name"] for d in inv.compare(after, BEFORE, limit)] == names


def test_compare_reports_before_after_and_percent():
    drops = inv.compare(dict(BEFORE, pages=400, comments=10), BEFORE, 20)
    assert drops == [dict(name="pages", before=1200, after=400, percent=66.7),
                     dict(name="comments", before=300, after=10, percent=96.7)]
    assert inv.describe_drops(drops) == "pages 1200 -> 400 (-66.7 %), comments 300 -> 10 (-96.7 %)"


def test_compare_ignores_unknown_inventories():
    assert inv.compare(None, BEFORE, 0) == [] and inv.compare(BEFORE, None, 0) == []
    assert inv.compare(BEFORE, dict.fromkeys(inv.COUNT_NAMES), 0) == []


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(inv.COUNT_NAMES), st.one_of(st.none(), st.integers(0, 10 ** 7))),
       st.dictionaries(st.sampled_from(inv.COUNT_NAMES), st.one_of(st.none(), st.integers(0, 10 ** 7))),
       st.floats(0, 100))
def test_compare_flags_exactly_the_drops_beyond_the_limit(before, after, limit):
    flagged = dict((d["name"], d) for d in inv.compare(after, before, limit))
    for name in inv.COUNT_NAMES:
        old, new = before.get(name), after.get(name)
        expected = old is not None and new is not None and old > 0 and (old - new) * 100.0 / old > limit
        assert (name in flagged) == expected
        if expected:
            assert flagged[name]["before"] == old and flagged[name]["after"] == new
            assert 0 < flagged[name]["percent"] <= 100 and abs(flagged[name]["percent"] - (old - new) * 100.0 / old) <= 0.05
