# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AtlassianModule: the thin Ansible base every module of this collection uses.

It merges the connection options (documented once, in the ``connection`` doc
fragment), builds the one HTTP client, and turns the client's typed errors into
``fail_json`` results that say what happened and what to do, never with the
token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import traceback

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.duration import parse_duration
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    AtlassianApiError,
    AtlassianClient,
    AtlassianConnectionError,
    AtlassianError,
    AtlassianTimeout,
    AtlassianTlsError,
    host_of,
)

# A URL inside an error's text (a Snapshots URL carries the endpoint's secret token in its path).
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+")

# How every module that talks to a service talks HTTP (doc fragment ``transport``): what the all-in-one action group
# group/atlassian_ops.backup.atlassian carries, since every module in it takes these options.
_TRANSPORT_SPEC = dict(
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=5),
    retry_max_delay=dict(type="int", default=60),
)

# An account of a site or of the organization (doc fragments ``connection`` and ``org_connection``).
_ACCOUNT_SPEC = dict(
    username=dict(type="str", fallback=(env_fallback, ["ATLASSIAN_USERNAME"])),
    api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["ATLASSIAN_API_TOKEN"])),
)

# A site (doc fragment ``connection``): the options of the action groups cloud and datacenter. Each module takes
# the options of its own connection only; every option of a group is one each of its modules uses.
CONNECTION_SPEC = dict(
    _TRANSPORT_SPEC,
    **dict(
        _ACCOUNT_SPEC,
        url=dict(type="str", fallback=(env_fallback, ["ATLASSIAN_URL"])),
        deployment=dict(type="str", default="cloud", choices=["cloud", "datacenter"]),
        personal_access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["ATLASSIAN_PAT"])),
    )
)

# The organization-level Backup & Restore API (doc fragment ``org_connection``; action group org).
ORG_API_BASE_URL = "https://api.atlassian.com/public/backup-management/v2"
ORG_CONNECTION_SPEC = dict(
    _TRANSPORT_SPEC,
    **dict(
        _ACCOUNT_SPEC,
        org_id=dict(type="str", fallback=(env_fallback, ["ATLASSIAN_ORG_ID"])),
        api_base_url=dict(type="str", default=ORG_API_BASE_URL, fallback=(env_fallback, ["ATLASSIAN_BACKUP_API_URL"])),
        account_id=dict(type="str", fallback=(env_fallback, ["ATLASSIAN_ACCOUNT_ID"])),
    )
)

# The backup endpoint of the Snapshots app (doc fragment ``snapshots_connection``; action group snapshots). ``url``
# names the Confluence site the export belongs to.
SNAPSHOTS_CONNECTION_SPEC = dict(
    _TRANSPORT_SPEC,
    # The web request URL is shown once, like a key: it may carry a secret in its path.
    endpoint=dict(type="str", no_log=True, fallback=(env_fallback, ["SNAPSHOTS_BACKUP_URL"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["SNAPSHOTS_API_KEY"])),
    api_key_header=dict(type="str", default="jira-snapshots-api-key", no_log=False),
    personal_access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["ATLASSIAN_PAT"])),
    url=dict(type="str", fallback=(env_fallback, ["ATLASSIAN_URL"])),
)

# A module that talks to no service (``connection="local"``; action group local): no connection options at all.
LOCAL_SPEC = {}

# Options of modules that download with the shared engine (doc fragment ``download``).
DOWNLOAD_SPEC = dict(
    download_connections=dict(type="int", default=4),
)
MAX_CONNECTIONS = 16

MAX_RETRY_WARNINGS = 3

# The mode of every folder the collection creates for backups, locks or metrics: a backup holds the whole site,
# users included, so only the owner reads it.
FOLDER_MODE = 0o700

# Every secret option of every connection; RAW_SECRETS go into a header or a URL as they are (not base64 encoded).
SECRET_OPTIONS = ("api_token", "personal_access_token", "api_key", "endpoint")
RAW_SECRETS = ("personal_access_token", "api_key", "endpoint")


