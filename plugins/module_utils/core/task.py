# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a workflow tells the module it failed: a message for the user and the result fields that go with it.

No Ansible imports. ``AtlassianModule.run_guarded`` turns it into ``fail_json`` (message redacted).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class TaskFailed(Exception):
    """The run failed: ``msg`` says what happened and what to do; ``fields`` go into the result."""

    def __init__(self, msg, **fields):
        super(TaskFailed, self).__init__(msg)
        self.msg = msg
        self.fields = fields
