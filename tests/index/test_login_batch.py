"""A batch of logins (login_many) keeps every safeguard of a single login: the same answers,
the same audit entries and the same account state as the same attempts made one at a time."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.index.access import AccessRefused, LoginAttempt, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.access.rules import load_access_rules
from sim.index.access.tokens import epoch_seconds, matching_step, secret_from_bytes
from sim.index.audit import read_audit, verify
from tests.index.support import NOW, make_desk

ROOT = Path(__file__).resolve().parents[2]
STEP = dt.timedelta(seconds=30)
T0 = NOW + dt.timedelta(hours=1)
CODES = ("now", "previous", "next", "stale", "wrong", "repeat")


def _answer(answer) -> str:
    return answer.reason_code if isinstance(answer, AccessRefused) else "live"


def _trail(desk, start: int) -> list[tuple]:
    """The audit entries from `start`, with a twin's name read as the other twin's."""
    rows = read_audit(desk.log.path).slice(start)
    return [
        tuple(str(v).replace("many", "one") for v in row)
        for row in rows.select("time", "actor", "action", "outcome", "child_id", "reason", "detail")
        .iter_rows()
    ]  # fmt: skip


def _attempts(desk, twin: str, secrets: dict[str, str], plan: list[tuple]) -> list[LoginAttempt]:
    """The plan's attempts for one twin: who, password and PIN right or not, which code (the
    token's current one, a step either side, one three steps old, a wrong one, or a repeat of
    the code this user last typed), the network and the seconds since the previous attempt."""
    rules, at, typed = desk.control.rules, T0, {}
    attempts = []
    for who, password_ok, pin_ok, code, network, wait in plan:
        at += dt.timedelta(seconds=wait)
        name = f"{who}{twin}"
        secret = secrets.get(name, secrets[f"a{twin}"])
        shown = {
            "now": at, "previous": at - STEP, "next": at + STEP, "stale": at - 3 * STEP,
        }  # fmt: skip
        if code == "repeat" and name in typed:
            value = typed[name]
        elif code == "wrong":
            value = f"{(int(token_code(secret, at, rules)) + 1) % 10**6:06d}"
        else:
            value = token_code(secret, shown.get(code, at), rules)
        typed[name] = value
        attempts.append(
            LoginAttempt(
                name,
                "correct horse" if password_ok else "wrong horse",
                "2468" if pin_ok else "1357",
                value,
                network,
                at,
            )
        )
    return attempts


PLANS = st.lists(
    st.tuples(
        st.sampled_from(["a", "a", "b", "nobody"]),
        st.booleans() | st.just(True),
        st.booleans() | st.just(True),
        st.sampled_from(CODES),
        st.sampled_from(["GCSx", "GCSx", "internet"]),
        st.integers(0, 45),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=PLANS, earlier_failures=st.integers(0, 2))
def test_a_batch_decides_and_audits_as_one_at_a_time(tmp_path_factory, plan, earlier_failures):
    """Any sequence of right and wrong passwords, PINs, codes (replays and stale steps
    included), networks and unknown users: login_many gives the same answers, the same audit
    entries (minus session ids) and the same lockout state as one login at a time, after the
    same single-login failures before it; the chain verifies."""
    desk = make_desk(tmp_path_factory.mktemp("batch"))
    try:
        secrets = {}
        for twin in ("one", "many"):
            for who in ("a", "b"):
                secrets[f"{who}{twin}"] = desk.vetted(desk.person(f"{who}{twin}"))
            for _ in range(earlier_failures):  # single logins before the batch count too
                with pytest.raises(AccessRefused):
                    desk.control.login(
                        f"a{twin}", "guess", "2468", "000000", network="GCSx", now=NOW
                    )
        start = read_audit(desk.log.path).height
        alone = []
        for a in _attempts(desk, "one", secrets, plan):
            try:
                desk.control.login(
                    a.username, a.password, a.pin, a.token_code, network=a.network, now=a.at
                )
                alone.append("live")
            except AccessRefused as refused:
                alone.append(refused.reason_code)
        middle = read_audit(desk.log.path).height
        batch = desk.control.login_many(_attempts(desk, "many", secrets, plan))
        assert [_answer(b) for b in batch] == alone
        assert _trail(desk, start)[: middle - start] == _trail(desk, middle)
        for who in ("a", "b"):
            one, many = desk.control.account(f"{who}one"), desk.control.account(f"{who}many")
            assert (one.failed_logins, one.locked_until) == (many.failed_logins, many.locked_until)
        for answer in batch:  # each session granted is live at its start
            if not isinstance(answer, AccessRefused):
                assert desk.control.session(answer.session_id, now=answer.started)
        desk.log.close()
        assert verify(desk.log.path, desk.public).ok
    finally:
        desk.control.close()
        desk.log.close()


def _batch(desk, plan: list[tuple[str, str, str]], at: dt.datetime) -> list[str]:
    """login_many of (username, password, pin) with each user's right code at `at`."""
    rules = desk.control.rules
    attempts = [
        LoginAttempt(name, password, pin, token_code(secret, at, rules), "GCSx", at)
        for name, secret, password, pin in plan
    ]
    return [_answer(a) for a in desk.control.login_many(attempts)]


