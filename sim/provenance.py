"""Provenance for every output: package versions and the hashes of the data files used."""

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sim.reference.paths import data_dir

PACKAGES = ("contactpoint-workbench", "numpy", "polars", "faker", "simpy", "pydantic")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def data_file_hashes() -> dict[str, str]:
    """sha256 of every file under data/, keyed by its path relative to data/."""
    root = data_dir()
    return {
        str(path.relative_to(root)): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }
