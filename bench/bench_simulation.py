"""The simulation with regimes: North West, 2009-01-01 to 2011-03-31, three scenarios.

    .venv/bin/python bench/bench_simulation.py [--region "North West"] [--scale 1.0]
    .venv/bin/python bench/bench_simulation.py --region England --scenarios contactpoint
    .venv/bin/python bench/bench_simulation.py --deployed --region England --workdir DIR
    .venv/bin/python bench/bench_simulation.py --deployed --from-feeds --region England ...

Runs `run_simulation` (one world, the scenarios none, contactpoint and signposting_2010 riding on
it, metrics and manifest written) and prints wall time against the 60 s target, events/s and
peak memory; then, in the same run, the world alone on the same population, so the cost of
the regime layers and metrics is the difference. Lookups use the modelled index; every child
meets practitioners (universal encounters, sim.regimes.population_use). `--scenarios` picks the
scenarios (England with one: target <= 3 min and <= 12 GB).

`--deployed` writes the population (`cpw synth`), deploys it (`cpw deploy`, 'simulation'
hashing) and runs the contactpoint scenario with the real index inside (world feeds, facade
lookups, the runbook's switch-off), then the same run with the modelled index: wall time,
peak memory, lookups/s and feed updates/s of each (target for all England: <= 15 min
and <= 12 GB for the run). Every lookup of any child goes through the real index's batched
call (each with its own access check and audit entry; a day's logins in one call before the
day's lookups, ContactPoint.login_many): printed as audited lookups/s, by the clock and by this
process's CPU time and its lookup workers' (less disturbed by other work on a shared machine),
beside a plain SQLite lookup timed in the same run (aim >= 20,000 audited lookups/s).
`--lookup-workers N` answers them in N worker processes (default one per core; 1: in the run's
process, sim.regimes.lookup_workers; with workers, the feeds are written by a process of their
own too, sim.regimes.feed_writer); the workers' time is split into time on a CPU, time
waiting for one (other processes had the cores) and time blocked (locks). `--from-feeds`
deploys the index from the matched source feeds (`cpw deploy --from-feeds`).
`--region England` means every authority; `--workdir` should be on
disk, not a RAM-backed /tmp, at England scale (the deployment is several GB);
`--deployment DIR --population DIR` reuse a deployment and the `cpw synth` output it came from.
"""

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import PeakMemory

from sim.deployment.deploy import deploy
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.regimes import SimulationConfig, run_simulation
from sim.world import World, WorldConfig

TARGET_SECONDS = 60.0
SCENARIOS = ("none", "contactpoint", "signposting_2010")
ENGLAND_TARGET_SECONDS, ENGLAND_TARGET_GB = 900.0, 12.0  # the real index inside
ENGLAND_MODELLED_SECONDS = 180.0  # one scenario, modelled index
AUDITED_AIM = 20_000
WORLD_TABLES = ("children", "households", "schools", "gp_practices", "authorities")


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of its ended child processes."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _workers(usage: dict) -> str:
    """The lookup workers' time, summed over workers: on a CPU, waiting for one (other
    processes had the cores), and the rest blocked (the accounts database's write lock, the
    audit log's lock, the pipe)."""
    if not usage.get("population_lookup_processes"):
        return ""
    wall, cpu = usage["population_worker_seconds"], usage["population_worker_cpu_seconds"]
    queued = usage["population_worker_queued_seconds"]
    return (
        f"\n  workers: {wall:.1f} s answering (summed), {cpu:.1f} s on a CPU, {queued:.1f} s "
        f"waiting for a CPU, {max(wall - cpu - queued, 0):.1f} s blocked (locks)"
    )


