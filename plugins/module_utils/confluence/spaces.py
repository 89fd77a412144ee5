# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence space keys, as Confluence allows them, for every API that takes them (Data Center, Snapshots)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Letters and digits (personal spaces: "~" and the user name).
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_.@-]{1,255}$")


def valid_space_key(key):
    return bool(_SPACE_KEY.match(key or ""))
