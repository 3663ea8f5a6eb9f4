"""Independent verification finds every kind of residue, in every encoding (negative controls)."""

import sqlite3
import subprocess

import pytest

from decommission.scan import tool_failure
from decommission.verification import (
    GREP,
    canary_needles,
    identifier_needles,
    key_needles,
    load_canaries,
    residue_files,
    scan_tree,
    verify_destruction,
)

ENGINES = ["python", "grep"] if GREP else ["python"]
CANARY = {
    "child_id": "CP7309200",
    "forename": "Canarina",
    "surname": "Quillfeather",
    "date_of_birth": "2000-12-17",
    "postcode": "BL3 0QS",
}


@pytest.mark.parametrize(
    ("content", "label"),
    [
        ("Quillfeather".encode("utf-16-le"), "surname [utf-16-le]"),
        ("QUILLFEATHER".encode("utf-16-be"), "surname [utf-16-be]"),
        (b"quillfeather", "surname [utf-8]"),
        (b"cp7309200", "child_id [utf-8]"),
        (b"BL30QS", "postcode [utf-8]"),
        (b"17/12/2000", "date_of_birth [utf-8]"),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_canary_found_in_each_encoding(tmp_path, content, label, engine):
    """A canary written as UTF-16, upper or lower case, compact postcode or UK date is found."""
    (tmp_path / "blob.bin").write_bytes(b"\x01" * 100 + content + b"\x01" * 100)
    hits = scan_tree(tmp_path, canary_needles([CANARY]), engine).hits
    assert any(label in hit["pattern"] and hit["offset"] == 100 for hit in hits)


def test_match_across_a_chunk_boundary(tmp_path, monkeypatch):
    """A canary split over two read chunks is still found, once."""
    import decommission.scan as verification

    monkeypatch.setattr(verification, "CHUNK", 64)
    (tmp_path / "big.bin").write_bytes(b"x" * 58 + b"Quillfeather" + b"y" * 100)
    hits = scan_tree(tmp_path, canary_needles([CANARY]), "python").hits
    hits = [h for h in hits if h["pattern"].endswith("surname [utf-8]")]
    assert [h["offset"] for h in hits] == [58]


@pytest.mark.parametrize("engine", ENGINES)
def test_sampled_identifiers_and_keys_are_found(tmp_path, engine):
    """A real identifier from the caller's sample and an erased key's hex are both residue."""
    key = bytes(range(32))
    (tmp_path / "notes.txt").write_text(f"CP1234567 {key.hex()}")
    needles = identifier_needles(["CP1234567"]) + key_needles([key])
    hits = scan_tree(tmp_path, needles, engine).hits
    assert {h["pattern"] for h in hits} == {"sample 0 [utf-8]", "key 0 hex"}


def _canary_db(path, secure_delete: str, journal: str) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute(f"PRAGMA secure_delete={secure_delete}")
    db.execute("CREATE TABLE children (child_id, surname)")
    db.executemany(
        "INSERT INTO children VALUES (?, ?)", [(f"CP{i}", "Quillfeather") for i in range(300)]
    )
    db.commit()
    db.execute("DELETE FROM children")
    db.commit()
    db.close()


@pytest.mark.parametrize("mode", ["OFF", "FAST"])
def test_negative_control_deleted_rows_without_secure_delete(tmp_path, mode):
    """Rows deleted with secure_delete OFF or FAST stay on freelist pages: the scan sees them."""
    _canary_db(tmp_path / "index.db", mode, "DELETE")
    report = verify_destruction(tmp_path, None, [CANARY], [], [])
    assert not report["passed"] and report["deployment"]["hits"]
    assert report["residue_files"] == []  # zero rows: only the byte scan can tell


def test_negative_control_persist_journal(tmp_path):
    """A PERSIST journal keeps pre-images after a secure DELETE; it is residue twice over."""
    _canary_db(tmp_path / "index.db", "ON", "PERSIST")
    report = verify_destruction(tmp_path, None, [CANARY], [], [])
    assert {h["path"] for h in report["deployment"]["hits"]} == {"index.db-journal"}
    assert {r["path"] for r in report["residue_files"]} == {"index.db-journal"}


def test_secure_delete_on_leaves_no_canary(tmp_path):
    """The positive control: secure_delete ON with a DELETE journal leaves no canary bytes."""
    _canary_db(tmp_path / "index.db", "ON", "DELETE")
    assert verify_destruction(tmp_path, None, [CANARY], [], [])["deployment"]["hits"] == []


def test_residue_files_rows_and_key_store(tmp_path):
    """A database with rows, a WAL file and a key store with keys are each residue."""
    db = sqlite3.connect(tmp_path / "left.db")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()
    (tmp_path / "index.db-wal").write_bytes(b"\x00" * 32)
    (tmp_path / "keystore.json").write_text('{"keys": {"k": {"material": "AA=="}}}')
    kinds = {r["path"]: r["residue"] for r in residue_files(tmp_path)}
    assert kinds == {
        "left.db": "SQLite file with 1 rows",
        "index.db-wal": "database sidecar or temp file",
        "keystore.json": "key store still holds keys",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index.db-wal",
        "keystore.json",
        "left.db",
    ]


def test_report_holds_no_canary_value(tmp_path):
    """The verification report names patterns by label and digest, never by value."""
    (tmp_path / "x.csv").write_text("Quillfeather")
    report = verify_destruction(tmp_path, None, [CANARY], ["CP999"], [])
    assert "Quillfeather" not in str(report) and "CP999" not in str(report)


@pytest.mark.skipif(GREP is None, reason="GNU grep not installed")
def test_engines_agree_on_a_real_deployment(specimen):
    """Before destruction both engines find residue in the same files (same verdict)."""
    canaries = load_canaries(specimen.canaries_path)
    needles = canary_needles(canaries) + identifier_needles(specimen.child_ids[:5])
    by_python = scan_tree(specimen.deployment, needles, "python")
    by_grep = scan_tree(specimen.deployment, needles, "grep")
    assert {h["path"] for h in by_python.hits} == {h["path"] for h in by_grep.hits}
    assert by_python.bytes == by_grep.bytes > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_key_bytes_with_newline_and_colon(tmp_path, engine):
    """A raw key holding newline and colon bytes is found, and does not break the scan."""
    key = b"\n:" + bytes(range(100, 130))
    (tmp_path / "copy.bin").write_bytes(b"junk" + key + b"junk")
    hits = scan_tree(tmp_path, key_needles([key]), engine).hits
    assert [(h["pattern"], h["offset"]) for h in hits] == [("key 0 raw", 4)]


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (
            "echo 'grep: big.bin: Input/output error' >&2; exit 2",
            "grep: big.bin: Input/output error",
        ),
        ("exit 2", "exit status 2, nothing on stderr"),
        ("kill -KILL $$", "killed by signal SIGKILL, nothing on stderr"),
    ],
)
def test_a_failed_scan_tool_is_named_in_one_line(script, reason):
    """A scan tool that fails says why in one line, even when it wrote nothing (killed)."""
    done = subprocess.run(["sh", "-c", script], capture_output=True)
    assert tool_failure(done) == reason
