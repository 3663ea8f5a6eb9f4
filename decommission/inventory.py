"""What the deployment says it holds (inventory.toml) and what is really there (a full scan).

Decommissioning works from both: the inventory names stores and holders, the scan finds every
file, listed or not. In real life copies escape inventories (extracts made by management teams,
WAL and journal files beside a database, temp files left by VACUUM), so anything the scan finds
and the inventory does not list is classified and destroyed with the rest
(docs/decommissioning-standards.md 5.4 item 1; 9.A.1).
"""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from sim.errors import InputError
from sim.index.layout import STORE_KINDS

INVENTORY_FILE = "inventory.toml"
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")
TEMP_PREFIXES = ("etilqs_",)
TEMP_SUFFIXES = (".tmp", "~", ".partial", ".bak")

FileClass = Literal["inventory", "store", "sidecar", "temp", "unlisted-extract", "unlisted"]


class Store(BaseModel):
    """One place data lives, as the inventory lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: str
    path: str
    holder: str
    encrypted: bool = False
    key_id: str | None = None
    description: str = ""
    database: str | None = None
    """A database on the PostgreSQL server whose data directory is `path`: its rows live in
    that server's files, which the server's own entry accounts for."""

    @model_validator(mode="after")
    def _key_for_encrypted(self) -> "Store":
        if self.kind not in STORE_KINDS:  # one list of kinds: the deployment layout's
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.encrypted and not self.key_id:
            raise ValueError(f"{self.name}: an encrypted store needs a key_id")
        if Path(self.path).is_absolute() or ".." in Path(self.path).parts:
            raise ValueError(f"{self.name}: path must be relative and inside the deployment")
        return self


class Inventory(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    stores: list[Store]

    def of_kind(self, *kinds: str) -> list[Store]:
        return [store for store in self.stores if store.kind in kinds]


@dataclass(frozen=True)
class FoundFile:
    """A file found by the scan: `path` is relative to the deployment (POSIX form)."""

    path: str
    size: int
    file_class: FileClass
    store: str | None
    kind: str
    holder: str
    encrypted: bool = False
    key_id: str | None = None

    @property
    def listed(self) -> bool:
        return self.file_class in ("inventory", "store")


def load_inventory(deployment: Path) -> Inventory:
    """Read and validate DEPLOYMENT/inventory.toml."""
    path = Path(deployment) / INVENTORY_FILE
    try:
        raw = tomllib.loads(path.read_text())
        return Inventory.model_validate(raw)
    except FileNotFoundError:
        raise InputError(
            f"{path}: no inventory; is this a deployment made by `cpw deploy`?"
        ) from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0:3]
        raise InputError(f"{path}: invalid inventory: {' '.join(first)}") from None


def scan_deployment(deployment: Path, inventory: Inventory) -> list[FoundFile]:
    """Every file under the deployment, classified against the inventory, in path order."""
    root = Path(deployment)
    found = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(directory) / name
            relative = full.relative_to(root).as_posix()
            found.append(classify(relative, full.lstat().st_size, inventory))
    return found


def missing_stores(deployment: Path, inventory: Inventory) -> list[str]:
    """Names of listed stores whose path does not exist."""
    return [s.name for s in inventory.stores if not (Path(deployment) / s.path).exists()]


def classify(relative: str, size: int, inventory: Inventory) -> FoundFile:
    """Place one file: the inventory itself, a listed store, a sidecar, temp, or unlisted."""
    if relative == INVENTORY_FILE:
        return FoundFile(relative, size, "inventory", None, "inventory", "deployment operator")
    for store in (s for s in inventory.stores if s.database is None):  # files: the server's
        if relative == store.path or relative.startswith(store.path.rstrip("/") + "/"):
            return FoundFile(
                relative,
                size,
                "store",
                store.name,
                store.kind,
                store.holder,
                store.encrypted,
                store.key_id,
            )
    for store in inventory.stores:
        if any(relative == store.path + suffix for suffix in SIDECAR_SUFFIXES):
            return FoundFile(relative, size, "sidecar", store.name, store.kind, store.holder)
    name = relative.rsplit("/", 1)[-1]
    if name.startswith(TEMP_PREFIXES) or name.endswith(TEMP_SUFFIXES):
        return FoundFile(relative, size, "temp", None, "temporary-file", "unknown")
    if relative.startswith("extracts/"):
        holder = name.split("-", 1)[0]
        return FoundFile(relative, size, "unlisted-extract", None, "authority-extract", holder)
    return FoundFile(relative, size, "unlisted", None, "unlisted-file", "unknown")
