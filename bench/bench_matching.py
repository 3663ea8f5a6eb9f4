"""Feed generation and matching at a fraction of England, against an exact-key baseline.

    .venv/bin/python bench/bench_matching.py --scale 0.05

Prints feed generation time, matching time, candidate pairs compared, and precision, recall
and duplicate rate for the Fellegi-Sunter matching and for the baseline that joins records on
surname + date of birth + postcode exactly, so the gain is visible in one run. The headline
figures are out of sample: the m/u weights are estimated from another seed's population and
feeds (--train-seed, default seed + 1) and scored on this seed's; the in-sample figures (weights
estimated from the very feeds they score) are printed beside them for comparison.

It matches every record at once (sim.feeds.matching.build_index), so it holds all feeds and
pairs in memory: above a third of England use bench/bench_feed_build.py, which streams birth
cohorts and measures the same figures at full England.
"""

import argparse
import time

from sim.feeds import make_feeds
from sim.feeds.matching import (
    MatchReport,
    build_index,
    estimate_weights,
    evaluate,
    exact_key_links,
    matching_params,
)
from sim.feeds.matching.standardise import standardise
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities

MAX_SCALE = 0.33


def _line(name: str, report: MatchReport, seconds: float | None) -> str:
    took = f"{seconds:8.2f} s" if seconds is not None else " " * 10
    return (
        f"{name:<18} {took}  pairs {report.pairs_compared:>11,}  "
        f"precision {report.precision:.4f}  recall {report.recall:.4f}  "
        f"duplicates {report.duplicate_rate:.4f}  held {report.held_for_review:,}  "
        f"missed children {report.missed_children:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="fraction of England")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--train-seed", type=int, default=None, help="seed whose feeds give the weights"
    )
    parser.add_argument(
        "--authorities", nargs="*", default=None, help="authority codes (default: all)"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for synthesis")
    args = parser.parse_args()
    if args.scale > MAX_SCALE:
        parser.exit(
            2,
            f"--scale: {args.scale} is above {MAX_SCALE}; matching every record at once does "
            "not fit in memory: use bench/bench_feed_build.py --scale 1.0\n",
        )
    codes = tuple(args.authorities or [a.code for a in load_authorities()])

    start = time.perf_counter()
    population = synthesise(SynthRequest(args.seed, args.scale, codes), workers=args.workers)
    synth_s = time.perf_counter() - start
    start = time.perf_counter()
    feeds = make_feeds(population, args.seed)
    feeds_s = time.perf_counter() - start
    train_seed = args.seed + 1 if args.train_seed is None else args.train_seed
    if train_seed == args.seed:
        parser.exit(2, "--train-seed: must differ from --seed to measure out of sample\n")
    start = time.perf_counter()
    training = synthesise(SynthRequest(train_seed, args.scale, codes), workers=args.workers)
    training_feeds = standardise(make_feeds(training, train_seed))
    weights = estimate_weights(training_feeds, matching_params(), train_seed)
    del training, training_feeds
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    result = build_index(feeds, population["authorities"], args.seed, weights=weights)
    match_s = time.perf_counter() - start
    in_sample = build_index(feeds, population["authorities"], args.seed)
    start = time.perf_counter()
    baseline = exact_key_links(feeds)
    base_report = evaluate(baseline)
    base_s = time.perf_counter() - start

    children = population["children"].height
    print(f"scale {args.scale} of England: {len(codes)} authorities, {children:,} children")
    print(f"synthesis          {synth_s:8.2f} s")
    print(f"feed generation    {feeds_s:8.2f} s  {feeds.height:,} records")
    for source, count in feeds.group_by("source").len().sort("source").iter_rows():
        print(f"  {source:<20} {count:>10,}")
    print(f"weights from seed {train_seed} (another population and its feeds) {train_s:8.2f} s")
    print(_line("fellegi-sunter", evaluate(result.links, result.pairs_compared), match_s))
    print(_line("  in sample", evaluate(in_sample.links, in_sample.pairs_compared), None))
    print(_line("exact-key baseline", base_report, base_s))
    print(f"index records {result.index.height:,}; review queue {result.review.height:,}")
    rate = result.pairs_compared / feeds.height
    print(f"pairs compared per record {rate:.2f} (near-linear when this stays flat with scale)")


if __name__ == "__main__":
    main()
