# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How every module of this collection reaches an Atlassian site.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the site, for example V(https://example.atlassian.net).
      - Required. If not set, the value of the E(ATLASSIAN_URL) environment variable is used; when neither is set
        the task fails before any request.
      - A plain C(http://) URL for a Cloud site gets a warning.
    type: str
  username:
    description:
      - E-mail address of the account (Cloud) used with O(api_token) for basic authentication.
      - The account must be a site (Confluence) administrator.
      - If not set, the value of the E(ATLASSIAN_USERNAME) environment variable is used.
    type: str
  api_token:
    description:
      - API token of O(username). Use a classic, unscoped token; scoped tokens are refused by the backup endpoints.
      - If not set, the value of the E(ATLASSIAN_API_TOKEN) environment variable is used.
      - Never logged, never returned, never sent to any host but O(url)'s.
    type: str
  deployment:
    description:
      - Where the site runs. Only V(cloud) is implemented in this release; V(datacenter) is reserved and fails
        with a clear message.
    type: str
    choices: [cloud, datacenter]
    default: cloud
  org_id:
    description:
      - Not used by this module. Accepted so that one C(module_defaults) for C(group/atlassian_ops.backup.atlassian)
        can carry the options of every module of the collection (see the C(org_connection) modules).
    type: str
  api_base_url:
    description:
      - Not used by this module; accepted for shared C(module_defaults) like O(org_id).
    type: str
  account_id:
    description:
      - Not used by this module; accepted for shared C(module_defaults) like O(org_id).
    type: str
"""
