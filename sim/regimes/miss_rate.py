"""The modelled index's search-miss rate, measured on an index loaded from the source feeds.

Without a deployment a run models the index by a search-miss rate (data/regimes/paths.toml
`search_miss_rate`): the share of lookups that do not find the child. That share is measured
here rather than assumed: the population's feeds are made, matched and loaded as the real index
was (sim.feeds.build), then a sample of the population's children is searched as a
practitioner searches in a run (sim.regimes.lookup.FacadeLookup: forename, surname and date of
birth as the practitioner knows them, the index's exact search). A search misses when no hit
is a record of the child: the child was held for review or dropped, is under other details (a
feed error won the vote), or was merged into another child's record. `write_miss_rate` puts
the measurement into the data file, its source naming the population, seed and sample, so a
value in data/ can be re-made by one command (`cpw data measure-miss-rate`).
"""

import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sim.errors import InputError
from sim.feeds.build import FEED_BUILD_TABLES, build_index_from_feeds
from sim.index.search import SearchQuery, search
from sim.index.store.backends import open_index
from sim.population.output import read_population
from sim.reference.authorities import load_authorities
from sim.reference.paths import data_path
from sim.streams import stream
from sim.world.encounters import PATHS_FILE

MISS_STREAM = 903  # key under the 'feeds' stream: the sample of children searched


@dataclass(frozen=True)
class MissRate:
    """A measured search-miss rate and what it was measured on."""

    population: str  # the population directory's description (its manifest's seed and scale)
    seed: int  # the feeds' seed
    children: int  # in the population
    records: int  # in the fed index
    searched: int
    missed: int
    duplicates: int  # children held under more than one record

    @property
    def rate(self) -> float:
        return self.missed / self.searched

    @property
    def interval(self) -> tuple[float, float]:
        """95% Wilson interval of the rate (sampling only)."""
        n, p, z = self.searched, self.rate, 1.96
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def source(self) -> str:
        low, high = self.interval
        return (
            f"Measured by `cpw data measure-miss-rate` on {self.population}: feeds seed "
            f"{self.seed}, {self.children:,} children loaded from their matched feeds into "
            f"{self.records:,} records ({self.duplicates:,} children under more than one); "
            f"{self.missed:,} of {self.searched:,} sampled children not found by forename, "
            f"surname and date of birth (95% CI {low:.4f} to {high:.4f}; sampling only). As good "
            "as the feed error rates and matching rules it runs (data/index/feeds.toml, "
            "data/index/matching.toml)"
        )


def _label(population: Path) -> str:
    """'a `cpw synth` population (seed 1, scale 0.1, North West)': the run that made it."""
    try:
        manifest = json.loads((population / "manifest.json").read_text())
    except (OSError, ValueError):
        return str(population)
    codes = set(manifest.get("authorities") or [])
    regions: dict[str, set[str]] = {}
    for authority in load_authorities():
        regions.setdefault(authority.region, set()).add(authority.code)
    whole = sorted(name for name, members in regions.items() if members <= codes)
    covered = set().union(*(regions[name] for name in whole)) if whole else set()
    where = ", ".join(whole) if covered == codes else f"{len(codes)} authorities"
    if len(whole) == len(regions):
        where = "England"
    return (
        f"a `cpw synth` population (seed {manifest.get('seed')}, scale {manifest.get('scale')}, "
        f"{where})"
    )


def measure_miss_rate(population: Path, seed: int, sample: int) -> MissRate:
    """Build the fed index of `population` in a scratch directory and search `sample` children."""
    population = Path(population)
    if not population.is_dir():
        raise InputError(f"{population}: no population directory (make one with `cpw synth`)")
    if sample < 1:
        raise InputError("--sample: must be at least 1")
    tables = {
        name: f.collect() for name, f in read_population(population, FEED_BUILD_TABLES).items()
    }
    children = tables["children"]
    if children.is_empty():
        raise InputError(f"{population}: the population has no children")
    rng = stream(seed, "feeds", MISS_STREAM)
    rows = np.sort(rng.choice(children.height, size=min(sample, children.height), replace=False))
    picked = children[rows].select("child_id", "forename", "surname", "date_of_birth")
    with tempfile.TemporaryDirectory(prefix="cpw-miss-rate-") as scratch:
        db = Path(scratch) / "index.db"
        stats = build_index_from_feeds(tables, db, seed, keep_truth=True)
        truth = pl.concat(stats.truth or []).unique("child_id")
        true_of = dict(truth.filter(pl.col("child_id") != pl.col("truth_child_id")).iter_rows())
        store = open_index(db)
        try:
            missed = sum(
                not any(
                    true_of.get(hit.child_id, hit.child_id) == child_id
                    for hit in search(
                        store, SearchQuery(forename=f, surname=s, date_of_birth=b)
                    ).hits
                )
                for child_id, f, s, b in picked.iter_rows()
            )
        finally:
            store.close()
        held = truth.join(pl.DataFrame({"child_id": _loaded(db)}), on="child_id", how="semi")
    duplicates = held.group_by("truth_child_id").len().filter(pl.col("len") > 1).height
    return MissRate(
        _label(population), seed, children.height, stats.children, len(picked), missed, duplicates
    )


def _loaded(db: Path) -> list[str]:
    store = open_index(db, read_only=True)
    try:
        return store.household_keys()["child_id"].to_list()
    finally:
        store.close()


def write_miss_rate(measured: MissRate) -> Path:
    """Replace `search_miss_rate` in data/regimes/paths.toml by the measurement (value, source,
    year, confidence); every other line of the file is kept as it is."""
    path = data_path(PATHS_FILE)
    text = path.read_text()
    block = re.compile(r"^\[search_miss_rate\]\n(?:(?!\[).*\n)*", re.MULTILINE)
    if not block.search(text):
        raise InputError(f"{path}: no [search_miss_rate] table to replace")
    source = measured.source().replace("\\", "\\\\").replace('"', '\\"')
    table = (
        "[search_miss_rate]\n"
        f"value = {measured.rate:.4f}\n"
        'unit = "share of lookups that do not find the child (matching misses, duplicates, '
        'feed errors) when the index is modelled"\n'
        f'source = "{source}"\n'
        "year = 2009\n"
        'confidence = "low"\n\n'
    )
    path.write_text(block.sub(lambda _: table, text, count=1))
    return path
