"""Logged-in sessions: held in memory so that the check before every search costs microseconds.

A session ends after `session_idle_minutes` without use or `session_absolute_hours` after login
(data/index/access.toml), at logout, or when its account is revoked. Only the sha256 of a
session id is written to accounts.db, so a copy of the file gives no live session.
"""

import datetime as dt
import hashlib
from dataclasses import dataclass

from sim.index.access.rules import AccessRules, Role


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


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionTable:
    """Live sessions and their last use; decides expiry from an explicit `now`."""

    def __init__(self, rules: AccessRules) -> None:
        self._idle = dt.timedelta(minutes=rules.session_idle_minutes.value)
        self._absolute = dt.timedelta(hours=rules.session_absolute_hours.value)
        self._live: dict[str, list] = {}

    def add(self, session: Session) -> None:
        self._live[session.session_id] = [session, session.started, None]

    def touch(self, session_id: str, now: dt.datetime) -> tuple[Session | None, str | None]:
        """The session and None if it is live (its idle clock restarts), else why it is not."""
        entry = self._live.get(session_id)
        if entry is None:
            return None, "unknown_session"
        session, last_seen, ended = entry
        if ended is None and (
            now - last_seen > self._idle or now - session.started > self._absolute
        ):
            ended = "session_expired"
        if ended is not None:
            del self._live[session_id]
            return session, ended
        entry[1] = now
        return session, None

    def end_for(self, username: str, reason: str) -> list[Session]:
        """Mark every live session of a user as ended; the next use is refused with `reason`."""
        ended = []
        for entry in self._live.values():
            if entry[0].username == username and entry[2] is None:
                entry[2] = reason
                ended.append(entry[0])
        return ended

    def end_all(self, reason: str) -> None:
        for entry in self._live.values():
            entry[2] = entry[2] or reason

    def remove(self, session_id: str) -> Session | None:
        entry = self._live.pop(session_id, None)
        return entry[0] if entry else None
