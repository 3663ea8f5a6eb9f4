"""Writing output directories atomically: complete and renamed into place, or not there at all.

A run that fails or is interrupted leaves no directory that looks complete.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError


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


@contextmanager
def staged_directory(out: Path, force: bool, private: bool = False) -> Iterator[Path]:
    """Yield a hidden staging directory beside `out`; on success it replaces `out` atomically.
    `private` keeps it owner-only (mode 0700) whatever the umask, for child data and keys."""
    check_output_dir(out, force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
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
