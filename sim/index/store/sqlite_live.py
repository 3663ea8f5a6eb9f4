"""A day's feed updates applied to a live SQLite index: a few executemany calls in one transaction.

The source feeds (docs/reference.md s5c) keep the index current while it runs: birth registrations
add records, address changes move a household (and its children's authority), deaths are noted for
the retention clock (SI 2007/2182 reg 7), and school and GP changes replace an involvement. At
England scale that is millions of updates over a run, so the day's rows of each kind are staged in
an in-memory temporary table and applied by a few set-based statements on the store's own connection
(several times faster than a statement per row). Each staged row finds its child through the index
on the ID (see `_KEY`): a scan of England's child table a day would cost minutes. No record is built
in Python.

No statement here touches `shield`: a shielded child stays shielded whatever a feed says (in
2009 national feed updates unshielded records; Hansard 12 May 2009).
"""

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import polars as pl

from sim.index.store.delivery import Delivery
from sim.index.store.keys import name_keys
from sim.index.store.sqlite_shared import retrying

BIRTH_COLUMNS = ("child_id", "authority_code", "gender", "date_of_birth", "household_key")
NAME_COLUMNS = ("forename", "surname", "forename_norm", "forename_code", "surname_norm")
NAME_COLUMNS += ("surname_code",)
ADDRESS_COLUMNS = ("address_line", "town", "postcode", "postcode_norm")
# WAL pages between a working copy's checkpoints (about 400 MB at 4 KiB a page): at England
# scale fewer, larger checkpoints save the run's feeds time (bench/bench_simulation.py)
SCRATCH_CHECKPOINT_PAGES = 100_000


# A child's key by index ID, one index search per staged row: a scalar subquery, never a join,
# so the planner (which has no statistics for a temporary table) cannot choose to scan or
# Bloom-filter England's child table.
_KEY = "(SELECT child_key FROM child WHERE child_id = {}.child_id)"


def _rows(frame: pl.DataFrame, columns: tuple[str, ...]) -> list[tuple]:
    return frame.select(columns).rows()


def _stage(db: sqlite3.Connection, table: str, rows: list[tuple], columns: tuple[str, ...]) -> None:
    """The day's rows in an in-memory temporary table (temp_store = MEMORY, no index), so the
    index's tables are then changed by a few set-based statements, not one per row."""
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({', '.join(columns)})")
    db.execute(f"DELETE FROM temp.{table}")
    marks = ", ".join("?" * len(columns))
    db.executemany(f"INSERT INTO temp.{table} VALUES ({marks})", rows)


def _last(table: str, *key: str) -> str:
    """The rows of a staged table, the last one for each key (a later update wins)."""
    return (
        f"SELECT * FROM temp.{table} WHERE rowid IN "
        f"(SELECT max(rowid) FROM temp.{table} GROUP BY {', '.join(key)})"
    )


def _family_surnames(db: sqlite3.Connection, households: list[int]) -> dict[int, str]:
    """The current surname of a child already in each household (one query for the day)."""
    found = db.execute(
        "SELECT c.household_key, min(n.surname) FROM json_each(?) AS j "
        "CROSS JOIN child c ON c.household_key = j.value "
        "CROSS JOIN name n ON n.child_key = c.child_key AND n.current = 1 "
        "GROUP BY c.household_key",
        (json.dumps(households),),
    ).fetchall()
    return {household: surname for household, surname in found if surname is not None}


def _postcode_norms(postcodes: list[str | None]) -> list[str | None]:
    """The stored search form of each postcode (spaces dropped, upper case), in one pass."""
    frame = pl.DataFrame({"postcode": postcodes}, schema={"postcode": pl.String})
    return _with_postcode_norm(frame)["postcode_norm"].to_list()


def _with_postcode_norm(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("postcode").str.replace_all(" ", "").str.to_uppercase().alias("postcode_norm")
    )


