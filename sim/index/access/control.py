"""Access control: who may log in (sim.index.access.login) and who administers the accounts.

Administrators open accounts, record vetting (enhanced CRB check, training, the user
agreement), issue tokens, unlock, revoke and, at switch-off, close the service; each within the
scope data/index/access.toml gives their role, and every act or refusal is audited. Token
secrets come from `random_bytes`, like session ids.
"""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from sim.errors import InputError
from sim.index.access.administration import administered, credential_problem, may_administer
from sim.index.access.enrolment import post_letter
from sim.index.access.login import SYSTEM, LoginControl
from sim.index.access.sessions import Session
from sim.index.access.store import Account, AccountExists, NewAccount
from sim.index.access.tokens import SECRET_BYTES, secret_from_bytes
from sim.index.inputs import is_text, shown
from sim.index.store.backends import AccessStores

__all__ = ["SYSTEM", "AccessControl"]


class AccessControl(LoginControl):
    """Accounts, tokens, logins and sessions over one accounts.db, audited to one AuditLog;
    token secrets are posted to their holders' letters in `letters` (sim.index.access.enrolment;
    default: a `token-letters` folder beside accounts.db)."""

    def __init__(self, accounts: AccessStores | Path, audit: Any, *, letters: Path | None = None,
                 **options: Any) -> None:  # fmt: skip
        super().__init__(accounts, audit, **options)
        if letters is None and isinstance(accounts, AccessStores):
            raise ValueError("AccessControl over opened stores needs the token letters' folder")
        self.letters = Path(letters) if letters else Path(accounts).parent / "token-letters"
        self.letters_durable = True

    def without_sync(self) -> None:
        """Post token letters without fsync from now on: for a simulation's throw-away working
        copy (as the audit log's `without_sync`), where thousands of accounts are opened."""
        self.letters_durable = False

    # -- administration: accounts, vetting, tokens, revocation ----------------------------

    def _administrator(
        self, by: str | None, action: str, target: NewAccount | None, now: dt.datetime
    ) -> str:
        """The acting administrator's username, if their role's scope covers the target."""
        if by is None:
            return SYSTEM
        admin = self.session(by, now=now)
        allowed = may_administer(admin, target, self.rules)
        if allowed and target is not None and target.username in self.lineage(admin.username):
            self._refuse(  # their own account, or one that made theirs (a second account)
                now, admin.username, action, "not_permitted", username=target.username,
                rule="own_account",
            )  # fmt: skip
        if not allowed:
            self._refuse(
                now,
                admin.username,
                action,
                "not_permitted",
                username=shown(target.username) if target else None,
            )
        return admin.username

    def _target(
        self, username: str, action: str, by: str | None, now: dt.datetime
    ) -> tuple[str, Account]:
        account = self._store.get(username) if is_text(username) else None
        if account is None:
            actor = self._administrator(by, action, None, now) if by else SYSTEM
            self._record(now, actor, action, "unknown_user", refused=True, username=shown(username))
            raise InputError(f"no account named {username!r}")
        return self._administrator(by, action, account, now), account

    def create_account(
        self, new: NewAccount, password: str, pin: str, *, by: str | None, now: dt.datetime
    ) -> Account:
        """Open an account; vetting, training, agreement and a token must follow before login."""
        actor = self._administrator(by, "account.create", new, now)
        problem = credential_problem(new, password, pin, self.rules)
        if problem:
            self._record(
                now, actor, "account.create", "invalid", True, username=shown(new.username)
            )
            raise InputError(f"account {new.username!r}: {problem}")
        account = Account(
            **vars(new),
            password_hash=self._hasher.hash(password),
            pin_hash=self._hasher.hash(pin),
            created_at=now,
            created_by=actor,
        )
        try:
            self._store.insert(account)
        except AccountExists:
            self._record(now, actor, "account.create", "exists", True, username=new.username)
            raise InputError(f"account {new.username!r} exists") from None
        self._record(
            now,
            actor,
            "account.create",
            username=new.username,
            role=new.role,
            authority=new.authority_code,
            organisation=new.organisation,
        )
        return account

    def _set(
        self, username: str, action: str, by: str | None, now: dt.datetime, **changes: Any
    ) -> None:
        actor, _ = self._target(username, action, by, now)
        self._store.update(username, **changes)
        shown = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in changes.items()}
        self._record(now, actor, action, username=username, **shown)

    def record_crb_check(
        self, username: str, checked_on: dt.date, *, by: str | None, now: dt.datetime
    ) -> None:
        """An enhanced CRB disclosure, valid for `crb_renewal_years` from `checked_on`."""
        self._set(username, "account.crb", by, now, crb_checked_on=checked_on)

    def record_training(
        self, username: str, completed_on: dt.date, *, by: str | None, now: dt.datetime
    ) -> None:
        self._set(username, "account.training", by, now, training_completed_on=completed_on)

    def record_agreement(
        self, username: str, signed_on: dt.date, *, by: str | None, now: dt.datetime
    ) -> None:
        self._set(username, "account.agreement", by, now, agreement_signed_on=signed_on)

    def unlock(self, username: str, *, by: str | None, now: dt.datetime) -> None:
        self._set(username, "account.unlock", by, now, failed_logins=0, locked_until=None)

    def revoke(self, username: str, *, by: str | None, now: dt.datetime) -> None:
        """End the account for good: its token is revoked and its live sessions end (under the
        audit log's lock: no answer to the account is logged after its revocation)."""
        with self.audit.exclusive():
            self._set(username, "account.revoke", by, now, revoked_at=now)
            self._store.revoke_tokens(username, now)
            self._sessions.end_for(username, now, "session_revoked")

    def issue_token(self, username: str, *, by: str | None, now: dt.datetime) -> str:
        """Issue a security token (replacing any other); returns its serial. The secret goes to
        the holder alone, in their token letter (sim.index.access.enrolment), never to the one
        who issues it.

        Whoever opened an account (directly, or through accounts they opened) may not issue its
        token: the one who chose its password never also holds its secret, so no one can make a
        working second account for themselves. Another administrator, or the operator, issues
        it."""
        actor, _ = self._target(username, "token.issue", by, now)
        if by is not None and actor in self.lineage(username)[1:]:
            self._refuse(now, actor, "token.issue", "not_permitted", username=username,
                         rule="opened_it")  # fmt: skip
        serial = self._random(6).hex().upper()
        secret = secret_from_bytes(self._random(SECRET_BYTES))
        self._store.add_token(serial, username, secret, now)
        post_letter(self.letters, username, serial, secret, durable=self.letters_durable)
        self._record(now, actor, "token.issue", username=username, serial=serial)
        return serial

    def lineage(self, username: str) -> list[str]:
        """The account and every account that opened it, nearest first (the operator, SYSTEM,
        ends the chain): one person acting through accounts they made is still one person."""
        chain, current = [], username
        while current and current != SYSTEM and current not in chain:
            chain.append(current)
            account = self._store.get(current)
            current = account.created_by if account else None
        return chain

    def same_person(self, first: str, second: str) -> bool:
        """Whether two usernames may be one person: the same, or one opened the other."""
        return first in self.lineage(second) or second in self.lineage(first)

    def check_session(self, session_id: str, now: dt.datetime) -> tuple[Session | None, str | None]:
        """`session` without raising or auditing: the session and None if it is live (its idle
        clock restarts), else why not. For a caller that checks it inside its own transaction of
        the accounts database (a search's, with the usage guard's count) and refuses with
        `refuse_session` once that has ended: the audit log's lock is never taken inside the
        database's write lock (a revocation takes them the other way round)."""
        return self._sessions.touch(session_id, now)

    def check_sessions(
        self, checks: Sequence[tuple[str, dt.datetime]]
    ) -> list[tuple[Session | None, str | None]]:
        """`check_session` of each (session id, moment) in order, each distinct session read
        once and the idle clocks written with one statement, inside the caller's transaction
        (SessionStore.touch_many: the answers of one check at a time)."""
        return self._sessions.touch_many(checks)

    def refuse_session(self, now: dt.datetime, session: Session | None, ended: str) -> NoReturn:
        """Audit and raise the refusal of a session `check_session` found ended."""
        self._refuse(now, session.username if session else "unknown", "session", ended)

    def account(self, username: str) -> Account | None:
        return self._store.get(username)

    def administered_accounts(self, admin: Session) -> pl.DataFrame:
        """The accounts `admin` administers, decided by the same rule as every administrative
        act (may_administer): a management list never differs from what its holder may do."""
        return administered(admin, self._store.frame(), self.rules)

    def accounts_frame(self) -> pl.DataFrame:
        """Every account without its secrets (username, surname, authority_code, role, ...)."""
        return self._store.frame()

    def service_closed(self) -> bool:
        """Whether the service was switched off, by any process (read afresh every time)."""
        return self.stores.service.closed_at() is not None

    def close_service(self, *, by: str | None, now: dt.datetime) -> int:
        """Switch-off (noon, 6 Aug 2010: "logins deleted and access ends", docs/reference.md 5h):
        revoke every account and end every session; returns the number of accounts revoked."""
        actor = self._administrator(by, "service.close", None, now) if by else SYSTEM
        revoked = self.stores.service.revoke_all(now)
        self._record(now, actor, "service.close", accounts=revoked)
        return revoked
