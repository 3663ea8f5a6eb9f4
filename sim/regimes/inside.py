"""A run with the real index inside: one live copy of a deployment per arm that uses ContactPoint.

    with LiveRun(deployment, population, directory, seed=1, replication=0, start=start) as live:
        live.prepare(["history"])               # its copy made while the world is built
        lookup = live.index_for("history")      # before building that arm's schedule
        live.schedule_built("history", schedule)   # its switch-off: when ContactPoint ends
        runner = RegimeRunner(world, schedules, paths, indexes=live.indexes())
        live.feed_from(world)

Arms run on one world, but an arm's index is switched off when its ContactPoint ends (noon
on 6 August 2010 in history) while another arm keeps it, so each arm has its own copy; the
copies live in a hidden directory inside the run's output and are removed when the run ends.
`switch_off` (a scenario's `[index] switch_off`) switches every copy off at that moment
whatever the arm's regimes say: lookups after it are refused by the index itself.
"""

import datetime as dt
import shutil
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.regimes.copy_maker import CopyMaker
from sim.regimes.deployment import check_deployment, held_by_authority
from sim.regimes.helper_process import can_start_processes
from sim.regimes.live import DeploymentIndex
from sim.regimes.lookup import Identities
from sim.regimes.lookup_workers import machine_cores
from sim.regimes.regimes import ContactPointRegime, Schedule
from sim.regimes.world_feeds import WorldFeeds
from sim.world.calendar import to_date


def contactpoint_ends(schedule: Schedule) -> dt.datetime | None:
    """When the schedule's ContactPoint gives way to another regime, if it ever does."""
    for step, regime in enumerate(schedule.regimes[:-1]):
        if isinstance(regime, ContactPointRegime):
            minutes = int(schedule.starts[step + 1])
            return dt.datetime.combine(to_date(minutes // 1440), dt.time()) + dt.timedelta(
                minutes=minutes % 1440
            )
    return None


def uses_contactpoint(schedule: Schedule) -> bool:
    return any(isinstance(regime, ContactPointRegime) for regime in schedule.regimes)


def population_label(children: pl.DataFrame, seed: int | None, scale: float | None) -> str:
    authorities = children["authority_code"].n_unique()
    told = f"seed {seed}, scale {scale}, " if seed is not None else ""
    return f"{told}{authorities} authorities, {children.height:,} children"


class LiveRun:
    """The live indexes of one run (one replication), their feeds and their switch-offs."""

    def __init__(
        self,
        deployment: Path,
        population: Mapping[str, pl.DataFrame | pl.LazyFrame],
        directory: Path,
        *,
        seed: int,
        replication: int,
        start: dt.date,
        switch_off: dt.datetime | None = None,
        label: str | None = None,
        population_through_index: bool = True,
        lookup_workers: int | None = None,
    ) -> None:
        children = population["children"]
        self.children = children.collect() if isinstance(children, pl.LazyFrame) else children
        self.header = check_deployment(
            Path(deployment), self.children, label or population_label(self.children, None, None)
        )
        self.deployment, self.population, self.directory = Path(deployment), population, directory
        self.seed, self.replication, self.start = seed, replication, start
        self.switch_off = switch_off
        self.population_through_index = population_through_index
        # every child's lookups in this many processes (None: one per core; 1: this process)
        if lookup_workers is not None and lookup_workers < 1:
            raise InputError(f"lookup_workers: must be at least 1, got {lookup_workers}")
        self.lookup_workers = machine_cores() if lookup_workers is None else lookup_workers
        self.workdir = directory / ".live-indexes"
        self.authorities = sorted(self.children["authority_code"].unique().to_list())
        self.identity = Identities(self.children)
        self._indexes: dict[str, DeploymentIndex] = {}
        self._making: dict[str, CopyMaker] = {}

    def prepare(self, arms: list[str]) -> None:
        """Start making these arms' working copies in helper processes, while the run builds
        its world (sim.regimes.copy_maker); only where the run may start processes (with
        lookup workers, and not inside a Dask worker)."""
        if self.lookup_workers < 2 or not can_start_processes():
            return
        held = held_by_authority(self.children)
        for arm in arms:
            if arm not in self._indexes and arm not in self._making:
                self._making[arm] = CopyMaker(self.deployment, self.workdir / arm, held, self.start)

    def index_for(self, arm: str) -> DeploymentIndex:
        """The arm's own live copy of the deployment (made on first use, or by `prepare`)."""
        if arm not in self._indexes:
            self._indexes[arm] = DeploymentIndex(
                self.deployment,
                self.workdir / arm,
                self.children,
                self.identity,
                maker=self._making.pop(arm, None),
                seed=self.seed,
                replication=self.replication,
                start=self.start,
                switch_off=None,
                evidence=self.directory / f"switch_off-{arm}.json",
                answers_population=self.population_through_index,
                lookup_workers=self.lookup_workers,
            )
        return self._indexes[arm]

    def schedule_built(self, arm: str, schedule: Schedule) -> None:
        """The arm's index is switched off when its ContactPoint ends (or at `switch_off`)."""
        if arm not in self._indexes:
            return
        off = self.switch_off or contactpoint_ends(schedule)
        made = dt.date.fromisoformat(str(self.header.get("made_on", "1970-01-01")))
        if off is not None and off.date() <= made:
            # the runbook's probes log in with the deployment's demo accounts, last used then
            raise InputError(
                f"{self.deployment}: made on {made}, so its switch-off ({off}, arm {arm!r}) "
                "must come later; deploy with an earlier --date"
            )
        self._indexes[arm].switch_off_at = off

    def indexes(self) -> list[DeploymentIndex]:
        return list(self._indexes.values())

    def feed_from(self, world) -> None:
        """Every live index hears the world's births, moves, deaths, school and GP changes."""
        if self._indexes:
            WorldFeeds(
                world,
                self.population,
                [index.feed for index in self._indexes.values()],
                seed=self.seed,
                replication=self.replication,
            )

    def manifest(self) -> dict:
        """What the manifest records about the real index in this run."""
        return {
            "deployment": str(self.deployment),
            "deployment_made_on": self.header.get("made_on"),
            "deployment_seed": self.header.get("seed"),
            "arms": {
                arm: {
                    "switch_off": index.switch_off_at.isoformat() if index.switch_off_at else None,
                    "switched_off": index.switched_off is not None,
                    "feed_updates": dict(index.feed.delivered),
                    "feed_updates_dropped": index.feed.dropped,
                    **index.feed_time(),
                    "lookups": index.lookups,
                    "lookup_seconds": round(index.lookup_seconds, 3),
                    "retention": dict(index.retention),
                    "usage": index.usage(),
                }
                for arm, index in self._indexes.items()
            },
        }

    def close(self) -> None:
        try:
            for making in self._making.values():
                making.kill()
            for index in self._indexes.values():
                index.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "LiveRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