def _births(db: sqlite3.Connection, births: pl.DataFrame) -> None:
    """New records: a household new to the index gets its address; a child joining a family
    takes the family's surname; a child already held is left alone. A day's rows are few, so
    they are staged as Python rows with one polars pass for the names (name_keys) and one for
    the postcodes: a pass and a join per column cost more per day than the statements."""
    columns = (*BIRTH_COLUMNS, "forename", "surname", *ADDRESS_COLUMNS[:3])
    rows = _rows(births, columns)
    family = _family_surnames(db, list(dict.fromkeys(row[4] for row in rows)))
    named = [(*row[:5], row[5], family.get(row[4], row[6]), *row[7:]) for row in rows]
    keys = name_keys(name for row in named for name in row[5:7])
    missing = (None, None)
    norms = _postcode_norms([row[-1] for row in named])
    staged = []
    for (*birth, forename, surname, line, town, postcode), norm in zip(named, norms, strict=True):
        staged.append(
            (*birth, forename, surname, *keys.get(forename, missing), *keys.get(surname, missing),
             line, town, postcode, norm)
        )  # fmt: skip
    _stage(db, "feed_birth", staged, BIRTH_COLUMNS + NAME_COLUMNS + ADDRESS_COLUMNS)
    db.execute(
        "INSERT INTO household (household_key, address_line, town, postcode, postcode_norm) "
        "SELECT household_key, address_line, town, postcode, postcode_norm FROM temp.feed_birth "
        "WHERE rowid IN (SELECT min(rowid) FROM temp.feed_birth GROUP BY household_key) "
        "ON CONFLICT (household_key) DO NOTHING"
    )
    db.execute(
        f"INSERT INTO child ({', '.join(BIRTH_COLUMNS)}) "
        f"SELECT {', '.join(BIRTH_COLUMNS)} FROM temp.feed_birth WHERE true "
        "ON CONFLICT (child_id) DO NOTHING"
    )
    db.execute(
        "INSERT INTO name (child_key, current, forename, middle_names, surname, forename_norm, "
        "forename_code, surname_norm, surname_code, date_of_birth) "
        "SELECT key, 1, forename, NULL, surname, forename_norm, forename_code, surname_norm, "
        f"surname_code, date_of_birth FROM (SELECT {_KEY.format('b')} AS key, * "
        "FROM temp.feed_birth b) WHERE key IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM name n WHERE n.child_key = key)"
    )


def _moves(db: sqlite3.Connection, moves: pl.DataFrame) -> None:
    """The household's new address, and each mover's new authority."""
    columns = ("child_id", "authority_code", "household_key", *ADDRESS_COLUMNS)
    rows = _rows(moves, columns[:-1])
    norms = _postcode_norms([row[-1] for row in rows])
    staged = [(*row, norm) for row, norm in zip(rows, norms, strict=True)]
    _stage(db, "feed_move", staged, columns)
    db.execute(
        "UPDATE household SET address_line = m.address_line, town = m.town, "
        "postcode = m.postcode, postcode_norm = m.postcode_norm "
        f"FROM ({_last('feed_move', 'household_key')}) AS m "
        "WHERE household.household_key = m.household_key"
    )
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS feed_child "
        "(child_key INTEGER PRIMARY KEY, authority_code, household_key)"
    )
    db.execute("DELETE FROM temp.feed_child")
    db.execute(
        "INSERT OR REPLACE INTO temp.feed_child SELECT key, authority_code, household_key "
        f"FROM (SELECT {_KEY.format('m')} AS key, * FROM temp.feed_move m ORDER BY m.rowid) "
        "WHERE key IS NOT NULL"
    )
    db.execute(
        "UPDATE child SET "
        "authority_code = (SELECT authority_code FROM temp.feed_child f "
        "WHERE f.child_key = child.child_key), "
        "household_key = (SELECT household_key FROM temp.feed_child f "
        "WHERE f.child_key = child.child_key) "
        "WHERE child_key IN (SELECT child_key FROM temp.feed_child)"
    )


def _deaths(db: sqlite3.Connection, deaths: pl.DataFrame) -> None:
    db.executemany(
        "INSERT INTO death (child_key, died_on) SELECT child_key, ? FROM child WHERE child_id = ? "
        "ON CONFLICT (child_key) DO UPDATE SET died_on = excluded.died_on",
        _rows(deaths, ("died_on", "child_id")),
    )


