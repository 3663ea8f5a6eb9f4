"""Writing outputs atomically: complete and renamed into place, or not there at all.

A run that fails or is interrupted leaves no directory that looks complete. A file is replaced
(`replace_file`, the one atomic writer of the workbench: the index's witness and exports and
every decommissioning record) by writing a temporary file beside it, flushing it to the disk,
renaming it over the old one and flushing the directory, so the rename itself survives a power
cut (rename(2) is atomic within one filesystem; POSIX leaves the directory entry in the page
cache until the directory is synced). The temporary name ends in `.partial`, a class the
deployment scan knows as temporary (decommission.inventory), so one left by a kill is found and
destroyed.
"""

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError

PARTIAL = ".partial"


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse early (before any work) an output directory that cannot or must not be written."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--out: {out} is not empty (use --force to replace it)")
    parent = out.resolve().parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--out: cannot write in {existing} (permission denied)")


def _staging_prefix(out: Path) -> str:
    return f".{out.name}{PARTIAL}-"


def staging_path_like(out: Path) -> Path:
    """A path as long as the staging directory `staged_directory` makes for `out` (mkdtemp adds
    8 characters to the prefix): for length checks before that directory exists."""
    return out.resolve().with_name(_staging_prefix(out) + "X" * 8)


@contextmanager
def staged_directory(out: Path, force: bool, private: bool = False) -> Iterator[Path]:
    """Yield a hidden staging directory beside `out`; on success it replaces `out` atomically.
    `private` keeps it owner-only (mode 0700) whatever the umask, for child data and keys."""
    check_output_dir(out, force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o700 if private else 0o777 & ~umask)  # mkdtemp makes it private
    except OSError as exc:
        raise InputError(f"--out: cannot write in {parent}: {exc.strerror}") from None
    try:
        yield staging
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            out.rename(retired / "old")
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def write_private(path: Path, content: str | bytes, what: str = "file") -> None:
    """Create a file readable by its owner only (mode 0600), refusing to overwrite one: keys,
    credentials and secrets are written once and destroyed by decommissioning, never replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: {what} exists; refusing to overwrite") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content.encode() if isinstance(content, str) else content)


def private_file(path: Path) -> Path:
    """Make sure `path` exists and is readable by its owner only, whatever the umask: for files
    that hold child data, accounts or keys (SQLite copies the mode to its -wal and -shm files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
    return path


def owner_only_tree(root: Path) -> None:
    """Every directory under `root` mode 0700 and every file 0600, whatever the umask was when
    they were made (a deployment: child data, accounts and keys throughout)."""
    root = Path(root)
    root.chmod(0o700)
    for path in root.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)


def replace_file(
    path: Path,
    content: bytes,
    room: int | None = None,
    *,
    private: bool = False,
    durable: bool = True,
) -> None:
    """Replace `path` with `content` atomically: a kill at any instant leaves the old file or
    the new. With `room` (bytes left on the volume) a write that does not fit raises
    OSError(ENOSPC), as a full filesystem does, and `path` is unchanged. `private` makes the
    file owner-only (mode 0600) from its first byte, whatever the umask: child data and keys.
    `durable=False` skips the fsyncs (a crash may lose the file): only for a simulation's
    throw-away working copy."""
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
            if durable:
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if durable:
        sync_directory(path.parent)


def replace_text(path: Path, text: str, *, private: bool = False) -> None:
    replace_file(path, text.encode(), private=private)


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
