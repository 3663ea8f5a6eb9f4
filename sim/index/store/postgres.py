"""The PostgreSQL backend of the index: the same tables, searches and guarantees as SqliteStore.

One database holds one index (its conninfo names it: a unix socket and peer or trust
authentication for a local cluster, so no password is written anywhere). Writes take the
database's write lock (postgres_connection: `BEGIN IMMEDIATE` as an advisory lock), so a
shielding decision or a retention pass is atomic against every other process, as in SQLite.
Reads are ordered exactly as SqliteStore orders them: by key, then names current first in the
order written (the `rowid` column, postgres_schema).
"""

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import polars as pl
from psycopg.rows import tuple_row

from sim.errors import InputError
from sim.index.records import ChildRecord
from sim.index.store.base import (
    Candidate,
    CandidateName,
    CandidateQuery,
    ExactHit,
    IndexStore,
    NameKey,
    StoredRecord,
    StoredRequest,
    tag_hits,
)
from sim.index.store.postgres_bulk import PostgresBulkLoad
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.postgres_live import PostgresLive
from sim.index.store.postgres_records import write_record
from sim.index.store.postgres_retention import PostgresRetention
from sim.index.store.postgres_schema import CREATE_INDEXES_PG, CREATE_TABLES_PG
from sim.index.store.schema import (
    EXACT_NAME_SQL,
    TABLES,
    block_sql,
    exact_names_sql,
    id_hits_sql,
)
from sim.index.store.sqlite_records import read_record

_NAME_FIELDS = "n.current, n.forename, n.middle_names, n.surname, n.forename_norm, "
_NAME_FIELDS += "n.forename_code, n.surname_norm, n.surname_code"
_RETENTION_TABLES = (
    "retention_consent",
    "death",
    "protection_hold",
    "subject_access_request",
    "leaving_england",
)


_EXACT_NAMES_SQL = exact_names_sql(
    "SELECT ord - 1 AS i, e ->> 0 AS surname, e ->> 1 AS forename, e ->> 2 AS born "
    "FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS t(e, ord)"
)

_ID_HITS_SQL = id_hits_sql(
    "SELECT ord - 1 AS i, e AS id FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY "
    "AS t(e, ord)"
)


