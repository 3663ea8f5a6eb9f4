"""verify_certificate and issue_certificates at every refusal: each field tampered in turn, each
wrong signature, each residue left beside a destroyed deployment, each evidence file changed."""

import base64
import copy
import hashlib
import json
import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.bagcheck import strict_problems
from decommission.certificate import (
    Certificate,
    ResidueRemains,
    canonical,
    certificate_sha256,
    issue_certificates,
    public_key_hex,
    sign,
    verify_certificate,
)
from decommission.destruction import DestructionRecord
from decommission.rehearsal import Rehearsal, rehearse
from decommission.specimen import make_specimen
from tests.decommission.conftest import OPERATOR, VERIFIER, FakeIndex

KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"certificate checks").digest())
PUBLIC = public_key_hex(KEY)
PASSED = {
    "method": "full",
    "patterns": 3,
    "passed": True,
    "deployment": {"bytes": 10},
    "archive": {"bytes": 20},
}
RECORD = DestructionRecord(
    "extracts/a.csv", None, "authority-extract", "E08000001", "overwrite", "clear", "tool", 5,
    "e" * 64, None, None,
)  # fmt: skip
NOT_SIGNED = "signature does not verify with the given public key"


def issue(verification=PASSED, sanitizer=OPERATOR, verifier=VERIFIER, records=(RECORD,)):
    return issue_certificates(
        list(records),
        verification,
        deployment="dep",
        sanitizer=sanitizer,
        verifier=verifier,
        key=KEY,
        issued_at="2010-10-01T09:00:00+01:00",
        evidence={"verification.json": "c" * 64},
        chain_start="d" * 64,
        classification="RESTRICTED",
        backed_up="kept items only",
    )


def test_canonical_form_is_sorted_compact_utf8():
    """Sorted keys, no spaces, UTF-8 without escapes: the bytes that are signed."""
    assert canonical({"b": 1, "a": ["Zoë", None]}) == '{"a":["Zoë",null],"b":1}'.encode()


def test_a_certificate_with_a_non_ascii_name_signs_its_utf8_bytes():
    """The signature is over the UTF-8 canonical body: a name with an accent verifies."""
    person = OPERATOR.model_copy(update={"name": "Zoë Ó Súilleabháin"})
    signed = issue(sanitizer=person)[0]
    body = signed["certificate"]
    assert body["person_performing_sanitization"]["name"] == "Zoë Ó Súilleabháin"
    value = base64.b64decode(signed["signature"]["value"])
    KEY.public_key().verify(value, json.dumps(body, sort_keys=True, separators=(",", ":"),
                                              ensure_ascii=False).encode())  # fmt: skip
    assert verify_certificate(signed, PUBLIC) == []


def test_refusals_say_why_exactly():
    with pytest.raises(ResidueRemains) as residue:
        issue(verification={**PASSED, "passed": False})
    assert str(residue.value) == "verification found residue: no certificate may be issued"
    with pytest.raises(ResidueRemains) as same:
        issue(verifier=OPERATOR)
    assert str(same.value) == "the verifier must not be the person who sanitized"
    with pytest.raises(ResidueRemains):
        issue(verification={key: v for key, v in PASSED.items() if key != "passed"})


def test_the_chain_and_the_digest_of_each_certificate():
    """One holder: its certificate, then the deployment's, which names the first one's digest."""
    first, deployment = issue()
    ids = [first["certificate"]["certificate_id"], deployment["certificate"]["certificate_id"]]
    assert ids == ["dep/001", "dep/002"]
    assert certificate_sha256(first) == hashlib.sha256(canonical(first)).hexdigest()
    assert deployment["certificate"]["previous_certificate_sha256"] == certificate_sha256(first)
    assert first["signature"]["algorithm"] == "Ed25519"
    assert first["signature"]["public_key"] == PUBLIC


def leaves(document, path=()):
    """Every (path, value) of a JSON document's scalars."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*path, index))
    else:
        yield path, document


def changed(value):
    if isinstance(value, bool) or value is None:
        return "tampered"
    return value + 1 if isinstance(value, int) else f"{value}x"


SIGNED = issue(records=(RECORD, DestructionRecord(**{**RECORD.__dict__, "rows_after_clear": {
    "t": 0}, "key_id": "k", "path": "index/index.db"})))[-1]  # fmt: skip
FIELDS = list(leaves(SIGNED["certificate"]))


@pytest.mark.parametrize(("where", "value"), FIELDS, ids=[".".join(map(str, p)) for p, _ in FIELDS])
def test_each_field_tampered_in_turn_breaks_the_signature(where, value):
    forged = copy.deepcopy(SIGNED)
    target = forged["certificate"]
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = changed(value)
    problems = verify_certificate(forged, PUBLIC)
    assert problems[0] == NOT_SIGNED


def test_wrong_signatures_are_refused_each_way():
    assert verify_certificate(SIGNED, PUBLIC) == []
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    assert verify_certificate(SIGNED, public_key_hex(other)) == [NOT_SIGNED]
    resigned = sign(Certificate(**SIGNED["certificate"]), other)
    assert verify_certificate(resigned, KEY.public_key()) == [NOT_SIGNED]
    value = SIGNED["signature"]["value"]
    for bad in (value[:-4], "!" + value, value[:10] + "\n" + value[10:], "", 7, None):
        forged = copy.deepcopy(SIGNED)
        forged["signature"]["value"] = bad
        assert verify_certificate(forged, PUBLIC) == [NOT_SIGNED], repr(bad)
    unsigned = {"certificate": SIGNED["certificate"]}
    assert verify_certificate(unsigned, PUBLIC) == [NOT_SIGNED]


def test_a_body_that_is_not_a_certificate_is_named():
    body = {k: v for k, v in SIGNED["certificate"].items() if k != "validation"}
    assert verify_certificate(sign_raw(body), PUBLIC) == [
        "not a certificate: 1 validation error for Certificate"
    ]
    assert verify_certificate({"signature": SIGNED["signature"]}, PUBLIC) == [
        NOT_SIGNED,
        "not a certificate: 1 validation error for Certificate",
    ]


def sign_raw(body):
    value = base64.b64encode(KEY.sign(canonical(body))).decode()
    return {"certificate": body, "signature": {"algorithm": "Ed25519", "value": value}}


def test_a_certificate_validated_by_its_sanitizer_is_refused_even_when_signed():
    body = {**SIGNED["certificate"], "validation": OPERATOR.model_dump()}
    assert verify_certificate(sign_raw(body), PUBLIC) == ["validated by the person who sanitized"]


@pytest.fixture(scope="module")
def completed(tmp_path_factory):
    """A completed rehearsal of a small specimen: (deployment, evidence, public key, canaries)."""
    root = tmp_path_factory.mktemp("completed")
    specimen = make_specimen(root / "deployment", children=60, seed=5)
    index = FakeIndex()
    setup = Rehearsal(
        index=index, probes=index.probes(), sanitizer=OPERATOR, verifier=VERIFIER,
        verifier_key=KEY, sample_identifiers=specimen.child_ids[:3],
    )  # fmt: skip
    outcome = rehearse(specimen.deployment, root / "evidence", setup)
    assert outcome.status == "completed", outcome.reason
    canaries = json.loads(specimen.canaries_path.read_text())
    return specimen.deployment, outcome.evidence, outcome.certificates, canaries


def copied(completed, tmp_path):
    """A private copy of the evidence and of the (empty) deployment with its canaries beside."""
    deployment, evidence, names, _ = completed
    shutil.copytree(evidence, tmp_path / "evidence")
    (tmp_path / "dep").mkdir()
    canaries = deployment.parent / f"{deployment.name}.canaries.json"
    shutil.copy2(canaries, tmp_path / "dep.canaries.json")
    signed = [json.loads((tmp_path / "evidence" / name).read_text()) for name in names]
    return tmp_path / "dep", tmp_path / "evidence", signed


def test_the_completed_run_rechecks_clean(completed, tmp_path):
    deployment, evidence, signed = copied(completed, tmp_path)
    for certificate in signed:
        assert verify_certificate(certificate, PUBLIC, evidence) == []
        assert verify_certificate(certificate, PUBLIC, deployment) == []


def test_each_evidence_file_changed_is_named_once(completed, tmp_path):
    """Every evidence digest is re-checked, and a changed archive payload is reported once, by
    the archive's own manifests, beside any digest that no longer matches."""
    _, evidence, signed = copied(completed, tmp_path)
    certificate = signed[-1]
    for name in ("verification.json", "steps/destroy.json"):
        path = evidence / name
        path.write_bytes(path.read_bytes() + b" ")
    payload = evidence / "archive/data/statistics/aggregate.json"
    content = bytearray(payload.read_bytes())
    content[5] ^= 1
    payload.write_bytes(bytes(content))
    archive = [f"archive: {p}" for p in strict_problems(evidence / "archive")]
    assert archive and all("aggregate.json" in p or "Bag validation" in p for p in archive)
    assert verify_certificate(certificate, PUBLIC, evidence) == [
        "steps/destroy.json: digest does not match the certificate",  # in the evidence's order
        "verification.json: digest does not match the certificate",
        *archive,
    ]


