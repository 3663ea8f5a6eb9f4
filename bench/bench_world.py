"""The simulated world: events/s and wall time, against a one-process-per-child SimPy baseline.

    .venv/bin/python bench/bench_world.py [--scale 0.1] [--baseline-children 100000]

Runs England at `--scale` from 2009-01-01 to 2011-03-31 (population-level processes in daily
batches, sim.world), prints wall time, events/s, peak memory and the 2009-10 calibration
table; then, in the same run, a naive model with one SimPy process per child (the design
docs/architecture.md, "Scale", rules out) on `--baseline-children` children with the same hazards.
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import PeakMemory

from sim.population.parameters import population_params
from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.streams import stream
from sim.world import World, WorldConfig, calibration_table, demography_params
from sim.world.calendar import DAYS_PER_YEAR
from sim.world.care_rates import care_rates
from sim.world.parameters import move_params

START, END = dt.date(2009, 1, 1), dt.date(2011, 3, 31)


def naive_world(children: int, seed: int) -> tuple[int, float]:
    """One SimPy process per child, each waiting for its own next move, referral, death or 18th
    birthday; returns (events, wall seconds). Same per-child hazards as the world's, but no
    households, births, episodes or event log: a lower bound on what that design costs."""
    rng = stream(seed, "world", 0, 1000)
    days = (END - START).days + 1
    moves = np.asarray(move_params().address_moves_by_age.value) / DAYS_PER_YEAR
    between = np.asarray(move_params().between_authority_moves_by_age.value)
    referral = care_rates(0).referral_daily
    england = population_params().children_england.value
    death = demography_params().child_deaths_per_year.value / england / DAYS_PER_YEAR
    age_days = rng.integers(0, 18 * 365, children)
    authority = rng.integers(0, 152, children)
    counter = [0]
    env = simpy.Environment()

    def child(i: int):
        while True:
            age = int(age_days[i] + env.now) // 365
            if age >= 18:
                counter[0] += 1  # leaves the index
                return
            total = moves[age] + referral + death
            wait = min(rng.exponential(1 / total), 18 * 365 - age_days[i] - env.now + 0.5)
            yield env.timeout(wait)
            if int(age_days[i] + env.now) // 365 >= 18:
                continue
            u = rng.random() * total
            if u < moves[age]:
                if rng.random() < between[age] / (moves[age] * DAYS_PER_YEAR):
                    authority[i] = rng.integers(0, 152)
            elif u >= moves[age] + referral:
                counter[0] += 1  # dies
                return
            counter[0] += 1

    started = time.perf_counter()
    for i in range(children):
        env.process(child(i))
    env.run(until=days)
    return counter[0], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-children", type=int, default=100_000)
    args = parser.parse_args()

    codes = tuple(a.code for a in load_authorities())
    started = time.perf_counter()
    population = synthesise(SynthRequest(args.seed, args.scale, codes), workers=args.workers)
    synth_wall = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp, PeakMemory(os.getpid()) as memory:
        path = Path(tmp) / "events.parquet"
        started = time.perf_counter()
        world = World(population, WorldConfig(seed=args.seed), log_path=path)
        built = time.perf_counter() - started
        summary = world.run()
        wall = time.perf_counter() - started
        log_mib = path.stat().st_size / 2**20
        table = calibration_table(pl.scan_parquet(path), world.context.scale)
    rate = summary.total_events / wall

    print(
        f"world, England at scale {args.scale:g}: {summary.children_at_start:,} children, "
        f"{START} to {END} ({summary.days} days); synthesis {synth_wall:.1f} s (not counted)"
    )
    print(
        f"  {summary.total_events:,} events in {wall:.1f} s wall (build {built:.1f} s, run "
        f"{summary.wall_seconds:.1f} s incl. parquet, {log_mib:.1f} MiB): {rate:,.0f} events/s"
    )
    print(
        f"  peak memory (this process, incl. the population frames): {memory.peak / 2**30:.2f} GiB"
    )
    print("  events: " + ", ".join(f"{k} {v:,}" for k, v in summary.events.items() if v))
    with pl.Config(tbl_rows=20, float_precision=3):
        print(table)

    events, naive_wall = naive_world(args.baseline_children, args.seed)
    naive_rate = events / naive_wall
    print(
        f"baseline, one SimPy process per child: {args.baseline_children:,} children, "
        f"{events:,} events in {naive_wall:.1f} s: {naive_rate:,.0f} events/s"
    )
    print(f"world / baseline events/s: {rate / naive_rate:.1f}x")
    per_child = naive_wall / args.baseline_children
    print(
        f"baseline extrapolated to the world's {summary.children_at_start:,} children: "
        f"{per_child * summary.children_at_start:,.0f} s (linear, memory permitting) "
        f"against {wall:.1f} s"
    )


if __name__ == "__main__":
    main()
