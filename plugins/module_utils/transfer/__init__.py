# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transfers of (huge) backup files between a site and the local disk.

Today the download engine (:mod:`.download`, with its sequential :mod:`.stream` and parallel
:mod:`.ranged` parts); streamed uploads will follow in ``upload.py``. What every transfer shares
(errors, constants, the state file, hashing, retry signals) lives in :mod:`.common`. No Ansible
imports, and nothing is re-exported here: import from the module that defines a name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
