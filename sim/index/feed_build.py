"""Build the index from the source feeds, as the real one was loaded (facts.md s5c).

The feeds (sim.index.feeds) are matched (sim.index.matching) into one record per resolved child
and that record, not the population's truth, is what the index holds: the names as the feeds
gave them (a former surname kept beside the current one, SI 2007/2182 Sch 1 para 1), the
address the matching resolved (stale when the feeds were), the resolved school and GP practice.
A child matched twice is two records, as in 2009. Carers come with the Child Benefit claim, so
they join on the resolved household; schools, practices and their contacts are reference data.

`truth_child_id` is dropped before anything is loaded and used only, in memory, to score the
matching. No shield exists at a first build; later feed records go through
`sim.index.matching.update.merge_update`, which holds any record near a shielded child.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.build import POPULATION_TABLES, index_frames, write_index
from sim.index.feeds import make_feeds
from sim.index.matching import MatchReport, build_index, evaluate
from sim.index.store.keys import with_name_keys
from sim.population.output import read_population

FEED_BUILD_TABLES = (*POPULATION_TABLES, "authorities")
# Fields the index cannot hold a child without (schema.CREATE_TABLES: NOT NULL).
REQUIRED = ("forename", "surname", "gender", "date_of_birth", "authority_code")
ADDRESS = ("address_line", "town", "postcode")
# Feed records matched at a time: bounds the matching's memory (England has ~33 M records);
# an engineering limit, not a domain rule.
BATCH_RECORDS = 4_000_000


@dataclass(frozen=True)
class FeedBuildStats:
    """What was loaded, what each stage cost, and how good the matching was."""

    path: Path
    rows: dict[str, int]
    feed_records: int
    review_queue: int
    incomplete: int
    feeds_seconds: float
    matching_seconds: float
    loading_seconds: float
    report: MatchReport

    @property
    def children(self) -> int:
        return self.rows["child"]

    @property
    def seconds(self) -> float:
        return self.feeds_seconds + self.matching_seconds + self.loading_seconds


def resolved_tables(
    index: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Population-shaped tables holding the resolved children, and their former surnames.

    A household is one resolved (household, address) pair: two children of one family whose
    feeds disagree on the address are two households, each with the family's carers."""
    homes = (
        index.select("household_id", *ADDRESS)
        .filter(pl.any_horizontal(pl.col(c).is_not_null() for c in ADDRESS))
        .unique()
        .sort("household_id", *ADDRESS, nulls_last=True)
        .with_row_index("home", offset=1)
        .with_columns(pl.col("home").cast(pl.Int64))
    )
    children = index.join(homes, on=["household_id", *ADDRESS], how="left", nulls_equal=True)
    carers = (
        homes.select("home", "household_id")
        .join(tables["carers"].rename({"carer_id": "family_carer"}), on="household_id")
        .sort("home", "family_carer")
        .drop("family_carer")
        .with_row_index("carer_id", offset=1)
        .with_columns(pl.col("carer_id").cast(pl.Int64), pl.col("home").alias("household_id"))
        .drop("home")
    )
    resolved = {
        **{name: tables[name] for name in ("schools", "gp_practices", "practitioners")},
        "children": children.drop("household_id", "former_surnames", "sources").rename(
            {"home": "household_id"}
        ),
        "households": homes.drop("household_id").rename({"home": "household_id"}),
        "carers": carers,
    }
    former = (
        index.select("child_id", "forename", "middle_names", "former_surnames", "date_of_birth")
        .explode("former_surnames")
        .drop_nulls("former_surnames")
        .rename({"former_surnames": "surname"})
    )
    return resolved, former


