"""A small deployment in the agreed layout, for tests and benchmarks without `cpw deploy`.

It has every kind of store the real deployment has (docs/architecture.md, "A deployment"): a live
SQLite index in WAL mode with a -wal file left beside it, a replica made with the backup API,
two AES-256-GCM backup generations keyed from a JSON key store, authority extracts (one not in
the inventory), an audit log with checkpoints, accounts with token secrets, pending subject access
requests and child-protection holds. Canaries are written beside the tree, never inside it.
Names are invented from a fixed vocabulary; every draw comes from sim.streams.
"""

import base64
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sim.streams import stream

FORENAMES = ("Amelia", "Oliver", "Jack", "Olivia", "Harry", "Lily", "Charlie", "Emily", "Alfie")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies")
AUTHORITIES = ("E08000001", "E08000002")
CHILD_COLUMNS = "child_id, forename, surname, date_of_birth, postcode, authority_code"


@dataclass(frozen=True)
class Specimen:
    deployment: Path
    canaries_path: Path
    child_ids: list[str]


def make_specimen(
    deployment: Path, children: int = 200, seed: int = 1, canaries: int = 5
) -> Specimen:
    """Write a deployment of `children` records (plus `canaries`) under `deployment`."""
    root = Path(deployment)
    root.mkdir(parents=True)
    rows, canary_rows = _children(children, canaries, seed)
    for part in ("index", "replica", "extracts", "audit", "keys", "accounts", "sar", "holds"):
        (root / part).mkdir()
    wal = _live_index(root / "index" / "index.db", rows)
    live = sqlite3.connect(root / "index" / "index.db")
    replica = sqlite3.connect(root / "replica" / "index.db")
    live.backup(replica)
    replica.close()
    live.close()
    for suffix, content in wal.items():  # the un-checkpointed WAL a crashed server leaves
        Path(f"{root / 'index' / 'index.db'}{suffix}").write_bytes(content)
    keys = {"audit-signing": {"algorithm": "Ed25519", "material": _b64(os.urandom(32))}}
    image = (root / "replica" / "index.db").read_bytes()
    for day in ("2010-08-01", "2010-08-05"):
        key = AESGCM.generate_key(bit_length=256)
        keys[f"backup-{day}"] = {"algorithm": "AES-256-GCM", "material": _b64(key)}
        nonce = os.urandom(12)
        (root / "backups" / day).mkdir(parents=True)
        sealed = nonce + AESGCM(key).encrypt(nonce, image, day.encode())
        (root / "backups" / day / "index.db.enc").write_bytes(sealed)
    (root / "keys" / "keystore.json").write_text(json.dumps({"keys": keys}, indent=1))
    for authority, day in (("E08000001", "2010-07-01"), ("E08000002", "2010-07-15")):
        chosen = [r for r in rows if r[5] == authority]
        lines = ["child_id,forename,surname,date_of_birth,postcode"]
        lines += [",".join(r[:5]).upper() for r in chosen]
        (root / "extracts" / f"{authority}-{day}.csv").write_text("\n".join(lines) + "\n")
    _audit(root / "audit", rows[:20])
    _accounts(root / "accounts" / "accounts.db", seed)
    held = rows[: max(1, len(rows) // 100)]
    pending = rows[-1:]
    with (root / "holds" / "holds.jsonl").open("w") as handle:
        for number, row in enumerate(held):
            hold = {"hold_id": number + 1, "child_id": row[0], "reason": "s47 enquiry"}
            handle.write(json.dumps(hold) + "\n")
    with (root / "sar" / "requests.jsonl").open("w") as handle:
        for number, row in enumerate(pending):
            request = {"request_id": number + 1, "child_id": row[0], "status": "pending"}
            handle.write(json.dumps(request) + "\n")
            handle.write(
                json.dumps({"request_id": 99, "child_id": rows[1][0], "status": "disclosed"}) + "\n"
            )
    (root / "inventory.toml").write_text(_inventory())
    canaries_path = root.parent / f"{root.name}.canaries.json"
    keys_of = ("child_id", "forename", "surname", "date_of_birth", "postcode")
    canaries_path.write_text(
        json.dumps([dict(zip(keys_of, r[:5], strict=True)) for r in canary_rows])
    )
    return Specimen(root, canaries_path, [r[0] for r in rows])


def _children(
    count: int, canaries: int, seed: int
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    rng = stream(seed, "decommission", 0)
    total = count + canaries
    numbers = rng.choice(9_000_000, size=total, replace=False) + 1_000_000
    days = rng.integers(0, 18 * 365, size=total)
    dobs = (np.datetime64("1992-08-06") + days).astype(str)
    forenames = rng.choice(FORENAMES, size=total)
    surnames = rng.choice(SURNAMES, size=total)
    authority = rng.choice(AUTHORITIES, size=total)
    rows = []
    for i in range(total):
        if i >= count:  # canaries: names nobody else has
            forename = f"Canarina{chr(65 + (i - count) % 26)}"
            surname = f"Quillfeather{i - count:03d}"
        else:
            forename, surname = str(forenames[i]), str(surnames[i])
        postcode = f"BL{1 + i % 9} {i % 10}Q{chr(65 + i % 26)}"
        rows.append(
            (f"CP{numbers[i]}", forename, surname, str(dobs[i]), postcode, str(authority[i]))
        )
    canary_rows = rows[count:]
    mixed = rows[: count // 2] + canary_rows + rows[count // 2 : count]
    return mixed, canary_rows


def _live_index(path: Path, rows: list[tuple[str, ...]]) -> dict[str, bytes]:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute(f"CREATE TABLE children ({CHILD_COLUMNS})")
    db.execute("CREATE INDEX children_surname ON children(surname)")
    db.executemany("INSERT INTO children VALUES (?,?,?,?,?,?)", rows)
    db.commit()
    kept = {s: Path(f"{path}{s}").read_bytes() for s in ("-wal", "-shm")}
    db.close()
    return kept


def _audit(folder: Path, rows: list[tuple[str, ...]]) -> None:
    head = "0" * 64
    with (folder / "audit.jsonl").open("w") as log, (folder / "checkpoints.jsonl").open("w") as cps:
        for seq, row in enumerate(rows, start=1):
            entry = {
                "seq": seq,
                "prev": head,
                "event": "view",
                "child_id": row[0],
                "surname": row[2],
            }
            line = json.dumps(entry, sort_keys=True)
            head = hashlib.sha256(line.encode()).hexdigest()
            log.write(line + "\n")
            if seq % 10 == 0:
                cps.write(json.dumps({"seq": seq, "hash": head}) + "\n")


def _accounts(path: Path, seed: int) -> None:
    rng = stream(seed, "decommission", 1)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts (username, password_hash, token_secret)")
    secrets = [base64.b32encode(rng.bytes(20)).decode() for _ in range(5)]
    db.executemany(
        "INSERT INTO accounts VALUES (?,?,?)",
        [(f"user{i}", f"$argon2id$fake{i}", secret) for i, secret in enumerate(secrets)],
    )
    db.commit()
    db.close()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _inventory() -> str:
    stores = [
        ("live-index", "live-index", "index/index.db", "Department for Education (host)", None),
        ("dr-replica", "dr-replica", "replica/index.db", "Capgemini (DR site)", None),
        (
            "backup-2010-08-01",
            "backup",
            "backups/2010-08-01/index.db.enc",
            "Capgemini",
            "backup-2010-08-01",
        ),
        (
            "backup-2010-08-05",
            "backup",
            "backups/2010-08-05/index.db.enc",
            "Capgemini",
            "backup-2010-08-05",
        ),
        (
            "extract-E08000001",
            "authority-extract",
            "extracts/E08000001-2010-07-01.csv",
            "E08000001",
            None,
        ),
        ("audit-log", "audit-log", "audit", "Department for Education (host)", None),
        ("key-store", "key-store", "keys/keystore.json", "Department for Education (host)", None),
        (
            "accounts",
            "token-register",
            "accounts/accounts.db",
            "Department for Education (host)",
            None,
        ),
        ("sar", "subject-access-requests", "sar/requests.jsonl", "Department for Education", None),
        ("holds", "child-protection-holds", "holds/holds.jsonl", "Department for Education", None),
    ]
    text = []
    for name, kind, path, holder, key_id in stores:
        text.append("[[stores]]")
        text.append(f'name = "{name}"\nkind = "{kind}"\npath = "{path}"\nholder = "{holder}"')
        if key_id:
            text.append(f'encrypted = true\nkey_id = "{key_id}"')
        text.append("")
    return "\n".join(text)


def remove_specimen(specimen: Specimen) -> None:
    shutil.rmtree(specimen.deployment, ignore_errors=True)
    specimen.canaries_path.unlink(missing_ok=True)
