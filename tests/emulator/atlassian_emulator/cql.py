# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part of the Confluence Query Language (CQL) a content counter needs, parsed as Confluence reads it.

Atlassian's CQL pages (fields, keywords; cited in ``docs/emulator_evidence.md``, "Content"): a clause is a field, an
operator and a value or a list of values; clauses join with ``AND``; keywords and field names are not case
sensitive (the docs write ``and``, ``AND``, ``in``, ``IN``); a value is a word (``space = DEV``) or a quoted string
(``type = "blogpost"``, ``space = 'TS'``); ``IN`` takes a list (``type in (page, blogpost)``).

Understood here: ``type = page|blogpost``, ``type in (...)``, ``space = KEY``, ``space in (...)``, joined with
``AND``, and every query must name a type. Anything else (``OR``, ``NOT``, other fields or operators, ``ORDER BY``,
other content types, a query without a type) raises :class:`Unsupported`: the emulator answers it as Confluence
answers a query it cannot parse, rather than count content it does not model (comments, attachments) or a query it
would get wrong. Real Confluence runs those queries; that refusal is the emulator's limit, not the service's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

TYPES = ("page", "blogpost")
_TOKEN = re.compile(r"""\s*(?:(?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|=|\(|\)|,|~|<=|>=|<|>|!)"""
                    r"""|(?P<word>[A-Za-z0-9_.\-]+))""")


class Unsupported(ValueError):
    """The query is not in the understood subset (or is not CQL at all)."""


class Query(object):
    """What a parsed query selects: ``types`` (a subset of TYPES) and ``spaces`` (keys, or None for any)."""

    def __init__(self, types, spaces):
        self.types = types
        self.spaces = spaces

    def space_keys(self):
        return sorted(self.spaces) if self.spaces is not None else []


def _tokens(text):
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported("unexpected character at %d" % pos)
        pos = match.end()
        if match.group("quoted"):
            raw = match.group("quoted")[1:-1]
            tokens.append(("value", re.sub(r"\\(.)", r"\1", raw)))
        elif match.group("op"):
            tokens.append(("op", match.group("op")))
        else:
            tokens.append(("word", match.group("word")))
    return tokens


def _values(tokens, at):
    """The value or parenthesised list of values at ``tokens[at]``: (values, next index)."""
    if at < len(tokens) and tokens[at] == ("op", "("):
        values, at = [], at + 1
        while True:
            if at >= len(tokens) or tokens[at][0] not in ("word", "value"):
                raise Unsupported("a list needs values")
            values.append(tokens[at][1])
            at += 1
            if at < len(tokens) and tokens[at] == ("op", ","):
                at += 1
                continue
            if at < len(tokens) and tokens[at] == ("op", ")"):
                return values, at + 1
            raise Unsupported("a list ends with )")
    if at < len(tokens) and tokens[at][0] in ("word", "value"):
        return [tokens[at][1]], at + 1
    raise Unsupported("a value is missing")


def parse(text):
    """The :class:`Query` of ``text``; raises :class:`Unsupported`."""
    tokens = _tokens(text or "")
    if not tokens:
        raise Unsupported("empty query")
    types, spaces, at = set(TYPES), None, 0
    named_type = False
    while True:
        if at + 1 >= len(tokens) or tokens[at][0] != "word":
            raise Unsupported("a clause starts with a field")
        field, operator = tokens[at][1].lower(), tokens[at + 1]
        if operator == ("op", "="):
            if at + 2 < len(tokens) and tokens[at + 2] == ("op", "("):
                raise Unsupported("= takes one value")
            values, at = _values(tokens, at + 2)
        elif operator[0] == "word" and operator[1].lower() == "in" and at + 2 < len(tokens) and \
                tokens[at + 2] == ("op", "("):
            values, at = _values(tokens, at + 2)
        else:
            raise Unsupported("only = and IN are understood")
        if field == "type":
            wanted = set(v.lower() for v in values)
            if not wanted <= set(TYPES):
                raise Unsupported("only the types page and blogpost are modelled")
            types &= wanted
            named_type = True
        elif field == "space":
            keys = set(values)
            spaces = keys if spaces is None else set(k for k in spaces if k.lower() in set(v.lower() for v in keys))
        else:
            raise Unsupported("only the fields type and space are understood")
        if at == len(tokens):
            break
        if tokens[at][0] != "word" or tokens[at][1].lower() != "and":
            raise Unsupported("clauses join with AND")
        at += 1
    if not named_type:
        raise Unsupported("a query without a type would count content the emulator does not model")
    return Query(types, spaces)
