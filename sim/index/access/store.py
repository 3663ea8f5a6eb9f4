"""Accounts and tokens as the access code sees them, and the protocols of their store.

The records (NewAccount, Account, Token) and two small protocols: AccountStore (accounts and the
token register) and ServiceState (the switched-off state, closed with every revocation in one
transaction). The SQLite implementation is sim.index.store.sqlite_accounts; a deployment's
stores are opened by backend name in sim.index.store.backends (docs/index-design.md, "Store
seam"). Holds no policy: control.py and login.py decide.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from sim.errors import WorkbenchError
from sim.index.access.rules import Role


class AccountExists(WorkbenchError):
    """An account with this username is already stored."""


@dataclass(frozen=True)
class NewAccount:
    """Who the account is for: a practitioner in an organisation, in a role.

    Roles and what each may do: docs/index-design.md 1."""

    username: str
    forename: str
    surname: str
    sector: str
    organisation: str
    organisation_kind: str
    authority_code: str | None
    role: Role
    practitioner_id: int | None = None


@dataclass(frozen=True)
class Account(NewAccount):
    """An account as stored, with its vetting, training, agreement and lock state."""

    password_hash: str = ""
    pin_hash: str = ""
    crb_checked_on: dt.date | None = None
    training_completed_on: dt.date | None = None
    agreement_signed_on: dt.date | None = None
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class Token:
    serial: str
    username: str
    secret: str
    last_step: int


class AccountStore(Protocol):
    """Accounts and the token register. Each write commits at once; `add_token` revokes the
    user's live token and issues the new one in one transaction; `use_token_step` is an atomic
    compare-and-set, so a code is accepted once across every process."""

    def insert(self, account: Account) -> None:
        """Add an account; raises AccountExists if the username is taken."""
        ...

    def get(self, username: str) -> Account | None: ...

    def get_many(self, usernames: Sequence[str]) -> dict[str, Account]:
        """The accounts of these usernames that exist, by username (a batch of logins)."""
        ...

    def hashes(self, usernames: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The (password hash, PIN hash) of each of these usernames' accounts that exists: what
        a batch of logins verifies before it takes the write lock."""
        ...

    def transaction(self) -> AbstractContextManager:
        """One write transaction, atomic across processes, over the accounts database (its
        sessions too): a batch of logins decides and writes inside it."""
        ...

    def update(self, username: str, **changes: object) -> None:
        """Set named columns of one account (unknown names raise ValueError)."""
        ...

    def add_token(self, serial: str, username: str, secret: str, now: dt.datetime) -> None:
        """Issue a token (its secret sealed at rest), revoking any token the user held."""
        ...

    def live_tokens(self, usernames: Sequence[str]) -> dict[str, Token]:
        """The live token of each of these users who holds one, its secret opened (a batch of
        logins reads them with one statement)."""
        ...

    def use_token_steps(self, steps: Mapping[str, int]) -> int:
        """Record each token's (by serial) latest accepted time step where it is later than the
        one stored (a compare-and-set); returns how many were recorded."""
        ...

    def set_lockouts(self, states: Mapping[str, tuple[int, dt.datetime | None]]) -> None:
        """Set each account's failed-login count and lock (username: (failures, until))."""
        ...

    def revoke_tokens(self, username: str, now: dt.datetime) -> None: ...

    def frame(self) -> pl.DataFrame:
        """Accounts without their secrets, for monitoring joins and management reports."""
        ...

    def close(self) -> None: ...


class ServiceState(Protocol):
    """Whether the service is switched off; read afresh on every request, by every process."""

    def revoke_all(self, now: dt.datetime) -> int:
        """Revoke every account and token, end every session and record the switch-off, in one
        transaction; returns how many accounts were revoked."""
        ...

    def closed_at(self) -> str | None: ...
