# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confluence space keys, as Confluence allows them, for every API that takes them (Data Center, Snapshots, the
content export), and the one reader of a CSV list of them (``spaces_csv``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.core.task import TaskFailed

# Letters and digits (personal spaces: "~" and the user name).
_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9_.@-]{1,255}$")


def valid_space_key(key):
    return bool(_SPACE_KEY.match(key or ""))


# A first line like these (not in capitals: KEY or SPACE could be real space keys) is a header.
HEADER_WORDS = ("key", "keys", "space", "spaces", "space key", "space keys", "spacekey", "space_key", "spacekeys")
MAX_CSV_BYTES = 10 * 1024 * 1024


def read_space_csv(path):
    """The space keys of a one-column CSV, in order. Every problem is reported with its line; raises TaskFailed.

    A first line that is a header (``key``, ``space key``...) is skipped, and so are blank lines.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except (IOError, OSError) as exc:
        raise TaskFailed("spaces_csv %s cannot be read: %s. Nothing was sent." % (path, exc.strerror or exc))
    if len(raw) > MAX_CSV_BYTES:
        raise TaskFailed("spaces_csv %s is larger than 10 MiB; a list of space keys is much smaller. Nothing was "
                         "sent." % path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TaskFailed("spaces_csv %s is not UTF-8 text (%s). Nothing was sent." % (path, exc))
    problems, keys, seen = [], [], {}
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise TaskFailed("spaces_csv %s cannot be read as CSV at line %d: %s. Nothing was sent." % (
                path, reader.line_num, exc))
        number = reader.line_num
        cells = [cell.strip() for cell in row]
        values = [cell for cell in cells if cell]
        if not values:
            continue
        if len(values) > 1:
            problems.append("line %d has %d values (%s); one column of space keys is expected" % (
                number, len(values), ", ".join(values[:4])))
            continue
        key = values[0]
        if not keys and not problems and not seen and key != key.upper() and key.lower() in HEADER_WORDS:
            continue  # a header line
        if not valid_space_key(key):
            problems.append("line %d: %r is not a space key" % (number, key[:60]))
            continue
        folded = key.upper()
        if folded in seen:
            problems.append("line %d: %s repeats line %d" % (number, key, seen[folded]))
            continue
        seen[folded] = number
        keys.append(key)
    if problems:
        raise TaskFailed("spaces_csv %s is not a list of space keys: %s. Nothing was sent." % (
            path, "; ".join(problems[:20]) + ("; and %d more" % (len(problems) - 20) if len(problems) > 20 else "")))
    if not keys:
        raise TaskFailed("spaces_csv %s holds no space key (it is empty, or only a header). Nothing was sent; use "
                         "spaces: all to export every space." % path)
    return keys
