"""Replications on a Dask distributed cluster: the same function and directories as local runs.

Each replication is a pure task (its seed comes from the scenario and its number), gathered in
replication order, so the tables are identical to a local run. Workers write into the run's
staging directory, so on a multi-machine cluster that directory must be on storage every worker
shares; on one machine (a `LocalCluster`, as the tests use) it simply is. Dask is the optional
`scale` extra and is imported only when a scheduler is given.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import InputError


def run_on_cluster(
    scheduler: Any,
    task: Callable[[int], Any],
    replications: range,
    on_done: Callable[[], None] | None = None,
) -> list[Any]:
    """`task(r)` for every replication on the cluster at `scheduler` (an address or a Client)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler: Dask is not installed (pip install -e '.[scale]')") from None
    owned = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout="10s") if owned else scheduler
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"--scheduler: cannot reach {scheduler}: {error}") from None
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


def replication_task(scenario: Any, root: Path) -> Callable[[int], Any]:
    """A picklable task running replication r of `scenario` into the run's directory."""
    from functools import partial

    return partial(_replication, scenario, root)


def _replication(scenario: Any, root: Path, replication: int) -> Any:
    from sim.experiments.replication import run_replication
    from sim.experiments.run import _replication_dir

    return run_replication(scenario, replication, _replication_dir(root, replication))