class AtlassianModule(AnsibleModule):
    """AnsibleModule with the connection options and the client factory."""

    def __init__(self, argument_spec=None, downloads=False, connection="site", datacenter=False, **kwargs):
        """``connection``: V(site), V(org), V(snapshots), or V(local) for a module that talks to no service (no
        connection options, see LOCAL_SPEC; no client, no ``requests`` needed, no ``http_retries`` in its result).
        ``datacenter``: the module talks to Confluence Data Center only."""
        self.connection = connection
        self.datacenter_only = datacenter
        spec = dict({"org": ORG_CONNECTION_SPEC, "snapshots": SNAPSHOTS_CONNECTION_SPEC, "local": LOCAL_SPEC}.get(
            connection, CONNECTION_SPEC))
        if downloads:
            spec.update(DOWNLOAD_SPEC)
        spec.update(argument_spec or {})
        super(AtlassianModule, self).__init__(argument_spec=spec, **kwargs)
        self._given_secrets = [self.params[name] for name in SECRET_OPTIONS
                               if isinstance(self.params.get(name), str) and self.params[name]]
        self._clean_secrets()
        if not HAS_REQUESTS and connection != "local":
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if connection == "site" and not self.params.get("url"):
            self.fail_json(msg="url is required: give the site's base URL, for example https://example.atlassian.net "
                               "(or set ATLASSIAN_URL).")
        if connection == "snapshots" and not self.params.get("endpoint"):
            self.fail_json(msg="endpoint is required: the web request URL the Snapshots app showed (once) in its "
                               "admin tab when the API was set up (or set SNAPSHOTS_BACKUP_URL).")
        if connection == "org" and not self.params.get("org_id"):
            self.fail_json(msg="org_id is required: the organization's id, from the URL of admin.atlassian.com "
                               "(admin.atlassian.com/o/<org_id>/...), or set ATLASSIAN_ORG_ID.")
        connections = self.params.get("download_connections")
        if downloads and not 1 <= connections <= MAX_CONNECTIONS:
            self.fail_json(msg="download_connections must be between 1 and %d (got %s)." % (
                MAX_CONNECTIONS, connections))
        for name in ("timeout", "retries", "retry_max_delay"):
            value = self.params.get(name)
            if value is not None and (value < 0 or (name == "timeout" and value == 0)):
                self.fail_json(msg="%s must be %s (got %s)." % (
                    name, "greater than 0" if name == "timeout" else "0 or more", value))
        self._retry_count = 0
        self._client = None

    def _clean_secrets(self):
        """Secrets as pasted from a vault block scalar end with a line break; requests would then quote a header's
        value in its error, where no redaction finds it. Line breaks at the ends are dropped from every secret; what
        goes raw into a header or a URL (a personal access token, the Snapshots key and endpoint) loses all spaces at
        its ends and may hold none inside; no secret may hold other control characters. Refused values are never
        quoted."""
        p = self.params
        for name in SECRET_OPTIONS:
            value = p.get(name)
            if not isinstance(value, str):
                continue
            value = value.strip() if name in RAW_SECRETS else value.strip("\r\n")
            bad = [char for char in value if ord(char) < 32 or ord(char) == 127 or (name in RAW_SECRETS and char == " ")]
            if bad:
                self.fail_json(msg="%s holds %s (a line break or a tab pasted with it?); fix the value. It is not shown "
                                   "here because it is a secret." % (
                                       name, "spaces or control characters" if name in RAW_SECRETS
                                       else "control characters"))
            p[name] = value or None

    def redact(self, text):
        """``text`` without this run's secrets: the client's redaction, and every secret as given (with its line
        breaks, and as Python would quote it in a traceback)."""
        if not text:
            return text
        if self._client is not None:
            text = self._client.redact(text)
        for secret in self._given_secrets:
            for form in (secret, secret.strip(), repr(secret)[1:-1], repr(secret.strip())[1:-1]):
                if len(form) >= 4:
                    text = text.replace(form, "********")
        return text

    def _on_retry(self, entry):
        self._retry_count += 1
        if self._retry_count <= MAX_RETRY_WARNINGS:
            # Warnings are not masked by no_log: a URL under the Snapshots endpoint (a secret) is named by its host.
            url, reason = entry["url"], self.redact(str(entry["reason"]))
            if self.connection == "snapshots":
                url = "a URL on %s" % host_of(url)
                reason = _URL_IN_TEXT.sub(lambda match: "a URL on %s" % host_of(match.group(0)), reason)
            self.warn("Retrying %s %s (attempt %d) in %.1f s after %s." % (
                entry["method"], url, entry["attempt"], entry["delay"], reason))
        elif self._retry_count == MAX_RETRY_WARNINGS + 1:
            self.warn("More retries follow; their count is in the result as http_retries.")

    @property
    def datacenter(self):
        """Whether this run talks to Confluence Data Center (a Data Center module, or ``deployment: datacenter``)."""
        return self.connection == "site" and (self.datacenter_only or self.params.get("deployment") == "datacenter")

    def _auth(self):
        p = self.params
        if self.connection == "snapshots":
            if not p.get("api_key"):
                self.fail_json(msg="api_key is required (or set SNAPSHOTS_API_KEY): the key created in the Snapshots "
                                   "app's API settings.")
            return ("bearer", p["personal_access_token"]) if p.get("personal_access_token") else None
        if self.datacenter and p.get("personal_access_token"):
            return ("bearer", p["personal_access_token"])
        if not p.get("username") or not p.get("api_token"):
            if self.datacenter:
                self.fail_json(msg="Credentials are required: personal_access_token (or ATLASSIAN_PAT), or "
                                   "username and api_token (or ATLASSIAN_USERNAME and ATLASSIAN_API_TOKEN; on Data "
                                   "Center api_token may be the user's password).")
            self.fail_json(msg="username and api_token are required (or set ATLASSIAN_USERNAME and "
                               "ATLASSIAN_API_TOKEN). Use the e-mail address of %s and a classic, "
                               "unscoped API token." % (
                                   "an organization admin" if self.connection == "org" else "a site admin"))
        return ("basic", p["username"], p["api_token"])

    def client(self, **overrides):
        """The one client of this run (built on first use)."""
        if self._client is not None:
            return self._client
        p = self.params
        auth = self._auth()
        base_url = {"org": p.get("api_base_url"), "snapshots": p.get("endpoint")}.get(self.connection, p.get("url"))
        # Warnings are not masked by no_log: the Snapshots endpoint (a secret URL) is named by its host only.
        shown = base_url
        if self.connection == "snapshots":
            shown = "(the endpoint on %s)" % host_of(base_url)
        if base_url.lower().startswith("http://") and not self.datacenter:
            self.warn("%s %s uses plain http://: credentials and backups travel unencrypted. "
                      "Atlassian Cloud and its apps are served over https://." % (
                          {"org": "api_base_url", "snapshots": "endpoint"}.get(self.connection, "url"), shown))
        if not p["validate_certs"]:
            self.warn("validate_certs is false: the TLS certificate of %s is not checked, so anyone on the path "
                      "could read the API token. Prefer ca_path with your CA bundle." % shown)
        if self.connection == "snapshots":
            overrides = dict(overrides)
            overrides.setdefault("auth_headers", {p["api_key_header"]: p["api_key"]})
            # The web request URL is a secret too: redact it, and its path, wherever the client quotes a text.
            path = urlsplit(p["endpoint"]).path.rstrip("/")
            overrides.setdefault("secret_strings", [p["endpoint"]] + ([path] if len(path) > 1 else []) +
                                 [seg for seg in path.split("/") if len(seg) >= 12])
        if self.connection == "org" and p.get("account_id"):
            overrides = dict(overrides)
            overrides.setdefault("extra_headers", {"X-Atl-Account-Id": p["account_id"]})
        kwargs = dict(
            auth=auth,
            timeout=p["timeout"],
            validate_certs=p["validate_certs"],
            ca_path=p.get("ca_path"),
            retries=p["retries"],
            retry_max_delay=p["retry_max_delay"],
            on_retry=self._on_retry,
        )
        kwargs.update(overrides)
        try:
            self._client = AtlassianClient(base_url, **kwargs)
        except AtlassianError as exc:
            self.fail_json(msg=exc.message)
        return self._client

    @property
    def http_retries(self):
        return self._retry_count

    def fail_from_exception(self, exc, action, **extra):
        """fail_json for a client error, with a hint of what to do."""
        result = dict(extra)
        result["http_retries"] = self._retry_count
        if isinstance(exc, AtlassianApiError):
            hint = api_error_hint(exc, "datacenter" if self.datacenter else self.connection)
            if self.connection == "snapshots" and exc.url:
                exc.url = "a URL on %s" % host_of(exc.url)
            result.update(exc.to_dict())
            msg = "Failed to %s: HTTP %s%s from %s %s." % (
                action, exc.status, (" " + exc.reason) if exc.reason else "", exc.method, exc.url)
            if exc.body:
                msg += " The service said: %s" % exc.body
            if hint:
                msg += " " + hint
        elif isinstance(exc, AtlassianTlsError):
            result.update(exc.to_dict())
            msg = "Failed to %s: %s" % (action, exc.message)
        elif isinstance(exc, AtlassianTimeout):
            result.update(exc.to_dict())
            msg = "Failed to %s: %s. The site did not answer in time; raise timeout or check the network." % (
                action, exc.message)
        elif isinstance(exc, AtlassianConnectionError):
            result.update(exc.to_dict())
            msg = "Failed to %s: %s. Check %s, DNS, proxies and TLS (validate_certs, ca_path)." % (
                action, exc.message, {"org": "api_base_url", "snapshots": "endpoint"}.get(self.connection, "url"))
        else:
            result.update(exc.to_dict() if hasattr(exc, "to_dict") else {})
            msg = "Failed to %s: %s" % (action, getattr(exc, "message", str(exc)))
        msg = self.redact(msg)
        if self.connection == "snapshots" and result.get("url") and not str(result["url"]).startswith("a URL on"):
            result["url"] = "a URL on %s" % host_of(result["url"])
        self.fail_json(msg=msg, **result)

    def run_guarded(self, func, action):
        """Call ``func(self)`` and turn client errors into fail_json."""
        try:
            return func(self)
        except TaskFailed as exc:
            fields = dict(exc.fields)
            fields.pop("msg", None)
            if self.connection != "local":
                fields["http_retries"] = self._retry_count
            self.fail_json(msg=self.redact(exc.msg), **fields)
        except AtlassianError as exc:
            self.fail_from_exception(exc, action)
        except Exception as exc:  # noqa: pylint: disable=broad-except
            msg = "Failed to %s: unexpected %s: %s" % (action, type(exc).__name__, exc)
            self.fail_json(msg=self.redact(msg), exception=self.redact(traceback.format_exc()))
        finally:
            if self._client is not None:
                self._client.close()


