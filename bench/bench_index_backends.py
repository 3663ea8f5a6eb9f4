"""Benchmark the index on PostgreSQL beside SQLite: the same rows and queries, in the same run.

    .venv/bin/python bench/bench_index_backends.py --scale 0.01   # quick
    .venv/bin/python bench/bench_index_backends.py --scale 1.0    # England (~11 M children)

Builds one index of each kind from one synthetic population (SQLite: bulk insert; PostgreSQL:
COPY into a throwaway local cluster, or the database `--conninfo` names), then runs the same
random searches and views in-process on both and prints build time and p50/p99 side by side.
The figures exclude login, access checks and the audit write, which the facade adds. Every
search must return the same hits on both backends, or the run fails.
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_index import _percentiles, _queries

from sim.index.build import build_index, build_index_postgres
from sim.index.search import search
from sim.index.store import IndexStore, SqliteStore
from sim.index.store.postgres import PostgresStore
from sim.index.view import view_reasons, view_record
from sim.population.synth import SynthRequest, synthesise
from sim.postgres import server as pg_server
from sim.reference.authorities import load_authorities
from sim.streams import stream


def _measure(store: IndexStore, queries, sample) -> dict[str, object]:
    search_times, view_times, hits = [], [], []
    for query in queries:
        t = time.perf_counter()
        result = search(store, query)
        search_times.append(time.perf_counter() - t)
        hits.append([hit.child_id for hit in result.hits])
    reason = view_reasons()[0]
    for child_id in sample["child_id"]:
        t = time.perf_counter()
        view_record(store, child_id, reason)
        view_times.append(time.perf_counter() - t)
    return {"search": _percentiles(search_times), "view": _percentiles(view_times), "hits": hits}


def run(scale: float, queries: int, seed: int, workers: int, conninfo: str | None) -> None:
    codes = tuple(a.code for a in load_authorities())
    tables = synthesise(SynthRequest(seed=seed, scale=scale, authority_codes=codes), workers)
    children = tables["children"]
    rng = stream(seed, "index", 0)
    picks = rng.choice(children.height, size=min(queries, children.height), replace=False)
    sample = (
        children[np.sort(picks)]
        .join(tables["households"].select("household_id", "postcode"), on="household_id")
        .sample(fraction=1.0, shuffle=True, seed=seed)
    )
    asked = _queries(sample, rng)
    with tempfile.TemporaryDirectory(prefix="cpw-bench-") as tmp:
        os.chmod(tmp, 0o711)  # the PostgreSQL OS user must reach its data directory
        started = time.perf_counter()
        build_index(tables, Path(tmp) / "index.db")
        sqlite_build = time.perf_counter() - started
        server = None
        if conninfo is None:
            server = pg_server.init_cluster(Path(tmp) / "cluster")
            pg_server.start(server)
            conninfo = server.conninfo()
        try:
            started = time.perf_counter()
            build_index_postgres(tables, conninfo)
            postgres_build = time.perf_counter() - started
            sqlite_store = SqliteStore.open(Path(tmp) / "index.db")
            postgres_store = PostgresStore.open(conninfo)
            on_sqlite = _measure(sqlite_store, asked, sample)
            on_postgres = _measure(postgres_store, asked, sample)
            sqlite_store.close()
            postgres_store.close()
        finally:
            if server is not None:
                pg_server.stop(server, mode="immediate")
    same = on_sqlite["hits"] == on_postgres["hits"]
    print(f"ContactPoint index backends, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"scale {scale}: {children.height:,} children, {len(asked)} searches and views")
    print(f"{'':24}{'SQLite':>14}{'PostgreSQL':>14}")
    print(f"{'build (s)':24}{sqlite_build:14.1f}{postgres_build:14.1f}")
    for kind in ("search", "view"):
        for label, index in (("p50", 0), ("p99", 1)):
            a, b = on_sqlite[kind][index], on_postgres[kind][index]
            print(f"{kind + ' ' + label + ' (us)':24}{a:14.0f}{b:14.0f}")
    print(f"same hits on both       {'yes' if same else 'NO'}")
    print("(in-process; excludes login, access check and audit write, which the facade adds)")
    if not same:
        raise SystemExit("bench_index_backends: the backends returned different hits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of England (1.0 = all)")
    parser.add_argument("--queries", type=int, default=1000, help="random searches and views")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes for synthesis")
    parser.add_argument("--conninfo", help="an empty PostgreSQL database (default: a new cluster)")
    args = parser.parse_args()
    run(args.scale, args.queries, args.seed, args.workers, args.conninfo)


if __name__ == "__main__":
    main()
