# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of a module of the organization-level API: the module base, with the API object built for ``run``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.module import run_module
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.api import OrgBackupApi


def run_org_module(argument_spec, run, action, wait=False, **kwargs):
    """``run(module, api, params)`` with the API object; see :func:`run_module` for the rest."""
    def call(mod, params):
        return run(mod, OrgBackupApi(mod.client(), params["org_id"], warn=mod.warn), params)

    run_module(argument_spec, call, action, connection="org", wait=wait, **kwargs)
