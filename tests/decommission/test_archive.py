"""The archive keeps what must be kept, encrypted where personal, and nothing else."""

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import get_args

import pyrage
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
from decommission.held import closed_sar_statuses
from decommission.inventory import load_inventory
from decommission.rehearsal import rehearse
from decommission.verification import canary_needles, load_canaries, scan_tree
from sim.index.sar import SubjectAccessRequest

DAY = dt.date(2010, 8, 6)
GOLDEN_LAYOUT = Path(__file__).parent / "golden" / "archive-layout.txt"


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
    ids = {row[0] for row in records["indexes"]["live-index"]["tables"]["children"]["rows"]}
    assert ids == set(held) and summary["held_rows"] == len(held)
    assert held_problems(bag, keys, set(held)) == []


def test_a_record_not_under_a_hold_is_caught(archived):
    """If the hold list shrinks, the archive's extra record is reported."""
    specimen, bag, keys, _ = archived
    held, _, _ = held_children(specimen.deployment, load_inventory(specimen.deployment))
    problems = held_problems(bag, keys, set(held[1:]))
    assert problems[0] == "live-index.children: 1 record(s) not under a hold"
    assert held_problems(bag, keys, {*held, "CP0000000"}) == [
        "1 held child(ren) missing from the archived records"
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


def test_closed_sar_statuses_come_from_the_sar_module():
    """Closed means an outcome sim.index.sar closes a request with; anything else is pending."""
    assert closed_sar_statuses() == frozenset(
        get_args(get_args(SubjectAccessRequest.model_fields["outcome"].annotation)[0])
    )


def test_an_overdue_or_unknown_sar_status_keeps_the_record(specimen):
    """A request 'overdue' (or in a status this code does not know) is pending: its child is kept;
    a disclosed one is not."""
    path = specimen.deployment / "sar/requests.jsonl"
    first, second = specimen.child_ids[3], specimen.child_ids[4]
    lines = [
        {"request_id": 1, "child_id": first, "status": "overdue"},
        {"request_id": 2, "child_id": second, "status": "disclosed"},
        {"request_id": 3, "child_id": second, "status": "lost in the post"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    held, _, pending = held_children(specimen.deployment, load_inventory(specimen.deployment))
    assert pending == 2 and {first, second} <= set(held)


def manifest_layout(bag: Path) -> str:
    """The bag's files, manifests and bag-info labels, with digests and sizes normalised."""
    lines = [f"files: {p.relative_to(bag).as_posix()}" for p in sorted(bag.rglob("*"))]
    for name in sorted(p.name for p in bag.glob("*manifest-*.txt")):
        lines.append(f"{name}:")
        for line in (bag / name).read_text().splitlines():
            digest, path = line.split(None, 1)
            lines.append(f"  <{len(digest) * 4}-bit digest>  {path}")
    lines.append("bag-info.txt:")
    for line in (bag / "bag-info.txt").read_text().splitlines():
        label, value = line.split(":", 1)
        if label == "Payload-Oxum":
            value = f" <octets>.{value.split('.')[1]}"
        elif label == "Bag-Software-Agent":
            value = re.sub(r"v[\d.]+", "v<version>", value)
        lines.append(f"  {label}:{value}")
    lines.append("bagit.txt:")
    lines += [f"  {line}" for line in (bag / "bagit.txt").read_text().splitlines()]
    return "\n".join(lines) + "\n"


def test_golden_archive_manifest_layout(specimen, setup, tmp_path):
    """The archive of a completed rehearsal, with a custodian key, has exactly the golden layout:
    file list, manifest entries, bag-info labels (CPW_UPDATE_GOLDEN=1 rewrites the file)."""
    setup.custodian = pyrage.x25519.Identity.generate().to_public()
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    layout = manifest_layout(outcome.evidence / "archive")
    if os.environ.get("CPW_UPDATE_GOLDEN"):
        GOLDEN_LAYOUT.write_text(layout)
    assert layout == GOLDEN_LAYOUT.read_text()
