"""Decommissioning a PostgreSQL deployment end to end, as an operator runs it, and its faults.

The rehearsal runs through `cpw`; an independent `grep -r -F` over every path the inventory
names (the WAL archive included) finds the canaries and the child deleted months before, and
finds nothing once the run is certified. The faults run in process: each stops (or dies) with
nothing destroyed before the archive validated and no certificate, and a resume completes.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from decommission import journal
from decommission.bagcheck import strict_problems
from decommission.certificate import public_key_hex
from decommission.evidence import verify_evidence
from decommission.faults import Crash
from decommission.inventory import SIDECAR_SUFFIXES, load_inventory
from decommission.rehearsal import rehearse
from sim.cli.decommission import rehearsal_setup
from sim.postgres import server as pg
from sim.postgres.deploy import NEGATIVE_CONTROL
from sim.postgres.topology import DATABASE, Topology, start_replica
from tests.conftest import run_cpw
from tests.decommission.conftest import OPERATOR, VERIFIER


def secrets(deployment: Path) -> list[str]:
    """IDs, surnames and postcodes of the canaries, and the deleted child's ID."""
    canaries = json.loads(deployment.with_name("dep.canaries.json").read_text())
    deleted = json.loads(deployment.with_name(f"dep.{NEGATIVE_CONTROL}").read_text())
    found = [deleted["child_id"]]
    for canary in canaries:
        found += [canary["child_id"], canary["surname"], canary["postcode"]]
    return found


