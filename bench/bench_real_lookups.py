"""Audited lookups through the real index against a plain SQLite lookup, in the same run.

    .venv/bin/python bench/bench_real_lookups.py --population runs/two --deployment runs/dep
    .venv/bin/python bench/bench_real_lookups.py --authorities Bolton,Bury --scale 0.1

Takes a deployment (`cpw deploy`, with --from-feeds or without; or makes one in a scratch
directory from `--authorities` at `--scale`), opens a working copy with accounts as a run opens
them (sim.regimes.accounts: live users by authority), and looks up `--lookups` children of the
population, each by forename, surname and date of birth as a practitioner types them:

- facade: one search and one view per lookup through sim.index.service.ContactPoint (login per
  session, usage guard, an audit entry per search and per view, each written ahead);
- batched: sim.index.batch_lookup (one access check and one audit entry per lookup, one audit
  write and sync per batch of `--batch` lookups);
- plain SQLite: the same exact-name query on the index with no access check and no audit.

The working copy is a run's: its index, accounts database and audit log written without
fdatasync (they are thrown away), so the figures are those a run meets.

Prints lookups per second of each and the ratios (aim: >= 20,000 audited lookups/s); for the
batched path and plain SQLite also the rate by this process's CPU time, which other work on a
shared machine disturbs less than the clock.
No timed assertion anywhere: figures only.
"""

import argparse
import datetime as dt
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim.deployment.deploy import deploy
from sim.deployment.fed import read_truth
from sim.index.access import token_code
from sim.index.access.rules import load_access_rules
from sim.index.batch_lookup import BatchLookup, NameQuery
from sim.index.service import ContactPoint
from sim.index.store.keys import normalise_name
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest
from sim.reference import load_authorities
from sim.regimes.accounts import accounts_per_authority
from sim.regimes.deployment import provision_practitioners, working_copy
from sim.regimes.fed_index import IndexTruth
from sim.regimes.lookup import FacadeLookup, Identities, LookupRequests
from sim.regimes.parameters import regime_params

AIM = 20_000
PER_DAY = 90  # lookups an account makes a day in the bench (views_per_day is 100)
REASON = "to find out who else is working with the child"


def _codes(names: str) -> tuple[str, ...]:
    wanted = {n.strip().lower() for n in names.split(",")}
    return tuple(a.code for a in load_authorities() if {a.name.lower(), a.code.lower()} & wanted)


