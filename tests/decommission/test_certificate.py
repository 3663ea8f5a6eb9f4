"""Certificates: Appendix G fields, canonical JSON, Ed25519, refusals, independent re-checks."""

import copy
import hashlib
import itertools
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.certificate import (
    Certificate,
    ResidueRemains,
    canonical,
    issue_certificates,
    verify_certificate,
)
from decommission.destruction import DestructionRecord

GOLDEN = Path(__file__).parent / "golden"
KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"golden certificate").digest())
PASSED = {
    "method": "full: every byte of every file, every pattern",
    "patterns": 312,
    "passed": True,
    "deployment": {"bytes": 0, "hits": []},
    "archive": {"bytes": 4096, "hits": []},
}
RECORDS = [
    DestructionRecord(
        "index/index.db",
        "live-index",
        "live-index",
        "Department for Education",
        "SQLite secure_delete DELETE + VACUUM, then overwrite",
        "clear",
        "decommission.destruction (test)",
        24576,
        "a" * 64,
        {"children": 0},
    ),
    DestructionRecord(
        "backups/2010-08-01/index.db.enc",
        "backup-2010-08-01",
        "backup",
        "Capgemini",
        "cryptographic erase, then overwrite",
        "purge",
        "decommission.destruction (test)",
        24604,
        "b" * 64,
        None,
        "backup-2010-08-01",
    ),
]


def issue(people, verification=PASSED, key=KEY):
    sanitizer, verifier = people
    return issue_certificates(
        RECORDS,
        verification,
        deployment="rehearsal-1",
        sanitizer=sanitizer,
        verifier=verifier,
        key=key,
        issued_at="2010-10-01T09:00:00+01:00",
        evidence={"verification.json": "c" * 64},
        chain_start="d" * 64,
        classification="RESTRICTED",
        backed_up="kept items only",
    )


def test_golden_certificate(people):
    """With a fixed key and fixed times, the deployment certificate equals the golden file
    (CPW_UPDATE_GOLDEN=1 rewrites it)."""
    certificates = issue(people)
    text = json.dumps(certificates[-1], indent=1, sort_keys=True) + "\n"
    if os.environ.get("CPW_UPDATE_GOLDEN"):
        (GOLDEN / "certificate-deployment.json").write_text(text)
    assert text == (GOLDEN / "certificate-deployment.json").read_text()


def test_one_certificate_per_holder_plus_deployment_chained(people):
    """Two holders give three certificates; each names the digest of the one before."""
    certificates = issue(people)
    holders = [c["certificate"]["holder"] for c in certificates]
    assert holders == ["Capgemini", "Department for Education", "all holders (deployment)"]
    assert certificates[0]["certificate"]["previous_certificate_sha256"] == "d" * 64
    for before, after in itertools.pairwise(certificates):
        digest = hashlib.sha256(canonical(before)).hexdigest()
        assert after["certificate"]["previous_certificate_sha256"] == digest


def test_appendix_g_fields_are_required(people):
    """Removing any field (e.g. the validation block) makes it no longer a certificate."""
    body = issue(people)[0]["certificate"]
    for field in ("person_performing_sanitization", "validation", "verification_method", "items"):
        broken = {k: v for k, v in body.items() if k != field}
        with pytest.raises(ValueError, match=field):
            Certificate.model_validate(broken)


def test_signature_verifies_and_any_edit_breaks_it(people):
    """The issued certificate verifies; changing one item's method does not."""
    signed = issue(people)[-1]
    assert verify_certificate(signed, KEY.public_key()) == []
    forged = copy.deepcopy(signed)
    forged["certificate"]["items"][1]["method_type"] = "purge"
    assert verify_certificate(forged, KEY.public_key()) == [
        "signature does not verify with the given public key"
    ]


def test_signature_by_another_key_is_refused(people):
    """A certificate signed by someone else's key fails against the verifier's public key."""
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    signed = issue(people, key=other)[-1]
    assert verify_certificate(signed, KEY.public_key())


def test_no_certificate_while_residue_remains(people):
    """A failed verification means no certificate at all."""
    with pytest.raises(ResidueRemains, match="residue"):
        issue(people, verification={**PASSED, "passed": False})


def test_verifier_must_be_independent(people):
    """The sanitizer cannot validate their own work (SP 800-88 4.7)."""
    sanitizer, _ = people
    with pytest.raises(ResidueRemains, match="verifier"):
        issue((sanitizer, sanitizer))


def test_recheck_against_deployment_finds_leftovers(people, tmp_path):
    """Given the deployment, a listed item still present and a stray WAL are both reported."""
    signed = issue(people)[-1]
    (tmp_path / "index").mkdir()
    (tmp_path / "index/index.db").write_bytes(b"left")
    (tmp_path / "index/index.db-wal").write_bytes(b"wal")
    problems = verify_certificate(signed, KEY.public_key(), tmp_path)
    assert "index/index.db: still present" in problems
    assert any("index.db-wal" in p for p in problems)
    assert verify_certificate(signed, KEY.public_key(), tmp_path / "empty") == []
