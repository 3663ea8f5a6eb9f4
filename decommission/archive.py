"""What survives: a BagIt 1.0 archive of what must be kept, and nothing else.

Kept (standards.toml `kept_kinds`): the audit log, sealed (encrypted, with its plaintext
checkpoints and a seal of its digests), records of children under a child-protection hold and
subjects of pending subject access requests (DPA 1998 s7, s8(6): a pending request is answered
on the data held when it arrived), encrypted under a key held apart from the archive, aggregate
statistics with no identifiers, and the decommissioning evidence so far. Any other child's record
in the archive would be a copy that escaped destruction, so `held_problems` checks there is none
(docs/decommissioning-standards.md 3.4 and 9.C.7).
"""

import datetime as dt
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, get_args

import bagit
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from decommission.bagcheck import file_digest, write_tag_manifests
from decommission.inventory import Inventory
from sim.index.sar import SubjectAccessRequest

HELD_FILE = "data/holds/held-records.json.enc"
WRAPPED_KEYS = "keys/archive-keys.wrapped.json"
Write = Callable[[Path, bytes], None]


@cache
def closed_sar_statuses() -> frozenset[str]:
    """Statuses of a request that needs nothing more: the outcomes sim.index.sar closes a request
    with (DPA 1998 s7: disclosed, or refused on a ground). Any other status, or one this list
    does not know, is pending and its child's record is kept."""
    outcome = SubjectAccessRequest.model_fields["outcome"].annotation  # Literal[...] | None
    literal = next(arg for arg in get_args(outcome) if get_args(arg))
    return frozenset(get_args(literal))


@dataclass(frozen=True)
class ArchiveKeys:
    """Separate AES-256 keys: one for held records, one for the sealed audit log."""

    holds: bytes
    audit: bytes

    @classmethod
    def generate(cls) -> "ArchiveKeys":
        return cls(AESGCM.generate_key(bit_length=256), AESGCM.generate_key(bit_length=256))


def seal(key: bytes, plaintext: bytes, label: str) -> bytes:
    """AES-256-GCM with a fresh nonce; `label` is bound as associated data."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, label.encode())


def unseal(key: bytes, sealed: bytes, label: str) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], label.encode())


def held_children(deployment: Path, inventory: Inventory) -> tuple[list[str], int, int]:
    """Child IDs that must be kept: under a hold or subject of a pending SAR; and both counts."""
    holds, pending = set(), set()
    for store in inventory.of_kind("child-protection-holds", "subject-access-requests"):
        for line in (deployment / store.path).read_text().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if store.kind == "child-protection-holds":
                holds.add(entry["child_id"])
            elif str(entry.get("status", "pending")).lower() not in closed_sar_statuses():
                pending.add(entry["child_id"])
    return sorted(holds | pending), len(holds), len(pending)


def build_archive(
    deployment: Path,
    inventory: Inventory,
    bag_dir: Path,
    keys: ArchiveKeys,
    evidence: Mapping[str, Any],
    bagging_date: dt.date,
    write: Write | None = None,
    wrapped_keys: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the archive as a bag at `bag_dir`; return a summary without identifiers.

    `write` writes each payload file (a step passes its evidence volume's); `wrapped_keys`, the
    archive keys wrapped for the custodian (decommission.custody), is bagged with the payload.
    """
    put = write or _write_file
    deployment = Path(deployment)
    payload = Path(bag_dir)
    held, hold_count, sar_count = held_children(deployment, inventory)
    records = _records_of(deployment, inventory, held)
    put(payload / HELD_FILE.removeprefix("data/"), seal(keys.holds, _canonical(records), HELD_FILE))
    seal_doc, entries = {}, 0
    for store in inventory.of_kind("audit-log"):
        source = deployment / store.path
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in (p for p in files if p.is_file()):
            digest = file_digest(path, "sha256")
            if "checkpoint" in path.name:  # hashes and signatures only: kept readable
                put(payload / "audit" / path.name, path.read_bytes())
                seal_doc[path.name] = {"sha256": digest, "sealed": False}
            else:
                name = f"audit/{path.name}.enc"
                content = path.read_bytes()
                entries += content.count(b"\n")  # one JSON line per audit entry
                put(payload / name, seal(keys.audit, content, f"data/{name}"))
                seal_doc[path.name] = {"sha256": digest, "sealed": True}
    put(payload / "audit/seal.json", _canonical(seal_doc))
    statistics = aggregate_statistics(deployment, inventory)
    put(payload / "statistics/aggregate.json", _canonical(statistics))
    for name, document in evidence.items():
        put(payload / "evidence" / f"{name}.json", _canonical(document))
    if wrapped_keys is not None:
        put(payload / WRAPPED_KEYS, _canonical(wrapped_keys))
    info = {
        "Source-Organization": "ContactPoint decommissioning rehearsal",
        "External-Description": "Kept at decommissioning: sealed audit log, held records, "
        "pending subject access requests, aggregate statistics, evidence",
        "Bagging-Date": bagging_date.isoformat(),
    }
    bagit.make_bag(str(payload), bag_info=info, checksums=["sha256", "sha512"])
    write_tag_manifests(payload)
    return {
        "held_children": len(held),
        "holds": hold_count,
        "pending_sars": sar_count,
        "audit_entries": entries,
        "held_rows": sum(len(t["rows"]) for t in records["tables"].values()),
        "tagmanifest_sha512": file_digest(payload / "tagmanifest-sha512.txt", "sha512"),
    }


