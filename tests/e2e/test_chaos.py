# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The short fault campaign inside make test: 4 x 6 seeded runs (make chaos runs 200).

Run ``n`` of seed ``s`` drives slot ``(n + 6 * s) % 10`` of the campaign's scenarios, so the four seeds together
cover all ten slots: every API (Cloud, Data Center, Snapshots, the organization API) and every module that starts
or moves data is driven under faults in CI.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chaos"))

import campaign  # noqa: E402  pylint: disable=wrong-import-position

SEEDS = [101, 102, 103, 104]
RUNS = 6


def test_the_short_campaign_covers_every_module_that_starts_or_moves_data():
    covered = set(campaign.label(campaign.scenario_for(n, s)) for s in SEEDS for n in range(RUNS))
    assert covered == set(campaign.label(s) for s in campaign.SCENARIOS), covered
    assert set(label.split("/")[0] for label in covered) == set(campaign.APIS)


@pytest.mark.parametrize("seed", SEEDS)
def test_short_chaos_campaign_has_no_invariant_violations(seed):
    out = io.StringIO()
    summary = campaign.campaign(runs=RUNS, seed=seed, workers=1, out=out)
    assert summary["runs"] == RUNS
    assert summary["faults_injected"] >= RUNS
    assert not summary["violations"], out.getvalue()
