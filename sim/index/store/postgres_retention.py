"""Retention and subject access in PostgreSQL: the set-based statements of sqlite_retention.

The row-at-a-time methods (deaths, consent, leaving England, holds, SARs) are portable SQL and
are inherited from SqliteRetention unchanged, over a PgConnection; only the retention pass
differs: dates are moved with cpw_add_years (postgres_schema: the same day as SQLite's date(),
29 February included), the due sets are temporary tables dropped at commit, and the boolean
flags are real booleans. The keys to purge are collected before any row goes, as in SQLite.
"""

import datetime as dt
from collections.abc import Mapping

from sim.index.store.base import RetentionClock, RetentionOutcome
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.schema import CHILD_TABLES
from sim.index.store.sqlite_retention import SAR_COLUMNS, SqliteRetention

_DUE = """
CREATE TEMP TABLE retention_due ON COMMIT DROP AS
WITH candidate AS (
    SELECT child_key, date_of_birth FROM child
    WHERE archived_on IS NULL AND date_of_birth <= %(born_by)s
    UNION
    SELECT c.child_key, c.date_of_birth FROM death d
    JOIN child c ON c.child_key = d.child_key WHERE c.archived_on IS NULL
), dated AS (
    SELECT c.child_key,
        CASE WHEN k.child_key IS NULL THEN cpw_add_years(c.date_of_birth, %(adult)s)
             ELSE cpw_add_years(c.date_of_birth, %(extended)s) END AS age_due,
        k.child_key IS NOT NULL AS consented,
        cpw_add_years(d.died_on, %(death)s) AS death_due
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
WHERE least(age_due, coalesce(death_due, age_due)) <= %(as_of)s
"""

_PURGE_DUE = """
CREATE TEMP TABLE purge_due ON COMMIT DROP AS
SELECT c.child_key, c.child_id, c.household_key,
    (%(hold_blocks)s AND EXISTS (SELECT 1 FROM protection_hold h
            WHERE h.child_key = c.child_key AND h.lifted_at IS NULL))
    OR (%(sar_blocks)s AND EXISTS (SELECT 1 FROM subject_access_request r
            WHERE r.child_id = c.child_id AND r.closed_on IS NULL)) AS blocked
FROM child c
WHERE c.archived_on IS NOT NULL AND c.archived_on <= %(archived_by)s
    AND cpw_add_years(c.archived_on, %(archive)s) <= %(as_of)s
"""

_KEYS = "SELECT child_key FROM purge_due WHERE NOT blocked"


class PostgresRetention(SqliteRetention):
    """Retention and SAR methods of PostgresStore (mixed in; uses its PgConnection)."""

    _db: PgConnection  # type: ignore[assignment]

    def place_hold(self, child_id: str, reference: str, placed_by: str, at: dt.datetime) -> int:
        with self._transaction() as db:
            row = db.execute(
                "INSERT INTO protection_hold (child_key, reference, placed_by, placed_at) "
                "VALUES (?, ?, ?, ?) RETURNING hold_id",
                (self._child_key(db, child_id), reference, placed_by, at.isoformat()),
            ).fetchone()
            return int(row[0])

    def save_subject_access_request(self, row: Mapping[str, object]) -> int:
        if row.get("request_id") is not None:
            return super().save_subject_access_request(_integers(row))
        values = list(_integers(row).values())
        with self._transaction() as db:
            marks = ", ".join("?" * len(values))
            inserted = db.execute(
                f"INSERT INTO subject_access_request ({', '.join(SAR_COLUMNS[1:])}) "
                f"VALUES ({marks}) RETURNING request_id",
                values,
            ).fetchone()
            return int(inserted[0])

    def apply_retention_clock(self, as_of: dt.date, clock: RetentionClock) -> RetentionOutcome:
        day = as_of.isoformat()
        with self._transaction() as db:
            raw = db.raw
            raw.execute(
                _DUE,
                {
                    "born_by": _shift(raw, day, -clock.adult_age),
                    "as_of": day,
                    "adult": clock.adult_age,
                    "extended": clock.extended_age,
                    "death": clock.death_keep_years,
                },
            )
            archived = {
                cause: int(count)
                for cause, count in raw.execute(
                    "SELECT cause, count(*) FROM retention_due GROUP BY cause ORDER BY cause"
                )
            }
            raw.execute(
                "UPDATE child SET archived_on = d.archived_on, archive_cause = d.cause "
                "FROM retention_due d WHERE child.child_key = d.child_key"
            )
            raw.execute(
                _PURGE_DUE,
                {
                    "archived_by": _shift(raw, day, -clock.archive_years),
                    "as_of": day,
                    "archive": clock.archive_years,
                    "hold_blocks": clock.hold_blocks_purge,
                    "sar_blocks": clock.sar_blocks_purge,
                },
            )
            purged = _column(raw, "SELECT child_id FROM purge_due WHERE NOT blocked")
            blocked = _column(raw, "SELECT child_id FROM purge_due WHERE blocked")
            if purged:
                _purge(raw)
        return RetentionOutcome(archived, tuple(sorted(purged)), tuple(sorted(blocked)))


def _integers(row: Mapping[str, object]) -> dict[str, object]:
    """The SAR row's columns in order, a yes/no stored as 0 or 1 (as SQLite stores a bool)."""
    values = {column: row.get(column) for column in SAR_COLUMNS[1:]}
    if row.get("request_id") is not None:
        values["request_id"] = row["request_id"]
    return {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}


def _purge(raw) -> None:
    """Delete the due, unblocked children from every table, then anything left orphaned."""
    raw.execute(
        "CREATE TEMP TABLE purge_contact ON COMMIT DROP AS SELECT DISTINCT contact_key "
        f"FROM involvement WHERE child_key IN ({_KEYS}) AND contact_key IS NOT NULL"
    )
    for table in CHILD_TABLES:
        raw.execute(f"DELETE FROM {table} WHERE child_key IN ({_KEYS})")
    raw.execute(
        "DELETE FROM subject_access_request WHERE child_id IN "
        "(SELECT child_id FROM purge_due WHERE NOT blocked)"
    )
    raw.execute(f"DELETE FROM child WHERE child_key IN ({_KEYS})")
    raw.execute(
        "DELETE FROM contact WHERE contact_key IN (SELECT contact_key FROM purge_contact) "
        "AND NOT EXISTS (SELECT 1 FROM involvement i WHERE i.contact_key = contact.contact_key) "
        "AND NOT EXISTS (SELECT 1 FROM service v WHERE v.contact_key = contact.contact_key)"
    )
    households = "SELECT household_key FROM purge_due WHERE NOT blocked"
    for table in ("carer", "household"):
        raw.execute(
            f"DELETE FROM {table} WHERE household_key IN ({households}) AND NOT EXISTS "
            f"(SELECT 1 FROM child c WHERE c.household_key = {table}.household_key)"
        )


def _shift(raw, day: str, years: int) -> str:
    """A bound `years` before `day`, one day wide, so 29 Feb birthdays are never missed."""
    row = raw.execute(
        "SELECT to_char(cpw_add_years(%s, %s)::date + 1, 'YYYY-MM-DD')", (day, years)
    ).fetchone()
    return str(row[0])


def _column(raw, sql: str) -> list[str]:
    return [row[0] for row in raw.execute(sql)]
