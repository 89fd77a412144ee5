# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A faithful local emulator of the Atlassian backup APIs, for tests and the demo."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def build(config=None, host="127.0.0.1", ssl_context=None):
    """An Emulator with every API module registered."""
    from atlassian_emulator.confluence_rest import ConfluenceRestApi
    from atlassian_emulator.content import store_of
    from atlassian_emulator.core import Emulator
    from atlassian_emulator.datacenter import DataCenterApi
    from atlassian_emulator.links import LinksApi
    from atlassian_emulator.obm import ObmApi
    from atlassian_emulator.org_backup import OrgBackupApi
    from atlassian_emulator.rest_v2 import RestV2Api
    from atlassian_emulator.snapshots import SnapshotsApi
    emulator = Emulator(config, host=host, ssl_context=ssl_context)
    store_of(emulator)  # what each Confluence site holds: registered first, so the others see it reset
    emulator.apis.append(ObmApi(emulator))
    emulator.apis.append(OrgBackupApi(emulator))
    emulator.apis.append(DataCenterApi(emulator))
    emulator.apis.append(SnapshotsApi(emulator))
    emulator.apis.append(ConfluenceRestApi(emulator))
    emulator.apis.append(RestV2Api(emulator))
    emulator.apis.append(LinksApi(emulator))
    return emulator
