"""Mutation tests for the verifier: `cpw decommission verify` must refuse a
completed evidence directory and destroyed deployment into which one flaw has been planted.

Each test starts from a rehearsal that completed and verifies clean, plants one mutation, and
runs the command exactly as an operator would (in-process, through the CLI's own app).
"""

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from decommission.certificate import Certificate, public_key_hex, sign
from decommission.destruction import key_material, read_keys
from decommission.rehearsal import rehearse
from decommission.verification import load_canaries
from sim.cli import app


def leftover_row(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """The accounts database comes back with one row (no canary in it)."""
    (deployment / "accounts").mkdir()
    db = sqlite3.connect(deployment / "accounts/accounts.db")
    db.execute("CREATE TABLE accounts (username, password_hash, token_secret)")
    db.execute("INSERT INTO accounts VALUES ('user0', '$argon2id$x', 'JBSWY3DPEHPK3PXP')")
    db.commit()
    db.close()


def wal_file(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """A -wal file beside where the live index was (its frames are copies of rows)."""
    (deployment / "index").mkdir()
    (deployment / "index/index.db-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(60))


def freelist_page(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """A database whose rows were deleted without secure_delete: zero rows, but the canary is
    still on its freelist pages (docs/decommissioning-standards.md 5.2)."""
    (deployment / "replica").mkdir()
    db = sqlite3.connect(deployment / "replica/index.db")
    db.execute("PRAGMA secure_delete = OFF")
    db.execute("CREATE TABLE children (child_id, surname)")
    rows = [(canary["child_id"], canary["surname"])] * 50
    db.executemany("INSERT INTO children VALUES (?, ?)", rows)
    db.commit()
    db.execute("DELETE FROM children")
    db.commit()
    assert db.execute("SELECT count(*) FROM children").fetchone()[0] == 0
    db.close()


def unlisted_extract(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """An authority extract the inventory never listed turns up, holding an ordinary record."""
    (deployment / "extracts").mkdir()
    (deployment / "extracts/E08000009-2010-08-01.csv").write_text(
        "child_id,forename,surname\nCP1234567,AMELIA,SMITH\n"
    )


def tampered_archive(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """One bit of an archived payload file flips after the run."""
    target = evidence / "archive/data/statistics/aggregate.json"
    content = bytearray(target.read_bytes())
    content[5] ^= 0x01
    target.write_bytes(bytes(content))


def forged_signature(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """The deployment certificate is edited and re-signed by someone else's key."""
    run = json.loads((evidence / "run.json").read_text())
    path = evidence / run["certificates"][-1]
    signed = json.loads(path.read_text())
    signed["certificate"]["verification_result"] = "passed (edited)"
    forger = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    path.write_text(json.dumps(sign(Certificate(**signed["certificate"]), forger)))


def key_copy(deployment: Path, evidence: Path, canary: dict, key: bytes) -> None:
    """A copy of an erased backup data key, in base64, in a forgotten escrow file."""
    (deployment / "escrow.txt").write_bytes(b"key=" + base64.b64encode(key) + b"\n")


MUTATIONS = [
    (leftover_row, "SQLite file with 1 rows"),
    (wal_file, "database sidecar or temp file"),
    (freelist_page, "canary 0 child_id"),
    (unlisted_extract, "extracts/E08000009-2010-08-01.csv: left under the destroyed deployment"),
    (tampered_archive, "archive: manifest-sha256.txt: data/statistics/aggregate.json"),
    (forged_signature, "signature does not verify with the given public key"),
    (key_copy, "base64 at byte 4"),
]


@pytest.fixture
def completed(specimen, setup, tmp_path):
    """A rehearsal that completed, its public key, a canary and one erased data key."""
    keys = read_keys(specimen.deployment / "keys/keystore.json")
    key = key_material(keys["backup-2010-08-01"])
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert outcome.status == "completed"
    canary = load_canaries(specimen.canaries_path)[0]
    return specimen.deployment, outcome.evidence, canary, key, public_key_hex(setup.verifier_key)


def verify(deployment: Path, evidence: Path, public: str):
    """`verify` with the verifier's key as pinned outside the evidence (the rehearsal's own)."""
    arguments = ["decommission", "verify", str(evidence), "--deployment", str(deployment)]
    arguments += ["--public-key", public]
    return CliRunner().invoke(app, arguments)


def test_the_unmutated_run_verifies(completed):
    """The control: with nothing planted, `verify` passes (so a refusal below is the mutation's)."""
    deployment, evidence, _, _, public = completed
    result = verify(deployment, evidence, public)
    assert result.exit_code == 0, result.output
    assert "every certificate, hash and residue check holds" in result.output


@pytest.mark.parametrize(("mutate", "expected"), MUTATIONS, ids=[m.__name__ for m, _ in MUTATIONS])
def test_each_mutation_is_caught(completed, mutate, expected):
    """One planted flaw makes `cpw decommission verify` exit 1 and name it."""
    deployment, evidence, canary, key, public = completed
    mutate(deployment, evidence, canary, key)
    result = verify(deployment, evidence, public)
    assert result.exit_code == 1
    assert expected in result.output, result.output
