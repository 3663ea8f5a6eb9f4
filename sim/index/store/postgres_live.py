"""A day's feed updates applied to a live PostgreSQL index: the statements of sqlite_live.

The same rules (sqlite_live's docstring): births add records (a household new to the index gets
its address, a child joining a family takes the family's surname, a child already held is left
alone), moves change the household's address and each mover's authority, deaths are noted,
school and GP changes replace the involvement; a later row for the same key wins. The day's rows
are COPYed into temporary tables (dropped at commit) and applied by set-based statements in one
transaction under the write lock. Nothing here touches `shield`.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import polars as pl

from sim.index.store.delivery import Delivery
from sim.index.store.keys import with_name_keys
from sim.index.store.postgres_bulk import copy_frame
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.postgres_schema import sync_keys_sql
from sim.index.store.sqlite_live import ADDRESS_COLUMNS, BIRTH_COLUMNS, NAME_COLUMNS

_SYNC_HOUSEHOLD = sync_keys_sql([("household", "household_key")])


def _stage(raw, table: str, frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    """The day's rows, numbered in arrival order (`seq`), in a temporary table."""
    definition = ", ".join(f'{column} TEXT COLLATE "C"' for column in columns)
    raw.execute(
        f"CREATE TEMP TABLE {table} (seq BIGINT GENERATED ALWAYS AS IDENTITY, {definition}) "
        "ON COMMIT DROP"
    )
    copy_frame(raw, table, columns, frame.select([pl.col(c).cast(pl.String) for c in columns]))


def _last(table: str, *key: str) -> str:
    """The staged rows, the last one for each key (a later update wins)."""
    return (
        f"SELECT DISTINCT ON ({', '.join(key)}) * FROM {table} ORDER BY {', '.join(key)}, seq DESC"
    )


def _family_surnames(raw, households: list[int]) -> pl.DataFrame:
    found = raw.execute(
        "SELECT c.household_key, min(n.surname) FROM child c "
        "JOIN name n ON n.child_key = c.child_key AND n.current = 1 "
        "WHERE c.household_key = ANY(%s) GROUP BY c.household_key",
        (households,),
    ).fetchall()
    return pl.DataFrame(
        [tuple(row) for row in found],
        schema={"household_key": pl.Int64, "family_surname": pl.String},
        orient="row",
    )


def _with_postcode_norm(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("postcode").str.replace_all(" ", "").str.to_uppercase().alias("postcode_norm")
    )


def _births(raw, births: pl.DataFrame) -> None:
    keys = births["household_key"].unique().to_list()
    births = births.join(_family_surnames(raw, keys), on="household_key", how="left")
    births = births.with_columns(pl.coalesce("family_surname", "surname").alias("surname"))
    named = _with_postcode_norm(with_name_keys(with_name_keys(births, "forename"), "surname"))
    _stage(raw, "feed_birth", named, BIRTH_COLUMNS + NAME_COLUMNS + ADDRESS_COLUMNS)
    raw.execute(
        "INSERT INTO household (household_key, address_line, town, postcode, postcode_norm) "
        "SELECT DISTINCT ON (household_key::bigint) household_key::bigint, address_line, town, "
        "postcode, postcode_norm FROM feed_birth ORDER BY household_key::bigint, seq "
        "ON CONFLICT (household_key) DO NOTHING"
    )
    raw.execute(_SYNC_HOUSEHOLD)
    raw.execute(
        "INSERT INTO child (child_id, authority_code, gender, date_of_birth, household_key) "
        "SELECT child_id, authority_code, gender, date_of_birth, household_key::bigint "
        "FROM feed_birth ORDER BY seq ON CONFLICT (child_id) DO NOTHING"
    )
    raw.execute(
        "INSERT INTO name (child_key, current, forename, middle_names, surname, forename_norm, "
        "forename_code, surname_norm, surname_code, date_of_birth) "
        "SELECT c.child_key, 1, b.forename, NULL, b.surname, b.forename_norm, b.forename_code, "
        "b.surname_norm, b.surname_code, b.date_of_birth FROM feed_birth b "
        "JOIN child c ON c.child_id = b.child_id "
        "WHERE NOT EXISTS (SELECT 1 FROM name n WHERE n.child_key = c.child_key) ORDER BY b.seq"
    )


