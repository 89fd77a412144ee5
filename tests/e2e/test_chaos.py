# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The short fault campaign inside make test: 4 x 6 seeded runs (make chaos runs 200)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chaos"))

import campaign  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("seed", [101, 102, 103, 104])
def test_short_chaos_campaign_has_no_invariant_violations(seed):
    out = io.StringIO()
    summary = campaign.campaign(runs=6, seed=seed, workers=1, out=out)
    assert summary["runs"] == 6
    assert summary["faults_injected"] >= 6
    assert not summary["violations"], out.getvalue()
