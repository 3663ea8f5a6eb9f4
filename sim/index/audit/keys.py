"""The audit signing key: an Ed25519 key pair, the private half in a key-store file.

The key store is one of the deployment's named stores (docs/architecture.md, "A deployment"):
whoever holds it can sign checkpoints, so it is written owner-only and never overwritten, and
decommissioning must destroy it. The public key is what an independent verifier needs.
"""

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sim.errors import InputError
from sim.outputs import write_private

PublicKeyLike = Ed25519PublicKey | bytes | str


def create_key_store(path: Path, seed: bytes | None = None) -> Ed25519PublicKey:
    """Write a new signing key to `path` (mode 0600) and return its public key.

    `seed` (32 bytes) makes the key reproducible for rehearsals; without it the key comes from
    the operating system's random source, as a live deployment's must.
    """
    path = Path(path)
    key = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem, "key store (a signing key)")
    return key.public_key()


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key held in a key store file."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable key store ({exc.__class__.__name__})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: key store does not hold an Ed25519 key")
    return key


def public_key_hex(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The 32-byte raw public key as hex: short enough to print in a report or a certificate."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def as_public_key(key: PublicKeyLike) -> Ed25519PublicKey:
    """Accept a public key object, its 32 raw bytes, or their hex."""
    if isinstance(key, Ed25519PublicKey):
        return key
    raw = bytes.fromhex(key) if isinstance(key, str) else key
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(key: PublicKeyLike | Ed25519PrivateKey) -> str:
    """`sha256:<hex>` of the raw public key: what `cpw deploy` shows the operator to pin."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else as_public_key(key)
    return "sha256:" + hashlib.sha256(bytes.fromhex(public_key_hex(public))).hexdigest()


def pinned_public_key(key_text: str, from_file: bool, fingerprint: str | None) -> str:
    """The public key (hex) a verifier may trust: typed by the operator, or read from a file
    only when it matches the fingerprint pinned at deploy time (a key found beside the log is
    never trusted on its own: whoever rewrote the log could have replaced it)."""
    try:
        as_public_key(key_text)
    except ValueError:
        raise InputError("--public-key: not an Ed25519 public key (64 hex digits)") from None
    if fingerprint is None and from_file:
        raise InputError(
            "--fingerprint: required when the public key is read from a file "
            "(give the fingerprint `cpw deploy` showed, or the key itself)"
        )
    if fingerprint is not None and fingerprint.strip().lower() != key_fingerprint(key_text):
        raise InputError("--public-key: does not match the pinned --fingerprint")
    return key_text
