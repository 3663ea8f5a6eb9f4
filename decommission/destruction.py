"""Destroy every copy: cryptographic erase of data keys, SQLite clearing, overwrite and unlink.

What each method achieves (NIST SP 800-88 Rev. 1 section 2.5;
docs/decommissioning-standards.md 1-2):
- Cryptographic erase removes a data key from the key store; if, and only if, the store was
  encrypted from its first write and every copy of the key is destroyed, the ciphertext left on
  any medium is unreadable: a 'purge' of that store (SP 800-88 Rev. 1 2.6; IEEE 2883).
- Overwriting a file through the filesystem writes new bytes to the blocks the file maps *now*.
  That is at best a 'clear' of the logical file: on SSDs (wear levelling, over-provisioning,
  remapped blocks), on journaling or copy-on-write filesystems (ext4 data=journal, btrfs, ZFS),
  in snapshots and in blocks freed earlier (an unlinked WAL or journal), old bytes may remain and
  only a device-level purge (sanitize, crypto erase of the drive) or physical destruction reaches
  them. HMG IS5 asked for a verified overwrite of every sector of the medium, which a file-level
  tool cannot do; certificates say 'clear' for these items for that reason.
- SQLite: a DELETE with `secure_delete=ON`, then VACUUM, zeroes row content through the database
  engine, with the rollback journal off so no pre-image journal is written and unlinked (standards
  5.2: PERSIST and DELETE journals keep pre-images). The WAL is overwritten before the database is
  opened: its frames are copies of rows too, and the archive has already taken what is kept.
  A database SQLite can no longer open or clear (malformed by a run killed while clearing it) is
  overwritten byte by byte and removed like any other file: its rows are gone with its bytes.
"""

import base64
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from decommission import atomic
from decommission.inventory import SIDECAR_SUFFIXES, FoundFile
from sim.errors import WorkbenchError

CHUNK = 1 << 22
SQLITE_HEADER = b"SQLite format 3\x00"
ERASING = ".erasing.partial"
"""Suffix of the old key store's second link while it is being erased (a temporary class)."""
TOOL = (
    f"decommission.destruction (Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version})"
)


class KeyNotErased(WorkbenchError):
    """A data key is still in the key store after erasure."""


@dataclass(frozen=True)
class DestructionRecord:
    """What was done to one file (no content, only its digest before destruction)."""

    path: str
    store: str | None
    kind: str
    holder: str
    method: str
    sanitization: str
    tool: str
    size: int
    sha256_before: str
    rows_after_clear: dict[str, int] | None = None
    key_id: str | None = None


def read_keys(keystore: Path) -> dict[str, dict[str, Any]]:
    """The key store's keys by key_id ({"keys": {id: {...}}} or a list of {"key_id": ...})."""
    document = json.loads(Path(keystore).read_text())
    keys = document.get("keys", {}) if isinstance(document, dict) else document
    if isinstance(keys, list):
        return {entry["key_id"]: entry for entry in keys}
    return dict(keys)


def key_material(entry: dict[str, Any]) -> bytes:
    """The bytes to search for once a key is erased: raw key (base64 or hex fields) or PEM text."""
    for field in ("material", "key", "secret"):
        if field in entry:
            return base64.b64decode(entry[field])
    if "hex" in entry:
        return bytes.fromhex(entry["hex"])
    if "pem" in entry:
        return entry["pem"].encode()
    raise KeyNotErased(f"key entry has no key material field: {sorted(entry)}")


def crypto_erase(keystore: Path, key_ids: list[str]) -> None:
    """Remove the keys from the key store: the new store replaces the old atomically, then the
    old file's bytes are overwritten.

    A second hard link keeps the old store's blocks reachable while the new one is renamed into
    place, so at every instant the store's path holds a whole key store (the old or the new, never
    an empty or half-written one) and the old bytes are still overwritten once it is replaced. A
    link or a temporary file left by a run that died here is destroyed when the erasure is redone.
    """
    path = Path(keystore)
    try:
        document = json.loads(path.read_text())
    except ValueError:  # cut short by a run that died overwriting it: the file loop finishes it
        return
    container = document.get("keys", document) if isinstance(document, dict) else document
    if isinstance(container, list):
        container[:] = [entry for entry in container if entry.get("key_id") not in key_ids]
    else:
        for key_id in key_ids:
            container.pop(key_id, None)
    remaining = json.dumps(document, indent=1).encode()
    old = path.with_name(path.name + ERASING)
    if old.exists() and old.samefile(path):  # a run died before replacing: the store as it is
        old.unlink()
    elif old.exists():  # a run died after replacing: the old store's bytes, not yet overwritten
        overwrite_and_unlink(old, passes=1)
    os.link(path, old)
    atomic.replace_file(path, remaining)
    overwrite_and_unlink(old, passes=1)
    atomic.sync_directory(path.parent)
    left = [key_id for key_id in key_ids if key_id in read_keys(path)]
    if left:
        raise KeyNotErased(f"{path}: keys still present after erasure: {', '.join(left)}")


