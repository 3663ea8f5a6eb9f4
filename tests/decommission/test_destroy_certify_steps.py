"""The destroy and certify steps: their evidence, and each gate's refusal word for word."""

import datetime as dt
import json

import pytest

import decommission.destroy_steps as destroy_steps
from decommission.bagcheck import file_digest, strict_problems
from decommission.certificate import certificate_sha256, public_key_hex, verify_certificate
from decommission.destroy_steps import CertifyStep, DestroyStep
from decommission.rehearsal import rehearse
from decommission.standards import load_standards
from decommission.step import Context, NoGo


def context(tmp_path, files=(), state=None):
    deployment = tmp_path / "dep"
    deployment.mkdir(exist_ok=True)
    return Context(
        deployment, tmp_path / "evidence", dt.datetime(2010, 10, 1), lambda *a: None,
        results={"inventory": {"files": [{"kind": "authority-extract", **f} for f in files]}},
        state=state or {},
    )  # fmt: skip


def record(path, rows=None):
    return {"path": path, "rows_after_clear": rows}


def refusal(step, ctx, evidence):
    with pytest.raises(NoGo) as gate:
        step.verify(ctx, evidence)
    return gate.value.reason


def test_the_destroy_gate_passes_when_everything_recorded_is_gone(tmp_path):
    ctx = context(tmp_path, files=[{"path": "a.csv", "holder": "h", "file_class": "extract"}])
    evidence = {"records": [record("a.csv"), record("b.db", {"t": 0})]}
    assert DestroyStep("destroy").verify(ctx, evidence) is None


def test_the_destroy_gate_names_a_file_still_present(tmp_path):
    ctx = context(tmp_path)
    (ctx.deployment / "a.csv").write_text("left")
    evidence = {"records": [record("a.csv"), record("b.csv")]}
    assert refusal(DestroyStep("destroy"), ctx, evidence) == (
        "still present: ['a.csv']; rows left in: []"
    )


def test_the_destroy_gate_names_a_database_with_rows_left(tmp_path):
    ctx = context(tmp_path)
    evidence = {"records": [record("x.db", {"t": 0, "u": 2}), record("y.db", {"t": 0})]}
    assert refusal(DestroyStep("destroy"), ctx, evidence) == (
        "still present: []; rows left in: ['x.db']"
    )


def test_the_destroy_gate_names_a_copy_never_returned(tmp_path):
    """A file the inventory found that is gone with no destruction record was kept by its
    holder; files that come and go by themselves (sidecars, temporaries) are not counted."""
    files = [
        {"path": "e.csv", "holder": "E08000002", "file_class": "extract"},
        {"path": "f.csv", "holder": "E08000003", "file_class": "extract"},
        {"path": "i.db-wal", "holder": "host", "file_class": "sidecar"},
        {"path": "t.partial", "holder": "host", "file_class": "temp"},
        {"path": "done.csv", "holder": "host", "file_class": "extract"},
        {"path": "here.csv", "holder": "host", "file_class": "extract"},
    ]
    ctx = context(tmp_path, files=files)
    (ctx.deployment / "here.csv").write_text("present: the scan will destroy it")
    evidence = {"records": [record("done.csv")]}
    assert refusal(DestroyStep("destroy"), ctx, evidence) == (
        "copies never returned for destruction: e.csv (held by E08000002), "
        "f.csv (held by E08000003)"
    )


def test_nothing_is_destroyed_before_the_archive_validated(tmp_path):
    ctx = context(tmp_path)
    (ctx.deployment / "a.csv").write_text("kept")
    with pytest.raises(NoGo) as gate:
        DestroyStep("destroy").run(ctx)
    assert gate.value.reason == "the archive has not validated: nothing may be destroyed"
    assert (ctx.deployment / "a.csv").read_text() == "kept"


def public(setup):
    return public_key_hex(setup.verifier_key)


