# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # How the modules of a Confluence site (action groups cloud and datacenter) reach it.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the site, for example V(https://example.atlassian.net) (Cloud) or
        V(https://wiki.example.com/confluence) (Data Center, with the context path if Confluence has one).
      - Required. If not set, the value of the E(ATLASSIAN_URL) environment variable is used; when neither is set
        the task fails before any request.
      - A plain C(http://) URL for a Cloud site gets a warning.
    type: str
  username:
    description:
      - The account used with O(api_token) for basic authentication. On Cloud its e-mail address; on Data Center its
        user name.
      - The account must be a site (Confluence) administrator; on Data Center a system administrator for site
        backups, restores and the job queue.
      - If not set, the value of the E(ATLASSIAN_USERNAME) environment variable is used.
    type: str
  api_token:
    description:
      - API token of O(username). On Cloud use a classic, unscoped token; scoped tokens are refused by the backup
        endpoints. On Data Center it may be the user's password.
      - If not set, the value of the E(ATLASSIAN_API_TOKEN) environment variable is used.
      - Never logged, never returned, never sent to any host but O(url)'s.
    type: str
  personal_access_token:
    description:
      - Data Center only. A personal access token, sent in an C(Authorization) header of type C(Bearer). When set
        it is used instead of O(username) and O(api_token).
      - If not set, the value of the E(ATLASSIAN_PAT) environment variable is used.
      - Never logged, never returned, never sent to any host but O(url)'s. Ignored on Cloud.
    type: str
  deployment:
    description:
      - Where the site runs, V(cloud) (Atlassian Cloud) or V(datacenter) (Confluence Data Center or Server 8.3 and
        later). Modules that work with Data Center only ignore it.
    type: str
    choices: [cloud, datacenter]
    default: cloud
"""
