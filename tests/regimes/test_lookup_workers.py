"""Every child's lookups answered by worker processes (sim.regimes.lookup_workers): the same
answers, logs and audit entries for any number of workers, and a dead worker ends the run."""

import datetime as dt
import json
import multiprocessing
import os
import pickle
import re
import signal
import sqlite3
import time

import numpy as np
import polars as pl
import pytest

from sim.errors import InputError, WorkbenchError
from sim.index.audit.reader import read_audit
from sim.index.layout import Layout
from sim.regimes import Identities, path_params
from sim.regimes.inside import LiveRun
from sim.regimes.live import DeploymentIndex
from sim.regimes.lookup_desk import Ask, pack_asks, unpack_asks
from sim.regimes.lookup_workers import partition

DAYS = (dt.date(2010, 3, 1), dt.date(2010, 3, 2), dt.date(2010, 3, 3))


def _open(live_deployment, workdir, workers: int) -> DeploymentIndex:
    deployment, tables = live_deployment
    children = tables["children"]
    return DeploymentIndex(
        deployment, workdir, children, Identities(children), seed=3, replication=0,
        start=DAYS[0], switch_off=None, lookup_workers=workers,
    )  # fmt: skip


def _days(children: pl.DataFrame) -> list[tuple[list[str], list[str], list[dt.datetime]]]:
    """Three days' lookups of children met anywhere in the run's authorities, a few by an ID
    no one holds (known only by ID), at random minutes; some children looked up twice."""
    rng = np.random.default_rng(11)
    ids, codes = children["child_id"].to_list(), sorted(set(children["authority_code"]))
    days = []
    for day in DAYS:
        rows = rng.integers(0, len(ids), 400)
        asked = [ids[r] for r in rows] + ["X99999999", "X99999998"]
        where = [codes[k] for k in rng.integers(0, len(codes), len(asked))]
        midnight = dt.datetime.combine(day, dt.time())
        at = [midnight + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 1440, len(asked))]
        days.append((asked, where, at))
    return days


def _run(live_deployment, workdir, workers: int):
    """Three days of lookups: the answers, the usage figures and the audit log (verified by
    `cpw index audit verify`)."""
    index = _open(live_deployment, workdir, workers)
    try:
        shown = [index.population_lookup(*day) for day in _days(live_deployment[1]["children"])]
        usage = index.usage()
        assert usage["population_lookup_processes"] == (workers if workers > 1 else 0)
        audit = read_audit(Layout(index.root).audit)
        return shown, usage, audit, index.root
    finally:
        index.close()


@pytest.fixture(scope="module")
def one_and_two(live_deployment, tmp_path_factory):
    root = tmp_path_factory.mktemp("workers")
    return _run(live_deployment, root / "one", 1), _run(live_deployment, root / "two", 2)


def test_two_workers_answer_as_one_process_does(one_and_two):
    """The same lookups give the same answers and counts with the lookups in this process and
    in two workers, and some lookups showed a record."""
    (shown_1, usage_1, _, _), (shown_2, usage_2, _, _) = one_and_two
    assert all((a == b).all() for a, b in zip(shown_1, shown_2, strict=True))
    assert any(day.any() for day in shown_1)
    counts = ("population_lookups", "population_logins", "population_refused", "refused")
    assert {k: usage_1[k] for k in counts} == {k: usage_2[k] for k in counts}
    assert usage_1["population_lookups"] == sum(len(day) for day in shown_1)


def test_every_lookup_and_login_is_in_a_verified_audit_log(one_and_two, cpw):
    """Each run's audit log verifies, and holds one entry per lookup (its search, or its view
    of the record opened) and one per login; with two workers each account's entries are those
    of one process, in the same order (only different accounts' entries interleave otherwise)."""
    entries = []
    for _, usage, audit, root in one_and_two:
        public = next(
            line.split('"')[1]
            for line in (root / "inventory.toml").read_text().splitlines()
            if line.startswith("audit_public")
        )
        log = Layout(root).audit
        verified = cpw("index", "audit", "verify", str(log), "--public-key", public,
                       "--witness", str(Layout(root).beside("audit-witness")))  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        ran = audit.filter(pl.col("actor").str.starts_with("simulated"))
        assert usage["population_refused"] == 0  # so every lookup has its entry
        looked = ran.filter(pl.col("action").is_in(["search", "view"]))  # a view if one opened
        assert looked.height == usage["population_lookups"]
        assert ran.filter(pl.col("action") == "login").height == usage["population_logins"]
        # each account's entries in the order written: the day's logins (made first, in one
        # call), then its lookups, each kind in time order
        columns = ["actor", "time", "action", "outcome", "child_id", "reason"]
        mine = ran.select(columns).with_columns(
            login=pl.col("action") == "login", day=pl.col("time").dt.date()
        )
        written = mine.sort("actor", maintain_order=True)
        ordered = ("actor", "day", "login", "time")
        assert written.equals(
            mine.sort(ordered, descending=[False, False, True, False], maintain_order=True)
        )
        entries.append(written)
    assert entries[0].height > 0
    assert entries[0].equals(entries[1])