def test_a_completed_run_records_what_it_destroyed_and_certified(specimen, setup, tmp_path):
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    evidence = outcome.evidence
    destroy = json.loads((evidence / "steps/destroy.json").read_text())
    assert (destroy["overwrite_passes"], destroy["scope"]) == (1, "scan")
    paths = sorted(r["path"] for r in destroy["records"])
    assert "keys/keystore.json" in paths and "index/index.db-wal" in paths
    assert len(paths) == len(set(paths))
    notes = (evidence / "steps/destroy.journal.jsonl").read_text()
    events = [json.loads(line) for line in notes.splitlines()]
    assert notes.splitlines() == [json.dumps(e, sort_keys=True) for e in events]  # canonical
    assert notes.endswith("\n") and events[0] == {
        "erase": ["backup-2010-08-01", "backup-2010-08-05"]
    }
    assert sorted(e["done"]["path"] for e in events if "done" in e) == paths
    assert sorted(e["intent"]["path"] for e in events if "intent" in e) == paths
    certify = json.loads((evidence / "steps/certify.json").read_text())
    names = certify["certificates"]
    assert names == [f"certificates/{n:03d}.json" for n in range(1, len(names) + 1)]
    assert names == outcome.certificates
    assert certify["public_key"] == public(setup)
    published = [json.loads((evidence / name).read_text()) for name in names]
    assert certify["sha256"] == [certificate_sha256(c) for c in published]
    ids = [c["certificate"]["certificate_id"] for c in published]
    assert ids == [f"{specimen.deployment.name}/{n:03d}" for n in range(1, len(names) + 1)]
    last = published[-1]["certificate"]
    assert last["evidence"] == {
        "verification.json": file_digest(evidence / "verification.json", "sha256"),
        "steps/destroy.json": file_digest(evidence / "steps/destroy.json", "sha256"),
        "archive/tagmanifest-sha512.txt": file_digest(
            evidence / "archive/tagmanifest-sha512.txt", "sha512"
        ),
    }
    seal = file_digest(evidence / "archive/data/audit/seal.json", "sha256")
    assert published[0]["certificate"]["previous_certificate_sha256"] == seal
    assert last["classification_after"] == "no data remains"
    items = {item["property_number"]: item for item in last["items"]}
    assert set(items) == set(paths)
    assert {item["data_backed_up"] for item in items.values()} == {
        "kept items only: see archive/ (BagIt 1.0)"
    }
    marking = load_standards().classification_before.value
    assert {item["classification_before"] for item in items.values()} == {marking}
    assert not (evidence / CertifyStep.unchecked).exists()
    for signed in published:
        assert verify_certificate(signed, public(setup), evidence) == []


def test_certification_by_the_sanitizer_is_refused_at_its_gate(specimen, setup, tmp_path):
    setup.verifier = setup.sanitizer
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert (outcome.stopped_at, outcome.reason) == (
        "certify",
        "the verifier must not be the person who sanitized",
    )
    assert outcome.certificates == []
    assert not (outcome.evidence / "certificates").exists()


def test_a_certificate_that_does_not_recheck_is_never_published(
    specimen, setup, tmp_path, monkeypatch
):
    """The certify gate re-verifies each certificate against the evidence: evidence changed
    after signing stops the run there, with the certificate and the problem named."""
    run = CertifyStep.run

    def then_edit_the_evidence(self, ctx):
        produced = run(self, ctx)
        report = ctx.evidence / "verification.json"
        report.write_bytes(report.read_bytes() + b"\n")
        return produced

    monkeypatch.setattr(destroy_steps.CertifyStep, "run", then_edit_the_evidence)
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert (outcome.stopped_at, outcome.reason) == (
        "certify",
        "certificates/001.json: verification.json: digest does not match the certificate",
    )
    assert not (outcome.evidence / "certificates").exists()


def test_a_destruction_that_fails_stops_with_its_reason(specimen, setup, tmp_path):
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup, faults=["key-not-erased"])
    store = specimen.deployment / "keys/keystore.json"
    assert (outcome.stopped_at, outcome.reason) == (
        "destroy",
        "destruction failed: KeyNotErased: "
        f"{store}: key store refused to erase backup-2010-08-01, backup-2010-08-05",
    )


def test_an_archive_changed_before_destruction_stops_it(specimen, setup, tmp_path, monkeypatch):
    """The archive is re-validated by the destroy step itself: a payload changed after the
    archive's gate stops destruction before any file is touched."""
    run = DestroyStep.run

    def flip_then_destroy(self, ctx):
        target = ctx.evidence / "archive/data/statistics/aggregate.json"
        content = bytearray(target.read_bytes())
        content[3] ^= 1
        target.write_bytes(bytes(content))
        return run(self, ctx)

    monkeypatch.setattr(destroy_steps.DestroyStep, "run", flip_then_destroy)
    before = sorted(p.relative_to(specimen.deployment) for p in specimen.deployment.rglob("*"))
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    first = strict_problems(outcome.evidence / "archive")[0]
    assert "aggregate.json" in first
    assert (outcome.stopped_at, outcome.reason) == (
        "destroy",
        f"the archive no longer validates: {first}",
    )
    after = sorted(p.relative_to(specimen.deployment) for p in specimen.deployment.rglob("*"))
    assert after == before


def test_an_inventory_scoped_destruction_records_only_listed_files(specimen, setup, tmp_path):
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup, faults=["inventory-only"])
    destroy = json.loads((outcome.evidence / "steps/destroy.json").read_text())
    assert destroy["scope"] == "inventory"
    paths = {r["path"] for r in destroy["records"]}
    assert "extracts/E08000001-2010-07-01.csv" in paths
    assert "extracts/E08000002-2010-07-15.csv" not in paths  # not listed: left, and found
    assert outcome.stopped_at == "verify"


def test_encrypted_backups_with_no_key_store_listed_stop_destruction(specimen, setup, tmp_path):
    """An inventory that lists encrypted backups but no key store: destruction stops, naming
    why, before any file is touched (the backups could not be purged)."""
    inventory = specimen.deployment / "inventory.toml"
    blocks = inventory.read_text().split("[[stores]]")
    inventory.write_text("[[stores]]".join(b for b in blocks if 'kind = "key-store"' not in b))
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert (outcome.stopped_at, outcome.reason) == (
        "destroy",
        "destruction failed: KeyNotErased: encrypted stores but no key store in the inventory",
    )
    assert (specimen.deployment / "keys/keystore.json").exists()