def _sample(children: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    rows = np.random.default_rng(seed).choice(children.height, size=n, replace=True)
    return children[rows].select("child_id", "authority_code", "forename", "surname",
                                 "date_of_birth")  # fmt: skip


def plain_sqlite(db: Path, picked: pl.DataFrame) -> tuple[float, float, int]:
    """The exact-name lookups straight on the index: seconds, CPU seconds, and how many found
    a record."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sql = (
        "SELECT c.child_id FROM name n JOIN child c ON c.child_key = n.child_key "
        "WHERE n.surname_norm = ? AND n.forename_norm = ? AND n.date_of_birth = ? "
        "AND c.archived_on IS NULL"
    )
    found = 0
    started, cpu = time.perf_counter(), time.process_time()
    for _, _, forename, surname, born in picked.iter_rows():
        args = (normalise_name(surname), normalise_name(forename), born.isoformat())
        found += con.execute(sql, args).fetchone() is not None
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    con.close()
    return seconds, cpu, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=Path, help="a `cpw synth` directory")
    parser.add_argument("--deployment", type=Path, help="its `cpw deploy` output")
    parser.add_argument("--authorities", default="Bolton,Bury", help="without --deployment")
    parser.add_argument("--scale", type=float, default=0.1, help="without --deployment")
    parser.add_argument("--from-feeds", action="store_true", help="without --deployment")
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--facade-lookups", type=int, default=1000, help="the slow path's share")
    parser.add_argument("--batch", type=int, default=5000, help="lookups per batched call")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if (args.deployment is None) != (args.population is None):
        parser.error("--deployment and --population go together")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        pop, dep = args.population, args.deployment
        if dep is None:
            pop, dep = root / "pop", root / "dep"
            codes = _codes(args.authorities)
            write_population(SynthRequest(seed=args.seed, scale=args.scale, authority_codes=codes),
                             pop)  # fmt: skip
            made = deploy(pop, dep, profile="simulation", from_feeds=args.from_feeds)
            print(f"deployed {made.children:,} records in {made.seconds:.1f} s")
        children = read_population(pop, ("children",))["children"].collect()
        copy = working_copy(dep, root / "copy")
        service = ContactPoint.open(copy, profile="simulation")
        service.store.scratch()  # as a run's working copy (sim.regimes.live)
        service.access.stores.accounts.scratch()
        service.audit.without_sync()
        opened = dt.datetime(2010, 3, 1, 7)
        held = dict(children.group_by("authority_code").len().iter_rows())
        accounts = accounts_per_authority(held, regime_params())
        staff = provision_practitioners(service, accounts, opened)
        truth = read_truth(dep)
        fed = IndexTruth(truth) if truth is not None else None
        print(f"{children.height:,} children, {sum(accounts.values()):,} accounts "
              f"({'fed' if fed else 'truth-built'} index)")  # fmt: skip
        picked = _sample(children, args.lookups, args.seed)
        try:
            facade_rate = _facade(service, staff, children, picked, fed, args.facade_lookups)
            batch_rate, batch_cpu_rate = _batched(service, staff, picked, fed, args.batch)
        finally:
            service.close()
        seconds, cpu, found = plain_sqlite(copy / "index" / "index.db", picked)
        plain_rate, plain_cpu_rate = len(picked) / seconds, len(picked) / cpu
        shutil.rmtree(copy, ignore_errors=True)
    print(f"plain SQLite: {plain_rate:,.0f} lookups/s ({found:,} of {len(picked):,} found; "
          f"{plain_cpu_rate:,.0f}/s by CPU time)")  # fmt: skip
    print(f"facade / plain: {facade_rate / plain_rate:.3f}; batched / plain: "
          f"{batch_rate / plain_rate:.3f}; batched audited lookups/s against the aim of "
          f"{AIM:,}: {'met' if batch_rate >= AIM else 'NOT MET'} on this machine")  # fmt: skip
    print(f"by CPU time: batched / plain: {batch_cpu_rate / plain_cpu_rate:.3f}; batched "
          f"{batch_cpu_rate:,.0f}/s: {'met' if batch_cpu_rate >= AIM else 'NOT MET'}")  # fmt: skip


def _facade(service, staff, children, picked, fed, n: int) -> float:
    lookup = FacadeLookup(service, staff, Identities(children), truth=fed.of if fed else None)
    part = picked.head(n)
    start = dt.datetime(2010, 3, 1, 9)
    at = [start + dt.timedelta(seconds=3 * i) for i in range(part.height)]
    requests = LookupRequests(part["child_id"].to_list(), part["authority_code"].to_list(), at,
                              np.ones(part.height), np.zeros(part.height, bool))  # fmt: skip
    started = time.perf_counter()
    answers = lookup.lookup(requests)
    seconds = time.perf_counter() - started
    rate = part.height / seconds
    print(f"facade: {rate:,.0f} audited lookups/s ({int(answers.found.sum()):,} of "
          f"{part.height:,} found, {int(answers.refused.sum()):,} refused)")  # fmt: skip
    return rate


def _batched(service, staff, picked, fed, batch: int) -> tuple[float, float]:
    """The lookups spread over every account as the usage rules allow a practitioner (at most
    PER_DAY a day, one a minute, working hours), a day's lookups of all accounts per batch (or
    `batch`, whichever is smaller); each account logs in once a day."""
    batcher = BatchLookup(service, reason=REASON)
    rules = load_access_rules()
    accounts = [who for code in sorted(staff) for who in staff[code]]
    by_code = {code: [who for who in staff[code]] for code in staff}
    plan = []  # (day, at, account, row)
    used: dict[str, int] = {}
    for row, code in enumerate(picked["authority_code"]):
        mine = by_code.get(code) or accounts
        who = mine[row % len(mine)]
        n = used.get(who.username, 0)
        used[who.username] = n + 1
        day, slot = divmod(n, PER_DAY)
        at = dt.datetime(2010, 3, 2, 9) + dt.timedelta(days=day, seconds=61 * slot)
        plan.append((at, who, row))
    plan.sort(key=lambda p: (p[0], p[1].username))
    ids, typed = (
        picked["child_id"].to_list(),
        list(picked.select("forename", "surname", "date_of_birth").iter_rows()),
    )
    sessions: dict[tuple[str, dt.date], str] = {}
    found = refused = 0
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(plan), batch):
        queries, wanted = [], []
        for at, who, row in plan[first : first + batch]:
            key = (who.username, at.date())
            if key not in sessions:
                code = token_code(who.token_secret, at, rules)
                sessions[key] = service.login(who.username, who.password, who.pin, code,
                                              network=who.network, now=at)  # fmt: skip
            queries.append(NameQuery(sessions[key], *typed[row], at))
            wanted.append(ids[row])

        def choose(i, hits, wanted=wanted):
            return next((h for h in hits if (fed.of(h) if fed else h) == wanted[i]), None)

        answers = batcher.lookup(queries, choose=choose)
        found += sum(a.opened is not None for a in answers)
        refused += sum(a.refused is not None for a in answers)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rate, cpu_rate = picked.height / seconds, picked.height / cpu
    print(f"batched: {rate:,.0f} audited lookups/s ({found:,} of {picked.height:,} found, "
          f"{refused:,} refused; logins included; {cpu_rate:,.0f}/s by CPU time)")  # fmt: skip
    return rate, cpu_rate


if __name__ == "__main__":
    main()
