"""One rehearsal per deployment at a time: an exclusive lock held for the whole run.

Two rehearsals of one deployment would each destroy what the other still counts on. The lock is
flock(2) on DEPLOYMENT.decommission.lock, beside the tree (as the credentials and canaries are),
so destruction, which removes every file under the deployment, never removes the lock while it
is held, and the residue scan never finds it. The kernel releases a flock when its holder exits
by any means (an exception, Ctrl-C, SIGKILL), so a dead run never leaves the deployment locked.
"""

import fcntl
import os
from pathlib import Path
from types import TracebackType

from sim.errors import WorkbenchError


class DeploymentBusy(WorkbenchError):
    """Another process holds the deployment's lock: this rehearsal is refused before it acts."""


def lock_path(deployment: Path) -> Path:
    deployment = Path(deployment).resolve()
    return deployment.parent / f"{deployment.name}.decommission.lock"


class DeploymentLock:
    """`with DeploymentLock(deployment):` holds the lock or raises DeploymentBusy at once."""

    def __init__(self, deployment: Path) -> None:
        self.deployment = Path(deployment).resolve()
        self.path = lock_path(deployment)
        self.descriptor: int | None = None

    def __enter__(self) -> "DeploymentLock":
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode(errors="replace").strip()
            os.close(descriptor)
            raise DeploymentBusy(
                f"{self.deployment}: another rehearsal of this deployment is running "
                f"(process {holder or 'unknown'}); wait for it to end"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self.descriptor = descriptor
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # closing the only descriptor releases the flock
            self.descriptor = None