def feed_index_frames(
    index: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """The index's tables (schema.TABLES) from matched children (INDEX_SCHEMA, no truth)."""
    if "truth_child_id" in index.columns:
        raise InputError("matched index: drop truth_child_id before loading")
    resolved, former = resolved_tables(index, tables)
    frames = index_frames(resolved)
    keys = frames["child"].select("child_id", "child_key")
    old = former.join(keys, on="child_id").with_columns(
        pl.col("date_of_birth").dt.to_string("%Y-%m-%d"), current=pl.lit(0)
    )
    old = with_name_keys(with_name_keys(old, "forename"), "surname")
    names = pl.concat([frames["name"], old], how="diagonal_relaxed").sort(
        "child_key", "current", "surname"
    )
    return {**frames, "name": names}


def birth_year_batches(feeds: pl.DataFrame, batch_records: int) -> list[pl.DataFrame]:
    """Feed records in batches of whole birth years, each of about `batch_records` records.

    Every blocking rule (data/index/matching.toml) but postcode + forename holds the date of
    birth or the birth year, and no feed error changes the year (only its day and month are
    swapped), so a child's records never straddle two batches."""
    year = pl.col("date_of_birth").dt.year()
    counts = feeds.group_by(year.alias("year")).len().sort("year", nulls_last=True)
    before = counts["len"].cum_sum() - counts["len"]
    batch = dict(zip(counts["year"].to_list(), (before // batch_records).to_list(), strict=True))
    keyed = feeds.with_columns(
        year.replace_strict(batch, default=-1, return_dtype=pl.Int64).alias("batch")
    )
    return keyed.partition_by("batch", maintain_order=True, include_key=False)


def match_by_birth_years(
    feeds: pl.DataFrame, issuers: pl.DataFrame, seed: int, batch_records: int = BATCH_RECORDS
) -> tuple[pl.DataFrame, int, MatchReport]:
    """The matched index (INDEX_SCHEMA), the review queue's size and the matching's quality.

    Each batch is matched on its own, with weights estimated on it, and IDs for new children
    issued in turn from the same issuers, so the peak memory is one batch's, not England's."""
    indexes, links, review, compared = [], [], 0, 0
    for batch in birth_year_batches(feeds, batch_records):
        result = build_index(batch, issuers, seed)
        issuers = result.issuers
        indexes.append(result.index)
        links.append(result.links)
        review += result.review.height
        compared += result.pairs_compared
    index = pl.concat(indexes).sort("child_id")
    return index, review, evaluate(pl.concat(links), compared)


def _tables(population: dict[str, pl.DataFrame] | Path) -> dict[str, pl.DataFrame]:
    if isinstance(population, Path):
        lazy = read_population(population, FEED_BUILD_TABLES)
        return {name: frame.collect() for name, frame in lazy.items()}
    missing = [name for name in FEED_BUILD_TABLES if name not in population]
    if missing:
        raise InputError(f"population: missing table(s) {', '.join(missing)}")
    return population


def build_index_from_feeds(
    population: dict[str, pl.DataFrame] | Path, db_path: Path, seed: int
) -> FeedBuildStats:
    """Make the feeds, match them and load the matched children into a new index at `db_path`.

    A resolved child missing a field the index requires (REQUIRED) is not loaded and is
    counted in `incomplete`."""
    if db_path.exists():
        raise InputError(f"{db_path}: already exists; an index is built once, then updated")
    tables = _tables(population)
    started = time.perf_counter()
    feeds = make_feeds(tables, seed)
    fed = time.perf_counter()
    index, review_queue, report = match_by_birth_years(feeds, tables["authorities"], seed)
    matched = time.perf_counter()
    records = feeds.height
    del feeds  # the feed records are not loaded: free them before loading
    index = index.drop("truth_child_id")
    complete = index.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in REQUIRED))
    rows = write_index(feed_index_frames(complete, tables), db_path)
    loaded = time.perf_counter()
    return FeedBuildStats(
        path=db_path,
        rows=rows,
        feed_records=records,
        review_queue=review_queue,
        incomplete=index.height - complete.height,
        feeds_seconds=fed - started,
        matching_seconds=matched - fed,
        loading_seconds=loaded - matched,
        report=report,
    )
