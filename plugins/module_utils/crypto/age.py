# -*- coding: utf-8 -*-
# Copyright (c) atlassian_ops.backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""age encryption of backups through pyrage: recipients, identities, and files encrypted or decrypted as streams.

* Recipients are public keys: age X25519 (``age1...``, from ``age-keygen``) or SSH (``ssh-ed25519``, ``ssh-rsa``,
  the line of a ``.pub`` file). Each gets a fingerprint that names it in manifests and messages: an X25519 recipient
  is its own (public) key; an SSH key is ``SHA256:<base64>`` exactly as ``ssh-keygen -lf`` prints it.
* Identities are private keys, given at run time only: an age identity file (``AGE-SECRET-KEY-1...`` lines) or an
  unencrypted OpenSSH private key. No message of this module ever quotes one.
* :func:`encrypt_file` and :func:`decrypt_file` stream through ``pyrage.encrypt_io``/``decrypt_io`` (which read the
  source in 8 KiB calls and write 64 KiB chunks: memory stays flat whatever the size), hashing both sides on the
  way, into ``<dest>.part``; only a result whose plaintext sha256 is the expected one is renamed to ``dest``. On any
  failure the part is removed and nothing is left.

No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import os
import struct
import traceback

from ansible_collections.atlassian_ops.backup.plugins.module_utils.transfer.common import (
    PART_SUFFIX,
    _fsync_dir,
    _remove,
    open_new_part,
)

try:
    import pyrage
    from pyrage import ssh as _ssh
    from pyrage import x25519 as _x25519
    HAS_PYRAGE = True
    PYRAGE_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - the modules fail with missing_required_lib
    pyrage = _ssh = _x25519 = None
    HAS_PYRAGE = False
    PYRAGE_IMPORT_ERROR = traceback.format_exc()

FORMAT = "age"
SUFFIX = ".age"
SSH_TYPES = ("ssh-ed25519", "ssh-rsa")
# An identity file larger than this is not one (an age identity is 74 bytes, a 4096-bit SSH key about 3.4 KB).
MAX_IDENTITY_BYTES = 64 * 1024


class AgeError(Exception):
    """A problem with a key or a file; ``msg`` says what and never holds key material."""

    def __init__(self, msg):
        super(AgeError, self).__init__(msg)
        self.msg = msg


class RecipientError(AgeError):
    """A recipient (public key) that cannot be used; the message names the entry."""


class IdentityError(AgeError):
    """An identity (private key) that cannot be used; the message says where it came from, never what it holds."""


class DecryptError(AgeError):
    """age refused the file: it is damaged, was changed, or is not an age file."""


class NoMatchingIdentity(DecryptError):
    """None of the identities given is one of the file's recipients."""


class DigestMismatch(AgeError):
    """The plaintext is not the expected one (sha256 or size); nothing was kept."""

    def __init__(self, msg, expected=None, actual=None):
        super(DigestMismatch, self).__init__(msg)
        self.expected = expected
        self.actual = actual


# ------------------------------------------------------------------------------------------------------ recipients
class Recipient(object):
    """A parsed public key: ``type`` (``x25519``, ``ssh-ed25519``, ``ssh-rsa``), ``fingerprint``, ``key`` (the key
    without its comment), ``comment`` (an SSH key's comment, or None) and the pyrage object."""

    __slots__ = ("type", "fingerprint", "key", "comment", "obj")

    def __init__(self, kind, fingerprint, key, comment, obj):
        self.type = kind
        self.fingerprint = fingerprint
        self.key = key
        self.comment = comment
        self.obj = obj

    def record(self):
        """What a manifest records of the recipient."""
        return {"type": self.type, "fingerprint": self.fingerprint}

    def __repr__(self):
        return "Recipient(%s %s)" % (self.type, self.fingerprint)


def _require_pyrage():
    if not HAS_PYRAGE:
        raise AgeError("The Python library pyrage is required for age encryption (pip install 'pyrage>=1.2').")


def _shown(text):
    """A public key as messages quote it: its start, enough to recognise it."""
    return text if len(text) <= 24 else text[:20] + "..."


def _looks_private(text):
    return text.upper().startswith("AGE-SECRET-KEY-") or text.startswith("-----BEGIN") or \
        text.startswith("AGE-PLUGIN-")


