# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test harness's last task: write a registered result (``content``) to ``dest`` on the controller.

It does what ``ansible.builtin.copy`` with ``content`` did there, without copy's two module runs (stat, then copy):
about 0.4 s of every ansible-playbook run of the integration tests. It runs no module, reports no change (the file
is the test's own record, not a change the play made) and writes in check mode too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        content, dest = self._task.args.get("content"), self._task.args.get("dest")
        if not isinstance(content, str) or not dest:
            raise AnsibleActionFail("save_result needs content (a string) and dest")
        dest = os.path.expanduser(str(dest))
        handle, scratch = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".save-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(to_bytes(content, errors="surrogate_or_strict"))
            os.chmod(scratch, 0o600)
            os.rename(scratch, dest)
        except BaseException:
            if os.path.exists(scratch):
                os.unlink(scratch)
            raise
        result.update(changed=False, dest=dest)
        return result
