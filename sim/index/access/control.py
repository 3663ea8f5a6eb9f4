"""Access control: who may log in, when, from where, and what they may administer.

Login needs four things (facts.md 5f: "minimum of two-factor authentication", in practice
username + password + a physical token with a PIN): username, password, PIN and the token's
current code, from an accredited network. Every success and every refusal is audited; every
refusal raises AccessRefused. Time comes only from the `now` arguments, so the simulation
drives it. Session ids and token secrets come from `random_bytes` (the operating system's
random source by default; a rehearsal may pass a seeded source for reproducibility).
"""

import datetime as dt
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sim.errors import InputError
from sim.index.access.administration import credential_problem, may_administer
from sim.index.access.conditions import unmet_condition
from sim.index.access.refusals import AccessRefused
from sim.index.access.rules import AccessRules, load_access_rules
from sim.index.access.sessions import Session, SessionTable, session_hash
from sim.index.access.store import Account, AccountStore, NewAccount
from sim.index.access.tokens import SECRET_BYTES, matching_step, secret_from_bytes
from sim.index.audit.event import AuditEvent
from sim.index.audit.log import AuditLog
from sim.reference.rollout import RolloutGroups, load_rollout

SYSTEM = "system"
UNTIL_UNLOCKED = dt.datetime(9999, 12, 31)
CLAIM_LIMIT = 64  # characters of an attacker-supplied username or network kept in the log


