# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a Sphinx inventory (objects.inv, version 2) of the Ansible documentation labels the generated docsite
pages refer to, each with its page on docs.ansible.com. build_docsite.sh gives it to intersphinx in place of the
inventory on the network, which CI cannot reach."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import zlib

# label -> (page and anchor under https://docs.ansible.com/projects/ansible/devel/, title)
LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "ansible_configuration_settings": ("reference_appendices/config.html#ansible-configuration-settings",
                                       "Ansible Configuration Settings"),
}


def main(path):
    header = (b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
              b"# The remainder of this file is compressed using zlib.\n")
    lines = "".join("%s std:label -1 %s %s\n" % (name, uri, title) for name, (uri, title) in sorted(LABELS.items()))
    with open(path, "wb") as handle:
        handle.write(header + zlib.compress(lines.encode("utf-8")))


if __name__ == "__main__":
    main(sys.argv[1])