def grep(paths: list[Path], patterns: list[str]) -> set[str]:
    """Files holding any pattern, by an independent `grep -r -F` (bytes, C locale)."""
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return set()
    done = subprocess.run(
        ["grep", "-r", "-F", "-a", "-l", *[f"-e{p}" for p in patterns], *existing],
        capture_output=True, text=True, env={"LC_ALL": "C"},
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return set(done.stdout.split())


def test_rehearse_then_verify_with_the_pinned_key_leaves_nothing(pg_deployment):
    inventory_paths = [pg_deployment / s.path for s in load_inventory(pg_deployment).stores]
    deleted = json.loads(pg_deployment.with_name(f"dep.{NEGATIVE_CONTROL}").read_text())
    archive = Topology(pg_deployment).wal_archive
    before = grep(inventory_paths, secrets(pg_deployment))
    assert any(path.startswith(str(archive)) for path in before)
    assert grep([archive], [deleted["child_id"]]), "negative control: deleted child in WAL"
    assert any("/postgres/primary/" in p for p in before)
    assert any("/postgres/replica/" in p for p in before)
    servers = Topology(pg_deployment).servers()

    evidence = pg_deployment.parent / "evidence"
    done = run_cpw("decommission", "rehearse", str(pg_deployment), "--out", str(evidence))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    switch_off = json.loads((evidence / "steps/switch_off.json").read_text())
    probed = {p["path"]: p["outcome"] for p in switch_off["probes"]}
    for path in ("postgres-primary", "postgres-superuser", "postgres-replication",
                 "postgres-replica"):  # fmt: skip
        assert probed[path] == "refused"
    destroy = json.loads((evidence / "steps/destroy.json").read_text())
    assert destroy["database_servers"]["slots_dropped"][0]["slot"] == "cpw_replica"
    assert not any(pg.is_running(server) for server in servers)

    pinned = evidence.with_name("evidence.custodian-record.json")
    verified = run_cpw("decommission", "verify", str(evidence), "--public-key", str(pinned))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert grep([pg_deployment, *inventory_paths], secrets(pg_deployment)) == set()
    assert grep([archive], [deleted["child_id"]]) == set()
    assert [p for p in pg_deployment.rglob("*") if p.is_file()] == []


@pytest.fixture
def no_fsync(monkeypatch):
    """As in tests/decommission/test_fault_matrix.py: crashes here are simulated in the process,
    whose writes the page cache keeps anyway, so flushing each of the data directories'
    thousands of files proves nothing and makes every run slow on a shared disk."""
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def attempt(deployment: Path, evidence: Path, faults: list[str], resume: bool, seed: int):
    setup, index = rehearsal_setup(deployment, evidence, OPERATOR, VERIFIER, resume=resume)
    setup.verifier_key = pinned_key(seed)
    try:
        return rehearse(
            deployment, evidence, setup, faults=faults, resume=resume,
            progress=lambda step, status, message: index.progress(step, status),
        ).status  # fmt: skip
    except Crash:
        return "crashed"
    finally:
        index.close()


def pinned_key(seed: int):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def assert_safe(deployment: Path, evidence: Path, originals: set[str]) -> dict:
    """Nothing gone before the archive validated; no certificate before certification."""
    passed = {e["step"] for e in journal.passed(journal.read(evidence / "journal.jsonl"))}
    if "certify" not in passed:
        assert not (evidence / "certificates").exists()
    stable = {  # a server's files and SQLite's -wal and -shm come and go by themselves
        f
        for f in originals
        if not f.startswith(("postgres/primary", "postgres/replica"))
        and not f.endswith(SIDECAR_SUFFIXES)
    }
    if stable - files(deployment):
        assert "archive" in passed, stable - files(deployment)
        assert strict_problems(evidence / "archive") == []
    return json.loads((evidence / "run.json").read_text())


STUCK = {"missing-backup", "key-copy-left", "canary-in-wal", "inventory-only"}
"""Faults that change the world for good: a resume without them stops again, as safely
(as in tests/decommission/test_fault_matrix.py)."""


def taken_by(fault: str, deployment: Path) -> set[str]:
    """Files a fault itself takes away (a lost backup, an extract its holder keeps)."""
    if fault == "missing-backup":
        first = sorted((deployment / "backups").iterdir())[0]
        return {p.relative_to(deployment).as_posix() for p in first.rglob("*") if p.is_file()}
    if fault == "extract-not-returned":
        return {
            sorted((deployment / "extracts").glob("*.csv"))[-1].relative_to(deployment).as_posix()
        }
    return set()


@pytest.mark.parametrize(
    ("fault", "first"),
    [
        ("replica-unreachable", "stopped"),
        ("server-killed-mid-destruction", "crashed"),
        ("probe-gets-in", "stopped"),
        ("corrupt-archive", "stopped"),
        ("unlisted-extract", "completed"),
        ("missing-backup", "stopped"),
        ("inventory-only", "stopped"),
        ("key-not-erased", "stopped"),
        ("key-copy-left", "stopped"),
        ("extract-not-returned", "stopped"),
        ("canary-in-wal", "stopped"),
        ("crash-during:switch_off", "crashed"),
        ("crash-after:switch_off", "crashed"),
        ("disk-full:switch_off", "stopped"),
        ("disk-full:archive", "stopped"),
        ("crash-during:destroy", "crashed"),
        ("crash-after:destroy", "crashed"),
        ("disk-full:destroy", "stopped"),
        ("crash-during:verify", "crashed"),
    ],
)
def test_fault_then_resume_on_postgres(pg_deployment, fault, first, no_fsync):
    """Every named fault, the two of a server deployment and a crash and a full disk: safe at
    the fault; the resume completes (or, for a fault that changed the world for good, stops
    again as safely), the servers' files destroyed with the rest."""
    evidence = pg_deployment.parent / "evidence"
    originals = files(pg_deployment) - taken_by(fault, pg_deployment)
    assert attempt(pg_deployment, evidence, [fault], resume=False, seed=1) == first
    run = assert_safe(pg_deployment, evidence, originals)
    if first != "completed":
        assert run["certificates"] == []
    if fault == "replica-unreachable":
        topology = Topology(pg_deployment)
        probes = json.loads((evidence / "steps/switch_off.json").read_text())["probes"]
        outcome = {p["path"]: p["outcome"] for p in probes}
        assert outcome["postgres-replica"] == "inconclusive"
        assert files(pg_deployment) >= {f for f in originals if f.startswith("backups/")}
        start_replica(topology.primary(), topology.replica())  # the site is back
    if fault == "server-killed-mid-destruction":  # servers dead, keys erased, data not yet
        topology = Topology(pg_deployment)
        assert not any(pg.is_running(server) for server in topology.servers())
        assert (topology.primary_dir / "PG_VERSION").is_file()
        assert (topology.replica_dir / "PG_VERSION").is_file()
    withheld = pg_deployment.parent / "dep.withheld"
    for path in withheld.glob("*") if withheld.exists() else []:
        (pg_deployment / "extracts").mkdir(parents=True, exist_ok=True)
        shutil.move(path, pg_deployment / "extracts" / path.name)  # returned at last
    second = attempt(pg_deployment, evidence, [], resume=True, seed=2)
    assert_safe(pg_deployment, evidence, originals)
    if fault in STUCK:
        assert second == "stopped"
        assert json.loads((evidence / "run.json").read_text())["certificates"] == []
        return
    assert second == "completed"
    problems = [verify_evidence(evidence, public_key_hex(pinned_key(s))) for s in (1, 2)]
    assert [] in problems, problems
    assert files(pg_deployment) == set()
    assert grep([pg_deployment], secrets(pg_deployment)) == set()
    destroy = json.loads((evidence / "steps/destroy.json").read_text())
    assert not any(pg.is_running(s) for s in Topology(pg_deployment).servers())
    assert "database_servers" in destroy  # stopped (and slots dropped) before destroying


def test_lockdown_refuses_new_connections_even_to_the_superuser(pg_deployment):
    from decommission.postgres import ConnectionRefused, lock_down, postgres_probes

    primary = Topology(pg_deployment).primary()
    session = psycopg.connect(primary.conninfo(DATABASE), autocommit=True)
    assert lock_down(pg_deployment) >= 2  # our session and the replica's WAL sender at least
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")  # terminated
    for probe in postgres_probes(pg_deployment).values():
        with pytest.raises(ConnectionRefused):
            probe()
    assert lock_down(pg_deployment) == 0  # redone: a restart ends any session; still refused
    assert all(pg.is_running(server) for server in Topology(pg_deployment).servers())
    for probe in postgres_probes(pg_deployment).values():
        with pytest.raises(ConnectionRefused):
            probe()
