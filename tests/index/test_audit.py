"""The audit log: append-only, hash-chained, checkpoint-signed; verify names the first bad entry."""

import datetime as dt
import itertools
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli.index_audit import audit_verify
from sim.errors import InputError
from sim.index.audit import (
    AuditEvent,
    AuditLog,
    checkpoints_path,
    create_key_store,
    key_fingerprint,
    load_signing_key,
    public_key_hex,
    read_audit,
    verify,
)
from sim.index.audit.event import canonical, digest, encode_entry
from tests.index.support import checkpoint_rules

T0 = dt.datetime(2009, 5, 12, 9, 0)


def event(i: int) -> AuditEvent:
    return AuditEvent(
        T0 + dt.timedelta(seconds=i),
        f"user{i % 3}",
        "view" if i % 2 else "search",
        "allowed" if i % 5 else "refused",
        f"AB{i:06d}C" if i % 2 else None,
        "safeguarding" if i % 2 else None,
        {"surname": f"Name{i}", "n": i},
    )


def write_log(folder: Path, n: int, checkpoint: int = 5) -> tuple[Path, str]:
    """A closed log of n events; returns its path and the public key (hex)."""
    key_path = folder / "audit.key"
    public = create_key_store(key_path, seed=bytes(32))
    log_path = folder / "audit.jsonl"
    witness = folder / "witness.json"
    with AuditLog(
        log_path, load_signing_key(key_path), checkpoint_rules(checkpoint), witness=witness
    ) as log:
        for i in range(n):
            log.append(event(i))
    return log_path, public_key_hex(public)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def save(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_clean_log_verifies(tmp_path):
    """An untouched log verifies, and its final checkpoint covers every entry."""
    path, public = write_log(tmp_path, 23)
    report = verify(path, public)
    assert report.ok and report.entries == 23 and report.signed_entries == 23
    assert report.checkpoints == 5  # at 5, 10, 15, 20 and on close
    assert "intact" in report.summary()


def test_each_entry_carries_the_previous_hash(tmp_path):
    """Entry k's `prev` is entry k-1's hash, and each hash is the sha256 of its canonical body."""
    path, _ = write_log(tmp_path, 4)
    entries = [json.loads(line) for line in lines_of(path)]
    assert entries[0]["prev"] == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after["prev"] == before["hash"]
    body = {k: v for k, v in entries[2].items() if k != "hash"}
    assert digest(canonical(body)) == entries[2]["hash"]


def test_reopening_continues_the_chain(tmp_path):
    """A second writer on the same file continues the sequence and the chain."""
    path, public = write_log(tmp_path, 7)
    with AuditLog.open(path, tmp_path / "audit.key", checkpoint_rules(5)) as log:
        assert log.append(event(7)) == 8
    assert verify(path, public).ok
    assert verify(path, public).entries == 8


def test_edit_is_named(tmp_path):
    """Changing one field of entry 4 (without the key) makes entry 4 the first bad entry."""
    path, public = write_log(tmp_path, 12)
    lines = lines_of(path)
    entry = json.loads(lines[3])
    entry["outcome"] = "allowed" if entry["outcome"] == "refused" else "refused"
    lines[3] = canonical(entry).encode()
    save(path, lines)
    report = verify(path, public)
    assert not report.ok and report.first_bad == 4 and "edited" in report.problem


def test_rebuilt_chain_is_caught_by_the_checkpoint(tmp_path):
    """Re-hashing every entry after an edit still fails: the signed head no longer matches."""
    path, public = write_log(tmp_path, 12)
    entries = [json.loads(line) for line in lines_of(path)]
    entries[6]["actor"] = "someone-else"
    prev, rebuilt = "0" * 64, []
    for entry in entries:
        entry.pop("hash")
        entry["prev"] = prev
        body = canonical(entry)
        prev = digest(body)
        rebuilt.append(f'{body[:-1]},"hash":"{prev}"}}'.encode())
    save(path, rebuilt)
    report = verify(path, public)
    assert not report.ok and report.first_bad == 6 and "rewritten" in report.problem


def test_truncation_is_detected_against_the_checkpoint(tmp_path):
    """Dropping the last entries fails verification even though the remaining chain is sound."""
    path, public = write_log(tmp_path, 12)
    save(path, lines_of(path)[:9])
    report = verify(path, public)
    assert not report.ok and report.first_bad == 10 and "truncated" in report.problem


def test_forged_checkpoint_and_wrong_key_fail(tmp_path):
    """A checkpoint signed by another key, or verification with another key, fails."""
    path, public = write_log(tmp_path, 6)
    other = create_key_store(tmp_path / "other.key", seed=b"\x01" * 32)
    assert not verify(path, public_key_hex(other)).ok
    cp_path = checkpoints_path(path)
    cps = [json.loads(line) for line in lines_of(cp_path)]
    cps[0]["seq"] = 4
    save(cp_path, [canonical(c).encode() for c in cps])
    report = verify(path, public)
    assert not report.ok and "signature" in report.problem


def test_incomplete_last_line_is_reported(tmp_path):
    """A crash mid-write (no final newline) is named, and a writer refuses to continue it."""
    path, public = write_log(tmp_path, 3)
    path.write_bytes(path.read_bytes() + b'{"seq":4')
    assert verify(path, public).first_bad == 4
    with pytest.raises(InputError, match="mid-entry"):
        AuditLog.open(path, tmp_path / "audit.key")


def test_times_must_be_naive_and_outcomes_known(tmp_path):
    """Aware times and unknown outcomes are refused before anything is written."""
    key = create_key_store(tmp_path / "k.key") and load_signing_key(tmp_path / "k.key")
    with AuditLog(tmp_path / "a.jsonl", key) as log:
        with pytest.raises(ValueError, match="naive"):
            log.append(AuditEvent(T0.replace(tzinfo=dt.UTC), "u", "view", "allowed"))
        with pytest.raises(ValueError, match="outcome"):
            log.append(AuditEvent(T0, "u", "view", "maybe"))  # type: ignore[arg-type]
        assert log.entries == 0


def test_key_store_is_private_and_never_overwritten(tmp_path):
    """The signing key file is owner-only and a second create refuses to replace it."""
    create_key_store(tmp_path / "k.key")
    assert stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode) == 0o600
    with pytest.raises(InputError, match="refusing to overwrite"):
        create_key_store(tmp_path / "k.key")


