"""The accounts database (`accounts.db`) in SQLite: accounts, the token register and the
service's open or closed state, apart from the index.

Kept apart because it is a separate store in a deployment's inventory (the token register
holds the token secrets, which decommissioning must destroy) and because its writes (a login)
must never contend with the index's batched feed loads. Holds no policy: sim.index.access
decides. Token secrets are sealed under the key store's token key (sim.index.access.tokens).
"""

import datetime as dt
import functools
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from pathlib import Path

import polars as pl

from sim.index.access.store import Account, AccountExists, Token
from sim.index.access.tokens import open_secret, seal_secret
from sim.index.store.sqlite_connection import Transaction, open_database
from sim.index.store.sqlite_shared import select_in


def integrity_errors() -> tuple[type[Exception], ...]:
    """A duplicate key (a username taken) on either connection. psycopg is looked up, never
    imported: without it loaded, no PostgreSQL connection is open and none of its errors arise."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.IntegrityError, *((psycopg.IntegrityError,) if psycopg else ()))


SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    practitioner_id INTEGER,
    forename TEXT NOT NULL,
    surname TEXT NOT NULL,
    sector TEXT NOT NULL,
    organisation TEXT NOT NULL,
    organisation_kind TEXT NOT NULL,
    authority_code TEXT,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    crb_checked_on TEXT,
    training_completed_on TEXT,
    agreement_signed_on TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT
);
CREATE INDEX IF NOT EXISTS accounts_by_authority ON accounts (authority_code);
CREATE TABLE IF NOT EXISTS tokens (
    serial TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES accounts (username),
    secret TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    last_step INTEGER NOT NULL DEFAULT -1
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_token ON tokens (username) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS sessions (
    session_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES accounts (username),
    started_at TEXT NOT NULL,
    last_seen TEXT,
    ended_at TEXT,
    end_reason TEXT
);
CREATE TABLE IF NOT EXISTS service_closed (closed_at TEXT NOT NULL);
"""
# Columns added after the first deployments were made: added when an older accounts.db opens.
_ADDED_COLUMNS = {("accounts", "created_by"): "TEXT", ("sessions", "last_seen"): "TEXT"}


_DATES = {"crb_checked_on", "training_completed_on", "agreement_signed_on"}
_TIMES = {"locked_until", "revoked_at", "created_at"}
_INTEGERS = {"practitioner_id", "failed_logins"}
_COLUMNS = [f.name for f in fields(Account)]