def ssh_fingerprint(blob):
    """OpenSSH's fingerprint of a public key blob: ``SHA256:<base64 without padding>`` (``ssh-keygen -lf``)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def _ssh_blob_type(blob):
    """The key type a public key blob starts with (an SSH string), or None."""
    if len(blob) < 4:
        return None
    length = struct.unpack(">I", blob[:4])[0]
    if length > 64 or len(blob) < 4 + length:
        return None
    try:
        return blob[4:4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


def parse_recipient(text, where="recipient"):
    """The :class:`Recipient` of one public key (``age1...`` or an SSH public key line); ``where`` names the entry
    in messages. Raises :class:`RecipientError`."""
    text = text.strip()
    if _looks_private(text):
        raise RecipientError(
            "%s is a private key, not a recipient; it is not shown here. Give the public key instead (the age1... "
            "line that age-keygen prints as 'Public key', or the .pub file of an SSH key): the backup host never "
            "needs a private key." % where)
    _require_pyrage()
    if text.lower().startswith("age1"):
        if text != text.lower():
            text = text.lower()  # Bech32 is case-insensitive; age writes it in lower case
        try:
            obj = _x25519.Recipient.from_str(text)
        except (pyrage.RecipientError, ValueError) as exc:
            raise RecipientError("%s (%s) is not a valid age X25519 recipient (%s)." % (where, _shown(text), exc))
        return Recipient("x25519", text, text, None, obj)
    parts = text.split(None, 2)
    kind = parts[0] if parts else ""
    if kind in SSH_TYPES:
        if len(parts) < 2:
            raise RecipientError("%s (%s) has no key after its type: give the whole line of the .pub file." % (
                where, _shown(text)))
        try:
            blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise RecipientError("%s (%s) is not an SSH public key: its key is not base64." % (where, _shown(text)))
        inner = _ssh_blob_type(blob)
        if inner != kind:
            raise RecipientError("%s (%s) is not a valid %s public key (the key inside says %r)." % (
                where, _shown(text), kind, inner))
        key = "%s %s" % (kind, parts[1])
        try:
            obj = _ssh.Recipient.from_str(key)
        except (pyrage.RecipientError, ValueError) as exc:
            raise RecipientError("%s (%s) is not a usable %s public key (%s)." % (where, _shown(text), kind, exc))
        return Recipient(kind, ssh_fingerprint(blob), key, parts[2].strip() if len(parts) > 2 else None, obj)
    if kind.startswith(("ssh-", "ecdsa-", "sk-")):
        raise RecipientError("%s is an SSH key of type %s, which age cannot encrypt to: use an ssh-ed25519 or ssh-rsa "
                             "key, or an age X25519 recipient (age1...)." % (where, kind[:40]))
    raise RecipientError("%s (%s) is neither an age X25519 recipient (age1...) nor an SSH public key (ssh-ed25519 or "
                         "ssh-rsa)." % (where, _shown(text)))


def parse_recipients(entries, name="recipients"):
    """The recipients of a list of entries, each one key or several lines (a recipients file as age reads it: blank
    lines and ``#`` comments are skipped). A key given twice counts once. Raises :class:`RecipientError`, naming the
    entry (``recipients[1]``, with its line when it has several)."""
    if isinstance(entries, str):
        entries = [entries]
    found = []
    seen = set()
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, str):
            raise RecipientError("%s[%d] is not a text but %s." % (name, index, type(entry).__name__))
        lines = entry.splitlines() or [""]
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            where = "%s[%d]" % (name, index) + (" line %d" % number if len(lines) > 1 else "")
            recipient = parse_recipient(line, where)
            if recipient.fingerprint not in seen:
                seen.add(recipient.fingerprint)
                found.append(recipient)
    if not found:
        raise RecipientError("%s names no recipient: give at least one age X25519 recipient (age1...) or SSH public "
                             "key (ssh-ed25519 or ssh-rsa)." % name)
    return found


def records(recipients):
    """What a manifest records of ``recipients``: their types and fingerprints, in a stable order."""
    return sorted((r.record() for r in recipients), key=lambda item: (item["fingerprint"], item["type"]))


def describe(recorded):
    """Recipients as recorded (dicts of ``type`` and ``fingerprint``), in words for a message."""
    return ", ".join("%s %s" % (item.get("type"), item.get("fingerprint")) for item in recorded or []
                     if isinstance(item, dict)) or "(none recorded)"


# ------------------------------------------------------------------------------------------------------ identities
def read_identity_file(path):
    """The bytes of an identity file, read now and kept nowhere. Raises :class:`IdentityError`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IDENTITY_BYTES + 1)
    except (OSError, IOError) as exc:
        raise IdentityError("identity_file %s cannot be read (%s)." % (path, exc.strerror or exc))
    if len(data) > MAX_IDENTITY_BYTES:
        raise IdentityError("identity_file %s is larger than %d bytes: it is not an age identity file or an SSH "
                            "private key." % (path, MAX_IDENTITY_BYTES))
    return data


