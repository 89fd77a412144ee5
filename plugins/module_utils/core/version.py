# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's version, for manifests. The one copy in Python: a unit test fails when it differs from
``galaxy.yml`` (a module runs as a zip on the managed host, where ``galaxy.yml`` and ``MANIFEST.json`` are not)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COLLECTION_VERSION = "0.4.0"
