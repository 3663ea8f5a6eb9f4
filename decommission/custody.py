"""Handing the archive's keys to its custodian in a standard format, never in the clear.

The held records and the audit log in the archive are encrypted under two AES-256 keys made for
the run (`ArchiveKeys`), held apart from the archive (DPA 1998 s7, s8(6); SI 2007/2182 holds).
They live only in the rehearsal's memory and leave it once: encrypted with age (age-encryption.org
v1, through pyrage) to the custodian's age recipient (`--custodian-key age1...`) and bagged as
data/keys/archive-keys.age, so the custodian opens them with any age implementation (`age -d -i
KEYFILE`, rage, pyrage) and no code of this project (docs/custodian.md). With no custodian key
the CLI prints them once, when the archive has validated, and writes them nowhere
(docs/decommissioning-standards.md 6.1: every key copy accounted for).
"""

import json
from pathlib import Path

import pyrage

from decommission.archive import ArchiveKeys
from sim.errors import InputError

WRAPPED_FILE = "data/keys/archive-keys.age"
Recipient = pyrage.x25519.Recipient
Identity = pyrage.x25519.Identity


def _text_of(text: str) -> str:
    """The key itself: `text`, or the first line of the file it names that is not a comment."""
    path = Path(text)
    if path.is_file():
        lines = [line.strip() for line in path.read_text().splitlines()]
        return next((line for line in lines if line and not line.startswith("#")), "")
    return text.strip()


def custodian_key(text: str) -> Recipient:
    """The custodian's age recipient (age1...), given as itself or as a file holding it."""
    try:
        return Recipient.from_str(_text_of(text))
    except pyrage.RecipientError:
        raise InputError(
            "--custodian-key: give the custodian's age recipient (age1..., from age-keygen) "
            "or a file holding it"
        ) from None


def custodian_identity(text: str) -> Identity:
    """The custodian's age identity (AGE-SECRET-KEY-1...), as itself or an age-keygen file."""
    try:
        return Identity.from_str(_text_of(text))
    except pyrage.IdentityError:
        raise InputError(
            "--custodian-key: give the custodian's age identity file (AGE-SECRET-KEY-1..., "
            "as age-keygen writes it)"
        ) from None


def wrap_keys(keys: ArchiveKeys, custodian: Recipient) -> bytes:
    """Both archive keys as JSON ({"holds": hex, "audit": hex}), age-encrypted to the custodian."""
    plaintext = json.dumps({"holds": keys.holds.hex(), "audit": keys.audit.hex()}).encode()
    return pyrage.encrypt(plaintext, [custodian])


def unwrap_keys(wrapped: bytes, custodian: Identity) -> ArchiveKeys:
    """The archive keys, for the custodian's identity only (InputError for any other)."""
    try:
        document = json.loads(pyrage.decrypt(wrapped, [custodian]))
    except pyrage.DecryptError:
        raise InputError("--custodian-key: this identity does not open the archive keys") from None
    return ArchiveKeys(bytes.fromhex(document["holds"]), bytes.fromhex(document["audit"]))
