"""Destruction: crypto erase, SQLite clearing, overwrite, and nothing left behind."""

import base64
import json
import sqlite3

import pytest

from decommission.destruction import (
    KeyNotErased,
    clear_sqlite,
    crypto_erase,
    destroy_files,
    key_material,
    overwrite_and_unlink,
    read_keys,
)
from decommission.inventory import load_inventory, scan_deployment


def test_crypto_erase_removes_key_and_its_bytes(specimen):
    """After erasure the key is gone and its base64 no longer appears in the key store file."""
    store = specimen.deployment / "keys/keystore.json"
    material = key_material(read_keys(store)["backup-2010-08-01"])
    crypto_erase(store, ["backup-2010-08-01"])
    assert "backup-2010-08-01" not in read_keys(store)
    assert "backup-2010-08-05" in read_keys(store)
    assert base64.b64encode(material) not in store.read_bytes()


def test_crypto_erase_handles_list_form_key_store(tmp_path):
    """A key store written as a list of entries with key_id is erased too."""
    store = tmp_path / "keystore.json"
    store.write_text(
        json.dumps([{"key_id": "a", "material": "AAAA"}, {"key_id": "b", "material": "AAAA"}])
    )
    crypto_erase(store, ["a"])
    assert list(read_keys(store)) == ["b"]


def test_clear_sqlite_zeroes_rows_and_leaves_no_name(specimen):
    """DELETE with secure_delete and VACUUM leave zero rows and no surname bytes in the file."""
    db = specimen.deployment / "replica/index.db"
    assert clear_sqlite(db) == {"children": 0}
    content = db.read_bytes()
    assert b"Quillfeather" not in content and b"CanarinaA" not in content
    assert not list(db.parent.glob("index.db-*"))  # journal off: no sidecar written


def test_overwrite_and_unlink(tmp_path):
    """The file is gone after a verified overwrite."""
    path = tmp_path / "extract.csv"
    path.write_bytes(b"CP1234567,Quillfeather\n" * 1000)
    overwrite_and_unlink(path, passes=2)
    assert not path.exists()


def test_destroy_files_leaves_an_empty_tree(specimen):
    """Every file found by the scan is destroyed, with one record each; directories removed."""
    inventory = load_inventory(specimen.deployment)
    found = scan_deployment(specimen.deployment, inventory)
    records = destroy_files(specimen.deployment, found, "keys/keystore.json", passes=1)
    assert sorted(r.path for r in records) == sorted(f.path for f in found)
    assert list(specimen.deployment.iterdir()) == []
    methods = {r.path: (r.method, r.sanitization) for r in records}
    assert methods["backups/2010-08-01/index.db.enc"][1] == "purge"
    assert methods["index/index.db"][0].startswith("SQLite secure_delete")
    assert methods["extracts/E08000002-2010-07-15.csv"] == ("overwrite", "clear")
    assert next(r for r in records if r.path == "index/index.db").rows_after_clear == {
        "children": 0
    }


def test_failed_key_erasure_stops_before_any_file_is_touched(specimen, digest_tree):
    """Keys are erased first: if that fails, every file is as it was."""

    def refuse(store, key_ids):
        raise KeyNotErased("refused")

    before = digest_tree(specimen.deployment)
    found = scan_deployment(specimen.deployment, load_inventory(specimen.deployment))
    with pytest.raises(KeyNotErased):
        destroy_files(specimen.deployment, found, "keys/keystore.json", 1, refuse)
    assert digest_tree(specimen.deployment) == before


def test_clear_sqlite_keeps_schema_readable(tmp_path):
    """After clearing, the database still opens and reports zero rows (evidence for the record)."""
    path = tmp_path / "a.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (child_id)")
    db.executemany("INSERT INTO t VALUES (?)", [("CP1",), ("CP2",)])
    db.commit()
    db.close()
    assert clear_sqlite(path) == {"t": 0}


def test_key_material_reads_every_key_store_form():
    """Keys stored as base64 'material', as 'hex' or as a PEM text are all read for the scan."""
    assert key_material({"material": base64.b64encode(b"\x01\x02").decode()}) == b"\x01\x02"
    assert key_material({"hex": "0102"}) == b"\x01\x02"
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n"
    assert key_material({"pem": pem}) == pem.encode()
    with pytest.raises(KeyNotErased):
        key_material({"purpose": "nothing to erase"})
