"""The world's events as the index's feed updates (sim.feeds.live), for every live index.

Births become birth registrations (a name drawn as the synthetic population's were,
sim.population.names; the family's surname where the family is already on the index),
moves become address changes (a home drawn from the destination's households), deaths
become death registrations, and school and GP changes replace an involvement. Each is queued
on every live index's feed, which applies it after the feed's lag. Every draw comes from the
'feeds' stream, never the world's.
"""

from collections.abc import Mapping

import numpy as np
import polars as pl

from sim.feeds.live import LiveFeed
from sim.population.names import sample_forenames, sample_surnames
from sim.reference.authorities import load_authorities
from sim.streams import stream
from sim.world.calendar import to_date
from sim.world.events import Event, EventBatch
from sim.world.state import NONE, UNBORN

LIVE_FEED_STREAM = 900  # key under the 'feeds' stream, clear of the feed builder's keys
HOMES = 5000  # donor addresses kept per authority (England: 0.8 M of 6 M households)


class WorldFeeds:
    """The world's events as feed updates, submitted to every live index of the run."""

    def __init__(
        self,
        world,
        population: Mapping[str, pl.DataFrame | pl.LazyFrame],
        feeds: list[LiveFeed],
        *,
        seed: int,
        replication: int,
    ) -> None:
        self.state, self.feeds = world.state, feeds
        self.rng = stream(seed, "feeds", LIVE_FEED_STREAM, replication, 1)
        self.codes = np.array([a.code for a in load_authorities()], dtype=object)
        ordinal = {a.code: i for i, a in enumerate(load_authorities())}
        tables = {
            name: frame.collect() if isinstance(frame, pl.LazyFrame) else frame
            for name, frame in population.items()
            if name in ("households", "schools", "gp_practices")
        }
        # Donor addresses: a movers' new home is the address of one of (at most) HOMES
        # households of the destination in the population.
        homes = (
            tables["households"]
            .sort("household_id")
            .group_by("authority_code", maintain_order=True)
            .head(HOMES)
            .select(
                pl.col("authority_code").replace_strict(ordinal, return_dtype=pl.Int64).alias("o"),
                "address_line",
                "town",
                "postcode",
            )
            .sort("o", maintain_order=True)
        )
        self.homes = {name: homes[name].to_numpy() for name in ("address_line", "town", "postcode")}
        counts = np.bincount(homes["o"].to_numpy(), minlength=len(self.codes))
        self.home_start, self.home_count = np.r_[0, np.cumsum(counts)[:-1]], counts
        # Names by catalogue row: the world's catalogues are sorted by URN and practice code.
        self.names = {
            "school": _names_by_code(
                self.state.schools.labels.astype(str),
                tables["schools"].select(pl.col("urn").cast(pl.String).alias("code"), "name"),
            ),
            "gp_practice": _names_by_code(
                self.state.practices.labels.astype(str),
                tables["gp_practices"].select(pl.col("practice_code").alias("code"), "name"),
            ),
        }
        world.subscribe(self.on_batch)

    def _addresses(self, authority: np.ndarray) -> dict[str, np.ndarray]:
        """A home in each authority: the address of a household drawn from the population."""
        count = self.home_count[authority]
        pick = self.home_start[authority] + (self.rng.random(len(authority)) * count).astype(int)
        pick = np.minimum(pick, max(len(self.homes["postcode"]) - 1, 0))
        return {
            name: np.where(count > 0, values[pick], None) if len(values) else values
            for name, values in self.homes.items()
        }

    def on_batch(self, batch: EventBatch) -> None:
        if all(feed.stopped for feed in self.feeds) or not len(batch.child):
            return
        made = {
            Event.BIRTH: ("births", self._births, None),
            Event.MOVE: ("moves", self._moves, "household_key"),
            Event.DEATH: ("deaths", self._deaths, None),
            Event.SCHOOL_CHANGE: ("services", lambda b: self._services(b, "school"), None),
            Event.GP_CHANGE: ("services", lambda b: self._services(b, "gp_practice"), None),
        }.get(batch.event)
        if made is None:
            return
        feed_name, build, group = made
        updates = build(batch)
        for feed in self.feeds:
            feed.submit(feed_name, to_date(batch.day), updates, group)

    def _ids(self, rows: np.ndarray) -> np.ndarray:
        return self.state.children.child_id[rows].astype("U9")

    def _births(self, batch: EventBatch) -> pl.DataFrame:
        c, h = self.state.children, self.state.households
        rows = batch.child
        authority = c.authority[rows].astype(np.int64)
        male = c.male[rows]
        forename = sample_forenames(self.rng, male)
        surname = sample_surnames(self.rng, len(rows))
        return pl.DataFrame(
            {
                "child_id": self._ids(rows),
                "authority_code": self.codes[authority],
                "gender": np.where(male, "male", "female"),
                "date_of_birth": c.born[rows].astype("datetime64[D]").astype(str),
                "household_key": h.household_id[c.household[rows]],
                "forename": forename,
                "surname": surname,
                **self._addresses(authority),
            },
            strict=False,
        )

    def _moves(self, batch: EventBatch) -> pl.DataFrame:
        c, h = self.state.children, self.state.households
        born = c.status[batch.child] != UNBORN  # no feed knows an unborn child
        rows = batch.child[born]
        household = c.household[rows]
        destination = batch.column("authority").astype(np.int64)[born]
        _, first, inverse = np.unique(household, return_index=True, return_inverse=True)
        homes = self._addresses(destination[first])
        return pl.DataFrame(
            {
                "child_id": self._ids(rows),
                "authority_code": self.codes[destination],
                "household_key": h.household_id[household],
                **{name: values[inverse] for name, values in homes.items()},
            },
            strict=False,
        )

    def _deaths(self, batch: EventBatch) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "child_id": self._ids(batch.child),
                "died_on": np.full(len(batch.child), to_date(batch.day).isoformat()),
            }
        )

    def _services(self, batch: EventBatch, kind: str) -> pl.DataFrame:
        rows = batch.column("school" if kind == "school" else "gp")
        keep = rows != NONE
        catalogue = self.state.schools if kind == "school" else self.state.practices
        return pl.DataFrame(
            {
                "child_id": self._ids(batch.child[keep]),
                "kind": np.full(int(keep.sum()), kind),
                "code": catalogue.labels[rows[keep]].astype(str),
                "name": self.names[kind][rows[keep]],
            },
            strict=False,
        )


def _names_by_code(codes: np.ndarray, names: pl.DataFrame) -> np.ndarray:
    """The name of each code, in the codes' order (the code itself where none is known)."""
    frame = pl.DataFrame({"code": codes}).join(names, on="code", how="left", maintain_order="left")
    return frame.select(pl.coalesce("name", "code"))["name"].to_numpy()
