"""Benchmark audited searches over HTTP (`cpw serve`) beside the in-process facade, same run.

    .venv/bin/python bench/bench_web.py                  # 2 runs of 60 s, 50 clients, Bolton 2%
    .venv/bin/python bench/bench_web.py --seconds 10 --target 300  # a short run

A synthetic deployment is made (one authority at a small scale), practitioners are enrolled
(simulation hashing profile, so hundreds are quick) and `cpw serve` is started on loopback. 50
concurrent clients then log in with four factors and search, twice (sim.web.load):

- capacity: closed loop, each client sending its next search as soon as the last is answered,
  for --seconds: the searches answered a second are what the server can do. With 50 clients
  always waiting, each search waits about 50 / throughput (Little's law), so this run's
  latencies measure the queue the bench itself keeps full, not the service a user sees;
- paced: an offered load of --target searches a second spread evenly over the 50 clients (each
  a practitioner sending at its own steady rate), for --seconds: the latencies a practitioner
  sees at that load, each timed from when its search was due (a server that falls behind shows
  it there, and in searches answered a second below the target).

Every answer must be an allowed search and every one is checked against the audit trail, whose
chain is verified (each practitioner stays inside the usage guard's limits, so enough are
enrolled for each run at the server's clock rate). Beside them, from the same deployment: the
facade called in process, one search at a time. Targets: >= 1,000 audited searches/s with 50
concurrent clients on 2 cores (capacity), p99 <= 50 ms (paced at 1,000/s).

Workers: 2 by default (one per core), each calling its own facade from one thread (`cpw serve`'s
default); each worker's facade opens the deployment, whose database holds the sessions and usage
counters and whose audit log is appended under a file lock, so the workers share them. The
audit's sync mode (data/index/monitoring.toml audit_sync) is printed with the figures. The load
client runs in this process on the same cores: its searches go over one kept-alive connection per
client (sim.web.load_channel) and its own CPU per search is printed beside the server's.

Last, where a search's server CPU goes (web_breakdown.py): the session check with the usage
guard, the data core and the audit append one search at a time; the whole facade's share in a
batch of one search per client of a worker (how a worker answers its queued searches); the form,
the page and the trip to a facade thread (once a batch), each timed in process on the same
deployment, and the rest of the server's CPU per search by difference.
"""

import argparse
import asyncio
import datetime as dt
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from web_breakdown import breakdown, enroller, print_breakdown

