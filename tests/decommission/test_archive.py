"""The archive keeps what must be kept, encrypted where personal, and nothing else."""

import datetime as dt
import json

import pytest
from cryptography.exceptions import InvalidTag

from decommission.archive import (
    HELD_FILE,
    ArchiveKeys,
    build_archive,
    held_children,
    held_problems,
    seal,
    unseal,
)
from decommission.bagcheck import strict_problems
from decommission.inventory import load_inventory
from decommission.verification import canary_needles, load_canaries, scan_tree

DAY = dt.date(2010, 8, 6)


@pytest.fixture
def archived(specimen, tmp_path):
    keys = ArchiveKeys.generate()
    inventory = load_inventory(specimen.deployment)
    summary = build_archive(
        specimen.deployment, inventory, tmp_path / "bag", keys, {"probe": {"ok": 1}}, DAY
    )
    return specimen, tmp_path / "bag", keys, summary


def test_archive_validates_strictly_and_holds_the_kept_items(archived):
    """Sealed audit log, checkpoints, seal, held records, statistics and evidence are bagged."""
    _, bag, _, summary = archived
    assert strict_problems(bag) == []
    for name in (
        "audit/audit.jsonl.enc",
        "audit/checkpoints.jsonl",
        "audit/seal.json",
        "holds/held-records.json.enc",
        "statistics/aggregate.json",
        "evidence/probe.json",
    ):
        assert (bag / "data" / name).is_file(), name
    assert summary["holds"] == 1 and summary["pending_sars"] == 1  # the answered SAR is not kept


def test_held_records_are_exactly_the_held_children(archived):
    """Decrypted with the hold key, the archive holds rows only for held children and SARs."""
    specimen, bag, keys, summary = archived
    held, _, _ = held_children(specimen.deployment, load_inventory(specimen.deployment))
    records = json.loads(unseal(keys.holds, (bag / HELD_FILE).read_bytes(), HELD_FILE))
    ids = {row[0] for row in records["tables"]["live-index.children"]["rows"]}
    assert ids == set(held) and summary["held_rows"] == len(held)
    assert held_problems(bag, keys, set(held)) == []


def test_a_record_not_under_a_hold_is_caught(archived):
    """If the hold list shrinks, the archive's extra record is reported."""
    specimen, bag, keys, _ = archived
    held, _, _ = held_children(specimen.deployment, load_inventory(specimen.deployment))
    assert held_problems(bag, keys, set(held[1:])) == [
        "live-index.children: 1 record(s) not under a hold"
    ]


def test_no_canary_in_plaintext_anywhere_in_the_archive(archived):
    """Names and IDs are only in the encrypted files: a byte scan of the bag finds none."""
    specimen, bag, _, _ = archived
    assert (
        scan_tree(bag, canary_needles(load_canaries(specimen.canaries_path), dates=False)).hits
        == []
    )


def test_audit_log_is_sealed_under_its_own_key(archived):
    """The audit log decrypts with the audit key to its original bytes, never with the hold key."""
    specimen, bag, keys, _ = archived
    sealed = (bag / "data/audit/audit.jsonl.enc").read_bytes()
    original = (specimen.deployment / "audit/audit.jsonl").read_bytes()
    assert unseal(keys.audit, sealed, "data/audit/audit.jsonl.enc") == original
    with pytest.raises(InvalidTag):
        unseal(keys.holds, sealed, "data/audit/audit.jsonl.enc")


def test_seal_binds_the_file_name():
    """Ciphertext moved to another name fails to decrypt (the name is associated data)."""
    key = ArchiveKeys.generate().holds
    with pytest.raises(InvalidTag):
        unseal(key, seal(key, b"x", "a"), "b")


def test_statistics_are_counts_only(archived):
    """Aggregate statistics give row counts and children per authority, no identifiers."""
    _specimen, bag, _, _ = archived
    stats = json.loads((bag / "data/statistics/aggregate.json").read_text())
    by_authority = stats["live-index"]["by_authority"]["children"]
    assert sum(by_authority.values()) == stats["live-index"]["rows"]["children"] == 125
