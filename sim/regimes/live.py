"""The real index inside a run: practitioners query it, the world feeds it, the runbook ends it.

    index = DeploymentIndex(deployment, workdir, children, identity, seed=1, ...)
    WorldFeeds(world, population, [index.feed], seed=1, replication=0)  # world_feeds.py

The world's changes reach the index through its feeds after their lags (sim.regimes.
world_feeds): a lookup can find an old address and authority, and a newborn is "not found"
until its birth registration arrives. `DeploymentIndex` answers ContactPoint lookups through
the real facade on its own working copy of the deployment (sim.regimes.deployment), applies
the day's feeds before the day's lookups, and at the switch-off runs the decommissioning
runbook's shutdown step (sim.regimes.switch_off): later lookups are refused by the index.

A deployment loaded from the source feeds (`cpw deploy --from-feeds`) holds matched records, not
the population: lookups are scored and the world's news routed through sim.regimes.fed_index.
Practitioner accounts are opened in proportion to the users live in each authority
(sim.regimes.accounts), so the usage rules meet the load they would have met; what they refused
and alerted is counted from the copy's audit log when the run ends (`usage`).
"""

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.deployment.fed import read_truth
from sim.feeds.live import LiveFeed
from sim.index.audit.monitoring import alerts_from, read_rule_columns
from sim.index.audit.settings import load_monitoring_rules
from sim.index.layout import Layout
from sim.index.lifecycle import run_retention
from sim.regimes.copy_maker import CopyMaker
from sim.regimes.deployment import (
    CASE_ACCOUNTS,
    SIMULATED,
    SIMULATION_PROFILE,
    held_by_authority,
    open_working_copy,
    opening_time,
    provision_practitioners,
    run_accounts,
    staff_copy,
    working_copy,
)
from sim.regimes.fed_index import FedRouting, IndexTruth, RoutedFeed
from sim.regimes.feed_writer import FeedWriter
from sim.regimes.lookup import FacadeLookup, Identities, LookupAnswers, LookupRequests, Shown
from sim.regimes.parameters import regime_params
from sim.regimes.population_index import DayAsks, PopulationLookups
from sim.regimes.switch_off import run_switch_off
from sim.regimes.world_feeds import LIVE_FEED_STREAM
from sim.streams import stream


def _subset(requests: LookupRequests, rows: np.ndarray) -> LookupRequests:
    return LookupRequests(
        child_id=[requests.child_id[i] for i in rows],
        authority=[requests.authority[i] for i in rows],
        at=[requests.at[i] for i in rows],
        u_find=np.asarray(requests.u_find)[rows],
        shielded=np.asarray(requests.shielded)[rows],
    )


@dataclass(frozen=True)
class PopulationAsks:
    """A day's lookups of any child, as asked, and made ready to send (None: not made, the
    index being switched off when they were asked)."""

    child_ids: list[str]
    authorities: list[str]
    at: list[dt.datetime]
    made: DayAsks | None