def check_dest(module, dest):
    """Make sure ``dest`` is a folder this run can write backups into (created, mode 0700, if missing).

    In check mode nothing is created. Fails with what is wrong and what to do.
    """
    if os.path.exists(dest) and not os.path.isdir(dest):
        module.fail_json(msg="dest %s exists and is not a folder." % dest)
    if module.check_mode:
        return
    if not os.path.exists(dest):
        try:
            os.makedirs(dest, FOLDER_MODE)
            os.chmod(dest, FOLDER_MODE)  # exactly, whatever the umask
        except OSError as exc:
            module.fail_json(msg="Could not create dest %s: %s" % (dest, _os_problem(exc)))
        return
    if _read_only(dest):
        module.fail_json(msg="dest %s is on a read-only file system; choose a folder on a writable one (or remount "
                             "it read-write)." % dest)
    if not os.access(dest, os.W_OK | os.X_OK):
        module.fail_json(msg="dest %s is not writable by this user (uid %d); fix its owner or mode, or choose "
                             "another folder." % (dest, os.getuid()))


def _read_only(path):
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _os_problem(exc):
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied for uid %d" % os.getuid()
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return exc.strerror or str(exc)


def api_error_hint(exc, connection="site"):
    if connection == "org":
        return org_api_error_hint(exc)
    if connection == "datacenter":
        return datacenter_api_error_hint(exc)
    if connection == "snapshots":
        return snapshots_api_error_hint(exc)
    if exc.status == 401:
        return ("The credentials were refused: check username (the account's e-mail address) and api_token "
                "(a classic, unscoped API token that has not expired).")
    if exc.status == 403:
        return "The account is not allowed to do this: it must be a Confluence (site) administrator."
    if exc.status == 404:
        return "Check url: it must be the site's base URL, for example https://example.atlassian.net."
    if exc.status == 429:
        return "The service kept rate-limiting after all retries; run again later or raise retries."
    if exc.status in (502, 503, 504):
        return "The service is unavailable; run again later."
    return ""


