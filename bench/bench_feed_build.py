"""Building the index from the source feeds, against building it from the truth, in one run.

    .venv/bin/python bench/bench_feed_build.py --scale 0.1      # England = 1.0 (~11 M children)

Prints the seconds spent making the feeds, matching them and loading the matched children,
the matching's precision, recall and duplicate rate against the synthetic truth, and beside
them the build from the population's true tables (sim/index/build.py) at the same scale, so
the cost of loading the index as the real one was loaded is visible. The issue's target at
full England is <= 10 min for the build from the feeds.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from memory import PeakMemory

from sim.index.build import build_index
from sim.index.feed_build import build_index_from_feeds
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities


def run(scale: float, seed: int, workers: int) -> None:
    codes = tuple(a.code for a in load_authorities())
    started = time.perf_counter()
    tables = synthesise(SynthRequest(seed=seed, scale=scale, authority_codes=codes), workers)
    synth_s = time.perf_counter() - started
    print(f"scale {scale} of England: {tables['children'].height:,} children")
    print(f"synthesis              {synth_s:8.1f} s (not counted)")
    with tempfile.TemporaryDirectory(prefix="cpw-bench-") as tmp:
        with PeakMemory(os.getpid()) as memory:
            stats = build_index_from_feeds(tables, Path(tmp) / "feeds.db", seed)
        feed_peak = memory.peak
        (Path(tmp) / "feeds.db").unlink()
        with PeakMemory(os.getpid()) as memory:
            truth = build_index(tables, Path(tmp) / "truth.db")
        truth_peak = memory.peak
    report = stats.report
    print(f"feeds                  {stats.feeds_seconds:8.1f} s  {stats.feed_records:,} records")
    print(
        f"matching               {stats.matching_seconds:8.1f} s  pairs {report.pairs_compared:,}"
    )
    print(f"loading                {stats.loading_seconds:8.1f} s  {stats.children:,} children")
    print(f"total from feeds       {stats.seconds:8.1f} s  peak memory {feed_peak / 2**30:.1f} GiB")
    print(
        f"matching quality       precision {report.precision:.4f}  recall {report.recall:.4f}  "
        f"duplicate rate {report.duplicate_rate:.4f}"
    )
    print(
        f"                       review queue {stats.review_queue:,}  held records "
        f"{report.held_for_review:,}  missed children {report.missed_children:,}  "
        f"not loaded (incomplete) {stats.incomplete:,}"
    )
    print(
        f"baseline from truth    {truth.seconds:8.1f} s  {truth.children:,} children  "
        f"peak memory {truth_peak / 2**30:.1f} GiB"
    )
    print(f"ratio feeds / truth    {stats.seconds / truth.seconds:8.1f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of England")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes for synthesis")
    args = parser.parse_args()
    run(args.scale, args.seed, args.workers)


if __name__ == "__main__":
    main()
