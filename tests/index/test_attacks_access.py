"""Attack suite for access control and the usage guard: every attempt is refused AND audited.

Each case sets up a legitimate world (a vetted Bolton practitioner `jo` with a token, a Leeds
colleague `lee`), then attacks it. The test asserts the typed refusal, its reason code, and the
audit entry that records it; guard refusals must also raise an alert entry.
"""

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from sim.index.access import (
    MESSAGES,
    AccessControl,
    AccessRefused,
    NewAccount,
    UsageGuard,
    token_code,
)
from sim.index.access.enrolment import collect_letter
from sim.index.audit import AuditLog, create_key_store, load_signing_key, read_audit
from sim.index.store.backends import open_access
from sim.reference.rollout import load_rollout
from tests.index.support import fast_rules

NOW = dt.datetime(2009, 12, 1, 10, 0)
LATER = NOW + dt.timedelta(minutes=1)
BOLTON, LEEDS = "E08000001", "E08000035"
PASSWORD, PIN = "correct horse", "2468"


@dataclass
class World:
    control: AccessControl
    guard: UsageGuard
    log: AuditLog
    secrets: dict[str, str]

    def add(
        self,
        username,
        authority=BOLTON,
        role="practitioner",
        kind="local_authority",
        organisation=None,
        crb=dt.date(2009, 1, 5),
        trained=True,
        signed=True,
    ) -> None:
        """An account with the given vetting state and a token."""
        c = self.control
        new = NewAccount(username, "Jo", "Bloggs", "social care", organisation or authority or "",
                         kind, authority, role)  # fmt: skip
        c.create_account(new, PASSWORD, PIN, by=None, now=NOW)
        if crb:
            c.record_crb_check(username, crb, by=None, now=NOW)
        if trained:
            c.record_training(username, dt.date(2009, 2, 1), by=None, now=NOW)
        if signed:
            c.record_agreement(username, dt.date(2009, 2, 1), by=None, now=NOW)
        c.issue_token(username, by=None, now=NOW)
        self.secrets[username] = collect_letter(c.letters, username)

    def code(self, username, when=NOW):
        return token_code(self.secrets[username], when, self.control.rules)

    def login(self, username, when=NOW, network="GCSx", password=PASSWORD, pin=PIN, code=None):
        code = self.code(username, when) if code is None else code
        return self.control.login(username, password, pin, code, network=network, now=when)


@pytest.fixture
def world(tmp_path: Path, backend: str, request: pytest.FixtureRequest):
    """Access control and the usage guard over one accounts database, on each backend."""
    create_key_store(tmp_path / "audit.key")
    log = AuditLog(tmp_path / "audit.jsonl", load_signing_key(tmp_path / "audit.key"))
    postgres = backend == "postgres"
    where = request.getfixturevalue("postgres_database") if postgres else tmp_path / "accounts.db"
    rules = fast_rules()
    if postgres:
        where = open_access(where, rules=rules, backend_name="postgres")
    control = AccessControl(where, log, rules=rules, letters=tmp_path / "token-letters")
    w = World(control, UsageGuard(log, counters=control.stores.usage), log, {})
    w.add("jo")
    w.add("lee", authority=LEEDS)
    yield w
    control.close()
    log.close()


# -- the attacks: each returns nothing and must raise AccessRefused -------------------------


def replay(w: World) -> None:
    code = w.code("jo")
    w.login("jo", code=code)
    w.login("jo", when=NOW + dt.timedelta(seconds=5), code=code)


def lock_then_use_right_details(w: World) -> None:
    for _ in range(w.control.rules.lockout_failures.value):
        with contextlib.suppress(AccessRefused):
            w.login("jo", password="guess guess")
    w.login("jo", when=LATER)


def idle_session(w: World) -> None:
    s = w.login("jo")
    idle = dt.timedelta(minutes=w.control.rules.session_idle_minutes.value + 1)
    w.control.session(s.session_id, now=NOW + idle)


def revoked_session(w: World) -> None:
    s = w.login("jo")
    w.control.revoke("jo", by=None, now=NOW)
    w.control.session(s.session_id, now=LATER)


def revoked_login(w: World) -> None:
    w.control.revoke("jo", by=None, now=NOW)
    w.login("jo", when=LATER)


def before_national_rollout(w: World) -> None:
    start = load_rollout().national.practitioner_access_start
    w.login("lee", when=dt.datetime.combine(start, dt.time(9)) - dt.timedelta(days=1))


def early_adopter_before_practitioner_date(w: World) -> None:
    start = load_rollout().early_adopters.practitioner_access_start
    w.login("jo", when=dt.datetime.combine(start, dt.time(9)) - dt.timedelta(days=1))


