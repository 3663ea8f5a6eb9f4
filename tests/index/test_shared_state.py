"""Security state is one truth, in the deployment's database: separate commands and processes
share counters, sessions, revocations and the switched-off state; nothing is answered after a
switch-off; the audit chain stays whole with several writers."""

import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.deployment.deploy import deploy
from sim.index.access import AccessRefused, token_code
from sim.index.audit import read_audit, verify
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from tests.index.support import copy_deployment

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.datetime(2010, 1, 5, 10, 0)  # the day after the deployment's own activity


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared")
    write_population(SynthRequest(seed=4, scale=0.01, authority_codes=("E08000001",)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=3, profile="simulation")
    return root / "dep"


@pytest.fixture
def dep(template: Path, tmp_path: Path, on_backend) -> Path:
    """A fresh copy of the deployment (and the files beside it) for one test, on each backend."""
    return on_backend(copy_deployment(template, tmp_path / "dep"))


def users(dep: Path) -> dict[str, dict]:
    return json.loads(Path(f"{dep}.credentials.json").read_text())["users"]


def practitioners(dep: Path) -> list[str]:
    return sorted(
        name
        for name, user in users(dep).items()
        if user["role"] == "practitioner" and user["authority_code"] == "E08000001"
    )


def login(service: ContactPoint, dep: Path, username: str, when: dt.datetime) -> str:
    user = users(dep)[username]
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(
        username, user["password"], user["pin"], code, network=user["network"], now=when
    )


def canary(dep: Path) -> dict:
    return json.loads(Path(f"{dep}.canaries.json").read_text())[0]


def cpw(*args: str) -> subprocess.CompletedProcess:
    """`cpw ARGS` in a process of its own, on this tree's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPW_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`cpw ARGS` as a separate command (a fresh facade each time), in this process."""
    for name in [k for k in os.environ if k.startswith("CPW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "argv", ["cpw", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def witness_ok(dep: Path) -> bool:
    key = Path(f"{dep}.audit-public-key").read_text().strip()
    return verify(dep / "audit" / "audit.jsonl", key, Path(f"{dep}.audit-witness")).ok


def test_an_id_walk_spread_over_separate_commands_is_refused(dep, monkeypatch, capsys):
    """Views of neighbouring IDs, one `cpw index view` command each: the fourth is refused as
    enumeration, because the counters live in the deployment, not in one command's memory."""
    who = practitioners(dep)[0]
    statuses = []
    for step in range(4):
        when = (DAY + dt.timedelta(minutes=step)).isoformat()
        status, _, err = run(
            monkeypatch, capsys, "index", "view", str(dep), f"AB{100 + step:06d}C",
            "--reason", "to contact a practitioner already involved", "--user", who,
            "--demo-credentials", f"{dep}.credentials.json", "--at", when,
        )  # fmt: skip
        statuses.append((status, err))
    assert all("no record with that index ID" in err for _, err in statuses[:3])
    assert "unusual pattern of use" in statuses[3][1]
    log = read_audit(dep / "audit" / "audit.jsonl")
    refused = log.filter(log["reason"] == "enumeration")
    assert refused.height == 1 and refused["actor"][0] == who


def test_an_id_walk_by_search_on_the_id_is_refused(dep):
    """Searching by index ID walks the index as surely as viewing: caught the same way, across
    two facades (two processes' worth of state)."""
    who = practitioners(dep)[0]
    refused = None
    for step in range(4):
        when = DAY + dt.timedelta(minutes=step)
        with ContactPoint.open(dep) as service:
            session = login(service, dep, who, when)
            try:
                service.search(session, {"index_id": f"AB{200 + step:06d}C"}, now=when)
            except AccessRefused as error:
                refused = (step, error.reason_code)
    assert refused == (3, "enumeration")


def test_a_switch_off_in_another_process_ends_every_live_session(dep):
    """A session opened before `cpw index switch-off` ran elsewhere is refused on its very next
    request, and the refusal is audited."""
    who = practitioners(dep)[0]
    child = canary(dep)
    query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    with ContactPoint.open(dep) as service:
        session = login(service, dep, who, DAY)
        assert service.search(session, query, now=DAY).matched >= 1
        done = cpw(
            "index", "switch-off", str(dep), "--at", (DAY + dt.timedelta(minutes=1)).isoformat()
        )
        assert done.returncode == 0, done.stderr
        with pytest.raises(AccessRefused) as refused:
            service.search(session, query, now=DAY + dt.timedelta(minutes=2))
        assert refused.value.reason_code == "session_revoked"
    log = read_audit(dep / "audit" / "audit.jsonl")
    assert log["action"][-1] == "session" and log["outcome"][-1] == "refused"
    assert witness_ok(dep)


def test_a_revocation_by_another_facade_ends_the_users_session(dep):
    """The operator revokes an account through a second facade: the first facade's live session
    of that account is refused on its next request."""
    who = practitioners(dep)[0]
    child = canary(dep)
    with ContactPoint.open(dep) as service, ContactPoint.open(dep) as operator:
        session = login(service, dep, who, DAY)
        operator.access.revoke(who, by=None, now=DAY + dt.timedelta(minutes=1))
        with pytest.raises(AccessRefused) as refused:
            service.view(session, child["child_id"], "to contact a practitioner already involved",
                         now=DAY + dt.timedelta(minutes=2))  # fmt: skip
        assert refused.value.reason_code == "session_revoked"


def test_rate_limits_count_every_facade(dep):
    """The per-minute search limit counts searches made through any facade on the deployment."""
    who = practitioners(dep)[0]
    child = canary(dep)
    query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    with ContactPoint.open(dep) as first, ContactPoint.open(dep) as second:
        one = login(first, dep, who, DAY)
        two = login(second, dep, who, DAY + dt.timedelta(seconds=30))
        limit = first.guard.rules.searches_per_minute.value
        now = DAY + dt.timedelta(seconds=40)
        for n in range(limit):
            (first if n % 2 else second).search(one if n % 2 else two, query, now=now)
        with pytest.raises(AccessRefused) as refused:
            first.search(one, query, now=now)
        assert refused.value.reason_code == "rate_limit"


SEARCH_LOOP = """
import datetime as dt, json, subprocess, sys
dep, user, start, limit = sys.argv[1], sys.argv[2], dt.datetime.fromisoformat(sys.argv[3]), 40
child = json.load(open(dep + ".canaries.json"))[0]
for step in range(limit):
    at = (start + dt.timedelta(minutes=2 * step)).isoformat()
    done = subprocess.run([sys.executable, "-m", "sim.cli", "index", "search", dep,
        "--surname", child["surname"], "--dob", child["date_of_birth"], "--user", user,
        "--demo-credentials", dep + ".credentials.json", "--at", at],
        capture_output=True, text=True)
    print(json.dumps({"status": done.returncode, "out": done.stdout, "err": done.stderr}),
          flush=True)
    if done.returncode:
        break
"""


def test_two_search_loops_and_a_switch_off_leave_one_chain_and_no_late_answer(dep, tmp_path):
    """Two processes run `cpw index search` in a loop while a third switches the deployment off:
    every answer printed is in the log, none is logged after the switch-off, both loops are
    refused after it, the chain is one and `audit verify` passes against the witness."""
    script = tmp_path / "loop.py"
    script.write_text(SEARCH_LOOP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPW_")}
    env["PYTHONPATH"] = str(ROOT)
    one, two = practitioners(dep)[:2]
    loops = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(dep),
                user,
                (DAY + dt.timedelta(minutes=m)).isoformat(),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for user, m in ((one, 0), (two, 1))
    ]
    log_path = dep / "audit" / "audit.jsonl"
    for _ in range(600):  # bounded: until each loop has had two answers (or a loop has ended)
        if any(loop.poll() is not None for loop in loops):
            break
        entries = [json.loads(line) for line in log_path.read_text().splitlines()]
        answered = [
            e["actor"] for e in entries if e["action"] == "search" and e["time"] >= DAY.isoformat()
        ]
        if all(answered.count(u) >= 2 for u in (one, two)):
            break
        time.sleep(0.1)
    off = cpw("index", "switch-off", str(dep), "--at", (DAY + dt.timedelta(hours=2)).isoformat())
    assert off.returncode == 0, off.stderr
    results = [
        [json.loads(line) for line in loop.communicate(timeout=300)[0].splitlines()]
        for loop in loops
    ]
    for runs in results:
        assert runs[-1]["status"] != 0 and "cpw: error:" in runs[-1]["err"], runs[-1]
        assert all(r["status"] == 0 for r in runs[:-1])
    log = read_audit(log_path)
    closed_at = log.filter(log["action"] == "service.close")["seq"][0]
    late = log.filter((log["seq"] > closed_at) & (log["outcome"] == "allowed"))
    assert late.is_empty(), late
    answers = sum("match(es)" in r["out"] for runs in results for r in runs)
    searches = log.filter(
        (log["action"] == "search") & (log["outcome"] == "allowed") & (log["time"] >= DAY)
    )
    assert answers == searches.height >= 4, results
    assert witness_ok(dep)


def test_threads_of_one_process_share_a_facade(dep):
    """A web server's threads share one facade: concurrent searches all answered, each audited,
    and the chain verifies (one lock per shared connection, group commit in the audit log)."""
    who = practitioners(dep)[0]
    child = canary(dep)
    query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    moments = iter(DAY + dt.timedelta(seconds=7 * n) for n in range(1, 41))
    lock = threading.Lock()
    answered, failed = [], []
    with ContactPoint.open(dep) as service:
        session = login(service, dep, who, DAY)

        def work() -> None:
            for _ in range(5):
                with lock:
                    now = next(moments)
                try:
                    answered.append(service.search(session, query, now=now).matched)
                except Exception as error:
                    failed.append(repr(error))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failed == [] and len(answered) == 40
    log = read_audit(dep / "audit" / "audit.jsonl")
    mine = log.filter((log["action"] == "search") & (log["actor"] == who) & (log["time"] >= DAY))
    assert mine.height == 40 and witness_ok(dep)


def test_accounts_writers_queue_at_the_write_gate(template, tmp_path):
    """Writers of the accounts database, in every process, queue behind one flock on its
    directory (no sleeping in SQLite's busy handler): while another holder has the gate, a
    search (its session check and usage count write) waits; released, it is answered and
    audited."""
    dep = copy_deployment(template, tmp_path / "dep")
    who = practitioners(dep)[0]
    child = canary(dep)
    query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    gate = dep / "accounts"
    answered: list[int] = []
    with ContactPoint.open(dep) as service:
        session = login(service, dep, who, DAY)
        holder = os.open(gate, os.O_RDONLY)  # its own open file: another writer's hold
        try:
            fcntl.flock(holder, fcntl.LOCK_EX)
            later = DAY + dt.timedelta(minutes=1)
            search = threading.Thread(
                target=lambda: answered.append(service.search(session, query, now=later).matched)
            )
            search.start()
            search.join(0.5)
            waited = search.is_alive() and not answered
            fcntl.flock(holder, fcntl.LOCK_UN)
            search.join(60)
        finally:
            os.close(holder)
    assert waited and answered and answered[0] >= 1
    log = read_audit(dep / "audit" / "audit.jsonl")
    mine = log.filter((log["action"] == "search") & (log["actor"] == who) & (log["time"] >= DAY))
    assert mine["outcome"].to_list() == ["allowed"]


def test_the_facades_searches_forget_the_uses_no_check_reads_again(dep):
    """A search through the facade, like a batch, lets the shared usage table drop the uses of
    days before the previous one: three days on, the first day's uses are gone and the day's
    own use is counted."""
    who = practitioners(dep)[0]
    later = DAY + dt.timedelta(days=3)
    with ContactPoint.open(dep) as service:
        for when in (DAY, later):
            session = login(service, dep, who, when)
            service.search(session, {"surname": "Smith", "date_of_birth": "2005-01-01"}, now=when)
        with service.guard.counters.counting() as usage:
            kept = usage.uses_of([who], dt.datetime.min)
    assert [(user, action, at) for user, action, at, _, _ in kept] == [(who, "search", later)]
