# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations as users write them (``30``, ``30s``, ``90m``, ``8h``, ``1d12h``) and as the service prints them,
and the points in time the services print."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)")
_USER = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[a-zA-Z]+\s*)+$")


def parse_duration(value, name="duration"):
    """Seconds (float) from an int/float or a string such as ``24h`` or ``1h30m``.

    Raises ValueError with a message that names the option.
    """
    if isinstance(value, bool):
        raise ValueError("%s must be a duration such as 30s, 15m, 24h or 2d, not a boolean" % name)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        if re.match(r"^\d+(\.\d+)?$", text):
            seconds = float(text)
        elif _USER.match(text):
            seconds = 0.0
            for number, unit in _PART.findall(text):
                if unit not in _UNITS:
                    raise ValueError("%s: unknown unit %r in %r; use s, m, h, d or w" % (name, unit, value))
                seconds += float(number) * _UNITS[unit]
        else:
            raise ValueError("%s: %r is not a duration; write it like 30s, 15m, 24h, 2d or 1h30m" % (name, value))
    if seconds < 0:
        raise ValueError("%s must not be negative (got %r)" % (name, value))
    return seconds


def parse_service_duration(text):
    """Seconds from the service's human text, tolerant of the forms seen in the wild.

    ``14h 19m``, ``4 hours and 2 minutes``, ``4hoursand2minutes`` (spaces lost
    in a blog), ``47h 50m``, ``2 days 3 hours``. Returns None when there is none.
    """
    if not text:
        return None
    total = 0.0
    found = False
    for number, unit in re.findall(r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])",
                                   _separate(text.lower())):
        total += int(number) * _UNITS[unit]
        found = True
    return total if found else None


def _separate(text):
    # "4hoursand2minutes": put a space before "and" glued to a unit so the
    # negative look-ahead above can match the unit.
    return re.sub(r"(days?|hours?|minutes?|seconds?|[dhms])and", r"\1 and", text)


def format_duration(seconds):
    seconds = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts)


def parse_time(value):
    """Epoch seconds of an ISO 8601 time (``2026-11-22T05:10:00.123Z``, ``...+0100``) or epoch milliseconds; None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0 if value > 10 ** 11 else float(value)
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", str(value).strip())
    if not match:
        return None
    seconds = calendar.timegm(tuple(int(g) for g in match.groups()[:6]) + (0, 0, 0))
    zone = match.group(8)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        seconds += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds + (float(match.group(7)) if match.group(7) else 0.0)
