"""The embedded SQLite backend (WAL mode), with every value bound as a parameter.

secure_delete is set on every connection and the WAL is truncated on close, so deleted rows do
not linger in free pages or the -wal file (docs/decommissioning-standards.md 5.1).
"""

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

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
from sim.index.store.schema import (
    CHILD_ARCHIVE_COLUMNS,
    CREATE_INDEXES,
    CREATE_TABLES,
    EXACT_NAME_SQL,
    RETENTION_INDEXES,
    RETENTION_TABLES,
    TABLES,
    block_sql,
    exact_names_sql,
    id_hits_sql,
)
from sim.index.store.sqlite_bulk import SqliteBulkLoad
from sim.index.store.sqlite_live import SqliteLive
from sim.index.store.sqlite_records import read_record, write_record
from sim.index.store.sqlite_retention import SqliteRetention
from sim.index.store.sqlite_shared import BUSY_SECONDS, SharedConnection, Transaction
from sim.outputs import private_file

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
    "SELECT key AS i, json_extract(value, '$[0]') AS surname, "
    "json_extract(value, '$[1]') AS forename, json_extract(value, '$[2]') AS born "
    "FROM json_each(?)"
)

_ID_HITS_SQL = id_hits_sql("SELECT key AS i, value AS id FROM json_each(?)")


