# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A target's backup state as a Prometheus textfile (node_exporter's textfile collector format).

No Ansible imports. The samples describe the newest verified backup (from its manifest) and the outcome of the
last run, so that a run that changes nothing renders the same bytes. ``previous_samples`` reads back the lines
this module wrote, so that a failed run keeps the last success's samples.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

PREFIX = "atlassian_backup_"
# (name, help) in the order they are written
METRICS = (
    ("last_run_success", "1 when the last run of the target succeeded, 0 when it failed."),
    ("last_success_timestamp_seconds", "Backup time of the newest verified backup (Unix seconds)."),
    ("duration_seconds", "How long the newest verified backup took to create and download."),
    ("size_bytes", "Size of the newest verified backup."),
    ("verified", "1 for the verification level recorded for the newest verified backup."),
    ("verification_ok", "1 when the newest backup's manifest records a passed verification, 0 otherwise."),
    ("inventory", "Content counted in the newest verified backup (current content only)."),
    ("inventory_known", "1 when the newest verified backup's content could be counted, 0 otherwise."),
    ("retained_copies", "Verified copies kept by retention."),
)
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_LINE = re.compile(r"^(atlassian_backup_[a-z_]+)(\{.*\})? (\S+)$")


def escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels):
    return "{%s}" % ",".join('%s="%s"' % (name, escape(value)) for name, value in labels)


def number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def epoch(text):
    """Unix seconds of a manifest time ``YYYY-MM-DDTHH:MM:SSZ``, or None."""
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def backup_samples(manifest):
    """[(metric, extra labels, value)] describing the backup of ``manifest``."""
    samples = []
    when = epoch(manifest.get("backup_time")) or epoch(manifest.get("downloaded_at"))
    if when is not None:
        samples.append(("last_success_timestamp_seconds", (), when))
    parts = [manifest.get(key) for key in ("create_seconds", "export_seconds", "download_seconds")]
    parts = [p for p in parts if isinstance(p, (int, float)) and not isinstance(p, bool)]
    if parts:
        samples.append(("duration_seconds", (), round(sum(parts), 3)))
    if isinstance(manifest.get("size"), int):
        samples.append(("size_bytes", (), manifest["size"]))
    level = manifest.get("verified_level")
    if isinstance(level, str) and level:
        samples.append(("verified", (("level", level),), 1))
    samples.append(("verification_ok", (), 0 if manifest.get("verified") is False else 1))
    inventory = manifest.get("inventory")
    known = isinstance(inventory, dict) and manifest.get("inventory_status", "counted") != "unknown"
    if known:
        for kind in sorted(inventory):
            if isinstance(inventory[kind], int) and not isinstance(inventory[kind], bool):
                samples.append(("inventory", (("kind", kind),), inventory[kind]))
    if level == "inventory" or inventory is not None:
        samples.append(("inventory_known", (), 1 if known else 0))
    return samples


def render(labels, success, samples, retained=None):
    """The textfile: HELP and TYPE for each metric present, then its samples, in a fixed order."""
    rows = [("last_run_success", (), 1 if success else 0)] + [s for s in samples if s[0] != "last_run_success"]
    if retained is not None:
        rows = [s for s in rows if s[0] != "retained_copies"] + [("retained_copies", (), retained)]
    lines = []
    for name, help_text in METRICS:
        mine = [row for row in rows if row[0] == name]
        if not mine:
            continue
        lines.append("# HELP %s%s %s" % (PREFIX, name, help_text))
        lines.append("# TYPE %s%s gauge" % (PREFIX, name))
        for row in mine:
            lines.append("%s%s%s %s" % (PREFIX, name, label_text(tuple(labels) + tuple(row[1])), number(row[2])))
    return "\n".join(lines) + "\n"


def previous_samples(text, labels):
    """The samples of an earlier textfile of these ``labels`` (everything but last_run_success), or []."""
    base = label_text(labels)[1:-1]
    found = []
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if not match or match.group(1) == PREFIX + "last_run_success":
            continue
        inner = (match.group(2) or "{}")[1:-1]
        if not inner.startswith(base):
            return []
        extra = inner[len(base):].lstrip(",")
        extra_labels = tuple(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', extra))
        extra_labels = tuple((k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")) for k, v in extra_labels)
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        value = int(value) if value.is_integer() else value
        found.append((match.group(1)[len(PREFIX):], extra_labels, value))
    return found
