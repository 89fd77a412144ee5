# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How a module reaches the backup endpoint of the Snapshots app.
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - The web request URL of the Snapshots app's backup API, as its admin tab showed it (once) when the API was
        set up.
      - Required. If not set, the value of the E(SNAPSHOTS_BACKUP_URL) environment variable is used.
      - Treated as a secret, because it is shown once like a key. It is never logged or returned, and manifests
        record its host only.
    type: str
  api_key:
    description:
      - The API key created in the Snapshots app, sent in the O(api_key_header) header.
      - Required. If not set, the value of the E(SNAPSHOTS_API_KEY) environment variable is used.
      - Never logged, never returned, and sent to O(endpoint)'s scheme, host and port only (never to the storage a
        download may be redirected to).
    type: str
  api_key_header:
    description:
      - The header that carries O(api_key). The default is the one the vendor documents for its automation
        endpoints.
    type: str
    default: jira-snapshots-api-key
  personal_access_token:
    description:
      - A Confluence personal access token, sent as a C(Bearer) C(Authorization) header; the vendor asks for one on
        Confluence Data Center 9.x.
      - If not set, the value of the E(ATLASSIAN_PAT) environment variable is used. Never logged or returned; sent
        to O(endpoint)'s host only.
    type: str
  url:
    description:
      - The Confluence site the export belongs to, for example V(https://example.atlassian.net). It names the file
        (C(snapshots-<site host>-<UTC time>.zip)) and is recorded in the manifest.
      - If not set, the value of the E(ATLASSIAN_URL) environment variable is used, else the host of O(endpoint).
    type: str
"""
