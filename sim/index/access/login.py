"""Logging in and sessions: four factors, lockout, the conditions of access, every step audited.

Login needs four things (docs/reference.md 5f: at least two factors, in practice
username + password + a physical token with a PIN): username, password, PIN and the token's
current code, from an accredited network. Repeated failures lock the account and a used token
code cannot be replayed (data/index/access.toml). Every success and every refusal is audited;
every refusal raises AccessRefused. Time comes only from the `now` arguments, so the simulation
drives it. Session ids come from `random_bytes` (the operating system's random source by
default; a rehearsal may pass a seeded source for reproducibility).
"""

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sim.errors import WorkbenchError
from sim.index.access.conditions import AccessConditions
from sim.index.access.refusals import AccessRefused
from sim.index.access.rules import AccessRules, load_access_rules
from sim.index.access.sessions import RANDOM_BYTES, Session, new_session_id, prune_horizon
from sim.index.access.store import Account, Token
from sim.index.access.tokens import TokenCodes
from sim.index.audit.event import AuditEvent
from sim.index.audit.log import AuditLog, StillAllowed
from sim.index.inputs import is_text, shown
from sim.index.store.backends import AccessStores, open_access
from sim.reference.rollout import RolloutGroups, load_rollout

SYSTEM = "system"
UNTIL_UNLOCKED = dt.datetime(9999, 12, 31)
_CODES_KEPT = 1 << 16  # tokens whose codes are kept made (England has some 20,000 accounts)


@dataclass(frozen=True)
class LoginAttempt:
    """What one login presents, and when."""

    username: str
    password: str
    pin: str
    token_code: str
    network: str
    at: dt.datetime


@dataclass(frozen=True)
class _Factors:
    """An attempt's checks made before its account's state is read in the batch's transaction:
    a refusal, or the hashes verified and whether the password and PIN matched them."""

    refusal: str | None
    hashes: tuple[str, str] | None = None
    password_ok: bool = False
    pin_ok: bool = False


