"""Overwrite, key erasure and SQLite clearing proven from the old bytes, at every threshold.

Each test keeps a second hard link to the file before destroying it, so what reached the old
blocks (not only what happened to the name) is read back, from the start and at raw offsets.
"""

import json
import os
import sqlite3

import pytest

import decommission.destruction as destruction
from decommission import atomic
from decommission.destruction import (
    CHUNK,
    ERASING,
    KeyNotErased,
    clear_sqlite,
    crypto_erase,
    overwrite_and_unlink,
    read_keys,
)
from sim.errors import WorkbenchError

SIZES = [0, 1, 23, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7]
RANDOM = 0x5A  # what the patched os.urandom draws: neither zero nor the old content


def old_content(size: int) -> bytes:
    return (b"CP1234567,Quillfeather\n" * (size // 23 + 1))[:size]


def linked(path, tmp_path):
    link = tmp_path / f"{path.name}.link"
    os.link(path, link)
    return link


@pytest.fixture
def passes_seen(monkeypatch):
    """What the file held (read through another handle) each time a pass was synced; os.urandom
    draws RANDOM bytes, so a random pass is told from a zero pass and from the old bytes."""
    seen: list[bytes] = []
    sync = os.fsync

    def recording(descriptor):
        sync(descriptor)
        seen.append(os.pread(descriptor, os.fstat(descriptor).st_size, 0))

    monkeypatch.setattr(destruction.os, "fsync", recording)
    monkeypatch.setattr(destruction.os, "urandom", lambda length: bytes([RANDOM]) * length)
    return seen


@pytest.mark.parametrize("passes", [1, 2, 3])
@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_every_pass_reaches_every_old_byte(tmp_path, passes_seen, size, passes):
    """Each pass writes every byte in place and is synced before the next; the last is zeros,
    the size never changes, and then the name is removed."""
    path = tmp_path / "extract.csv"
    path.write_bytes(old_content(size))
    link = linked(path, tmp_path)
    overwrite_and_unlink(path, passes)
    assert not path.exists()
    assert passes_seen == [bytes([RANDOM]) * size] * (passes - 1) + [bytes(size)]
    assert link.stat().st_size == size
    assert link.read_bytes() == bytes(size)
    with link.open("rb") as handle:
        for offset in {0, size // 2, CHUNK - 1, CHUNK, size - 1}:
            if 0 <= offset < size:
                assert os.pread(handle.fileno(), 1, offset) == b"\x00", offset


@pytest.mark.parametrize("offset", [0, CHUNK - 1, CHUNK, CHUNK + 1])
def test_a_byte_not_kept_in_any_block_stops_the_unlink(tmp_path, monkeypatch, offset):
    """The read-back covers every block, the last partial one included: a non-zero byte there
    raises and the file is not unlinked."""
    path = tmp_path / "extract.csv"
    path.write_bytes(old_content(CHUNK + 2))
    sync = os.fsync

    def lose_a_byte(descriptor):
        sync(descriptor)
        os.pwrite(descriptor, b"C", offset)

    monkeypatch.setattr(destruction.os, "fsync", lose_a_byte)
    with pytest.raises(WorkbenchError) as error:
        overwrite_and_unlink(path, 1)
    assert str(error.value) == f"{path}: overwrite did not read back as zeros"
    assert path.exists()


def keystore(tmp_path, document):
    path = tmp_path / "keys" / "keystore.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document, indent=1))
    return path


STORE = {
    "keys": {
        "a": {"material": "QUFBQUFBQUE="},
        "b": {"material": "QkJCQkJCQkI="},
        "c": {"material": "Q0NDQ0NDQ0M="},
    }
}


@pytest.fixture
def no_random_pass(monkeypatch):
    """Key erasure overwrites the old store once, with zeros: a random pass fails the test."""

    def refuse(length):
        raise AssertionError("a random pass was drawn")

    monkeypatch.setattr(destruction.os, "urandom", refuse)


@pytest.mark.parametrize(
    ("erased", "left"), [(["a"], ["b", "c"]), (["a", "c"], ["b"]), (["a", "b", "c"], [])]
)
def test_erasure_leaves_no_key_bytes_in_the_store_or_its_old_blocks(
    tmp_path, no_random_pass, erased, left
):
    path = keystore(tmp_path, STORE)
    link = linked(path, tmp_path)
    size = link.stat().st_size
    crypto_erase(path, erased)
    assert list(read_keys(path)) == left
    assert link.read_bytes() == bytes(size)
    content = path.read_bytes()
    for key_id in erased:
        assert STORE["keys"][key_id]["material"].encode() not in content
    assert sorted(p.name for p in path.parent.iterdir()) == ["keystore.json"]


def test_the_erased_store_keeps_the_deployments_layout(tmp_path):
    """What is left is written back as the deployment writes its store (JSON, indent 1), so the
    size the destruction record gives for it is the same in every run."""
    path = keystore(tmp_path, STORE)
    crypto_erase(path, ["b"])
    left = {"keys": {k: v for k, v in STORE["keys"].items() if k != "b"}}
    assert path.read_text() == json.dumps(left, indent=1)


def test_erasure_of_a_list_store_and_of_an_unknown_key(tmp_path, no_random_pass):
    entries = [{"key_id": "a", "hex": "aa" * 16}, {"key_id": "b", "hex": "bb" * 16}]
    path = keystore(tmp_path, entries)
    crypto_erase(path, ["b", "absent"])
    assert json.loads(path.read_text()) == [entries[0]]
    crypto_erase(path, ["absent"])
    assert json.loads(path.read_text()) == [entries[0]]


def test_erasure_of_a_bare_mapping_store(tmp_path, no_random_pass):
    path = keystore(tmp_path, {"a": {"hex": "aa"}, "b": {"hex": "bb"}})
    crypto_erase(path, ["a"])
    assert json.loads(path.read_text()) == {"b": {"hex": "bb"}}


def test_the_store_directory_is_synced_once_the_old_link_is_gone(tmp_path, monkeypatch):
    path = keystore(tmp_path, STORE)
    synced = []
    real = atomic.sync_directory

    def noting(directory):
        synced.append((directory, (path.parent / f"keystore.json{ERASING}").exists()))
        real(directory)

    monkeypatch.setattr(atomic, "sync_directory", noting)
    crypto_erase(path, ["a"])
    assert synced[-1] == (path.parent, False)


def test_a_link_left_before_the_store_was_replaced_is_dropped_not_overwritten(
    tmp_path, no_random_pass
):
    """Killed after linking the old store aside, before replacing it: the link is the live
    store itself, so it is unlinked (overwriting it would destroy the store)."""
    path = keystore(tmp_path, STORE)
    os.link(path, path.with_name(path.name + ERASING))
    crypto_erase(path, ["a"])
    assert list(read_keys(path)) == ["b", "c"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["keystore.json"]


def test_an_old_store_left_after_the_store_was_replaced_is_overwritten(tmp_path, no_random_pass):
    """Killed after replacing the store, before overwriting the old one: the old bytes (with
    the erased key in them) are overwritten with zeros when the erasure is redone."""
    path = keystore(tmp_path, {"keys": {"b": STORE["keys"]["b"]}})
    old = path.with_name(path.name + ERASING)
    old.write_text(json.dumps(STORE, indent=1))
    link = linked(old, tmp_path)
    crypto_erase(path, ["a"])
    assert link.read_bytes() == bytes(link.stat().st_size)
    assert list(read_keys(path)) == ["b"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["keystore.json"]


def test_a_store_cut_short_is_left_for_the_file_loop(tmp_path):
    """A key store that is not JSON (overwritten half-way by a run that died) is not erased
    again here: it is destroyed with the other files."""
    path = keystore(tmp_path, STORE)
    path.write_bytes(bytes(40))
    crypto_erase(path, ["a"])
    assert path.read_bytes() == bytes(40)


def test_a_key_the_store_keeps_is_reported(tmp_path, monkeypatch):
    """If the replaced store still holds an erased key, erasure raises and says which."""
    path = keystore(tmp_path, STORE)
    real = atomic.replace_file
    monkeypatch.setattr(atomic, "replace_file", lambda target, _: real(target, path.read_bytes()))
    with pytest.raises(KeyNotErased) as error:
        crypto_erase(path, ["a", "b"])
    assert str(error.value) == f"{path}: keys still present after erasure: a, b"


def database(path, rows, tables=("children",)):
    db = sqlite3.connect(path)
    for table in tables:
        db.execute(f'CREATE TABLE "{table}" (child_id, surname)')
        db.executemany(f'INSERT INTO "{table}" VALUES (?, ?)', rows)
    db.commit()
    db.close()


def test_clearing_zeroes_every_table_and_every_deleted_row(tmp_path):
    """Every table is emptied (a quoted name too), the names leave the file's bytes, no journal
    or temporary file is written beside it, and the counts after are returned."""
    path = tmp_path / "index.db"
    rows = [(f"CP{n:07d}", f"Quillfeather{n:03d}") for n in range(300)]
    database(path, rows, tables=("children", "carer links"))
    link = linked(path, tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert clear_sqlite(path) == {"children": 0, "carer links": 0}
    assert sorted(os.listdir(tmp_path)) == before
    content = path.read_bytes()
    assert b"Quillfeather" not in content and b"CP0000" not in content
    assert link.read_bytes() == content  # cleared in place: the old blocks, not a new file


def test_clearing_an_empty_database_returns_no_tables(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    assert clear_sqlite(path) == {}


def test_clearing_refuses_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "not.db"
    path.write_bytes(b"not a database at all" * 200)
    with pytest.raises(sqlite3.DatabaseError):
        clear_sqlite(path)


class Ignoring:
    """A SQLite connection whose secure_delete pragma answers `answer` (another build)."""

    def __init__(self, connection, answer):
        self.connection, self.answer = connection, answer

    def execute(self, sql, *args):
        if sql.startswith("PRAGMA secure_delete"):
            return self.connection.execute(self.answer)
        return self.connection.execute(sql, *args)

    def close(self):
        self.connection.close()


@pytest.mark.parametrize("answer", ["SELECT 0", "PRAGMA no_such_pragma"])
def test_a_sqlite_that_will_not_delete_securely_is_refused_before_any_row(
    tmp_path, monkeypatch, answer
):
    """secure_delete answered off, or ignored (no row): clearing stops with a clear error and
    every row is still there (a plain DELETE would leave them on free pages)."""
    path = tmp_path / "index.db"
    database(path, [("CP0000001", "Quillfeather")])
    connect = sqlite3.connect
    monkeypatch.setattr(
        destruction.sqlite3, "connect", lambda *a, **k: Ignoring(connect(*a, **k), answer)
    )
    with pytest.raises(WorkbenchError) as error:
        clear_sqlite(path)
    assert str(error.value) == f"{path}: SQLite refused secure_delete=ON"
    monkeypatch.setattr(destruction.sqlite3, "connect", connect)
    assert connect(path).execute("SELECT count(*) FROM children").fetchone() == (1,)
