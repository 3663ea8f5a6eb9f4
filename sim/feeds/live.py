"""The index's source feeds while it runs: each change reaches the index after its feed's lag.

A change in a child's life (a birth, a move, a death, a new school or GP practice) is known to
the index only when the feed that carries it arrives: the GRO birth and death registrations,
the DWP Child Benefit and NHS PDS address changes (whichever arrives first), the School
Census, and PDS for GP registrations (docs/reference.md s5c). Lags are the feeds' mean lags in
data/index/feeds.toml, drawn exponentially per change (one draw per household for a move, so a
family moves together in the index too). Updates are applied in daily batches
(LiveUpdates.deliver; in SQLite, sim.index.store.sqlite_live). Once the index is switched off
the feeds stop: pending updates are dropped and nothing more is accepted (decommissioning
runbook: stop every feed).
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

import numpy as np
import polars as pl

from sim.feeds.parameters import feed_params
from sim.index.store.delivery import Delivery

FEEDS = ("births", "moves", "deaths", "services")


def feed_lags() -> dict[str, float]:
    """Mean lag in days of each live feed, from data/index/feeds.toml.

    A move reaches the index by whichever of the Child Benefit and PDS feeds reports it first:
    the minimum of two exponential lags, itself exponential with the summed rates. A school
    change comes with the School Census, a GP change with PDS (one 'services' feed: the School
    Census lag is used for schools and the PDS lag for practices, see `service_lag`).
    """
    p = feed_params()
    benefit, pds = p.dwp_child_benefit.lag_days_mean.value, p.nhs_pds.lag_days_mean.value
    return {
        "births": p.gro_births.lag_days_mean.value,
        "moves": 1.0 / (1.0 / benefit + 1.0 / pds),
        "deaths": p.gro_deaths.lag_days_mean.value,
        "school": p.school_census.lag_days_mean.value,
        "gp_practice": pds,
    }


class FeedTarget(Protocol):
    """Where a day's batch goes: the index's store (LiveUpdates), or a process writing to it
    (sim.regimes.feed_writer)."""

    def deliver(self, delivery: Delivery) -> None: ...


class LiveFeed:
    """Pending feed updates by the day they arrive; `deliver(day)` applies that day's batch."""

    def __init__(
        self, store: FeedTarget, rng: np.random.Generator, lags: Mapping[str, float] | None = None
    ) -> None:
        self.store, self.rng = store, rng
        self.lags = dict(lags or feed_lags())
        self.pending: dict[dt.date, dict[str, list[pl.DataFrame]]] = {}
        self.delivered: Counter[str] = Counter()
        self.dropped = 0
        self.stopped = False
        self.seconds = 0.0  # time spent writing to the index, by the clock
        self.cpu_seconds = 0.0  # and by this process's CPU time (less disturbed by other work)

    def _days(self, mean: float, count: int) -> np.ndarray:
        return np.maximum(1, np.ceil(self.rng.exponential(mean, count))).astype(np.int64)

    def submit(
        self, feed: str, day: dt.date, updates: pl.DataFrame, group: str | None = None
    ) -> None:
        """Queue `updates` (rows of sim.index.store.delivery.Delivery's `feed` frame) made on `day`.

        Each row arrives after a lag drawn for it, or one per distinct value of `group`: a
        whole number of days, at least one, so a day's updates are all known when the day
        before ends (sim.regimes.live writes them then). A services row's lag is its kind's
        ('school' or 'gp_practice').
        """
        if feed not in FEEDS:
            raise ValueError(f"unknown feed {feed!r}; feeds are {FEEDS}")
        if self.stopped or not updates.height:
            return
        if feed == "services":
            kinds = updates["kind"].to_numpy()
            means = np.select([kinds == "school"], [self.lags["school"]], self.lags["gp_practice"])
            lags = np.maximum(1, np.ceil(self.rng.exponential(means))).astype(np.int64)
        elif group is None:
            lags = self._days(self.lags[feed], updates.height)
        else:
            codes = updates[group].rank("dense").cast(pl.Int64).to_numpy() - 1
            lags = self._days(self.lags[feed], int(codes.max()) + 1)[codes]
        # One sort, then a zero-copy slice per arrival day (no filter per day).
        order = np.argsort(lags, kind="stable")
        lags, updates = lags[order], updates[order]
        days, starts, counts = np.unique(lags, return_index=True, return_counts=True)
        ordinal = day.toordinal()
        for lag, start, count in zip(days, starts, counts, strict=True):
            due = dt.date.fromordinal(ordinal + int(lag))
            part = updates.slice(int(start), int(count))
            self.pending.setdefault(due, {}).setdefault(feed, []).append(part)

    def deliver(self, day: dt.date) -> int:
        """Apply every update due by `day`, oldest first (one transaction); returns how many."""
        due: dict[str, list[pl.DataFrame]] = {}
        for when in sorted(d for d in self.pending if d <= day):
            for feed, parts in self.pending.pop(when).items():
                due.setdefault(feed, []).extend(parts)
        if self.stopped or not due:
            return 0
        started, cpu = time.perf_counter(), time.process_time()
        frames = {feed: pl.concat(parts, how="vertical") for feed, parts in due.items()}
        self.store.deliver(Delivery(**frames))
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu
        for feed, frame in frames.items():
            self.delivered[feed] += frame.height
        return sum(frame.height for frame in frames.values())

    def stop(self) -> int:
        """Stop every feed: pending updates are dropped; returns how many were dropped."""
        self.dropped += sum(
            frame.height for feeds in self.pending.values() for parts in feeds.values()
            for frame in parts
        )  # fmt: skip
        self.pending.clear()
        self.stopped = True
        return self.dropped
