"""The verifier's signing key, pinned before the rehearsal and checked from outside the evidence.

A key read from the evidence folder proves only that the folder agrees with itself: whoever can
rewrite a certificate can re-sign it and drop a new public key beside it. So the certificates'
key is made (or given) before the run, its fingerprint printed to the operator and written to
the custodian's record, EVIDENCE.custodian-record.json, beside the evidence folder and never in
it (docs/decommissioning-standards.md 9.E.13: the verifier signs with its own key); `cpw
decommission verify` takes the key or its fingerprint from there, and refuses a key file inside
the folder it verifies. A resumed run signs with the same pinned key.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from decommission import atomic
from sim.errors import InputError

RECORD_SUFFIX = "custodian-record.json"
KEY_SUFFIX = "signing-key.pem"


def beside(evidence: Path, suffix: str) -> Path:
    """EVIDENCE.SUFFIX next to the evidence folder, outside it."""
    evidence = Path(evidence).absolute()
    return evidence.parent / f"{evidence.name}.{suffix}"


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public_key_hex: str) -> str:
    """sha256 of the Ed25519 public key's 32 raw bytes, in full: what the operator pins."""
    return "sha256:" + hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()


def pin_signing_key(
    evidence: Path, *, deployment: Path, custodian: str | None, now: dt.datetime
) -> tuple[Ed25519PrivateKey, list[Path]]:
    """The key that will sign this run's certificates: the one pinned beside the evidence folder
    if there is one (a resumed run), else a new one, pinned now. Returns the key and the files
    this call created (empty when the key was pinned before), so a refused run can remove them."""
    key_path, record_path = beside(evidence, KEY_SUFFIX), beside(evidence, RECORD_SUFFIX)
    if key_path.is_file():
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except ValueError:
            raise InputError(f"{key_path}: not a readable Ed25519 private key (PEM)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(f"{key_path}: the pinned signing key is not Ed25519")
        return key, []
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    atomic.replace_file(key_path, pem, private=True)
    record = {
        "evidence": str(Path(evidence).absolute()),
        "deployment": str(Path(deployment).absolute()),
        "verifier_public_key": public_hex(key),
        "verifier_key_fingerprint": fingerprint(public_hex(key)),
        "archive_custodian": custodian,
        "pinned_at": now.isoformat(timespec="seconds"),
        "how_to_verify": f"cpw decommission verify {Path(evidence).absolute()} "
        f"--public-key {record_path}",
    }
    atomic.replace_file(record_path, (json.dumps(record, indent=1) + "\n").encode())
    return key, [key_path, record_path]


def trusted_key(text: str, evidence: Path) -> str:
    """The verifier's public key (hex) from `--public-key`: 64 hex digits, a file of them, or
    the custodian's record; a file inside the evidence folder is refused."""
    path = Path(text)
    if not path.is_file():
        if path.suffix or "/" in text:
            raise InputError(f"--public-key: {text}: no such file")
        return _hex(text.strip(), "--public-key")
    if path.resolve().is_relative_to(Path(evidence).resolve()):
        raise InputError(
            f"--public-key: {path} is inside the evidence folder it would verify; give the key "
            f"pinned before the rehearsal ({beside(evidence, RECORD_SUFFIX).name}, "
            "the custodian's record) or its fingerprint"
        )
    content = path.read_text().strip()
    if content.startswith("{"):
        try:
            record: dict[str, Any] = json.loads(content)
            content = str(record["verifier_public_key"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: not a custodian's record (no verifier_public_key)") from None
    return _hex(content, str(path))


def key_for_fingerprint(pinned: str, signer_keys: list[str]) -> str:
    """The certificates' signer key if its fingerprint is the pinned one; else a clear error."""
    if not pinned.startswith("sha256:") or len(pinned) != len("sha256:") + 64:
        raise InputError("--fingerprint: give sha256: and 64 hex digits, as the run printed it")
    matching = [key for key in dict.fromkeys(signer_keys) if fingerprint(key) == pinned.lower()]
    return matching[0] if matching else ""


def _hex(value: str, where: str) -> str:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError:
        raise InputError(f"{where}: not an Ed25519 public key (64 hex digits)") from None
    return value.lower()
