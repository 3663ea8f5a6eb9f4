"""Build the index from the source feeds, as the real one was loaded (docs/reference.md s5c), in
batches.

England's feeds hold ~33 M records; made, matched and loaded all at once they need ~23 GiB.
So the build streams by birth cohort, the one partition no pair of a child's records crosses:
every blocking rule holds the date of birth or the birth year (MatchingParams checks it) and no
feed error changes the year (sim/feeds/corruption.py swaps only day and month).

1. Each cohort's feeds are made (draws keyed by the birth year, never by batch), spilled to a
   Parquet file beside the index, and counted towards the Fellegi-Sunter weights: one set of
   weights for England, whatever the batching.
2. Batches of whole cohorts (about `batch_children` children each) are read back, matched and
   loaded in birth-year order; new IDs are issued in that order.

So peak memory follows the batch, and the index is the same for any batch size. The matched
records, not the population's truth, are what the index holds (sim/feeds/load.py);
`truth_child_id` is used only, in memory, to estimate weights and score the matching, and the
spilled feeds are deleted when the build ends. No shield exists at a first build; later feed
records go through `sim.feeds.matching.update.merge_update`, which holds any record near a
shielded child.
"""

import math
import tempfile
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.feeds import CohortFeeds
from sim.feeds.load import FeedLoad
from sim.feeds.matching import MatchReport, MatchWeights, build_index, matching_params
from sim.feeds.matching.evaluate import LinkTally, tally
from sim.feeds.matching.standardise import standardise
from sim.feeds.matching.weights import MATCHING_STREAM, LevelCounts, count_levels
from sim.index.build import POPULATION_TABLES, write_index_batches
from sim.population.output import read_population
from sim.streams import stream

FEED_BUILD_TABLES = (*POPULATION_TABLES, "authorities")
# Fields the index cannot hold a child without (schema.CREATE_TABLES: NOT NULL).
REQUIRED = ("forename", "surname", "gender", "date_of_birth", "authority_code")
# Children matched and loaded at a time: bounds the build's memory; an engineering limit, not a
# domain rule, and the index does not depend on it. England's cohorts hold ~0.6 M children
# each, so there every batch is one cohort (~1.9 M feed records); measured at 0.2 of England,
# two batches of ~0.55 M children in flight cost ~3.3 GiB above the population's tables.
BATCH_CHILDREN = 300_000


@dataclass
class FeedBuildStats:
    """What was loaded, what each stage cost, and how good the matching was."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    feed_records: int = 0
    review_queue: int = 0
    incomplete: int = 0
    batches: int = 0
    feeds_seconds: float = 0.0
    weights_seconds: float = 0.0
    matching_seconds: float = 0.0
    loading_seconds: float = 0.0
    report: MatchReport = field(default_factory=lambda: LinkTally(0, 0, 0, 0, 0, 0, 0, 0).report())
    # Index ID -> the child most of its feed records came from (child_id, truth_child_id), kept
    # only when a caller asks (keep_truth): for scoring a simulation's lookups, never loaded.
    truth: list[pl.DataFrame] | None = None

    @property
    def children(self) -> int:
        return self.rows["child"]

    waiting_seconds: float = 0.0
    seconds: float = 0.0  # wall time: matching the next batch overlaps loading this one


def cohort_batches(children: pl.DataFrame, batch_children: int) -> list[list[int]]:
    """Birth years, oldest first, grouped into batches of about `batch_children` children;
    a cohort larger than that is a batch of its own."""
    if batch_children < 1:
        raise InputError("batch_children: must be at least 1")
    sizes = children.group_by(pl.col("date_of_birth").dt.year().alias("year")).len().sort("year")
    batches: list[list[int]] = []
    held = 0
    for year, size in sizes.iter_rows():
        if not batches or held + size > batch_children:
            batches.append([])
            held = 0
        batches[-1].append(year)
        held += size
    return batches


def prefetched(
    batches: Iterator[dict[str, pl.DataFrame]], stats: FeedBuildStats
) -> Generator[dict[str, pl.DataFrame], None, None]:
    """The batches, each made in a background thread while the caller loads the one before
    (polars and SQLite both release the interpreter lock, so two cores share the work); at most
    two batches are held at once. The time spent waiting for a batch goes to `stats`."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="match") as pool:
        upcoming = pool.submit(next, batches, None)
        while True:
            started = time.perf_counter()
            frames = upcoming.result()
            stats.waiting_seconds += time.perf_counter() - started
            if frames is None:
                return
            upcoming = pool.submit(next, batches, None)
            yield frames
            del frames


