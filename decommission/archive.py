"""What survives: a BagIt 1.0 archive of what must be kept, and nothing else.

Kept (standards.toml `kept_kinds`): the audit log, sealed (encrypted, with its plaintext
checkpoints and a seal of its digests), the whole record of every child under a child-protection
hold or with a pending subject access request (decommission.held: every table the schema
connects to them, their hold and request entries, their audit entries; DPA 1998 s7, s8(6)),
encrypted under a key held apart from the archive, aggregate statistics with no identifiers, and
the decommissioning evidence so far. Any other child's record in the archive would be a copy
that escaped destruction, so `held_problems` checks there is none (docs/decommissioning-standards.md
3.4 and 9.C.7). Holds and requests that arrive later go into supplementary parts
(decommission.coverage), each sealed and wrapped like the first.
"""

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from decommission import atomic
from decommission.bagcheck import file_digest, write_tag_manifests
from decommission.held import (
    HOLD_PREFIX,
    REQUEST_PREFIX,
    held_now,
    held_records,
    live_rows,
    stray_problems,
)
from decommission.inventory import Inventory

HELD_FILE = "data/holds/held-records.json.enc"
WRAPPED_KEYS = "keys/archive-keys.age"
SUPPLEMENT_HELD = "data/holds/supplement-{number:02d}.json.enc"
SUPPLEMENT_KEYS = "data/keys/archive-keys.supplement-{number:02d}.age"
Write = Callable[[Path, bytes], None]


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
    """Child IDs that must be kept now (under a hold or subject of a pending SAR), both counts."""
    held, coverage = held_now(deployment, inventory)
    return held, *kept_for(coverage)


def kept_for(coverage: Mapping[str, str]) -> tuple[int, int]:
    """Children under a hold, and children with a pending request (a child may be in both)."""
    holds = {c for key, c in coverage.items() if key.startswith(HOLD_PREFIX)}
    pending = {c for key, c in coverage.items() if key.startswith(REQUEST_PREFIX)}
    return len(holds), len(pending)


def build_archive(
    deployment: Path,
    inventory: Inventory,
    bag_dir: Path,
    keys: ArchiveKeys,
    evidence: Mapping[str, Any],
    bagging_date: dt.date,
    write: Write | None = None,
    wrapped_keys: bytes | None = None,
) -> dict[str, Any]:
    """Write the archive as a bag at `bag_dir`; return a summary without identifiers.

    `write` writes each payload file (a step passes its evidence volume's); `wrapped_keys`, the
    archive keys wrapped for the custodian (decommission.custody), is bagged with the payload.
    """
    put = write or _write_file
    deployment = Path(deployment)
    payload = Path(bag_dir)
    held, coverage = held_now(deployment, inventory)
    holds, pending = kept_for(coverage)
    records = held_records(deployment, inventory, held)
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
        put(payload / WRAPPED_KEYS, wrapped_keys)
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
        "holds": holds,
        "pending_sars": pending,
        "covers": sorted(coverage),
        "audit_entries": entries,
        "held_rows": held_rows(records),
        "tagmanifest_sha512": file_digest(payload / "tagmanifest-sha512.txt", "sha512"),
    }


def held_problems(
    bag_dir: Path, keys: ArchiveKeys, held: set[str], name: str = HELD_FILE
) -> list[str]:
    """Records in an archived part (`name`) that are not under a hold, held children it lacks,
    or that it cannot be read back."""
    try:
        records = read_part(bag_dir, keys, name)
    except (OSError, InvalidTag, ValueError) as exc:
        return [f"{name}: cannot be read back with the hold key ({type(exc).__name__})"]
    return stray_problems(records, held)


def read_part(bag_dir: Path, keys: ArchiveKeys, name: str = HELD_FILE) -> dict[str, Any]:
    """One archived part of held records, decrypted with its hold key."""
    return json.loads(unseal(keys.holds, (Path(bag_dir) / name).read_bytes(), name))


def held_rows(records: dict[str, Any]) -> int:
    return sum(len(t["rows"]) for i in records["indexes"].values() for t in i["tables"].values())


def aggregate_statistics(deployment: Path, inventory: Inventory) -> dict[str, Any]:
    """Row counts per table and children per authority: figures, never identifiers."""
    result: dict[str, Any] = {}
    for store in inventory.of_kind("live-index"):
        with live_rows(deployment, store) as rows:
            tables = rows.tables()
            counts = {table: rows.count(table) for table in tables}
            by_authority = {
                table: rows.count(table, by="authority_code")
                for table in tables
                if {"authority_code", "child_id"} <= set(rows.columns(table))
            }
        result[store.name] = {"rows": counts, "by_authority": by_authority}
    return result


def _canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def add_to_bag(bag_dir: Path, files: Mapping[str, bytes], write: Write | None = None) -> None:
    """Add payload files (`data/...` names) to a valid bag: each written, then listed in every
    payload manifest, Payload-Oxum recounted and the tag manifests remade."""
    root = Path(bag_dir)
    for name, content in files.items():
        (write or _write_file)(root / name, content)
    _relist(root, add=list(files), drop=[])


def drop_from_bag(bag_dir: Path, names: list[str]) -> None:
    """Remove payload files (and their manifest lines) that a dead attempt left behind."""
    root = Path(bag_dir)
    for name in names:
        (root / name).unlink(missing_ok=True)
    _relist(root, add=[], drop=names)


def _relist(root: Path, add: list[str], drop: list[str]) -> None:
    for manifest in sorted(root.glob("manifest-*.txt")):
        alg = manifest.stem.removeprefix("manifest-")
        gone = set(add) | set(drop)
        lines = [
            line
            for line in manifest.read_text().splitlines()
            if line.split(None, 1)[-1].strip() not in gone
        ]
        lines += [f"{file_digest(root / name, alg)}  {name}" for name in add]
        atomic.replace_file(manifest, "".join(f"{line}\n" for line in lines).encode())
    payload = [p for p in (root / "data").rglob("*") if p.is_file()]
    oxum = f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}"
    info = root / "bag-info.txt"
    lines = [
        oxum if line.startswith("Payload-Oxum:") else line for line in info.read_text().splitlines()
    ]
    atomic.replace_file(info, "".join(f"{line}\n" for line in lines).encode())
    write_tag_manifests(root)


def remove_archive(bag_dir: Path) -> None:
    shutil.rmtree(bag_dir, ignore_errors=True)
