# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backups of one series to keep: grandfather-father-son retention, decided from backup times alone.

No Ansible imports, no file system: :func:`plan` takes a list of backups and returns a decision. The module
``backup_prune`` reads the manifests, decides with it and deletes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import timezone

UTC = timezone.utc

UNVERIFIED = "unverified, left alone"
NEWEST_VERIFIED = "newest verified"

# (kind, the period of a UTC datetime as a comparable key, the period as the reason names it)
_KINDS = (
    ("daily", lambda t: (t.year, t.month, t.day), lambda t: t.strftime("%Y-%m-%d")),
    ("weekly", lambda t: t.isocalendar()[:2], lambda t: "%04d-W%02d" % tuple(t.isocalendar()[:2])),
    ("monthly", lambda t: (t.year, t.month), lambda t: t.strftime("%Y-%m")),
    ("yearly", lambda t: t.year, lambda t: "%04d" % t.year),
)


def _utc(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def plan(backups, keep_daily=0, keep_weekly=0, keep_monthly=0, keep_yearly=0, keep_last=1):
    """Decide which backups of one series to keep and which to delete.

    ``backups``: dicts with at least ``id`` (unique, any hashable), ``time`` (a ``datetime``; an aware one is
    converted to UTC, a naive one is taken as UTC) and ``verified`` (a backup is verified only when this is true;
    a missing key counts as false).

    The rules, in this order (the kept set is their union):

    * Only verified backups take part. An unverified backup is neither kept by a rule nor deleted: it is
      reported in ``unverified`` with the reason ``"unverified, left alone"``, and it never fills a period's slot
      in place of a verified backup of that period.
    * The newest verified backup is always kept (reason ``"newest verified"``), whatever the counts are.
    * ``keep_last``: the ``keep_last`` newest verified backups are kept (reasons ``"last 1"``, ``"last 2"``...).
    * ``keep_daily``, ``keep_weekly``, ``keep_monthly``, ``keep_yearly`` (like restic's and borg's ``forget``):
      for each kind separately, the verified backups are walked newest first, and the newest backup of each
      distinct period is kept until that kind has kept its count of periods. Periods are UTC calendar days
      (``%Y-%m-%d``), ISO 8601 weeks (``%G-W%V``, Monday to Sunday, the ISO year), calendar months (``%Y-%m``) and
      calendar years (``%Y``). Periods without a backup (gaps) do not use up a slot: ``keep_daily: 7`` keeps the
      newest backup of each of the 7 newest days *that have one*. Reasons name the period:
      ``"daily 2026-11-21"``, ``"weekly 2026-W47"``, ``"monthly 2026-11"``, ``"yearly 2026"``.
    * Every other verified backup is deleted.

    Ties in ``time`` are broken by ``id`` (the greater id counts as newer), so the decision does not depend on
    the order of ``backups``. Counts below 0 raise ``ValueError``.

    Returns ``{"keep": [ids], "delete": [ids], "unverified": [ids], "reasons": {id: [reasons]}}``; each list is
    newest first; every id is in exactly one list; ``reasons`` has every id (an empty list for a deleted one).
    Planning again over the kept backups (all verified) deletes nothing.
    """
    counts = dict(daily=keep_daily, weekly=keep_weekly, monthly=keep_monthly, yearly=keep_yearly, last=keep_last)
    for name, value in counts.items():
        if value is None or int(value) != value or value < 0:
            raise ValueError("keep_%s must be a whole number of 0 or more (got %r)." % (name, value))
    ordered = sorted(((_utc(b["time"]), b["id"], bool(b.get("verified"))) for b in backups), reverse=True)
    if len(set(entry[1] for entry in ordered)) != len(ordered):
        raise ValueError("Backup ids must be unique.")
    reasons = dict((entry[1], []) for entry in ordered)
    verified = [entry for entry in ordered if entry[2]]
    if verified:
        reasons[verified[0][1]].append(NEWEST_VERIFIED)
    for position, entry in enumerate(verified[:keep_last]):
        reasons[entry[1]].append("last %d" % (position + 1))
    for kind, period, shown in _KINDS:
        left = counts[kind]
        previous = None
        for entry in verified:
            if left <= 0:
                break
            key = period(entry[0])
            if key == previous:
                continue
            previous = key
            reasons[entry[1]].append("%s %s" % (kind, shown(entry[0])))
            left -= 1
    keep, delete, unverified = [], [], []
    for entry in ordered:
        ident = entry[1]
        if not entry[2]:
            reasons[ident].append(UNVERIFIED)
            unverified.append(ident)
        elif reasons[ident]:
            keep.append(ident)
        else:
            delete.append(ident)
    return {"keep": keep, "delete": delete, "unverified": unverified, "reasons": reasons}