def secret_strings(data):
    """The strings of an identity's text that must never appear in any output (each line of 8 characters or more)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    found = [data.strip()] if data.strip() else []
    found += [line.strip() for line in data.splitlines() if len(line.strip()) >= 8 and not line.startswith("-----")]
    return found


def private_strings(text):
    """The strings to hide of a text given where a public key belongs (a recipients entry) when it holds a private
    key (:func:`secret_strings`); [] when it holds none."""
    if not isinstance(text, str) or not any(_looks_private(line.strip()) for line in text.splitlines()):
        return []
    return secret_strings(text)


def parse_identities(data, source):
    """The pyrage identities of an age identity file's text or an SSH private key (bytes or text). ``source`` names
    where it came from (``identity_file /path`` or ``identity``). Raises :class:`IdentityError`, never quoting it."""
    _require_pyrage()
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise IdentityError("%s is not text: it is neither an age identity file nor an SSH private key." % source)
    else:
        text = data or ""
    if "-----BEGIN" in text:
        if "ENCRYPTED" in text.split("-----BEGIN", 1)[1].split("-----", 1)[0]:
            raise IdentityError("%s is a passphrase-protected private key in an old PEM format; give an unencrypted "
                                "OpenSSH key or an age identity." % source)
        try:
            return [_ssh.Identity.from_buffer(text.strip().encode("utf-8") + b"\n")]
        except (pyrage.IdentityError, ValueError) as exc:
            if "decrypted" in str(exc):
                raise IdentityError("%s is a passphrase-protected SSH key, which cannot be used here: give a copy "
                                    "without a passphrase (ssh-keygen -p) kept offline, or an age identity." % source)
            raise IdentityError("%s is not a usable SSH private key (ssh-ed25519 or ssh-rsa, in the OpenSSH "
                                "format)." % source)
    identities = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("AGE-PLUGIN-"):
            raise IdentityError("%s line %d is an age plugin identity, which is not supported: give an X25519 "
                                "identity (AGE-SECRET-KEY-1...) or an SSH private key." % (source, number))
        if not line.upper().startswith("AGE-SECRET-KEY-1"):
            raise IdentityError("%s line %d is neither an age identity (AGE-SECRET-KEY-1...) nor the start of an SSH "
                                "private key; the line is not shown." % (source, number))
        try:
            identities.append(_x25519.Identity.from_str(line.upper()))
        except (pyrage.IdentityError, ValueError):
            raise IdentityError("%s line %d is not a valid age identity (AGE-SECRET-KEY-1...); the line is not "
                                "shown." % (source, number))
    if not identities:
        raise IdentityError("%s holds no identity: give an age identity file (AGE-SECRET-KEY-1... lines, as "
                            "age-keygen writes it) or an SSH private key." % source)
    return identities


# -------------------------------------------------------------------------------------------------------- streams
class _Reader(object):
    """A binary file read by pyrage, hashed on the way; an OSError is kept so that it is raised as itself."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.error = None

    def read(self, size=-1):
        try:
            data = self.handle.read(size)
        except (OSError, IOError) as exc:
            self.error = exc
            raise
        self.digest.update(data)
        self.size += len(data)
        return data


