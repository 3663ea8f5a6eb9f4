"""Text that arrives from outside (a form, the command line, an API caller) before it is used.

Any byte sequence may arrive: a command line hands Python undecodable bytes as lone surrogates,
an API caller may pass a number or None where text belongs. Such a value can be neither stored
(SQLite takes UTF-8 only) nor hashed into the audit chain, so it is refused, and the refusal is
audited with a printable form of what came: never a crash, never an unaudited refusal.
"""

import re

CLAIM_LIMIT = 64  # characters of user-supplied text kept in a refusal entry
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # the control characters text may not hold


def is_text(value: object) -> bool:
    """A str that encodes as UTF-8 and holds no control characters."""
    if not isinstance(value, str):
        return False
    if not value.isascii():  # ASCII always encodes: only other text can hold a lone surrogate
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return _CONTROL.search(value) is None


def shown(value: object, limit: int = CLAIM_LIMIT) -> str:
    """A printable, UTF-8-safe form of any value, cut to `limit` characters, for the audit."""
    text = value if isinstance(value, str) else repr(value)
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if safe.isprintable():  # nothing to escape (most values): as the join below would give it
        return safe[:limit]
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in safe)[:limit]
