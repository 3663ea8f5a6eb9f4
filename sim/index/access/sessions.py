"""Logged-in sessions, held in the accounts database and checked there on every request.

A session ends after `session_idle_minutes` without use or `session_absolute_hours` after login
(data/index/access.toml), at logout, when its account is revoked, or when the service is switched
off, whichever process did it: every check reads the session, its account and the service's
state in one query, so a revocation or a switch-off made by another process refuses the very next
request. Only the sha256 of a session id is stored, so a copy of the file gives no live session.
The SQLite implementation of SessionStore is sim.index.store.sqlite_sessions.

A session id leads with its login moment, which leads its stored key too: a day's new sessions
are then stored side by side at the end of the key order. Keyed by a random hash alone they
landed all over the sessions' index, so each batch's commit wrote about one page per session
and cost more with every session ever stored (England's run stores some 7 million).

Sessions past their absolute lifetime are forgotten (`forget_started_before`, once a day inside
the transaction every login makes): none can be used again, and each login stays in the audit
log. Kept, the table grew by every login ever made (some 7 million rows in England's run), and
with it every session read, the pages each commit writes and a revocation's scan of the table.
"""

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sim.index.access.rules import Role

# How an ended session's end is told to its holder (refusals.MESSAGES reason codes).
_ENDED = {"logout": "unknown_session", "session_expired": "session_expired"}


@dataclass(frozen=True)
class Session:
    """Who is logged in: what the facade needs to authorise and audit each search or view."""

    session_id: str
    username: str
    role: Role
    authority_code: str | None
    organisation: str
    organisation_kind: str
    sector: str
    surname: str
    started: dt.datetime


ORDER_DIGITS = 14  # hex digits of a session id's login moment (microseconds since 1970)
RANDOM_BYTES = 32  # 256 random bits after it: the part that makes the id a secret
_ORDERED = re.compile(f"[0-9a-f]{{{ORDER_DIGITS + 2 * RANDOM_BYTES}}}")
_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)


def new_session_id(started: dt.datetime, random: bytes) -> str:
    """A session id: the login moment, then the random bytes (RANDOM_BYTES of them), in hex."""
    naive = started.astimezone(dt.UTC).replace(tzinfo=None) if started.tzinfo else started
    moment = max(0, (naive - _EPOCH) // _MICROSECOND)
    return f"{moment:0{ORDER_DIGITS}x}{random.hex()}"


def session_hash(session_id: str) -> str:
    """The key stored for a session id: the sha256 of the id, after the id's login moment (no
    secret: the session's start is stored beside it) when the id has one (`new_session_id`)."""
    if type(session_id) is str:
        return _cached_hash(session_id)
    return _hash(str(session_id))


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return text[:ORDER_DIGITS] + digest if _ORDERED.fullmatch(text) else digest


# the latest ids' keys: a login and its lookup ask for the same key five times
_cached_hash = functools.lru_cache(maxsize=1 << 14)(_hash)


def order_prefix(moment: dt.datetime) -> str:
    """The leading digits of the key of a session that started at `moment` (`session_hash`):
    every ordered key below them is of a session that started earlier."""
    return new_session_id(moment, b"")[:ORDER_DIGITS]


def prune_horizon(now: dt.datetime, absolute: dt.timedelta) -> dt.datetime:
    """Sessions that started before this moment are forgotten at `now`: past their absolute
    lifetime since the previous day's midnight, so even a check a whole day out of clock order
    refuses them (as "unknown_session", a lapsed session's login still in the audit log)."""
    midnight = dt.datetime.combine(now.date(), dt.time())
    return midnight - dt.timedelta(days=1) - absolute


def ended_reason(row: Mapping[str, object]) -> str | None:
    """Why a looked-up session may no longer be answered (ended, its account revoked, or the
    service switched off), or None: expiry, which needs the clock, is the caller's. `row` holds
    the session's `ended_at` and `end_reason`, its account's `revoked_at` and `closed` (whether
    the service is switched off)."""
    if row["ended_at"] is not None:
        return _ENDED.get(str(row["end_reason"]), "session_revoked")
    if row["closed"] or row["revoked_at"] is not None:
        return "session_revoked"
    return None


def expired(
    last_seen: dt.datetime,
    started: dt.datetime,
    now: dt.datetime,
    idle: dt.timedelta,
    absolute: dt.timedelta,
) -> bool:
    """Whether a live session has run out: idle too long, or too long since login."""
    return now - last_seen > idle or now - started > absolute


class SessionStore(Protocol):
    """Sessions in the shared accounts database; expiry is decided from an explicit `now`.

    `touch` reads the session, its account and the service's state together (one consistent
    read), so a revocation or switch-off by any process refuses the very next request."""

    def start_many(self, sessions: Sequence[Session]) -> None:
        """Store new sessions, with one statement (a batch of logins)."""
        ...

    def touch(self, session_id: str, now: dt.datetime) -> tuple[Session | None, str | None]:
        """The session and None if it is live (its idle clock restarts), else why it is not
        (the session, when known, is then ended for good)."""
        ...

    def touch_many(
        self, checks: Sequence[tuple[str, dt.datetime]]
    ) -> list[tuple[Session | None, str | None]]:
        """`touch` of each (session id, moment), in order, with the answers and the end state
        of calling it once per check: a session ended (or idle-expired) at check k refuses k
        and every later check. Each distinct session is read once and its idle clock written
        once (a batch of lookups, sim.index.batch_lookup)."""
        ...

    def live_reason(self, session_id: str) -> str | None:
        """None if the session is still live, else the refusal reason (read afresh)."""
        ...

    def live_reasons(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        """`live_reason` of each session (a batch's check under the audit log's lock)."""
        ...

    def end(self, session_id: str, ended: dt.datetime, reason: str) -> bool:
        """End a live session; False if it was not live."""
        ...

    def end_for(self, username: str, ended: dt.datetime, reason: str) -> int:
        """End every live session of a user; returns how many."""
        ...

    def forget_started_before(self, moment: dt.datetime) -> None:
        """Delete the sessions that started before `moment` (`prune_horizon`), inside the
        caller's transaction; a store may do it only when `moment` passes the last it was given
        (the horizon moves once a day)."""
        ...
