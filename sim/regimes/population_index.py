"""Every child's lookups through a run's real index: batched, each checked and audited.

With a deployment, the practitioners who meet every child (sim.regimes.population_use) look
children up in the real index through its batched call (sim.index.batch_lookup): each lookup
with its own access check, usage-guard check and audit entry, a day's lookups in one batch. A
lookup shows a record when a hit is a record of the child (for a fed index, by the record's
true child: sim.regimes.fed_index), the practitioner opens it, and it shows services (a
shielded record shows none).

Practitioners are the run's accounts in the child's authority (sim.regimes.accounts: the users
live there); their logins, sessions, tokens and turns are kept by a desk (sim.regimes.
lookup_desk). These accounts are not those of the vulnerable movers' case lookups (sim.regimes.
lookup.FacadeLookup), whose logins run on the same day's clock in another order: a token's code
is accepted only after the last one used. A child the practitioner knows only by index ID (a
newborn of the run) is looked up by ID in the same batch.

This process holds the population (what a practitioner types, which records are the child's)
and makes each day's asks. With `workers` > 1 the authorities are split into groups of about
equal expected lookups and each group's desk runs in a worker process (sim.regimes.
lookup_workers), answering while the run goes on (`submit`); with 1, the one desk runs here.
A day's asks can be made (`prepare`: what is typed, in time order, by group) before they are
sent (`send`), so the run makes them while the workers still answer the day before.
Every desk's state belongs to one account or one authority, so the answers, and the run's
logs, are the same for any number of workers.

A plain SQLite lookup (the same exact-name query, no access check, no audit) of up to
`PLAIN_SAMPLE` of each day's children is timed here beside them: the cost of the safeguards.
"""

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.index.service import ContactPoint
from sim.index.store.keys import normalise_name
from sim.regimes.helper_process import can_start_processes
from sim.regimes.lookup import Credential, Identities, Shown
from sim.regimes.lookup_desk import Ask, LookupDesk
from sim.regimes.lookup_workers import LookupWorkers, partition

PLAIN_SAMPLE = 50


@dataclass(frozen=True)
class DayAsks:
    """A day's lookups made ready (`PopulationLookups.prepare`), not yet sent."""

    size: int  # lookups asked, including those nobody could make (no accounts there)
    asks: list[list[Ask]]  # per group of authorities, in time order
    rows: list[list[int]]  # where each group's asks stand among the lookups asked
    plain: list[tuple[str, str, dt.date]]  # names typed, for the plain SQLite lookup
    cost: tuple[float, float]  # making them: seconds by the clock and on this process's CPU