def deployed(args: argparse.Namespace, codes: tuple[str, ...]) -> None:
    """Deploy the population, then contactpoint with the real index and with the model."""
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        pop, dep = args.population or root / "pop", args.deployment or root / "dep"
        if args.deployment is None:
            started = time.perf_counter()
            request = SynthRequest(seed=args.seed, scale=args.scale, authority_codes=codes)
            write_population(request, pop, workers=2)
            synth = time.perf_counter() - started
            with PeakMemory(os.getpid()) as memory:
                made = deploy(pop, dep, profile="simulation", from_feeds=args.from_feeds)
            print(
                f"synth {synth:.1f} s; deploy {made.seconds:.1f} s ({made.children:,} records, "
                f"peak {memory.peak / 1e9:.2f} GB)"
            )
        lazy = read_population(pop, WORLD_TABLES)
        population = {name: frame.collect() for name, frame in lazy.items()}
        runs = {}
        for label, deployment in (("real index", dep), ("modelled index", None)):
            chosen = {"lookup_workers": args.lookup_workers} if args.lookup_workers else {}
            config = SimulationConfig(
                seed=args.seed, scenarios=("contactpoint",), start=start, end=end,
                deployment=deployment, **chosen,
            )  # fmt: skip
            before = _cpu()
            with PeakMemory(os.getpid()) as memory:
                summary = run_simulation(population, config, root / label.replace(" ", "-"))
            cpu = [after - was for after, was in zip(_cpu(), before, strict=True)]
            manifest = json.loads((summary.out_dir / "manifest.json").read_text())
            runs[label] = (summary, memory.peak, manifest, cpu, memory.peak_private)
    for label, (summary, peak, manifest, (own, children), private) in runs.items():
        line = f"{label}: {summary.wall_seconds:.1f} s, peak {peak / 1e9:.2f} GB "
        line += f"({private / 1e9:.2f} GB private: without pages of files mapped from disk), "
        line += f"CPU {own:.1f} s in this process + {children:.1f} s in its helper processes "
        line += "(copy maker, lookup workers, feed writer) "
        line += f"(on 2 free cores at least {max(own, (own + children) / 2):.1f} s), "
        line += f"{summary.events_per_second:,.0f} events/s"
        arms = (manifest.get("index") or {}).get("arms", {})
        for arm in arms.values():
            lookups, seconds = arm["lookups"], max(arm["lookup_seconds"], 1e-9)
            fed, fed_seconds = sum(arm["feed_updates"].values()), max(arm["feed_seconds"], 1e-9)
            line += f"; {lookups:,} lookups at {lookups / seconds:,.0f}/s"
            line += f"; {fed:,} feed updates at {fed / fed_seconds:,.0f}/s"
            if arm.get("feed_cpu_seconds"):
                line += f" ({fed / arm['feed_cpu_seconds']:,.0f}/s by CPU time)"
            line += f"; switched off: {arm['switched_off']}"
            usage = arm.get("usage", {})
            audited, took = (
                usage.get("population_lookups", 0),
                usage.get("population_lookup_seconds"),
            )
            plain, plain_took = (
                usage.get("plain_sqlite_lookups", 0),
                usage.get("plain_sqlite_seconds"),
            )
            if audited and took and plain and plain_took:
                rate, plain_rate = audited / took, plain / plain_took
                cpu = max(usage["population_lookup_cpu_seconds"], 1e-9)
                plain_cpu = max(usage["plain_sqlite_cpu_seconds"], 1e-9)
                processes = usage.get("population_lookup_processes", 0)
                line += (
                    f"\n  every child's lookups ({processes or 'no'} worker processes): "
                    f"{audited:,} audited at {rate:,.0f}/s "
                    f"({usage['population_logins']:,} logins, {usage['population_refused']:,} "
                    f"refused) beside plain SQLite at {plain_rate:,.0f}/s "
                    f"({rate / plain_rate:.3f}x); "
                    f"aim >= {AUDITED_AIM:,}/s: {'met' if rate >= AUDITED_AIM else 'NOT MET'}"
                    f"\n  by CPU time (this process and the workers): {audited / cpu:,.0f}/s "
                    f"beside plain SQLite at "
                    f"{plain / plain_cpu:,.0f}/s"
                    f"{_workers(usage)}"
                    f"\n  usage rules: {usage['accounts']:,} accounts; refused {usage['refused']}; "
                    f"alerts {usage['alerts']}"
                )
        print(line)
    real = runs["real index"]
    verdict = real[0].wall_seconds <= ENGLAND_TARGET_SECONDS and real[1] / 1e9 <= ENGLAND_TARGET_GB
    ratio = real[0].wall_seconds / runs["modelled index"][0].wall_seconds
    print(
        f"real index / modelled: {ratio:.2f}x wall; "
        f"England target <= {ENGLAND_TARGET_SECONDS / 60:.0f} min and "
        f"<= {ENGLAND_TARGET_GB:.0f} GB: {'ok' if verdict else 'OVER TARGET'} at this size"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="North West")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the region's real size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deployed", action="store_true", help="the real index inside the run")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="modelled runs: comma-separated"
    )
    parser.add_argument(
        "--from-feeds", action="store_true", help="--deployed: deploy from the matched feeds"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="--deployed: where to write")
    parser.add_argument("--start", default="2009-01-01", help="--deployed: first day")
    parser.add_argument("--end", default="2011-03-31", help="--deployed: last day")
    parser.add_argument(
        "--deployment", type=Path, default=None, help="--deployed: reuse this `cpw deploy` output"
    )
    parser.add_argument(
        "--population", type=Path, default=None, help="--deployed: the population it was made from"
    )
    parser.add_argument(
        "--lookup-workers", type=int, default=None,
        help="--deployed: processes answering every child's lookups (default: one per core)",
    )  # fmt: skip
    args = parser.parse_args()
    everywhere = args.region == "England"
    codes = tuple(a.code for a in load_authorities() if everywhere or a.region == args.region)
    if (args.deployment is None) != (args.population is None):
        parser.error("--deployment and --population go together")
    if args.deployed:
        print(f"{args.region}: {len(codes)} authorities at scale {args.scale}")
        deployed(args, codes)
        return
    started = time.perf_counter()
    population = synthesise(SynthRequest(seed=args.seed, scale=args.scale, authority_codes=codes))
    synth_seconds = time.perf_counter() - started
    children = population["children"].height
    print(f"{args.region}: {len(codes)} authorities, {children:,} children ({synth_seconds:.1f} s)")

    scenarios = tuple(name.strip() for name in args.scenarios.split(",") if name.strip())
    region = None if everywhere else args.region
    with tempfile.TemporaryDirectory() as tmp, PeakMemory(os.getpid()) as memory:
        config = SimulationConfig(seed=args.seed, scenarios=scenarios, region=region)
        summary = run_simulation(population, config, Path(tmp) / "run")
        started = time.perf_counter()
        world = World(population, WorldConfig(seed=args.seed), log_path=Path(tmp) / "w.parquet")
        bare = world.run()
        bare_seconds = time.perf_counter() - started

    target = ENGLAND_MODELLED_SECONDS if everywhere else TARGET_SECONDS
    within = summary.wall_seconds <= target
    if everywhere:
        within = within and memory.peak / 1e9 <= ENGLAND_TARGET_GB
    verdict = "ok" if within else "OVER TARGET"
    print(
        f"simulation ({', '.join(scenarios)}): {summary.wall_seconds:.1f} s "
        f"(target <= {target:.0f} s{f' and <= {ENGLAND_TARGET_GB:.0f} GB' if everywhere else ''}"
        f" at full scale: {verdict}); "
        f"{summary.world_events:,} world events + {summary.regime_events:,} regime events, "
        f"{summary.events_per_second:,.0f} events/s; peak memory {memory.peak / 1e9:.2f} GB"
    )
    print(
        f"world alone: {bare_seconds:.1f} s, {bare.total_events / bare_seconds:,.0f} events/s; "
        f"regimes + metrics + outputs add {summary.wall_seconds / bare_seconds:.2f}x"
    )
    print(f"vulnerable movers: {summary.vulnerable_movers:,}")
    years = ((config.end - config.start).days + 1) / 365.25
    print(
        f"lookups of any child (whole population, {len(scenarios)} scenario(s)): "
        f"{summary.population_lookups / years:,.0f} a year"
    )
    columns = ["scenario", "vulnerable_movers", "lost_30_per_1000", "lost_90_per_1000"]
    columns += ["lookups", "phone_rounds", "hours", "total_gbp", "records_held"]
    with pl.Config(tbl_cols=len(columns), tbl_width_chars=160):
        print(summary.figures.select([c for c in columns if c in summary.figures.columns]))


if __name__ == "__main__":
    main()
