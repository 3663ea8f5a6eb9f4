"""A deployment's index loaded from the source feeds (`cpw deploy --from-feeds`).

The real index was loaded from the national feeds, matched into one record per child
(docs/reference.md s5c), so it held duplicates, missed links and records waiting for review.
Here the population's children go through the same feed build as `cpw index build --from-feeds`
(sim.feeds.build): the index holds the matched records, never the population's truth.

The canaries are not fed: they are planted records whose names and IDs the destruction checks
and the switch-off probes look for exactly, so they arrive as birth registrations through the
live-update path (the store's `deliver`), each in a household of its own.

Which true child each index record stands for (the majority of its feed records) is written
beside the deployment, outside its tree (DEPLOYMENT.feed-truth.parquet): a simulation uses it
to score a lookup (did the practitioner open the right child's record?), the index never does.
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.feeds.build import FeedBuildStats, build_index_from_feeds
from sim.index.store import IndexStore
from sim.index.store.backends import open_index
from sim.index.store.delivery import Delivery

TRUTH_FILE = "feed-truth.parquet"
TRUTH_SCHEMA = pl.Schema({"child_id": pl.String, "truth_child_id": pl.String})


@dataclass(frozen=True)
class FedIndex:
    """What a fed build made: its statistics and each index ID's true child."""

    stats: FeedBuildStats
    truth: pl.DataFrame  # TRUTH_SCHEMA, one row per index ID the build issued or linked


def build_fed_index(
    tables: dict[str, pl.DataFrame], canaries: dict[str, pl.DataFrame], db_path: Path, seed: int
) -> FedIndex:
    """The population's index from its feeds at `db_path`, then the canaries added exactly.

    `tables` holds the population (with `authorities`); `canaries` the canaries' children,
    households and schools/practices as planted (sim.deployment.canaries)."""
    stats = build_index_from_feeds(tables, db_path, seed, keep_truth=True)
    truth = pl.concat(stats.truth or [pl.DataFrame(schema=TRUTH_SCHEMA)]).cast(dict(TRUTH_SCHEMA))
    if canaries["children"].height:
        store = open_index(db_path)
        try:
            store.deliver(canary_delivery(store, canaries, tables))
        finally:
            store.close()
    return FedIndex(stats, truth.unique("child_id").sort("child_id"))


def canary_delivery(
    store: IndexStore, canaries: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> Delivery:
    """The canaries as birth registrations (each a new household) and their school and GP."""
    last = store.last_household_key()
    children = canaries["children"].join(
        canaries["households"].select("household_id", "address_line", "town", "postcode"),
        on="household_id",
    )
    children = children.with_columns(
        household_key=pl.col("household_id").rank("dense").cast(pl.Int64) + last,
        date_of_birth=pl.col("date_of_birth").dt.to_string("%Y-%m-%d"),
    )
    births = children.select(
        "child_id", "authority_code", "gender", "date_of_birth", "household_key", "forename",
        "surname", "address_line", "town", "postcode",
    )  # fmt: skip
    schools = tables["schools"].select(
        pl.col("urn").cast(pl.String).alias("code"), "name", kind=pl.lit("school")
    )
    practices = tables["gp_practices"].select(
        pl.col("practice_code").alias("code"), "name", kind=pl.lit("gp_practice")
    )
    services = pl.concat(
        [
            children.select("child_id", pl.col("school_urn").cast(pl.String).alias("code"))
            .drop_nulls("code")
            .join(schools, on="code"),
            children.select("child_id", pl.col("gp_practice_code").alias("code"))
            .drop_nulls("code")
            .join(practices, on="code"),
        ]
    ).select("child_id", "kind", "code", "name")
    return Delivery(births=births, services=services)


def truth_path(deployment: Path) -> Path:
    """DEPLOYMENT.feed-truth.parquet, beside the deployment's tree."""
    deployment = Path(deployment)
    return deployment.parent / f"{deployment.name}.{TRUTH_FILE}"


def read_truth(deployment: Path) -> pl.DataFrame | None:
    """The index IDs' true children of a fed deployment, or None for one built from truth."""
    path = truth_path(deployment)
    return pl.read_parquet(path).cast(dict(TRUTH_SCHEMA)) if path.is_file() else None
