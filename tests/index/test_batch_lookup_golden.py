"""Batched lookups answer and audit exactly as they did before they were made fast: a golden
file of the answers and the audit trail of one mixed batch (several sessions, the per-minute
view limit, the distinct-surname limit, an idle-expired session, a revoked account, an unknown
session, a miss, a record not opened), recorded from the one-lookup-at-a-time implementation.

Regenerate (only for a deliberate change of behaviour): CPW_REGENERATE_GOLDEN=1 pytest this file.
"""

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest

from sim.deployment.deploy import deploy
from sim.index.access import token_code
from sim.index.audit import read_audit
from sim.index.batch_lookup import BatchLookup, NameQuery
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from tests.index.support import copy_deployment

BOLTON = "E08000001"
REASON = "to find out who else is working with the child"
DAY = dt.datetime(2010, 1, 5, 9, 0)
GOLDEN = Path(__file__).parent / "golden" / "batch_lookup.json"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch-golden")
    write_population(SynthRequest(seed=3, scale=0.02, authority_codes=(BOLTON,)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=2, profile="simulation")
    return root


def _login(service, made, user: str, when: dt.datetime) -> str:
    held = json.loads((made / "dep.credentials.json").read_text())["users"][user]
    code = token_code(held["token_secret"], when, service.access.rules)
    return service.login(user, held["password"], held["pin"], code, network=held["network"],
                         now=when)  # fmt: skip


def _mixed_batch(service, made) -> tuple[list[NameQuery], set[int]]:
    """Queries in time order, and the indices whose record the practitioner does not open."""
    users = [f"practitioner{n}-{la}" for la in ("e08000001", "e06000001") for n in (1, 2)]
    fast, wide, idle, revoked = (_login(service, made, u, DAY) for u in users)
    service.access.revoke(users[3], by=None, now=DAY + dt.timedelta(seconds=30))
    children = pl.read_parquet(made / "pop" / "children").sort("child_id")
    typed = list(children.select("forename", "surname", "date_of_birth").iter_rows())
    by_surname = {}
    for row in typed:
        by_surname.setdefault(row[1], row)
    distinct = list(by_surname.values())
    timed: list[tuple[dt.datetime, str, tuple]] = []
    start = DAY + dt.timedelta(minutes=1)
    for n in range(9):  # views every 5 s: the seventh in a minute is refused, with one alert
        timed.append((start + dt.timedelta(seconds=5 * n), fast, typed[n]))
    for n in range(18):  # a new surname every 35 s: the sixteenth in ten minutes is refused
        timed.append((start + dt.timedelta(seconds=35 * n + 1), wide, distinct[n]))
    for minutes in (2, 40, 41):  # idle for 38 minutes: expired at the second, ended after
        timed.append((DAY + dt.timedelta(minutes=minutes, seconds=2), idle, typed[20 + minutes]))
    timed.append((start + dt.timedelta(seconds=3), revoked, typed[30]))
    timed.append((start + dt.timedelta(seconds=4), "no-such-session", typed[31]))
    nobody = ("Nobody", "Nowhere", dt.date(2005, 5, 5))
    timed.append((start + dt.timedelta(seconds=6), fast, nobody))
    timed.sort(key=lambda t: t[0])
    queries = [NameQuery(session, *row, at) for at, session, row in timed]
    not_opened = {i for i, q in enumerate(queries) if q.session_id == wide and i % 3 == 0}
    return queries, not_opened


def _run(made, tmp_path) -> dict:
    copy = copy_deployment(made / "dep", tmp_path / "dep")
    with ContactPoint.open(copy, profile="simulation") as service:
        queries, not_opened = _mixed_batch(service, made)
        before = read_audit(service.audit.path).height

        def choose(i, hits):
            return None if i in not_opened else (hits[-1] if hits else None)

        answers = BatchLookup(service, REASON).lookup(queries, choose=choose)
        trail = read_audit(service.audit.path).slice(before)
    columns = ["time", "actor", "action", "outcome", "child_id", "reason", "detail"]
    entries = [
        {**row, "time": row["time"].isoformat(), "detail": json.loads(row["detail"])}
        for row in trail.select(columns).iter_rows(named=True)
    ]
    return {
        "answers": [[list(a.hits), a.opened, a.shielded, a.services, a.refused] for a in answers],
        "audit": entries,
    }


def test_a_mixed_batch_answers_and_audits_as_the_golden_file(made, tmp_path):
    got = _run(made, tmp_path)
    if os.environ.get("CPW_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert got["answers"] == expected["answers"]
    assert got["audit"] == expected["audit"]
