"""Which children the archive must keep, and their whole record, found from the store's schema.

A child under a child-protection hold or with a pending subject access request is kept as held
on the day (DPA 1998 s7, s8(6): a pending request is answered on the data held when it arrived;
SI 2007/2182 holds): every part of the Sch 1 record, wherever the schema puts it. The index is
normalised (docs/index-design.md): names, shield and holds hang off `child` by `child_key`, the
address and carers off `household`, services and contacts off `involvement`. So the record is
not "tables with a child_id column" but the rows the schema's foreign keys connect to the held
children, found by reading `PRAGMA foreign_key_list` (on a PostgreSQL primary, the server's
catalog: decommission.postgres_held), never by a list of tables:

- a table with a `child_id` column, or one whose foreign keys lead to such a table, is about
  children: only rows that lead to a held child are kept;
- any other table is shared (a household, a service, a contact): a row is kept when a kept row
  points at it, and so are the rows hanging off a kept row (carers of a kept household) in a
  table no child table points at.

The archived part opens as an index store (`held_store`), so a request is answered from it with
the live index's own disclosure code (sim.index.sar).
"""

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol, get_args

from decommission.inventory import Inventory, Store
from sim.errors import InputError, WorkbenchError
from sim.index.sar import SubjectAccessRequest
from sim.index.store import IndexStore, SqliteStore

CHILD_COLUMN = "child_id"
_CHILD_ID = re.compile(r'"child_id": ?"([^"\\]+)"')
HOLD_PREFIX = "hold:"
REQUEST_PREFIX = "request:"


@dataclass(frozen=True)
class Link:
    """One foreign key: `table.column` refers to `parent.key`."""

    table: str
    column: str
    parent: str
    key: str


@cache
def closed_sar_statuses() -> frozenset[str]:
    """Statuses of a request that needs nothing more: the outcomes sim.index.sar closes a request
    with (DPA 1998 s7: disclosed, or refused on a ground). Any other status, or one this list
    does not know, is pending and its child's record is kept."""
    outcome = SubjectAccessRequest.model_fields["outcome"].annotation  # Literal[...] | None
    literal = next(arg for arg in get_args(outcome) if get_args(arg))
    return frozenset(get_args(literal))


def held_now(deployment: Path, inventory: Inventory) -> tuple[list[str], dict[str, str]]:
    """Child IDs to keep as the deployment stands now, and what keeps each: a map from each
    standing hold and pending request (HOLD_PREFIX or REQUEST_PREFIX, its store, its number) to
    its child. Read from the hold and request lists and from the live index's own tables (a hold
    or request recorded there counts even if no list was exported since); a store already
    destroyed, or unreadable, holds nothing."""
    coverage: dict[str, str] = {}
    for store in inventory.of_kind("child-protection-holds", "subject-access-requests"):
        for line, entry in enumerate(_entries(deployment / store.path), start=1):
            if store.kind == "child-protection-holds":
                coverage[f"{HOLD_PREFIX}{store.name}:{entry.get('hold_id', f'line {line}')}"] = (
                    entry[CHILD_COLUMN]
                )
            elif str(entry.get("status", "pending")).lower() not in closed_sar_statuses():
                number = entry.get("request_id", f"line {line}")
                coverage[f"{REQUEST_PREFIX}{store.name}:{number}"] = entry[CHILD_COLUMN]
    for store in inventory.of_kind("live-index"):
        if readable(deployment, store):
            coverage |= _held_in_index(deployment, store)
    return sorted(set(coverage.values())), coverage


def _held_in_index(deployment: Path, store: Store) -> dict[str, str]:
    coverage, name = {}, store.name
    try:
        with live_rows(deployment, store) as rows:
            tables = rows.tables()
            index = rows.index_store()
            if "protection_hold" in tables and "child" in tables:
                for hold in index.read_holds():
                    coverage[f"{HOLD_PREFIX}{name}:{hold.hold_id}"] = hold.child_id
            if "subject_access_request" in tables:
                for row in index.read_subject_access_requests(open_only=True):
                    coverage[f"{REQUEST_PREFIX}{name}:{row['request_id']}"] = str(row[CHILD_COLUMN])
    except (sqlite3.DatabaseError, WorkbenchError):
        return {}  # a database being cleared, damaged or shut down: what it held cannot be read
    return coverage


def is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def readable(deployment: Path, store: Store) -> bool:
    """Whether a live-index store can still be read: a SQLite file, or a database on a server
    that answers the archivist's login."""
    if store.database is None:
        return is_sqlite(deployment / store.path)
    from decommission.postgres_held import reachable  # psycopg only for a server deployment

    return reachable(deployment, store)


