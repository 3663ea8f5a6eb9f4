"""Logged-in sessions in the SQLite accounts database (sim.index.access.sessions says why).

Every check reads the session, its account and the service's state in one query; only the
sha256 of a session id is stored.
"""

import datetime as dt
import sqlite3
import threading
from collections.abc import Sequence

from sim.index.access.rules import AccessRules
from sim.index.access.sessions import (
    Session,
    ended_reason,
    expired,
    order_prefix,
    session_hash,
)
from sim.index.store.sqlite_shared import gated_write, joined, select_in

_SELECT = """
SELECT s.session_hash, s.username, s.started_at, s.last_seen, s.ended_at, s.end_reason, a.role,
       a.authority_code, a.organisation, a.organisation_kind, a.sector, a.surname, a.revoked_at,
       (SELECT count(*) FROM service_closed) AS closed
FROM sessions s JOIN accounts a ON a.username = s.username
"""
_LOOKUP = _SELECT + "WHERE s.session_hash = ?"
# What a liveness check reads (sessions.ended_reason): the session's end, its account's
# revocation, the service's state; none of the columns a Session is made of.
_LIVE = """
SELECT s.session_hash, s.ended_at, s.end_reason, a.revoked_at,
       (SELECT count(*) FROM service_closed) AS closed
FROM sessions s JOIN accounts a ON a.username = s.username
"""
_LIVE_COUNT = "SELECT count(*) FROM sessions s JOIN accounts a ON a.username = s.username"
_OPEN = (
    "s.ended_at IS NULL AND a.revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM service_closed)",
    (),
)
_SEEN = "UPDATE sessions SET last_seen = ? WHERE session_hash = ? AND ended_at IS NULL"


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _session(session_id: str, row: sqlite3.Row) -> Session:
    return Session(
        session_id=session_id,
        username=row["username"],
        role=row["role"],
        authority_code=row["authority_code"],
        organisation=row["organisation"],
        organisation_kind=row["organisation_kind"],
        sector=row["sector"],
        surname=row["surname"],
        started=dt.datetime.fromisoformat(row["started_at"]),
    )


class _Replay:
    """One session through a batch of checks: `touch`'s decisions, its writes held back."""

    def __init__(self, session_id: str, row: sqlite3.Row) -> None:
        self.session = _session(session_id, row)
        self.ended = ended_reason(row)  # why every later check is refused, once it is set
        self.stored_end = row["ended_at"] is not None
        seen = row["last_seen"]
        self.last_seen = (
            self.session.started
            if seen is None or seen == row["started_at"]  # not used since login
            else dt.datetime.fromisoformat(seen)
        )
        self.seen: dt.datetime | None = None  # the idle clock to write, if it moved
        self.ending: tuple[dt.datetime, str] | None = None  # the end to write, if a check ended it

    def check(self, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta) -> str | None:
        if self.stored_end or self.ending is not None:
            return self.ended
        ended = self.ended
        if ended is None and expired(self.last_seen, self.session.started, now, idle, absolute):
            ended = "session_expired"
        if ended is not None:  # ended now; later checks read it as ended (sessions.ended_reason)
            self.ending = (now, ended)
            self.ended = ended_reason(
                {"ended_at": now, "end_reason": ended, "closed": 0, "revoked_at": None}
            )
            return ended
        if now > self.last_seen:
            self.last_seen = self.seen = now
        return None


