"""The inventory and the scan: every file is found and classified, listed or not."""

import pytest

from decommission.inventory import classify, load_inventory, missing_stores, scan_deployment
from sim.errors import InputError


def test_scan_finds_unlisted_extract_and_sidecars(specimen):
    """The extract nobody listed and the live index's WAL/shm are found and classified."""
    inventory = load_inventory(specimen.deployment)
    found = {f.path: f for f in scan_deployment(specimen.deployment, inventory)}
    extract = found["extracts/E08000002-2010-07-15.csv"]
    assert (extract.file_class, extract.holder, extract.listed) == (
        "unlisted-extract",
        "E08000002",
        False,
    )
    assert found["index/index.db-wal"].file_class == "sidecar"
    assert found["index/index.db-wal"].holder == found["index/index.db"].holder
    assert found["backups/2010-08-01/index.db.enc"].key_id == "backup-2010-08-01"
    assert found["audit/checkpoints.jsonl"].store == "audit-log"  # a directory store
    on_disk = {
        p.relative_to(specimen.deployment).as_posix()
        for p in specimen.deployment.rglob("*")
        if p.is_file()
    }
    assert set(found) == on_disk


def test_stray_files_are_classified(specimen):
    """Temp files, journals and unknown files each get their own class."""
    inventory = load_inventory(specimen.deployment)
    assert classify("etilqs_8f3a", 10, inventory).file_class == "temp"
    assert classify("replica/index.db-journal", 10, inventory).file_class == "sidecar"
    assert classify("notes/readme.txt", 10, inventory).file_class == "unlisted"
    assert classify("keys/keystore.json.bak", 10, inventory).file_class == "temp"


def test_missing_store_is_reported(specimen):
    """A listed backup that is not on disk is named."""
    (specimen.deployment / "backups/2010-08-05/index.db.enc").unlink()
    inventory = load_inventory(specimen.deployment)
    assert missing_stores(specimen.deployment, inventory) == ["backup-2010-08-05"]


def test_inventory_paths_outside_the_tree_are_refused(specimen):
    """A store path with '..' could make destruction act outside the deployment."""
    path = specimen.deployment / "inventory.toml"
    path.write_text(path.read_text().replace('"index/index.db"', '"../elsewhere.db"'))
    with pytest.raises(InputError, match="inside the deployment"):
        load_inventory(specimen.deployment)


def test_encrypted_store_needs_a_key_id(specimen):
    """An encrypted store without a key_id cannot be crypto-erased, so it is refused."""
    path = specimen.deployment / "inventory.toml"
    path.write_text(path.read_text().replace('key_id = "backup-2010-08-01"\n', "", 1))
    with pytest.raises(InputError, match="needs a key_id"):
        load_inventory(specimen.deployment)
