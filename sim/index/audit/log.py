"""The append-only, hash-chained audit log: write-ahead, many writers, signed checkpoints.

Storage: JSON lines in one file, plus a checkpoints file beside it (`audit.jsonl`,
`audit.checkpoints.jsonl`), both owner-only. Chosen over SQLite because
- appending is the only operation: a file opened for append has no UPDATE or DELETE to misuse;
- a line is the exact bytes that are hashed, so anyone can re-check the chain with sha256 and a
  JSON parser, and a disclosure or an inquiry can read it without the workbench;
- one flat schema per line lets polars read the whole log natively for analysis;
- a flat file leaves no freelist pages or WAL residue for decommissioning to chase
  (docs/decommissioning-standards.md section 6).

Each entry carries its sequence number, the sha256 of the previous entry (`prev`) and its own
(`hash`). Write-ahead: `append` returns only once the entry is written (and, with `audit_sync =
"fdatasync"`, on disk), so an answer is never given for an access the log could lose. Many
writers, in any number of processes, share one chain: each write takes an exclusive lock on the
log file (flock), re-reads the head if another process moved it, and appends; threads of one
process queue their entries and one of them writes the whole queue with one sync (group commit).
Every `audit_checkpoint_every` entries or `audit_checkpoint_seconds` of activity, and on close,
the head hash is signed with Ed25519, and the signed head is also written to a witness file
outside the deployment (the operator's copy): truncation and rewriting are caught against it.
"""

import datetime as dt
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.errors import InputError
from sim.index.audit.event import GENESIS, AuditEvent, canonical, encode_entry
from sim.index.audit.keys import load_signing_key
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules
from sim.outputs import private_file, replace_file

# A check run under the log's lock just before an entry is written: None to write the entry as
# given, or a refusal reason, in which case a refusal is written in its place.
StillAllowed = Callable[[], str | None]


def checkpoints_path(log_path: Path) -> Path:
    """The checkpoints file that belongs to a log: `audit.jsonl` -> `audit.checkpoints.jsonl`."""
    log_path = Path(log_path)
    return log_path.with_name(f"{log_path.stem}.checkpoints{log_path.suffix or '.jsonl'}")


def checkpoint_body(seq: int, head: str, time: dt.datetime) -> dict[str, object]:
    return {"seq": seq, "hash": head, "time": time.isoformat(timespec="microseconds")}


@dataclass(slots=True)
class _Pending:
    event: AuditEvent
    still_allowed: StillAllowed | None
    seq: int = 0
    refused: str | None = None
    error: Exception | None = None
    done: bool = False


