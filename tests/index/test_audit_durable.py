"""The write-ahead audit log: durable before it answers, one chain for many writers, checkpoints
by time, a witness outside the deployment, and a key pinned from outside what is verified."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sim.cli.index_audit import audit_verify
from sim.index.audit import (
    AuditEvent,
    AuditLog,
    checkpoints_path,
    create_key_store,
    key_fingerprint,
    load_signing_key,
    public_key_hex,
    verify,
)
from tests.index.support import checkpoint_rules

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2009, 5, 12, 9, 0)


def event(i: int, actor: str = "user") -> AuditEvent:
    return AuditEvent(
        T0 + dt.timedelta(seconds=i), actor, "search", "allowed", None, None, {"n": i}
    )


@pytest.fixture
def keyed(tmp_path: Path) -> tuple[Path, str]:
    public = create_key_store(tmp_path / "audit.key", seed=bytes(32))
    return tmp_path / "audit.key", public_key_hex(public)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def test_an_entry_is_in_the_file_before_append_returns(tmp_path, keyed):
    """Nothing is buffered: after `append` returns, another reader sees the entry on disk."""
    key, _ = keyed
    log = AuditLog(tmp_path / "a.jsonl", load_signing_key(key), checkpoint_rules(5))
    log.append(event(1))
    assert len(lines_of(tmp_path / "a.jsonl")) == 1
    log.close()


WRITER = """
import datetime as dt, sys
from sim.index.audit import AuditEvent, AuditLog, load_signing_key
path, key, name = sys.argv[1], sys.argv[2], sys.argv[3]
with AuditLog(path, load_signing_key(key)) as log:
    for i in range(60):
        log.append(AuditEvent(dt.datetime(2009, 5, 12, 9, 0, i % 60), name, "search", "allowed"))
"""


def test_writers_in_several_processes_keep_one_chain(tmp_path, keyed):
    """Three processes append to one log at once: one chain, every entry kept, and it verifies."""
    key, public = keyed
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = tmp_path / "a.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(key), f"w{n}"], env=env)
        for n in range(3)
    ]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    report = verify(path, public)
    assert report.ok, report.problem
    assert report.entries == 180 and report.signed_entries == 180


def test_threads_share_one_chain_through_group_commit(tmp_path, keyed):
    """Eight threads appending through one AuditLog: every entry kept, in one valid chain."""
    key, public = keyed
    path = tmp_path / "a.jsonl"
    with AuditLog(path, load_signing_key(key), checkpoint_rules(50)) as log:
        seqs: list[int] = []

        def work(n: int) -> None:
            for i in range(40):
                seqs.append(log.append(event(i, f"t{n}")))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(seqs) == list(range(1, 321))
    assert verify(path, public).ok


def written(tmp_path: Path, key: Path, n: int, every: int = 5) -> tuple[Path, Path]:
    path, witness = tmp_path / "a.jsonl", tmp_path / "witness.json"
    with AuditLog(path, load_signing_key(key), checkpoint_rules(every), witness=witness) as log:
        for i in range(n):
            log.append(event(i))
    return path, witness


def test_deleting_the_tail_with_its_checkpoints_fails_against_the_witness(tmp_path, keyed):
    """Cut the last 8 entries and the checkpoints that signed them: the log alone still looks
    whole, but the witness (kept outside) shows the truncation."""
    key, public = keyed
    path, witness = written(tmp_path, key, 23)
    entries, checkpoints = lines_of(path), lines_of(checkpoints_path(path))
    path.write_bytes(b"".join(line + b"\n" for line in entries[:15]))
    checkpoints_path(path).write_bytes(b"".join(line + b"\n" for line in checkpoints[:3]))
    assert verify(path, public).ok  # what the log cannot show alone
    report = verify(path, public, witness)
    assert not report.ok and "truncated" in report.problem


def test_an_empty_log_fails_when_the_witness_says_otherwise(tmp_path, keyed):
    key, public = keyed
    path, witness = written(tmp_path, key, 7)
    path.write_bytes(b"")
    checkpoints_path(path).write_bytes(b"")
    report = verify(path, public, witness)
    assert not report.ok and report.entries == 0


def test_a_rewritten_log_fails_against_the_witness(tmp_path, keyed):
    """Rebuild the chain with different content and no checkpoints: the witness's head differs."""
    key, public = keyed
    path, witness = written(tmp_path, key, 6)
    other = tmp_path / "other"
    other.mkdir()
    with AuditLog(other / "a.jsonl", load_signing_key(key), checkpoint_rules(5)) as log:
        for i in range(6):
            log.append(event(i, "someone else"))
    path.write_bytes((other / "a.jsonl").read_bytes())
    checkpoints_path(path).write_bytes(b"")
    report = verify(path, public, witness)
    assert not report.ok and "rewritten" in report.problem


