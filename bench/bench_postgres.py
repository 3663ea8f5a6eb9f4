"""A PostgreSQL deployment end to end: deploy (COPY), search, residue scan, rehearsal, verify.

    .venv/bin/python bench/bench_postgres.py --scale 0.01          # quick (a few authorities)
    .venv/bin/python bench/bench_postgres.py --scale 1.0           # England (~11 M children)

Synthesises a population, runs `cpw deploy --backend postgres`'s code (the index built from
the population's frames straight into a PostgreSQL primary with COPY, the deployment's other
stores, the streaming replica, the WAL archive, a sealed base backup; no SQLite index is made)
and, as the baseline, `cpw deploy`'s code from the same population with the same seed (a SQLite
deployment), then times, in the same run: in-process search p50/p99 on the primary beside the
same queries on the baseline's SQLite index (same hits required; each after an untimed pass of
another sample on both); the verifier's residue scan of the whole deployment (every data
directory, WAL segment and archive) beside `grep -r -F -f` on the same files with the same UTF-8
patterns; the rehearsal exactly as `cpw decommission rehearse` runs it (the CLI's
`rehearsal_setup`); and `decommission verify` of its evidence with the pinned key. Targets:
deploy <= 10 min, rehearsal and verification <= 15 min at England scale. Everything is made
under one temporary directory (or --workdir) and removed afterwards unless --keep.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import polars as pl
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decommission import OPERATOR, VERIFIER
from bench_index import _queries
from bench_index_backends import _measure

from decommission.evidence import verify_evidence
from decommission.rehearsal import rehearse
from decommission.scan import tool_failure
from decommission.signing import public_hex
from decommission.verification import (
    canaries_path,
    canary_needles,
    identifier_needles,
    load_canaries,
    scan_tree,
)
from sim.cli.decommission import rehearsal_setup
from sim.deployment.deploy import deploy
from sim.index.store import SqliteStore
from sim.index.store.postgres import PostgresStore
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.postgres.deploy import NEGATIVE_CONTROL, deploy_postgres
from sim.postgres.topology import ACCOUNTS_DATABASE, DATABASE, Topology, stop_all
from sim.reference.authorities import load_authorities
from sim.streams import stream


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def search_figures(
    deployment: Path, baseline: Path, queries: int, seed: int
) -> tuple[dict, dict, bool]:
    """The same searches and views on the baseline's SQLite index and on the primary, each
    after an untimed pass of other searches and views (another sample) on both: each is
    measured with its index's upper levels in memory, not straight after the other
    deployment's build pushed its pages out of the OS cache."""
    sqlite_store = SqliteStore.open(baseline / "index" / "index.db")
    primary = Topology(deployment).primary()
    postgres_store = PostgresStore.open(primary.conninfo(DATABASE))
    try:
        children = _children(deployment, baseline)
        warm = _pick(children, queries, seed + 1)
        warming = _queries(warm, stream(seed + 1, "index", 0))
        for store in (sqlite_store, postgres_store):
            _measure(store, warming, warm)
        sample = _pick(children, queries, seed)
        asked = _queries(sample, stream(seed, "index", 0))
        on_sqlite = _measure(sqlite_store, asked, sample)
        on_postgres = _measure(postgres_store, asked, sample)
    finally:
        sqlite_store.close()
        postgres_store.close()
    deleted = json.loads(deployment.with_name(f"{deployment.name}.{NEGATIVE_CONTROL}").read_text())
    expected = [[hit for hit in hits if hit != deleted["child_id"]] for hits in on_sqlite["hits"]]
    return on_sqlite, on_postgres, expected == on_postgres["hits"]


def _children(deployment: Path, baseline: Path) -> pl.DataFrame:
    """Children of both indexes (names, gender, date of birth, postcode), the child deleted
    from the primary as the negative control left out."""
    query = (
        "SELECT c.child_id, n.forename, n.surname, c.gender, c.date_of_birth, h.postcode "
        "FROM child c "
        "JOIN name n ON n.child_key = c.child_key AND n.current = 1 "
        "LEFT JOIN household h ON h.household_key = c.household_key"
    )
    path = baseline / "index" / "index.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(query).fetchall()
    frame = pl.DataFrame(
        rows,
        schema=["child_id", "forename", "surname", "gender", "date_of_birth", "postcode"],
        orient="row",
    ).with_columns(pl.col("date_of_birth").str.to_date())
    deleted = json.loads(deployment.with_name(f"{deployment.name}.{NEGATIVE_CONTROL}").read_text())
    return frame.filter(pl.col("child_id") != deleted["child_id"])  # not on the primary