def _to_sql(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM accounts"  # Account's fields, in its order
_CONVERT = [
    (i, dt.date.fromisoformat if name in _DATES else dt.datetime.fromisoformat)
    for i, name in enumerate(_COLUMNS)
    if name in _DATES | _TIMES
]


@functools.lru_cache(maxsize=1 << 16)
def _account(row: tuple) -> Account:
    """An account from its row (read with `_SELECT`); a row read again unchanged (a batch of
    logins reads each account twice, and a day's logins the same accounts as the day before:
    England's run has some 20,000) gives the same frozen Account without building it again."""
    values = list(row)
    for i, parse in _CONVERT:
        values[i] = values[i] and parse(values[i])
    return Account(*values)


class SqliteAccountStore:
    """Rows in, rows out; every write commits at once (logins are rare next to searches).

    Both AccountStore and ServiceState (sim.index.access.store): the switched-off state is a
    row of the same file, so closing the service and revoking every account is one transaction.
    """

    def __init__(self, path: Path, token_key: bytes | None = None) -> None:
        self.path: Path | str = Path(path)
        self._token_key = token_key
        self.db = self._db = open_database(self.path, SCHEMA, _ADDED_COLUMNS)  # shared (factory)

    @classmethod
    def over(cls, db: object, token_key: bytes | None = None) -> "SqliteAccountStore":
        """The same store over a connection already open with the schema: a server backend's
        (sim.index.store.postgres_backend), whose connection speaks sqlite3's calls."""
        store = cls.__new__(cls)
        store.path = getattr(db, "conninfo", "")
        store._token_key = token_key
        store.db = store._db = db  # type: ignore[assignment]
        return store

    def insert(self, account: Account) -> None:
        """Add an account; raises AccountExists if the username is taken."""
        placeholders = ", ".join("?" * len(_COLUMNS))
        values = [_to_sql(getattr(account, name)) for name in _COLUMNS]
        try:
            self._db.execute(
                f"INSERT INTO accounts ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values
            )
        except integrity_errors():
            raise AccountExists(account.username) from None

    def scratch(self) -> None:
        """No fsync at WAL checkpoints: for a simulation's working copy, thrown away after the
        run (as SqliteStore.scratch does for its index)."""
        self._db.execute("PRAGMA synchronous = OFF")

    def transaction(self) -> AbstractContextManager:
        """One write transaction over this store and the sessions beside it (a batch of logins)."""
        return Transaction(self._db)

    def get(self, username: str) -> Account | None:
        row = self._db.execute(f"{_SELECT} WHERE username = ?", (username,)).fetchone()
        return _account(tuple(row)) if row else None

    def get_many(self, usernames: Sequence[str]) -> dict[str, Account]:
        """The accounts of these usernames that exist, read with one statement per 500."""
        rows = select_in(self._db, _SELECT, "username", usernames)
        return {row[0]: _account(tuple(row)) for row in rows}

    def hashes(self, usernames: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The password and PIN hashes of these usernames' accounts that exist, read with one
        statement per 500."""
        select = "SELECT username, password_hash, pin_hash FROM accounts"
        rows = select_in(self._db, select, "username", usernames)
        return {name: (password, pin) for name, password, pin in rows}

    def update(self, username: str, **changes: object) -> None:
        """Set named columns of one account (names are checked against the schema)."""
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown account columns {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        values = [_to_sql(v) for v in changes.values()]
        self._db.execute(
            f"UPDATE accounts SET {assignments} WHERE username = ?", [*values, username]
        )

    def add_token(self, serial: str, username: str, secret: str, now: dt.datetime) -> None:
        """Issue a token to a user, revoking any token they held (one live token each)."""
        with Transaction(self._db):
            self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
                (now.isoformat(), username),
            )
            self._db.execute(
                "INSERT INTO tokens (serial, username, secret, issued_at) VALUES (?, ?, ?, ?)",
                (serial, username, self._seal(secret, serial), now.isoformat()),
            )

    def live_tokens(self, usernames: Sequence[str]) -> dict[str, Token]:
        """The live token of each of these users who holds one, its secret opened, read with
        one statement per 500 users."""
        select = "SELECT serial, username, secret, last_step FROM tokens"
        live = ("revoked_at IS NULL", ())
        key = self._token_key
        return {
            username: Token(serial, username, open_secret(secret, key, serial), last_step)
            for serial, username, secret, last_step in select_in(
                self._db, select, "username", usernames, live
            )
        }

    def _seal(self, secret: str, serial: str) -> str:
        return seal_secret(secret, self._token_key, serial) if self._token_key else secret

    def use_token_steps(self, steps: Mapping[str, int]) -> int:
        """Record each token's (by serial) latest accepted time step, only where it is later
        than the one stored (a compare-and-set); returns how many were recorded."""
        cursor = self._db.executemany(
            "UPDATE tokens SET last_step = ? WHERE serial = ? AND last_step < ?",
            [(step, serial, step) for serial, step in steps.items()],
        )
        return cursor.rowcount

    def set_lockouts(self, states: Mapping[str, tuple[int, dt.datetime | None]]) -> None:
        """Set each account's failed-login count and lock (username: (failures, until))."""
        self._db.executemany(
            "UPDATE accounts SET failed_logins = ?, locked_until = ? WHERE username = ?",
            [(failures, _to_sql(until), name) for name, (failures, until) in states.items()],
        )

    def revoke_tokens(self, username: str, now: dt.datetime) -> None:
        self._db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL",
            (now.isoformat(), username),
        )

    def revoke_all(self, now: dt.datetime) -> int:
        """Revoke every live account and token; returns how many accounts were revoked."""
        with Transaction(self._db):
            stamp = now.isoformat()
            self._db.execute("UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL", (stamp,))
            cursor = self._db.execute(
                "UPDATE accounts SET revoked_at = ? WHERE revoked_at IS NULL", (stamp,)
            )
            self._db.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = 'service_closed' "
                "WHERE ended_at IS NULL",
                (stamp,),
            )
            if self._db.execute("SELECT 1 FROM service_closed").fetchone() is None:
                self._db.execute("INSERT INTO service_closed VALUES (?)", (stamp,))
        return cursor.rowcount

    def closed_at(self) -> str | None:
        """When the service was switched off (read afresh: another process may have done it)."""
        row = self._db.execute("SELECT min(closed_at) FROM service_closed").fetchone()
        return row[0]

    def frame(self) -> pl.DataFrame:
        """Accounts without their secrets: for monitoring joins and management reports."""
        public = [c for c in _COLUMNS if not c.endswith("_hash")]
        rows = self._db.execute(f"SELECT {', '.join(public)} FROM accounts").fetchall()
        schema = {c: pl.Int64 if c in _INTEGERS else pl.String for c in public}
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")

    def close(self) -> None:
        self._db.close()
