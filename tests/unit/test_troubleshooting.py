# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The troubleshooting page (docs/docsite/rst/troubleshooting.rst) has an entry for every failure message the code
prints, and no entry for a message that no longer exists (issue 22).

Which messages. The messages are read from the code, not run:

* modules and module_utils (the AST of ``plugins/**/*.py``): the ``msg`` of every ``fail_json`` call; the first
  argument (or ``msg``/``message``) of every call of an error class, raised or kept for later (a name ending in
  ``Error``, ``Failed``, ``Timeout`` or ``Large``, plus ``TaskFailed`` and anything after ``raise``); the message of
  the helpers that raise ``TaskFailed`` for their caller (WRAPPERS: ``_fail(msg)``, ``fail(msg)``,
  ``reject(level, msg)``) and of LEADING (``flag_stale``, whose message goes on with more text); and what the
  functions of MESSAGE_FUNCTIONS return or set as ``["problem"]`` (each gives a whole message its callers fail with,
  or the hint that ends an HTTP error). ``missing_required_lib(...)`` gives ansible-core's message for a missing
  Python library (MISSING_LIB).
* roles (``roles/*/tasks/**/*.yml``): the ``msg`` of ``ansible.builtin.fail`` and the ``fail_msg`` of
  ``ansible.builtin.assert``. A list of problems a role builds in its vars and joins into one of these is a varying
  part of that message; its entry describes the problems in words.

A message given as a local variable is read from that variable's assignments in the same function; a variable that
grows later (``msg += ...``) keeps its assignment as the message's leading part; a ``%s`` filled from a local
variable holding text takes that text (up to MAX_FORMS forms of one message).

Not messages of their own: private error classes (PRIVATE: the download engine and the inventory catch them and
retry, or report in their own words), and INTERNAL (raised where only a bug would lead).

The key of a message. A message is a template: its constant text, with a marker wherever a value goes in (a ``%s``,
a ``{}`` of ``.format``, an f-string field, a Jinja ``{{ }}``, a variable, a conditional part). White space runs
count as one space. A message whose constant text has fewer than MIN_CONSTANT non-space characters is not a message
but a carrier (``fail_json(msg=problem)``, ``raise TaskFailed(exc.msg)``): what it carries has its own entry.

An entry of the page is each literal block (a paragraph ending in ``::`` and the indented block after it); in it a
``<...>`` (any text in angle brackets) stands for a varying part. An entry covers a message when one of them, with
each of its varying parts standing for any text, is the whole of the other. So an entry shows a message in full with
its values as ``<name>``; it may spell out a part the code fills in from elsewhere (``Confluence limits backups:
"<message>".<when> on_frequency_limit is 'fail'.`` for ``%s%s on_frequency_limit is 'fail'.``); and one entry may
cover messages that differ only where it shows ``<...>``, or end with ``<...>`` where a message goes on with text that
varies. An entry needs MIN_CONSTANT constant characters itself, so that no entry covers everything. Messages that
are essentially the same (the same words for another option or service) share an entry by showing each message,
or one form with ``<...>`` where they differ.

The two tests: every message of the code is covered by an entry (the test lists the missing ones, with the file and
line, as the text to paste); and every entry covers some message of the code (stale entries mislead).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import functools
import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "docsite", "rst", "troubleshooting.rst")

MARK = "\x00"
MIN_CONSTANT = 12
MAX_FORMS = 8
# Calls of these names raise TaskFailed with the argument at this index.
WRAPPERS = {"_fail": 0, "fail": 0, "reject": 1}
# Calls of these names return the message at this index with more text after it (a busy lock's holder, if stale).
LEADING = {"flag_stale": 3}
# Functions that return a whole message (or None) for their callers to fail with.
MESSAGE_FUNCTIONS = ("check_product", "textfile_problem", "room", "api_error_hint", "snapshots_api_error_hint",
                     "datacenter_api_error_hint", "org_api_error_hint")
PRIVATE = ("_Retryable", "_Restart", "_NotConfluence")
# Raised only where a bug would be: never shown to a user.
INTERNAL = ("unreachable", "partial file shorter than expected")

