"""A live index's feeds written by a process of their own, while the run makes the next day.

    writer = FeedWriter(root)          # a working copy's index (sim.regimes.deployment)
    writer.deliver(delivery)           # the day's updates go; the run goes on at once
    writer.written()                   # wait: the index now holds them
    writer.close()

At England scale the feeds' SQL is most of the run's own CPU: in the months before most
authorities are live, the run's process is the whole run, with the lookup workers mostly
idle. Written here, a day's feeds go in while the run's process makes that day's world.

The order of what the index sees does not change. The run hands over a day's updates only
once the lookup workers read the day before from their own snapshot (`LookupWorkers.pinned`),
and waits for them to be written before anything else reads or writes the index: the day's
case lookups, the population lookups sent to the workers, a retention run, the switch-off,
the end of the run (sim.regimes.live). So one writer changes the index at a time, and every
read sees the same index whatever the number of processes.
"""

import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sim.index.store.delivery import Delivery
from sim.regimes.helper_process import Answer, HelperProcess


def _open_store(connection: Connection, root: str) -> tuple[Answer, Callable[[], None]]:
    """In the writer (helper_process.serve): the index opened, each delivery applied in its
    own transaction."""
    from sim.deployment.backend import open_deployment_index
    from sim.index.layout import Layout

    store = open_deployment_index(Layout(Path(root)))
    store.scratch()  # the run's working copy is thrown away (sim.regimes.live)

    def deliver(message: tuple) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        store.deliver(message[1])
        connection.send(("delivered", time.perf_counter() - started, time.process_time() - cpu))

    return deliver, store.close


class FeedWriter:
    """`LiveUpdates.deliver` in a helper process: one delivery out at a time."""

    def __init__(self, root: Path) -> None:
        self._helper = HelperProcess(
            _open_store, (str(root),), name="feed-writer", label=f"the feed writer of {root}"
        )
        self._out = False  # a delivery sent and not yet written
        self._ended = False  # stopped, or killed after a failure
        self.seconds = 0.0  # the writer's time applying deliveries, by the clock
        self.cpu_seconds = 0.0  # and by its CPU time
        self._guarded(lambda: self._helper.receive("ready"))

    @property
    def pending(self) -> bool:
        """A delivery is out: the index may not hold it yet."""
        return self._out

    def deliver(self, delivery: Delivery) -> None:
        """Send a day's updates to be written (after the last day's are)."""
        self.written()
        self._guarded(lambda: self._helper.send(("deliver", delivery)))
        self._out = True

    def written(self) -> None:
        """Wait until the updates sent are in the index (a no-op if none are out)."""
        if self._out:
            self._out = False
            _, seconds, cpu = self._guarded(lambda: self._helper.receive("delivered"))
            self.seconds += seconds
            self.cpu_seconds += cpu

    def close(self) -> None:
        """Write what is out, then stop the writer (it checkpoints the index); idempotent."""
        if self._ended:
            return
        try:
            self.written()
            self._guarded(self._helper.stop)
        finally:
            self._end()

    def _guarded(self, step: Callable[[], Any]) -> Any:
        """`step`, or on any failure the writer ended (nothing left running) and re-raised."""
        try:
            return step()
        except BaseException:
            self._end()
            raise

    def _end(self) -> None:
        self._ended, self._out = True, False
        self._helper.kill()
