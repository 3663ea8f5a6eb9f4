"""The usage guard's counters in the SQLite accounts database (sim.index.access.usage says why).

A check runs in one IMMEDIATE transaction (the write lock taken at its start), so the counts it
reads and the use it records are atomic across processes and threads.

The table holds the uses of about the last two days (UsageGuard.forget_old), under one index by
user and time, which serves every read. Kept whole, it grew by every use ever made, and since
each batch's uses land all over an index that leads with the user, each commit wrote (and each
WAL checkpoint copied back) pages spread over the whole of a growing file.
"""

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sim.index.store.sqlite_connection import SharedConnection, Transaction
from sim.index.store.sqlite_shared import select_in

Serial = tuple[str, int]
Use = tuple[str, str, dt.datetime, str | None, Serial | None]  # as sim.index.access.usage.Use
USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    username TEXT NOT NULL, action TEXT NOT NULL, at TEXT NOT NULL,
    surname TEXT, id_prefix TEXT, id_serial INTEGER
);
DROP INDEX IF EXISTS usage_by_user;
CREATE INDEX IF NOT EXISTS usage_by_user_time ON usage (username, at);
CREATE TABLE IF NOT EXISTS usage_alert (
    username TEXT NOT NULL, day TEXT NOT NULL, rule TEXT NOT NULL,
    PRIMARY KEY (username, day, rule)
);
"""


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class SqliteUsageWindow:
    """The counters inside one transaction (UsageWindow)."""

    def __init__(self, db: sqlite3.Connection, counters: "SqliteUsageCounters") -> None:
        self._db, self._counters = db, counters

    def rates(
        self,
        username: str,
        action: str,
        minute_after: dt.datetime,
        day_after: dt.datetime,
        until: dt.datetime,
    ) -> tuple[int, int]:
        in_minute, in_day = self._db.execute(
            "SELECT count(*) FILTER (WHERE at > ?), count(*) FILTER (WHERE at > ?) FROM usage "
            "WHERE username = ? AND action = ? AND at > ? AND at <= ?",
            (
                _stamp(minute_after),
                _stamp(day_after),
                username,
                action,
                _stamp(min(minute_after, day_after)),
                _stamp(until),
            ),
        ).fetchone()
        return int(in_minute), int(in_day)

    def recent_serials(self, username: str, after: dt.datetime, limit: int) -> list[Serial]:
        rows = self._db.execute(
            "SELECT id_prefix, id_serial FROM usage WHERE username = ? AND at > ? "
            "AND id_serial IS NOT NULL ORDER BY rowid DESC LIMIT ?",
            (username, _stamp(after), limit),
        )
        return [(prefix, int(serial)) for prefix, serial in rows]

    def recent_surnames(self, username: str, after: dt.datetime) -> set[str]:
        rows = self._db.execute(
            "SELECT DISTINCT surname FROM usage WHERE username = ? AND action = 'search' "
            "AND at > ? AND surname IS NOT NULL",
            (username, _stamp(after)),
        )
        return {row[0] for row in rows}

    def record(
        self,
        username: str,
        action: str,
        at: dt.datetime,
        surname: str | None,
        serial: Serial | None,
    ) -> None:
        self.record_many([(username, action, at, surname, serial)])

    def forget_before(self, moment: dt.datetime) -> None:
        if moment <= self._counters.forgotten:
            return  # done already (by this process) up to a later horizon
        self._db.execute("DELETE FROM usage WHERE at <= ?", (_stamp(moment),))
        self._counters.forgotten = moment

    def uses_of(self, usernames: Sequence[str], after: dt.datetime) -> list[Use]:
        rows = select_in(
            self._db,
            "SELECT rowid, username, action, at, surname, id_prefix, id_serial FROM usage",
            "username",
            usernames,
            ("at > ?", [_stamp(after)]),
        )
        rows.sort(key=lambda row: row[0])  # the order recorded
        return [
            (username, action, dt.datetime.fromisoformat(at), surname,
             None if serial is None else (prefix, int(serial)))
            for _, username, action, at, surname, prefix, serial in rows
        ]  # fmt: skip

    def record_many(self, uses: list[Use]) -> None:
        stamps: dict[dt.datetime, str] = {}  # a lookup's search and view share their moment
        rows = []
        for username, action, at, surname, serial in uses:
            stamp = stamps.get(at)
            if stamp is None:
                stamp = stamps[at] = _stamp(at)
            prefix, number = serial or (None, None)
            rows.append((username, action, stamp, surname, prefix, number))
        self._db.executemany("INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?)", rows)


class SqliteUsageCounters:
    """UsageCounters over a connection to the accounts database (or an in-memory one)."""

    def __init__(self, db: sqlite3.Connection, *, schema_made: bool = False) -> None:
        self._db = db
        self.forgotten = dt.datetime.min  # the latest horizon this process has forgotten up to
        if not schema_made:  # a server backend makes it, translated, with the accounts schema
            self._db.executescript(USAGE_SCHEMA)

    @classmethod
    def in_memory(cls) -> "SqliteUsageCounters":
        """Counters of one process only (tests and tools without a deployment)."""
        return cls(
            sqlite3.connect(
                ":memory:",
                isolation_level=None,
                check_same_thread=False,
                factory=SharedConnection,
            )
        )

    @contextmanager
    def counting(self) -> Iterator[SqliteUsageWindow]:
        with Transaction(self._db) as db:
            yield SqliteUsageWindow(db, self)

    def first_alert(self, username: str, day: dt.date, rule: str) -> bool:
        cursor = self._db.execute(
            "INSERT INTO usage_alert VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (username, day.isoformat(), rule),
        )
        return cursor.rowcount == 1
