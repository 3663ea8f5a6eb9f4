"""Retention and subject access in SQLite: set-based statements over indexed columns.

A pass never loops over children in Python. Archiving is one UPDATE driven by a partial index
of live children's dates of birth (plus the small death table), so a daily pass reads only the
children turning 18 that day and the few held to 25, however large the archive. Purging
collects the due keys in a temporary table and deletes from every child table by index, then
removes households, carers and contacts left pointing at no one. secure_delete is on for the
connection and the WAL is truncated after a purge, so purged rows leave no readable page
images (docs/decommissioning-standards.md 5.1).
"""

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from sim.errors import InputError
from sim.index.store.base import Hold, RetentionClock, RetentionOutcome
from sim.index.store.schema import CHILD_TABLES

SAR_COLUMNS = (
    "request_id",
    "child_id",
    "requester",
    "received_on",
    "fee_due_pence",
    "fee_paid_on",
    "identity_verified_on",
    "child_consent",
    "closed_on",
    "outcome",
    "ground",
    "withheld",
)

# The due dates of every not-yet-archived candidate: those old enough (by the date-of-birth
# index) and those with a recorded death (CROSS JOIN keeps the small death table outermost).
# SQLite's date() takes 29 Feb + n years to 1 March.
_DUE = """
CREATE TEMP TABLE retention_due AS
WITH candidate AS (
    SELECT child_key, date_of_birth FROM child
    WHERE archived_on IS NULL AND date_of_birth <= :born_by
    UNION
    SELECT c.child_key, c.date_of_birth FROM death d CROSS JOIN child c
    ON c.child_key = d.child_key WHERE c.archived_on IS NULL
), dated AS (
    SELECT c.child_key,
        CASE WHEN k.child_key IS NULL THEN date(c.date_of_birth, :adult)
             ELSE date(c.date_of_birth, :extended) END AS age_due,
        k.child_key IS NOT NULL AS consented,
        date(d.died_on, :death) AS death_due
    FROM candidate c
    LEFT JOIN retention_consent k ON k.child_key = c.child_key
    LEFT JOIN death d ON d.child_key = c.child_key
)
SELECT child_key,
    CASE WHEN death_due IS NOT NULL AND death_due <= age_due THEN death_due ELSE age_due END
        AS archived_on,
    CASE WHEN death_due IS NOT NULL AND death_due <= age_due THEN 'death'
         WHEN consented THEN 'extended age' ELSE 'adult age' END AS cause
FROM dated
WHERE min(age_due, coalesce(death_due, age_due)) <= :as_of
"""

_PURGE_DUE = """
CREATE TEMP TABLE purge_due AS
SELECT c.child_key, c.child_id, c.household_key,
    (:hold_blocks AND EXISTS (SELECT 1 FROM protection_hold h
            WHERE h.child_key = c.child_key AND h.lifted_at IS NULL))
    OR (:sar_blocks AND EXISTS (SELECT 1 FROM subject_access_request r
            WHERE r.child_id = c.child_id AND r.closed_on IS NULL)) AS blocked
FROM child c
WHERE c.archived_on IS NOT NULL AND c.archived_on <= :archived_by
    AND date(c.archived_on, :archive) <= :as_of
"""

_KEYS = "SELECT child_key FROM temp.purge_due WHERE NOT blocked"


