"""A run's real index loaded from the source feeds: scoring its answers, routing the world's news.

A deployment made with `cpw deploy --from-feeds` (sim.deployment.fed) holds the matched
feed records, not the population: a child may be under a newly issued ID, under two records
(a missed link), merged with another child, or absent (held for review, or missing a field).
So a practitioner's search by name and date of birth can miss where the index's data is wrong:
a lookup finds the child only if a hit is a record of that child (`IndexTruth.of`, from the
deployment's DEPLOYMENT.feed-truth.parquet, never shown to the index).

The world's changes are about true children and households; the live feeds deliver them to the
records the feeds linked them to (`route`): a change reaches the child's own record and every
record issued for the child's other feed records, and a household's news reaches the index
household its children's records were loaded into (a newborn's household new to the index is
keyed above the build's keys; a move of a family the build held no record of is not delivered).
"""

from collections.abc import Callable
from pathlib import Path

import polars as pl

from sim.deployment.fed import read_truth
from sim.feeds.live import FeedTarget, LiveFeed
from sim.index.store.protocols import IndexCensus

SAMPLE = 200  # index records whose true child is checked against the run's population


def is_fed(header: dict) -> bool:
    return header.get("index_from") == "feeds"


def check_fed(path: Path, header: dict, children: pl.DataFrame, canaries: int) -> str | None:
    """Why a fed deployment was not made from this population (None if it was)."""
    truth = read_truth(path)
    if truth is None:
        return "its feed-truth file is missing (deploy again with --from-feeds)"
    made = int(header.get("children", -1)) - canaries
    if made != children.height:
        return f"it was fed from {made:,} children, the run's population has {children.height:,}"
    sample = truth["truth_child_id"].gather_every(max(1, truth.height // SAMPLE))
    unknown = sample.filter(~sample.is_in(children["child_id"].implode()))
    if len(unknown):
        return f"{len(unknown)} of {len(sample)} sampled records stand for children not in the run "
        f"(e.g. {unknown[0]})"
    return None


class IndexTruth:
    """Each index ID's true child, held only where they differ (a newly issued ID)."""

    def __init__(self, truth: pl.DataFrame) -> None:
        differ = truth.filter(pl.col("child_id") != pl.col("truth_child_id"))
        self.aliases = differ.select("truth_child_id", "child_id")
        self._true = dict(differ.iter_rows())
        self._records: dict[str, tuple[str, ...]] = {}
        for index_id, child in sorted(self._true.items()):
            self._records[child] = (*self._records.get(child, ()), index_id)

    def of(self, index_id: str) -> str:
        """The true child of the record `index_id` (its own ID unless newly issued)."""
        return self._true.get(index_id, index_id)

    def records_of(self, child_id: str) -> tuple[str, ...]:
        """The index IDs whose true child is `child_id` (`of` inverted): its own ID unless
        that record stands for another child, and every ID newly issued for it."""
        own = () if child_id in self._true else (child_id,)
        return own + self._records.get(child_id, ())


class FedRouting:
    """The world's feed updates addressed to a fed index's records and households."""

    def __init__(self, index: IndexCensus, truth: IndexTruth, children: pl.DataFrame) -> None:
        held = index.household_keys()
        self.top = index.last_household_key()
        true = held.join(
            truth.aliases.rename({"truth_child_id": "true_id"}), on="child_id", how="left"
        ).with_columns(pl.coalesce("true_id", "child_id").alias("true_id"))
        # the index household a true household's records were loaded into (the eldest's)
        self.homes = (
            children.select(pl.col("child_id").alias("true_id"), "household_id", "date_of_birth")
            .join(true.drop_nulls("household_key"), on="true_id")
            .sort("household_id", "date_of_birth", "child_id")
            .unique("household_id", keep="first", maintain_order=True)
            .select("household_id", pl.col("household_key").alias("index_household"))
        )
        self.aliases = truth.aliases

    def route(self, feed: str, updates: pl.DataFrame) -> pl.DataFrame:
        """`updates` (about true children) for the records standing for them."""
        extra = updates.join(self.aliases, left_on="child_id", right_on="truth_child_id")
        extra = extra.drop("child_id").rename({"child_id_right": "child_id"})
        routed = pl.concat([updates, extra.select(updates.columns)])
        if feed == "births":  # a household new to the index is keyed above the build's
            return (
                routed.join(
                    self.homes, left_on="household_key", right_on="household_id", how="left"
                )
                .with_columns(
                    pl.coalesce("index_household", pl.col("household_key") + self.top)
                    .cast(pl.Int64)
                    .alias("household_key")
                )
                .select(updates.columns)
            )
        if feed == "moves":  # a family the build loaded no record of stays unknown to the index
            return (
                routed.join(self.homes, left_on="household_key", right_on="household_id")
                .with_columns(pl.col("index_household").alias("household_key"))
                .select(updates.columns)
            )
        return routed


class RoutedFeed(LiveFeed):
    """A live feed whose updates are routed to a fed index's records before they queue."""

    def __init__(self, store: FeedTarget, rng, routing: FedRouting) -> None:
        super().__init__(store, rng)
        self.routing = routing

    def submit(self, feed: str, day, updates: pl.DataFrame, group: str | None = None) -> None:
        if self.stopped or not updates.height:
            return
        super().submit(feed, day, self.routing.route(feed, updates), group)


def scorer(truth: IndexTruth | None) -> Callable[[str], str]:
    """Who a hit is: the record's true child for a fed index, its ID otherwise."""
    return (lambda index_id: index_id) if truth is None else truth.of
