"""Certificates of sanitization: NIST SP 800-88 Rev. 1 section 4.8 / Appendix G, signed.

One certificate per holder of a copy and one for the deployment. Each carries the Appendix G
blocks (person performing sanitization, media information, sanitization details, media
destination, validation by a different person) for every logical item destroyed, the digests of
the evidence it rests on, and the digest of the certificate before it, so the set forms a chain
from the audit log's final checkpoint (docs/decommissioning-standards.md 1.5, 1.6, 9.F). The body is
canonical JSON (sorted keys, no spaces, UTF-8) signed with Ed25519. No certificate is issued
while verification reports any residue, or when the verifier is the person who sanitized.
`verify_certificate` re-checks the signature and whatever it can re-run from the evidence or the
deployment it is given, sharing no state with the run that issued it.
"""

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from decommission.bagcheck import HEX_LENGTH, file_digest, strict_problems
from decommission.destruction import DestructionRecord
from decommission.verification import (
    canaries_path,
    canary_needles,
    load_canaries,
    residue_files,
    scan_tree,
)
from sim.errors import WorkbenchError

ATTESTATION = (
    "I attest that the information in this certificate is accurate and that the items listed "
    "were sanitized as described and verified by the person named in the validation block."
)

ALGORITHM_OF_LENGTH = {length: alg for alg, length in HEX_LENGTH.items()}
"""An evidence digest's algorithm, told by its length in hex digits."""


class ResidueRemains(WorkbenchError):
    """Refusal to certify: verification did not pass, or was not independent."""


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    organization: str
    location: str
    phone: str


class MediaItem(BaseModel):
    """Media information and sanitization details for one logical item (file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    property_number: str
    media_type: str
    media_source: str
    size_bytes: int
    sha256_before: str
    classification_before: str
    data_backed_up: str
    method_type: str
    method_used: str
    tool: str
    rows_after_clear: dict[str, int] | None
    key_id: str | None


class Certificate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate_id: str
    deployment: str
    holder: str
    person_performing_sanitization: Person
    items: list[MediaItem]
    verification_method: str
    verification_result: str
    classification_after: str
    media_destination: str
    date: str
    location: str
    attestation: str
    validation: Person
    validation_date: str
    evidence: dict[str, str]
    previous_certificate_sha256: str


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(certificate: Certificate, key: Ed25519PrivateKey) -> dict[str, Any]:
    body = certificate.model_dump()  # every field is a JSON type already
    value = base64.b64encode(key.sign(canonical(body))).decode()
    return {
        "certificate": body,
        "signature": {"algorithm": "Ed25519", "public_key": public_key_hex(key), "value": value},
    }


def certificate_sha256(signed: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(signed)).hexdigest()


def issue_certificates(
    records: Sequence[DestructionRecord],
    verification: dict[str, Any],
    *,
    deployment: str,
    sanitizer: Person,
    verifier: Person,
    key: Ed25519PrivateKey,
    issued_at: str,
    evidence: dict[str, str],
    chain_start: str,
    classification: str,
    backed_up: str,
) -> list[dict[str, Any]]:
    """One signed certificate per holder, then one for the deployment, chained in that order."""
    if not verification.get("passed"):
        raise ResidueRemains("verification found residue: no certificate may be issued")
    if sanitizer.name == verifier.name:
        raise ResidueRemains("the verifier must not be the person who sanitized")
    by_holder: dict[str, list[MediaItem]] = {}
    for record in records:
        by_holder.setdefault(record.holder, []).append(_item(record, classification, backed_up))
    groups = [(holder, by_holder[holder]) for holder in sorted(by_holder)]
    groups.append(("all holders (deployment)", [i for _, items in groups for i in items]))
    signed: list[dict[str, Any]] = []
    previous = chain_start
    for number, (holder, items) in enumerate(groups, start=1):
        certificate = Certificate(
            certificate_id=f"{deployment}/{number:03d}",
            deployment=deployment,
            holder=holder,
            person_performing_sanitization=sanitizer,
            items=items,
            verification_method=str(verification["method"]),
            verification_result=(
                f"passed: {verification['patterns']} patterns, "
                f"{verification['deployment']['bytes']} bytes in the deployment and "
                f"{verification['archive']['bytes']} in the archive, 0 hits, 0 residue files"
            ),
            classification_after="no data remains",
            media_destination="logical items removed; host media stay in service (see method)",
            date=issued_at,
            location=sanitizer.location,
            attestation=ATTESTATION,
            validation=verifier,
            validation_date=issued_at,
            evidence=evidence,
            previous_certificate_sha256=previous,
        )
        signed.append(sign(certificate, key))
        previous = certificate_sha256(signed[-1])
    return signed


def _item(record: DestructionRecord, classification: str, backed_up: str) -> MediaItem:
    return MediaItem(
        property_number=record.path,
        media_type=f"logical {record.kind} file",
        media_source=record.holder,
        size_bytes=record.size,
        sha256_before=record.sha256_before,
        classification_before=classification,
        data_backed_up=backed_up,
        method_type=record.sanitization,
        method_used=record.method,
        tool=record.tool,
        rows_after_clear=record.rows_after_clear,
        key_id=record.key_id,
    )


def verify_certificate(
    signed: dict[str, Any], public_key: Ed25519PublicKey | str, directory: Path | None = None
) -> list[str]:
    """Problems with a certificate (empty if it holds): signature, schema, and re-checks.

    `directory` may be the evidence directory (evidence digests and the archive are re-checked)
    or the deployment (every item must be gone, and no residue may remain).
    """
    if isinstance(public_key, str):
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
    problems = []
    try:
        value = base64.b64decode(signed["signature"]["value"], validate=True)
        public_key.verify(value, canonical(signed["certificate"]))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        problems.append("signature does not verify with the given public key")
    try:
        certificate = Certificate.model_validate(signed.get("certificate"))
    except ValidationError as exc:
        return [*problems, f"not a certificate: {str(exc).splitlines()[0]}"]
    if certificate.validation.name == certificate.person_performing_sanitization.name:
        problems.append("validated by the person who sanitized")
    if directory is not None:
        problems += _recheck(certificate, Path(directory))
    return problems


def _recheck(certificate: Certificate, directory: Path) -> list[str]:
    if (directory / "verification.json").exists():  # an evidence directory
        problems = [
            f"{name}: digest does not match the certificate"
            for name, digest in certificate.evidence.items()
            if not _digest_matches(directory / name, digest)
        ]
        if "archive/tagmanifest-sha512.txt" in certificate.evidence:
            problems += [f"archive: {p}" for p in strict_problems(directory / "archive")]
        return problems
    problems = [
        f"{item.property_number}: still present"
        for item in certificate.items
        if (directory / item.property_number).exists()
    ]
    problems += [f"{r['path']}: {r['residue']}" for r in residue_files(directory)]
    beside = canaries_path(directory)
    if beside.exists():
        hits = scan_tree(directory, canary_needles(load_canaries(beside))).hits
        problems += [f"{hit['path']}: {hit['pattern']} at byte {hit['offset']}" for hit in hits]
    return problems


def _digest_matches(path: Path, digest: str) -> bool:
    alg = ALGORITHM_OF_LENGTH.get(len(digest))
    return alg is not None and path.is_file() and file_digest(path, alg) == digest