class SqliteRetention:
    """Retention and SAR methods of SqliteStore (mixed in; uses its connection)."""

    _db: sqlite3.Connection

    _transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]  # SqliteStore's

    def _child_key(self, db: sqlite3.Connection, child_id: str) -> int:
        row = db.execute("SELECT child_key FROM child WHERE child_id = ?", (child_id,)).fetchone()
        if row is None:
            raise InputError(f"{child_id}: no such child in the index")
        return int(row[0])

    def record_death(self, child_id: str, died_on: dt.date) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO death (child_key, died_on) VALUES (?, ?) "
                "ON CONFLICT (child_key) DO UPDATE SET died_on = excluded.died_on",
                (self._child_key(db, child_id), died_on.isoformat()),
            )

    def set_retention_consent(
        self, child_id: str, reason: str | None, recorded_by: str, at: dt.datetime
    ) -> None:
        with self._transaction() as db:
            key = self._child_key(db, child_id)
            if reason is None:
                db.execute("DELETE FROM retention_consent WHERE child_key = ?", (key,))
                return
            db.execute(
                "INSERT INTO retention_consent (child_key, reason, recorded_by, recorded_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (child_key) DO UPDATE SET "
                "reason = excluded.reason, recorded_by = excluded.recorded_by, "
                "recorded_at = excluded.recorded_at",
                (key, reason, recorded_by, at.isoformat()),
            )

    def set_leaving_england(
        self, child_id: str, intends_to_return: bool | None, recorded_by: str, at: dt.datetime
    ) -> None:
        with self._transaction() as db:
            key = self._child_key(db, child_id)
            if intends_to_return is None:
                db.execute("DELETE FROM leaving_england WHERE child_key = ?", (key,))
                return
            db.execute(
                "INSERT INTO leaving_england (child_key, intends_to_return, recorded_by, "
                "recorded_at) VALUES (?, ?, ?, ?) ON CONFLICT (child_key) DO UPDATE SET "
                "intends_to_return = excluded.intends_to_return, "
                "recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                (key, int(intends_to_return), recorded_by, at.isoformat()),
            )

    def place_hold(self, child_id: str, reference: str, placed_by: str, at: dt.datetime) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO protection_hold (child_key, reference, placed_by, placed_at) "
                "VALUES (?, ?, ?, ?)",
                (self._child_key(db, child_id), reference, placed_by, at.isoformat()),
            )
            return int(cursor.lastrowid or 0)

    def lift_hold(self, hold_id: int, lifted_by: str, at: dt.datetime) -> str:
        with self._transaction() as db:
            row = db.execute(
                "UPDATE protection_hold SET lifted_by = ?, lifted_at = ? "
                "WHERE hold_id = ? AND lifted_at IS NULL RETURNING child_key",
                (lifted_by, at.isoformat(), hold_id),
            ).fetchone()
            if row is None:
                raise InputError(f"hold {hold_id}: no standing hold with that number")
            child = db.execute("SELECT child_id FROM child WHERE child_key = ?", row).fetchone()
            return str(child[0])

    def read_holds(self, *, standing_only: bool = True) -> list[Hold]:
        where = "WHERE h.lifted_at IS NULL" if standing_only else ""
        rows = self._db.execute(
            "SELECT h.hold_id, c.child_id, h.reference, h.placed_by, h.placed_at, h.lifted_by, "
            f"h.lifted_at FROM protection_hold h JOIN child c ON c.child_key = h.child_key {where} "
            "ORDER BY h.hold_id"
        )
        return [
            Hold(i, c, r, p, dt.datetime.fromisoformat(pa), lb, _when(la))
            for i, c, r, p, pa, lb, la in rows
        ]

    def apply_retention_clock(self, as_of: dt.date, clock: RetentionClock) -> RetentionOutcome:
        day = as_of.isoformat()
        periods = {
            "adult": f"+{clock.adult_age} years",
            "extended": f"+{clock.extended_age} years",
            "death": f"+{clock.death_keep_years} years",
            "archive": f"+{clock.archive_years} years",
        }
        with self._transaction() as db:
            _drop_temp(db)
            born_by = _shift(db, day, -clock.adult_age)
            db.execute(
                _DUE,
                {"born_by": born_by, "as_of": day, **_pick(periods, "adult", "extended", "death")},
            )
            archived = dict(
                db.execute("SELECT cause, count(*) FROM temp.retention_due GROUP BY cause")
            )
            db.execute(
                "UPDATE child SET archived_on = d.archived_on, archive_cause = d.cause "
                "FROM temp.retention_due d WHERE child.child_key = d.child_key"
            )
            db.execute(
                _PURGE_DUE,
                {
                    "archived_by": _shift(db, day, -clock.archive_years),
                    "as_of": day,
                    "archive": periods["archive"],
                    "hold_blocks": int(clock.hold_blocks_purge),
                    "sar_blocks": int(clock.sar_blocks_purge),
                },
            )
            purged = _column(db, "SELECT child_id FROM temp.purge_due WHERE NOT blocked")
            blocked = _column(db, "SELECT child_id FROM temp.purge_due WHERE blocked")
            if purged:
                _purge(db)
            _drop_temp(db)
        if purged:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return RetentionOutcome(archived, tuple(sorted(purged)), tuple(sorted(blocked)))

    def save_subject_access_request(self, row: Mapping[str, object]) -> int:
        values = [row.get(column) for column in SAR_COLUMNS[1:]]
        with self._transaction() as db:
            if row.get("request_id") is None:
                marks = ", ".join("?" * len(values))
                cursor = db.execute(
                    f"INSERT INTO subject_access_request ({', '.join(SAR_COLUMNS[1:])}) "
                    f"VALUES ({marks})",
                    values,
                )
                return int(cursor.lastrowid or 0)
            sets = ", ".join(f"{column} = ?" for column in SAR_COLUMNS[1:])
            changed = db.execute(
                f"UPDATE subject_access_request SET {sets} WHERE request_id = ?",
                [*values, row["request_id"]],
            ).rowcount
            if changed != 1:
                raise InputError(f"subject access request {row['request_id']}: no such request")
            return int(row["request_id"])  # type: ignore[call-overload]

    def read_subject_access_requests(
        self, *, request_id: int | None = None, open_only: bool = False
    ) -> list[dict[str, object]]:
        where, params = [], []
        if request_id is not None:
            where.append("request_id = ?")
            params.append(request_id)
        if open_only:
            where.append("closed_on IS NULL")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"SELECT {', '.join(SAR_COLUMNS)} FROM subject_access_request {clause} "
            "ORDER BY request_id",
            params,
        )
        return [dict(zip(SAR_COLUMNS, row, strict=True)) for row in rows]