@dataclass
class _Batch:
    """A batch of logins inside its transaction: the accounts and tokens as the attempts so far
    left them, and the writes and audit entries they made, written together at its end."""

    accounts: dict[str, Account | None]
    tokens: dict[str, Token]
    steps: dict[str, int] = field(default_factory=dict)  # serial: latest step accepted
    lockouts: dict[str, tuple[int, dt.datetime | None]] = field(default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    events: list[tuple[AuditEvent, str | None]] = field(default_factory=list)


class LoginControl:
    """Logins and live sessions over one accounts database, audited to one AuditLog;
    AccessControl (sim.index.access.control) adds the administration of accounts and tokens.

    `accounts` is the database's stores (sim.index.store.backends.open_access), or a path to
    open as the SQLite backend."""

    def __init__(
        self,
        accounts: AccessStores | Path,
        audit: AuditLog,
        *,
        rules: AccessRules | None = None,
        rollout: RolloutGroups | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        token_key: bytes | None = None,
    ) -> None:
        self.rules = rules or load_access_rules()
        self.rollout = rollout or load_rollout()
        self.audit = audit
        if not isinstance(accounts, AccessStores):  # token secrets sealed under token_key
            accounts = open_access(Path(accounts), rules=self.rules, token_key=token_key)
        self.stores = accounts  # the shared security state, read afresh on every request
        self._store = accounts.accounts
        self._sessions = accounts.sessions
        self._random = random_bytes
        self._hasher = PasswordHasher(
            time_cost=self.rules.argon2_time_cost.value,
            memory_cost=self.rules.argon2_memory_kib.value,
            parallelism=self.rules.argon2_parallelism.value,
        )
        self._decoy = self._hasher.hash(secrets.token_hex(16))
        self._conditions = AccessConditions(self.rules, self.rollout)
        self._absolute = dt.timedelta(hours=self.rules.session_absolute_hours.value)
        # each token's codes by (serial, secret), made once: a day's logins use yesterday's tokens
        self._codes: dict[tuple[str, str], TokenCodes] = {}

    # -- audit and refusal -----------------------------------------------------------------

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
        self.audit.append(AuditEvent(now, shown(actor), action, outcome, None, reason, detail))

    def _refuse(
        self, now: dt.datetime, actor: str, action: str, reason: str, **detail: Any
    ) -> NoReturn:
        self._record(now, actor, action, reason, refused=True, **detail)
        raise AccessRefused(reason)

    # -- login -----------------------------------------------------------------------------

    def _verify(self, stored: str, given: str) -> bool:
        try:
            return self._hasher.verify(stored, given)
        except (VerificationError, InvalidHashError):
            return False

    def _token_problem(
        self, username: str, code: str, now: dt.datetime, batch: _Batch
    ) -> str | None:
        """The token check: the code within the drift window, and later than the last step
        accepted from this token (before the batch, or by an attempt earlier in it)."""
        token = batch.tokens.get(username)
        if token is None:
            return "no_token"
        codes = self._codes.get((token.serial, token.secret))
        if codes is None:
            if len(self._codes) >= _CODES_KEPT:
                self._codes.clear()
            codes = self._codes[token.serial, token.secret] = TokenCodes(token.secret, self.rules)
        step = codes.matching_step(code, now)
        if step is None:
            return "bad_token_code"
        if step <= batch.steps.get(token.serial, token.last_step):
            return "replayed_token_code"
        batch.steps[token.serial] = step
        return None

    def _count_failure(self, account: Account, now: dt.datetime, batch: _Batch) -> Account:
        """Lock the account at `lockout_failures` consecutive failures (data/index/access.toml);
        returns the account as it now stands.

        The count resets only on a successful login or an unlock, so after a timed lock lapses
        one more failure locks the account again."""
        failures = account.failed_logins + 1
        until = account.locked_until
        if failures >= self.rules.lockout_failures.value:
            minutes = self.rules.lockout_minutes.value
            until = now + dt.timedelta(minutes=minutes) if minutes else UNTIL_UNLOCKED
            lock = {"username": account.username, "failures": failures}
            event = AuditEvent(now, SYSTEM, "account.lock", "allowed", None, None, lock)
            batch.events.append((event, None))
        batch.lockouts[account.username] = (failures, until)
        return replace(account, failed_logins=failures, locked_until=until)

    def _write(self, batch: _Batch) -> None:
        """The batch's lockouts, token steps and sessions, one statement each (inside its
        transaction)."""
        if batch.lockouts:
            self._store.set_lockouts(batch.lockouts)
        if batch.steps and self._store.use_token_steps(batch.steps) != len(batch.steps):
            # the transaction holds the write lock, so no other process can have used a step
            raise WorkbenchError("a token step changed during a batch of logins: rolled back")
        if batch.sessions:
            self._sessions.start_many(batch.sessions)

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
        attempt = LoginAttempt(username, password, pin, token_code, network, now)
        answer = self.login_many([attempt])[0]
        if isinstance(answer, AccessRefused):
            raise answer
        return answer

    def login_many(self, attempts: Sequence[LoginAttempt]) -> list[Session | AccessRefused]:
        """`login` of each attempt, in order, with the answers and end state of calling it once
        per attempt (a failure counts towards the lockout of the attempts after it; a token
        code one used is a replay for the next), every refusal audited: a day's logins in one
        call. Password and PIN are verified first, outside any lock (argon2 is the slow step; an
        account whose hashes changed meanwhile is verified again); then every attempt's lockout,
        token and conditions are decided in memory, in one accounts transaction that reads every
        account and token once and writes the lockouts, token steps and sessions with one
        statement each, and forgets the sessions past their absolute lifetime
        (sim.index.access.sessions.prune_horizon); then every entry is written with one audit
        append, each login's entry under the log's lock only if its session is still live (a
        switch-off or revocation by another process meanwhile refuses it, as it would one
        login)."""
        named = [a.username for a in attempts if is_text(a.username)]
        known = self._store.hashes(named)
        factors = [self._factors(attempt, known) for attempt in attempts]
        answers: list[Session | AccessRefused] = []
        with self._store.transaction():
            accounts: dict[str, Account | None] = dict.fromkeys(named)
            accounts |= self._store.get_many(named)
            batch = _Batch(accounts, self._store.live_tokens(named))
            for attempt, factor in zip(attempts, factors, strict=True):
                answers.append(self._decide(attempt, factor, batch))
            self._write(batch)
            if attempts:
                first = min(a.at for a in attempts)
                self._sessions.forget_started_before(prune_horizon(first, self._absolute))
        events = batch.events
        live = self.live_checks([a.session_id for a in answers if isinstance(a, Session)])
        checks = [live[check] if check else None for _, check in events]
        ended = self.audit.append_many([e for e, _ in events], checks)
        logins = iter(i for i, a in enumerate(answers) if isinstance(a, Session))
        for (event, check), refused in zip(events, ended, strict=True):
            if check is None:
                continue
            i = next(logins)
            if refused:  # switched off or revoked by another process while the batch ran
                self._sessions.end(answers[i].session_id, event.time, refused)
                answers[i] = AccessRefused(refused)
        return answers

    def _factors(self, attempt: LoginAttempt, known: dict[str, tuple[str, str]]) -> _Factors:
        """Network, form and the two secrets, checked before any account state is touched."""
        if (
            not is_text(attempt.network)
            or attempt.network not in self.rules.accredited_networks.value
        ):
            return _Factors("wrong_network")
        if not (
            is_text(attempt.username)
            and is_text(attempt.password)
            and is_text(attempt.pin)
            and is_text(attempt.token_code)
        ):
            self._verify(self._decoy, "")  # the same hashing cost as a real attempt
            self._verify(self._decoy, "")
            return _Factors("malformed_credentials")
        hashes = known.get(attempt.username)
        if hashes is None:
            self._verify(self._decoy, attempt.password)
            self._verify(self._decoy, attempt.pin)
            return _Factors("unknown_user")
        password_hash, pin_hash = hashes
        return _Factors(
            None,
            hashes,
            self._verify(password_hash, attempt.password),
            self._verify(pin_hash, attempt.pin),
        )

    def _decide(
        self,
        attempt: LoginAttempt,
        factors: _Factors,
        batch: _Batch,
    ) -> Session | AccessRefused:
        """One attempt against the account's state as the attempts before it left it (inside
        the batch's transaction); its writes and audit entries go to `batch`."""
        username, now = attempt.username, attempt.at
        actor, where = shown(username), {"network": shown(attempt.network)}

        def refuse(reason: str) -> AccessRefused:
            event = AuditEvent(now, actor, "login", "refused", None, reason, where)
            batch.events.append((event, None))
            return AccessRefused(reason)

        if factors.refusal:
            return refuse(factors.refusal)
        accounts = batch.accounts
        account = accounts.get(username)
        if account is None:
            return refuse("unknown_user")
        password_ok, pin_ok = factors.password_ok, factors.pin_ok
        if (account.password_hash, account.pin_hash) != factors.hashes:  # changed meanwhile
            password_ok = self._verify(account.password_hash, attempt.password)
            pin_ok = self._verify(account.pin_hash, attempt.pin)
        if account.revoked_at is not None:
            return refuse("revoked")
        if account.locked_until is not None and now < account.locked_until:
            return refuse("locked_out")
        problem = None if password_ok else "wrong_password"
        problem = problem or (None if pin_ok else "wrong_pin")
        problem = problem or self._token_problem(username, attempt.token_code, now, batch)
        if problem:
            accounts[username] = self._count_failure(account, now, batch)
            return refuse(problem)
        if account.failed_logins or account.locked_until:
            batch.lockouts[username] = (0, None)
            accounts[username] = account = replace(account, failed_logins=0, locked_until=None)
        unmet = self._conditions.unmet(account, attempt.network, now.date())
        if unmet:
            return refuse(unmet)
        session = Session(
            session_id=new_session_id(now, self._random(RANDOM_BYTES)),
            username=username,
            role=account.role,
            authority_code=account.authority_code,
            organisation=account.organisation,
            organisation_kind=account.organisation_kind,
            sector=account.sector,
            surname=account.surname,
            started=now,
        )
        batch.sessions.append(session)
        event = AuditEvent(now, actor, "login", "allowed", None, None, where)
        batch.events.append((event, session.session_id))  # checked as written (login_many)
        return session

    # -- sessions --------------------------------------------------------------------------

    def session(self, session_id: str, *, now: dt.datetime) -> Session:
        """The live session for this id (its idle clock restarts); refusals are audited."""
        session, ended = self._sessions.touch(session_id, now)
        if ended is None:
            assert session is not None
            return session
        self._refuse(now, session.username if session else "unknown", "session", ended)

    def sessions(self, checks: Sequence[tuple[str, dt.datetime]]) -> list[Session | AccessRefused]:
        """`session` for each (session id, moment) in order, as if called once per check (a
        session ended at check k refuses k and every later one), each distinct session read
        once; the refusals are audited in order with one write."""
        refusals: list[AuditEvent] = []
        answers: list[Session | AccessRefused] = []
        for (_, now), (session, ended) in zip(
            checks, self._sessions.touch_many(checks), strict=True
        ):
            if ended is None:
                assert session is not None
                answers.append(session)
                continue
            actor = shown(session.username if session else "unknown")
            refusals.append(AuditEvent(now, actor, "session", "refused", None, ended, {}))
            answers.append(AccessRefused(ended))
        if refusals:
            self.audit.append_many(refusals, [None] * len(refusals))
        return answers

    def still_live(self, session_id: str) -> str | None:
        """None if the session may still be answered, else why not (read afresh)."""
        return self._sessions.live_reason(session_id)

    def live_checks(self, session_ids: Sequence[str]) -> dict[str, StillAllowed]:
        """A `still_live` check for each session, for one batch's audit append: the first
        check run reads every session's state with one statement. The append holds the audit
        log's lock throughout, which every revocation and switch-off also takes, so no state
        read can change before the batch's last check."""
        states: dict[str, str | None] = {}

        def check(session_id: str) -> str | None:
            if not states:
                states.update(self._sessions.live_reasons(list(session_ids)))
            return states[session_id]

        return {sid: partial(check, sid) for sid in session_ids}

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        """End a session. One already ended (revoked, switched off, expired) stays ended: the
        attempt is audited as refused with the reason, and the caller is not interrupted."""
        session, ended = self._sessions.touch(session_id, now)
        if session is None:
            self._refuse(now, "unknown", "logout", "unknown_session")
        if ended is not None:
            self._record(now, session.username, "logout", ended, refused=True)
            return
        # Ended under the log's lock, as answers are logged: a switch-off by another process
        # either ended the session first (the logout is refused) or is logged after it.
        event = AuditEvent(now, shown(session.username), "logout", "allowed", None, None, {})
        self.audit.append_unless(event, lambda: self._end_for_logout(session_id, now))

    def _end_for_logout(self, session_id: str, now: dt.datetime) -> str | None:
        if self._sessions.end(session_id, now, "logout"):
            return None
        return self.still_live(session_id) or "session_revoked"

    def close(self) -> None:
        self.stores.close()
