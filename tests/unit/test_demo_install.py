# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo installs only tests/requirements-demo.txt; make test installs the CI toolchain (issue 20, item 8).

The Makefile's markers are checked with ``make -q`` in a copy (nothing is installed): after make demo, make test
still has its install to do; after make test, make demo has none."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def requirements(name):
    with open(os.path.join(ROOT, "tests", name)) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def test_the_demo_needs_a_part_of_the_ci_toolchain_only():
    demo, full = requirements("requirements-demo.txt"), requirements("requirements.txt")
    assert set(demo) <= set(full), sorted(set(demo) - set(full))
    names = set(re.split(r"[<>=\[]", line)[0] for line in demo)
    # None of the CI's own tools (linters, docs, test runners, molecule) nor the whole ansible package.
    assert not names & {"ansible", "ansible-lint", "antsibull-docs", "antsibull-changelog", "molecule", "pytest",
                        "pytest-xdist", "hypothesis", "responses"}, names


@pytest.fixture
def copy(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    os.makedirs(str(tmp_path / "tests"))
    shutil.copy(os.path.join(ROOT, "Makefile"), str(tmp_path))
    for name in ("requirements.txt", "requirements-demo.txt"):
        shutil.copy(os.path.join(ROOT, "tests", name), str(tmp_path / "tests"))
    os.makedirs(str(tmp_path / ".venv" / "bin"))
    return tmp_path


def up_to_date(copy, target):
    """make -q: 0 when ``target`` has nothing to do, 1 when it would run a recipe."""
    return subprocess.run(["make", "-q", "-C", str(copy), target], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0


def touch(path):
    with open(str(path), "a"):
        os.utime(str(path), None)


def test_make_test_after_make_demo_installs_the_toolchain(copy):
    assert not up_to_date(copy, "demo-venv") and not up_to_date(copy, "venv")
    touch(copy / ".venv" / ".demo-installed")  # what make demo leaves
    assert up_to_date(copy, "demo-venv")
    assert not up_to_date(copy, "venv")


def test_make_demo_after_make_test_installs_nothing(copy):
    # The toolchain's recipe marks both installs done.
    touch(copy / ".venv" / ".demo-installed")
    touch(copy / ".venv" / ".installed")
    assert up_to_date(copy, "venv") and up_to_date(copy, "demo-venv")
    # Its pip install lines are the toolchain's.
    out = subprocess.run(["make", "-n", "-C", str(copy), "-W", "tests/requirements.txt", "venv"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    assert "-r tests/requirements.txt" in out and "touch .venv/.demo-installed .venv/.installed" in out, out