class DeploymentIndex:
    """One arm's live copy of a deployment: feeds in, lookups through the facade, switch-off."""

    backend = "deployment"

    def __init__(
        self,
        deployment: Path,
        workdir: Path,
        children: pl.DataFrame,
        identity: Identities,
        *,
        seed: int,
        replication: int,
        start: dt.date,
        switch_off: dt.datetime | None,
        evidence: Path | None = None,
        answers_population: bool = True,
        lookup_workers: int = 1,
        maker: CopyMaker | None = None,
    ) -> None:
        """`maker`: the helper making the working copy (sim.regimes.copy_maker, from the same
        arguments), if one was started; else the copy is made here."""
        self.answers_population = answers_population  # sim.regimes.population_use asks it
        held = held_by_authority(children)
        try:
            if maker is None:
                self.root = working_copy(deployment, workdir)
                staff = staff_copy(self.root, held, start).staff
            else:
                self.root = maker.copied()
            assert self.root == Path(workdir) / Path(deployment).name
            self.service = open_working_copy(self.root)
            self.accounts = run_accounts(held)
            # the case lookups' accounts (while a maker opens the population's in its process)
            cases = provision_practitioners(
                self.service, self.accounts, opening_time(start), CASE_ACCOUNTS
            )
            if maker is not None:
                staff = maker.result().staff
        except BaseException:
            if maker is not None:
                maker.kill()  # no helper outlives a copy the run could not open
            raise
        rng = stream(seed, "feeds", LIVE_FEED_STREAM, replication)
        truth = read_truth(deployment)
        fed = IndexTruth(truth) if truth is not None else None
        scored = fed.of if fed is not None else None
        self.facade = FacadeLookup(self.service, cases, identity, truth=scored)
        self.population = PopulationLookups(
            self.service, staff, identity, fed.records_of if fed is not None else None,
            workers=lookup_workers if answers_population else 1, weights=held,
            root=self.root, profile=SIMULATION_PROFILE,
        )  # fmt: skip
        # with worker processes, the feeds too are written by a process of their own
        self.writer = FeedWriter(self.root) if self.population.processes else None
        target = self.writer or self.service.store
        if fed is None:
            self.feed = LiveFeed(target, rng)
        else:
            routing = FedRouting(self.service.store, fed, children)
            self.feed = RoutedFeed(target, rng, routing)
        self.switch_off_at, self.evidence = switch_off, evidence
        self._answering: list[Shown] = []  # days' lookups out with the workers, in order
        self.switched_off: dict[str, Any] | None = None
        self.lookups, self.lookup_seconds = 0, 0.0
        self.start, self.retention_days = start, regime_params().retention_run_days.value
        self.retention: dict[str, int] = {"runs": 0, "archived": 0, "purged": 0, "blocked": 0}

    def start_day(self, date: dt.date) -> None:
        """The feed updates due today arrive before the day's lookups (made at the end of the
        day before: `end_day`; here only on the first day); on retention days the operator's
        retention run archives who reached 18 (or 25) or died a year ago, and purges six years
        on (SI 2007/2182 reg 7), audited by the index, until the switch-off.

        The last day's lookups were made before today's news arrived: lookup workers still
        answering them read the index from a snapshot taken before (`pinned`), so the feeds go
        in meanwhile; a retention run waits for every answer."""
        retention = (
            self.switched_off is None and (date - self.start).days % self.retention_days == 0
        )
        if retention:
            self.settle()
        else:
            self.population.pinned()
        self.feed.deliver(date)
        if retention:
            self.fed()
            report = run_retention(self.service, date, now=dt.datetime.combine(date, dt.time(6)))
            self.retention["runs"] += 1
            self.retention["archived"] += sum(report.archived.values())
            self.retention["purged"] += len(report.purged)
            self.retention["blocked"] += len(report.purge_blocked)

    def end_day(self, date: dt.date, tomorrow: dt.date | None = None) -> None:
        """A switch-off due today happens, even on a day without lookups after it. Then
        `tomorrow`'s feed updates go in (None: the run ends today), once the workers read
        today's lookups from their snapshot: every update arrives at least a day after its
        event (sim.feeds.live), so tomorrow's are all known when today ends, and a writer
        process writes them while the world makes tomorrow (`start_day` delivers nothing
        more then, but the first day's)."""
        if self._pending(dt.datetime.combine(date, dt.time.max)):
            self.settle()
            self._switch_off()
        if tomorrow is not None and self.switched_off is None:
            self.population.pinned()
            self.feed.deliver(tomorrow)

    def _pending(self, at: dt.datetime) -> bool:
        return (
            self.switched_off is None
            and self.switch_off_at is not None
            and (self.switch_off_at <= at)
        )

    def _switch_off(self) -> None:
        assert self.switch_off_at is not None
        self.settle()  # every lookup made before the switch-off is answered first
        self.fed()
        self.switched_off = run_switch_off(
            self.service, self.feed, self.root, self.switch_off_at, self.evidence
        )

    def population_lookup(
        self, child_ids: list[str], authorities: list[str], at: list[dt.datetime]
    ) -> np.ndarray:
        """Whether each lookup of any child showed a record (`population_ask`, answered)."""
        return self.population_ask(child_ids, authorities, at).result()

    def population_ask(
        self, child_ids: list[str], authorities: list[str], at: list[dt.datetime]
    ) -> Shown:
        """A day's lookups of any child, made ready and sent at once."""
        return self.population_send(self.population_prepare(child_ids, authorities, at))

    def population_prepare(
        self, child_ids: list[str], authorities: list[str], at: list[dt.datetime]
    ) -> PopulationAsks:
        """A day's lookups of any child made ready to send, without touching the index (so
        while the workers still answer the day before: sim.regimes.population_use)."""
        made = None
        if child_ids and self.switched_off is None:
            made = self.population.prepare(child_ids, authorities, at)
        return PopulationAsks(child_ids, authorities, at, made)

    def population_send(self, asks: PopulationAsks) -> Shown:
        """A day's lookups of any child (sim.regimes.population_use): through the index's
        batched call before the switch-off; none after it (every account revoked, nobody can
        log in). With lookup workers they are answered while the run goes on (a worker still
        answering the day before takes them up next); every answer is in before a retention
        run or the switch-off (`settle`). Whether the index is switched off is decided now, not
        when the asks were made: a case lookup meanwhile may have done it."""
        child_ids, authorities, at = asks.child_ids, asks.authorities, asks.at
        n = len(child_ids)
        if not n or self.switched_off is not None:
            return Shown.ready(np.zeros(n, dtype=bool))
        self.fed()
        if not self._pending(max(at)):
            assert asks.made is not None  # not made only once switched off, which is for good
            sent = self.population.send(asks.made)
            self._answering.append(sent)
            return Shown(lambda: self._answered(sent))
        self.settle()
        # the switch-off comes today: the lookups before it are answered first
        shown = np.zeros(n, dtype=bool)
        before = np.array([moment < self.switch_off_at for moment in at])
        rows = np.flatnonzero(before)
        if len(rows):
            pick = [int(i) for i in rows]
            shown[rows] = self.population.lookup(
                [child_ids[i] for i in pick], [authorities[i] for i in pick], [at[i] for i in pick]
            )
        self._switch_off()
        return Shown.ready(shown)

    def settle(self) -> None:
        """Wait for every day's lookups out with the workers (a no-op if none are)."""
        while self._answering:
            self._answering.pop(0).result()

    def _answered(self, sent: Shown) -> np.ndarray:
        """A day's answers, once every earlier day's are in (the workers answer in order)."""
        while sent in self._answering:
            self._answering.pop(0).result()
        return sent.result()

    def fed(self) -> None:
        """Wait until the feeds delivered are in the index (a no-op without a writer
        process, or with nothing out): before anything else reads or writes it."""
        if self.writer is not None:
            self.writer.written()

    def feed_time(self) -> dict[str, float]:
        """Seconds spent on the feeds, by the clock and by CPU time (the manifest's
        `feed_seconds`, `feed_cpu_seconds`): this process's (the day's updates gathered and
        handed over) and the writer's, once what is out is written."""
        self.fed()
        writer = self.writer
        clock = self.feed.seconds + (writer.seconds if writer else 0.0)
        cpu = self.feed.cpu_seconds + (writer.cpu_seconds if writer else 0.0)
        return {"feed_seconds": round(clock, 3), "feed_cpu_seconds": round(cpu, 3)}

    def lookup(self, requests: LookupRequests) -> LookupAnswers:
        """Lookups before the switch-off, the switch-off, then lookups after it (refused).

        These are the case accounts' lookups, none of the population's: a day's population
        lookups still out with the workers change nothing they meet (other accounts, a
        snapshot of the same index), so they are not waited for."""
        n = len(requests)
        self.fed()
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
        opened: list[str | None] = list(requests.child_id)
        for rows, answers in parts:
            found[rows], shown[rows] = answers.found, answers.contacts_shown
            shielded[rows], refused[rows] = answers.shielded, answers.refused
            for row, record in zip(rows, answers.opened or [], strict=False):
                opened[row] = record or opened[row]
        # the authority held on the record opened (a fed index may hold the child under a new ID)
        held = self.service.store.authorities_of([r for r in opened if r])
        pairs = zip(opened, requests.authority, strict=True)
        moved = np.array([held.get(record) != authority for record, authority in pairs])
        self.lookups += n
        self.lookup_seconds += time.perf_counter() - started
        return LookupAnswers(found, shown, shielded, refused, stale=found & moved)

    def usage(self) -> dict[str, Any]:
        """What the usage rules did in the run (`usage_counts`), the accounts, and the
        population lookups' counts and times beside a plain SQLite lookup. The run's lookups
        are over: their worker processes are stopped first, so the audit log is complete."""
        population = self.population
        self.settle()
        population.close()
        if self.writer is not None:
            self.writer.close()
        return {
            "accounts": sum(self.accounts.values()),
            "case_accounts": sum(self.accounts.values()),
            "population_lookups": population.lookups,
            "population_lookup_seconds": round(population.seconds, 3),
            "population_lookup_cpu_seconds": round(population.cpu_seconds, 3),
            "population_lookup_processes": population.processes,
            "population_worker_seconds": round(population.worker_seconds, 3),
            "population_worker_cpu_seconds": round(population.worker_cpu_seconds, 3),
            "population_worker_queued_seconds": round(population.worker_queued_seconds, 3),
            "population_logins": population.logins,
            "population_refused": population.refused,
            "plain_sqlite_lookups": population.plain_lookups,
            "plain_sqlite_seconds": round(population.plain_seconds, 4),
            "plain_sqlite_cpu_seconds": round(population.plain_cpu_seconds, 4),
            **usage_counts(self.root, self.service.access.accounts_frame()),
        }

    def close(self) -> None:
        try:
            self.population.close()
            if self.writer is not None:
                self.writer.close()
        finally:
            self.service.close()


def usage_counts(root: Path, accounts: pl.DataFrame) -> dict[str, dict[str, int]]:
    """What the usage rules did to the simulated practitioners of a working copy at `root`:
    refusals by rule (or reason), the guard's alerts, and the monitoring rules' alerts over the
    audit trail (data/index/monitoring.toml)."""
    rules = load_monitoring_rules()
    # a piece at a time: an England run's trail holds millions of entries
    ran = read_rule_columns(Layout(root).audit, rules, pl.col("actor").str.starts_with(SIMULATED))
    watched = alerts_from(ran, accounts.select("username", "surname", "authority_code"), rules)
    # a lapsed session's logout is refused by design (FacadeLookup then logs in again)
    refused = ran.filter(
        (pl.col("outcome") == "refused") & ~pl.col("action").is_in(["alert", "logout"])
    )
    rules_broken = refused["refused_by"].fill_null("unstated")
    alerts = ran.filter(pl.col("action") == "alert")["reason"]
    return {
        "refused": dict(sorted(rules_broken.value_counts().iter_rows())),
        "alerts": dict(sorted(alerts.value_counts().iter_rows())),
        "monitoring_alerts": dict(sorted(watched["rule"].value_counts().iter_rows())),
    }