def test_a_changed_tag_manifest_is_named(completed, tmp_path):
    _, evidence, signed = copied(completed, tmp_path)
    tags = evidence / "archive/tagmanifest-sha512.txt"
    tags.write_bytes(tags.read_bytes() + b"\n")
    problems = verify_certificate(signed[-1], PUBLIC, evidence)
    assert "archive/tagmanifest-sha512.txt: digest does not match the certificate" in problems
    tags.unlink()
    problems = verify_certificate(signed[-1], PUBLIC, evidence)
    assert "archive/tagmanifest-sha512.txt: digest does not match the certificate" in problems


def test_each_residue_beside_the_destroyed_deployment_is_named(completed, tmp_path):
    """An item still present, a stray WAL and a canary in an unlisted file are all reported,
    each with where it is (and the canary by label and offset, never by value)."""
    deployment, _, signed = copied(completed, tmp_path)
    _, _, _, canaries = completed
    (deployment / "extracts").mkdir()
    (deployment / "extracts/E08000001-2010-07-01.csv").write_bytes(b"kept")
    (deployment / "stray.db-wal").write_bytes(b"frames")
    (deployment / "notes.txt").write_bytes(b"seen: " + canaries[0]["child_id"].encode())
    problems = verify_certificate(signed[-1], PUBLIC, deployment)
    assert problems == [
        "extracts/E08000001-2010-07-01.csv: still present",
        "stray.db-wal: database sidecar or temp file",
        "notes.txt: canary 0 child_id [utf-8] at byte 6",
    ]


def test_a_canary_alone_is_residue(completed, tmp_path):
    deployment, _, signed = copied(completed, tmp_path)
    _, _, _, canaries = completed
    surname = canaries[1]["surname"].encode("utf-16-le")
    (deployment / "notes.txt").write_bytes(b"ab" + surname)
    assert verify_certificate(signed[-1], PUBLIC, deployment) == [
        "notes.txt: canary 1 surname [utf-16-le] at byte 2"
    ]


def test_an_evidence_digest_of_no_known_length_does_not_match(tmp_path):
    """A digest that is neither SHA-256 nor SHA-512 (by length) can never be re-checked."""
    (tmp_path / "verification.json").write_text("{}")
    body = {**SIGNED["certificate"], "evidence": {"verification.json": "c" * 63}}
    assert verify_certificate(sign_raw(body), PUBLIC, tmp_path) == [
        "verification.json: digest does not match the certificate"
    ]


def test_a_forged_certificate_reports_its_signature_and_its_residue(completed, tmp_path):
    """A bad signature and an item still present are both reported: neither hides the other."""
    deployment, _, signed = copied(completed, tmp_path)
    forged = copy.deepcopy(signed[-1])
    forged["certificate"]["validation"] = forged["certificate"]["person_performing_sanitization"]
    (deployment / "keys").mkdir()
    (deployment / "keys/keystore.json").write_text("{}")
    assert verify_certificate(forged, PUBLIC, deployment) == [
        NOT_SIGNED,
        "validated by the person who sanitized",
        "keys/keystore.json: still present",
    ]
