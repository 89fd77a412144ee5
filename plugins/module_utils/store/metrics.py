# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A target's backup state as a Prometheus textfile (node_exporter's textfile collector format).

No Ansible imports. The samples describe the newest verified backup (from its manifest) and the outcome of the
last run, so that a run that changes nothing renders the same bytes. ``previous_samples`` reads back the lines
``render`` writes (and nothing else), so that a failed run keeps the last success's samples.

The one writer of this format: the restore drill's textfile (``atlassian_backup_drill_*``, :func:`drill_samples`,
written by ``drill_metrics``) is a second family of gauges rendered, parsed and written by the same code, with the
same labels.

A sample is ``(metric, extra labels, value)``: ``metric`` without the prefix, ``extra labels`` the label that
metric adds to the target's (``level`` of ``verified``, ``kind`` of ``inventory``) as ``((name, value),)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno
import math
import os
import re

from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.manifest import parse_time
from ansible_collections.atlassian_ops.backup.plugins.module_utils.store.inventory import COUNT_NAMES

PREFIX = "atlassian_backup_"
# (name, help) in the order they are written
METRICS = (
    ("last_run_success", "1 when the last run of the target succeeded, 0 when it failed."),
    ("last_run_skipped", "Runs in a row that skipped the target because another run held its lock (only after one)."),
    ("last_run_warning", "1 when the last run succeeded with a warning, such as an INCOMPLETE backup (only then)."),
    ("last_success_timestamp_seconds", "Backup time of the newest verified backup (Unix seconds)."),
    ("duration_seconds", "How long the newest verified backup took to create (or export) and download."),
    ("size_bytes", "Size of the newest verified backup."),
    ("verified", "1 for the verification level recorded for the newest verified backup."),
    ("verification_ok", "1 when the newest backup's manifest records a passed verification, 0 otherwise."),
    ("inventory", "Content counted in the newest verified backup (current content only)."),
    ("inventory_known", "1 when the newest verified backup's content was counted, 0 otherwise."),
    ("retained_copies", "Verified copies kept by retention."),
)
METRIC_NAMES = tuple(name for name, help_text in METRICS)
# The label a metric adds to the target's labels.
METRIC_LABEL = {"verified": "level", "inventory": "kind"}
# Label names a caller cannot add: the target's own and those of METRIC_LABEL.
RESERVED_LABELS = ("target", "type") + tuple(sorted(METRIC_LABEL.values()))
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

# The restore drill's family (roles/restore_drill): the outcome of the last drill of a target and its figures.
DRILL_PREFIX = "atlassian_backup_drill_"
DRILL_METRICS = (
    ("last_run_success", "1 when the last restore drill of the target passed, 0 when it failed."),
    ("last_run_timestamp_seconds", "When the last restore drill ran (Unix seconds)."),
    ("last_success_timestamp_seconds", "When the last restore drill that passed ran (Unix seconds)."),
    ("restore_seconds", "How long the last drill's restore took, from its start to its end (the RTO figure)."),
    ("backup_timestamp_seconds", "Backup time of the backup the last drill restored (Unix seconds)."),
    ("backup_age_seconds", "Age of the restored backup when the last drill ran (the RPO figure)."),
    ("found_spaces_ratio", "Share of the backup's spaces found on the drill site after the restore (0 to 1)."),
    ("found_pages_ratio", "Share of the backup's pages found on the drill site after the restore (0 to 1)."),
)
DRILL_METRIC_NAMES = tuple(name for name, help_text in DRILL_METRICS)

_PATTERNS = {}
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')
_INTEGER = re.compile(r"^-?[0-9]+$")
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPE = {"\\": "\\", '"': '"', "n": "\n"}


def escape(value):
    """A label value in the exposition format: backslash, double quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def unescape(text):
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), text)


def label_text(labels):
    return "{%s}" % ",".join('%s="%s"' % (name, escape(value)) for name, value in labels)


def number(value):
    """A sample value as the exposition format writes it: integers as such, floats by repr, NaN and +-Inf."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def epoch(text):
    """Unix seconds (int) of a manifest time ``YYYY-MM-DDTHH:MM:SSZ`` (read as ``backup_prune`` reads it), or None."""
    when = parse_time(text)
    return calendar.timegm(when.utctimetuple()) if when is not None else None