def test_reader_gives_a_typed_frame(tmp_path):
    """read_audit returns one row per entry with parsed times and the detail as JSON text."""
    path, _ = write_log(tmp_path, 10)
    frame = read_audit(path)
    assert frame.columns == [
        "seq", "time", "actor", "action", "outcome", "child_id", "reason", "detail"
    ]  # fmt: skip
    assert frame["time"].dtype == pl.Datetime("us")
    assert frame["seq"].to_list() == list(range(1, 11))
    assert json.loads(frame["detail"][3]) == {"surname": "Name3", "n": 3}
    assert frame["child_id"].null_count() == 5


# -- properties -------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=st.integers(1, 15), more=st.integers(1, 15))
def test_appending_never_changes_what_was_written(tmp_path_factory, first, more):
    """The log file before further appends is a byte prefix of the file after them."""
    folder = tmp_path_factory.mktemp("log")
    path, public = write_log(folder, first, checkpoint=4)
    before = path.read_bytes()
    with AuditLog.open(path, folder / "audit.key", checkpoint_rules(4)) as log:
        for i in range(first, first + more):
            log.append(event(i))
    assert path.read_bytes().startswith(before)
    assert verify(path, public).ok


@st.composite
def tampering(draw):
    """A log size and one tampering: (kind, details, expected first bad entry)."""
    n = draw(st.integers(2, 20))
    kind = draw(st.sampled_from(["byte", "field", "delete", "swap", "truncate", "insert"]))
    if kind == "byte":
        return n, kind, draw(st.integers(0, 10_000)), draw(st.integers(0, 255))
    if kind == "field":
        key = draw(st.sampled_from(["seq", "time", "actor", "action", "outcome", "child_id",
                                    "reason", "detail", "prev", "hash"]))  # fmt: skip
        return n, kind, draw(st.integers(1, n)), key
    if kind == "swap":
        i = draw(st.integers(1, n - 1))
        return n, kind, i, draw(st.integers(i + 1, n))
    if kind == "insert":
        return n, kind, draw(st.integers(1, n + 1)), draw(st.integers(1, n))
    return n, kind, draw(st.integers(1, n)), None


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=tampering())
def test_any_tampering_is_detected_and_located(tmp_path_factory, case):
    """Any byte, field, deletion, swap, insertion or truncation fails verify at the right entry."""
    n, kind, where, extra = case
    path, public = write_log(tmp_path_factory.mktemp("log"), n, checkpoint=3)
    lines = lines_of(path)
    if kind == "byte":
        data = bytearray(path.read_bytes())
        position = where % len(data)
        if data[position] == extra:
            extra = (extra + 1) % 256
        data[position] = extra
        path.write_bytes(bytes(data))
        expected = path.read_bytes()[:position].count(b"\n") + 1
    elif kind == "field":
        entry = json.loads(lines[where - 1])
        entry[extra] = [entry[extra], "x"]
        lines[where - 1] = canonical(entry).encode()
        save(path, lines)
        expected = where
    elif kind == "delete":
        save(path, lines[: where - 1] + lines[where:])
        expected = where
    elif kind == "swap":
        lines[where - 1], lines[extra - 1] = lines[extra - 1], lines[where - 1]
        save(path, lines)
        expected = where
    elif kind == "insert":
        changed = [*lines[: where - 1], lines[extra - 1], *lines[where - 1 :]]
        save(path, changed)
        differs = [i for i, (a, b) in enumerate(zip(lines, changed, strict=False), 1) if a != b]
        expected = differs[0] if differs else len(lines) + 1
    else:
        save(path, lines[: where - 1])
        expected = where
    report = verify(path, public)
    assert not report.ok
    assert report.first_bad == expected, report.problem


