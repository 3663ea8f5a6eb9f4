"""A day's population lookups answered by worker processes, one group of authorities each.

    workers = LookupWorkers(root, SIMULATION_PROFILE, groups)   # groups: staff by authority
    workers.send([asks_of_group_0, asks_of_group_1])  # the workers answer meanwhile
    workers.pinned()             # each reads the index as it stood: it may change now
    answers = workers.receive()                       # one Answered per group
    workers.close()

Each worker is a spawned process that opens its own ContactPoint on the run's working copy
(the same deployment: index, accounts database, audit log) and owns the accounts of its group
of authorities: their sessions, tokens and turns live only there (sim.regimes.lookup_desk). The
run's process sends each group's asks (packed in columns) over a pipe and goes on with its own work
(the world's next day, the next day's case lookups and asks); a day sent while a worker still
answers the one before waits in the pipe, so the worker starts it the moment it is done. Each
worker reads the index inside one read snapshot taken when a day's asks are taken up, and says
so ("pinned"); once every worker has, the run may apply the next day's feeds while the workers
still answer (a lookup of day d never sees day d+1's news). A retention run and the switch-off
wait for every answer first (sim.regimes.live), so the index sees the same requests, and answers
them the same way, whatever the number of workers; only the order in which two groups' entries
(and the run's own) interleave in the audit log differs, never the order of one account's.
Their writes meet in the accounts database, whose writers queue at its write gate (sim.index.
store.sqlite_shared), and in the audit log, appended under its lock.

Every wait is bounded (sim.regimes.helper_process): a worker that dies, or answers nothing for
`PATIENCE` seconds, ends the run with a one-line error naming it, and the other workers are
stopped.
"""

import dataclasses
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from sim.regimes.helper_process import Answer, HelperProcess
from sim.regimes.lookup import Credential
from sim.regimes.lookup_desk import Answered, Ask, LookupDesk, pack_asks, unpack_asks

Staff = Mapping[str, Sequence[Credential]]


def machine_cores() -> int:
    """The cores this process may run on: the default number of lookup workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _open_desk(
    connection: Connection, root: str, profile: str, staff: dict
) -> tuple[Answer, Callable[[], None]]:
    """In a worker (helper_process.serve): the service opened on the run's working copy, and
    each day's asks answered by the desk of the worker's accounts."""
    from sim.regimes.deployment import open_working_copy

    service = open_working_copy(Path(root), profile)
    credentials = {code: [Credential(*who) for who in group] for code, group in staff.items()}
    desk = LookupDesk(service, credentials)

    def answer(message: tuple) -> None:
        with service.store.reading():  # the index as it stands now: the day's feeds in
            connection.send(("pinned",))  # the run may apply the next day's feeds
            answered = desk.answer(unpack_asks(message[1]))
        connection.send(("answered", tuple(answered)))

    return answer, service.close


def partition(weights: Mapping[str, float], groups: int) -> list[list[str]]:
    """Authorities in `groups` groups of about equal weight (expected lookups): heaviest
    first, each to the lightest group so far (ties: the first); the same for the same input."""
    loads = [0.0] * groups
    members: list[list[str]] = [[] for _ in range(groups)]
    for code in sorted(weights, key=lambda code: (-weights[code], code)):
        lightest = min(range(groups), key=lambda k: (loads[k], k))
        members[lightest].append(code)
        loads[lightest] += weights[code]
    return [sorted(group) for group in members if group]


class LookupWorkers:
    """The worker processes of one live index, one per group of authorities."""

    def __init__(self, root: Path, profile: str, groups: Sequence[Staff]) -> None:
        self._workers: list[HelperProcess] = []
        self._out: deque[list[int]] = deque()  # per day sent, not received: the workers given asks
        self._expected: list[deque[str]] = []  # per worker: the messages still to come, in order
        self._read: list[deque[Answered]] = []  # per worker: answers read, not yet received
        try:
            for number, staff in enumerate(groups):
                plain = {
                    code: [dataclasses.astuple(who) for who in group]
                    for code, group in staff.items()
                }
                first = ", ".join(sorted(staff)[:3])
                self._workers.append(
                    HelperProcess(
                        _open_desk,
                        (str(root), profile, plain),
                        name=f"lookup-worker-{number}",
                        label=f"lookup worker {number} ({len(staff)} authorities: {first}...)",
                    )
                )
            for worker in self._workers:
                worker.receive("ready")
                self._expected.append(deque())
                self._read.append(deque())
        except BaseException:
            self._kill()
            raise

    def __len__(self) -> int:
        return len(self._workers)

    def send(self, asks: Sequence[Sequence[Ask]]) -> None:
        """Send each worker its group's asks (`asks[k]` for worker k); they answer while this
        process goes on. A worker still answering an earlier day starts these the moment it
        is done; `receive` gives the days' answers in the order they were sent."""
        try:
            busy = [k for k, group in enumerate(asks) if group]
            self._out.append(busy)
            for k in busy:
                self._expected[k].extend(("pinned", "answered"))
                self._workers[k].send(("ask", pack_asks(asks[k])))
        except BaseException:
            self._kill()
            raise

    def pinned(self) -> None:
        """Wait until every worker given asks reads the index from its own snapshot, taken
        after `send` (sim.index.store.protocols.LiveUpdates.reading): from then on the index
        may change (the next day's feeds) and their answers do not."""
        try:
            for k, expected in enumerate(self._expected):
                while "pinned" in expected:
                    self._next(k)
        except BaseException:
            self._kill()
            raise

    def receive(self) -> list[Answered]:
        """Each worker's answers to the earliest day `send` gave it and not yet received
        (empty for a worker given nothing that day)."""
        busy = self._out.popleft() if self._out else []
        try:
            answers = [Answered([], 0, 0) for _ in self._workers]
            for k in busy:
                while not self._read[k]:
                    self._next(k)
                answers[k] = self._read[k].popleft()
        except BaseException:
            self._kill()
            raise
        return answers

    def _next(self, k: int) -> None:
        """Read worker k's next message: its pin of a day's snapshot, or a day's answers
        (kept until `receive`)."""
        message = self._workers[k].receive(self._expected[k].popleft())
        if message[0] == "answered":
            self._read[k].append(Answered(*message[1]))

    def close(self) -> None:
        """Stop every worker: each closes its service (its audit entries and checkpoint
        written) and exits; one that does not within `STOP_SECONDS` is killed."""
        try:
            while self._out:  # answers nobody asked for any more: read and dropped
                self.receive()
            for worker in self._workers:
                worker.ask_to_stop()
            for worker in self._workers:
                worker.stopped()
        finally:
            self._kill()

    def _kill(self) -> None:
        """End every worker still running (after a failure: no worker is left waiting)."""
        for worker in self._workers:
            worker.kill()
        self._workers, self._out, self._expected, self._read = [], deque(), [], []