def test_a_checkpoint_is_signed_after_seconds_of_activity(tmp_path, keyed):
    """With a one-second interval, the first write after it signs a checkpoint (no close)."""
    key, _ = keyed
    path, witness = tmp_path / "a.jsonl", tmp_path / "witness.json"
    log = AuditLog(path, load_signing_key(key), checkpoint_rules(1000, seconds=1), witness=witness)
    log.append(event(1))
    time.sleep(1.1)
    log.append(event(2))
    assert len(lines_of(checkpoints_path(path))) == 1
    assert b'"seq":2' in witness.read_bytes()
    log.close()


def test_a_key_file_beside_the_log_is_not_trusted_on_its_own(tmp_path, keyed):
    """An attacker who rewrites the log with their own key and replaces the key file beside it:
    verify refuses a key file without the pinned fingerprint, and refuses the forged one with it."""
    key, public = keyed
    path, witness = written(tmp_path, key, 6)
    forged = create_key_store(tmp_path / "forged.key")
    (tmp_path / "audit.pub").write_text(public_key_hex(forged) + "\n")
    path.unlink()
    checkpoints_path(path).unlink()
    written(tmp_path, tmp_path / "forged.key", 6)
    app = typer.Typer()
    app.command()(audit_verify)
    runner = CliRunner()
    base = [str(path), "--public-key", str(tmp_path / "audit.pub"), "--witness", str(witness)]
    alone = runner.invoke(app, base)
    assert alone.exit_code != 0 and "--fingerprint" in str(alone.exception or alone.output)
    pinned = runner.invoke(app, [*base, "--fingerprint", key_fingerprint(public)])
    assert pinned.exit_code != 0 and "pinned" in str(pinned.exception or pinned.output)
    typed = runner.invoke(app, [str(path), "--public-key", public, "--witness", str(witness)])
    assert typed.exit_code == 1  # the real key, typed by the operator: the forgery fails


def test_the_witness_is_replaced_by_the_one_atomic_writer(tmp_path, keyed, monkeypatch):
    """Publishing the witness flushes the new file and then its directory (so the rename itself
    survives a power cut), leaves it owner-only and no `.partial` behind; decommissioning's
    atomic writer is the same function, not a second copy."""
    import stat

    from decommission import atomic
    from sim import outputs

    key, _ = keyed
    synced: list[tuple[bool, int]] = []
    real_fsync = os.fsync

    def watching(fd: int) -> None:
        info = os.fstat(fd)
        synced.append((stat.S_ISDIR(info.st_mode), info.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching)
    folder = tmp_path / "operator"
    folder.mkdir()
    witness = folder / "witness.json"
    with AuditLog(tmp_path / "a.jsonl", load_signing_key(key), checkpoint_rules(3),
                  witness=witness) as log:  # fmt: skip
        for i in range(3):
            log.append(event(i))
    after_file = [n for n, (is_dir, ino) in enumerate(synced) if ino == witness.stat().st_ino]
    after_dir = [
        n for n, (is_dir, ino) in enumerate(synced) if is_dir and ino == folder.stat().st_ino
    ]
    assert after_file and after_dir and after_dir[-1] > after_file[-1]
    assert stat.S_IMODE(witness.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["witness.json"]
    assert atomic.replace_file is outputs.replace_file