def live_rows(deployment: Path, store: Store) -> "contextlib.AbstractContextManager[Rows]":
    """The rows of a live-index store, read-only: its SQLite file, or its database on the
    primary read as the archivist (decommission.postgres_held)."""
    if store.database is None:
        return SqliteRows.read_only(deployment / store.path)
    from decommission.postgres_held import PostgresRows

    return PostgresRows.connect(deployment, store)


def held_records(deployment: Path, inventory: Inventory, held: list[str]) -> dict[str, Any]:
    """The whole record of each held child: their rows in every index store (with each store's
    schema, so the part opens as a store), their entries in the hold and request lists, and
    their entries in the audit log (a disclosure lists who looked at the record)."""
    wanted = set(held)
    indexes = {}
    for store in inventory.of_kind("live-index"):
        with live_rows(deployment, store) as rows:
            indexes[store.name] = {"schema": rows.schema(), "tables": connected_rows(rows, held)}
    lists = {
        store.name: [e for e in _entries(deployment / store.path) if e.get(CHILD_COLUMN) in wanted]
        for store in inventory.of_kind("child-protection-holds", "subject-access-requests")
    }
    audit: dict[str, list[str]] = {}
    for store in inventory.of_kind("audit-log"):
        source = deployment / store.path
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in (p for p in files if p.is_file() and "checkpoint" not in p.name):
            audit[path.name] = [
                line for line in path.read_text().splitlines() if _child_of(line) in wanted
            ]
    return {"child_ids": sorted(wanted), "indexes": indexes, "lists": lists, "audit": audit}


def connected_rows(db: "sqlite3.Connection | Rows", held: list[str]) -> dict[str, dict[str, Any]]:
    """Every row the schema's foreign keys connect to the held children (see the module note)."""
    rows = SqliteRows(db) if isinstance(db, sqlite3.Connection) else db
    tables = rows.tables()
    links = [link for table in tables for link in rows.links(table)]
    about_children = {t for t in tables if CHILD_COLUMN in rows.columns(t)}
    while grown := {k.table for k in links if k.parent in about_children} - about_children:
        about_children |= grown
    shared_hanging = {t for t in tables if t not in about_children} - {
        k.parent for k in links if k.table in about_children
    }
    kept: dict[str, set[Any]] = {t: set() for t in tables}
    for table in (t for t in tables if CHILD_COLUMN in rows.columns(t)):
        kept[table] = rows.rowids(table, CHILD_COLUMN, held)
    changed = True
    while changed:
        changed = False
        for link in links:
            found: set[Any] = set()
            if link.parent in about_children:  # a child's own rows: only those of a kept child
                parents = rows.values(link.parent, link.key, kept[link.parent])
                found = rows.rowids(link.table, link.column, parents)
            elif link.parent not in about_children:
                values = rows.values(link.table, link.column, kept[link.table])
                if new := rows.rowids(link.parent, link.key, values) - kept[link.parent]:
                    kept[link.parent] |= new
                    changed = True
                if link.table in shared_hanging:
                    parents = rows.values(link.parent, link.key, kept[link.parent])
                    found = rows.rowids(link.table, link.column, parents)
            if new := found - kept[link.table]:
                kept[link.table] |= new
                changed = True
    return {
        table: {"columns": rows.columns(table), "rows": rows.rows(table, kept[table])}
        for table in tables
        if kept[table]
    }


def held_store(part: dict[str, Any], store_name: str | None = None) -> SqliteStore:
    """An archived index store opened in memory as an index store (nothing written to disk)."""
    name = store_name or next(iter(part["indexes"]))
    return SqliteStore(_in_memory(part["indexes"][name]), Path(f"{name} (archived)"))


def _in_memory(content: dict[str, Any]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    for sql in content["schema"].values():
        db.execute(sql)
    for table, rows in content["tables"].items():
        marks = ", ".join("?" for _ in rows["columns"])
        columns = ", ".join(f'"{c}"' for c in rows["columns"])
        db.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows["rows"])
    return db


def stray_problems(part: dict[str, Any], held: set[str]) -> list[str]:
    """Rows in an archived part that no held child connects to, and held children it lacks."""
    problems = []
    missing = held - set(part["child_ids"])
    if missing:
        problems.append(f"{len(missing)} held child(ren) missing from the archived records")
    for name, content in part["indexes"].items():
        db = _in_memory(content)
        try:
            reached = connected_rows(db, sorted(held))
        finally:
            db.close()
        for table, rows in content["tables"].items():
            stray = len(rows["rows"]) - len(reached.get(table, {}).get("rows", []))
            if stray:
                problems.append(f"{name}.{table}: {stray} record(s) not under a hold")
    for name, entries in part["lists"].items():
        stray = [e for e in entries if e.get(CHILD_COLUMN) not in held]
        if stray:
            problems.append(f"{name}: {len(stray)} entr(ies) not under a hold")
    return problems


