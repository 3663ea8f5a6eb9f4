"""HTTP load: 50 practitioners at once against `cpw serve` on loopback, bounded in time and
count; then a `kill -9` of the server mid-load and a restart.

The acceptance bench runs 60 s (bench/bench_web.py); here a few seconds keep the suite quick.
Every practitioner stays inside the usage limits, so every answer must be an allowed search,
and every answered search must be in the audit trail: after a clean stop, exactly; after a
kill, at least (an entry may be durable for an answer that never reached the client, never the
reverse). The audit trail must verify after the restart.
"""

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from sim.index.audit import read_audit, verify
from sim.web.launch import running_server
from sim.web.load import LoadPlan, LoadReport, enrol_practitioners, run_load
from tests.web.support import AUTHORITY

PRACTITIONERS = 50


def _enrol(deployment, queries):
    last = read_audit(deployment.audit_log)["time"].max()
    return enrol_practitioners(deployment.path, PRACTITIONERS, AUTHORITY, queries, last)


def _logged_searches(deployment) -> dict[str, int]:
    log = read_audit(deployment.audit_log)
    allowed = log.filter(pl.col("action") == "search", pl.col("outcome") == "allowed")
    return dict(allowed.group_by("actor").len().rows())


def test_fifty_practitioners_get_answers_and_every_answer_is_audited(deployment, queries, tmp_path):
    practitioners = _enrol(deployment, queries)
    with running_server(deployment.path, tmp_path / "server.log") as server:
        plan = LoadPlan(server.url, practitioners, concurrency=50, seconds=3, max_requests=2000)
        report = asyncio.run(run_load(plan))
    assert report.errors == []
    assert sum(report.refused.values()) == 0
    assert set(report.answered) == {p.username for p in practitioners}
    logged = _logged_searches(deployment)
    assert {name: logged.get(name, 0) for name in report.answered} == dict(report.answered)
    assert verify(deployment.audit_log, deployment.public_key).ok


def test_kill_9_mid_load_loses_no_answered_request(deployment, queries, tmp_path):
    practitioners = _enrol(deployment, queries)
    report = LoadReport()
    with running_server(deployment.path, tmp_path / "server.log", workers=2) as server:
        plan = LoadPlan(server.url, practitioners, concurrency=50, seconds=30, max_requests=5000)
        load = threading.Thread(target=lambda: asyncio.run(run_load(plan, report)))
        load.start()
        deadline = time.monotonic() + 60
        while report.total < 150 and load.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert report.searching and report.total >= 150, "the load never got going"
        server.kill()
        load.join(timeout=60)
    answered = dict(report.answered)
    with running_server(deployment.path, tmp_path / "restart.log"):
        pass  # the service reopens its stores after the crash and serves again
    outcome = verify(deployment.audit_log, deployment.public_key)
    assert outcome.ok, outcome.summary()
    logged = _logged_searches(deployment)
    missing = {
        name: n - logged.get(name, 0) for name, n in answered.items() if logged.get(name, 0) < n
    }
    assert missing == {}, f"answered but not in the audit trail: {sum(missing.values())} searches"


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, dead but not yet reaped, is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_9_of_a_server_with_worker_processes_ends_them_all(deployment, tmp_path):
    """With `--workers 2` the application runs in child processes of `cpw serve`: a `kill -9`
    of `cpw serve` ends them too, so no orphan goes on answering on the port."""
    with running_server(deployment.path, tmp_path / "server.log", workers=2) as server:
        workers = [pid for pid in _children(server.process.pid)
                   if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]  # fmt: skip
        assert len(workers) == 2
        assert httpx.get(server.url + "login", timeout=10).status_code == 200
        server.kill()
        try:
            deadline = time.monotonic() + 30
            while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(_running(pid) for pid in workers)
            # nothing answers: the port refuses (a connection the kernel accepted while the
            # last holder of the socket was exiting is reset, never answered), within a bound
            deadline = time.monotonic() + 30
            while True:
                with pytest.raises(httpx.TransportError) as failed:
                    httpx.get(server.url + "login", timeout=5)
                if isinstance(failed.value, httpx.ConnectError) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert isinstance(failed.value, httpx.ConnectError)
        finally:  # an orphan left by a failure is not left serving after the test
            for pid in filter(_running, workers):
                os.kill(pid, signal.SIGKILL)


def test_two_workers_with_eight_facade_threads_each_answer_without_an_error(
    deployment, queries, tmp_path
):
    """Two worker processes, each calling the facade from eight threads, share accounts.db and
    the audit log: logins and searches of 50 concurrent clients never meet "database is
    locked" (or any other error), and every answer is in the audit trail."""
    practitioners = enrol_practitioners(
        deployment.path, 300, AUTHORITY, queries, read_audit(deployment.audit_log)["time"].max()
    )
    with running_server(
        deployment.path, tmp_path / "server.log", workers=2, facade_threads=8, clock_rate=10.0
    ) as server:
        plan = LoadPlan(server.url, practitioners, concurrency=50, seconds=8,
                        max_requests=4000, clock_rate=10.0)  # fmt: skip
        report = asyncio.run(run_load(plan))
    assert report.errors == [], report.errors[:3]
    assert "database is locked" not in (tmp_path / "server.log").read_text()
    assert report.total > 0 and sum(report.refused.values()) == 0
    logged = _logged_searches(deployment)
    assert {name: logged.get(name, 0) for name in report.answered} == dict(report.answered)
    assert verify(deployment.audit_log, deployment.public_key).ok


def test_a_paced_load_offers_its_rate_and_times_each_search_from_when_it_was_due(
    deployment, queries, tmp_path
):
    """Paced (LoadPlan.rate), the clients send no more than the offered rate however fast the
    server answers (a closed loop answers many times more in the same time), each answer is an
    audited search, and each latency is counted from when its search was due."""
    practitioners = _enrol(deployment, queries)
    rate, seconds = 20.0, 3.0
    with running_server(deployment.path, tmp_path / "server.log") as server:
        plan = LoadPlan(server.url, practitioners, concurrency=10, seconds=seconds,
                        max_requests=2000, rate=rate)  # fmt: skip
        report = asyncio.run(run_load(plan))
    assert report.errors == [] and sum(report.refused.values()) == 0
    assert 0 < report.total <= rate * seconds + plan.concurrency
    assert len(report.latencies) == report.total and min(report.latencies) > 0
    logged = _logged_searches(deployment)
    assert {name: logged.get(name, 0) for name in report.answered} == dict(report.answered)