# ansible-core's missing_required_lib(library): its message, up to the advice it always ends with.
MISSING_LIB = "Failed to import the required Python library (%s) on %s's Python %s.%s" % ((MARK,) * 4)

_PRINTF = re.compile(r"%%|%(\([^)]*\))?[-#0 +]*(\d+|\*)?(\.\d+)?[sdrfxiega]")
_FORMAT = re.compile(r"\{[^{}]*\}")
_ANGLE = re.compile(r"<[^<>\n]*>")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def _templates(node, scope, depth=0):
    """The message templates ``node`` can give (MARK for each varying part)."""
    if depth > 5:
        return [MARK]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for part in node.values:
            alts = _templates(part, scope, depth + 1) if isinstance(part, ast.Constant) else [MARK]
            out = [a + b for a in out for b in alts]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        return [t for left in _templates(node.left, scope, depth + 1) for t in _fill(left, args, scope, depth)]
    if isinstance(node, ast.Call) and _name(node.func) == "missing_required_lib":
        return [MISSING_LIB]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [_FORMAT.sub(MARK, t).replace("{{", "{").replace("}}", "}")
                for t in _templates(node.func.value, scope, depth + 1)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _templates(node.left, scope, depth + 1)
                for b in _templates(node.right, scope, depth + 1)]
    if isinstance(node, ast.IfExp):
        return _templates(node.body, scope, depth + 1) + _templates(node.orelse, scope, depth + 1)
    if isinstance(node, ast.Name) and scope is not None:
        alts, grows = [], False
        for sub in ast.walk(scope):
            if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in sub.targets):
                alts += _templates(sub.value, scope, depth + 1)
            elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name) and sub.target.id == node.id:
                grows = True
        if alts:
            return [a + MARK for a in alts] if grows else alts
    return [MARK]


def _fill(template, args, scope, depth):
    """``template % args``: a ``%s`` whose argument is a local variable holding text takes that text's templates
    (up to MAX_FORMS forms in all); any other value is a marker."""
    specs, texts, text, last = [], [], "", 0
    for match in _PRINTF.finditer(template):
        text += template[last:match.start()]
        last = match.end()
        if match.group(0) == "%%":
            text += "%"
        else:
            specs.append(match)
            texts.append(text)
            text = ""
    texts.append(text + template[last:])
    if len(specs) != len(args):
        return [MARK.join(texts)]
    out = [texts[0]]
    for index, (spec, arg) in enumerate(zip(specs, args)):
        forms = [MARK]
        if spec.group(0) == "%s" and isinstance(arg, ast.Name):
            forms = _templates(arg, scope, depth + 1)
            if len(out) * len(forms) > MAX_FORMS:
                forms = [MARK]
        out = [done + form + texts[index + 1] for done in out for form in forms]
    return out


def _name(func):
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _message_arg(node, parent):
    """The expression of the message a call gives, or None when it gives none."""
    name = _name(node.func)
    if name == "fail_json":
        return next((k.value for k in node.keywords if k.arg == "msg"), None)
    if name in PRIVATE:
        return None
    if name in LEADING and len(node.args) > LEADING[name]:
        return ast.BinOp(left=node.args[LEADING[name]], op=ast.Add(), right=ast.Name(id="_", ctx=ast.Load()))
    if name in WRAPPERS and isinstance(node.func, ast.Attribute):
        index = WRAPPERS[name]
        return node.args[index] if len(node.args) > index else None
    is_error = bool(name) and name[:1].isupper() and (
        name.endswith(("Error", "Failed", "Timeout", "Large")) or name == "TaskFailed")
    if is_error or isinstance(parent, ast.Raise):
        if node.args:
            return node.args[0]
        return next((k.value for k in node.keywords if k.arg in ("msg", "message")), None)
    return None


def normalize(text):
    """A template's key: white space runs as one space, ``<...>`` in its text as a marker too."""
    return re.sub(r"\s+", " ", _ANGLE.sub(MARK, text)).strip()


def _constant(key):
    return len(re.sub(r"\s+", "", key.replace(MARK, "")))


