# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The property of issue 19, over many emulator settings drawn by hypothesis: after a 2xx start answer, the backup
workflow of the organization API either reports that very job or fails naming the listing call; it never reports
another job and never POSTs twice.

The workflow (plugins/module_utils/org/run.py) runs in this process with the collection's own client against the
emulator over real HTTP, so that many examples fit in seconds; test_started_jobs.py drives the same cases through
ansible-playbook.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CANARY_TOKEN, CANARY_USER, ORG_API_PREFIX, ORG_ID, SITE

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.client import AtlassianClient
from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.api import OrgBackupApi
from ansible_collections.atlassian_ops.backup.plugins.module_utils.org.run import run_backup

STYLES = ("documented", "empty", "nested", "list", "plural", "opaque", "echo")


class Module(object):
    """What the workflow asks of an Ansible module: check mode, warnings, debug."""

    check_mode = False

    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def debug(self, text):
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(style=st.sampled_from(STYLES), hidden=st.booleans(), counting=st.sampled_from(("index0", "index1", "items")),
       earlier=st.integers(0, 3), status_style=st.sampled_from(("v2", "seed")))
def test_a_started_backup_is_reported_or_named_never_lost_or_doubled(emulator, style, hidden, counting, earlier,
                                                                     status_style):
    emulator.reset(org_start_answer=style, org_list_hides_new=False, org_page_start=counting,
                   org_page_size_max=2, org_backup_seconds=0, org_status_style=status_style)
    policy = emulator.control("org/policy", {"cloudId": SITE, "product": "CONFLUENCE", "includeAttachments": True,
                                             "includePersonalSpaces": True})
    policy_id = policy.get("policyId") or policy.get("id")
    for index in range(earlier):   # older backups, past the 7-day rule, on more than one page
        emulator.control("org/backup", {"policyId": policy_id, "status": "COMPLETE",
                                        "age_seconds": (8 + index) * 86400})
    emulator.config(org_list_hides_new=hidden)
    client = AtlassianClient(emulator.url + ORG_API_PREFIX, auth=("basic", CANARY_USER, CANARY_TOKEN), retries=0,
                             sleep=lambda seconds: None)
    module = Module()
    params = dict(policy_id=policy_id, cloud_id=None, product=None, max_age=None, max_age_text=None, wait=True,
                  wait_timeout=30, wait_timeout_text="30s", poll_interval=0.01, org_id=ORG_ID)
    try:
        result = run_backup(module, OrgBackupApi(client, ORG_ID), params)
        failure = None
    except TaskFailed as exc:
        result, failure = None, exc
    finally:
        client.close()
    state = emulator.state()["org"]
    posts = [r for r in state["requests"] if r["method"] == "POST" and r["path"].endswith("/backups")]
    assert len(posts) == 1, posts
    started = [b for b in state["backups"] if b["policyId"] == policy_id]
    new = sorted(started, key=lambda b: b.get("creationTime") or b.get("createdAt") or "")[-1]
    new_id = new.get("backupId") or new.get("id")
    if failure is None:
        assert result["backup_id"] == new_id, (result, new_id, module.warnings)
        assert result["triggered"] is True and result["status"] == "COMPLETE", result
    else:
        # Only an answer that names nothing, with a list that never shows the job, may end so.
        assert hidden and style in ("empty", "opaque", "echo"), (style, failure.msg)
        assert "GET orgs/%s/policies/%s/backups" % (ORG_ID, policy_id) in failure.msg, failure.msg
        assert CANARY_TOKEN not in failure.msg
