"""destroy_files over a hand-made tree: the order of actions, each file's record, the pass count,
a stray sidecar beside a database, and a `note` that fails before its action."""

import hashlib
import json
import os
import sqlite3

import pytest

import decommission.destruction as destruction
from decommission.destruction import TOOL, KeyNotErased, destroy_files, read_keys
from decommission.inventory import FoundFile

KEYS = {"keys": {"k1": {"material": "QUFBQUFBQUE="}, "k2": {"material": "QkJCQkJCQkI="}}}


def found(path, size=0, file_class="store", store=None, kind="extract", holder="h", **extra):
    return FoundFile(path, size, file_class, store, kind, holder, **extra)


@pytest.fixture
def tree(tmp_path):
    """A key store, an encrypted backup, a database with a stray WAL, a sidecar the scan found,
    a plain extract, and links to every one of them made before destruction."""
    root = tmp_path / "dep"
    (root / "keys").mkdir(parents=True)
    (root / "keys/keystore.json").write_text(json.dumps(KEYS))
    (root / "backup.enc").write_bytes(b"\x01sealed" * 50)
    db = sqlite3.connect(root / "index.db")
    db.execute("CREATE TABLE children (child_id)")
    db.executemany("INSERT INTO children VALUES (?)", [(f"CP{n}",) for n in range(50)])
    db.commit()
    db.close()
    (root / "index.db-wal").write_bytes(b"frames CP1 " * 20)  # not in the scan: left over
    (root / "other.db-journal").write_bytes(b"SQLite format 3\x00" + b"pre-image CP2 " * 20)
    (root / "extract.csv").write_bytes(b"CP3,Quillfeather\n" * 30)
    links = {}
    for path in root.rglob("*"):
        if path.is_file():
            links[path.relative_to(root).as_posix()] = tmp_path / f"link{len(links)}"
            os.link(path, links[path.relative_to(root).as_posix()])
    items = [
        found("extract.csv", holder="E08000001", key_id="k2"),  # names a key, not encrypted
        found("index.db", store="live", kind="live-index"),
        found("backup.enc", store="b", kind="backup", encrypted=True, key_id="k1"),
        found("other.db-journal", file_class="sidecar"),
        found("keys/keystore.json", store="ks", kind="key-store"),
        found("gone.csv"),  # destroyed by an earlier attempt: nothing to do
    ]
    return root, items, links


def test_every_action_in_order_with_its_record(tree, tmp_path):
    root, items, links = tree
    before = {p: hashlib.sha256(link.read_bytes()).hexdigest() for p, link in links.items()}
    sizes = {p: link.stat().st_size for p, link in links.items()}
    events = []
    records = destroy_files(root, items, "keys/keystore.json", 1, note=events.append)
    assert events[0] == {"erase": ["k1"]}
    order = [e["intent"]["path"] for e in events if "intent" in e]
    assert order == [
        "other.db-journal", "extract.csv", "index.db", "backup.enc", "keys/keystore.json",
    ]  # fmt: skip
    assert [e["done"]["path"] for e in events if "done" in e] == order
    assert [r.path for r in records] == order
    by_path = {r.path: r for r in records}
    assert (by_path["backup.enc"].method, by_path["backup.enc"].sanitization) == (
        "cryptographic erase, then overwrite",
        "purge",
    )
    assert (by_path["backup.enc"].key_id, by_path["extract.csv"].key_id) == ("k1", "k2")
    database = by_path["index.db"]
    assert (database.method, database.sanitization, database.rows_after_clear) == (
        "SQLite secure_delete DELETE + VACUUM, then overwrite",
        "clear",
        {"children": 0},
    )
    for plain in ("extract.csv", "other.db-journal", "keys/keystore.json"):
        assert (by_path[plain].method, by_path[plain].sanitization) == ("overwrite", "clear")
        assert by_path[plain].rows_after_clear is None
    extract = by_path["extract.csv"]
    assert (extract.store, extract.kind, extract.holder, extract.tool) == (
        None,
        "extract",
        "E08000001",
        TOOL,
    )
    assert (database.store, database.kind) == ("live", "live-index")
    for path in order:
        assert by_path[path].size == sizes[path] or path == "keys/keystore.json"
        if path not in ("keys/keystore.json", "index.db"):
            assert by_path[path].sha256_before == before[path]
    assert list(root.iterdir()) == []
    for path, link in links.items():
        content = link.read_bytes()
        assert content.count(0) == len(content), path


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_the_pass_count_reaches_every_file_and_stray_sidecar(tree, monkeypatch, passes):
    """Each file, the stray WAL beside the database included, gets passes - 1 random passes
    before its zeros; the key store's old copy is zeroed once, with no random pass."""
    root, items, links = tree
    sizes = {p: link.stat().st_size for p, link in links.items()}
    drawn = []
    monkeypatch.setattr(destruction.os, "urandom", lambda n: drawn.append(n) or b"\x5a" * n)
    destroy_files(root, items, "keys/keystore.json", passes)
    assert len(drawn) == 6 * (passes - 1)
    for path in ("other.db-journal", "extract.csv", "index.db-wal", "backup.enc"):
        assert drawn.count(sizes[path]) == passes - 1, path
    assert not (root / "index.db-wal").exists()
    assert links["index.db-wal"].read_bytes() == bytes(sizes["index.db-wal"])


def test_a_note_that_fails_stops_its_action(tree):
    """A failed note (a full disk) means the action it announced is not taken."""
    root, items, links = tree

    def refuse_erase(event):
        if "erase" in event:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        destroy_files(root, items, "keys/keystore.json", 1, note=refuse_erase)
    assert list(read_keys(root / "keys/keystore.json")) == ["k1", "k2"]

    def refuse_intent(event):
        if "intent" in event:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        destroy_files(root, items, "keys/keystore.json", 1, note=refuse_intent)
    assert (root / "other.db-journal").read_bytes() == links["other.db-journal"].read_bytes()
    assert links["other.db-journal"].read_bytes().startswith(b"SQLite format 3")


def test_encrypted_stores_with_no_key_store_stop_before_anything(tree, tmp_path):
    root, items, links = tree
    before = {p: link.read_bytes() for p, link in links.items()}
    with pytest.raises(KeyNotErased) as error:
        destroy_files(root, items, None, 1)
    assert str(error.value) == "encrypted stores but no key store in the inventory"
    assert {p: (root / p).read_bytes() for p in links} == before


def test_an_encrypted_store_that_is_a_database_it_cannot_clear_is_only_a_clear(tree):
    """A store the inventory calls encrypted that is in fact a plain SQLite file SQLite cannot
    clear (malformed) is overwritten, and recorded as a clear, not a purge."""
    root, _, links = tree
    content = bytearray(links["index.db"].read_bytes())
    content[100:4096] = b"\xff" * (4096 - 100)
    (root / "index.db").write_bytes(bytes(content))
    store = found("index.db", store="live", kind="live-index", encrypted=True, key_id="k2")
    records = destroy_files(root, [store], "keys/keystore.json", 1)
    assert records[0].method.startswith("overwrite (SQLite clearing failed: ")
    assert (records[0].sanitization, records[0].rows_after_clear) == ("clear", None)
    assert list(read_keys(root / "keys/keystore.json")) == ["k1"]
