"""One audited act, and its canonical form in the hash-chained log.

Every login, search, view, refusal and administrative action becomes an `AuditEvent`
(docs/reference.md 5f: every access is logged in an audit trail that is reviewed). Times are the
simulation's clock: naive datetimes in England's local time, so that "out of hours" means what it
meant to the practitioner.

Conventional `detail` keys, read by the monitoring rules: `surname` (the surname searched for,
or of the child viewed), `child_authority` (the viewed child's authority code), `authority`
(the actor's authority code), `network`.
"""

import datetime as dt
import hashlib
import json
import json.encoder
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["allowed", "refused"]
GENESIS = "0" * 64
ENTRY_KEYS = frozenset(
    {"seq", "time", "actor", "action", "outcome", "child_id", "reason", "detail", "prev", "hash"}
)


class CanonicalDetail(str):
    """An entry's detail already written as canonical JSON, entered as it is: a caller that
    writes many entries of one shape (sim.index.batch_lookup) writes their details from a
    template rather than encoding a dict for each."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what, when, to which child (if any), allowed or refused, and why."""

    time: dt.datetime
    actor: str
    action: str
    outcome: Outcome
    child_id: str | None = None
    reason: str | None = None
    detail: Mapping[str, Any] | CanonicalDetail = field(default_factory=dict)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder that _ENCODER.encode builds afresh on every call, built once (two per entry,
# on every lookup); without the circular-reference check, so it keeps no state between calls.
_C_ENCODE = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
)


# The same without sorting, for a dict whose keys are already in sorted order (an entry's body,
# written so below): the same text, without sorting its keys on every entry.
_C_ENCODE_SORTED = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
)


_string = json.encoder.encode_basestring  # a str as the encoders write it (ensure_ascii=False)


def canonical(value: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept as is; one text per value."""
    if _C_ENCODE is None or not isinstance(value, dict):
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def encode_entry(event: AuditEvent, seq: int, prev: str) -> tuple[str, str]:
    """The entry's line (without newline) and its hash, which the next entry carries as `prev`.

    The line is the canonical JSON of the body with `"hash"` appended as the last member, so
    the hash is computed over exactly the bytes that precede it.

    `detail` is stored as a canonical JSON string so every line has the same flat schema and
    analysis can read the log natively (polars), whatever the details hold.
    """
    if event.time.tzinfo is not None:
        raise ValueError("audit times are naive local times (the simulation's clock)")
    if event.outcome not in ("allowed", "refused"):
        raise ValueError(f"outcome must be 'allowed' or 'refused', not {event.outcome!r}")
    detail = event.detail if type(event.detail) is CanonicalDetail else canonical(event.detail)
    stamp = event.time.isoformat(timespec="microseconds")
    action, actor, child_id, reason = event.action, event.actor, event.child_id, event.reason
    if (
        type(seq) is int
        and type(action) is str
        and type(actor) is str
        and type(prev) is str
        and (child_id is None or type(child_id) is str)
        and (reason is None or type(reason) is str)
    ):
        # the canonical body written out member by member, keys in sorted order: the text the
        # encoder gives the body dict below, without building and walking the dict
        text = (
            f'{{"action":{_string(action)},"actor":{_string(actor)},'
            f'"child_id":{"null" if child_id is None else _string(child_id)},'
            f'"detail":{_string(detail)},"outcome":"{event.outcome}","prev":{_string(prev)},'
            f'"reason":{"null" if reason is None else _string(reason)},'
            f'"seq":{seq},"time":"{stamp}"}}'
        )
    else:
        body = {  # keys in sorted order
            "action": event.action,
            "actor": event.actor,
            "child_id": event.child_id,
            "detail": detail,
            "outcome": event.outcome,
            "prev": prev,
            "reason": event.reason,
            "seq": seq,
            "time": stamp,
        }
        text = "".join(_C_ENCODE_SORTED(body, 0)) if _C_ENCODE_SORTED else canonical(body)
    entry_hash = digest(text)
    return f'{text[:-1]},"hash":"{entry_hash}"}}', entry_hash


def split_entry(line: str, entry: dict[str, Any]) -> tuple[str, str] | None:
    """The canonical body text and stored hash of a parsed entry line, if the line is exactly
    `canonical(body)` with `"hash":"<sha256>"` appended as its last member; else None."""
    stored = entry.pop("hash", None)
    if not isinstance(stored, str):
        return None
    text = canonical(entry)
    if line != f'{text[:-1]},"hash":"{stored}"}}':
        return None
    return text, stored