class Rows(Protocol):
    """What the archive reads of a live index: its tables, columns and foreign keys, rows by an
    identity of the engine's own (SQLite's rowid, PostgreSQL's ctid in one snapshot), the
    SQLite schema the archived part opens with, and the index store over the same data."""

    def tables(self) -> list[str]: ...
    def columns(self, table: str) -> list[str]: ...
    def links(self, table: str) -> list[Link]: ...
    def rowids(self, table: str, column: str, values: Any) -> set[Any]: ...
    def values(self, table: str, column: str, rowids: set[Any]) -> set[Any]: ...
    def rows(self, table: str, rowids: set[Any]) -> list[list[Any]]: ...
    def schema(self) -> dict[str, str]: ...
    def count(self, table: str, by: str | None = None) -> Any: ...
    def index_store(self) -> IndexStore: ...


class SqliteRows:
    """A SQLite index's rows (a read-only file, or a database in memory)."""

    def __init__(self, db: sqlite3.Connection, path: Path | None = None) -> None:
        self.db, self.path = db, path

    @classmethod
    @contextlib.contextmanager
    def read_only(cls, path: Path) -> Iterator["SqliteRows"]:
        """Temp tables stay in memory (never a file beside the database)."""
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            db.execute("PRAGMA temp_store = MEMORY")
            yield cls(db, path)
        finally:
            db.close()

    def tables(self) -> list[str]:
        return _tables(self.db)

    def columns(self, table: str) -> list[str]:
        return _columns(self.db, table)

    def links(self, table: str) -> list[Link]:
        return _links(self.db, table)

    def rowids(self, table: str, column: str, values: Any) -> set[Any]:
        return _rowids(self.db, table, column, values)

    def values(self, table: str, column: str, rowids: set[Any]) -> set[Any]:
        return _values(self.db, table, column, rowids)

    def rows(self, table: str, rowids: set[Any]) -> list[list[Any]]:
        sql = f'SELECT * FROM "{table}" WHERE rowid IN (SELECT value FROM json_each(?))'
        found = self.db.execute(sql + " ORDER BY rowid", (json.dumps(sorted(rowids)),))
        return [list(row) for row in found]

    def schema(self) -> dict[str, str]:
        return _schema(self.db)

    def count(self, table: str, by: str | None = None) -> Any:
        if by is None:
            return self.db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        sql = f'SELECT "{by}", count(*) FROM "{table}" GROUP BY 1 ORDER BY 1'
        return dict(self.db.execute(sql).fetchall())

    def index_store(self) -> IndexStore:
        return SqliteStore(self.db, self.path or Path("(in memory)"))


def _entries(path: Path) -> list[dict[str, Any]]:
    """A JSON-lines list; a line that does not parse is refused, never skipped (it may be the
    hold that keeps a record)."""
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            entry = json.loads(line) if line.strip() else None
        except ValueError:
            raise InputError(f"{path}: line {number} is not JSON; mend it, then resume") from None
        if entry is not None:
            entries.append(entry)
    return entries


def _child_of(line: str) -> str | None:
    """The entry's own child_id (a key inside `detail` is JSON-escaped, so never matches)."""
    found = _CHILD_ID.search(line)
    return found[1] if found else None


def _tables(db: sqlite3.Connection) -> list[str]:
    sql = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    return [r[0] for r in db.execute(sql + " ORDER BY name")]


def _schema(db: sqlite3.Connection) -> dict[str, str]:
    sql = "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    return dict(db.execute(sql + " ORDER BY name").fetchall())


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]


def _links(db: sqlite3.Connection, table: str) -> list[Link]:
    links = []
    for row in db.execute(f'PRAGMA foreign_key_list("{table}")'):
        parent, column, key = row[2], row[3], row[4]
        if key is None:  # REFERENCES parent: its primary key
            pk = [r[1] for r in db.execute(f'PRAGMA table_info("{parent}")') if r[5]]
            key = pk[0] if len(pk) == 1 else "rowid"
        links.append(Link(table, column, parent, key))
    return links


def _rowids(db: sqlite3.Connection, table: str, column: str, values: Any) -> set[int]:
    if not values:
        return set()
    sql = f'SELECT rowid FROM "{table}" WHERE "{column}" IN (SELECT value FROM json_each(?))'
    return {r[0] for r in db.execute(sql, (json.dumps(sorted(values, key=str)),))}


def _values(db: sqlite3.Connection, table: str, column: str, rowids: set[int]) -> set[Any]:
    if not rowids:
        return set()
    sql = f'SELECT "{column}" FROM "{table}" WHERE rowid IN (SELECT value FROM json_each(?))'
    rows = db.execute(sql, (json.dumps(sorted(rowids)),))
    return {r[0] for r in rows if r[0] is not None}