def _purge(db: sqlite3.Connection) -> None:
    """Delete the due, unblocked children from every table, then anything left orphaned."""
    db.execute(
        "CREATE TEMP TABLE purge_contact AS SELECT DISTINCT contact_key FROM involvement "
        f"WHERE child_key IN ({_KEYS}) AND contact_key IS NOT NULL"
    )
    for table in CHILD_TABLES:
        db.execute(f"DELETE FROM {table} WHERE child_key IN ({_KEYS})")
    db.execute(
        "DELETE FROM subject_access_request WHERE child_id IN "
        "(SELECT child_id FROM temp.purge_due WHERE NOT blocked)"
    )
    db.execute(f"DELETE FROM child WHERE child_key IN ({_KEYS})")
    db.execute(
        "DELETE FROM contact WHERE contact_key IN (SELECT contact_key FROM temp.purge_contact) "
        "AND NOT EXISTS (SELECT 1 FROM involvement i WHERE i.contact_key = contact.contact_key) "
        "AND NOT EXISTS (SELECT 1 FROM service v WHERE v.contact_key = contact.contact_key)"
    )
    households = "SELECT household_key FROM temp.purge_due WHERE NOT blocked"
    for table in ("carer", "household"):
        db.execute(
            f"DELETE FROM {table} WHERE household_key IN ({households}) AND NOT EXISTS "
            f"(SELECT 1 FROM child c WHERE c.household_key = {table}.household_key)"
        )


def _drop_temp(db: sqlite3.Connection) -> None:
    for table in ("retention_due", "purge_due", "purge_contact"):
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _shift(db: sqlite3.Connection, day: str, years: int) -> str:
    """A bound `years` before `day`, one day wide, so 29 Feb birthdays are never missed."""
    return db.execute("SELECT date(?, ?, '+1 day')", (day, f"{years} years")).fetchone()[0]


def _pick(values: dict[str, str], *keys: str) -> dict[str, str]:
    return {key: values[key] for key in keys}


def _column(db: sqlite3.Connection, sql: str) -> list[str]:
    return [row[0] for row in db.execute(sql)]


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None
