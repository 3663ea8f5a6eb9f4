"""Handing the archive's keys to its custodian, never writing them down in the clear.

The held records and the audit log in the archive are encrypted under two AES-256 keys made for
the run (`ArchiveKeys`), held apart from the archive (DPA 1998 s7, s8(6); SI 2007/2182 holds).
They live only in the rehearsal's memory and leave it once: wrapped for the archive custodian's
X25519 public key (`--custodian-key`: an ephemeral X25519 agreement, HKDF-SHA256, AES-256-GCM,
as in ECIES) and bagged as data/keys/archive-keys.wrapped.json, so only the custodian's private
key opens the archive; with no custodian key the CLI prints them once, when the archive has
validated, and writes them nowhere (docs/decommissioning-standards.md 6.1: every key copy
accounted).
"""

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from decommission.archive import ArchiveKeys
from sim.errors import InputError

WRAPPED_FILE = "data/keys/archive-keys.wrapped.json"
SCHEME = "X25519-HKDF-SHA256-AES-256-GCM"
_INFO = b"contactpoint archive keys"


def custodian_key(text: str) -> X25519PublicKey:
    """The custodian's X25519 public key from 64 hex digits, or from a file holding them."""
    path = Path(text)
    value = path.read_text().strip() if path.is_file() else text.strip()
    try:
        return X25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError:
        raise InputError("--custodian-key: give an X25519 public key as 64 hex digits") from None


def raw_hex(key: X25519PublicKey | X25519PrivateKey) -> str:
    public = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _wrapping_key(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral, info=_INFO).derive(shared)


def wrap_keys(keys: ArchiveKeys, custodian: X25519PublicKey) -> dict[str, Any]:
    """Both archive keys encrypted for the custodian; the document holds no key in the clear."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = bytes.fromhex(raw_hex(ephemeral))
    wrapping = _wrapping_key(ephemeral.exchange(custodian), ephemeral_public)
    nonce = os.urandom(12)
    plaintext = json.dumps({"holds": keys.holds.hex(), "audit": keys.audit.hex()}).encode()
    return {
        "scheme": SCHEME,
        "custodian_public_key": raw_hex(custodian),
        "ephemeral_public_key": ephemeral_public.hex(),
        "nonce": nonce.hex(),
        "ciphertext": AESGCM(wrapping).encrypt(nonce, plaintext, _INFO).hex(),
    }


def unwrap_keys(document: dict[str, Any], custodian: X25519PrivateKey) -> ArchiveKeys:
    """The archive keys, for the custodian's private key only (InvalidTag for any other)."""
    ephemeral = bytes.fromhex(document["ephemeral_public_key"])
    shared = custodian.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    wrapping = _wrapping_key(shared, ephemeral)
    nonce, ciphertext = bytes.fromhex(document["nonce"]), bytes.fromhex(document["ciphertext"])
    keys = json.loads(AESGCM(wrapping).decrypt(nonce, ciphertext, _INFO))
    return ArchiveKeys(bytes.fromhex(keys["holds"]), bytes.fromhex(keys["audit"]))
