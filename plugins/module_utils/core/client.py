# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for every Atlassian API this collection talks to.

This file has no Ansible imports on purpose: it is unit-tested on its own and
can be reused by lookups or scripts. The Ansible side lives in ``_module.py``.

Rules (see STYLE.md):

* one ``requests.Session`` per run, a timeout on every call;
* Authorization is sent only to the configured host (never to a redirect
  target such as the media host that serves signed download links);
* retries on 429/502/503/504 and connection errors, honouring ``Retry-After``; a 429 or 503 with ``Retry-After``
  is waited for as asked without using up ``retries`` (bounded by ``max_retry_after`` in all)
  (seconds or HTTP date), otherwise full-jitter exponential backoff capped at
  ``retry_max_delay``;
* a POST is retried only when the service certainly did not act on it
  (429, or a connection that was never established), unless the caller opts in;
* errors carry method, URL, status and a short body excerpt and never the
  token, the Authorization header or a signed ``token=`` query.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import email.utils
import json
import random
import re
import time
import traceback

try:
    import requests
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout, ReadTimeout, ChunkedEncodingError, SSLError
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the sanity import test
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

try:
    from urllib.parse import urlsplit, urlunsplit, urljoin, parse_qsl, urlencode
except ImportError:  # pragma: no cover - Python 2 is not supported, keep sanity quiet
    from urlparse import urlsplit, urlunsplit, urljoin, parse_qsl  # type: ignore
    from urllib import urlencode  # type: ignore

USER_AGENT = "atlassian_ops.backup (+https://github.com/atlassian-ops/backup)"
RETRY_STATUSES = frozenset((429, 502, 503, 504))
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
BODY_EXCERPT = 300
REDACTED = "********"
# Query parameters whose values are credentials (signed media links).
SECRET_QUERY_KEYS = ("token", "signature", "sig", "x-amz-signature", "client", "access_token", "jwt")
_TOKEN_LIKE = re.compile(r"(?i)(bearer|basic|token|api[_-]?key|password|secret|jwt)([\"'=: ]+)([A-Za-z0-9._~+/=-]{8,})")


class AtlassianError(Exception):
    """Base class of every error this client raises."""

    def __init__(self, message, method=None, url=None):
        super(AtlassianError, self).__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def to_dict(self):
        return {"method": self.method, "url": self.url}


class AtlassianTlsError(AtlassianError):
    """The TLS handshake failed (certificate not trusted, wrong host name, ...). Never retried."""


def tls_error(exc, method, url):
    """An :class:`AtlassianTlsError` that says what to do, for a ``requests`` SSLError."""
    text = _short_exc(exc)
    host = urlsplit(url).netloc
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        what = "the TLS certificate of %s is not trusted (%s)" % (host, _ssl_reason(text))
        hint = ("If the site uses a private or self-signed CA, give its PEM bundle in ca_path; validate_certs: false "
                "turns the check off and exposes the API token to anyone on the path.")
    else:
        what = "the TLS handshake with %s failed (%s)" % (host, text[:200])
        hint = "Check that url uses the right scheme and port, and any proxy between here and the site."
    return AtlassianTlsError("%s %s: %s. %s" % (method, redact_url(url), what, hint), method, redact_url(url))


def _ssl_reason(text):
    match = re.search(r"certificate verify failed: ([^(')\]]+)", text)
    return match.group(1).strip() if match else "certificate verify failed"


class AtlassianApiError(AtlassianError):
    """The service answered with an unexpected HTTP status."""

    def __init__(self, status, method, url, reason="", body="", request_id=None, retry_after=None, redirected=None):
        self.status = status
        self.reason = reason or ""
        self.body = body or ""
        self.request_id = request_id
        self.retry_after = retry_after
        # redirected: (method, url) of the request that got this answer, when a redirect led there from ours.
        asked = "%s %s" % (method, url) if not redirected else "%s %s, redirected to %s %s," % (
            method, url, redirected[0], redirected[1])
        msg = "%s answered HTTP %s%s" % (asked, status, (" " + self.reason) if self.reason else "")
        if self.body:
            msg += ": %s" % self.body
        super(AtlassianApiError, self).__init__(msg, method, url)

    def to_dict(self):
        return {"method": self.method, "url": self.url, "http_status": self.status,
                "response": self.body, "request_id": self.request_id}


class AtlassianConnectionError(AtlassianError):
    """The connection failed (refused, reset, DNS, TLS)."""


class AtlassianTimeout(AtlassianError):
    """The service did not answer within the timeout."""