@functools.lru_cache(maxsize=None)
def code_messages():
    """{key: [where, ...]} of every failure message of plugins/ and roles/."""
    found = {}

    def add(key, where):
        key = normalize(key)
        if _constant(key) >= MIN_CONSTANT and key not in INTERNAL:
            found.setdefault(key, []).append(where)

    for path in sorted(glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True)):
        with open(path) as handle:
            tree = ast.parse(handle.read())
        rel = os.path.relpath(path, ROOT)
        parents, scopes = {}, {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    scopes[sub] = node  # the innermost function wins: inner ones are walked later
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                arg = _message_arg(node, parents.get(node))
                if arg is not None:
                    for template in _templates(arg, scopes.get(node)):
                        add(template, "%s:%d" % (rel, node.lineno))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in MESSAGE_FUNCTIONS:
                for sub in ast.walk(node):
                    value = None
                    if isinstance(sub, ast.Return):
                        value = sub.value
                    elif isinstance(sub, ast.Assign) and any(
                            isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant)
                            and t.slice.value == "problem" for t in sub.targets):
                        value = sub.value
                    if value is not None:
                        for template in _templates(value, node):
                            add(template, "%s:%d" % (rel, sub.lineno))

    def walk(data, where):
        if isinstance(data, dict):
            for name in ("ansible.builtin.fail", "ansible.builtin.assert"):
                args = data.get(name)
                if isinstance(args, dict):
                    text = args.get("msg") if name.endswith("fail") else args.get("fail_msg")
                    if isinstance(text, str):
                        add(_JINJA.sub(MARK, text), where)
            for value in data.values():
                walk(value, where)
        elif isinstance(data, list):
            for value in data:
                walk(value, where)

    for path in sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "**", "*.yml"), recursive=True)):
        with open(path) as handle:
            walk(yaml.safe_load(handle), os.path.relpath(path, ROOT))
    return found


def page_entries():
    """The literal blocks of the page, each as a key (``<...>`` as markers)."""
    with open(PAGE) as handle:
        lines = handle.read().splitlines()
    entries = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::") or line.lstrip().startswith(".."):
            continue
        block = []
        while index < len(lines) and (not lines[index].strip() or lines[index][:1] in (" ", "\t")):
            block.append(lines[index])
            index += 1
        text = "\n".join(block).strip()
        if text:
            entries.append(normalize(text))
    return entries


@functools.lru_cache(maxsize=None)
def _pattern(entry):
    return re.compile("".join(".*?" if part == MARK else re.escape(part) for part in re.split("(%s)" % MARK, entry)),
                      re.DOTALL)


def covers(entry, key):
    """Whether a page entry and a message of the code are the same template (see the module's docstring)."""
    return bool(_pattern(entry).fullmatch(key) or _pattern(key).fullmatch(entry))


def _shown(key):
    return key.replace(MARK, "<...>")


def test_every_failure_message_has_an_entry():
    messages = code_messages()
    assert len(messages) > 100, "the extractor found only %d messages: is it still reading the code?" % len(messages)
    entries = page_entries()
    missing = sorted((where[0], _shown(key)) for key, where in messages.items()
                     if not any(covers(entry, key) for entry in entries))
    assert not missing, "%d messages have no entry in %s:\n%s" % (
        len(missing), os.path.relpath(PAGE, ROOT), "\n".join("%s\n    %s" % pair for pair in missing))


def test_every_entry_names_a_message_of_the_code():
    keys = list(code_messages())
    entries = page_entries()
    assert entries, "no entries found in %s" % PAGE
    short = [_shown(e) for e in entries if _constant(e) < MIN_CONSTANT]
    assert not short, "entries too general to name a message: %s" % short
    stale = [_shown(e) for e in entries if not any(covers(e, key) for key in keys)]
    assert not stale, "entries whose message no longer exists in the code (update or remove them):\n%s" % (
        "\n".join(stale))


def test_the_page_is_a_docsite_page():
    with open(PAGE) as handle:
        first = handle.readline().strip()
        labels = re.findall(r"^\.\. _([^:]+):", first + "\n" + handle.read(), re.MULTILINE)
    assert first == ".. _ansible_collections.atlassian_ops.backup.docsite.troubleshooting:"
    assert all(label.startswith("ansible_collections.atlassian_ops.backup.docsite.") for label in labels), labels