def per_minute(action: str) -> Callable[[World], None]:
    def attack(w: World) -> None:
        limit = getattr(w.guard.rules, f"{action}_per_minute").value
        for i in range(limit + 1):
            when = NOW + dt.timedelta(seconds=i)
            if action == "searches":
                w.guard.check_search("jo", when, "Smith")
            else:
                w.guard.check_view("jo", f"AB{100_000 + 5_000 * i:06d}X", when)

    return attack


def per_day(action: str) -> Callable[[World], None]:
    def attack(w: World) -> None:
        limit = getattr(w.guard.rules, f"{action}_per_day").value
        midnight = NOW.replace(hour=0)
        for i in range(limit + 1):
            when = midnight + dt.timedelta(minutes=2 * i)
            if action == "searches":
                w.guard.check_search("jo", when)
            else:
                w.guard.check_view("jo", f"CD{1_000 * i:06d}X", when)

    return attack


def no_token(w: World) -> None:
    new = NewAccount(
        "bare", "Al", "Bare", "health", "N81001", "gp_practice", BOLTON, "practitioner"
    )
    w.control.create_account(new, PASSWORD, PIN, by=None, now=NOW)
    w.control.login("bare", PASSWORD, PIN, "123456", network="N3", now=NOW)


def many_surnames(w: World) -> None:
    for i in range(w.guard.rules.enumeration_distinct_surnames.value + 1):
        w.guard.check_search("jo", NOW + dt.timedelta(seconds=7 * i), f"Surname{i}")


def sequential_ids(w: World) -> None:
    for i in range(w.guard.rules.enumeration_sequential_ids.value):
        w.guard.check_view("jo", f"AB{500_000 + i:06d}X", NOW + dt.timedelta(seconds=20 * i))


def practitioner_unlocks_self(w: World) -> None:
    s = w.login("jo")
    w.control.unlock("jo", by=s.session_id, now=NOW)


def manager_revokes_other_authority(w: World) -> None:
    w.add("boss", role="management_team")
    s = w.login("boss")
    w.control.revoke("lee", by=s.session_id, now=NOW)


