"""Benchmark: replications on 1 and 2 local worker processes (parallel efficiency).

    .venv/bin/python bench/bench_experiments.py [SCENARIO] [--replications N]

Runs the scenario (default: the North West demo) with --workers 1 and --workers 2, checks the
tables are identical, and prints wall times and the efficiency ratio
t(1 worker) / (2 x t(2 workers)); the target is >= 0.8 (two workers should
be worth at least 1.6 of one).
"""

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from sim.experiments.run import run_experiment
from sim.experiments.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="north-west")
    parser.add_argument("--replications", type=int, default=8)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario).model_copy(update={"replications": args.replications})
    walls = {}
    with tempfile.TemporaryDirectory(prefix="bench-experiments-") as scratch:
        for workers in (1, 2):
            started = time.perf_counter()
            run_experiment(scenario, Path(scratch) / f"w{workers}", workers=workers)
            walls[workers] = time.perf_counter() - started
            print(f"{workers} worker(s): {walls[workers]:.1f} s")
        same = all(
            pl.read_parquet(Path(scratch) / "w1" / name).equals(
                pl.read_parquet(Path(scratch) / "w2" / name)
            )
            for name in ("metrics.parquet", "figures.parquet")
        )
    efficiency = walls[1] / (2 * walls[2])
    print(f"identical tables: {same}")
    print(f"parallel efficiency on 2 workers: {efficiency:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
