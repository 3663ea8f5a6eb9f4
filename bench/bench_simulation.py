"""The simulation with regimes: North West, 2009-01-01 to 2011-03-31, three scenarios.

    .venv/bin/python bench/bench_simulation.py [--region "North West"] [--scale 1.0]

Runs `run_simulation` (one world, the scenarios none, contactpoint and signposting riding on
it, metrics and manifest written) and prints wall time against the 60 s target, events/s and
peak memory; then, in the same run, the world alone on the same population, so the cost of
the regime layers and metrics is the difference. Lookups use the modelled index (no
deployment); tests/regimes/test_facade_lookup.py drives the real facade.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import PeakMemory

from sim.population.synth import SynthRequest, synthesise
from sim.reference import load_authorities
from sim.regimes import SimulationConfig, run_simulation
from sim.world import World, WorldConfig

TARGET_SECONDS = 60.0
SCENARIOS = ("none", "contactpoint", "signposting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="North West")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the region's real size")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    codes = tuple(a.code for a in load_authorities() if a.region == args.region)
    started = time.perf_counter()
    population = synthesise(SynthRequest(seed=args.seed, scale=args.scale, authority_codes=codes))
    synth_seconds = time.perf_counter() - started
    children = population["children"].height
    print(f"{args.region}: {len(codes)} authorities, {children:,} children ({synth_seconds:.1f} s)")

    with tempfile.TemporaryDirectory() as tmp, PeakMemory(os.getpid()) as memory:
        config = SimulationConfig(seed=args.seed, scenarios=SCENARIOS, region=args.region)
        summary = run_simulation(population, config, Path(tmp) / "run")
        started = time.perf_counter()
        world = World(population, WorldConfig(seed=args.seed), log_path=Path(tmp) / "w.parquet")
        bare = world.run()
        bare_seconds = time.perf_counter() - started

    verdict = "ok" if summary.wall_seconds <= TARGET_SECONDS else "OVER TARGET"
    print(
        f"simulation ({', '.join(SCENARIOS)}): {summary.wall_seconds:.1f} s "
        f"(target <= {TARGET_SECONDS:.0f} s: {verdict}); "
        f"{summary.world_events:,} world events + {summary.regime_events:,} regime events, "
        f"{summary.events_per_second:,.0f} events/s; peak memory {memory.peak / 1e9:.2f} GB"
    )
    print(
        f"world alone: {bare_seconds:.1f} s, {bare.total_events / bare_seconds:,.0f} events/s; "
        f"regimes + metrics + outputs add {summary.wall_seconds / bare_seconds:.2f}x"
    )
    print(f"vulnerable movers: {summary.vulnerable_movers:,}")
    columns = ["scenario", "vulnerable_movers", "lost_30_per_1000", "lost_90_per_1000"]
    columns += ["lookups", "phone_rounds", "hours", "total_gbp", "records_held"]
    with pl.Config(tbl_cols=len(columns), tbl_width_chars=160):
        print(summary.figures.select([c for c in columns if c in summary.figures.columns]))


if __name__ == "__main__":
    main()