def _moves(raw, moves: pl.DataFrame) -> None:
    columns = ("child_id", "authority_code", "household_key", *ADDRESS_COLUMNS)
    _stage(raw, "feed_move", _with_postcode_norm(moves), columns)
    raw.execute(
        "UPDATE household SET address_line = m.address_line, town = m.town, "
        "postcode = m.postcode, postcode_norm = m.postcode_norm "
        f"FROM ({_last('feed_move', 'household_key')}) AS m "
        "WHERE household.household_key = m.household_key::bigint"
    )
    raw.execute(
        "UPDATE child SET authority_code = m.authority_code, "
        "household_key = m.household_key::bigint "
        f"FROM ({_last('feed_move', 'child_id')}) AS m WHERE child.child_id = m.child_id"
    )


def _deaths(raw, deaths: pl.DataFrame) -> None:
    _stage(raw, "feed_death", deaths, ("child_id", "died_on"))
    raw.execute(
        "INSERT INTO death (child_key, died_on) SELECT c.child_key, d.died_on "
        f"FROM ({_last('feed_death', 'child_id')}) AS d JOIN child c ON c.child_id = d.child_id "
        "ON CONFLICT (child_key) DO UPDATE SET died_on = excluded.died_on"
    )


def _services(raw, services: pl.DataFrame) -> None:
    _stage(raw, "feed_service", services, ("child_id", "kind", "code", "name"))
    raw.execute(
        "INSERT INTO service (kind, code, name) "
        f"SELECT kind, code, name FROM ({_first('feed_service', 'kind', 'code')}) AS f "
        "ORDER BY seq ON CONFLICT (kind, code) DO NOTHING"
    )
    raw.execute(
        "CREATE TEMP TABLE feed_keys ON COMMIT DROP AS "
        "SELECT c.child_key, f.kind, v.service_key, f.seq "
        f"FROM ({_last('feed_service', 'child_id', 'kind')}) AS f "
        "JOIN child c ON c.child_id = f.child_id "
        "JOIN service v ON v.kind = f.kind AND v.code = f.code"
    )
    raw.execute(
        "DELETE FROM involvement i USING feed_keys k, service v "
        "WHERE i.child_key = k.child_key AND v.service_key = i.service_key AND v.kind = k.kind"
    )
    raw.execute(
        "INSERT INTO involvement (child_key, service_key, contact_key, consent_recorded) "
        "SELECT child_key, service_key, NULL, 0 FROM feed_keys ORDER BY seq"
    )


def _first(table: str, *key: str) -> str:
    return f"SELECT DISTINCT ON ({', '.join(key)}) * FROM {table} ORDER BY {', '.join(key)}, seq"


class PostgresLive:
    """The live feed's methods of PostgresStore (mixed in; uses its connection)."""

    _db: PgConnection

    _transaction: Callable[[], AbstractContextManager[PgConnection]]  # PostgresStore's

    def scratch(self) -> None:
        """No wait for the WAL flush on commit: for a simulation's working copy (a crash loses
        the run, never a real index)."""
        self._db.raw.execute("SET synchronous_commit = off")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One REPEATABLE READ transaction: its snapshot, taken at the first read (made on
        entry), is what every read inside sees, whatever commits meanwhile. The connection is
        held throughout."""
        db = self._db
        with db.lock:
            db.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                db.raw.execute("SELECT 1 FROM child LIMIT 1").fetchall()
                yield
            finally:
                db.raw.execute("COMMIT")

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
                    apply(db.raw, frame)

    def authorities_of(self, child_ids: list[str]) -> dict[str, str]:
        """The authority the index holds for each child it knows (one query)."""
        rows = self._db.raw.execute(
            "SELECT child_id, authority_code FROM child WHERE child_id = ANY(%s)", (child_ids,)
        )
        return dict(rows.fetchall())
