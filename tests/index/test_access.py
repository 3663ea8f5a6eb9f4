"""Accounts, vetting, tokens, logins, sessions and roll-out gates."""

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.index.access import (
    AccessRefused,
    LoginAttempt,
    access_start,
    crb_valid_until,
    load_access_rules,
    token_code,
)
from sim.index.access.enrolment import collect_letter
from sim.index.audit import (
    read_audit,
    verify,
)
from sim.reference.rollout import load_rollout
from sim.streams import stream
from tests.index.support import BOLTON, LEEDS, NOW, SHEFFIELD, make_desk


def test_access_file_loads_with_provenance():
    """data/index/access.toml validates and every rule carries a source."""
    rules = load_access_rules()
    assert rules.crb_renewal_years.value == 3 and rules.crb_renewal_years.confidence == "high"
    assert rules.networks_for("gp_practice") == {"N3"}
    assert set(rules.role_access_start.value) == {
        "practitioner", "management_team", "national_administrator"
    }  # fmt: skip


def test_rollout_gates_follow_the_data():
    """Early adopters, partners, national authorities and staff get the dates in groups.toml."""
    rules, rollout = load_access_rules(), load_rollout()
    ea, nat = rollout.early_adopters, rollout.national
    la = "local_authority"
    assert (
        access_start("practitioner", BOLTON, BOLTON, la, rules, rollout)
        == ea.practitioner_access_start
    )
    assert (
        access_start("management_team", BOLTON, BOLTON, la, rules, rollout)
        == ea.management_training_start
    )
    assert (
        access_start("practitioner", LEEDS, LEEDS, la, rules, rollout)
        == nat.practitioner_access_start
    )
    assert (
        access_start("management_team", LEEDS, LEEDS, la, rules, rollout)
        == nat.management_training_start
    )
    # a trailblazer that was not an early adopter waits for the national date
    assert (
        access_start("practitioner", SHEFFIELD, SHEFFIELD, la, rules, rollout)
        == nat.practitioner_access_start
    )
    barnardos = next(p for p in rollout.national_partners if p.name == "Barnardo's")
    partner = access_start("practitioner", LEEDS, "Barnardo's", "national_partner", rules, rollout)
    assert partner == barnardos.practitioner_access_start
    assert (
        access_start("practitioner", LEEDS, "Acme Trust", "national_partner", rules, rollout)
        is None
    )
    assert (
        access_start("national_administrator", None, "DCSF", "national", rules, rollout)
        == ea.management_training_start
    )


def test_crb_renewal_is_three_years_from_the_data():
    """A disclosure from 5 Jan 2009 is valid to 4 Jan 2012; 29 Feb rolls to 1 Mar."""
    rules = load_access_rules()
    assert crb_valid_until(dt.date(2009, 1, 5), rules) == dt.date(2012, 1, 5)
    assert crb_valid_until(dt.date(2008, 2, 29), rules) == dt.date(2011, 3, 1)


def test_vetted_user_logs_in_and_is_audited(desk):
    """A vetted, trained practitioner with a token logs in; the session carries their place."""
    secret = desk.vetted(desk.person())
    session = desk.login("jo", secret)
    assert (session.username, session.authority_code, session.role) == (
        "jo",
        BOLTON,
        "practitioner",
    )
    assert desk.control.session(session.session_id, now=NOW) == session
    entry = desk.last()
    assert (entry["actor"], entry["action"], entry["outcome"]) == ("jo", "login", "allowed")


def test_secrets_are_hashed_at_rest(desk):
    """Neither the password nor the PIN is in accounts.db; the frame has no hash columns."""
    desk.vetted(desk.person())
    if isinstance(desk.control._store.path, Path):
        raw = (desk.folder / "accounts.db").read_bytes() + (
            desk.folder / "accounts.db-wal"
        ).read_bytes()
    else:  # every row the database holds, as text
        db = desk.control.stores.accounts.db
        tables = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [db.execute(f"SELECT * FROM {t} ").fetchall() for (t,) in tables.fetchall()]
        raw = repr(rows).encode()
        assert b"$argon2id$" in raw  # the rows were read
    assert b"correct horse" not in raw and b"2468" not in raw
    stored = desk.control.account("jo")
    assert stored.password_hash.startswith("$argon2id$") and stored.pin_hash.startswith(
        "$argon2id$"
    )
    assert not any(c.endswith("_hash") for c in desk.control.accounts_frame().columns)


