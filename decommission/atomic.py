"""Writes that replace state all at once: a kill at any instant leaves the old file or the new.

The atomic writer itself is the workbench's one (sim.outputs: temporary file, fsync, rename,
fsync of the directory; the temporary name ends in `.partial`, a class the deployment scan
knows, decommission.inventory); this module adds what only decommissioning needs: removing a
tree left by a dead attempt, and holding interrupts while a run's outcome is recorded.
"""

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.outputs import PARTIAL, rename, replace_file, replace_text, sync_directory

__all__ = [
    "PARTIAL",
    "interrupts_held",
    "remove_tree",
    "rename",
    "replace_file",
    "replace_text",
    "sync_directory",
]


def remove_tree(directory: Path) -> None:
    """Remove a directory left by a dead attempt (nothing if there is none)."""
    if Path(directory).exists():
        shutil.rmtree(directory)
        sync_directory(Path(directory).parent)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait (blocked, not lost) until the block ends: for the few writes that
    record how a run ended, which must not be cut between the record and the report."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
