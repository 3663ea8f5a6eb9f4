"""Answering a pending subject access request from the archive, after the index is destroyed.

DPA 1998 s8(6): a request is answered on the data held when it arrived, so a pending request
outlives the index. The archive keeps the child's whole record (decommission.held); the
custodian opens it with their age identity (decommission.custody) and the request is answered
by the live index's own code (sim.index.sar: fee, identity, consent age, shielding, the pack of
sim.index.sar_pack) run against the archived part opened as an index store in memory. Nothing
is written into the archive: the answer, and any refusal, is logged for the custodian.
"""

import datetime as dt
import json
import sqlite3
import tempfile
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from decommission.archive import (
    HELD_FILE,
    SUPPLEMENT_HELD,
    SUPPLEMENT_KEYS,
    WRAPPED_KEYS,
    read_part,
)
from decommission.bagcheck import strict_problems
from decommission.custody import Identity, unwrap_keys
from decommission.held import held_store
from sim.errors import InputError
from sim.index.audit import AuditEvent
from sim.index.sar import SarOutcome, SarRefused, disclose, record_fee, record_identity
from sim.index.store.protocols import SubjectAccessStore


def bag_of(path: Path) -> Path:
    """The archive bag: `path` itself, or the `archive` bag inside an evidence directory."""
    for bag in (Path(path), Path(path) / "archive"):
        if (bag / "bagit.txt").is_file():
            return bag
    raise InputError(f"{path}: not an archive (no bagit.txt here or in {path}/archive)")


def parts_of(bag: Path) -> list[tuple[str, str]]:
    """(held records, wrapped keys) of each archived part, the first part then supplements."""
    parts = [(HELD_FILE, f"data/{WRAPPED_KEYS}")]
    for held in sorted((bag / "data/holds").glob("supplement-*.json.enc")):
        number = int(held.name.removeprefix("supplement-").split(".")[0])
        parts.append((SUPPLEMENT_HELD.format(number=number), SUPPLEMENT_KEYS.format(number=number)))
    return parts


def open_parts(bag: Path, custodian: Identity) -> list[dict[str, Any]]:
    """Every archived part, decrypted with keys the custodian's identity unwraps; refuses an
    archive that does not validate strictly or whose keys were not wrapped for a custodian."""
    problems = strict_problems(bag)
    if problems:
        raise InputError(f"{bag}: the archive does not validate: {problems[0]}")
    opened = []
    for held, wrapped in parts_of(bag):
        if not (bag / wrapped).is_file():
            raise InputError(
                f"{bag / wrapped}: missing: the archive keys were printed to the operator, not "
                "wrapped for a custodian, so answer-sar cannot open this part"
            )
        keys = unwrap_keys((bag / wrapped).read_bytes(), custodian)
        opened.append(read_part(bag, keys, held))
    return opened


def answer_request(
    bag: Path,
    request_id: int,
    custodian: Identity,
    on: dt.date,
    *,
    fee_paid_on: dt.date | None = None,
    identity_verified_on: dt.date | None = None,
    actor: str,
    at: dt.datetime,
) -> SarOutcome:
    """Record the fee and identity if given, then disclose (sim.index.sar.disclose) from the
    latest archived part that holds the request. SarRefused when the rules refuse it."""
    parts = [p for p in open_parts(bag, custodian) if _holds(p, request_id)]
    if not parts:
        raise SarRefused(f"subject access request {request_id}: not in the archive")
    part = parts[-1]
    store = held_store(part)
    try:
        if fee_paid_on is not None:
            due = _request(store, request_id)["fee_due_pence"]
            amount = Decimal(int(str(due))) / 100
            record_fee(store, request_id, fee_paid_on, amount, actor=actor, at=at)
        if identity_verified_on is not None:
            record_identity(store, request_id, identity_verified_on, actor=actor, at=at)
        with tempfile.TemporaryDirectory(prefix="cpw-answer-") as folder:
            log = Path(folder) / "audit.jsonl"  # the child's entries only, removed on return
            log.write_text(
                "".join(f"{line}\n" for lines in part["audit"].values() for line in lines)
            )
            return disclose(store, request_id, on, actor=actor, at=at, audit_log=log)
    finally:
        store.close()


def log_event(path: Path, event: AuditEvent) -> None:
    """Append the answer or the refusal to the custodian's log (one JSON line)."""
    entry = asdict(event)
    entry["time"] = event.time.isoformat()
    with Path(path).open("a") as handle:
        handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")


def _holds(part: dict[str, Any], request_id: int) -> bool:
    store = held_store(part)
    try:
        return bool(store.read_subject_access_requests(request_id=request_id))
    except sqlite3.OperationalError:  # an index with no request table holds no request
        return False
    finally:
        store.close()


def _request(store: SubjectAccessStore, request_id: int) -> dict[str, object]:
    return store.read_subject_access_requests(request_id=request_id)[0]
