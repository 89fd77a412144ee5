# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules of Confluence itself that more than one API needs (space keys), so that no API imports another.

Nothing is re-exported here: import from the module that defines a name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
