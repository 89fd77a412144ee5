# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Modules that work on local files only: the connection options of the collection are accepted, not used.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Not used by this module, which works on local files only. Accepted, like every connection option below, so
        that one C(module_defaults) for C(group/atlassian_ops.backup.atlassian) can carry the options of every module
        of the collection.
    type: str
  username:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  api_token:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  personal_access_token:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  deployment:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  validate_certs:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: bool
  ca_path:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: path
  timeout:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: int
  retries:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: int
  retry_max_delay:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: int
  org_id:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  api_base_url:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  account_id:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  endpoint:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  api_key:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
  api_key_header:
    description: Not used; accepted for shared C(module_defaults) like O(url).
    type: str
"""