class PopulationLookups:
    """Batched lookups of any child by the run's accounts (see the module doc).

    `records(child_id)` gives the index IDs whose record is the child's (a fed index issues new
    IDs; by default the child's own). `weights` (expected lookups per authority, e.g. children
    held) balances the workers' groups; `root` and `profile` open each worker's service."""

    def __init__(
        self,
        service: ContactPoint,
        staff: Mapping[str, Sequence[Credential]],
        identity: Identities,
        records: Callable[[str], tuple[str, ...]] | None = None,
        *,
        workers: int = 1,
        weights: Mapping[str, float] | None = None,
        root: Path | None = None,
        profile: str = "production",
    ) -> None:
        self.service, self.identity = service, identity
        self.records = records or (lambda child_id: (child_id,))
        self.staffed = {code for code, group in staff.items() if group}
        self.lookups = self.refused = self.logins = 0
        self.seconds = self.plain_seconds = 0.0  # by the clock
        self.cpu_seconds = self.plain_cpu_seconds = 0.0  # this process's and the workers'
        self.plain_lookups = 0
        # the workers' time answering, summed over workers: by the clock, on a CPU, and waiting
        # for one (the rest is waiting on locks: the accounts database's, the audit log's)
        self.worker_seconds = self.worker_cpu_seconds = self.worker_queued_seconds = 0.0
        self.workers: LookupWorkers | None = None
        self.desk: LookupDesk | None = None
        self.processes = 0  # worker processes answering the lookups (0: this process)
        # a daemonic process (a Dask worker) may not start processes: its lookups stay here
        groups = min(workers, len(self.staffed))
        if groups > 1 and root is not None and can_start_processes():
            weight = {code: (weights or {}).get(code, 1.0) for code in self.staffed}
            codes = partition(weight, groups)
            self.group = {code: k for k, group in enumerate(codes) for code in group}
            self.workers = LookupWorkers(
                root, profile, [{code: staff[code] for code in group} for group in codes]
            )
            self.processes = len(self.workers)
        else:
            self.group = dict.fromkeys(self.staffed, 0)
            self.desk = LookupDesk(service, staff)

    def lookup(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> np.ndarray:
        """Whether each lookup showed a record (`submit`, then its answers)."""
        return self.submit(child_ids, authorities, at).result()

    def submit(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> Shown:
        """A day's lookups (in any order; answered in time order: the day's logins first, in
        one call, then every lookup, by name or by ID, in one batch). In this process they are
        answered at once; with workers, while the caller goes on, until `Shown.result`."""
        return self.send(self.prepare(child_ids, authorities, at))

    def prepare(
        self, child_ids: Sequence[str], authorities: Sequence[str], at: Sequence[dt.datetime]
    ) -> DayAsks:
        """A day's lookups made ready to `send`, without touching the index: in time order,
        what the practitioner types for each child, split by the group of its authority."""
        started, cpu = time.perf_counter(), time.process_time()
        groups = max(self.group.values(), default=0) + 1
        asks: list[list[Ask]] = [[] for _ in range(groups)]
        rows: list[list[int]] = [[] for _ in range(groups)]
        plain: list[tuple[str, str, dt.date]] = []  # the day's first names typed, timed after
        group = self.group
        # in time order; nobody in an authority without accounts can make a lookup
        made = [i for i in sorted(range(len(child_ids)), key=lambda i: at[i])
                if authorities[i] in group]  # fmt: skip
        names = self.identity.typed([child_ids[i] for i in made])
        for i, name in zip(made, names, strict=True):
            k = group[authorities[i]]
            asks[k].append(Ask(child_ids[i], authorities[i], at[i], name,
                               self.records(child_ids[i])))  # fmt: skip
            rows[k].append(i)
            if name is not None and len(plain) < PLAIN_SAMPLE:
                plain.append(name)
        cost = (time.perf_counter() - started, time.process_time() - cpu)
        return DayAsks(len(child_ids), asks, rows, plain, cost)

    def send(self, day: DayAsks) -> Shown:
        """Answer the day's lookups `prepare` made: here at once, or by the workers while the
        caller goes on (until `Shown.result`)."""
        started, cpu = time.perf_counter(), time.process_time()
        self.lookups += day.size
        workers = self.workers
        if workers is None:
            assert self.desk is not None
            answers = [self.desk.answer(day.asks[0])]
        else:
            workers.send(day.asks)
        sent = (
            day.cost[0] + time.perf_counter() - started,
            day.cost[1] + time.process_time() - cpu,
        )

        def finish() -> np.ndarray:
            cpu = time.process_time()
            answered = answers if workers is None else workers.receive()
            received = time.perf_counter()
            shown = np.zeros(day.size, dtype=bool)
            for group, answer in zip(day.rows, answered, strict=True):
                shown[group] = answer.shown
                self.refused += answer.refused
                self.logins += answer.logins
            # by the clock: this process's part, and the workers' while they answered (not
            # the time this process spent on other work, or waiting, meanwhile)
            working = max((a.seconds for a in answered), default=0.0) if workers else 0.0
            self.seconds += sent[0] + working + (time.perf_counter() - received)
            self.cpu_seconds += sent[1] + time.process_time() - cpu
            if workers is not None:
                self.cpu_seconds += sum(answer.cpu_seconds for answer in answered)
                for answer in answered:
                    self.worker_seconds += answer.seconds
                    self.worker_cpu_seconds += answer.cpu_seconds
                    self.worker_queued_seconds += answer.queued_seconds
            self._plain(day.plain)  # after the audited lookups: not one of their times
            return shown

        return Shown(finish)

    def pinned(self) -> None:
        """Wait until the lookups out with the workers read the index from their own
        snapshot (`LookupWorkers.pinned`): the index may then change without changing them."""
        if self.workers is not None:
            self.workers.pinned()

    def _plain(self, names: list[tuple[str, str, dt.date]]) -> None:
        """Time the same exact-name query straight on the index (no check, no audit)."""
        store = self.service.store
        started, cpu = time.perf_counter(), time.process_time()
        for forename, surname, born in names:
            store.exact_name_hits(normalise_name(surname), normalise_name(forename),
                                  born.isoformat())  # fmt: skip
        self.plain_seconds += time.perf_counter() - started
        self.plain_cpu_seconds += time.process_time() - cpu
        self.plain_lookups += len(names)

    def close(self) -> None:
        """Stop the worker processes (each closes its service); idempotent."""
        if self.workers is not None:
            workers, self.workers = self.workers, None
            workers.close()