ATTACKS: dict[str, tuple[Callable[[World], None], str]] = {
    "wrong password": (lambda w: w.login("jo", password="correct horsf"), "wrong_password"),
    "wrong PIN": (lambda w: w.login("jo", pin="1357"), "wrong_pin"),
    "empty PIN": (lambda w: w.login("jo", pin=""), "wrong_pin"),
    "replayed token code": (replay, "replayed_token_code"),
    "code from another user's token": (
        lambda w: w.login("jo", code=w.code("lee")),
        "bad_token_code",
    ),
    "stale code (5 minutes old)": (
        lambda w: w.login("jo", code=w.code("jo", NOW - dt.timedelta(minutes=5))),
        "bad_token_code",
    ),
    "code from the future (5 minutes)": (
        lambda w: w.login("jo", code=w.code("jo", NOW + dt.timedelta(minutes=5))),
        "bad_token_code",
    ),
    "empty token code": (lambda w: w.login("jo", code=""), "bad_token_code"),
    "unknown user": (lambda w: w.login("nobody", code="123456"), "unknown_user"),
    "SQL injection in username": (
        lambda w: w.login("jo' OR '1'='1", code="123456"),
        "unknown_user",
    ),
    "SQL injection in password": (
        lambda w: w.login("jo", password="' OR 1=1; DROP TABLE accounts; --"),
        "wrong_password",
    ),
    "very long username": (lambda w: w.login("x" * 10_000, code="1"), "unknown_user"),
    "locked-out user with the right details": (lock_then_use_right_details, "locked_out"),
    "user without a token": (no_token, "no_token"),
    "unvetted user (no CRB check)": (
        lambda w: (w.add("new", crb=None), w.login("new"))[-1],
        "no_crb_check",
    ),
    "expired CRB (over three years)": (
        lambda w: (w.add("old", crb=dt.date(2006, 11, 30)), w.login("old"))[-1],
        "crb_expired",
    ),
    "untrained user": (lambda w: (w.add("raw", trained=False), w.login("raw"))[-1], "untrained"),
    "no signed agreement": (
        lambda w: (w.add("nosign", signed=False), w.login("nosign"))[-1],
        "no_agreement",
    ),
    "wrong network (internet)": (lambda w: w.login("jo", network="internet"), "wrong_network"),
    "accredited network of another sector": (
        lambda w: w.login("jo", network="N3"),
        "wrong_network",
    ),
    "before national roll-out": (before_national_rollout, "before_rollout"),
    "early adopter before practitioner date": (
        early_adopter_before_practitioner_date,
        "before_rollout",
    ),
    "organisation outside every phase": (
        lambda w: (
            w.add("acme", authority=LEEDS, kind="national_partner", organisation="Acme Trust"),
            w.login("acme", network="GCSx"),
        )[-1],
        "organisation_not_accredited",
    ),
    "expired session (idle)": (idle_session, "session_expired"),
    "forged session id": (lambda w: w.control.session("0" * 64, now=NOW), "unknown_session"),
    "revoked user logs in": (revoked_login, "revoked"),
    "revoked user's open session": (revoked_session, "session_revoked"),
    "practitioner administers own account": (practitioner_unlocks_self, "not_permitted"),
    "manager acts on another authority": (manager_revokes_other_authority, "not_permitted"),
    "searches per minute exceeded": (per_minute("searches"), "rate_limit"),
    "views per minute exceeded": (per_minute("views"), "rate_limit"),
    "searches per day exceeded": (per_day("searches"), "rate_limit"),
    "views per day exceeded": (per_day("views"), "rate_limit"),
    "enumeration by surnames": (many_surnames, "enumeration"),
    "enumeration by sequential IDs": (sequential_ids, "enumeration"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_and_audited(world, name):
    """The attack raises AccessRefused with its reason, and the log holds the refusal."""
    attack, reason = ATTACKS[name]
    with pytest.raises(AccessRefused) as refused:
        attack(world)
    assert refused.value.reason_code == reason
    assert str(refused.value) == MESSAGES[reason]
    audit = read_audit(world.log.path)
    refusals = audit.filter(audit["outcome"] == "refused")
    last = refusals.filter(refusals["action"] != "alert").row(-1, named=True)
    assert last["reason"] == reason
    if reason in ("rate_limit", "enumeration"):
        alert = refusals.filter(refusals["action"] == "alert")
        assert alert.height == 1 and alert["actor"][0] == "jo"


def test_credential_failures_read_the_same():
    """Unknown user, wrong password, PIN, code, replay, lockout and revocation share a message."""
    same = {
        MESSAGES[r]
        for r in ("unknown_user", "wrong_password", "wrong_pin", "bad_token_code",
                  "replayed_token_code", "no_token", "locked_out", "revoked")
    }  # fmt: skip
    assert len(same) == 1


def test_refusal_messages_name_no_account(world):
    """A refusal's message holds neither the username tried nor the reason code."""
    for username in ("jo", "nobody"):
        with pytest.raises(AccessRefused) as refused:
            world.login(username, password="nope nope", code="000000")
        assert username not in str(refused.value) and "password" not in str(refused.value)


def test_injected_username_is_logged_as_data(world):
    """A hostile username is recorded verbatim (truncated) and the accounts table survives."""
    hostile = "x'); DELETE FROM accounts; --" + "y" * 200
    with pytest.raises(AccessRefused):
        world.login(hostile, code="1")
    actor = read_audit(world.log.path)["actor"][-1]
    assert actor == hostile[:64]
    assert world.control.account("jo") is not None


def test_attacks_do_not_lock_out_other_users(world):
    """Failures on one account leave another account's login untouched."""
    for _ in range(5):
        with pytest.raises(AccessRefused):
            world.login("jo", password="wrong wrong")
    assert world.login("lee")


def test_the_suite_is_large():
    """The project keeps at least 40 attack cases across its suites; this file holds 35+."""
    assert len(ATTACKS) >= 35


def test_an_unknown_user_costs_the_same_hashing_as_a_known_one(tmp_path, monkeypatch):
    """Refusing an unknown username runs as many argon2 verifications as refusing a known one
    (against a decoy hash), so the time a refusal takes does not reveal who has an account."""
    create_key_store(tmp_path / "k.key")
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored, given):
        verified.append(stored)
        return real_verify(self, stored, given)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    with AuditLog(tmp_path / "a.jsonl", load_signing_key(tmp_path / "k.key")) as log:
        control = AccessControl(tmp_path / "accounts.db", log)
        new = NewAccount("jo", "Jo", "Bloggs", "social care", BOLTON, "local_authority", BOLTON,
                         "practitioner")  # fmt: skip
        control.create_account(new, PASSWORD, PIN, by=None, now=NOW)
        counts = {}
        for username in ("jo", "nobody"):
            verified.clear()
            with pytest.raises(AccessRefused):
                control.login(username, "not it at all", PIN, "1", network="GCSx", now=NOW)
            counts[username] = len(verified)
        control.close()
    assert counts["nobody"] == counts["jo"] >= 2  # password and PIN, real or decoy