def test_a_days_lookups_read_the_index_as_it_stood_when_asked(
    live_deployment, tmp_path, one_and_two
):
    """Once the workers hold their snapshot (`pinned`), another writer may change the index
    (the run applies the next day's feeds) without changing the answers still being made; the
    next lookups see the change. Here every name's date of birth is rewritten, so no lookup by name
    can match once the change is seen. The accounts database is held meanwhile, so the workers'
    logins, and the reads after them, wait until the change is committed."""
    (shown_1, _, _, _), _ = one_and_two
    day = _days(live_deployment[1]["children"])[0]
    index = _open(live_deployment, tmp_path, 2)
    layout = Layout(index.root)
    try:
        accounts = sqlite3.connect(layout.accounts, isolation_level=None)
        accounts.execute("BEGIN IMMEDIATE")  # the workers' logins wait for this
        asked = index.population_ask(*day)
        index.population.pinned()
        with sqlite3.connect(layout.index, timeout=30) as other:
            other.execute("UPDATE name SET date_of_birth = '1900-01-01'")
        accounts.execute("ROLLBACK")
        accounts.close()
        assert (asked.result() == shown_1[0]).all()
        assert shown_1[0].any()
        later = [moment + dt.timedelta(days=1) for moment in day[2]]
        assert not index.population_lookup(day[0], day[1], later).any()
    finally:
        index.close()