def snapshots_api_error_hint(exc):
    if exc.status in (401, 403):
        return ("The Snapshots app refused the credentials: check api_key (the key the app's API settings showed "
                "once), api_key_header, and on Confluence Data Center 9.x personal_access_token.")
    if exc.status == 404:
        return ("Check endpoint: it must be the web request URL the Snapshots app's API settings showed, as it was "
                "shown; enabling the API again gives a new one.")
    if exc.status == 429:
        return "The app kept rate-limiting after all retries; run again later or raise retries."
    if exc.status in (502, 503, 504):
        return "The app is unavailable; run again later."
    return ""


def datacenter_api_error_hint(exc):
    if exc.status == 401:
        return ("The credentials were refused: check personal_access_token, or username and api_token (on Data "
                "Center the user's password or a token your identity provider issues).")
    if exc.status == 403:
        return ("The account is not allowed to do this: site backups, restores and the job queue need a Confluence "
                "system administrator; a space backup needs export permission for every space.")
    if exc.status == 404:
        return ("Check url: it must be the server's base URL with its context path, for example "
                "https://wiki.example.com/confluence, and the server must run Confluence Data Center 8.3 or later "
                "(the version that brought the backup and restore API).")
    if exc.status == 429:
        return "The server kept rate-limiting after all retries; run again later or raise retries."
    if exc.status in (502, 503, 504):
        return "The server or a proxy in front of it is unavailable; run again later."
    return ""