class PostgresStore(PostgresBulkLoad, PostgresRetention, PostgresLive, IndexStore):
    """An index in one PostgreSQL database (bulk loads in postgres_bulk, retention in
    postgres_retention)."""

    def __init__(self, connection: PgConnection) -> None:
        self._db = connection
        self.conninfo = connection.conninfo

    @classmethod
    def create(cls, conninfo: str) -> "PostgresStore":
        """A new, empty index in the database `conninfo` names; refuses one already holding it."""
        store = cls(PgConnection(conninfo))
        if store._has_index():
            store.close()
            raise InputError(f"{conninfo}: already holds an index; use a new database")
        with store._transaction() as db:
            db.executescript(CREATE_TABLES_PG + CREATE_INDEXES_PG)
        return store

    @classmethod
    def open(cls, conninfo: str) -> "PostgresStore":
        """An existing index in the database `conninfo` names."""
        store = cls(PgConnection(conninfo))
        if not store._has_index():
            store.close()
            raise InputError(f"{conninfo}: no index here (build one first)")
        return store

    def _has_index(self) -> bool:
        row = self._db.execute("SELECT to_regclass('child') IS NOT NULL").fetchone()
        return bool(row[0])

    @contextmanager
    def _transaction(self) -> Iterator[PgConnection]:
        with self._db.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if not self._db.raw.broken:  # a connection the server ended has nothing to undo
                    self._db.raw.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def write_records(self, records: Sequence[ChildRecord]) -> int:
        with self._transaction() as db:
            for record in records:
                write_record(db, record)
        return len(records)

    def find_candidates(self, query: CandidateQuery) -> list[Candidate]:
        """The same keys, names and order as SqliteStore's, in one round trip: the blocks'
        keys (limit + 1, by key), then each child with its names, current first in the order
        written (a shielded child's former names never leave the database)."""
        selects, params = [], []
        for block in query.blocks:
            sql, values = block_sql(block, query)
            selects.append(sql)
            params.extend(values)
        if not selects:
            return []
        union = " UNION ".join(selects)
        rows = self._db.execute(
            f"WITH found AS (SELECT child_key FROM ({union}) AS f ORDER BY child_key LIMIT ?) "
            "SELECT c.child_key, c.child_id, c.gender, c.date_of_birth, "
            f"s.child_key IS NOT NULL, {_NAME_FIELDS} FROM found "
            "JOIN child c ON c.child_key = found.child_key "
            "LEFT JOIN shield s ON s.child_key = c.child_key "
            "LEFT JOIN name n ON n.child_key = c.child_key "
            "AND (n.current = 1 OR s.child_key IS NULL) "
            "ORDER BY c.child_key, n.current DESC, n.rowid",
            [*params, query.limit + 1],
        ).fetchall()
        candidates: dict[int, tuple[tuple, list[CandidateName]]] = {}
        for row in rows:
            _, names = candidates.setdefault(row[0], (tuple(row[:5]), []))
            if row[5] is not None:
                names.append(CandidateName(bool(row[5]), *row[6:]))
        return [
            Candidate(k, i, g, d, bool(s), tuple(names))
            for (k, i, g, d, s), names in candidates.values()
        ]

    def read_record(self, child_id: str, *, include_archived: bool = False) -> StoredRecord | None:
        return read_record(self._db, child_id, include_archived=include_archived)  # type: ignore[arg-type]

    def add_shielding_request(
        self, child_id: str, criterion: str, requested_by: str, at: dt.datetime
    ) -> int:
        with self._transaction() as db:
            row = db.execute(
                "INSERT INTO shielding_request "
                "(child_key, criterion, requested_by, requested_at, status) "
                "SELECT child_key, ?, ?, ?, 'pending' FROM child WHERE child_id = ? "
                "RETURNING request_id",
                (criterion, requested_by, at.isoformat(), child_id),
            ).fetchone()
            if row is None:
                raise InputError(f"{child_id}: no such child in the index")
            return int(row[0])

    def read_shielding_request(self, request_id: int) -> StoredRequest | None:
        row = self._db.execute(
            "SELECT r.request_id, c.child_id, r.criterion, r.requested_by, r.requested_at, "
            "r.status, r.decided_by, r.decided_at FROM shielding_request r "
            "JOIN child c ON c.child_key = r.child_key WHERE r.request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        decided = dt.datetime.fromisoformat(row[7]) if row[7] else None
        return StoredRequest(*row[:4], dt.datetime.fromisoformat(row[4]), *row[5:7], decided)

    def decide_shielding_request(
        self, request_id: int, approve: bool, decided_by: str, at: dt.datetime
    ) -> None:
        status = "approved" if approve else "rejected"
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE shielding_request SET status = ?, decided_by = ?, decided_at = ? "
                "WHERE request_id = ? AND status = 'pending'",
                (status, decided_by, at.isoformat(), request_id),
            ).rowcount
            if changed != 1:
                raise InputError(f"shielding request {request_id}: not pending")
            if approve:
                db.execute(
                    "INSERT INTO shield (child_key, request_id, criterion, decided_by, decided_at) "
                    "SELECT child_key, request_id, criterion, ?, ? FROM shielding_request "
                    "WHERE request_id = ? ON CONFLICT (child_key) DO NOTHING",
                    (decided_by, at.isoformat(), request_id),
                )

    def table_counts(self) -> dict[str, int]:
        tables = [*TABLES, "shield", "shielding_request", *_RETENTION_TABLES]
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
        return {name: int(count) for name, count in self._db.execute(union)}

    def children_by_authority(self) -> dict[str, int]:
        rows = self._db.execute("SELECT authority_code, count(*) FROM child GROUP BY 1")
        return {authority: int(count) for authority, count in rows}

    def dates_of_birth(self, child_ids: list[str]) -> dict[str, str]:
        rows = self._db.raw.execute(
            "SELECT child_id, date_of_birth FROM child WHERE child_id = ANY(%s)", (child_ids,)
        )
        return dict(rows.fetchall())

    def exact_name_hits(self, surname: str, forename: str, date_of_birth: str) -> list[ExactHit]:
        rows = self._db.execute(EXACT_NAME_SQL, (surname, forename, date_of_birth)).fetchall()
        return [ExactHit(r[0], r[1], bool(r[2]), int(r[3]), r[4], r[5]) for r in rows]

    def exact_name_hits_many(self, keys: Sequence[NameKey]) -> list[list[ExactHit]]:
        rows = self._db.execute(_EXACT_NAMES_SQL, (json.dumps(keys),)).fetchall()
        return tag_hits(len(keys), rows)

    def id_hits_many(self, child_ids: Sequence[str]) -> list[list[ExactHit]]:
        rows = self._db.execute(_ID_HITS_SQL, (json.dumps(list(child_ids)),)).fetchall()
        return tag_hits(len(child_ids), rows)

    def household_keys(self) -> pl.DataFrame:
        """Plain tuples, not the connection's named rows: an England index has 11 M."""
        with self._db.lock, self._db.raw.cursor(row_factory=tuple_row) as cursor:
            rows = cursor.execute(
                "SELECT child_id, household_key FROM child ORDER BY child_key"
            ).fetchall()
        return pl.DataFrame(
            rows, schema={"child_id": pl.String, "household_key": pl.Int64}, orient="row"
        )

    def last_household_key(self) -> int:
        query = "SELECT coalesce(max(household_key), 0) FROM household"
        return int(self._db.execute(query).fetchone()[0])

    def close(self) -> None:
        """Closing twice is harmless, as for SqliteStore."""
        if not self._db.raw.closed:
            self._db.close()
