# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests for every parser of service or user text not covered in test_api_obm.py.

Each parser either returns a value of the promised shape or raises its own documented error;
nothing else escapes, whatever the input.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.atlassian_ops.backup.plugins.module_utils.cloud import api as obm
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import parse_retry_after, redact_url
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import (
    format_duration,
    parse_duration,
    parse_service_duration,
)
from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import parse_content_range

TEXT = st.one_of(st.text(max_size=200), st.text(alphabet="0123456789 dhmsw.-:/*bytes", max_size=40))


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_percentage_is_none_or_0_to_100(text):
    value = obm.parse_percentage(text)
    assert value is None or 0 <= value <= 100


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_download_path_is_safe_or_refused(text):
    try:
        path = obm.download_path(text)
    except obm.UnsafeFileName:
        return
    assert path.startswith("/wiki/download/temp/filestore/")
    segments = path.split("/")[1:]
    assert all(seg not in ("", ".", "..") for seg in segments), path
    assert not any(ch in path for ch in "\n\r\t\\?#%;") and path.isprintable(), path


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_cloud_history_never_crashes(text):
    value = obm.parse_cloud_history(text)
    assert value is None or isinstance(value, dict)


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, st.integers(min_value=-10 ** 6, max_value=10 ** 9), st.floats(allow_nan=False),
                 st.booleans(), st.none()))
def test_user_durations_are_seconds_or_a_named_error(value):
    try:
        seconds = parse_duration(value, "wait_timeout")
    except ValueError as exc:
        assert "wait_timeout" in str(exc)
        return
    except TypeError:
        assert value is None
        return
    assert seconds >= 0 and not math.isnan(seconds)


@given(st.integers(min_value=0, max_value=10 ** 8))
def test_format_then_parse_duration_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_service_durations_are_none_or_non_negative(text):
    value = parse_service_duration(text)
    assert value is None or value >= 0


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, st.none()))
def test_retry_after_is_none_or_non_negative(text):
    value = parse_retry_after(text)
    assert value is None or value >= 0


@given(st.integers(min_value=0, max_value=10 ** 6))
def test_retry_after_http_date_is_understood(delay):
    now = 1767225600.0
    value = parse_retry_after(email.utils.formatdate(now + delay, usegmt=True), now=now)
    assert abs(value - delay) <= 1


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_content_range_is_none_or_ordered(text):
    value = parse_content_range(text)
    if value is not None:
        start, end, total = value
        assert 0 <= start and 0 <= end and (total is None or total >= 0)


@given(st.integers(min_value=0, max_value=10 ** 12), st.integers(min_value=0, max_value=10 ** 12),
       st.one_of(st.none(), st.integers(min_value=1, max_value=10 ** 12)))
def test_content_range_round_trips(start, end, total):
    header = "bytes %d-%d/%s" % (start, end, "*" if total is None else total)
    assert parse_content_range(header) == (start, end, total)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_redact_url_never_shows_a_token_value(secret):
    url = "https://media.example.com/file/x/binary?token=%s&client=1" % secret.replace("&", "").replace("#", "")
    redacted = redact_url(url)
    value = secret.replace("&", "").replace("#", "")
    # A value made of the mask's own character ("****") cannot be told from the mask "********" by a substring.
    if len(value) >= 4 and "token=" not in value and value.strip("*"):
        assert "token=" + value not in redacted