def test_the_partition_balances_the_expected_lookups():
    """Heaviest first, each to the lightest group: fixed for a given input."""
    weights = {"A": 10, "B": 6, "C": 5, "D": 4, "E": 1}
    assert partition(weights, 2) == [["A", "D"], ["B", "C", "E"]]  # 14 and 12
    assert partition(weights, 9) == [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert partition(weights, 1) == [["A", "B", "C", "D", "E"]]


def test_a_days_asks_cross_the_pipe_as_they_were():
    """Packed for a worker (times to the microsecond, before and after the origin, lookups by
    name and by ID), pickled, unpacked: the same asks."""
    asks = [
        Ask("AB1234567", "E08000001", dt.datetime(2010, 3, 1, 23, 59, 59, 999_999),
            ("Zoë", "O'Brien", dt.date(2009, 2, 28)), ("AB1234567", "FD0000001")),
        Ask("AB7654321", "E08000002", dt.datetime(1999, 12, 31, 0, 1), None, ("AB7654321",)),
        Ask("AB0000003", "E08000001", dt.datetime(2010, 3, 1), ("", "Smith", dt.date(1, 1, 1)),
            ()),
    ]  # fmt: skip
    assert unpack_asks(pickle.loads(pickle.dumps(pack_asks(asks)))) == asks
    assert unpack_asks(pack_asks([])) == []


def test_a_dead_worker_ends_the_run_with_a_one_line_error(live_deployment, tmp_path):
    """A worker killed mid-run: the next day's lookups raise an error naming it (no wait for
    an answer that will not come), and no worker is left running."""
    index = _open(live_deployment, tmp_path / "live", 2)
    try:
        day = _days(live_deployment[1]["children"])[0]
        workers = [p for p in multiprocessing.active_children() if p.name.startswith("lookup")]
        assert len(workers) == 2
        os.kill(workers[0].pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(WorkbenchError, match=r"^lookup worker \d .* died \(exit code -9\)$"):
            index.population_lookup(*day)
        assert time.monotonic() - started < 30
        assert not [p for p in multiprocessing.active_children() if p.name.startswith("lookup")]
    finally:
        index.close()


def test_workers_stop_when_the_run_ends(live_deployment, tmp_path):
    """Closing the index stops its workers, each having exited cleanly."""
    index = _open(live_deployment, tmp_path / "live", 2)
    workers = [p for p in multiprocessing.active_children() if p.name.startswith("lookup")]
    index.population_lookup(*_days(live_deployment[1]["children"])[0])
    index.close()
    assert len(workers) == 2 and [p.exitcode for p in workers] == [0, 0]
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("lookup")]


def test_a_run_needs_at_least_one_lookup_worker(live_deployment, tmp_path):
    deployment, tables = live_deployment
    with pytest.raises(InputError, match="lookup_workers: must be at least 1, got 0"):
        LiveRun(deployment, tables, tmp_path, seed=1, replication=0, start=DAYS[0],
                lookup_workers=0)  # fmt: skip


def test_a_run_writes_the_same_logs_with_one_or_two_workers(live_deployment, tmp_path, real_run):
    """Every child's lookups through the real index, in this process or in two workers: the
    same world and regime logs, lookups, population use and usage counts."""
    deployment, tables = live_deployment
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        real_run(tables, deployment, out, path_params(), population_through_index=True,
                 lookup_workers=workers)  # fmt: skip
        outs[workers] = out
    for name in ("events.parquet", "regime_log.parquet", "lookups.parquet",
                 "population_use.parquet"):  # fmt: skip
        assert pl.read_parquet(outs[1] / name).equals(pl.read_parquet(outs[2] / name)), name
    usages = [
        json.loads((outs[w] / "manifest.json").read_text())["index"]["arms"]["contactpoint_kept"][
            "usage"
        ]
        for w in (1, 2)
    ]
    counts = ("population_lookups", "population_logins", "population_refused", "refused", "alerts")
    assert {k: usages[0][k] for k in counts} == {k: usages[1][k] for k in counts}
    assert usages[0]["population_lookups"] > 0
    assert (usages[0]["population_lookup_processes"], usages[1]["population_lookup_processes"]) == (
        0,
        2,
    )


def test_a_workers_next_day_waits_in_its_pipe_while_it_answers(
    live_deployment, tmp_path, real_run, monkeypatch
):
    """The run sends a day's population lookups, and makes the day's case lookups, without
    waiting for the day before to be answered: a worker takes the next day up the moment it is
    done. At most two days are out at once (a day's feeds wait until each worker reads the
    day before from its snapshot), and none when the run ends."""
    deployment, tables = live_deployment
    out_at_send: list[int] = []
    out_at_case: list[int] = []
    send, lookup = DeploymentIndex.population_send, DeploymentIndex.lookup
    indexes: list[DeploymentIndex] = []

    def watched_send(self, asks):
        out_at_send.append(len(self._answering))
        indexes.append(self)
        return send(self, asks)

    def watched_lookup(self, requests):
        out_at_case.append(len(self._answering))
        return lookup(self, requests)

    monkeypatch.setattr(DeploymentIndex, "population_send", watched_send)
    monkeypatch.setattr(DeploymentIndex, "lookup", watched_lookup)
    real_run(tables, deployment, tmp_path / "run", path_params(), population_through_index=True,
             lookup_workers=2)  # fmt: skip
    assert any(out_at_send) and any(out_at_case)
    assert max(out_at_send) <= 2 and max(out_at_case) <= 2
    assert not indexes[-1]._answering


def test_a_days_lookups_are_made_ready_while_the_workers_answer_the_day_before(
    live_deployment, tmp_path, real_run, monkeypatch
):
    """The run makes a day's population lookups (what is typed, by group, in time order)
    while the workers still answer the day before, and sends them only after the day's case
    lookups: the workers' wait between batches is the case lookups alone."""
    deployment, tables = live_deployment
    made_while_out: list[bool] = []
    calls: list[str] = []
    prepare, send, lookup = (
        DeploymentIndex.population_prepare,
        DeploymentIndex.population_send,
        DeploymentIndex.lookup,
    )

    def watched_prepare(self, *asked):
        made_while_out.append(bool(self._answering))
        calls.append("prepare")
        return prepare(self, *asked)

    def watched_send(self, asks):
        calls.append("send")
        return send(self, asks)

    def watched_lookup(self, requests):
        calls.append("case")
        return lookup(self, requests)

    monkeypatch.setattr(DeploymentIndex, "population_prepare", watched_prepare)
    monkeypatch.setattr(DeploymentIndex, "population_send", watched_send)
    monkeypatch.setattr(DeploymentIndex, "lookup", watched_lookup)
    real_run(tables, deployment, tmp_path / "run", path_params(), population_through_index=True,
             lookup_workers=2)  # fmt: skip
    assert any(made_while_out)
    # every send follows its own prepare, with the day's case lookups (if any) in between
    days = "".join({"prepare": "p", "send": "s", "case": "c"}[call] for call in calls)
    assert days.replace("c", "") == "ps" * (len(days.replace("c", "")) // 2)
    assert re.search("pc+s", days)
