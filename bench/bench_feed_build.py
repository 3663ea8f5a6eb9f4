"""Building the index from the source feeds, against building it from the truth, in one run.

    .venv/bin/python bench/bench_feed_build.py --scale 0.1      # England = 1.0 (~11 M children)
    .venv/bin/python bench/bench_feed_build.py --scale 0.1 --batch-children 150000
    .venv/bin/python bench/bench_feed_build.py --scale 1.0 --no-baseline   # England, feeds only

The build streams batches of birth cohorts (sim/feeds/build.py), so its peak memory follows
the batch and the population held in memory, not the feeds of England. Prints the seconds
spent making the feeds, estimating the weights, matching and loading the matched children,
the peak memory of the process (the population included, synthesis excluded),
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

from sim.feeds.build import BATCH_CHILDREN, build_index_from_feeds
from sim.index.build import build_index
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities


def run(scale: float, seed: int, workers: int, batch_children: int, baseline: bool) -> None:
    codes = tuple(a.code for a in load_authorities())
    started = time.perf_counter()
    tables = synthesise(SynthRequest(seed=seed, scale=scale, authority_codes=codes), workers)
    synth_s = time.perf_counter() - started
    print(f"scale {scale} of England: {tables['children'].height:,} children")
    print(f"synthesis              {synth_s:8.1f} s (not counted)")
    with tempfile.TemporaryDirectory(prefix="cpw-bench-") as tmp:
        with PeakMemory(os.getpid()) as held:
            time.sleep(0.3)  # one sample: the population's memory before the build
        cpu = time.process_time()
        with PeakMemory(os.getpid()) as memory:
            stats = build_index_from_feeds(tables, Path(tmp) / "feeds.db", seed, batch_children)
        cpu = time.process_time() - cpu
        feed_peak = memory.peak
        (Path(tmp) / "feeds.db").unlink()
        if baseline:
            with PeakMemory(os.getpid()) as memory:
                truth = build_index(tables, Path(tmp) / "truth.db")
            truth_peak = memory.peak
    report = stats.report
    print(f"population in memory   {held.peak / 2**30:8.1f} GiB before the build")
    print(f"batches                {stats.batches:8d}    of about {batch_children:,} children")
    print(f"feeds                  {stats.feeds_seconds:8.1f} s  {stats.feed_records:,} records")
    print(f"weights                {stats.weights_seconds:8.1f} s")
    print(
        f"matching               {stats.matching_seconds:8.1f} s  pairs {report.pairs_compared:,}"
    )
    print(
        f"loading                {stats.loading_seconds:8.1f} s  {stats.children:,} children "
        f"(matching the next batch meanwhile; {stats.waiting_seconds:.1f} s waiting for it)"
    )
    print(
        f"total from feeds       {stats.seconds:8.1f} s wall, {cpu:.1f} s CPU  "
        f"peak memory {feed_peak / 2**30:.1f} GiB"
    )
    print(
        f"matching quality       precision {report.precision:.4f}  recall {report.recall:.4f}  "
        f"duplicate rate {report.duplicate_rate:.4f}"
    )
    print(
        f"                       review queue {stats.review_queue:,}  held records "
        f"{report.held_for_review:,}  missed children {report.missed_children:,}  "
        f"not loaded (incomplete) {stats.incomplete:,}"
    )
    if baseline:
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
    parser.add_argument(
        "--batch-children", type=int, default=BATCH_CHILDREN, help="children per batch"
    )
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the build from the truth (all of it in memory at once)",
    )
    args = parser.parse_args()
    run(args.scale, args.seed, args.workers, args.batch_children, args.baseline)


if __name__ == "__main__":
    main()
