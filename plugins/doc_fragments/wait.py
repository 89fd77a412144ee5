# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of modules that start a long job and can wait for it.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Whether to wait until the job has finished.
      - With V(false) the task returns as soon as the job is started or found running.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait for the job, as seconds or a duration such as V(30m), V(8h) or V(1d).
      - When it runs out the task fails, and the job keeps running on the site; run the task again to join it.
    type: raw
    default: 8h
  poll_interval:
    description:
      - How often to ask for the job's progress, as seconds or a duration such as V(30s) or V(1m).
    type: raw
    default: 30s
"""