def redact_url(url):
    """Drop user info and the values of credential-bearing query parameters."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            pairs.append((key, REDACTED if key.lower() in SECRET_QUERY_KEYS else value))
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text, secrets=()):
    """Remove known secrets and token-like values from free text."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
            try:
                text = text.replace(base64.b64encode(secret.encode("utf-8")).decode("ascii"), REDACTED)
            except Exception:  # pragma: no cover - defensive
                pass
    return _TOKEN_LIKE.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def parse_retry_after(value, now=None):
    """Return the delay in seconds a ``Retry-After`` header asks for, or None.

    Accepts both forms of RFC 9110: delta-seconds (``"120"``) and an HTTP date
    (``"Wed, 21 Oct 2015 07:28:00 GMT"``). A date in the past means 0.
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    if re.match(r"^\d+(\.\d+)?$", value):
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when - now)


def parse_http_date(value):
    """Epoch seconds of an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``), or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC dates are GMT; parsedate_to_datetime returns naive for "-0000".
        from datetime import timezone
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def backoff_delay(attempt, base=1.0, cap=60.0, rand=random.random):
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(float(cap), float(base) * (2 ** attempt))
    return ceiling * rand()


def excerpt(response, secrets=(), limit=BODY_EXCERPT):
    """A short, redacted, single-line excerpt of a response body."""
    try:
        text = response.text
    except Exception:  # pragma: no cover - defensive
        return ""
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return redact_text(text, secrets)


def host_of(url):
    """``host[:port]`` of a URL, without scheme, credentials or path (``?`` when it has no host)."""
    parts = urlsplit(url or "")
    return "%s%s" % (parts.hostname or "?", (":%d" % parts.port) if parts.port else "")


def read_json(client, response, limit, error_class):
    """The JSON document of an answer (None for an empty body), read up to ``limit`` bytes.

    A body that is not JSON raises ``error_class`` quoting it, redacted with the client's secrets.
    """
    text = read_limited(response, limit, client.secrets)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise error_class("%s %s answered HTTP %s with a body that is not JSON: %s" % (
            response.request.method if response.request else "", client.redact(response.url or ""),
            response.status_code, client.redact(clip(text))))


def clip(text, limit=500):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + "..."


def _request_id(response):
    for name in ("X-Arequestid", "Atl-Traceid", "X-Request-Id", "X-Trace-Id"):
        value = response.headers.get(name)
        if value:
            return value
    return None


