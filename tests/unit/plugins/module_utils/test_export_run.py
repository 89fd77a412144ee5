# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""confluence_export's pace, journal and streamed manifest (issue 24): what keeps it polite and its memory flat."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import layout
from ansible_collections.atlassian_ops.backup.plugins.module_utils.export.run import Pace


class Clock(object):
    """A clock that moves only when told to, or when the pace sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_a_given_rate_is_kept_five_percent_under():
    clock = Clock()
    pace = Pace(20, clock=clock, sleep=clock.sleep)
    for dummy in range(96):
        pace.wait()
    # 96 requests at 19/s: the first at once, the others 1/19 s apart.
    assert abs(clock.now - 100.0 - 95 / 19.0) < 1e-6


def test_the_refusals_of_one_burst_cut_the_pace_once_and_it_grows_back():
    clock = Clock()
    pace = Pace(20, clock=clock, sleep=clock.sleep)
    for dummy in range(8):  # every worker refused at once
        pace.refused()
    assert pace.slowed == 1 and abs(pace.rate - 19 * 0.8) < 1e-9
    clock.now += 0.5
    pace.refused()  # still the same burst
    assert pace.slowed == 1
    clock.now += 1.0
    pace.refused()  # a later one, below the full rate: halved
    assert pace.slowed == 2 and abs(pace.rate - 19 * 0.8 * 0.5) < 1e-9
    for dummy in range(50 * 12):
        pace.wait()
    assert pace.rate == 19.0  # grown back, never above the full rate


def test_without_a_rate_a_refusal_sets_it_to_what_the_site_let_through_and_it_is_probed_upwards():
    clock = Clock()
    pace = Pace(None, clock=clock, sleep=clock.sleep)
    for number in range(200):  # unpaced: never sleeps
        pace.wait()
        if number % 4:
            pace.answered()  # three in four let through
        clock.now += 0.015
    assert clock.slept == [] and pace.rate is None
    pace.refused()
    # 50 answers in the last second (of 66 sent), kept 5 % under.
    assert abs(pace.rate - 50 * 0.95) < 1e-9 and pace.limit == pace.rate
    for dummy in range(101):
        pace.wait()
    # Paced, and probing for more: 2 % up every 50 requests.
    assert abs(clock.slept[1] - 1 / 47.5) < 1e-9 and abs(pace.rate - 47.5 * 1.02 * 1.02) < 1e-9


def test_a_refusal_in_the_runs_first_second_is_another_clients_and_sets_no_rate():
    clock = Clock()
    pace = Pace(None, clock=clock, sleep=clock.sleep)
    for dummy in range(3):  # the window was nearly used up by someone else: three answers, then refused
        pace.wait()
        pace.answered()
        clock.now += 0.01
    pace.refused()
    assert pace.rate is None and pace.slowed == 1
    clock.now += 1.0  # the Retry-After; the next window lets 50 through
    for dummy in range(50):
        pace.wait()
        pace.answered()
        clock.now += 0.004
    clock.now += 0.5
    pace.refused()
    assert abs(pace.rate - 50 * 0.95) < 1e-9


def test_the_journal_of_a_continued_run_gives_each_file_once_with_its_last_record(tmp_path):
    folder = str(tmp_path)
    first = layout.Journal(folder)
    first.add("a.json", 1, "1" * 64)
    first.add("b.json", 2, "2" * 64)
    first.handle.write('{"path": "c.json", "si')  # killed in the middle of a line
    first.close()
    (tmp_path / "a.json").write_bytes(b"x")
    second = layout.Journal(folder)
    assert second.has(folder, "a.json") and not second.has(folder, "b.json")  # b.json is not on disk
    second.add("b.json", 3, "3" * 64)
    second.add("d.json", 4, "4" * 64)
    assert dict(second.entries()) == {
        "a.json": dict(size=1, sha256="1" * 64), "b.json": dict(size=3, sha256="3" * 64),
        "d.json": dict(size=4, sha256="4" * 64)}
    second.close()
    third = layout.Journal(folder)  # the file read back agrees: the cut line was skipped, b.json's last record won
    assert dict(third.entries()) == dict(second.entries())
    third.close()


def test_the_streamed_manifest_is_the_json_of_its_parts():
    header = {"format": 1, "counts": {"pages": 2}, "deleted": [], "selection": "all"}
    items = [("10", {"title": "Caf\u00e9", "attachments": []}), ("11", {"title": "B", "attachments": ["x"]})]
    text = "".join(layout.manifest_text(header, items=iter(items), files=iter([])))
    data = json.loads(text)
    assert data == dict(header, items=dict(items), files={})
    assert list(data) == sorted(data)
    # One member per line: a reader can see which item a damaged line belongs to.
    assert '\n    "11": {"attachments": ["x"], "title": "B"}\n' in text


class FakeClient(object):
    """Answers GETs from a dict of path -> JSON body; records the paths asked for."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def request(self, method, path, params=None):
        self.asked.append(path)
        return FakeResponse(self.answers[path])


class FakeResponse(object):
    headers = {}

    def __init__(self, body):
        self.body = body


def test_an_item_s_included_parts_are_used_only_when_the_answer_says_it_holds_them_all(monkeypatch):
    from ansible_collections.atlassian_ops.backup.plugins.module_utils.export import api as export_api

    monkeypatch.setattr(export_api, "read_json", lambda client, response, limit, cls: response.body)
    empty = {"results": []}
    versions = [{"number": n} for n in range(60, 10, -1)]
    answers = {"wiki/api/v2/pages/7": {
        "id": "7", "version": {"number": 60},
        "labels": {"results": [{"name": "a"}], "meta": {"hasMore": False, "cursor": None}},
        "properties": {"results": []},  # no meta: not trusted
        "versions": {"results": versions, "meta": {"hasMore": True, "cursor": "x"}}}}
    for part in ("properties", "footer-comments", "inline-comments", "attachments"):
        answers["wiki/api/v2/pages/7/" + part] = empty
    answers["wiki/api/v2/pages/7/versions"] = {"results": versions + [{"number": n} for n in range(10, 0, -1)]}
    client = FakeClient(answers)
    body, parts = export_api.ExportApi(client).item("page", "7")
    assert parts["labels"] == [{"name": "a"}] and len(parts["versions"]) == 60
    assert "labels" not in body and "versions" not in body
    assert "wiki/api/v2/pages/7/labels" not in client.asked
    assert "wiki/api/v2/pages/7/versions" in client.asked and "wiki/api/v2/pages/7/properties" in client.asked


def test_two_exports_started_in_one_second_get_folders_of_their_own(tmp_path):
    import datetime

    when = datetime.datetime(2026, 12, 3, 17, 52, 44, tzinfo=datetime.timezone.utc)
    first = layout.make_folder(str(tmp_path), "example.atlassian.net", when)
    second = layout.make_folder(str(tmp_path), "example.atlassian.net", when)
    assert first.endswith("confluence-export-example.atlassian.net-20261203T175244Z")
    assert second.endswith("confluence-export-example.atlassian.net-20261203T175245Z")
    assert sorted([first, second]) == [first, second] and oct(os.stat(second).st_mode & 0o777) == "0o700"
