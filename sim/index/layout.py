"""Where each store of a deployment lives, its key store, its inventory (docs/index-design.md 13).

The key store is JSON: the audit signing key (Ed25519, PEM) and one AES-256 data key per backup
generation, each under its key_id. It is written owner-only; whoever holds it can sign audit
checkpoints and read every backup, so decommissioning must destroy it last
(docs/decommissioning-standards.md 1.3 and 6.1: crypto-erase is only as good as the destruction of
the key).
"""

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.errors import InputError
from sim.outputs import write_private

AUDIT_KEY_ID = "audit-signing"
TOKEN_KEY_ID = "token-register"
STORE_KINDS = (
    "live-index",
    "dr-replica",
    "backup",
    "authority-extract",
    "audit-log",
    "key-store",
    "token-register",
    "accounts",
    "subject-access-requests",
    "child-protection-holds",
    "database-server",
    "streaming-replica",
    "wal-archive",
)


@dataclass(frozen=True)
class Layout:
    """The fixed paths inside a deployment directory."""

    root: Path

    @property
    def index(self) -> Path:
        return self.root / "index" / "index.db"

    @property
    def replica(self) -> Path:
        return self.root / "replica" / "index.db"

    @property
    def audit(self) -> Path:
        return self.root / "audit" / "audit.jsonl"

    @property
    def keystore(self) -> Path:
        return self.root / "keys" / "keystore.json"

    @property
    def accounts(self) -> Path:
        return self.root / "accounts" / "accounts.db"

    @property
    def sar(self) -> Path:
        return self.root / "sar" / "requests.jsonl"

    @property
    def holds(self) -> Path:
        return self.root / "holds" / "holds.jsonl"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.toml"

    def beside(self, suffix: str) -> Path:
        """A file next to the deployment, outside its tree (canaries, credentials, public key)."""
        return self.root.parent / f"{self.root.name}.{suffix}"


@dataclass(frozen=True)
class StoreEntry:
    """One line of the inventory: a store, who holds it and whether it is encrypted."""

    name: str
    kind: str
    path: str
    holder: str
    description: str
    encrypted: bool = False
    key_id: str | None = None
    database: str | None = None
    """A database on the server whose data directory is `path` (a PostgreSQL deployment's index
    and accounts): its rows live in that directory's files, which the server entry lists."""


def write_keystore(
    path: Path,
    audit_key: Ed25519PrivateKey,
    data_keys: dict[str, bytes],
    token_key: bytes | None = None,
) -> None:
    pem = audit_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    keys = {AUDIT_KEY_ID: {"purpose": "audit checkpoint signing (Ed25519)", "pem": pem}}
    for key_id, key in data_keys.items():
        keys[key_id] = {"purpose": "backup data key (AES-256-GCM)", "hex": key.hex()}
    if token_key is not None:
        keys[TOKEN_KEY_ID] = {"purpose": "token register key (AES-256-GCM)", "hex": token_key.hex()}
    write_private(path, json.dumps({"keys": keys}, indent=2) + "\n")


def _keys(path: Path) -> dict:
    try:
        return json.loads(path.read_text())["keys"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a readable key store") from None


def audit_signing_key(path: Path) -> Ed25519PrivateKey:
    """The audit signing key held in a deployment's key store."""
    entry = _keys(path).get(AUDIT_KEY_ID)
    try:
        key = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
    except (TypeError, KeyError, ValueError):
        raise InputError(f"{path}: no audit signing key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: the audit signing key is not Ed25519")
    return key


def token_key(path: Path) -> bytes:
    """The key that seals the token register's secrets (AES-256-GCM)."""
    entry = _keys(path).get(TOKEN_KEY_ID)
    if not entry or "hex" not in entry:
        raise InputError(f"{path}: no token register key (a deployment made before it: redeploy)")
    return bytes.fromhex(entry["hex"])


def data_key(path: Path, key_id: str) -> bytes:
    """A backup data key by its key_id."""
    entry = _keys(path).get(key_id)
    if not entry or "hex" not in entry:
        raise InputError(f"{path}: no data key {key_id!r}")
    return bytes.fromhex(entry["hex"])


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def inventory_text(header: dict[str, object], stores: list[StoreEntry]) -> str:
    """inventory.toml: top-level facts, then one [[stores]] table per store."""
    unknown = sorted({s.kind for s in stores} - set(STORE_KINDS))
    if unknown:
        raise ValueError(f"unknown store kinds {unknown}")
    lines = ["# Every store of this deployment (docs/index-design.md). Made by `cpw deploy`.", ""]
    lines += [f"{key} = {_toml(value)}" for key, value in header.items()]
    for store in stores:
        lines += ["", "[[stores]]"]
        for key, value in vars(store).items():
            if value is not None:
                lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


# -- which backend holds the index and accounts (backend.toml; none: SQLite files) ---------


@dataclass(frozen=True)
class Backend:
    """Where a deployment's index and accounts live: files (Path) or databases (conninfo)."""

    name: str
    index: Path | str
    accounts: Path | str


def backend_file(layout: Layout) -> Path:
    return layout.root / "backend.toml"


def read_backend(layout: Layout) -> Backend:
    """The deployment's backend: SQLite files unless backend.toml names PostgreSQL databases."""
    path = backend_file(layout)
    if not path.is_file():
        return Backend("sqlite", layout.index, layout.accounts)
    try:
        raw = tomllib.loads(path.read_text())
        name, index, accounts = raw["backend"], raw["index"], raw["accounts"]
    except (OSError, ValueError, KeyError):
        raise InputError(f"{path}: not a readable backend record") from None
    if name != "postgres" or not isinstance(index, str) or not isinstance(accounts, str):
        raise InputError(f"{path}: backend must be 'postgres' with index and accounts conninfo")
    if "password" in index or "password" in accounts:
        raise InputError(f"{path}: a conninfo must not hold a password (use the unix socket)")
    return Backend(name, _anchored(index, layout.root), _anchored(accounts, layout.root))


def _anchored(conninfo: str, root: Path) -> str:
    """A conninfo whose `host=` is a relative socket directory made absolute under the
    deployment, so a deployment moved or copied whole still reaches its own server."""
    words = conninfo.split()
    for number, word in enumerate(words):
        key, _, value = word.partition("=")
        if key == "host" and value and not value.startswith(("/", "'", "@")) and "/" in value:
            absolute = str(Path(root).resolve() / value)
            quoted = absolute.replace("\\", "\\\\").replace("'", "\\'")
            words[number] = f"host='{quoted}'"
    return " ".join(words)


def write_backend(layout: Layout, index: str, accounts: str) -> Path:
    """Record that the deployment's index and accounts are the PostgreSQL databases named."""
    for conninfo in (index, accounts):
        if "password" in conninfo:
            raise InputError("a conninfo must not hold a password (use the unix socket)")
    path = backend_file(layout)
    lines = ['backend = "postgres"', f"index = {_quoted(index)}", f"accounts = {_quoted(accounts)}"]
    write_private(path, "\n".join(lines) + "\n")
    return path


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
