# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy one collection out of the `ansible` package's wheel: extract_collection.py WHEEL_DIR NAMESPACE.NAME DEST.

make demo needs amazon.aws only; Galaxy is not reachable, and installing the whole `ansible` package unpacks about
470 MB of collections. DEST becomes a collections path (DEST/ansible_collections/NAMESPACE/NAME).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import shutil
import sys
import zipfile


def main(wheel_dir, fqcn, dest):
    wheels = sorted(glob.glob(os.path.join(wheel_dir, "ansible-*.whl")))
    if not wheels:
        sys.exit("No ansible-*.whl in %s: pip download did not fetch the ansible package." % wheel_dir)
    namespace, name = fqcn.split(".", 1)
    prefix = "ansible_collections/%s/%s/" % (namespace, name)
    target = os.path.join(dest, "ansible_collections", namespace, name)
    shutil.rmtree(target, ignore_errors=True)
    count = 0
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for member in wheel.infolist():
            if not member.filename.startswith(prefix) or member.is_dir():
                continue
            path = os.path.join(target, member.filename[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with wheel.open(member) as source, open(path, "wb") as out:
                shutil.copyfileobj(source, out)
            count += 1
    if not count:
        sys.exit("%s holds no %s." % (os.path.basename(wheels[-1]), fqcn))
    print("%s: %d files from %s into %s" % (fqcn, count, os.path.basename(wheels[-1]), target))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
