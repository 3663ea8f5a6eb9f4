"""Writes that replace state all at once: a kill at any instant leaves the old file or the new.

A file is replaced by writing a temporary file beside it, flushing it to the disk, renaming it
over the old one and flushing the directory, so the rename itself survives a power cut
(rename(2) is atomic within one filesystem; POSIX leaves the directory entry in the page cache
until the directory is synced). The temporary name ends in `.partial`, a class the deployment
scan knows as temporary (decommission.inventory), so one left by a kill is found and destroyed.
"""

import errno
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL = ".partial"


def replace_file(
    path: Path, content: bytes, room: int | None = None, *, private: bool = False
) -> None:
    """Replace `path` with `content` atomically. With `room` (bytes left on the volume) a write
    that does not fit raises OSError(ENOSPC), as a full filesystem does, and `path` is unchanged.
    `private` makes the file owner-only (mode 0600) from its first byte, for keys."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + PARTIAL)
    try:
        mode = 0o600 if private else 0o666  # 0666 less the umask, as open() gives
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        if private:
            os.fchmod(descriptor, mode)  # a partial left by a dead attempt keeps its old mode
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content if room is None else content[:room])
            if room is not None and len(content) > room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def replace_text(path: Path, text: str) -> None:
    replace_file(path, text.encode())


def rename(source: Path, target: Path) -> None:
    """Rename (a file or a directory) and flush the directory, so the new name survives."""
    os.replace(source, target)
    sync_directory(Path(target).parent)


def sync_directory(directory: Path) -> None:
    """fsync a directory: its entries (a rename, a new or removed file) reach the disk."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