class AuditLog:
    """Appends events to the log; any number of AuditLogs, in any processes, share one chain."""

    def __init__(
        self,
        path: Path,
        signing_key: Ed25519PrivateKey,
        rules: MonitoringRules | None = None,
        *,
        witness: Path | None = None,
    ) -> None:
        rules = rules or load_monitoring_rules()
        self.path = Path(path)
        self.witness = Path(witness) if witness else None
        self._key = signing_key
        self._checkpoint_every = rules.audit_checkpoint_every.value
        self._checkpoint_seconds = rules.audit_checkpoint_seconds.value
        self._sync = os.fdatasync if rules.audit_sync.value == "fdatasync" else None
        self._durable = True  # checkpoints fsync the log, themselves and the witness
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._fd = os.open(private_file(self.path), flags, 0o600)
        self._cp_fd = os.open(private_file(checkpoints_path(self.path)), flags, 0o600)
        # Read-only twins: another process's appends are read back from the end (pread), so
        # taking the head costs no open or close under the lock.
        self._read_fd = os.open(self.path, os.O_RDONLY)
        self._cp_read_fd = os.open(checkpoints_path(self.path), os.O_RDONLY)
        self._size = self._cp_size = -1
        self._seq, self._head, self._signed = 0, GENESIS, 0
        self._last_time: dt.datetime | None = None
        self._signed_clock = time.monotonic()
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._writer: int | None = None  # the thread holding the file lock
        self._depth = 0
        self._closed = False
        with self.exclusive():
            pass  # reads the head and the last signed count

    @classmethod
    def open(
        cls,
        path: Path,
        key_store: Path,
        rules: MonitoringRules | None = None,
        *,
        witness: Path | None = None,
    ) -> "AuditLog":
        """Open (or start) the log at `path`, signing with the key in `key_store`."""
        return cls(path, load_signing_key(key_store), rules, witness=witness)

    @property
    def entries(self) -> int:
        """Entries in the log (all of them durable), whichever process wrote them."""
        with self.exclusive():
            return self._seq

    # -- the lock --------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the log: no other thread or process appends until the block ends. Appends made
        inside it (by this thread) are written at once; a switch-off uses it so that no answer
        can be logged between its state change and its own entry."""
        me = threading.get_ident()
        with self._cond:
            while self._writer not in (None, me):
                self._cond.wait()
            self._writer = me
            self._depth += 1
        try:
            if self._depth == 1:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                self._refresh()
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    self._writer = None
                    self._cond.notify_all()

    def _refresh(self) -> None:
        """Re-read the head (and the last signed count) if another process moved them."""
        size = os.fstat(self._fd).st_size
        if size != self._size:
            self._seq, self._head = _tail(self.path, self._read_fd, size)
            self._size = size
        cp_size = os.fstat(self._cp_fd).st_size
        if cp_size != self._cp_size:
            self._signed = _signed(checkpoints_path(self.path), self._cp_read_fd, cp_size)
            self._cp_size = cp_size

    # -- appending -------------------------------------------------------------------------

    def without_sync(self) -> None:
        """Write entries, checkpoints and the witness (in place) without fsync from now on: for a
        simulation's throw-away working copy (as sim.index.store.sqlite_live.scratch does for
        its index), never a real log. Checkpoints are still signed and published."""
        self._sync = None
        self._durable = False

    def append(self, event: AuditEvent) -> int:
        """Add one event, durably; returns its sequence number (1 = the first line)."""
        pending = self._submit(_Pending(event, None))
        return pending.seq

    def append_unless(self, event: AuditEvent, still_allowed: StillAllowed) -> str | None:
        """Add `event` if `still_allowed()` (run under the lock) returns None; otherwise add a
        refusal for the same act with the reason it returned, and return that reason."""
        return self._submit(_Pending(event, still_allowed)).refused

    def append_many(
        self, events: list[AuditEvent], checks: list[StillAllowed | None]
    ) -> list[str | None]:
        """Add `events` in order under one lock with one sync (a batch's group commit), each
        checked by its entry of `checks` as `append_unless` checks one. Returns each event's
        refusal (None if written as given)."""
        if len(checks) != len(events):
            raise ValueError("one check (or None) per event")
        batch = [_Pending(event, check) for event, check in zip(events, checks, strict=True)]
        if self._closed:
            raise InputError(f"{self.path}: the audit log is closed")
        with self.exclusive():
            self._write(batch)
        errors = [item.error for item in batch if item.error is not None]
        if errors:
            raise errors[0]
        return [item.refused for item in batch]

    def _submit(self, pending: _Pending) -> _Pending:
        if self._closed:
            raise InputError(f"{self.path}: the audit log is closed")
        me = threading.get_ident()
        with self._cond:
            mine = self._writer == me
            if not mine:
                self._queue.append(pending)
                while not pending.done and self._writer is not None:
                    self._cond.wait()
        if mine:  # inside exclusive(): write at once
            self._write([pending])
        elif not pending.done:
            with self.exclusive():  # this thread leads: it writes everything queued
                with self._cond:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if pending.error is not None:
            raise pending.error
        return pending

    def _write(self, batch: list[_Pending]) -> None:
        """Encode and append a batch under the lock, with one sync; then maybe checkpoint."""
        lines = []
        try:
            for item in batch:
                event = item.event
                try:
                    item.refused = item.still_allowed() if item.still_allowed else None
                    if item.refused:
                        event = AuditEvent(
                            event.time, event.actor, event.action, "refused",
                            event.child_id, item.refused, {},
                        )  # fmt: skip
                    line, head = encode_entry(event, self._seq + 1, self._head)
                except Exception as error:
                    item.error = error
                    continue
                self._seq, self._head, self._last_time = self._seq + 1, head, event.time
                item.seq = self._seq
                lines.append(line)
            if lines:
                data = ("\n".join(lines) + "\n").encode()
                _write_all(self._fd, data)
                if self._sync:
                    self._sync(self._fd)
                self._size += len(data)
            due = time.monotonic() - self._signed_clock >= self._checkpoint_seconds
            if self._seq - self._signed >= self._checkpoint_every or due:
                self._sign(None)
        finally:
            with self._cond:
                for item in batch:
                    item.done = True
                self._cond.notify_all()

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(self, time: dt.datetime | None = None) -> None:
        """Sign the head hash, if anything is unsigned; publish it to the witness file."""
        with self.exclusive():
            self._sign(time)

    def _sign(self, stamp: dt.datetime | None) -> None:
        self._signed_clock = time.monotonic()
        if self._seq == self._signed:
            return
        if self._durable:
            os.fsync(self._fd)
        stamp = stamp or self._last_time or dt.datetime(1970, 1, 1)
        body = checkpoint_body(self._seq, self._head, stamp)
        signature = self._key.sign(canonical(body).encode()).hex()
        signed = canonical({**body, "signature": signature})
        data = (signed + "\n").encode()
        _write_all(self._cp_fd, data)
        if self._durable:
            os.fsync(self._cp_fd)
        self._cp_size += len(data)
        self._signed = self._seq
        if self.witness is not None:
            _publish(self.witness, signed, self._durable)

    def close(self) -> None:
        """Checkpoint what is unsigned and close both files."""
        if self._closed:
            return
        self.checkpoint()
        self._closed = True
        for fd in (self._fd, self._cp_fd, self._read_fd, self._cp_read_fd):
            os.close(fd)

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _publish(witness: Path, signed: str, durable: bool) -> None:
    """Replace the witness file (owner-only) with the newest signed head: the workbench's one
    atomic writer (temporary file, fsync, rename, fsync of the directory), under the log's lock
    so one writer at a time. Not `durable` (a throw-away copy): overwritten in place, one
    write with no rename or sync (each costs milliseconds on a busy disk, at every checkpoint),
    then cut to its length; never emptied first, since ext4 flushes a file truncated to nothing
    and written again when it is closed (auto_da_alloc): about 10 ms a checkpoint on a busy
    disk."""
    data = (signed + "\n").encode()
    if durable:
        replace_file(witness, data, private=True)
        return
    descriptor = os.open(private_file(witness), os.O_WRONLY)
    try:
        _write_all(descriptor, data)
        os.ftruncate(descriptor, len(data))
    finally:
        os.close(descriptor)


def _last_line(path: Path, fd: int, size: int) -> bytes | None:
    """The last complete line of the first `size` bytes of the file open read-only at `fd`
    (None if empty); raises, naming `path`, if they end mid-line."""
    chunk = 4096
    while size:
        start = max(0, size - chunk)
        data = os.pread(fd, size - start, start)
        if not data.endswith(b"\n"):
            raise InputError(f"{path}: ends mid-entry; run `cpw index audit verify`")
        lines = data[:-1].split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1]
        chunk *= 2
    return None


def _tail(path: Path, fd: int, size: int) -> tuple[int, str]:
    """The last entry's sequence number and hash, read from the end of the log."""
    line = _last_line(path, fd, size)
    if line is None:
        return 0, GENESIS
    try:
        last = json.loads(line)
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: last entry unreadable; run `cpw index audit verify`") from None


def _signed(path: Path, fd: int, size: int) -> int:
    """How many entries the last checkpoint signed (0 if none)."""
    line = _last_line(path, fd, size)
    if line is None:
        return 0
    try:
        return int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: last checkpoint unreadable") from None