class _Writer(object):
    """Where pyrage writes, hashed on the way; ``handle`` None hashes only (a check that writes nothing)."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self.error = None

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        if self.handle is None:
            return len(data)
        try:
            return self.handle.write(data)
        except (OSError, IOError) as exc:
            self.error = exc
            raise

    def flush(self):
        if self.handle is not None:
            self.handle.flush()


def _check_plaintext(digest, size, expected_sha256, expected_size, what):
    if expected_size is not None and size != expected_size:
        raise DigestMismatch("%s has %d bytes, but %d were expected." % (what, size, expected_size),
                             expected_size, size)
    if expected_sha256 and digest != expected_sha256.lower():
        raise DigestMismatch("%s has sha256 %s, but %s was expected." % (what, digest, expected_sha256.lower()),
                             expected_sha256.lower(), digest)


def encrypt_file(src, dest, recipients, expected_sha256=None, expected_size=None):
    """Encrypt ``src`` to ``recipients`` into ``dest`` (through ``dest.part``, renamed at the end, mode 0600).

    The plaintext's sha256 and size are computed on the way; when they differ from ``expected_*`` the part is removed
    and :class:`DigestMismatch` raised, before ``dest`` is touched. Returns ``plaintext_sha256``,
    ``plaintext_size``, ``sha256`` and ``size`` (of the ciphertext).
    """
    _require_pyrage()
    part = dest + PART_SUFFIX
    try:
        with open(src, "rb") as source:
            reader = _Reader(source)
            with open_new_part(part) as target:
                writer = _Writer(target)
                _encrypt(reader, writer, recipients, src)
                target.flush()
                os.fsync(target.fileno())
        _check_plaintext(reader.digest.hexdigest(), reader.size, expected_sha256, expected_size,
                         "The backup %s" % src)
        os.replace(part, dest)
    except BaseException:
        _remove(part)
        raise
    _fsync_dir(os.path.dirname(dest) or ".")
    return dict(plaintext_sha256=reader.digest.hexdigest(), plaintext_size=reader.size,
                sha256=writer.digest.hexdigest(), size=writer.size)


def _encrypt(reader, writer, recipients, src):
    try:
        pyrage.encrypt_io(reader, writer, [r.obj for r in recipients])
    except Exception as exc:  # pylint: disable=broad-except
        errors = [e for e in (reader.error, getattr(writer, "error", None)) if e is not None]
        if errors:
            raise errors[0]
        raise AgeError("age could not encrypt %s (%s)." % (src, exc))


def encrypt_into(src, target, recipients, expected_sha256=None, expected_size=None):
    """Encrypt ``src`` to ``recipients`` into ``target`` (any object with ``write``, such as an upload in progress).

    The plaintext's sha256 and size are computed on the way and compared with ``expected_*`` once every byte is
    written (raising :class:`DigestMismatch`, so that the caller does not commit ``target``). An error ``target``
    raises is raised as itself. Returns ``plaintext_sha256`` and ``plaintext_size``.
    """
    _require_pyrage()
    with open(src, "rb") as source:
        reader = _Reader(source)
        _encrypt(reader, target, recipients, src)
    _check_plaintext(reader.digest.hexdigest(), reader.size, expected_sha256, expected_size, "The backup %s" % src)
    return dict(plaintext_sha256=reader.digest.hexdigest(), plaintext_size=reader.size)


def decrypt_file(src, dest, identities, expected_sha256=None, expected_size=None):
    """Decrypt ``src`` with ``identities`` into ``dest`` (through ``dest.part``, mode 0600), or with ``dest`` None
    into nothing (a check: every byte is decrypted and hashed, none written).

    The plaintext's sha256 is compared with ``expected_sha256`` (and its size with ``expected_size``) before the
    rename; on a mismatch, a wrong identity or a damaged file the part is removed and nothing is left. Returns
    ``sha256``, ``size``, ``ciphertext_sha256`` and ``ciphertext_size``. Raises :class:`NoMatchingIdentity`,
    :class:`DecryptError`, :class:`DigestMismatch` or OSError.
    """
    _require_pyrage()
    part = None if dest is None else dest + PART_SUFFIX
    try:
        with open(src, "rb") as source:
            reader = _Reader(source)
            target = None if part is None else open_new_part(part)
            try:
                writer = _Writer(target)
                try:
                    pyrage.decrypt_io(reader, writer, identities)
                except Exception as exc:  # pylint: disable=broad-except
                    # pyrage raises DecryptError for the header (a wrong key among them), OSError for a payload
                    # chunk that fails authentication; an error of this side's own file is raised as itself.
                    if reader.error is not None or writer.error is not None:
                        raise reader.error or writer.error
                    if isinstance(exc, pyrage.DecryptError) and "no matching keys" in str(exc).lower():
                        raise NoMatchingIdentity("None of the identities given can decrypt %s." % src)
                    raise DecryptError("age refused %s: it is damaged, was changed after it was encrypted, or is not "
                                       "an age file (%s)." % (src, exc))
                if target is not None:
                    target.flush()
                    os.fsync(target.fileno())
            finally:
                if target is not None:
                    target.close()
        _check_plaintext(writer.digest.hexdigest(), writer.size, expected_sha256, expected_size,
                         "The decrypted content of %s" % src)
        if part is not None:
            os.replace(part, dest)
    except BaseException:
        if part is not None:
            _remove(part)
        raise
    if dest is not None:
        _fsync_dir(os.path.dirname(dest) or ".")
    return dict(sha256=writer.digest.hexdigest(), size=writer.size, ciphertext_sha256=reader.digest.hexdigest(),
                ciphertext_size=reader.size)