def _services(db: sqlite3.Connection, services: pl.DataFrame) -> None:
    """Replace the child's school (or GP practice) involvement with the new one."""
    first: dict[tuple, tuple] = {}  # each service's first row, in arrival order
    for row in _rows(services, ("kind", "code", "name")):
        first.setdefault(row[:2], row)
    db.executemany(
        "INSERT INTO service (kind, code, name) VALUES (?, ?, ?) ON CONFLICT (kind, code) "
        "DO NOTHING",
        list(first.values()),
    )
    columns = ("child_id", "kind", "code")
    _stage(db, "feed_service", _rows(services, columns), columns)
    db.execute("CREATE TEMP TABLE IF NOT EXISTS feed_keys (child_key, kind, service_key)")
    db.execute("DELETE FROM temp.feed_keys")
    db.execute(
        "INSERT INTO temp.feed_keys SELECT * FROM (SELECT "
        f"{_KEY.format('f')} AS key, f.kind, (SELECT service_key FROM service v "
        "WHERE v.kind = f.kind AND v.code = f.code) AS service "
        f"FROM ({_last('feed_service', 'child_id', 'kind')}) AS f) "
        "WHERE key IS NOT NULL AND service IS NOT NULL"
    )
    db.execute(
        # driven from the day's rows through the index on child (a correlated subquery over
        # the staged table instead scans it once per involvement: quadratic in the day's size)
        "DELETE FROM involvement WHERE rowid IN (SELECT i.rowid FROM temp.feed_keys k "
        "CROSS JOIN involvement i ON i.child_key = k.child_key "
        "CROSS JOIN service v ON v.service_key = i.service_key AND v.kind = k.kind)"
    )
    db.execute(
        "INSERT INTO involvement (child_key, service_key, contact_key, consent_recorded) "
        "SELECT child_key, service_key, NULL, 0 FROM temp.feed_keys"
    )


_NO_LOCK = contextlib.nullcontext()


class SqliteLive:
    """The live feed's methods of SqliteStore (mixed in; uses its connection)."""

    _db: sqlite3.Connection

    _transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]  # SqliteStore's

    def scratch(self) -> None:
        """No fsync on commit: for a simulation's working copy, which is thrown away after the
        run (a crash loses the run, never a real index). Commits then cost microseconds, not a
        disk flush each day. The WAL is copied back into the file every `SCRATCH_CHECKPOINT_
        PAGES` pages, not SQLite's 1,000: a page the feeds change on many days (an index's
        leaf, a busy household) is copied back once, not once a day."""
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(f"PRAGMA wal_autocheckpoint = {SCRATCH_CHECKPOINT_PAGES}")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction (WAL: a writer in another process commits meanwhile without
        waiting, and nothing it commits is seen here). SQLite fixes the snapshot at the
        transaction's first read, so one is made on entry. The connection is held throughout."""
        db = self._db
        with getattr(db, "lock", _NO_LOCK):
            db.execute("BEGIN DEFERRED")
            try:
                retrying(lambda: db.execute("SELECT 1 FROM child LIMIT 1").fetchall())
                yield
            finally:
                db.execute("COMMIT")

    def deliver(self, delivery: Delivery) -> None:
        """Apply a day's updates in one transaction: births, then moves, services and deaths."""
        with self._transaction() as db:
            for frame, apply in (
                (delivery.births, _births),
                (delivery.moves, _moves),
                (delivery.services, _services),
                (delivery.deaths, _deaths),
            ):
                if frame is not None and frame.height:
                    apply(db, frame)

    def authorities_of(self, child_ids: list[str]) -> dict[str, str]:
        """The authority the index holds for each child it knows (one query)."""
        rows = self._db.execute(
            "SELECT c.child_id, c.authority_code FROM json_each(?) AS j "
            "CROSS JOIN child c ON c.child_id = j.value",
            (json.dumps(child_ids),),
        )
        return dict(rows.fetchall())
