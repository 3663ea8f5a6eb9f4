"""The real index inside a run: practitioners query it, the world feeds it, the runbook ends it.

    index = DeploymentIndex(deployment, workdir, authorities, identity, seed=1, ...)
    WorldFeeds(world, population, [index.feed], seed=1, replication=0)  # world_feeds.py

The world's changes reach the index through its feeds after their lags (sim.regimes.
world_feeds): a lookup can find an old address and authority, and a newborn is "not found"
until its birth registration arrives. `DeploymentIndex` answers ContactPoint lookups through
the real facade on its own working copy of the deployment (sim.regimes.deployment), applies
the day's feeds before the day's lookups, and at the switch-off runs the decommissioning
runbook's shutdown step (sim.regimes.switch_off): later lookups are refused by the index.
"""

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.index.lifecycle import run_retention
from sim.index.live_feed import LiveFeed
from sim.index.service import ContactPoint
from sim.index.store.live import authorities_of, scratch
from sim.regimes.deployment import provision_practitioners, working_copy
from sim.regimes.lookup import FacadeLookup, Identity, LookupAnswers, LookupRequests
from sim.regimes.parameters import regime_params
from sim.regimes.switch_off import run_switch_off
from sim.regimes.world_feeds import LIVE_FEED_STREAM
from sim.streams import stream

SIMULATION_PROFILE = "simulation"  # cheap argon2 for the simulated accounts (working copy only)


def _subset(requests: LookupRequests, rows: np.ndarray) -> LookupRequests:
    return LookupRequests(
        child_id=[requests.child_id[i] for i in rows],
        authority=[requests.authority[i] for i in rows],
        at=[requests.at[i] for i in rows],
        u_find=np.asarray(requests.u_find)[rows],
        shielded=np.asarray(requests.shielded)[rows],
    )


class DeploymentIndex:
    """One arm's live copy of a deployment: feeds in, lookups through the facade, switch-off."""

    backend = "deployment"

    def __init__(
        self,
        deployment: Path,
        workdir: Path,
        authorities: list[str],
        identity: Callable[[str], Identity | None],
        *,
        seed: int,
        replication: int,
        start: dt.date,
        switch_off: dt.datetime | None,
        evidence: Path | None = None,
    ) -> None:
        self.root = working_copy(deployment, workdir)
        self.service = ContactPoint.open(self.root, profile=SIMULATION_PROFILE)
        scratch(self.service.store)
        opened = dt.datetime.combine(start, dt.time(7, 0))
        per_authority = regime_params().practitioner_accounts.value
        staff = provision_practitioners(self.service, authorities, per_authority, opened)
        self.facade = FacadeLookup(self.service, staff, identity)
        rng = stream(seed, "feeds", LIVE_FEED_STREAM, replication)
        self.feed = LiveFeed(self.service.store, rng)
        self.switch_off_at, self.evidence = switch_off, evidence
        self.switched_off: dict[str, Any] | None = None
        self.lookups, self.lookup_seconds = 0, 0.0
        self.start, self.retention_days = start, regime_params().retention_run_days.value
        self.retention: dict[str, int] = {"runs": 0, "archived": 0, "purged": 0, "blocked": 0}

    def start_day(self, date: dt.date) -> None:
        """The feed updates due today arrive before the day's lookups; on retention days the
        operator's retention run archives who reached 18 (or 25) or died a year ago, and purges
        six years on (SI 2007/2182 reg 7), audited by the index, until the switch-off."""
        self.feed.deliver(date)
        if self.switched_off is None and (date - self.start).days % self.retention_days == 0:
            report = run_retention(self.service, date, now=dt.datetime.combine(date, dt.time(6)))
            self.retention["runs"] += 1
            self.retention["archived"] += sum(report.archived.values())
            self.retention["purged"] += len(report.purged)
            self.retention["blocked"] += len(report.purge_blocked)

    def end_day(self, date: dt.date) -> None:
        """A switch-off due today happens, even on a day without lookups after it."""
        if self._pending(dt.datetime.combine(date, dt.time.max)):
            self._switch_off()

    def _pending(self, at: dt.datetime) -> bool:
        return (
            self.switched_off is None
            and self.switch_off_at is not None
            and (self.switch_off_at <= at)
        )

    def _switch_off(self) -> None:
        assert self.switch_off_at is not None
        self.switched_off = run_switch_off(
            self.service, self.feed, self.root, self.switch_off_at, self.evidence
        )

    def lookup(self, requests: LookupRequests) -> LookupAnswers:
        """Lookups before the switch-off, the switch-off, then lookups after it (refused)."""
        n = len(requests)
        if not n:
            return self.facade.lookup(requests)
        started = time.perf_counter()
        after = np.zeros(n, dtype=bool)
        if self._pending(max(requests.at)):
            after = np.array([at >= self.switch_off_at for at in requests.at])
        parts = []
        for later, rows in ((False, np.flatnonzero(~after)), (True, np.flatnonzero(after))):
            if not len(rows):
                continue
            if later:
                self._switch_off()
            parts.append((rows, self.facade.lookup(_subset(requests, rows))))
        found, shown, shielded, refused = (np.zeros(n, bool) for _ in range(4))
        for rows, answers in parts:
            found[rows], shown[rows] = answers.found, answers.contacts_shown
            shielded[rows], refused[rows] = answers.shielded, answers.refused
        held = authorities_of(self.service.store, list(requests.child_id))
        pairs = zip(requests.child_id, requests.authority, strict=True)
        moved = np.array([held.get(child) != authority for child, authority in pairs])
        self.lookups += n
        self.lookup_seconds += time.perf_counter() - started
        return LookupAnswers(found, shown, shielded, refused, stale=found & moved)

    def close(self) -> None:
        self.service.close()
