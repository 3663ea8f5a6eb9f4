"""Where replications run: one executor abstraction for serial, process-pool and Dask runs.

    executor = executor_for(workers=2, scheduler=None)      # Serial, Processes or Dask
    figures = executor.map(ReplicationTask(scenario, root), range(5), on_done)

Every executor runs the same task (sim.experiments.replication.run_replication through
`ReplicationTask`) and returns results in replication order, so the tables are identical
whichever runs them: replication r's seed comes from the scenario and r, never from the
process. Process pools start workers with `spawn` and one Polars thread each (N processes share
the cores, not N x cores). On Dask, workers write into the run's staging directory, so on a
multi-machine cluster that directory must be on storage every worker shares; on one machine (a
`LocalCluster`, as the tests use) it simply is. Dask is the optional `scale` extra and is
imported only when a scheduler is given.
"""

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sim.errors import InputError

Task = Callable[[int], Any]
Done = Callable[[], None] | None


def replication_dir(root: Path, replication: int) -> Path:
    """Where replication r of a run writes its files."""
    return root / "replications" / f"r{replication:03d}"


@dataclass(frozen=True)
class ReplicationTask:
    """Replication r of `scenario` into the run directory `root` (picklable: the scenario, and
    so its parameters, travel with the task). `progress` is called with 1 after each day (serial
    runs only: a callback does not cross processes)."""

    scenario: Any
    root: Path
    progress: Callable[[int], None] | None = None
    synth_workers: int = 1

    def __call__(self, replication: int) -> Any:
        from sim.experiments.replication import run_replication

        directory = replication_dir(self.root, replication)
        return run_replication(
            self.scenario, replication, directory, self.progress, self.synth_workers
        )


class Executor(Protocol):
    def map(self, task: Task, replications: range, on_done: Done = None) -> list[Any]:
        """`task(r)` for every r, results in replication order; `on_done()` after each."""
        ...


class Serial:
    """One replication after another in this process."""

    def map(self, task: Task, replications: range, on_done: Done = None) -> list[Any]:
        results = []
        for r in replications:
            results.append(task(r))
            if on_done is not None:
                on_done()
        return results


@contextmanager
def _one_polars_thread_per_worker() -> Iterator[None]:
    previous = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("POLARS_MAX_THREADS")
        else:
            os.environ["POLARS_MAX_THREADS"] = previous


@dataclass(frozen=True)
class Processes:
    """Replications in `workers` spawned processes on this machine."""

    workers: int

    def map(self, task: Task, replications: range, on_done: Done = None) -> list[Any]:
        context = multiprocessing.get_context("spawn")
        results: dict[int, Any] = {}
        with (
            _one_polars_thread_per_worker(),
            ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool,
        ):
            futures = {pool.submit(task, r): r for r in replications}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if on_done is not None:
                        on_done()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [results[r] for r in replications]


@dataclass(frozen=True)
class Dask:
    """Replications on the Dask cluster at `scheduler` (an address or a Client)."""

    scheduler: Any

    def map(self, task: Task, replications: range, on_done: Done = None) -> list[Any]:
        try:
            from dask.distributed import Client, as_completed
        except ImportError:
            raise InputError(
                "--scheduler: Dask is not installed (pip install -e '.[scale]')"
            ) from None
        owned = not isinstance(self.scheduler, Client)
        try:
            client = Client(self.scheduler, timeout="10s") if owned else self.scheduler
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(f"--scheduler: cannot reach {self.scheduler}: {error}") from None
        try:
            futures = {client.submit(task, r, pure=False): r for r in replications}
            results: dict[int, Any] = {}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if on_done is not None:
                    on_done()
            return [results[r] for r in replications]
        finally:
            if owned:
                client.close()


def executor_for(workers: int = 1, scheduler: Any = None) -> Executor:
    """Dask if a scheduler is given, else processes if workers > 1, else serial."""
    if scheduler is not None:
        return Dask(scheduler)
    if workers > 1:
        return Processes(workers)
    return Serial()


def run_on_cluster(scheduler: Any, task: Task, replications: range, on_done: Done = None) -> list:
    """`task(r)` for every replication on the cluster at `scheduler` (Dask(scheduler).map)."""
    return Dask(scheduler).map(task, replications, on_done)