def _pick(frame: pl.DataFrame, queries: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    picks = rng.choice(frame.height, size=min(queries, frame.height), replace=False)
    return frame[np.sort(picks)]


def residue_scan(deployment: Path, setup, workdir: Path) -> dict[str, float]:
    """The verifier's scan of the whole deployment beside `grep -r -F -f` on the same files."""
    canaries = load_canaries(canaries_path(deployment))
    needles = canary_needles(canaries) + identifier_needles(setup.sample_identifiers)
    size = tree_bytes(deployment)
    started = time.perf_counter()
    found = scan_tree(deployment, needles)
    scan_seconds = time.perf_counter() - started
    patterns = workdir / "patterns.txt"
    texts = sorted({n.pattern for n in needles if b"\n" not in n.pattern})
    patterns.write_bytes(b"\n".join(texts) + b"\n")
    started = time.perf_counter()
    done = subprocess.run(
        ["grep", "-r", "-c", "-a", "-F", "-f", str(patterns), str(deployment)],
        capture_output=True, env={**os.environ, "LC_ALL": "C"},
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"bench_postgres: grep -r -F failed: {tool_failure(done)}")
    grep_seconds = time.perf_counter() - started
    return {
        "bytes": size,
        "hits": len(found.hits),
        "patterns": len(needles),
        "scan_s": scan_seconds,
        "grep_s": grep_seconds,
        "grep_patterns": len(texts),
    }


def wal_figures(deployment: Path) -> dict[str, int]:
    """WAL the primary has written since initdb, what the WAL archive holds, and the size of
    the databases it was loading: the archive's cost per byte of index."""
    topology = Topology(deployment)
    with psycopg.connect(topology.primary().conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), "
            "sum(pg_database_size(datname)) FILTER (WHERE datname IN (%s, %s)) FROM pg_database",
            (DATABASE, ACCOUNTS_DATABASE),
        ).fetchone()
    segments = [p for p in topology.wal_archive.iterdir() if p.is_file()]
    return {
        "written": int(row[0]) if row else 0,
        "databases": int(row[1]) if row else 0,
        "archived": sum(p.stat().st_size for p in segments),
        "files": len(segments),
    }


def run(scale: float, authorities: int, queries: int, seed: int, workdir: Path) -> None:
    """Each figure is printed as soon as it is measured, so a run stopped part-way (an England
    run on a shared machine) still reports what it reached."""
    codes = tuple(a.code for a in load_authorities())
    codes = codes if authorities <= 0 else codes[:authorities]
    say(f"ContactPoint on PostgreSQL, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    started = time.perf_counter()
    write_population(SynthRequest(seed, scale, codes), workdir / "population")
    synth_seconds = time.perf_counter() - started
    report = deploy_postgres(workdir / "population", workdir / "dep", profile="simulation")
    deployment = report.path
    say(f"scale {scale}, {len(codes)} authorities: {report.children:,} children "
        f"(synthesis {synth_seconds:.1f} s)")  # fmt: skip
    say(f"deploy --backend postgres (stores, COPY, replica, base backup) {report.seconds:8.1f} s")
    wal = wal_figures(deployment)
    mib = {key: wal[key] / 2**20 for key in ("written", "archived", "databases")}
    say(f"WAL written {mib['written']:,.0f} MiB; WAL archive {mib['archived']:,.0f} MiB in "
        f"{wal['files']:,} files; the two databases {mib['databases']:,.0f} MiB; deployment "
        f"{tree_bytes(deployment) / 2**30:,.1f} GiB")  # fmt: skip
    baseline = deploy(workdir / "population", workdir / "sqlite", profile="simulation")
    say(f"deploy (SQLite, the baseline)     {baseline.seconds:10.1f} s")
    on_sqlite, on_postgres, same = search_figures(deployment, baseline.path, queries, seed)
    say(f"{'':32}{'SQLite':>12}{'PostgreSQL':>12}")
    for kind in ("search", "view"):
        for label, n in (("p50", 0), ("p99", 1)):
            say(f"{kind + ' ' + label + ' (us)':32}{on_sqlite[kind][n]:12.0f}"
                f"{on_postgres[kind][n]:12.0f}")  # fmt: skip
    say(f"same hits on both backends       {'yes' if same else 'NO'}")
    shutil.rmtree(baseline.path)  # not needed again: an England baseline is 20 GB of disk
    evidence = workdir / "evidence"
    setup, index = rehearsal_setup(deployment, evidence, OPERATOR, VERIFIER)
    try:
        scan = residue_scan(deployment, setup, workdir)
        scanned = scan["bytes"] / 2**20
        say(f"residue scan, {scanned:,.0f} MiB, {scan['patterns']} patterns: verifier "
            f"{scan['scan_s']:.2f} s ({scanned / scan['scan_s']:,.0f} MiB/s); grep -r -F, "
            f"{scan['grep_patterns']} UTF-8 patterns: {scan['grep_s']:.2f} s "
            f"({scanned / scan['grep_s']:,.0f} MiB/s)")  # fmt: skip
        started = time.perf_counter()
        outcome = rehearse(deployment, evidence, setup)
        rehearsal_seconds = time.perf_counter() - started
    finally:
        index.close()
    say(f"rehearsal ({outcome.status})               {rehearsal_seconds:10.1f} s")
    started = time.perf_counter()
    problems = verify_evidence(evidence, public_hex(setup.verifier_key), deployment)
    verify_seconds = time.perf_counter() - started
    say(f"verification (pinned key)         {verify_seconds:10.1f} s "
        f"{'passes' if not problems else 'FAILS: ' + problems[0]}")  # fmt: skip
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    say(f"load average (1, 5, 15 min) at the end: {load}")
    if not same or problems or outcome.status != "completed":
        raise SystemExit("bench_postgres: the run did not complete cleanly")


def say(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of England (1.0 = all)")
    parser.add_argument("--authorities", type=int, default=3, help="first N authorities (0: all)")
    parser.add_argument("--queries", type=int, default=500, help="random searches and views")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cpw-bench-pg-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o711)  # the PostgreSQL OS user must reach the data directories
    try:
        run(args.scale, args.authorities, args.queries, args.seed, workdir)
    finally:
        if (workdir / "dep").exists():
            stop_all(workdir / "dep", mode="immediate")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