def test_verify_command_passes_then_fails_after_tampering(tmp_path):
    """`cpw index audit verify` prints the verdict and exits 1 once the log is tampered with."""
    app = typer.Typer()
    app.command()(audit_verify)
    path, public = write_log(tmp_path, 8)
    (tmp_path / "audit.pub").write_text(public + "\n")
    runner = CliRunner()
    witness = ["--witness", str(tmp_path / "witness.json")]
    pinned = ["--fingerprint", key_fingerprint(public)]
    ok = runner.invoke(
        app, [str(path), "--public-key", str(tmp_path / "audit.pub"), *witness, *pinned]
    )
    assert ok.exit_code == 0 and "intact: 8 entries" in ok.output
    lines = lines_of(path)
    save(path, lines[:3] + lines[4:])
    bad = runner.invoke(app, [str(path), "--public-key", public, *witness])
    assert bad.exit_code == 1 and "entry 4" in bad.output


def test_a_log_written_without_sync_checkpoints_and_publishes_the_same(tmp_path):
    """A throw-away copy's log (without_sync) signs the same checkpoints and publishes each
    to the witness (overwritten in place, owner-only): the log verifies against the witness,
    and dropping its last entries is caught by it."""
    key_path = tmp_path / "audit.key"
    public = public_key_hex(create_key_store(key_path, seed=bytes(32)))
    log_path, witness = tmp_path / "audit.jsonl", tmp_path / "witness.json"
    signing = load_signing_key(key_path)
    with AuditLog(log_path, signing, checkpoint_rules(5), witness=witness) as log:
        log.without_sync()
        for i in range(23):
            log.append(event(i))
    report = verify(log_path, public, witness)
    assert report.ok and report.checkpoints == 5 and report.signed_entries == 23
    assert stat.S_IMODE(witness.stat().st_mode) == 0o600
    assert len(witness.read_text().splitlines()) == 1
    assert json.loads(witness.read_text())["seq"] == 23
    save(log_path, lines_of(log_path)[:21])
    assert not verify(log_path, public, witness).ok


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    action=_TEXT,
    actor=_TEXT,
    child_id=st.none() | _TEXT,
    reason=st.none() | _TEXT,
    outcome=st.sampled_from(["allowed", "refused"]),
    detail=st.dictionaries(_TEXT, st.none() | st.booleans() | st.integers() | _TEXT, max_size=4),
    seq=st.integers(min_value=1, max_value=10**12),
    prev=st.sampled_from(["0" * 64, digest("x")]),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_an_entry_line_is_the_canonical_json_of_its_body_then_its_hash(
    action, actor, child_id, reason, outcome, detail, seq, prev, micro
):
    """Whatever the text (quotes, backslashes, control and non-ASCII characters), an entry's line
    is json.dumps of its body with sorted keys and no spaces, then the sha256 of that text."""
    at = dt.datetime(2010, 1, 2, 3, 4, 5, micro)
    event = AuditEvent(at, actor, action, outcome, child_id, reason, detail)
    line, entry_hash = encode_entry(event, seq, prev)
    body = {
        "action": action, "actor": actor, "child_id": child_id,
        "detail": json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "outcome": outcome, "prev": prev, "reason": reason, "seq": seq,
        "time": at.isoformat(timespec="microseconds"),
    }  # fmt: skip
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry_hash == digest(text)
    assert line == text[:-1] + f',"hash":"{entry_hash}"}}'
    assert json.loads(line) == {**body, "hash": entry_hash}
