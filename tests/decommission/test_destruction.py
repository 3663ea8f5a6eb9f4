"""Destruction: crypto erase, SQLite clearing, overwrite, and nothing left behind."""

import base64
import json
import os
import sqlite3

import pytest

import decommission.destruction as destruction
from decommission.destruction import (
    KeyNotErased,
    clear_sqlite,
    crypto_erase,
    destroy_files,
    key_material,
    overwrite_and_unlink,
    read_keys,
)
from decommission.inventory import classify, load_inventory, scan_deployment
from sim.errors import WorkbenchError


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


def linked(path, tmp_path):
    """A second hard link to `path`, made before destruction: the old inode stays readable
    through it, so what destruction did to the old bytes (not only to the name) can be read."""
    link = tmp_path / f"link-{path.parent.name}-{path.name}"
    os.link(path, link)
    return link


def test_overwrite_reaches_the_old_bytes_not_only_the_name(tmp_path):
    """Read back through a link made before: every old byte is zero, the size unchanged."""
    path = tmp_path / "extract.csv"
    path.write_bytes(b"CP1234567,Quillfeather\n" * 1000)
    link = linked(path, tmp_path)
    overwrite_and_unlink(path, passes=2)
    assert not path.exists()
    assert link.stat().st_size == 23_000
    assert link.read_bytes() == bytes(23_000)


def test_crypto_erase_overwrites_the_old_key_store_bytes(specimen, tmp_path):
    """The erased key's bytes are gone from the old store's blocks, not only from the new file."""
    store = specimen.deployment / "keys/keystore.json"
    link = linked(store, tmp_path)
    size = link.stat().st_size
    crypto_erase(store, ["backup-2010-08-01", "backup-2010-08-05"])
    assert link.read_bytes() == bytes(size)
    assert list(read_keys(store)) == ["audit-signing"]
    assert not list(store.parent.glob("*.partial"))


def test_destroy_files_overwrites_every_file_by_every_method(specimen, tmp_path):
    """Files, SQLite databases (cleared, then overwritten) and encrypted backups: read back
    through links made before destruction, every one is zeros from its first byte to its last."""
    inventory = load_inventory(specimen.deployment)
    found = scan_deployment(specimen.deployment, inventory)
    links = {f.path: linked(specimen.deployment / f.path, tmp_path) for f in found}
    records = destroy_files(specimen.deployment, found, "keys/keystore.json", passes=1)
    methods = {r.method.split(",")[0].split(" ")[0] for r in records}
    assert {"cryptographic", "SQLite", "overwrite"} <= methods
    for path, link in links.items():
        content = link.read_bytes()
        assert content.count(0) == len(content), f"{path}: old bytes left"


def test_a_damaged_database_is_overwritten_instead_of_cleared(specimen, tmp_path):
    """A database SQLite cannot clear (malformed by a kill while it was being cleared) is still
    destroyed: overwritten byte by byte and removed, and its record says how."""
    db = specimen.deployment / "replica/index.db"
    content = bytearray(db.read_bytes())
    content[100:4096] = b"\xff" * (4096 - 100)  # the schema page: SQLite reports it malformed
    db.write_bytes(bytes(content))
    with pytest.raises(sqlite3.DatabaseError):
        clear_sqlite(db)
    link = linked(db, tmp_path)
    found = scan_deployment(specimen.deployment, load_inventory(specimen.deployment))
    records = destroy_files(specimen.deployment, found, "keys/keystore.json", passes=1)
    record = next(r for r in records if r.path == "replica/index.db")
    assert record.method.startswith("overwrite (SQLite clearing failed")
    assert (record.sanitization, record.rows_after_clear) == ("clear", None)
    assert not db.exists() and link.read_bytes() == bytes(len(content))
    assert list(specimen.deployment.iterdir()) == []


def test_an_overwrite_the_device_did_not_keep_is_caught_by_the_read_back(tmp_path, monkeypatch):
    """The zeros are read back from the first byte: a byte the device did not keep (here put
    back behind the overwrite's back when it syncs) stops destruction instead of passing."""
    path = tmp_path / "extract.csv"
    path.write_bytes(b"CP1234567,Quillfeather\n" * 10)
    sync = os.fsync

    def lose_the_first_byte(descriptor):
        sync(descriptor)
        with path.open("r+b") as other:
            other.write(b"C")

    monkeypatch.setattr(destruction.os, "fsync", lose_the_first_byte)
    with pytest.raises(WorkbenchError, match="did not read back as zeros"):
        overwrite_and_unlink(path, passes=1)
    assert path.exists()  # never unlinked unverified


def test_key_erasure_zeroes_the_old_store_once_and_needs_no_randomness(specimen, monkeypatch):
    """One pass of zeros over the old key store: the key's bytes are gone from it, and no
    random pass is drawn (a pass the standard does not ask for)."""

    def no_randomness(length):
        raise AssertionError("a random pass was drawn")

    monkeypatch.setattr(destruction.os, "urandom", no_randomness)
    store = specimen.deployment / "keys/keystore.json"
    crypto_erase(store, ["backup-2010-08-01"])
    assert "backup-2010-08-01" not in read_keys(store)


def test_the_old_store_link_left_by_a_kill_is_a_temporary_file_to_the_scan(specimen):
    """If a run dies with the old key store still linked aside, the scan finds that link as a
    temporary file, so the resumed destruction overwrites it with the rest."""
    relative = f"keys/keystore.json{destruction.ERASING}"
    found = classify(relative, 10, load_inventory(specimen.deployment))
    assert found.file_class == "temp"
