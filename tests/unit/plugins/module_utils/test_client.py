# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils

import pytest
import requests
import responses

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    AtlassianApiError,
    AtlassianClient,
    AtlassianConnectionError,
    backoff_delay,
    parse_retry_after,
    redact_url,
)

BASE = "https://acme.atlassian.net"
TOKEN = "CANARY-unit-token-0123456789"


class FakeTime(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(fake=None, **kwargs):
    fake = fake or FakeTime()
    kwargs.setdefault("retries", 5)
    return AtlassianClient(BASE, auth=("basic", "admin@example.com", TOKEN), sleep=fake.sleep, clock=fake.clock,
                           rand=lambda: 0.5, **kwargs), fake


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(90, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 50, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


def test_backoff_is_capped_and_jittered():
    assert backoff_delay(0, base=1, cap=60, rand=lambda: 1.0) == 1.0
    assert backoff_delay(3, base=1, cap=60, rand=lambda: 1.0) == 8.0
    assert backoff_delay(20, base=1, cap=60, rand=lambda: 1.0) == 60.0
    assert backoff_delay(20, base=1, cap=60, rand=lambda: 0.25) == 15.0


@responses.activate
def test_get_honours_retry_after_in_both_forms():
    client, fake = make_client()
    date = email.utils.formatdate(__import__("time").time() + 30, usegmt=True)
    responses.add(responses.GET, BASE + "/x", status=429, headers={"Retry-After": "7"})
    responses.add(responses.GET, BASE + "/x", status=503, headers={"Retry-After": date})
    responses.add(responses.GET, BASE + "/x", status=502)
    responses.add(responses.GET, BASE + "/x", json={"ok": True})
    response = client.request("GET", "/x")
    assert response.json() == {"ok": True}
    assert fake.sleeps[0] == pytest.approx(7.35)           # 7 s + a little jitter
    assert 25 <= fake.sleeps[1] <= 32                       # the HTTP-date form
    assert fake.sleeps[2] == pytest.approx(0.5)             # backoff: the first counted retry, min(60, 1*2**0)*0.5
    assert [e["reason"] for e in client.retry_log] == ["HTTP 429", "HTTP 503", "HTTP 502"]


@responses.activate
def test_retries_stop_and_error_is_raised():
    client, fake = make_client(retries=2)
    for _i in range(3):
        responses.add(responses.GET, BASE + "/x", status=503, body="down for maintenance")
    with pytest.raises(AtlassianApiError) as info:
        client.request("GET", "/x")
    assert info.value.status == 503 and len(fake.sleeps) == 2
    assert "down for maintenance" in info.value.body


@responses.activate
def test_a_429_that_says_when_to_come_back_is_a_pace_and_does_not_use_up_retries():
    client, fake = make_client(retries=2)
    for _i in range(6):  # a shared rate limit refusing one caller six times in a row (the export bench saw it)
        responses.add(responses.GET, BASE + "/x", status=429, headers={"Retry-After": "2"})
    responses.add(responses.GET, BASE + "/x", status=502)
    responses.add(responses.GET, BASE + "/x", status=502)
    responses.add(responses.GET, BASE + "/x", json={"ok": True})
    assert client.request("GET", "/x").json() == {"ok": True}
    # Six waits as asked, then the two retries of the failures without Retry-After.
    assert fake.sleeps[:6] == [pytest.approx(2.1)] * 6 and len(fake.sleeps) == 8


@responses.activate
def test_paced_waits_are_bounded_in_all_and_in_number():
    client, fake = make_client(retries=2, max_retry_after=60)
    for _i in range(5):
        responses.add(responses.GET, BASE + "/x", status=503, headers={"Retry-After": "20"})
    with pytest.raises(AtlassianApiError) as info:
        client.request("GET", "/x")
    assert info.value.status == 503 and len(fake.sleeps) == 2  # a third 20 s wait would pass 60 s in all

    responses.reset()
    client, fake = make_client(retries=2)
    for _i in range(30):  # "come back now", for ever
        responses.add(responses.GET, BASE + "/x", status=429, headers={"Retry-After": "0"})
    with pytest.raises(AtlassianApiError):
        client.request("GET", "/x")
    assert len(fake.sleeps) == 22  # ten times retries as asked, then the two retries

    responses.reset()
    client, fake = make_client(retries=0)
    responses.add(responses.GET, BASE + "/x", status=429, headers={"Retry-After": "1"})
    with pytest.raises(AtlassianApiError):
        client.request("GET", "/x")
    assert fake.sleeps == []  # retries: 0 disables every retry


@responses.activate
def test_retry_after_beyond_limit_is_not_waited():
    client, fake = make_client(max_retry_after=60)
    responses.add(responses.GET, BASE + "/x", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(AtlassianApiError) as info:
        client.request("GET", "/x")
    assert info.value.retry_after == 3600 and fake.sleeps == []


@responses.activate
def test_post_is_retried_on_429_but_never_on_5xx():
    client, fake = make_client()
    responses.add(responses.POST, BASE + "/start", status=429, headers={"Retry-After": "1"})
    responses.add(responses.POST, BASE + "/start", status=200)
    assert client.request("POST", "/start", json={}).status_code == 200
    assert len(responses.calls) == 2

    responses.reset()
    for status in (503, 502, 504):
        responses.add(responses.POST, BASE + "/start", status=status)
        with pytest.raises(AtlassianApiError):
            client.request("POST", "/start", json={})
    assert len(responses.calls) == 3, "each POST was sent once"


@responses.activate
def test_post_not_resent_after_a_lost_connection_but_get_is():
    client, fake = make_client()
    responses.add(responses.POST, BASE + "/start", body=requests.exceptions.ConnectionError("Connection reset by peer"))
    with pytest.raises(AtlassianConnectionError):
        client.request("POST", "/start", json={})
    assert len(responses.calls) == 1
    responses.add(responses.GET, BASE + "/x", body=requests.exceptions.ConnectionError("Connection reset by peer"))
    responses.add(responses.GET, BASE + "/x", json={})
    responses.replace(responses.GET, BASE + "/x", json={})
    assert client.request("GET", "/x").status_code == 200


@responses.activate
def test_post_is_resent_when_never_connected():
    client, fake = make_client()
    responses.add(responses.POST, BASE + "/start",
                  body=requests.exceptions.ConnectionError("Failed to establish a new connection: refused"))
    responses.add(responses.POST, BASE + "/start", status=200)
    assert client.request("POST", "/start", json={}).status_code == 200


@responses.activate
def test_errors_are_redacted():
    client, fake = make_client(retries=0)
    responses.add(responses.GET, BASE + "/x", status=500,
                  body='{"message":"bad auth for token %s", "Authorization":"Basic abcdefghijkl"}' % TOKEN)
    with pytest.raises(AtlassianApiError) as info:
        client.request("GET", "/x?token=SIGNEDSECRET123&a=1")
    text = str(info.value) + repr(info.value.to_dict())
    assert TOKEN not in text and "SIGNEDSECRET123" not in text and "abcdefghijkl" not in text
    assert "GET https://acme.atlassian.net/x?token=" in text and "HTTP 500" in text


@responses.activate
def test_body_excerpt_is_short():
    client, fake = make_client(retries=0)
    responses.add(responses.GET, BASE + "/x", status=400, body="x" * 10000)
    with pytest.raises(AtlassianApiError) as info:
        client.request("GET", "/x")
    assert len(info.value.body) < 400


@responses.activate
def test_authorization_only_to_own_host_across_redirects():
    client, fake = make_client()
    responses.add(responses.GET, BASE + "/wiki/download/f", status=302,
                  headers={"Location": "https://media.example.com/file/1/binary?token=abc"})
    responses.add(responses.GET, "https://media.example.com/file/1/binary", body=b"zipbytes")
    response = client.resolve_redirects("/wiki/download/f")
    assert response.content == b"zipbytes"
    assert "Authorization" in responses.calls[0].request.headers
    assert "Authorization" not in responses.calls[1].request.headers
    assert responses.calls[0].request.headers["X-Atlassian-Token"] == "no-check"
    assert responses.calls[0].request.headers["Accept"] == "application/json"


def test_redact_url():
    assert redact_url("https://u:p@h/x?token=abc&name=b.zip") == "https://h/x?token=********&name=b.zip"


def test_rejects_non_http_url():
    with pytest.raises(Exception) as info:
        AtlassianClient("acme.atlassian.net", auth=("basic", "u", "t"))
    assert "not an absolute http(s) URL" in str(info.value)


class _RecordingAdapter(requests.adapters.HTTPAdapter):
    def __init__(self):
        super(_RecordingAdapter, self).__init__()
        self.verify_seen = []

    def send(self, request, **kwargs):
        self.verify_seen.append(kwargs.get("verify"))
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        response.url = request.url
        response.request = request
        return response


@pytest.mark.parametrize("validate_certs, ca_path, expected", [
    (False, None, False),
    (True, "/etc/private-ca.pem", "/etc/private-ca.pem"),
    # Without ca_path the environment's bundle is used, as everywhere else in requests.
    (True, None, "/etc/ssl/certs/ca-certificates.crt"),
])
def test_tls_settings_win_over_ca_bundle_environment(monkeypatch, validate_certs, ca_path, expected):
    # requests lets REQUESTS_CA_BUNDLE override a session's verify; the client passes it per request.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = AtlassianClient(BASE, auth=("basic", "u", TOKEN), validate_certs=validate_certs, ca_path=ca_path)
    adapter = _RecordingAdapter()
    client.session.mount("https://", adapter)
    client.request("GET", "/wiki/rest/obm/1.0/getprogress")
    assert adapter.verify_seen == [expected]
