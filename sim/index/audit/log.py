"""The append-only, hash-chained audit log with signed checkpoints.

Storage: JSON lines in one file, plus a checkpoints file beside it (`audit.jsonl`,
`audit.checkpoints.jsonl`). Chosen over SQLite because
- appending is the only operation: a file opened for append has no UPDATE or DELETE to misuse,
  and a batch costs one write call, where a SQLite commit costs a journal round-trip;
- a line is the exact bytes that are hashed, so anyone can re-check the chain with sha256 and a
  JSON parser, and a disclosure or an inquiry can read it without the workbench;
- one flat schema per line lets polars read the whole log natively for analysis;
- a flat file leaves no freelist pages or WAL residue for decommissioning to chase
  (docs/decommissioning-standards.md 5.2).

Each entry carries its sequence number, the sha256 of the previous entry (`prev`) and its own
(`hash`). Every `audit_checkpoint_every` entries, and on close, the head hash is signed with
Ed25519: truncation and wholesale rewriting are caught against the last signed checkpoint.
Entries are buffered and written every `audit_flush_every` entries and at each checkpoint, so an
append costs microseconds (a search's whole budget is 2 ms at the median;
docs/index-design.md, "Performance").
"""

import datetime as dt
import json
import os
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.errors import InputError
from sim.index.audit.event import GENESIS, AuditEvent, canonical, encode_entry
from sim.index.audit.keys import load_signing_key
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules


def checkpoints_path(log_path: Path) -> Path:
    """The checkpoints file that belongs to a log: `audit.jsonl` -> `audit.checkpoints.jsonl`."""
    log_path = Path(log_path)
    return log_path.with_name(f"{log_path.stem}.checkpoints{log_path.suffix or '.jsonl'}")


def checkpoint_body(seq: int, head: str, time: dt.datetime) -> dict[str, object]:
    return {"seq": seq, "hash": head, "time": time.isoformat(timespec="microseconds")}


class AuditLog:
    """Appends events to the log; reopening an existing log continues its chain."""

    def __init__(
        self,
        path: Path,
        signing_key: Ed25519PrivateKey,
        rules: MonitoringRules | None = None,
    ) -> None:
        rules = rules or load_monitoring_rules()
        self.path = Path(path)
        self._key = signing_key
        self._checkpoint_every = rules.audit_checkpoint_every.value
        self._flush_every = rules.audit_flush_every.value
        self._seq, self._head = _tail(self.path)
        self._signed = self._seq
        self._last_time: dt.datetime | None = None
        self._buffer: list[str] = []
        self._file = self.path.open("ab")
        self._checkpoints = checkpoints_path(self.path).open("ab")

    @classmethod
    def open(cls, path: Path, key_store: Path, rules: MonitoringRules | None = None) -> "AuditLog":
        """Open (or start) the log at `path`, signing with the key in `key_store`."""
        return cls(path, load_signing_key(key_store), rules)

    @property
    def entries(self) -> int:
        """Entries appended so far, including those still buffered."""
        return self._seq

    def append(self, event: AuditEvent) -> int:
        """Add one event; returns its sequence number (1 = the first line)."""
        line, self._head = encode_entry(event, self._seq + 1, self._head)
        self._seq += 1
        self._last_time = event.time
        self._buffer.append(line)
        if self._seq - self._signed >= self._checkpoint_every:
            self.checkpoint()
        elif len(self._buffer) >= self._flush_every:
            self.flush()
        return self._seq

    def flush(self) -> None:
        """Write buffered entries to the file (no fsync: that is the checkpoint's job)."""
        if self._buffer:
            self._buffer.append("")
            self._file.write("\n".join(self._buffer).encode())
            self._file.flush()
            self._buffer.clear()

    def checkpoint(self, time: dt.datetime | None = None) -> None:
        """Flush, then sign the head hash: truncation is checked against the signed count."""
        self.flush()
        if self._seq == self._signed:
            return
        os.fsync(self._file.fileno())
        stamp = time or self._last_time or dt.datetime(1970, 1, 1)
        body = checkpoint_body(self._seq, self._head, stamp)
        signature = self._key.sign(canonical(body).encode()).hex()
        self._checkpoints.write((canonical({**body, "signature": signature}) + "\n").encode())
        self._checkpoints.flush()
        os.fsync(self._checkpoints.fileno())
        self._signed = self._seq

    def close(self) -> None:
        """Checkpoint what is unsigned and close both files."""
        if self._file.closed:
            return
        self.checkpoint()
        self._file.close()
        self._checkpoints.close()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _tail(path: Path) -> tuple[int, str]:
    """The last entry's sequence number and hash, read from the end of an existing log."""
    if not path.exists() or path.stat().st_size == 0:
        return 0, GENESIS
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            handle.seek(start)
            data = handle.read(size - start)
            if not data.endswith(b"\n"):
                raise InputError(f"{path}: log ends mid-entry; run `cpw index audit verify`")
            lines = data[:-1].split(b"\n")
            if len(lines) > 1 or start == 0:
                break
            chunk *= 2
    try:
        last = json.loads(lines[-1])
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: last entry unreadable; run `cpw index audit verify`") from None