class SqliteStore(SqliteBulkLoad, SqliteRetention, SqliteLive, IndexStore):
    """An index in one SQLite file (bulk loads in sqlite_bulk, retention and SAR methods in
    sqlite_retention, the live feed's in sqlite_live)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def create(cls, path: Path) -> "SqliteStore":
        """A new, empty index at `path`; refuses to overwrite an existing file."""
        if path.exists():
            raise InputError(f"{path}: already exists; remove it or choose another path")
        store = cls(_connect(path), path)
        store._db.executescript(CREATE_TABLES + CREATE_INDEXES)
        return store

    @classmethod
    def open(cls, path: Path) -> "SqliteStore":
        """An existing index; one built before the retention tables gains them here."""
        if not path.is_file():
            raise InputError(f"{path}: no index here (build one first)")
        store = cls(_connect(path), path)
        present = {row[1] for row in store._db.execute("PRAGMA table_info(child)")}
        for column, kind in CHILD_ARCHIVE_COLUMNS.items():
            if column not in present:
                store._db.execute(f"ALTER TABLE child ADD COLUMN {column} {kind}")
        store._db.executescript(RETENTION_TABLES + RETENTION_INDEXES)
        return store

    @classmethod
    def open_read_only(cls, path: Path) -> "SqliteStore":
        """An existing index opened for reading only (nothing is added or migrated)."""
        if not path.is_file():
            raise InputError(f"{path}: no index here (build one first)")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return cls(db, path)

    def replicate(self, target: Path) -> None:
        """A consistent copy through SQLite's online backup API (even of an open WAL file)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        copy = sqlite3.connect(target)
        try:
            self._db.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction, which the process's other threads wait for (the
        connection is shared: sim.index.store.sqlite_shared)."""
        with Transaction(self._db) as db:
            yield db

    def write_records(self, records: Sequence[ChildRecord]) -> int:
        with self._transaction() as db:
            for record in records:
                write_record(db, record)
        return len(records)

    def find_candidates(self, query: CandidateQuery) -> list[Candidate]:
        selects, params = [], []
        for block in query.blocks:
            sql, values = block_sql(block, query, join="CROSS JOIN")
            selects.append(sql)
            params.extend(values)
        if not selects:
            return []
        union = " UNION ".join(selects)
        keys = [
            row[0]
            for row in self._db.execute(
                f"SELECT child_key FROM ({union}) ORDER BY child_key LIMIT ?",
                [*params, query.limit + 1],
            )
        ]
        return self._candidates(keys)

    def exact_name_hits(self, surname: str, forename: str, date_of_birth: str) -> list[ExactHit]:
        rows = self._db.execute(EXACT_NAME_SQL, (surname, forename, date_of_birth)).fetchall()
        return [ExactHit(r[0], r[1], bool(r[2]), int(r[3]), r[4], r[5]) for r in rows]

    def exact_name_hits_many(self, keys: Sequence[NameKey]) -> list[list[ExactHit]]:
        rows = self._db.execute(_EXACT_NAMES_SQL, (json.dumps(keys),)).fetchall()
        return tag_hits(len(keys), rows)

    def id_hits_many(self, child_ids: Sequence[str]) -> list[list[ExactHit]]:
        rows = self._db.execute(_ID_HITS_SQL, (json.dumps(list(child_ids)),)).fetchall()
        return tag_hits(len(child_ids), rows)

    def _candidates(self, keys: list[int]) -> list[Candidate]:
        if not keys:
            return []
        keyset = json.dumps(keys)
        names: dict[int, list[CandidateName]] = {key: [] for key in keys}
        for row in self._db.execute(
            f"SELECT n.child_key, {_NAME_FIELDS} FROM name n "
            "LEFT JOIN shield s ON s.child_key = n.child_key "
            "WHERE n.child_key IN (SELECT value FROM json_each(?)) "
            "AND (n.current = 1 OR s.child_key IS NULL) ORDER BY n.current DESC, n.rowid",
            (keyset,),
        ):
            names[row[0]].append(CandidateName(bool(row[1]), *row[2:]))
        rows = self._db.execute(
            "SELECT c.child_key, c.child_id, c.gender, c.date_of_birth, s.child_key IS NOT NULL "
            "FROM child c LEFT JOIN shield s ON s.child_key = c.child_key "
            "WHERE c.child_key IN (SELECT value FROM json_each(?)) ORDER BY c.child_key",
            (keyset,),
        )
        return [Candidate(k, i, g, d, bool(s), tuple(names[k])) for k, i, g, d, s in rows]

    def read_record(self, child_id: str, *, include_archived: bool = False) -> StoredRecord | None:
        return read_record(self._db, child_id, include_archived=include_archived)

    def add_shielding_request(
        self, child_id: str, criterion: str, requested_by: str, at: dt.datetime
    ) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO shielding_request "
                "(child_key, criterion, requested_by, requested_at, status) "
                "SELECT child_key, ?, ?, ?, 'pending' FROM child WHERE child_id = ?",
                (criterion, requested_by, at.isoformat(), child_id),
            )
            if cursor.rowcount != 1:
                raise InputError(f"{child_id}: no such child in the index")
            return int(cursor.lastrowid or 0)

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
        return {t: self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    def children_by_authority(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT authority_code, count(*) FROM child GROUP BY 1"))

    def household_keys(self) -> pl.DataFrame:
        return pl.DataFrame(
            self._db.execute(
                "SELECT child_id, household_key FROM child ORDER BY child_key"
            ).fetchall(),
            schema={"child_id": pl.String, "household_key": pl.Int64},
            orient="row",
        )

    def last_household_key(self) -> int:
        query = "SELECT coalesce(max(household_key), 0) FROM household"
        return int(self._db.execute(query).fetchone()[0])

    def dates_of_birth(self, child_ids: list[str]) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT child_id, date_of_birth FROM child "
            "WHERE child_id IN (SELECT value FROM json_each(?))",
            (json.dumps(child_ids),),
        )
        return dict(rows.fetchall())

    def close(self) -> None:
        """Checkpoint and truncate the WAL, so no old page images stay beside the file.

        Closing twice is harmless (a test may close to scan the file, then its fixture closes).
        """
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.ProgrammingError:
            return
        except sqlite3.OperationalError:  # opened read-only: nothing of ours to checkpoint
            pass
        self._db.close()


def _connect(path: Path) -> sqlite3.Connection:
    """temp_store = MEMORY keeps index sorts out of etilqs_* files in /tmp, which no inventory
    lists (docs/decommissioning-standards.md 5.2); it costs some build time at England scale."""
    private_file(Path(path))  # the index holds every child: owner-only whatever the umask
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                         timeout=BUSY_SECONDS, factory=SharedConnection)  # fmt: skip
    for pragma in (
        "journal_mode = WAL",
        "synchronous = NORMAL",
        "secure_delete = ON",
        "foreign_keys = ON",
        "cache_size = -262144",
        "mmap_size = 1073741824",
        "temp_store = MEMORY",
    ):
        db.execute(f"PRAGMA {pragma}")
    return db