def clear_sqlite(path: Path) -> dict[str, int]:
    """Delete every row with secure_delete on, VACUUM, and return the row counts after."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA temp_store = MEMORY")  # no etilqs_ temp file on disk
        db.execute("PRAGMA journal_mode = OFF")
        if db.execute("PRAGMA secure_delete = ON").fetchone() != (1,):  # no row: ignored
            raise WorkbenchError(f"{path}: SQLite refused secure_delete=ON")
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            db.execute(f'DELETE FROM "{table}"')
        db.execute("VACUUM")
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        db.close()


def overwrite_and_unlink(path: Path, passes: int) -> None:
    """Overwrite every byte (last pass zeros, read back), flush to disk, then unlink."""
    _overwrite_in_place(path, passes)
    Path(path).unlink()


def _overwrite_in_place(path: Path, passes: int) -> None:
    size = Path(path).stat().st_size
    with Path(path).open("r+b") as handle:
        for number in range(passes):
            last = number == passes - 1
            handle.seek(0)
            for offset in range(0, size, CHUNK):
                length = min(CHUNK, size - offset)
                handle.write(bytes(length) if last else os.urandom(length))
            handle.flush()
            os.fsync(handle.fileno())
        handle.seek(0)
        block = bytearray(CHUNK)  # read back a block at a time, into one buffer
        while count := handle.readinto(block):
            if block[:count].count(0) != count:
                raise WorkbenchError(f"{path}: overwrite did not read back as zeros")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _nothing(event: dict[str, Any]) -> None:
    """The default `note` of destroy_files: nothing is journalled."""


def destroy_files(
    deployment: Path,
    found: list[FoundFile],
    keystore: str | None,
    passes: int,
    erase: Callable[[Path, list[str]], None] = crypto_erase,
    note: Callable[[dict[str, Any]], None] = _nothing,
) -> list[DestructionRecord]:
    """Destroy every found file: data keys first, then sidecars, databases and the rest.

    `note` is told before each action ({"erase": key_ids} or {"intent": record}) and after each
    file ({"done": record}), so a run that dies half-way can tell what it destroyed; if `note`
    raises (a full disk), the action it announced is not taken.
    """
    root = Path(deployment)
    records: list[DestructionRecord] = []
    encrypted = sorted({f.key_id for f in found if f.encrypted and f.key_id})
    if encrypted:
        if keystore is None:
            raise KeyNotErased("encrypted stores but no key store in the inventory")
        note({"erase": encrypted})
        erase(root / keystore, encrypted)
    present = [f for f in found if (root / f.path).is_file()]
    sidecars = [f for f in present if f.path.endswith(SIDECAR_SUFFIXES)]
    ordered = sidecars + [f for f in present if f not in sidecars]
    for item in ordered:
        path = root / item.path
        database = not item.path.endswith(SIDECAR_SUFFIXES) and _is_sqlite(path)
        if item.encrypted:
            method, level = "cryptographic erase, then overwrite", "purge"
        elif database:
            method, level = "SQLite secure_delete DELETE + VACUUM, then overwrite", "clear"
        else:
            method, level = "overwrite", "clear"
        size, before = path.stat().st_size, sha256_of(path)
        record = DestructionRecord(
            item.path, item.store, item.kind, item.holder, method, level, TOOL, size, before,
            None, item.key_id,
        )  # fmt: skip
        note({"intent": asdict(record)})
        if database:
            # before SQLite opens the file (and unlinks a WAL unread); clearing writes none
            _overwrite_sidecars(path, passes)
            try:
                record = replace(record, rows_after_clear=clear_sqlite(path))
            except sqlite3.DatabaseError as damaged:  # e.g. malformed by a kill mid-clear
                method = f"overwrite (SQLite clearing failed: {damaged})"
                record = replace(record, method=method, sanitization="clear")
        overwrite_and_unlink(path, passes)
        note({"done": asdict(record)})
        records.append(record)
    _remove_empty_directories(root)
    return records


def _overwrite_sidecars(database: Path, passes: int) -> None:
    """Overwrite and unlink the database's WAL, shared-memory index and rollback journal, if
    any: a scan limited to the inventory never lists them, and SQLite unlinks a WAL it opens
    without overwriting it, leaving its frames (copies of rows) in freed blocks."""
    for suffix in SIDECAR_SUFFIXES:
        sidecar = Path(f"{database}{suffix}")
        if sidecar.exists():
            overwrite_and_unlink(sidecar, passes)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == SQLITE_HEADER


def _remove_empty_directories(root: Path) -> None:
    for directory, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if Path(directory) != root and not any(Path(directory).iterdir()):
            Path(directory).rmdir()
