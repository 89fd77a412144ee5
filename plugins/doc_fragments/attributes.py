# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Shared attributes.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    # The action groups of meta/runtime.yml, one fragment per kind of connection: each group's module_defaults reach
    # every module in it unfiltered, so every module takes each option its groups are for, and only those.

    ACTION_GROUP_SITE = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/atlassian_ops.backup.cloud) or C(group/atlassian_ops.backup.datacenter) in C(module_defaults)
        for the site's connection options; C(group/atlassian_ops.backup.atlassian) sets the options every module
        that talks to a service shares (TLS, timeouts, retries).
    support: full
    membership:
      - atlassian_ops.backup.atlassian
      - atlassian_ops.backup.cloud
      - atlassian_ops.backup.datacenter
"""

    ACTION_GROUP_DATACENTER = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/atlassian_ops.backup.datacenter) in C(module_defaults) for the Data Center site's connection
        options; C(group/atlassian_ops.backup.atlassian) sets the options every module that talks to a service
        shares (TLS, timeouts, retries).
    support: full
    membership:
      - atlassian_ops.backup.atlassian
      - atlassian_ops.backup.datacenter
"""

    ACTION_GROUP_ORG = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/atlassian_ops.backup.org) in C(module_defaults) for the organization API's connection options;
        C(group/atlassian_ops.backup.atlassian) sets the options every module that talks to a service shares (TLS,
        timeouts, retries).
    support: full
    membership:
      - atlassian_ops.backup.atlassian
      - atlassian_ops.backup.org
"""

    ACTION_GROUP_SNAPSHOTS = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/atlassian_ops.backup.snapshots) in C(module_defaults) for the Snapshots app's connection
        options; C(group/atlassian_ops.backup.atlassian) sets the options every module that talks to a service
        shares (TLS, timeouts, retries).
    support: full
    membership:
      - atlassian_ops.backup.atlassian
      - atlassian_ops.backup.snapshots
"""

    ACTION_GROUP_LOCAL = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/atlassian_ops.backup.local) in C(module_defaults) to set defaults for the modules that work on
        the backup folder. It talks to no service, so it is in no other group and takes no connection option.
    support: full
    membership:
      - atlassian_ops.backup.local
"""
