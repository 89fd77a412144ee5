# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Off-site copies of backups: the store interface (base), one module per store (s3, azure_blob), the copy workflow.

Nothing is re-exported here: import from the module that defines a name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