def held_problems(bag_dir: Path, keys: ArchiveKeys, held: set[str]) -> list[str]:
    """Records in the archive that are not under a hold (or that cannot be read back)."""
    try:
        sealed = (Path(bag_dir) / HELD_FILE).read_bytes()
        records = json.loads(unseal(keys.holds, sealed, HELD_FILE))
    except (OSError, InvalidTag, ValueError) as exc:
        return [f"{HELD_FILE}: cannot be read back with the hold key ({type(exc).__name__})"]
    problems = []
    for table, content in records["tables"].items():
        column = content["columns"].index("child_id")
        stray = {row[column] for row in content["rows"]} - held
        if stray:
            problems.append(f"{table}: {len(stray)} record(s) not under a hold")
    return problems


def aggregate_statistics(deployment: Path, inventory: Inventory) -> dict[str, Any]:
    """Row counts per table and children per authority: figures, never identifiers."""
    result: dict[str, Any] = {}
    for store in inventory.of_kind("live-index"):
        with _read_only(deployment / store.path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
            by_authority = {}
            for table in tables:
                if {"authority_code", "child_id"} <= set(_columns(db, table)):
                    sql = f'SELECT authority_code, count(*) FROM "{table}" GROUP BY 1 ORDER BY 1'
                    by_authority[table] = dict(db.execute(sql).fetchall())
        result[store.name] = {"rows": counts, "by_authority": by_authority}
    return result


def _records_of(deployment: Path, inventory: Inventory, held: list[str]) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for store in inventory.of_kind("live-index"):
        with _read_only(deployment / store.path) as db:
            db.execute("CREATE TEMP TABLE held (child_id TEXT PRIMARY KEY)")
            db.executemany("INSERT INTO held VALUES (?)", [(c,) for c in held])
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in names:
                columns = _columns(db, table)
                if "child_id" in columns:
                    sql = f'SELECT t.* FROM "{table}" t JOIN held USING (child_id) ORDER BY 1'
                    rows = [list(r) for r in db.execute(sql)]
                    tables[f"{store.name}.{table}"] = {"columns": columns, "rows": rows}
    return {"child_ids": held, "tables": tables}


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]


class _read_only:
    """A read-only connection whose temp tables stay in memory (never a file beside the db)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.db.execute("PRAGMA temp_store = MEMORY")

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *_: object) -> None:
        self.db.close()


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def remove_archive(bag_dir: Path) -> None:
    shutil.rmtree(bag_dir, ignore_errors=True)
