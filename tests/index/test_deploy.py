"""`deploy()`: every store a real deployment had, listed (mostly), encrypted where it should be."""

import datetime as dt
import json
import sqlite3
import tomllib
from pathlib import Path

import pytest

from sim.deployment import deploy as deploy_module
from sim.deployment.backups import decrypt_file
from sim.deployment.deploy import deploy
from sim.deployment.settings import deployment_settings
from sim.errors import InputError
from sim.index.audit import read_audit, verify
from sim.index.layout import STORE_KINDS, data_key
from sim.index.sar import pending_requests
from sim.population.output import write_population
from sim.population.synth import SynthRequest

CANARIES = 6


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deploy") / "population"
    write_population(SynthRequest(seed=3, scale=0.02, authority_codes=("E08000001",)), path)
    return path


@pytest.fixture(scope="module")
def dep(population: Path) -> Path:
    out = population.parent / "dep"
    deploy(population, out, seed=3, canaries=CANARIES, profile="simulation")
    return out


def inventory(dep: Path) -> dict:
    return tomllib.loads((dep / "inventory.toml").read_text())


def children(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT count(*) FROM child").fetchone()[0]


def test_every_listed_store_exists_and_every_kind_is_there(dep):
    """The inventory names each kind of store at a path that exists inside the deployment."""
    stores = inventory(dep)["stores"]
    assert all((dep / store["path"]).is_file() for store in stores)
    kinds = [store["kind"] for store in stores]
    assert set(kinds) <= set(STORE_KINDS)
    server_kinds = {"database-server", "streaming-replica", "wal-archive"}  # --backend postgres
    assert set(STORE_KINDS) - set(kinds) <= {"token-register"} | server_kinds  # token: accounts.db
    assert kinds.count("backup") >= 2


def test_some_extracts_are_missing_from_the_inventory(dep):
    """As in real life: extracts on disk that nobody listed, for the scanner to find."""
    listed = {s["path"] for s in inventory(dep)["stores"] if s["kind"] == "authority-extract"}
    on_disk = {str(p.relative_to(dep)) for p in (dep / "extracts").iterdir()}
    assert listed < on_disk
    assert len(on_disk - listed) == deployment_settings().unlisted_extracts.value


def test_backups_are_sealed_and_open_to_the_index(dep, tmp_path):
    """No canary byte in a backup; its key opens it to the whole index; a flipped byte fails."""
    canary = json.loads(Path(f"{dep}.canaries.json").read_text())[0]
    for store in (s for s in inventory(dep)["stores"] if s["kind"] == "backup"):
        sealed = dep / store["path"]
        assert store["encrypted"] and canary["surname"].encode() not in sealed.read_bytes()
        key = data_key(dep / "keys" / "keystore.json", store["key_id"])
        opened = tmp_path / f"{store['key_id']}.db"
        decrypt_file(sealed, opened, key)
        assert children(opened) == children(dep / "index" / "index.db")
    damaged = bytearray(sealed.read_bytes())
    damaged[-5] ^= 1
    (tmp_path / "bad.enc").write_bytes(bytes(damaged))
    with pytest.raises(InputError, match="authentication"):
        decrypt_file(tmp_path / "bad.enc", tmp_path / "bad.db", key)


def test_replica_is_a_whole_copy(dep):
    """The disaster-recovery replica holds every child the live index does."""
    assert children(dep / "replica" / "index.db") == inventory(dep)["children"]


def test_canaries_are_in_the_data_and_listed_only_outside(dep):
    """Canaries are in the index and extracts; their list sits beside the tree, never in it."""
    canaries = json.loads(Path(f"{dep}.canaries.json").read_text())
    assert len(canaries) == CANARIES
    assert set(canaries[0]) == {"child_id", "forename", "surname", "date_of_birth", "postcode"}
    with sqlite3.connect(dep / "index" / "index.db") as db:
        ids = {row[0] for row in db.execute("SELECT child_id FROM child")}
    assert {c["child_id"] for c in canaries} <= ids
    extracts = b"".join(p.read_bytes() for p in (dep / "extracts").iterdir())
    assert all(c["surname"].encode() in extracts for c in canaries)
    assert not list(dep.rglob("*canar*"))


def test_credentials_are_outside_the_tree_and_private(dep):
    """Demo credentials: mode 0600, beside the deployment; the key store is private too."""
    credentials = Path(f"{dep}.credentials.json")
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert (dep / "keys" / "keystore.json").stat().st_mode & 0o777 == 0o600
    users = json.loads(credentials.read_text())["users"]
    roles = {user["role"] for user in users.values()}
    assert roles == {"practitioner", "management_team", "national_administrator"}


def test_audit_log_verifies_and_holds_real_activity(dep):
    """Signed and intact, with logins, searches, views, a refusal and the extracts."""
    key = Path(f"{dep}.audit-public-key").read_text().strip()
    assert key == inventory(dep)["audit_public_key"]
    report = verify(dep / "audit" / "audit.jsonl", key)
    assert report.ok and report.signed_entries == report.entries
    log = read_audit(dep / "audit" / "audit.jsonl")
    assert {"login", "search", "view", "extract", "account.create"} <= set(log["action"])
    assert "refused" in set(log["outcome"])


def test_pending_requests_and_holds_are_recorded(dep):
    """Pending subject access requests and holds: in the index, and exported as JSON lines."""
    settings = deployment_settings()
    made_on = dt.date.fromisoformat(inventory(dep)["made_on"])
    pending = pending_requests(dep / "index" / "index.db", made_on)
    assert len(pending) == settings.pending_subject_access_requests.value
    requests = [
        json.loads(line) for line in (dep / "sar" / "requests.jsonl").read_text().splitlines()
    ]
    holds = [json.loads(line) for line in (dep / "holds" / "holds.jsonl").read_text().splitlines()]
    assert len(requests) == settings.pending_subject_access_requests.value
    assert {r["request_id"] for r in requests} == {r.request_id for r in pending}
    assert len(holds) == settings.child_protection_holds.value
    assert all({"child_id", "opened", "reason"} <= set(h) for h in holds)


def test_bad_input_is_refused_before_anything_is_written(population, dep, tmp_path):
    """No population, an existing deployment, too few users: InputError and nothing written."""
    with pytest.raises(InputError):
        deploy(tmp_path / "none", tmp_path / "out")
    with pytest.raises(InputError):
        deploy(population, dep)
    with pytest.raises(InputError):
        deploy(population, tmp_path / "out", users=2)
    assert not any(tmp_path.iterdir())


def test_a_failure_part_way_leaves_nothing(population, tmp_path, monkeypatch):
    """Atomic: a deployment that fails after the index is built leaves no directory or side file."""

    def broken(source: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(deploy_module, "replicate_index", broken)
    with pytest.raises(OSError):
        deploy(population, tmp_path / "out", profile="simulation")
    assert not any(tmp_path.iterdir())


def test_the_same_seed_plants_the_same_canaries(population, dep, tmp_path):
    """Canaries come from the seed (sim.streams): a second deployment plants the same ones."""
    again = tmp_path / "again"
    deploy(population, again, seed=3, canaries=CANARIES, profile="simulation")
    assert Path(f"{again}.canaries.json").read_text() == Path(f"{dep}.canaries.json").read_text()
