# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grandfather-father-son retention (_retention.plan): a simulated year, gaps, unverified backups, properties.

The expectations are written out as dates (or derived from calendar facts, such as an ISO week ending on a
Sunday), not computed with the code under test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.retention import plan

UTC = timezone.utc
# A simulated year: one backup a day at 02:00 UTC from 2025-07-01 to 2026-06-30 (365 days, across a new year
# and the ISO week 2026-W01 that starts on 2025-12-29).
FIRST = date(2025, 7, 1)
LAST = date(2026, 6, 30)


def at(day, hour=2, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def year_of_backups():
    days = [FIRST + timedelta(days=n) for n in range(365)]
    assert days[-1] == LAST
    return [dict(id=d.isoformat(), time=at(d), verified=True) for d in days]


def days(*texts):
    return set(texts)


def span(first, last):
    """Every date from ``first`` to ``last`` (ISO strings), both included."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return set((start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1))


MONTH_ENDS = days("2026-06-30", "2026-05-31", "2026-04-30", "2026-03-31", "2026-02-28", "2026-01-31",
                  "2025-12-31", "2025-11-30", "2025-10-31", "2025-09-30", "2025-08-31", "2025-07-31")


@pytest.mark.parametrize("keep,expected", [
    # 7 daily, 4 weekly, 12 monthly: the 7 newest days; the newest backup of the 4 newest ISO weeks (2026-06-30 of
    # the week begun on Monday 06-29, then the Sundays 06-28, 06-21, 06-14); the last day of each of 12 months.
    (dict(keep_daily=7, keep_weekly=4, keep_monthly=12),
     span("2026-06-24", "2026-06-30") | days("2026-06-21", "2026-06-14") | MONTH_ENDS),
    (dict(keep_daily=14), span("2026-06-17", "2026-06-30")),
    # 3 yearly: only two years have backups; each year's newest.
    (dict(keep_yearly=3), days("2026-06-30", "2025-12-31")),
    (dict(keep_daily=7, keep_weekly=4, keep_monthly=6, keep_yearly=2),
     span("2026-06-24", "2026-06-30") | days("2026-06-21", "2026-06-14")
     | days("2026-05-31", "2026-04-30", "2026-03-31", "2026-02-28", "2026-01-31") | days("2025-12-31")),
    # 24 months asked, 12 months of backups: every month's newest, nothing more.
    (dict(keep_monthly=24), MONTH_ENDS),
    # keep_last 10 alone (with a count elsewhere that adds nothing new).
    (dict(keep_last=10, keep_daily=1), span("2026-06-21", "2026-06-30")),
    (dict(keep_last=0, keep_daily=2), days("2026-06-30", "2026-06-29")),
])
def test_a_year_of_daily_backups_keeps_exactly(keep, expected):
    backups = year_of_backups()
    random.Random(3).shuffle(backups)
    decision = plan(backups, **keep)
    assert set(decision["keep"]) == expected
    assert set(decision["delete"]) == set(b["id"] for b in backups) - expected
    assert decision["unverified"] == []
    assert decision["keep"] == sorted(expected, reverse=True)
    assert decision["delete"] == sorted(decision["delete"], reverse=True)


def test_weekly_across_the_iso_year():
    # 30 weeks: the current week's newest (Tuesday 2026-06-30), then the Sunday that ends each earlier ISO week.
    sunday = date(2026, 6, 28)
    assert sunday.weekday() == 6
    expected = set(["2026-06-30"]) | set((sunday - timedelta(weeks=n)).isoformat() for n in range(29))
    decision = plan(year_of_backups(), keep_weekly=30, keep_last=0)
    assert set(decision["keep"]) == expected
    assert "2026-01-04" in expected and "2025-12-28" in expected
    assert decision["reasons"]["2026-01-04"] == ["weekly 2026-W01"]
    assert decision["reasons"]["2025-12-28"] == ["weekly 2025-W52"]
    assert decision["reasons"]["2026-06-30"] == ["newest verified", "weekly 2026-W27"]


def test_reasons_name_every_rule():
    decision = plan(year_of_backups(), keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=2)
    reasons = decision["reasons"]
    assert reasons["2026-06-30"] == ["newest verified", "last 1", "daily 2026-06-30", "weekly 2026-W27",
                                     "monthly 2026-06", "yearly 2026"]
    assert reasons["2026-06-28"] == ["daily 2026-06-28", "weekly 2026-W26"]
    assert reasons["2025-12-31"] == ["monthly 2025-12", "yearly 2025"]
    assert reasons["2026-06-01"] == []
    assert set(reasons) == set(b["id"] for b in year_of_backups())


def test_newest_unverified_is_left_alone_and_fills_no_slot():
    backups = year_of_backups()
    backups[-1]["verified"] = False  # 2026-06-30
    decision = plan(backups, keep_daily=2)
    assert decision["unverified"] == ["2026-06-30"]
    assert decision["reasons"]["2026-06-30"] == ["unverified, left alone"]
    # The newest verified backup is 06-29; the two days with a verified backup are 06-29 and 06-28.
    assert decision["keep"] == ["2026-06-29", "2026-06-28"]
    assert decision["reasons"]["2026-06-29"] == ["newest verified", "last 1", "daily 2026-06-29"]
    assert "2026-06-30" not in decision["delete"]
    assert len(decision["delete"]) == 362


def test_unverified_backups_are_never_deleted_nor_kept_by_a_rule():
    backups = year_of_backups()
    for b in backups[::3]:
        b["verified"] = False
    decision = plan(backups, keep_monthly=12)
    unverified = set(b["id"] for b in backups[::3])
    assert set(decision["unverified"]) == unverified
    assert not unverified & set(decision["keep"]) and not unverified & set(decision["delete"])
    # 2026-06-30 is the 365th backup (index 364, not a multiple of 3): verified and newest.
    assert "2026-06-30" in decision["keep"]


def test_only_unverified_backups_deletes_nothing():
    backups = [dict(id=str(n), time=at(FIRST + timedelta(days=n)), verified=False) for n in range(10)]
    decision = plan(backups, keep_daily=1)
    assert decision["keep"] == [] and decision["delete"] == []
    assert decision["unverified"] == [str(n) for n in range(9, -1, -1)]


def test_gaps_do_not_use_up_slots():
    # Backups on 1..20 June 2026 except 14, 15, 16 and 19.
    present = [d for d in range(1, 21) if d not in (14, 15, 16, 19)]
    backups = [dict(id="06-%02d" % d, time=at(date(2026, 6, d)), verified=True) for d in present]
    decision = plan(backups, keep_daily=5)
    assert decision["keep"] == ["06-20", "06-18", "06-17", "06-13", "06-12"]
    # ISO weeks of June 2026: 8-14 (W24), 15-21 (W25): 06-20 and 06-13 are the newest of theirs.
    decision = plan(backups, keep_weekly=3, keep_last=0)
    assert decision["keep"] == ["06-20", "06-13", "06-07"]


def test_several_backups_a_day():
    backups = []
    for day in range(1, 11):
        for hour in (0, 6, 12, 18):
            backups.append(dict(id="%02d-%02d" % (day, hour), time=at(date(2026, 3, day), hour), verified=True))
    decision = plan(backups, keep_daily=3, keep_last=0)
    assert decision["keep"] == ["10-18", "09-18", "08-18"]
    decision = plan(backups, keep_daily=3, keep_last=5)
    assert decision["keep"] == ["10-18", "10-12", "10-06", "10-00", "09-18", "08-18"]
    assert decision["reasons"]["10-00"] == ["last 4"]
    # The day's newest backup unverified: that day's slot goes to its newest verified one.
    backups[-1]["verified"] = False  # 10-18
    decision = plan(backups, keep_daily=2, keep_last=0)
    assert decision["keep"] == ["10-12", "09-18"]
    assert decision["unverified"] == ["10-18"]


def test_keep_last_only_counts_verified_backups():
    backups = [dict(id=str(n), time=at(FIRST, minute=n), verified=n % 2 == 0) for n in range(10)]
    decision = plan(backups, keep_last=3, keep_yearly=0)
    assert decision["keep"] == ["8", "6", "4"]
    assert decision["reasons"]["8"] == ["newest verified", "last 1"]
    assert decision["reasons"]["4"] == ["last 3"]
    assert decision["delete"] == ["2", "0"]


def test_newest_verified_is_kept_with_every_count_at_zero():
    decision = plan(year_of_backups(), keep_last=0)
    assert decision["keep"] == ["2026-06-30"]
    assert decision["reasons"]["2026-06-30"] == ["newest verified"]


def test_ties_naive_times_and_other_zones():
    est = timezone(timedelta(hours=-5))
    backups = [
        dict(id="b", time=at(date(2026, 6, 30)), verified=True),
        dict(id="a", time=at(date(2026, 6, 30)), verified=True),
        # 2026-06-29 22:00 at UTC-5 is 2026-06-30 03:00 UTC: the same UTC day, and the newest.
        dict(id="c", time=datetime(2026, 6, 29, 22, 0, tzinfo=est), verified=True),
        dict(id="d", time=datetime(2026, 6, 29, 23, 0), verified=True),  # naive: UTC
    ]
    decision = plan(backups, keep_daily=2, keep_last=0)
    assert decision["keep"] == ["c", "d"]
    assert decision["reasons"]["c"] == ["newest verified", "daily 2026-06-30"]
    assert decision["delete"] == ["b", "a"]
    decision = plan(backups[:2], keep_daily=1, keep_last=0)
    assert decision["keep"] == ["b"]


def test_refuses_bad_input():
    with pytest.raises(ValueError, match="keep_daily"):
        plan([], keep_daily=-1)
    with pytest.raises(ValueError, match="keep_last"):
        plan([], keep_last=None)
    with pytest.raises(ValueError, match="unique"):
        plan([dict(id="x", time=at(FIRST), verified=True), dict(id="x", time=at(LAST), verified=True)])
    assert plan([], keep_daily=3) == {"keep": [], "delete": [], "unverified": [], "reasons": {}}


def test_ten_thousand_backups_in_well_under_a_second():
    start = datetime(2000, 1, 1, tzinfo=UTC)
    backups = [dict(id="b%05d" % n, time=start + timedelta(hours=7 * n), verified=n % 97 != 0) for n in range(10000)]
    began = time.perf_counter()
    decision = plan(backups, keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=10)
    elapsed = time.perf_counter() - began
    assert len(decision["keep"]) + len(decision["delete"]) + len(decision["unverified"]) == 10000
    assert elapsed < 0.5, elapsed


BACKUPS = st.lists(st.tuples(st.integers(min_value=0, max_value=3 * 366 * 24 * 60), st.booleans()),
                   max_size=120)
COUNT = st.integers(min_value=0, max_value=8)


def build(entries):
    base = datetime(2024, 12, 20, tzinfo=UTC)
    return [dict(id="b%03d" % n, time=base + timedelta(minutes=minutes), verified=flag)
            for n, (minutes, flag) in enumerate(entries)]


@settings(max_examples=300, deadline=None)
@given(BACKUPS, COUNT, COUNT, COUNT, COUNT, COUNT)
def test_properties(entries, daily, weekly, monthly, yearly, last):
    backups = build(entries)
    keep = dict(keep_daily=daily, keep_weekly=weekly, keep_monthly=monthly, keep_yearly=yearly, keep_last=last)
    decision = plan(backups, **keep)
    ids = [b["id"] for b in backups]
    kept, deleted, unverified = decision["keep"], decision["delete"], decision["unverified"]
    # A partition of the backups; unverified ones are exactly the unverified.
    assert sorted(kept + deleted + unverified) == sorted(ids)
    assert set(unverified) == set(b["id"] for b in backups if not b["verified"])
    # The newest verified backup is always kept.
    verified = [b for b in backups if b["verified"]]
    if verified:
        newest = max(verified, key=lambda b: (b["time"], b["id"]))
        assert newest["id"] in kept
        assert "newest verified" in decision["reasons"][newest["id"]]
    # Every kept backup has a reason, no deleted one has.
    assert all(decision["reasons"][i] for i in kept) and not any(decision["reasons"][i] for i in deleted)
    # Idempotent: planning again over what is left (kept and unverified) deletes nothing and keeps the same.
    left = [b for b in backups if b["id"] in set(kept) | set(unverified)]
    again = plan(left, **keep)
    assert again["delete"] == [] and again["keep"] == kept and again["unverified"] == unverified
    # Independent of the input's order.
    shuffled = list(backups)
    random.Random(len(backups)).shuffle(shuffled)
    assert plan(shuffled, **keep) == decision
    # A larger count never keeps less.
    more = plan(backups, **dict((name, value + 1) for name, value in keep.items()))
    assert set(kept) <= set(more["keep"])