class AccessControl:
    """Accounts, tokens, logins and sessions over one accounts.db, audited to one AuditLog."""

    def __init__(
        self,
        accounts_db: Path,
        audit: AuditLog,
        *,
        rules: AccessRules | None = None,
        rollout: RolloutGroups | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.rules = rules or load_access_rules()
        self.rollout = rollout or load_rollout()
        self.audit = audit
        self._store = AccountStore(accounts_db)
        self._sessions = SessionTable(self.rules)
        self._random = random_bytes
        self._hasher = PasswordHasher(
            time_cost=self.rules.argon2_time_cost.value,
            memory_cost=self.rules.argon2_memory_kib.value,
            parallelism=self.rules.argon2_parallelism.value,
        )
        self._decoy = self._hasher.hash(secrets.token_hex(16))

    # -- audit and refusal ---------------------------------------------------------------

    def _record(
        self,
        now: dt.datetime,
        actor: str,
        action: str,
        reason: str | None = None,
        refused: bool = False,
        **detail: Any,
    ) -> None:
        outcome = "refused" if refused else "allowed"
        self.audit.append(
            AuditEvent(now, actor[:CLAIM_LIMIT], action, outcome, None, reason, detail)
        )

    def _refuse(
        self, now: dt.datetime, actor: str, action: str, reason: str, **detail: Any
    ) -> NoReturn:
        self._record(now, actor, action, reason, refused=True, **detail)
        raise AccessRefused(reason)

    # -- administration (issue 3 item 3) -------------------------------------------------

    def _administrator(
        self, by: str | None, action: str, target: NewAccount | None, now: dt.datetime
    ) -> str:
        """The acting administrator's username, if their role's scope covers the target."""
        if by is None:
            return SYSTEM
        admin = self.session(by, now=now)
        allowed = may_administer(admin, target, self.rules)
        if not allowed:
            self._refuse(
                now,
                admin.username,
                action,
                "not_permitted",
                username=target.username if target else None,
            )
        return admin.username

    def _target(
        self, username: str, action: str, by: str | None, now: dt.datetime
    ) -> tuple[str, Account]:
        account = self._store.get(username)
        if account is None:
            actor = self._administrator(by, action, None, now) if by else SYSTEM
            self._record(now, actor, action, "unknown_user", refused=True, username=username)
            raise InputError(f"no account named {username!r}")
        return self._administrator(by, action, account, now), account

    def create_account(
        self, new: NewAccount, password: str, pin: str, *, by: str | None, now: dt.datetime
    ) -> Account:
        """Open an account; vetting, training, agreement and a token must follow before login."""
        actor = self._administrator(by, "account.create", new, now)
        problem = credential_problem(new, password, pin, self.rules)
        if problem:
            self._record(now, actor, "account.create", "invalid", True, username=new.username)
            raise InputError(f"account {new.username!r}: {problem}")
        account = Account(
            **vars(new),
            password_hash=self._hasher.hash(password),
            pin_hash=self._hasher.hash(pin),
            created_at=now,
        )
        try:
            self._store.insert(account)
        except sqlite3.IntegrityError:
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
        """End the account for good: its token is revoked and its live sessions end."""
        self._set(username, "account.revoke", by, now, revoked_at=now)
        self._store.revoke_tokens(username, now)
        for session in self._sessions.end_for(username, "session_revoked"):
            self._store.end_session(session_hash(session.session_id), now, "session_revoked")

    def issue_token(self, username: str, *, by: str | None, now: dt.datetime) -> str:
        """Issue a security token (replacing any other); returns its secret for the device."""
        actor, _ = self._target(username, "token.issue", by, now)
        serial = self._random(6).hex().upper()
        secret = secret_from_bytes(self._random(SECRET_BYTES))
        self._store.add_token(serial, username, secret, now)
        self._record(now, actor, "token.issue", username=username, serial=serial)
        return secret

    def account(self, username: str) -> Account | None:
        return self._store.get(username)

    def accounts_frame(self) -> pl.DataFrame:
        """Every account without its secrets (username, surname, authority_code, role, ...)."""
        return self._store.frame()

    # -- login and sessions ----------------------------------------------------------------

    def _verify(self, stored: str, given: str) -> bool:
        try:
            return self._hasher.verify(stored, given)
        except (VerificationError, InvalidHashError):
            return False

    def _token_problem(self, username: str, code: str, now: dt.datetime) -> str | None:
        token = self._store.live_token(username)
        if token is None:
            return "no_token"
        step = matching_step(token.secret, code, now, self.rules)
        if step is None:
            return "bad_token_code"
        if not self._store.use_token_step(token.serial, step):
            return "replayed_token_code"
        return None

    def _count_failure(self, account: Account, now: dt.datetime) -> None:
        """Lock the account at `lockout_failures` consecutive failures (data/index/access.toml).

        The count resets only on a successful login or an unlock, so after a timed lock lapses
        one more failure locks the account again."""
        failures = account.failed_logins + 1
        if failures < self.rules.lockout_failures.value:
            self._store.update(account.username, failed_logins=failures)
            return
        minutes = self.rules.lockout_minutes.value
        until = now + dt.timedelta(minutes=minutes) if minutes else UNTIL_UNLOCKED
        self._store.update(account.username, failed_logins=failures, locked_until=until)
        self._record(now, SYSTEM, "account.lock", username=account.username, failures=failures)

    def login(
        self,
        username: str,
        password: str,
        pin: str,
        token_code: str,
        *,
        network: str,
        now: dt.datetime,
    ) -> Session:
        """Check all factors, then the conditions of access; a new session or AccessRefused.

        Password and PIN are verified even for unknown, locked or revoked accounts (against a
        decoy hash when there is no account) so that timing tells an attacker nothing either.
        """
        where = {"network": network[:CLAIM_LIMIT]}
        if network not in self.rules.accredited_networks.value:
            self._refuse(now, username, "login", "wrong_network", **where)
        account = self._store.get(username)
        if account is None:
            self._verify(self._decoy, password)
            self._verify(self._decoy, pin)
            self._refuse(now, username, "login", "unknown_user", **where)
        password_ok = self._verify(account.password_hash, password)
        pin_ok = self._verify(account.pin_hash, pin)
        if account.revoked_at is not None:
            self._refuse(now, username, "login", "revoked", **where)
        if account.locked_until is not None and now < account.locked_until:
            self._refuse(now, username, "login", "locked_out", **where)
        problem = None if password_ok else "wrong_password"
        problem = problem or (None if pin_ok else "wrong_pin")
        problem = problem or self._token_problem(username, token_code, now)
        if problem:
            self._count_failure(account, now)
            self._refuse(now, username, "login", problem, **where)
        if account.failed_logins or account.locked_until:
            self._store.update(username, failed_logins=0, locked_until=None)
        unmet = unmet_condition(account, network, now.date(), self.rules, self.rollout)
        if unmet:
            self._refuse(now, username, "login", unmet, **where)
        session = Session(
            session_id=self._random(32).hex(),
            username=username,
            role=account.role,
            authority_code=account.authority_code,
            organisation=account.organisation,
            organisation_kind=account.organisation_kind,
            sector=account.sector,
            surname=account.surname,
            started=now,
        )
        self._sessions.add(session)
        self._store.record_session(session_hash(session.session_id), username, now)
        self._record(now, username, "login", **where)
        return session

    def session(self, session_id: str, *, now: dt.datetime) -> Session:
        """The live session for this id (its idle clock restarts); refusals are audited."""
        session, ended = self._sessions.touch(session_id, now)
        if ended is None:
            assert session is not None
            return session
        if session is not None:
            self._store.end_session(session_hash(session_id), now, ended)
        self._refuse(now, session.username if session else "unknown", "session", ended)

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        session = self._sessions.remove(session_id)
        if session is None:
            self._refuse(now, "unknown", "logout", "unknown_session")
        self._store.end_session(session_hash(session_id), now, "logout")
        self._record(now, session.username, "logout")

    def close_service(self, *, by: str | None, now: dt.datetime) -> int:
        """Switch-off (noon, 6 Aug 2010: "logins deleted and access ends", facts.md 5h): revoke
        every account and end every session; returns the number of accounts revoked."""
        actor = self._administrator(by, "service.close", None, now) if by else SYSTEM
        revoked = self._store.revoke_all(now)
        self._sessions.end_all("session_revoked")
        self._record(now, actor, "service.close", accounts=revoked)
        return revoked

    def close(self) -> None:
        self._store.close()
