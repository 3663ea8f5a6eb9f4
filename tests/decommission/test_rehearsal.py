"""The rehearsal end to end: gates hold, every fault stops safely, evidence re-verifies."""

import json

import pytest

from decommission.bagcheck import strict_problems
from decommission.certificate import public_key_hex, verify_certificate
from decommission.faults import FAULTS
from decommission.rehearsal import rehearse
from decommission.verification import canary_needles, load_canaries, scan_tree
from sim.errors import InputError

BEFORE_DESTRUCTION = {"announce", "inventory", "notify", "freeze", "switch_off", "archive"}


def test_full_rehearsal_completes_and_leaves_nothing(specimen, setup, tmp_path):
    """Every step goes; the deployment is empty; every canary is gone; certificates re-verify."""
    seen = []
    outcome = rehearse(
        specimen.deployment,
        tmp_path / "evidence",
        setup,
        progress=lambda step, status, message: seen.append((step, status)),
    )
    assert (outcome.status, outcome.stopped_at) == ("completed", None)
    assert list(specimen.deployment.iterdir()) == []
    canaries = load_canaries(specimen.canaries_path)
    assert scan_tree(specimen.deployment, canary_needles(canaries)).hits == []
    assert ("switch_off", "go") in seen and ("certify", "go") in seen
    evidence = outcome.evidence
    assert strict_problems(evidence / "archive") == []
    run = json.loads((evidence / "run.json").read_text())
    assert [s["step"] for s in run["steps"]][-1] == "duties_lapse"
    public = public_key_hex(setup.verifier_key)
    holders = json.loads((evidence / "steps/inventory.json").read_text())["holders"]
    assert "E08000002" in holders  # the holder of the extract the inventory did not list
    assert len(outcome.certificates) == len(holders) + 1  # one per holder, one for the deployment
    for name in outcome.certificates:
        signed = json.loads((evidence / name).read_text())
        assert verify_certificate(signed, public, evidence) == []
        assert verify_certificate(signed, public, specimen.deployment) == []
    last = json.loads((evidence / outcome.certificates[-1]).read_text())["certificate"]
    paths = {item["property_number"] for item in last["items"]}
    assert "extracts/E08000002-2010-07-15.csv" in paths and "index/index.db-wal" in paths
    assert last["date"] == "2010-10-01T09:00:00+01:00"


def test_tampered_evidence_fails_independent_check(specimen, setup, tmp_path):
    """Editing verification.json or an archive file after the run breaks the certificate check."""
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    evidence = outcome.evidence
    signed = json.loads((evidence / outcome.certificates[-1]).read_text())
    public = public_key_hex(setup.verifier_key)
    report = evidence / "verification.json"
    report.write_text(report.read_text().replace('"passed": true', '"passed": false'))
    assert "verification.json: digest does not match the certificate" in verify_certificate(
        signed, public, evidence
    )
    stats = evidence / "archive/data/statistics/aggregate.json"
    stats.write_bytes(stats.read_bytes() + b" ")
    assert any(p.startswith("archive:") for p in verify_certificate(signed, public, evidence))


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_stops_safely(specimen, setup, tmp_path, name, digest_tree):
    """Each fault stops at its gate; nothing is destroyed before the archive validates, and no
    certificate is issued unless the run completes (only unlisted-extract completes)."""
    before = digest_tree(specimen.deployment)
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup, faults=[name])
    fault = FAULTS[name]
    assert outcome.stopped_at == fault.stops_at
    run = json.loads((outcome.evidence / "run.json").read_text())
    assert run["status"] == ("completed" if fault.stops_at is None else "stopped")
    if fault.stops_at is None:
        assert outcome.certificates and list(specimen.deployment.iterdir()) == []
        return
    assert outcome.certificates == [] and not (outcome.evidence / "certificates").exists()
    assert run["reason"]
    if fault.stops_at in BEFORE_DESTRUCTION:
        after = digest_tree(specimen.deployment)
        removed_by_fault = (
            {"backups/2010-08-01/index.db.enc"} if name == "missing-backup" else set()
        )
        assert set(before) - set(after) == removed_by_fault
        assert all(after[path] == digest for path, digest in before.items() if path in after)


def test_unknown_fault_and_non_deployment_are_refused_before_writing(specimen, setup, tmp_path):
    """A misspelt fault or a directory without an inventory writes no evidence directory."""
    with pytest.raises(InputError, match="unknown"):
        rehearse(specimen.deployment, tmp_path / "evidence", setup, faults=["typo"])
    with pytest.raises(InputError, match="no inventory"):
        rehearse(tmp_path, tmp_path / "evidence", setup)
    assert not (tmp_path / "evidence").exists()


def test_verify_evidence_independently(specimen, setup, tmp_path):
    """verify_evidence passes a completed run, fails a removed certificate or a wrong key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from decommission.certificate import public_key_hex
    from decommission.evidence import verify_evidence

    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    public = public_key_hex(setup.verifier_key)
    assert verify_evidence(outcome.evidence, public, specimen.deployment) == []
    stranger = public_key_hex(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert verify_evidence(outcome.evidence, stranger)
    (outcome.evidence / outcome.certificates[1]).unlink()
    assert any("missing" in p for p in verify_evidence(outcome.evidence, public))


def test_verify_evidence_reports_a_stopped_run(specimen, setup, tmp_path):
    """A run stopped by a fault never verifies, whatever else is in its evidence."""
    from decommission.certificate import public_key_hex
    from decommission.evidence import verify_evidence

    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup, faults=["canary-in-wal"])
    problems = verify_evidence(outcome.evidence, public_key_hex(setup.verifier_key))
    assert any(p.startswith("run stopped at verify") for p in problems)