def _tables(population: dict[str, pl.DataFrame] | Path) -> dict[str, pl.DataFrame]:
    if isinstance(population, Path):
        lazy = read_population(population, FEED_BUILD_TABLES)
        return {name: frame.collect() for name, frame in lazy.items()}
    missing = [name for name in FEED_BUILD_TABLES if name not in population]
    if missing:
        raise InputError(f"population: missing table(s) {', '.join(missing)}")
    return population


def spill_feeds(made: CohortFeeds, spill: Path, stats: FeedBuildStats) -> MatchWeights:
    """Make each cohort's feeds into `spill`/<year>.parquet and estimate England's weights.

    A cohort's share of the labelled children and random pairs (matching.toml) is its share
    of the children, each drawn from a stream keyed by its birth year."""
    params = matching_params()
    years = made.population["children"].group_by(pl.col("date_of_birth").dt.year()).len()
    shares = (years["len"] / years["len"].sum()).to_list()
    share = dict(zip(years["date_of_birth"].to_list(), shares, strict=True))
    counts: LevelCounts | None = None
    for year in made.years:
        started = time.perf_counter()
        feeds = made.feeds(year)
        feeds.write_parquet(spill / f"{year}.parquet")
        stats.feed_records += feeds.height
        fed = time.perf_counter()
        cohort = count_levels(
            standardise(feeds),
            stream(made.seed, "feeds", MATCHING_STREAM, 1, year),
            math.ceil(params.labelled_children.value * share[year]),
            math.ceil(params.random_pairs.value * share[year]),
            tuple(params.term_frequency_fields.value),
        )
        counts = cohort if counts is None else counts + cohort
        stats.feeds_seconds += fed - started
        stats.weights_seconds += time.perf_counter() - fed
    if counts is None:
        raise InputError("population: no children to build an index from")
    return counts.weights()


def matched_batches(
    batches: list[list[int]],
    spill: Path,
    load: FeedLoad,
    issuers: pl.DataFrame,
    weights: MatchWeights,
    stats: FeedBuildStats,
) -> Iterator[dict[str, pl.DataFrame]]:
    """Each batch's index frames: its cohorts' feeds read back, matched and keyed for loading.

    The matching's quality is tallied batch by batch into `stats.report`."""
    quality = LinkTally(0, 0, 0, 0, 0, 0.0, 0.0, 0.0)
    compared = 0
    for years in batches:
        started = time.perf_counter()
        feeds = pl.concat([pl.read_parquet(spill / f"{year}.parquet") for year in years])
        result = build_index(feeds, issuers, seed=0, weights=weights)  # seed: weights given
        del feeds
        issuers = result.issuers
        batch = tally(result.links)
        quality += batch
        compared += result.pairs_compared
        stats.review_queue += result.review.height
        if stats.truth is not None:
            stats.truth.append(result.index.select("child_id", "truth_child_id"))
        index = result.index.drop("truth_child_id")
        complete = index.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in REQUIRED))
        stats.incomplete += index.height - complete.height
        frames = load.frames(complete, result.deaths)
        del result, index, complete
        stats.matching_seconds += time.perf_counter() - started
        stats.batches += 1
        yield frames
    stats.report = quality.report(compared)


def build_index_from_feeds(
    population: dict[str, pl.DataFrame] | Path,
    db_path: Path,
    seed: int,
    batch_children: int = BATCH_CHILDREN,
    keep_truth: bool = False,
) -> FeedBuildStats:
    """Make the feeds, match them and load the matched children into a new index at `db_path`,
    batch by batch of birth cohorts.

    A resolved child missing a field the index requires (REQUIRED) is not loaded and is
    counted in `incomplete`. With `keep_truth`, `stats.truth` holds each loaded index ID's
    true child (for scoring only; the index never holds it)."""
    if db_path.exists():
        raise InputError(f"{db_path}: already exists; an index is built once, then updated")
    tables = _tables(population)
    stats = FeedBuildStats(path=db_path, truth=[] if keep_truth else None)
    batches = cohort_batches(tables["children"], batch_children)
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{db_path.name}.feeds-", dir=db_path.parent) as tmp:
        spill = Path(tmp)
        weights = spill_feeds(CohortFeeds(tables, seed), spill, stats)
        started = time.perf_counter()
        load = FeedLoad(tables)
        matched = matched_batches(batches, spill, load, tables["authorities"], weights, stats)
        frames = prefetched(matched, stats)
        try:
            stats.rows = write_index_batches(frames, db_path)
        finally:
            frames.close()  # a failed load stops the matcher before the spill is removed
        loaded = time.perf_counter()
    stats.loading_seconds = loaded - started - stats.waiting_seconds
    stats.seconds = time.perf_counter() - begun
    return stats
