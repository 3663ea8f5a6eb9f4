"""Benchmark the index's data core against plain SQLite on the same rows, in the same run.

    .venv/bin/python bench/bench_index.py --scale 0.1      # England = 1.0 (~11 M children)

Prints build time, search p50/p99 and view p50 over random queries, and beside them a plain
indexed SQLite lookup and a plain bulk insert of the same children, so the cost of the
safeguards (normalised tables, phonetic keys, shielding checks, scoring) is visible. The
figures exclude login, access checks and the audit write, which the facade adds.
"""

import argparse
import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from sim.index.build import build_index
from sim.index.search import SearchQuery, search
from sim.index.store import SqliteStore
from sim.index.view import view_reasons, view_record
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities
from sim.streams import stream


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    micro = np.array(seconds) * 1e6
    return float(np.percentile(micro, 50)), float(np.percentile(micro, 99))


def _typo(rng: np.random.Generator, name: str) -> str:
    """Swap two adjacent letters, as a practitioner's keying error would."""
    if len(name) < 3:
        return name
    i = int(rng.integers(1, len(name) - 1))
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def _queries(sample: pl.DataFrame, rng: np.random.Generator) -> list[SearchQuery]:
    """A mix: exact name + date of birth, fuzzy with a typo, forename + date, name + postcode."""
    queries = []
    for n, row in enumerate(sample.iter_rows(named=True)):
        kind = n % 4
        if kind == 0:
            q = SearchQuery(surname=row["surname"], date_of_birth=row["date_of_birth"])
        elif kind == 1:
            q = SearchQuery(
                forename=row["forename"],
                surname=_typo(rng, row["surname"]),
                date_of_birth=row["date_of_birth"],
                mode="fuzzy",
            )
        elif kind == 2:
            q = SearchQuery(
                forename=row["forename"], date_of_birth=row["date_of_birth"], gender=row["gender"]
            )
        else:
            q = SearchQuery(surname=row["surname"], postcode=row["postcode"])
        queries.append(q)
    return queries


def _plain_baseline(children: pl.DataFrame, sample: pl.DataFrame, path: Path) -> dict[str, float]:
    """One flat table: bulk insert, one index, then the same surname + DOB lookups."""
    rows = children.select(
        "child_id", "forename", "surname", pl.col("date_of_birth").dt.to_string("%Y-%m-%d")
    )
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("CREATE TABLE child (child_id TEXT, forename TEXT, surname TEXT, dob TEXT)")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO child VALUES (?, ?, ?, ?)", rows.iter_rows())
    db.execute("COMMIT")
    inserted = time.perf_counter()
    db.execute("CREATE INDEX child_by_surname_dob ON child (surname, dob)")
    indexed = time.perf_counter()
    timings = []
    for surname, born in sample.select("surname", "date_of_birth").iter_rows():
        t = time.perf_counter()
        db.execute(
            "SELECT child_id, forename, surname, dob FROM child WHERE surname = ? AND dob = ?",
            (surname, born.isoformat()),
        ).fetchall()
        timings.append(time.perf_counter() - t)
    db.close()
    p50, p99 = _percentiles(timings)
    return {"insert": inserted - started, "index": indexed - inserted, "p50": p50, "p99": p99}


def run(scale: float, queries: int, seed: int, workers: int) -> None:
    codes = tuple(a.code for a in load_authorities())
    started = time.perf_counter()
    tables = synthesise(SynthRequest(seed=seed, scale=scale, authority_codes=codes), workers)
    synth_seconds = time.perf_counter() - started
    children = tables["children"]
    rng = stream(seed, "index", 0)
    picks = rng.choice(children.height, size=min(queries, children.height), replace=False)
    sample = (
        children[np.sort(picks)]
        .join(tables["households"].select("household_id", "postcode"), on="household_id")
        .sample(fraction=1.0, shuffle=True, seed=seed)
    )
    with tempfile.TemporaryDirectory(prefix="cpw-bench-") as tmp:
        stats = build_index(tables, Path(tmp) / "index.db")
        store = SqliteStore.open(Path(tmp) / "index.db")
        search_times, found = [], 0
        for query, child_id in zip(_queries(sample, rng), sample["child_id"], strict=True):
            t = time.perf_counter()
            result = search(store, query)
            search_times.append(time.perf_counter() - t)
            found += any(hit.child_id == child_id for hit in result.hits)
        reason = view_reasons()[0]
        view_times = []
        for child_id in sample["child_id"]:
            t = time.perf_counter()
            view_record(store, child_id, reason)
            view_times.append(time.perf_counter() - t)
        store.close()
        plain = _plain_baseline(children, sample, Path(tmp) / "plain.db")
    s50, s99 = _percentiles(search_times)
    v50, v99 = _percentiles(view_times)
    print(f"ContactPoint index benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"scale {scale}: {stats.children:,} children, {sum(stats.rows.values()):,} rows")
    print(f"synthesis (not part of build)   {synth_seconds:8.1f} s")
    print(f"index build                     {stats.seconds:8.1f} s")
    print(f"plain bulk insert + index       {plain['insert']:8.1f} s + {plain['index']:.1f} s")
    ratio = stats.seconds / (plain["insert"] + plain["index"])
    print(f"  build / plain                 {ratio:8.1f} x")
    print(f"search ({len(search_times)} queries)  p50 {s50:8.0f} us   p99 {s99:8.0f} us")
    print(f"  target child in results       {found / len(search_times):8.1%}")
    print(f"view   ({len(view_times)} records)  p50 {v50:8.0f} us   p99 {v99:8.0f} us")
    print(f"plain indexed lookup     p50 {plain['p50']:8.0f} us   p99 {plain['p99']:8.0f} us")
    print(
        f"  search / plain (p50, p99)     {s50 / plain['p50']:8.1f} x {s99 / plain['p99']:8.1f} x"
    )
    print(f"  view / plain (p50)            {v50 / plain['p50']:8.1f} x")
    print("(excludes login, access check and audit write, which the facade adds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of England (1.0 = all)")
    parser.add_argument("--queries", type=int, default=2000, help="random searches and views")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes for synthesis")
    args = parser.parse_args()
    run(args.scale, args.queries, args.seed, args.workers)


if __name__ == "__main__":
    main()
