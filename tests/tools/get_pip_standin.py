# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script ansible-test downloads (its host is unreachable here).

Installed by ``make sanity`` as ~/.ansible/test/cache/get_pip_<version>.py: it
bootstraps pip with ensurepip, then installs what ansible-test asked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