from sim.deployment.deploy import deploy
from sim.index.access import token_code
from sim.index.audit import load_monitoring_rules, read_audit, verify
from sim.index.service import ContactPoint
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest
from sim.web.launch import running_server
from sim.web.load import (
    MARGIN_SIM_SECONDS,
    LoadPlan,
    LoadReport,
    enrol_practitioners,
    run_load,
)
from sim.web.settings import write_loopback_settings


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its children (uvicorn's workers); Linux
    /proc, 0 elsewhere."""

    def stat(path: Path) -> list[str] | None:
        try:
            return path.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None

    total = 0.0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        fields = stat(entry)
        if fields and (entry.parent.name == str(pid) or fields[1] == str(pid)):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _ms(seconds: list[float]) -> tuple[float, float]:
    values = np.array(seconds) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def _in_process(deployment: Path, queries: list[tuple[str, str]], at: dt.datetime, count: int):
    """Searches through the facade in this process, one at a time, spread over practitioners."""
    limit = load_monitoring_rules().searches_per_minute.value
    users = enrol_practitioners(deployment, max(1, count // limit), AUTHORITY, queries, at,
                                prefix="inproc")  # fmt: skip
    timings = []
    with ContactPoint.open(deployment, profile="simulation") as service:
        sessions = [
            service.login(u.username, u.password, u.pin,
                          token_code(u.token_secret, at, service.access.rules),
                          network="GCSx", now=at)
            for u in users
        ]  # fmt: skip
        started = time.perf_counter()
        for n in range(count):
            user = n % len(users)
            surname, born = users[user].queries[(n // len(users)) % len(users[user].queries)]
            now = at + dt.timedelta(seconds=10 * (n // len(users)) + 1)
            begun = time.perf_counter()
            service.search(sessions[user], {"surname": surname, "date_of_birth": born}, now=now)
            timings.append(time.perf_counter() - begun)
        elapsed = time.perf_counter() - started
    return count / elapsed, *_ms(timings)


AUTHORITY = "E08000001"


def run(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cpw-bench-web-") as tmp:
        root = Path(tmp)
        write_population(
            SynthRequest(seed=args.seed, scale=args.scale, authority_codes=(AUTHORITY,)),
            root / "population",
        )
        report = deploy(root / "population", root / "dep", seed=args.seed, canaries=5,
                        profile="simulation")  # fmt: skip
        write_loopback_settings(root / "dep", ["GCSx", "GSi"])
        children = read_population(root / "population", ("children",))["children"]
        rows = children.select("surname", "date_of_birth").head(5000).collect().rows()
        queries = [(surname, born.isoformat()) for surname, born in rows]
        at = read_audit(root / "dep" / "audit" / "audit.jsonl")["time"].max()

        limit = load_monitoring_rules().searches_per_minute.value
        window = (60 + MARGIN_SIM_SECONDS) / args.clock_rate

        def enough(rate: float) -> int:  # practitioners for `rate` searches/s inside the limits
            return max(args.clients, math.ceil(rate * window / limit * 1.25))

        inproc = _in_process(root / "dep", queries, at, args.in_process)
        parts = None
        if args.parts:  # after the in-process searches' moments, before the server's clock
            make = enroller(root / "dep", AUTHORITY, queries)
            batch = max(1, args.clients // args.workers)  # every client of a worker waiting
            parts = breakdown(root / "dep", make, at + dt.timedelta(hours=1), args.parts, batch)
        # the closed loop may outrun the target: enough practitioners for twice it
        closed = enrol_practitioners(root / "dep", enough(2 * args.target), AUTHORITY, queries,
                                     at)  # fmt: skip
        paced = enrol_practitioners(root / "dep", enough(args.target), AUTHORITY, queries, at,
                                    prefix="loadpaced")  # fmt: skip
        key = (root / "dep.audit-public-key").read_text().strip()
        runs = []
        with running_server(root / "dep", root / "server.log", clock_rate=args.clock_rate,
                            workers=args.workers,
                            facade_threads=args.facade_threads) as server:  # fmt: skip
            for who, rate in ((closed, None), (paced, args.target)):
                plan = LoadPlan(server.url, who, concurrency=args.clients, seconds=args.seconds,
                                max_requests=args.max_requests, clock_rate=args.clock_rate,
                                rate=rate)  # fmt: skip
                runs.append(_measured(plan, server.process.pid))
        log = read_audit(root / "dep" / "audit" / "audit.jsonl")
        audited = log.filter(
            pl.col("action") == "search",
            pl.col("outcome") == "allowed",
            pl.col("actor").str.starts_with("load"),
        ).height
        intact = verify(root / "dep" / "audit" / "audit.jsonl", key).ok

    print(f"ContactPoint web benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{report.children:,} children (scale {args.scale} of {AUTHORITY}); "
          f"{len(closed)} + {len(paced)} practitioners, {args.clients} concurrent clients, "
          f"{args.seconds:.0f} s a run, server workers {args.workers} x {args.facade_threads} "
          f"facade thread(s), clock rate {args.clock_rate}")  # fmt: skip
    sync = load_monitoring_rules().audit_sync.value
    print(f"audit_sync = {sync!r} (data/index/monitoring.toml); "
          f"load average {load_before:.1f} before the run (the machine may be shared)")  # fmt: skip
    print(f"{'':34}{'searches/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'server CPU ms':>15}{'client CPU ms':>15}")  # fmt: skip
    labels = ("HTTP capacity (closed loop)", f"HTTP paced at {args.target:,.0f}/s")
    for label, (load, server_ms, client_ms) in zip(labels, runs, strict=True):
        rate = load.total / load.seconds if load.seconds else 0.0
        p50, p99 = _ms(load.latencies) if load.latencies else (float("nan"), float("nan"))
        bad = len(load.errors) + sum(load.refused.values())
        print(f"{label:34}{rate:11.0f}{p50:9.2f}{p99:9.2f}{bad:8}{server_ms:15.2f}"
              f"{client_ms:15.2f}")  # fmt: skip
    print(f"{'facade, in process':34}{inproc[0]:11.0f}{inproc[1]:9.2f}{inproc[2]:9.2f}")
    answered = sum(load.total for load, _, _ in runs)
    print(f"answered {answered:,} (errors and refusals above: none expected); audited "
          f"searches {audited:,}; audit verifies: {intact}; load average "
          f"{os.getloadavg()[0]:.1f} at the end (the load client shares the cores)")  # fmt: skip
    print("CPU columns: per answered search, the server's workers and this load client's")
    capacity = runs[0][0].total / runs[0][0].seconds if runs[0][0].seconds else 0.0
    p99 = _ms(runs[1][0].latencies)[1] if runs[1][0].latencies else float("nan")
    print(f"targets: HTTP >= 1,000 searches/s ({capacity:,.0f} closed loop), p99 <= 50 ms at "
          f"{args.target:,.0f}/s offered ({p99:.1f})")  # fmt: skip
    if parts is not None:
        print_breakdown(parts, runs[0][1])


def _measured(plan: LoadPlan, server_pid: int) -> tuple[LoadReport, float, float]:
    """The load's report, and the server's and this client's CPU ms per answered search."""
    cpu = []  # (server, client) CPU seconds when the searches begin

    def begin() -> None:
        cpu.append((_cpu_seconds(server_pid), time.process_time()))

    load = asyncio.run(run_load(plan, on_searching=begin))
    server_cpu = _cpu_seconds(server_pid) - cpu[0][0]
    client_cpu = time.process_time() - cpu[0][1]
    per = 1000 / load.total if load.total else float("nan")
    return load, server_cpu * per, client_cpu * per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--target", type=float, default=1000.0,
                        help="searches/s offered in the paced run")  # fmt: skip
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--facade-threads", type=int, default=1,
                        help="threads per worker calling the facade")  # fmt: skip
    parser.add_argument("--clock-rate", type=float, default=10.0,
                        help="simulated seconds per wall second on the server")  # fmt: skip
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--in-process", type=int, default=2000, help="in-process searches")
    parser.add_argument("--parts", type=int, default=1000,
                        help="searches timed part by part in process (0: none)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