def test_a_batch_refuses_revoked_unvetted_and_switched_off_accounts(desk):
    """In one batch: a revoked account, one never vetted (no CRB check) and one vetted but
    untrained are refused beside a good login, each refusal audited; after the switch-off the
    same good login is refused; the chain verifies."""
    ok = desk.vetted(desk.person("ok"))
    gone = desk.vetted(desk.person("gone"))
    desk.control.revoke("gone", by=None, now=NOW)
    c = desk.control
    c.create_account(desk.person("fresh"), "correct horse", "2468", by=None, now=NOW)
    c.issue_token("fresh", by=None, now=NOW)
    c.create_account(desk.person("raw"), "correct horse", "2468", by=None, now=NOW)
    c.record_crb_check("raw", dt.date(2009, 1, 5), by=None, now=NOW)
    c.issue_token("raw", by=None, now=NOW)
    letters = {name: collect_letter(c.letters, name) for name in ("fresh", "raw")}
    at = T0
    good = "correct horse", "2468"
    before = read_audit(desk.log.path).height
    plan = [("gone", gone, *good), ("fresh", letters["fresh"], *good), ("ok", ok, *good),
            ("raw", letters["raw"], *good)]  # fmt: skip
    assert _batch(desk, plan, at) == ["revoked", "no_crb_check", "live", "untrained"]
    trail = read_audit(desk.log.path).slice(before)
    assert trail.select("actor", "outcome", "reason").rows() == [
        ("gone", "refused", "revoked"), ("fresh", "refused", "no_crb_check"),
        ("ok", "allowed", None), ("raw", "refused", "untrained"),
    ]  # fmt: skip
    c.close_service(by=None, now=at + STEP)
    assert _batch(desk, [("ok", ok, *good)], at + 2 * STEP) == ["revoked"]
    desk.log.close()
    assert verify(desk.log.path, desk.public).ok


FAIL_ELSEWHERE = """
import datetime as dt, sys
from pathlib import Path
from sim.index.access import AccessControl, LoginAttempt
from sim.index.audit import AuditLog, load_signing_key
from sim.index.store.backends import open_access
from tests.index.support import fast_rules
folder, where, at = Path(sys.argv[1]), sys.argv[2], dt.datetime.fromisoformat(sys.argv[3])
rules = fast_rules()
log = AuditLog(folder / "audit.jsonl", load_signing_key(folder / "audit.key"))
accounts = open_access(where, rules=rules, backend_name=sys.argv[4]) if sys.argv[4] == "postgres" \\
    else Path(where)
control = AccessControl(accounts, log, rules=rules, letters=folder / "token-letters")
wrong = [LoginAttempt("jo", "guess", "2468", "000000", "GCSx", at)] * 2
print([getattr(a, "reason_code", "live") for a in control.login_many(wrong)])
control.close()
log.close()
"""


def test_lockout_counts_failures_across_processes_batches_and_single_logins(desk, backend):
    """Two failures in a batch in another process, then a third as a single login here locks
    the account (the lock audited); a batch after it is refused, the right code included, and
    after an unlock a batch logs in; the chain verifies."""
    secret = desk.vetted(desk.person("jo"))
    where = desk.control.stores.accounts.path
    script = desk.folder / "fail.py"
    script.write_text(FAIL_ELSEWHERE)
    ran = subprocess.run(
        [sys.executable, str(script), str(desk.folder), str(where), T0.isoformat(), backend],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "['wrong_password', 'wrong_password']"
    assert desk.control.account("jo").failed_logins == 2
    with pytest.raises(AccessRefused) as refused:
        desk.control.login("jo", "correct horse", "9999", "000000", network="GCSx", now=T0)
    assert refused.value.reason_code == "wrong_pin"
    right = [("jo", secret, "correct horse", "2468")]
    assert _batch(desk, right, T0 + STEP) == ["locked_out"]
    trail = read_audit(desk.log.path)
    assert trail.filter(trail["action"] == "account.lock").height == 1
    desk.control.unlock("jo", by=None, now=T0 + 2 * STEP)
    assert _batch(desk, right * 2, T0 + 3 * STEP) == ["live", "replayed_token_code"]
    desk.log.close()
    assert verify(desk.log.path, desk.public).ok


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(min_size=20, max_size=20), offset=st.integers(-3, 3),
       seconds=st.integers(0, 10**9))  # fmt: skip
def test_a_code_matches_the_latest_step_of_the_window_that_shows_it(raw, offset, seconds):
    """The token check's step (the server's step tried first) is the latest step within the
    drift allowance whose code is the one typed, as trying every step of the window finds it;
    a code from outside the window matches none."""
    rules = load_access_rules()
    secret, now = secret_from_bytes(raw), dt.datetime(2001, 1, 1) + dt.timedelta(seconds=seconds)
    step = dt.timedelta(seconds=rules.token_step_seconds.value)
    code = token_code(secret, now + offset * step, rules)
    drift = rules.token_drift_steps.value
    window = range(-drift, drift + 1)
    shows = [k for k in window if token_code(secret, now + k * step, rules) == code]
    server = epoch_seconds(now) // rules.token_step_seconds.value
    assert matching_step(secret, code, now, rules) == (server + shows[-1] if shows else None)