def org_api_error_hint(exc):
    if exc.status == 401:
        return ("The credentials were refused: username must be the e-mail address of an organization admin and "
                "api_token a classic API token of that account (the Backup & Restore API uses basic authentication, "
                "not an organization API key).")
    if exc.status == 403:
        return ("The account is not allowed to do this: it must be an organization admin, and the organization "
                "must be enrolled in Atlassian's backup and restore program (Enterprise plan).")
    if exc.status == 404:
        return ("Check org_id (the id in admin.atlassian.com/o/<org_id>/...), the ids in the task (cloud_id, "
                "policy_id, backup_id) and api_base_url (%s by default)." % ORG_API_BASE_URL)
    if exc.status == 429:
        return "The service kept rate-limiting after all retries; run again later or raise retries."
    if exc.status in (502, 503, 504):
        return "The service is unavailable; run again later."
    return ""


# Options of modules that start a job and can wait for it (doc fragment ``wait``).
WAIT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="raw", default="8h"),
    poll_interval=dict(type="raw", default="30s"),
)


def module_params(module, durations=(), optional=()):
    """The module's parameters with ``durations`` (and ``optional`` ones, None when unset) in seconds.

    ``<name>_text`` keeps each duration as the user wrote it, for messages ("24h", not "1d").
    """
    params = dict(module.params)
    try:
        for name in tuple(durations) + tuple(optional):
            value = module.params.get(name)
            if name in optional and value in (None, ""):
                params[name] = None
                params[name + "_text"] = None
                continue
            params[name] = parse_duration(value, name)
            params[name + "_text"] = str(value)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if "poll_interval" in durations and params["poll_interval"] <= 0:
        module.fail_json(msg="poll_interval must be greater than 0 (got %r)." % module.params["poll_interval"])
    params["check_mode"] = module.check_mode
    return params


def run_module(argument_spec, run, action, connection="site", wait=False, durations=(), optional_durations=(),
               prepare=None, **kwargs):
    """main() of a module: options, durations, client, errors, exit.

    ``run(module, params)`` returns the result dict or raises ``TaskFailed``; ``params`` are the module's
    parameters with durations in seconds (``wait_timeout`` and ``poll_interval`` with ``wait``).
    ``prepare(module, params)`` checks the options before any request. ``action`` completes "Failed to ...".
    """
    spec = dict(argument_spec)
    if wait:
        spec.update(WAIT_SPEC)
        durations = ("wait_timeout", "poll_interval") + tuple(durations)
    module = AtlassianModule(argument_spec=spec, connection=connection, **kwargs)
    params = module_params(module, durations, optional_durations)
    if prepare is not None:
        prepare(module, params)
    result = module.run_guarded(lambda mod: run(mod, params), action)
    if connection != "local":
        result["http_retries"] = module.http_retries
    module.exit_json(**result)
