"""Verification of the audit log: any edit, deletion, insertion, reordering or truncation.

Checks, entry by entry: the line is valid UTF-8 and exactly the canonical JSON of its body
followed by its `hash`, the sha256 of that body (no byte can change unnoticed: edits); its
sequence number is its line number (deletions, insertions and swaps); its `prev` is the
previous entry's hash (the chain). Then every checkpoint: its Ed25519 signature, and that the
log still holds the entry it signed with the same hash (truncation, and a chain rebuilt by
someone without the signing key). What no log can show alone, the loss of the newest
checkpoints together with the entries after them, the witness shows: the signed head the
service last published outside the deployment (sim.index.audit.log), which the log must still
hold. The public key must come from outside what is verified (sim.index.audit.keys).
"""

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from sim.index.audit.event import ENTRY_KEYS, GENESIS, canonical, digest, split_entry
from sim.index.audit.keys import PublicKeyLike, as_public_key
from sim.index.audit.log import checkpoints_path

CHECKPOINT_KEYS = frozenset({"seq", "hash", "time", "signature"})


@dataclass(frozen=True)
class VerifyReport:
    """The verdict; `first_bad` is the sequence number (= line number) of the first bad entry."""

    ok: bool
    entries: int
    checkpoints: int
    signed_entries: int
    first_bad: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit log intact: {self.entries} entries, {self.checkpoints} signed checkpoints"
                f" covering {self.signed_entries} entries"
            )
        return f"audit log FAILED verification: {self.problem}"


def _parse(raw: bytes, keys: frozenset[str], hashed: bool = False) -> tuple[dict, str] | None:
    """The parsed line and the text its hash covers, if the line is exactly in canonical form."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.keys() != keys:
        return None
    if hashed:
        split = split_entry(text, value)
        return (value, split[0]) if split and split[1] == digest(split[0]) else None
    return (value, text) if canonical(value) == text else None


def _check_entries(lines: list[bytes]) -> tuple[list[str], int | None, str | None]:
    hashes: list[str] = []
    prev = GENESIS
    for seq, raw in enumerate(lines, start=1):
        parsed = _parse(raw, ENTRY_KEYS, hashed=True)
        if parsed is None:
            return hashes, seq, f"entry {seq}: content does not match its hash (edited)"
        entry, text = parsed
        if entry["seq"] != seq:
            return (
                hashes,
                seq,
                f"entry {seq}: holds seq {entry['seq']} (deleted, inserted or moved)",
            )
        if entry["prev"] != prev:
            return hashes, seq, f"entry {seq}: does not chain to entry {seq - 1}"
        prev = digest(text)
        hashes.append(prev)
    return hashes, None, None


def _check_signed(key, raw: bytes, keys: frozenset[str]) -> dict | None:
    """The checkpoint (or witness) if it is canonical and its signature is the key's."""
    parsed = _parse(raw, keys)
    cp = parsed[0] if parsed else None
    if cp is None or not isinstance(cp["seq"], int) or not isinstance(cp["signature"], str):
        return None
    body = canonical({k: cp[k] for k in ("seq", "hash", "time")})
    try:
        key.verify(bytes.fromhex(cp["signature"]), body.encode())
    except (InvalidSignature, ValueError):
        return None
    return cp


def _witness_problem(key, witness: Path, hashes: list[str]) -> str | None:
    """Why the log does not hold the head the witness signed, or None."""
    try:
        raw = Path(witness).read_bytes().rstrip(b"\n")
    except OSError:
        return f"witness {witness}: unreadable"
    cp = _check_signed(key, raw, CHECKPOINT_KEYS)
    if cp is None:
        return f"witness {witness}: not a head signed by this key"
    seq = cp["seq"]
    if seq > len(hashes):
        return f"log truncated: the witness signed {seq} entries, the log holds {len(hashes)}"
    if hashes[seq - 1] != cp["hash"]:
        return f"entries up to {seq} were rewritten: entry {seq} does not match the witness"
    return None


def verify(log_path: Path, public_key: PublicKeyLike, witness: Path | None = None) -> VerifyReport:
    """Re-check the whole log and its checkpoints against the audit public key, and (given the
    operator's witness file) that the log still holds the head last published."""
    key = as_public_key(public_key)
    data = Path(log_path).read_bytes()
    lines = data.split(b"\n")
    complete = lines[-1] == b""
    lines = lines[:-1] if complete else lines
    hashes, first_bad, problem = _check_entries(lines)
    if first_bad is None and not complete:
        first_bad, problem = len(lines), f"entry {len(lines)}: incomplete last line"
    cp_file = checkpoints_path(Path(log_path))
    cp_lines = cp_file.read_bytes().split(b"\n")[:-1] if cp_file.exists() else []
    signed, previous_signed = 0, 0
    for number, raw in enumerate(cp_lines, start=1):
        parsed = _parse(raw, CHECKPOINT_KEYS)
        cp = parsed[0] if parsed else None
        bad_cp = None
        if cp is None or not isinstance(cp["seq"], int) or cp["seq"] <= previous_signed:
            bad_cp = f"checkpoint {number}: malformed or out of order"
        else:
            body = canonical({k: cp[k] for k in ("seq", "hash", "time")})
            try:
                key.verify(bytes.fromhex(cp["signature"]), body.encode())
            except (InvalidSignature, ValueError):
                bad_cp = f"checkpoint {number}: signature invalid"
        if bad_cp:
            return _report(False, lines, len(cp_lines), signed, first_bad, problem or bad_cp)
        seq = cp["seq"]
        if first_bad is not None and seq >= first_bad:
            break
        if seq > len(lines):
            return _report(
                False,
                lines,
                len(cp_lines),
                signed,
                len(lines) + 1,
                f"log truncated: checkpoint {number} signed {seq} entries, the log holds "
                f"{len(lines)}",
            )
        if hashes[seq - 1] != cp["hash"]:
            return _report(
                False,
                lines,
                len(cp_lines),
                signed,
                previous_signed + 1,
                f"entries {previous_signed + 1}-{seq} were rewritten: entry {seq} does not match "
                f"checkpoint {number}",
            )
        signed = previous_signed = seq
    if first_bad is None and witness is not None:
        problem = _witness_problem(key, witness, hashes)
        if problem:
            return _report(False, lines, len(cp_lines), signed, len(hashes) + 1, problem)
    return _report(first_bad is None, lines, len(cp_lines), signed, first_bad, problem)


def _report(
    ok: bool, lines: list[bytes], checkpoints: int, signed: int, bad: int | None, why: str | None
) -> VerifyReport:
    return VerifyReport(ok, len(lines), checkpoints, signed, bad, why)
