# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of modules that download a backup file with the shared download engine.
    DOCUMENTATION = r"""
options:
  download_connections:
    description:
      - How many HTTP connections download the file at once, each fetching its own byte ranges into the same
        preallocated partial file. Hosts that cap the speed of each connection (as media hosts and proxies often do)
        are much faster with several.
      - The file is split into segments taken in order; a connection that runs out of work takes half of the
        largest segment still in progress. Only the missing segments are fetched again after an interruption.
      - When the server does not answer byte ranges or does not say how large the file is, one connection is used,
        whatever this says. Segments are at least 2 MiB, so a small file uses fewer connections (a 1 MiB file, one).
      - Between 1 and 16.
    type: int
    default: 4
"""
