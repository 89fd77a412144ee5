# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How the modules of the organization-level Backup & Restore API reach it.
    DOCUMENTATION = r"""
options:
  org_id:
    description:
      - The organization's id, as in the URL of admin.atlassian.com (C(admin.atlassian.com/o/<org_id>/...)).
      - Required. If not set, the value of the E(ATLASSIAN_ORG_ID) environment variable is used; when neither is
        set the task fails before any request.
    type: str
  username:
    description:
      - E-mail address of an organization admin, used with O(api_token) for basic authentication (the Backup &
        Restore API does not take organization API keys).
      - If not set, the value of the E(ATLASSIAN_USERNAME) environment variable is used.
    type: str
  api_token:
    description:
      - A classic API token of O(username).
      - If not set, the value of the E(ATLASSIAN_API_TOKEN) environment variable is used.
      - Never logged, never returned, never sent to any host but O(api_base_url)'s.
    type: str
  api_base_url:
    description:
      - Base URL of the API; the paths C(orgs/{orgId}/...) are appended to it.
      - If not set, the value of the E(ATLASSIAN_BACKUP_API_URL) environment variable is used, else the default.
    type: str
    default: https://api.atlassian.com/public/backup-management/v2
  account_id:
    description:
      - The Atlassian account id of O(username), sent as the C(X-Atl-Account-Id) header, which some endpoints of
        the API require.
      - If not set, the value of the E(ATLASSIAN_ACCOUNT_ID) environment variable is used; without it the header
        is not sent.
    type: str
"""
