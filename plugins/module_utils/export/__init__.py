# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content exports through the Confluence Cloud REST API v2: the endpoints and readers (api), the layout, the workflow.

Nothing is re-exported here: import from the module that defines a name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
