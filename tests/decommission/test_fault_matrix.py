"""The fault matrix: every fault at every step, then a resume without it.

Each run either completes correctly after the resume (certificates re-verify independently,
no canary left) or stops without destroying anything before the archive validated and without
a certificate. Runs use tiny specimens and seeded loops, so hundreds of runs stay fast.
"""

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from decommission import journal
from decommission.bagcheck import strict_problems
from decommission.certificate import public_key_hex
from decommission.evidence import verify_evidence
from decommission.faults import Crash, fault_named, fault_names
from decommission.rehearsal import rehearse
from decommission.specimen import Specimen, make_specimen
from decommission.verification import canary_needles, load_canaries, scan_tree

STUCK = {"missing-backup", "key-copy-left", "canary-in-wal", "inventory-only"}
"""Faults that change the world for good: a resume without them stops again, as safely."""
TAKEN_BY_FAULT = {
    "missing-backup": {"backups/2010-08-01/index.db.enc"},
    "extract-not-returned": {"extracts/E08000002-2010-07-15.csv"},
}


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch):
    """Crashes here are simulated inside the process, whose writes the page cache keeps anyway:
    flushing each journal line and overwrite pass to the disk proves nothing in these runs and
    makes hundreds of them slow on a shared disk, so os.fsync does nothing in this file."""
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def attempt(specimen: Specimen, evidence: Path, setup, faults, resume: bool) -> str:
    """One process's attempt; 'crashed' if a crash fault killed it, else the run's status."""
    try:
        outcome = rehearse(specimen.deployment, evidence, setup, faults=faults, resume=resume)
    except Crash:
        return "crashed"
    return outcome.status


def assert_safe(specimen: Specimen, evidence: Path, originals: set[str]) -> None:
    """Nothing destroyed before the archive validated; certificates only after verification."""
    passed = {event["step"] for event in journal.passed(journal.read(evidence / "journal.jsonl"))}
    run = json.loads((evidence / "run.json").read_text())
    if "certify" not in passed:
        assert not (evidence / "certificates").exists()
        assert run["certificates"] == []
    gone = originals - files(specimen.deployment)
    if gone:
        assert "archive" in passed and strict_problems(evidence / "archive") == []
    if run["status"] == "completed":
        public = (evidence / "verifier-public-key.txt").read_text().strip()
        assert verify_evidence(evidence, public, specimen.deployment) == []
        canaries = load_canaries(specimen.canaries_path)
        assert scan_tree(specimen.deployment, canary_needles(canaries)).hits == []
        assert files(specimen.deployment) == set()


def fault_then_resume(root: Path, faults: list[str], seed: int, new_setup) -> tuple[str, str]:
    """Run with `faults`, check safety, let any withheld extract come back, resume without them."""
    specimen = make_specimen(root / "deployment", children=20, seed=seed, canaries=2)
    evidence = root / "evidence"
    originals = files(specimen.deployment)
    for name in faults:
        originals -= TAKEN_BY_FAULT.get(name, set())
    first = attempt(specimen, evidence, new_setup(specimen, seed), faults, resume=False)
    assert_safe(specimen, evidence, originals)
    withheld = root / "deployment.withheld"
    for path in withheld.glob("*") if withheld.exists() else []:
        (specimen.deployment / "extracts").mkdir(parents=True, exist_ok=True)
        shutil.move(path, specimen.deployment / "extracts" / path.name)  # returned at last
    second = attempt(specimen, evidence, new_setup(specimen, seed + 1), [], resume=True)
    assert second != "crashed"
    assert_safe(specimen, evidence, originals)
    return first, second


@pytest.mark.parametrize(("seed", "name"), list(enumerate(fault_names(), start=1)))
def test_every_fault_at_its_step_then_resume(tmp_path, seed, name, new_setup):
    """Each fault (crash, full disk and stop faults at every step): safe at the fault, and the
    resume completes, or stops again as safely if the fault changed the world for good."""
    first, second = fault_then_resume(tmp_path, [name], seed, new_setup)
    fault = fault_named(name)
    expected_first = (
        "crashed" if name.startswith("crash") else "stopped" if fault.stops_at else "completed"
    )
    assert first == expected_first
    assert second == ("stopped" if name in STUCK else "completed")


def test_random_fault_combinations_then_resume(tmp_path, new_setup):
    """100 seeded runs with one to three faults at once, each resumed: never unsafe."""
    rng = random.Random(2010)
    names = fault_names()
    outcomes: dict[tuple[str, str], int] = {}
    for run in range(100):
        faults = rng.sample(names, rng.randint(1, 3))
        seed = rng.randint(1, 10_000)
        first, second = fault_then_resume(tmp_path / f"run{run}", faults, seed, new_setup)
        outcomes[first, second] = outcomes.get((first, second), 0) + 1
        shutil.rmtree(tmp_path / f"run{run}")
    assert outcomes.get(("crashed", "completed"), 0) > 0  # the loop exercised both kinds
    assert outcomes.get(("stopped", "stopped"), 0) > 0


def test_resume_of_a_completed_run_changes_nothing(specimen, tmp_path, digest_tree, new_setup):
    """A finished run resumed again writes nothing and returns the same certificates."""
    evidence = tmp_path / "evidence"
    first = rehearse(specimen.deployment, evidence, new_setup(specimen, 1))
    before = digest_tree(evidence), digest_tree(specimen.deployment)
    again = rehearse(specimen.deployment, evidence, new_setup(specimen, 2), resume=True)
    assert again.certificates == first.certificates and again.status == "completed"
    assert (digest_tree(evidence), digest_tree(specimen.deployment)) == before
    assert verify_evidence(evidence, public_key_hex(new_setup(specimen, 1).verifier_key)) == []