def _count(value):
    """A non-negative integer of a manifest (not a bool), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _seconds(value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 and not math.isinf(value)
    return value if ok and not math.isnan(value) else None


def target_labels(target, kind, extra=None):
    """The labels of every sample: ``target``, ``type``, then ``extra`` sorted by name. Raises ValueError."""
    labels = [("target", str(target)), ("type", str(kind))]
    for name in sorted(extra or {}):
        value = extra[name]
        if not isinstance(name, str) or not LABEL_NAME.match(name) or name.startswith("__") or name in RESERVED_LABELS:
            raise ValueError("labels: %r is not a label name this module can add (letters, digits and _, not starting "
                             "with a digit or __, and none of %s)." % (name, ", ".join(RESERVED_LABELS)))
        if value is None or isinstance(value, (dict, list, tuple, set)):
            raise ValueError("labels: the value of %s must be a string, not %r." % (name, value))
        labels.append((name, value if isinstance(value, str) else str(value)))
    return labels


def backup_samples(manifest):
    """[(metric, extra labels, value)] describing the backup of ``manifest`` (a format 1 manifest)."""
    samples = []
    when = epoch(manifest.get("backup_time"))
    if when is None:
        when = epoch(manifest.get("downloaded_at"))
    if when is not None:
        samples.append(("last_success_timestamp_seconds", (), when))
    create = _seconds(manifest.get("create_seconds"))
    if create is None:
        create = _seconds(manifest.get("export_seconds"))
    parts = [p for p in (create, _seconds(manifest.get("download_seconds"))) if p is not None]
    if parts:
        total = round(sum(parts), 3)
        samples.append(("duration_seconds", (), int(total) if float(total).is_integer() else total))
    size = _count(manifest.get("size"))
    if size is not None:
        samples.append(("size_bytes", (), size))
    level = manifest.get("verified_level")
    if isinstance(level, str) and level:
        samples.append(("verified", (("level", level),), 1))
    samples.append(("verification_ok", (), 0 if manifest.get("verified") is False else 1))
    inventory = manifest.get("inventory")
    counts = []
    if isinstance(inventory, dict) and manifest.get("inventory_status") in (None, "counted"):
        counts = [(kind, _count(inventory.get(kind))) for kind in COUNT_NAMES]
        counts = [(kind, value) for kind, value in counts if value is not None]
    for kind, value in counts:
        samples.append(("inventory", (("kind", kind),), value))
    samples.append(("inventory_known", (), 1 if counts else 0))
    return samples


def render(labels, success, samples, retained=None, skipped=0, warning=False):
    """The textfile: HELP and TYPE for each metric present, then its samples, in a fixed order.

    ``labels``: the target's labels (``target_labels``). ``samples`` other than last_run_success and
    last_run_skipped (and, when ``retained`` is given, retained_copies) are written as given. ``success`` None
    leaves last_run_success out (a skipped run with no earlier outcome); ``skipped`` more than 0 writes
    last_run_skipped; ``warning`` true writes last_run_warning 1.
    """
    rows = [] if success is None else [("last_run_success", (), 1 if success else 0)]
    rows += [s for s in samples if s[0] not in ("last_run_success", "last_run_skipped", "last_run_warning")]
    if skipped:
        rows.append(("last_run_skipped", (), skipped))
    if warning:
        rows.append(("last_run_warning", (), 1))
    if retained is not None:
        rows = [s for s in rows if s[0] != "retained_copies"] + [("retained_copies", (), retained)]
    return render_rows(labels, rows)


def render_rows(labels, rows, prefix=PREFIX, metrics=METRICS):
    """The text of ``rows`` (samples) of the family ``prefix``/``metrics``: HELP and TYPE for each metric present,
    then its samples, in the order of ``metrics``; every sample with ``labels`` then its own."""
    lines = []
    for name, help_text in metrics:
        mine = [row for row in rows if row[0] == name]
        if not mine:
            continue
        lines.append("# HELP %s%s %s" % (prefix, name, help_text))
        lines.append("# TYPE %s%s gauge" % (prefix, name))
        for row in mine:
            lines.append("%s%s%s %s" % (prefix, name, label_text(tuple(labels) + tuple(row[1])), number(row[2])))
    return "\n".join(lines) + "\n"


def sample_count(text):
    """How many samples a textfile holds (its lines that are not comments)."""
    return len([line for line in text.splitlines() if line and not line.startswith("#")])


def _labels_of(text):
    """[(name, value)] of the inside of ``{...}``, unescaped, or None when it is not what ``label_text`` writes."""
    found, at = [], 0
    while at < len(text):
        match = _LABEL.match(text, at)
        if not match or (match.group(3) == "," and match.end() == len(text)):
            return None
        found.append((match.group(1), unescape(match.group(2))))
        at = match.end()
    return found


def _patterns(prefix):
    """(sample, comment) regular expressions of the family ``prefix``."""
    if prefix not in _PATTERNS:
        _PATTERNS[prefix] = (re.compile(r"^%s([a-z_]+)\{(.*)\} (\S+)$" % re.escape(prefix)),
                             re.compile(r"^# (HELP|TYPE) %s([a-z_]+) (.*)$" % re.escape(prefix)))
    return _PATTERNS[prefix]


def parse(text, prefix=PREFIX, names=METRIC_NAMES):
    """[(metric, [(label, value)], value)] of a textfile ``render`` (``render_rows`` of the family ``prefix`` and
    its metric ``names``) wrote, or None when it holds any other line."""
    sample, comment_line = _patterns(prefix)
    found = []
    for line in (text or "").splitlines():
        if not line:
            continue
        comment = comment_line.match(line)
        if comment:
            if comment.group(2) not in names or (comment.group(1) == "TYPE" and comment.group(3) != "gauge"):
                return None
            continue
        match = sample.match(line)
        labels = _labels_of(match.group(2)) if match else None
        if not match or match.group(1) not in names or labels is None:
            return None
        try:
            value = int(match.group(3)) if _INTEGER.match(match.group(3)) else float(match.group(3))
        except ValueError:
            return None
        found.append((match.group(1), labels, value))
    return found


def previous_samples(text, target, kind):
    """The samples (all but last_run_success) of an earlier textfile of this ``target`` and ``kind`` (type), or [].

    [] too when the file holds a line ``render`` does not write, or a sample of another target. The labels the
    caller added earlier are dropped: the samples are written again with the labels of this run.
    """
    parsed = parse(text)
    if not parsed:
        return []
    kept = []
    for metric, labels, value in parsed:
        names = dict(labels)
        if len(names) != len(labels) or names.get("target") != target or names.get("type") != kind:
            return []
        if metric == "last_run_success":
            continue
        extra = METRIC_LABEL.get(metric)
        if extra is not None and extra not in names:
            return []
        kept.append((metric, ((extra, names[extra]),) if extra else (), value))
    return kept


def after_skip(text, target, kind):
    """(last_run_success, last_run_skipped) for a run that skipped the target: the earlier file's outcome (None when
    it has none for this ``target`` and ``kind``) is kept, and its count of skipped runs grows by one."""
    found = {}
    for metric, labels, value in parse(text) or []:
        names = dict(labels)
        if metric in ("last_run_success", "last_run_skipped") and names.get("target") == target \
                and names.get("type") == kind:
            found[metric] = value
    return found.get("last_run_success"), int(found.get("last_run_skipped") or 0) + 1


# ------------------------------------------------------------------------------------------------- restore drill
def _ratio(percent):
    """A share in percent (0 to 100) as a ratio (0 to 1), rounded to 4 places; None stays None."""
    value = _seconds(percent)
    if value is None:
        return None
    ratio = round(min(float(value), 100.0) / 100.0, 4)
    return int(ratio) if ratio.is_integer() else ratio


def previous_drill_success(text, target, kind):
    """``last_success_timestamp_seconds`` of an earlier drill textfile of this ``target`` and ``kind``, or None."""
    for metric, labels, value in parse(text, DRILL_PREFIX, DRILL_METRIC_NAMES) or []:
        names = dict(labels)
        if metric == "last_success_timestamp_seconds" and names.get("target") == target and names.get("type") == kind:
            return value
    return None


def drill_samples(passed, drill_time, backup_time=None, restore_seconds=None, found_spaces_percent=None,
                  found_pages_percent=None, last_success=None):
    """[(metric, (), value)] of a restore drill (family ``DRILL_PREFIX``).

    ``drill_time`` and ``backup_time``: Unix seconds (ints); the backup's age is their difference. A figure that is
    None (the drill failed before it was measured) is left out. ``last_success``: the time of the last drill that
    passed, kept from the earlier file when this one failed (:func:`previous_drill_success`).
    """
    rows = [("last_run_success", (), 1 if passed else 0), ("last_run_timestamp_seconds", (), drill_time)]
    if passed:
        last_success = drill_time
    if last_success is not None:
        rows.append(("last_success_timestamp_seconds", (), last_success))
    restore = _seconds(restore_seconds)
    if restore is not None:
        restore = round(float(restore), 3)
        rows.append(("restore_seconds", (), int(restore) if restore.is_integer() else restore))
    if backup_time is not None:
        rows.append(("backup_timestamp_seconds", (), backup_time))
        rows.append(("backup_age_seconds", (), max(drill_time - backup_time, 0)))
    for metric, percent in (("found_spaces_ratio", found_spaces_percent), ("found_pages_ratio", found_pages_percent)):
        ratio = _ratio(percent)
        if ratio is not None:
            rows.append((metric, (), ratio))
    return rows


def render_drill(labels, samples):
    """The drill textfile of ``samples`` (:func:`drill_samples`)."""
    return render_rows(labels, samples, DRILL_PREFIX, DRILL_METRICS)


# ---------------------------------------------------------------------------------------------------- the file
def read_textfile(path):
    """The textfile's text, None when there is none; text that is not UTF-8 is read with replacements (not ours).

    Raises OSError (IOError) when it is there but cannot be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return data.decode("utf-8", "replace")


def textfile_problem(path, example_name):
    """None when a textfile can be written at ``path`` (an absolute path); else what is wrong and what to do."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return ("The textfile's folder %s does not exist. Create it, or point path at node_exporter's "
                "--collector.textfile.directory." % folder)
    if os.path.isdir(path):
        return "path %s is a folder; name the textfile in it, such as %s." % (path, os.path.join(path, example_name))
    return None