class SqliteSessionStore:
    """Sessions in the shared accounts database; decides expiry from an explicit `now`."""

    def __init__(self, db: sqlite3.Connection, rules: AccessRules) -> None:
        self._db = db
        self._lock = getattr(db, "lock", None) or threading.RLock()  # threads share `db`
        self._idle = dt.timedelta(minutes=rules.session_idle_minutes.value)
        self._absolute = dt.timedelta(hours=rules.session_absolute_hours.value)
        self._forgotten = dt.datetime.min  # the latest horizon this process has forgotten up to

    def start_many(self, sessions: Sequence[Session]) -> None:
        self._db.executemany(
            "INSERT INTO sessions (session_hash, username, started_at, last_seen) "
            "VALUES (?, ?, ?, ?)",
            [
                (session_hash(s.session_id), s.username, stamp, stamp)
                for s in sessions
                for stamp in (_stamp(s.started),)
            ],
        )

    def touch(self, session_id: str, now: dt.datetime) -> tuple[Session | None, str | None]:
        """The session and None if it is live (its idle clock restarts), else why it is not
        (the session, when known, is then ended for good)."""
        with self._lock:
            return self._touch(session_id, now)

    def _touch(self, session_id: str, now: dt.datetime) -> tuple[Session | None, str | None]:
        key = session_hash(session_id)
        row = self._db.execute(_LOOKUP, (key,)).fetchone()
        if row is None:
            return None, "unknown_session"
        session = _session(session_id, row)
        ended = ended_reason(row)
        if row["ended_at"] is not None:  # already ended for good
            return session, ended
        last_seen = dt.datetime.fromisoformat(row["last_seen"] or row["started_at"])
        if ended is None and expired(last_seen, session.started, now, self._idle, self._absolute):
            ended = "session_expired"
        if ended is not None:
            self.end(session_id, now, ended)
            return session, ended
        if now > last_seen:  # a second check at the same moment (page, then act) writes nothing
            self._seen(key, now)
        return session, None

    def _seen(self, key: str, now: dt.datetime) -> None:
        """The idle clock moved on, through the accounts database's write gate."""
        gated_write(self._db, _SEEN, (_stamp(now), key))

    def touch_many(
        self, checks: Sequence[tuple[str, dt.datetime]]
    ) -> list[tuple[Session | None, str | None]]:
        """`touch` of each check in order (SessionStore.touch_many): the sessions read with one
        statement (per 500), then each one's checks decided in memory exactly as `touch`
        decides them; every idle clock that moved (its latest live moment, all with one
        statement) and then every end a check made are written in one transaction (the
        caller's, when this thread holds one open: a batch of searches checks its sessions
        inside the usage guard's)."""
        with self._lock:
            rows = self._rows([session_id for session_id, _ in checks])
            states = {sid: _Replay(sid, row) for sid, row in rows.items() if row is not None}
            answers: list[tuple[Session | None, str | None]] = []
            for session_id, now in checks:
                state = states.get(session_id)
                if state is None:
                    answers.append((None, "unknown_session"))
                    continue
                answers.append((state.session, state.check(now, self._idle, self._absolute)))
            seen = [
                (_stamp(s.seen), session_hash(s.session.session_id))
                for s in states.values()
                if s.seen is not None
            ]
            ending = [s for s in states.values() if s.ending is not None]
            if seen or ending:
                with joined(self._db):  # the caller's transaction, if it holds one
                    if seen:
                        self._db.executemany(_SEEN, seen)
                    for state in ending:
                        self.end(state.session.session_id, *state.ending)
            return answers

    def _rows(self, session_ids: Sequence[str]) -> dict[str, sqlite3.Row | None]:
        """Each session's row (None if unknown), read with one statement per 500 sessions."""
        by_hash = {session_hash(sid): sid for sid in dict.fromkeys(session_ids)}
        found: dict[str, sqlite3.Row | None] = dict.fromkeys(by_hash.values())
        for row in select_in(self._db, _SELECT, "s.session_hash", list(by_hash)):
            found[by_hash[row["session_hash"]]] = row
        return found

    def live_reason(self, session_id: str) -> str | None:
        """None if the session is still live (not ended, account not revoked, service open),
        else the refusal reason: read under the audit lock, just before an answer is logged."""
        row = self._db.execute(_LOOKUP, (session_hash(session_id),)).fetchone()
        return "unknown_session" if row is None else ended_reason(row)

    def live_reasons(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        """`live_reason` of each session, read with one statement per 500 sessions; when every
        session is live (the usual answer) only their count is read, not a row each."""
        by_hash = {session_hash(sid): sid for sid in dict.fromkeys(session_ids)}
        if by_hash and self._all_live(list(by_hash)):
            return dict.fromkeys(by_hash.values())
        reasons: dict[str, str | None] = dict.fromkeys(by_hash.values(), "unknown_session")
        for row in select_in(self._db, _LIVE, "s.session_hash", list(by_hash)):
            reasons[by_hash[row["session_hash"]]] = ended_reason(row)
        return reasons

    def _all_live(self, keys: list[str]) -> bool:
        """Whether every one of these (distinct) stored keys is of a session not ended, whose
        account is not revoked, while the service is open: `ended_reason` None for each."""
        live = sum(
            row[0] for row in select_in(self._db, _LIVE_COUNT, "s.session_hash", keys, _OPEN)
        )
        return live == len(keys)

    def end(self, session_id: str, ended: dt.datetime, reason: str) -> bool:
        """End a live session; False if it was not live."""
        cursor = self._db.execute(
            "UPDATE sessions SET ended_at = ?, end_reason = ? "
            "WHERE session_hash = ? AND ended_at IS NULL",
            (_stamp(ended), reason, session_hash(session_id)),
        )
        return cursor.rowcount == 1

    def end_for(self, username: str, ended: dt.datetime, reason: str) -> int:
        """End every live session of a user; returns how many."""
        cursor = self._db.execute(
            "UPDATE sessions SET ended_at = ?, end_reason = ? "
            "WHERE username = ? AND ended_at IS NULL",
            (_stamp(ended), reason, username),
        )
        return cursor.rowcount

    def forget_started_before(self, moment: dt.datetime) -> None:
        """Delete the sessions started before `moment`: an ordered key leads with its login
        moment, so the older ones are a range at the start of the key order (a day's worth
        each day). A key made before ids led with their moment sorts anywhere: such a session
        is deleted only if its key falls in the range."""
        if moment <= self._forgotten:
            return  # done already (by this process) up to a later horizon
        self._db.execute(
            "DELETE FROM sessions WHERE session_hash < ? AND started_at < ?",
            (order_prefix(moment), _stamp(moment)),
        )
        self._forgotten = moment