def test_token_drift_of_one_step_is_accepted(desk):
    """A token 30 s behind the server still works (RFC 6238 s5.2 drift allowance)."""
    secret = desk.vetted(desk.person())
    code = token_code(secret, NOW - dt.timedelta(seconds=30), desk.control.rules)
    assert desk.control.login("jo", "correct horse", "2468", code, network="GCSx", now=NOW)


def test_next_step_code_works_after_a_used_one(desk):
    """After one login, the next time step's code logs in again (only replays are refused)."""
    secret = desk.vetted(desk.person())
    desk.login("jo", secret)
    assert desk.login("jo", secret, NOW + dt.timedelta(seconds=30))


def test_reissued_token_replaces_the_old(desk):
    """Issuing a new token makes the old token's codes worthless."""
    old = desk.vetted(desk.person())
    desk.control.issue_token("jo", by=None, now=NOW)
    new = collect_letter(desk.control.letters, "jo")
    with pytest.raises(AccessRefused) as refused:
        desk.login("jo", old)
    assert refused.value.reason_code == "bad_token_code"
    assert desk.login("jo", new)


@pytest.mark.parametrize("durable", [True, False])
def test_a_letter_is_synced_to_disk_unless_the_copy_is_scratch(desk, monkeypatch, durable):
    """A token letter is posted and collected with fsyncs (file and letter box); a
    simulation's working copy (`without_sync`) skips them, and the letter still works."""
    synced: list[str] = []  # what was synced: the letter, its box, the box's folder
    fsync = os.fsync

    def noted(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", noted)
    secret = desk.vetted(desk.person())
    if not durable:
        desk.control.without_sync()
    synced.clear()
    desk.control.issue_token("jo", by=None, now=NOW)
    new = collect_letter(desk.control.letters, "jo", durable=desk.control.letters_durable)
    box = desk.control.letters
    letters = [path for path in synced if path == str(box.parent) or path.startswith(str(box))]
    assert letters == ([f"{box}/jo.json.partial", str(box), str(box.parent)] if durable else [])
    assert new != secret and desk.login("jo", new)


def test_sessions_expire_idle_and_absolute(desk):
    """Idle for longer than session_idle_minutes, or older than session_absolute_hours, ends."""
    rules = desk.control.rules
    secret = desk.vetted(desk.person())
    idle = dt.timedelta(minutes=rules.session_idle_minutes.value)
    s = desk.login("jo", secret)
    desk.control.session(s.session_id, now=NOW + idle)  # exactly at the limit: still live
    with pytest.raises(AccessRefused, match="session has ended"):
        desk.control.session(s.session_id, now=NOW + 2 * idle + dt.timedelta(seconds=1))
    t = NOW + dt.timedelta(seconds=60)
    s = desk.login("jo", secret, t)
    hours = rules.session_absolute_hours.value
    for step in range(1, 4 * hours + 1):  # kept busy every 15 minutes
        when = t + dt.timedelta(minutes=15 * step)
        if step == 4 * hours:
            with pytest.raises(AccessRefused) as refused:
                desk.control.session(s.session_id, now=when + dt.timedelta(seconds=1))
            assert refused.value.reason_code == "session_expired"
        else:
            desk.control.session(s.session_id, now=when)


def test_lapsed_sessions_are_forgotten_after_a_day_and_their_logins_stay_audited(desk):
    """A login forgets the sessions that started before the previous midnight less the
    absolute lifetime: such a session is then unknown (it was refused as expired before), a
    later one is still expired rather than unknown, and every login stays in the audit log."""
    secret = desk.vetted(desk.person())
    hours = dt.timedelta(hours=desk.control.rules.session_absolute_hours.value)
    old = desk.login("jo", secret, NOW)  # 1 Dec 10:00
    kept_at = NOW + dt.timedelta(days=1) + hours  # 2 Dec: forgets what started before 30 Nov
    kept = desk.login("jo", secret, kept_at)
    minute = dt.timedelta(minutes=1)
    reasons = [
        refusal.reason_code
        for refusal in desk.control.sessions([(old.session_id, kept_at + minute)])
    ]
    assert reasons == ["session_expired"]  # stored, and past its lifetime
    third = NOW + dt.timedelta(days=2)  # 3 Dec 10:00: forgets what started before 1 Dec 18:00
    desk.login("jo", secret, third)
    checks = [(old.session_id, third + minute), (kept.session_id, third + minute)]
    reasons = [refusal.reason_code for refusal in desk.control.sessions(checks)]
    assert reasons == ["unknown_session", "session_expired"]
    logins = read_audit(desk.log.path).filter(action="login", outcome="allowed", actor="jo")
    assert logins.height == 3
    assert verify(desk.log.path, desk.public).ok


def test_logout_ends_the_session(desk):
    """After logout the session id is refused."""
    s = desk.login("jo", desk.vetted(desk.person()))
    desk.control.logout(s.session_id, now=NOW)
    with pytest.raises(AccessRefused) as refused:
        desk.control.session(s.session_id, now=NOW)
    assert refused.value.reason_code == "unknown_session"


def test_lockout_then_unlock(desk):
    """lockout_failures wrong passwords lock the account until an administrator unlocks it."""
    secret = desk.vetted(desk.person())
    for _ in range(desk.control.rules.lockout_failures.value):
        with pytest.raises(AccessRefused):
            desk.control.login("jo", "wrong guess", "2468", "000000", network="GCSx", now=NOW)
    assert desk.control.account("jo").locked_until is not None
    with pytest.raises(AccessRefused) as refused:
        desk.login("jo", secret, NOW + dt.timedelta(days=30))
    assert refused.value.reason_code == "locked_out"
    desk.control.unlock("jo", by=None, now=NOW + dt.timedelta(days=30))
    assert desk.login("jo", secret, NOW + dt.timedelta(days=30, seconds=30))
    assert desk.control.account("jo").failed_logins == 0


def test_timed_lockout_expires(tmp_path):
    """With lockout_minutes > 0 the lock lifts by itself."""
    d = make_desk(tmp_path, lockout_minutes=15)
    secret = d.vetted(d.person())
    for _ in range(d.control.rules.lockout_failures.value):
        with pytest.raises(AccessRefused):
            d.control.login("jo", "wrong guess", "2468", "1", network="GCSx", now=NOW)
    with pytest.raises(AccessRefused):
        d.login("jo", secret, NOW + dt.timedelta(minutes=14))
    assert d.login("jo", secret, NOW + dt.timedelta(minutes=16))


def test_management_team_administers_only_its_authority(desk):
    """A Bolton management-team member can vet Bolton staff but not Leeds staff."""
    secret = desk.vetted(desk.person("boss", role="management_team"))
    boss = desk.login("boss", secret)
    desk.control.create_account(
        desk.person("amy"), "correct horse", "1357", by=boss.session_id, now=NOW
    )
    assert desk.last()["actor"] == "boss"
    with pytest.raises(AccessRefused) as refused:
        desk.control.create_account(
            desk.person("lee", authority=LEEDS),
            "correct horse",
            "1357",
            by=boss.session_id,
            now=NOW,
        )
    assert refused.value.reason_code == "not_permitted"
    assert (desk.last()["outcome"], desk.last()["reason"]) == ("refused", "not_permitted")
    with pytest.raises(AccessRefused):
        desk.control.create_account(
            desk.person("top", role="national_administrator", authority=None),
            "correct horse",
            "1357",
            by=boss.session_id,
            now=NOW,
        )


def test_practitioner_cannot_administer(desk):
    """A practitioner's role administers nobody (role_administers = none)."""
    me = desk.login("jo", desk.vetted(desk.person()))
    with pytest.raises(AccessRefused) as refused:
        desk.control.record_training("jo", dt.date(2009, 1, 1), by=me.session_id, now=NOW)
    assert refused.value.reason_code == "not_permitted"


def test_bad_new_credentials_are_refused_and_audited(desk):
    """Short passwords, non-digit PINs, unknown roles and duplicates are input errors, audited."""
    with pytest.raises(InputError, match="password"):
        desk.control.create_account(desk.person(), "short", "2468", by=None, now=NOW)
    with pytest.raises(InputError, match="PIN"):
        desk.control.create_account(desk.person(), "correct horse", "12ab", by=None, now=NOW)
    with pytest.raises(InputError, match="role"):
        desk.control.create_account(
            desk.person(role="boss"), "correct horse", "2468", by=None, now=NOW
        )
    desk.control.create_account(desk.person(), "correct horse", "2468", by=None, now=NOW)
    with pytest.raises(InputError, match="exists"):
        desk.control.create_account(desk.person(), "correct horse", "2468", by=None, now=NOW)
    with pytest.raises(InputError, match="no account"):
        desk.control.revoke("nobody", by=None, now=NOW)
    audit = read_audit(desk.log.path)
    assert audit.filter(audit["outcome"] == "refused")["reason"].to_list() == [
        "invalid", "invalid", "invalid", "exists", "unknown_user"
    ]  # fmt: skip


def test_close_service_refuses_every_login_and_session(desk):
    """Switch-off revokes every account and ends every live session."""
    secret = desk.vetted(desk.person())
    s = desk.login("jo", secret)
    assert desk.control.close_service(by=None, now=NOW) == 1
    with pytest.raises(AccessRefused):
        desk.control.session(s.session_id, now=NOW)
    with pytest.raises(AccessRefused) as refused:
        desk.login("jo", secret, NOW + dt.timedelta(seconds=30))
    assert refused.value.reason_code == "revoked"


def test_seeded_randomness_reproduces_tokens(tmp_path):
    """With random bytes from sim.streams, token secrets and session ids repeat run to run."""
    secrets = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        d = make_desk(tmp_path / run)
        rng = stream(1, "index", 7)
        d.control._random = lambda n, rng=rng: rng.bytes(n)
        secret = d.vetted(d.person())
        secrets.append((secret, d.login("jo", secret).session_id))
    assert secrets[0] == secrets[1]


def test_log_of_an_access_session_verifies(desk):
    """Everything the access control wrote forms an intact chain."""
    desk.login("jo", desk.vetted(desk.person()))
    with pytest.raises(AccessRefused):
        desk.control.login("jo", "x", "1", "1", network="internet", now=NOW)
    desk.log.close()
    assert verify(desk.log.path, desk.public).ok


def test_accounts_db_is_wal_and_separate(tmp_path):
    """accounts.db is its own SQLite file in WAL mode."""
    desk = make_desk(tmp_path)
    desk.vetted(desk.person())
    mode = sqlite3.connect(desk.folder / "accounts.db").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def _checked(control, session_id, now):
    try:
        control.session(session_id, now=now)
        return "live"
    except AccessRefused as refused:
        return refused.reason_code


def test_a_batch_of_session_checks_answers_as_one_at_a_time(desk):
    """`sessions` (a batch's checks, each session read once) answers, audits and leaves each
    session as `session` called once per check: twins of each user, one checked one at a time,
    the other in one batch, through a session kept alive to the limit of its idle time, one
    that expires mid-batch, a revoked account's and an unknown id."""
    idle = dt.timedelta(minutes=desk.control.rules.session_idle_minutes.value)
    second = dt.timedelta(seconds=1)
    people = ["live", "lapse", "gone"]
    sessions = {}
    for twin in ("one", "many"):
        for who in people:
            name = f"{who}{twin}"
            secret = desk.vetted(desk.person(name))
            sessions[name] = desk.login(name, secret).session_id
        desk.control.revoke(f"gone{twin}", by=None, now=NOW + second)
    t = NOW + dt.timedelta(minutes=1)
    plan = [  # (who, moment), in time order
        ("live", t), ("lapse", t), ("live", t), ("gone", t), ("nobody", t + second),
        ("live", t + 5 * second), ("lapse", t + idle + 2 * second), ("live", t + idle),
        ("lapse", t + idle + 3 * second), ("live", t + 2 * idle),
    ]  # fmt: skip

    def sid(who, twin):
        return sessions.get(f"{who}{twin}", "no-such-session")

    before = read_audit(desk.log.path).height
    alone = [_checked(desk.control, sid(who, "one"), at) for who, at in plan]
    batched = desk.control.sessions([(sid(who, "many"), at) for who, at in plan])
    got = [b.reason_code if isinstance(b, AccessRefused) else "live" for b in batched]
    assert got == alone
    assert alone == [
        "live", "live", "live", "session_revoked", "unknown_session", "live",
        "session_expired", "live", "session_expired", "live",
    ]  # fmt: skip
    trail = read_audit(desk.log.path).slice(before)
    rows = [
        (time, actor.replace("many", "one"), action, outcome, reason)
        for time, actor, action, outcome, reason in trail.select(
            "time", "actor", "action", "outcome", "reason"
        ).iter_rows()
    ]
    assert len(rows) == 8 and rows[:4] == rows[4:]  # the refusals, in order, once each way
    last = t + 2 * idle  # the idle clock was written once, at the batch's last live check
    for twin in ("one", "many"):
        assert _checked(desk.control, sid("live", twin), last + idle) == "live"
        assert _checked(desk.control, sid("live", twin), last + 2 * idle + second) == (
            "session_expired"
        )
        assert _checked(desk.control, sid("lapse", twin), last) == "session_expired"
        assert _checked(desk.control, sid("gone", twin), last) == "session_revoked"


def _login_plan(desk, twin, secrets):
    """The same attempts for either twin: (username, password, pin, code, network, at)."""
    t, step = NOW + dt.timedelta(hours=1), dt.timedelta(seconds=30)
    rules = desk.control.rules
    a, b = f"a{twin}", f"b{twin}"
    good, later = token_code(secrets[a], t, rules), token_code(secrets[a], t + step, rules)
    b_good = token_code(secrets[b], t + 2 * step, rules)
    wrong = f"{(int(token_code(secrets[b], t, rules)) + 1) % 10**6:06d}"
    return [
        (a, "correct horse", "2468", good, "GCSx", t),
        (a, "correct horse", "2468", good, "GCSx", t + dt.timedelta(seconds=1)),  # a replay
        (b, "correct horse", "2468", wrong, "GCSx", t),
        (b, "correct horse", "9999", b_good, "GCSx", t + dt.timedelta(seconds=2)),
        (b, "correct horse", "2468", b_good, "GCSx", t + 2 * step),  # locked by now
        (a, "correct horse", "2468", later, "internet", t + step),
        (a, "correct horse", "2468", later, "GCSx", t + step),  # the next step's code
        (f"nobody{twin}", "correct horse", "2468", later, "GCSx", t + step),
        (a, "correct\x00horse", "2468", later, "GCSx", t + step),
    ]


def test_login_many_decides_and_audits_each_login_as_one_at_a_time(desk):
    """A batch of logins (login_many) keeps every check of a single login: the same answers,
    the same audit entries in the same order, as the same attempts made one at a time; a
    replayed code is refused, failures before and within the batch lock the account (a lock
    entry audited), and the log's chain verifies."""
    secrets = {}
    for twin in ("one", "many"):
        for who in ("a", "b"):
            secrets[f"{who}{twin}"] = desk.vetted(desk.person(f"{who}{twin}"))
        with pytest.raises(AccessRefused):  # a failure before the batch counts towards lockout
            desk.control.login(f"b{twin}", "wrong guess", "2468", "1", network="GCSx", now=NOW)
    before = read_audit(desk.log.path).height
    alone = []
    for username, password, pin, code, network, at in _login_plan(desk, "one", secrets):
        try:
            desk.control.login(username, password, pin, code, network=network, now=at)
            alone.append("live")
        except AccessRefused as refused:
            alone.append(refused.reason_code)
    middle = read_audit(desk.log.path).height
    batch = desk.control.login_many(
        [LoginAttempt(*attempt) for attempt in _login_plan(desk, "many", secrets)]
    )
    got = [b.reason_code if isinstance(b, AccessRefused) else "live" for b in batch]
    assert got == alone == [
        "live", "replayed_token_code", "bad_token_code", "wrong_pin", "locked_out",
        "wrong_network", "live", "unknown_user", "malformed_credentials",
    ]  # fmt: skip
    for answer in (batch[0], batch[6]):
        assert desk.control.session(answer.session_id, now=answer.started).username == "amany"
    trail = read_audit(desk.log.path)
    rows = [
        (time, actor.replace("many", "one"), action, outcome, reason)
        for time, actor, action, outcome, reason in trail.select(
            "time", "actor", "action", "outcome", "reason"
        ).iter_rows()
    ]
    assert rows[before:middle] == rows[middle:] and len(rows) - middle == 10  # 9 + a lock
    assert ("account.lock", "allowed") in [(r[2], r[3]) for r in rows[middle:]]
    assert desk.control.account("bmany").locked_until is not None
    with pytest.raises(AccessRefused) as refused:  # locked in the batch, refused one at a time
        desk.login("bmany", secrets["bmany"], NOW + dt.timedelta(hours=2))
    assert refused.value.reason_code == "locked_out"
    desk.log.close()
    assert verify(desk.log.path, desk.public).ok


def test_sessions_are_stored_in_login_order_and_never_in_the_clear(desk):
    """A session's stored key leads with its login moment (a day's sessions are stored side by
    side) and holds no part of the id's secret: the same moment with another secret is an
    unknown session."""
    users = ["jo", "al", "ed"]
    held = {name: desk.vetted(desk.person(name)) for name in users}
    ids = [
        desk.login(name, held[name], NOW + dt.timedelta(minutes=k)).session_id
        for k, name in enumerate(reversed(users))
    ]
    rows = desk.control.stores.accounts.db.execute(
        "SELECT session_hash FROM sessions ORDER BY session_hash"
    ).fetchall()
    stored = [row[0] for row in rows]
    assert [key[:14] for key in stored] == [session[:14] for session in ids]
    assert not any(session[14:] in key for session in ids for key in stored)
    later = NOW + dt.timedelta(minutes=3)
    with pytest.raises(AccessRefused) as refused:
        desk.control.session(ids[0][:14] + "0" * 64, now=later)
    assert refused.value.reason_code == "unknown_session"
    assert desk.control.session(ids[0], now=later).username == "ed"