class AtlassianClient(object):
    """HTTP client bound to one base URL and one set of credentials.

    ``auth`` is either ``("basic", username, token)``, ``("bearer", token)`` or
    None. ``auth_headers`` are more credentials (an API key header): like
    Authorization they go to the client's own host only and are redacted.
    ``sleep``, ``clock`` and ``rand`` are injectable so that tests never
    sleep for real.
    """

    def __init__(self, base_url, auth=None, timeout=30, validate_certs=True, ca_path=None,
                 retries=5, retry_max_delay=60.0, retry_base_delay=1.0, max_retry_after=900.0,
                 user_agent=USER_AGENT, extra_headers=None, on_retry=None, auth_headers=None, secret_strings=(),
                 sleep=time.sleep, clock=time.monotonic, rand=random.random, session=None):
        if not HAS_REQUESTS:
            raise AtlassianError("The Python library 'requests' is required.")
        base_url = (base_url or "").strip()
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AtlassianError("The URL %r is not an absolute http(s) URL, for example https://example.atlassian.net" % redact_url(base_url))
        self.base_url = base_url.rstrip("/")
        self.base_parts = urlsplit(self.base_url)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.retry_max_delay = float(retry_max_delay)
        self.retry_base_delay = float(retry_base_delay)
        self.max_retry_after = float(max_retry_after)
        self.on_retry = on_retry
        self.sleep = sleep
        self.clock = clock
        self.rand = rand
        self._auth_header = None
        self._secrets = []
        if auth:
            if auth[0] == "basic":
                user, token = auth[1], auth[2]
                raw = ("%s:%s" % (user or "", token or "")).encode("utf-8")
                self._auth_header = "Basic " + base64.b64encode(raw).decode("ascii")
                self._secrets.append(token)
            elif auth[0] == "bearer":
                self._auth_header = "Bearer " + auth[1]
                self._secrets.append(auth[1])
            else:
                raise AtlassianError("Unknown authentication scheme %r" % (auth[0],))
        self._auth_headers = dict(auth_headers or {})
        self._secrets.extend(value for value in self._auth_headers.values() if value)
        # Longest first, so that a secret URL is redacted whole before its path is.
        self._secrets.extend(sorted((s for s in secret_strings if s), key=len, reverse=True))
        self._verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        self._session_headers = {
            "User-Agent": user_agent,
            "Accept": "application/json",
            "X-Atlassian-Token": "no-check",
        }
        if extra_headers:
            self._session_headers.update(extra_headers)
        self.session = self.new_session(session)
        self.retry_log = []

    def new_session(self, session=None):
        """A ``requests.Session`` configured like this client's (TLS, proxies, headers).

        Parallel download workers each take their own, so no connection pool
        or cookie jar is shared between threads. Authorization is never set on
        a session: it is added per request, for our own host only.
        """
        session = session or requests.Session()
        session.auth = None
        session.trust_env = True
        session.verify = self._verify
        session.headers.update(self._session_headers)
        return session

    # ------------------------------------------------------------------ helpers
    @property
    def secrets(self):
        return [s for s in self._secrets if s]

    def url_for(self, path_or_url):
        if re.match(r"^https?://", path_or_url or ""):
            return path_or_url
        return self.base_url + "/" + (path_or_url or "").lstrip("/")

    def is_own_host(self, url):
        parts = urlsplit(url)
        return (parts.scheme, parts.hostname, parts.port) == (
            self.base_parts.scheme, self.base_parts.hostname, self.base_parts.port)

    def headers_for(self, url, headers=None):
        merged = dict(headers or {})
        if self.is_own_host(url):
            if self._auth_header:
                merged["Authorization"] = self._auth_header
            merged.update(self._auth_headers)
        return merged

    def redact(self, text):
        return redact_text(text, self.secrets)

    def _retry_allowed(self, method, retry, status=None, exc=None):
        if retry is not None:
            return bool(retry)
        if method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
            return True
        # Non-idempotent: only when the service certainly did not act on it.
        if status == 429:
            return True
        if exc is not None and isinstance(exc, ConnectTimeout):
            return True
        if exc is not None and _never_connected(exc):
            return True
        return False

    def _notify(self, attempt, delay, reason, method, url):
        entry = {"attempt": attempt, "delay": round(delay, 3), "reason": reason,
                 "method": method, "url": redact_url(url)}
        self.retry_log.append(entry)
        if self.on_retry:
            self.on_retry(entry)

    # ------------------------------------------------------------------ request
    def request(self, method, path_or_url, json=None, data=None, params=None, headers=None,
                expected=None, retry=None, stream=False, allow_redirects=False, timeout=None,
                deadline=None):
        """Send one request with the retry policy; return the ``requests.Response``.

        ``expected`` is a tuple of acceptable statuses (default: any 2xx).
        Other statuses raise :class:`AtlassianApiError` after retries.
        ``deadline`` is an absolute ``clock()`` value retries never pass.
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        safe_url = redact_url(url)
        attempt = 0      # every retry, for the log
        counted = 0      # the retries ``retries`` bounds
        told = 0.0       # seconds waited as 429/503 answers' Retry-After asked
        while True:
            try:
                response = self._send_following(method, url, json=json, data=data, params=params,
                                                headers=headers, stream=stream,
                                                allow_redirects=allow_redirects,
                                                timeout=timeout or self.timeout)
            except SSLError as exc:
                raise tls_error(exc, method, url)
            except (RequestsConnectionError, ReadTimeout, ChunkedEncodingError) as exc:
                timed_out = isinstance(exc, (ReadTimeout, ConnectTimeout))
                if counted < self.retries and self._retry_allowed(method, retry, exc=exc):
                    delay = backoff_delay(counted, self.retry_base_delay, self.retry_max_delay, self.rand)
                    if self._fits(delay, deadline):
                        attempt += 1
                        counted += 1
                        self._notify(attempt, delay, "timeout" if timed_out else "connection error", method, url)
                        self.sleep(delay)
                        continue
                cls = AtlassianTimeout if timed_out else AtlassianConnectionError
                raise cls("%s %s failed after %d attempt(s) (%d retried): %s (%s)" % (
                    method, safe_url, attempt + 1, attempt, connection_problem(exc, url, self.timeout),
                    self.redact(_short_exc(exc))), method, safe_url)

            status = response.status_code
            ok = (status in expected) if expected else (200 <= status < 300)
            if ok:
                return response
            if status in RETRY_STATUSES and self.retries and self._retry_allowed(method, retry, status=status):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                # A 429 or 503 that says when to come back is a pace, not a failure: it is waited for as asked, and
                # does not use up ``retries``; such waits are bounded by max_retry_after in all (and the answers by
                # ten times ``retries``, for a service that keeps saying "now").
                paced = retry_after is not None and status in (429, 503) and attempt < 10 * self.retries
                if retry_after is not None:
                    delay = retry_after + min(1.0, retry_after * 0.1) * self.rand()
                    if delay > self.max_retry_after:
                        raise self._api_error(response, method, url, retry_after=retry_after)
                else:
                    delay = backoff_delay(counted, self.retry_base_delay, self.retry_max_delay, self.rand)
                if paced and told + delay > self.max_retry_after:
                    raise self._api_error(response, method, url, retry_after=retry_after)
                if (paced or counted < self.retries) and self._fits(delay, deadline):
                    response.close()
                    attempt += 1
                    if paced:
                        told += delay
                    else:
                        counted += 1
                    self._notify(attempt, delay, "HTTP %d" % status, method, url)
                    self.sleep(delay)
                    continue
            raise self._api_error(response, method, url)

    def _fits(self, delay, deadline):
        return deadline is None or self.clock() + delay < deadline

    def _api_error(self, response, method, url, retry_after=None):
        body = excerpt(response, self.secrets)
        response.close()
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        final = response.request
        redirected = None
        if final is not None and getattr(response, "redirect_hops", 0):
            redirected = (final.method, redact_url(final.url))
        return AtlassianApiError(response.status_code, method, redact_url(url), response.reason or "",
                                 body, _request_id(response), retry_after, redirected)

    def _send_following(self, method, url, allow_redirects=False, **kwargs):
        """Send, and follow redirects by hand so Authorization never leaves our host."""
        hops = 0
        while True:
            response = self._send(method, url, **kwargs)
            response.redirect_hops = hops
            if not allow_redirects or response.status_code not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location")
            if not location:
                return response
            hops += 1
            if hops > 10:
                response.close()
                raise AtlassianConnectionError("%s %s: more than 10 redirects" % (method, redact_url(url)),
                                               method, redact_url(url))
            response.close()
            url = urljoin(url, location)
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method = "GET"
                kwargs["json"] = None
                kwargs["data"] = None

    def _send(self, method, url, json=None, data=None, params=None, headers=None, stream=False, timeout=None,
              session=None):
        # verify is passed per request: set on the session only, requests lets REQUESTS_CA_BUNDLE or
        # CURL_CA_BUNDLE from the environment override it, and ca_path or validate_certs: false would be ignored.
        return (session or self.session).request(method, url, json=json, data=data, params=params,
                                                 headers=self.headers_for(url, headers), stream=stream,
                                                 allow_redirects=False, timeout=timeout, verify=self._verify)

    def resolve_redirects(self, url, headers=None, timeout=None, session=None):
        """GET ``url`` with stream=True, following redirects safely; return the final response."""
        return self._send_following("GET", self.url_for(url), headers=headers, stream=True,
                                    allow_redirects=True, timeout=timeout or self.timeout, session=session)

    def close(self):
        self.session.close()


class ResponseTooLarge(AtlassianError):
    """A body that should be small (JSON, text) went past the size limit."""


def read_limited(response, limit=2 * 1024 * 1024, secrets=()):
    """Read a streamed response body as text, refusing more than ``limit`` bytes.

    Protects against endless or enormous bodies where a small JSON document is
    expected. The response is closed.
    """
    chunks = []
    size = 0
    try:
        for block in response.iter_content(64 * 1024):
            size += len(block)
            if size > limit:
                raise ResponseTooLarge("%s %s: the response body is larger than %d bytes where a small document "
                                       "was expected; refusing to read it." % (
                                           response.request.method if response.request else "GET",
                                           redact_url(response.url), limit))
            chunks.append(block)
    finally:
        response.close()
    raw = b"".join(chunks)
    encoding = response.encoding or "utf-8"
    try:
        return raw.decode(encoding, "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def connection_problem(exc, url, timeout):
    """What went wrong reaching ``url``, in words that name the host."""
    host = urlsplit(url).hostname or url
    text = repr(exc)
    if any(m in text for m in ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
                               "Temporary failure in name resolution", "No address associated")):
        return "the host name %s does not resolve (DNS); check url for a typo" % host
    if "Connection refused" in text:
        return "%s refused the connection; check url's host and port" % host
    if isinstance(exc, (ConnectTimeout, ReadTimeout)) or "timed out" in text:
        return "%s did not answer within timeout (%s s)" % (host, timeout)
    return "could not talk to %s" % host


def _never_connected(exc):
    """True when a ConnectionError happened before any byte was sent."""
    text = repr(exc)
    return any(marker in text for marker in ("NewConnectionError", "Connection refused",
                                             "Name or service not known", "nodename nor servname",
                                             "Failed to establish a new connection"))


def _short_exc(exc):
    text = str(exc)
    text = re.sub(r"\s+", " ", text)
    return text[:300]
