"""Provenance for every output: package versions, the lock file and the data files used.

Same seed, same files holds for one set of package versions (parquet records its writer, numpy
does not promise the same random streams across releases), so each manifest records the hash of
the lock the environment is installed from, and whether the running environment matches it.
"""

import hashlib
import platform
import re
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sim.reference.paths import data_dir

PACKAGES = ("contactpoint-workbench", "numpy", "polars", "faker", "simpy", "pydantic")
LOCK_FILE = Path(__file__).resolve().parents[1] / "requirements.lock"
"""`make` installs this file exactly; it is in a checkout, not in a wheel (`pip install .`
resolves its own versions, so there is no lock to record)."""
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


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


def _normal(name: str) -> str:
    """A distribution name as the package index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def lock_pins(text: str) -> dict[str, str]:
    """Name -> pinned version of every `name==version` line of a lock file."""
    return {
        _normal(match[1]): match[2]
        for line in text.splitlines()
        if (match := PIN.match(line.strip()))
    }


def lock_record(lock: Path = LOCK_FILE) -> dict:
    """The lock's sha256, and every pinned package that is not installed at its pinned version
    (installed version, or None when missing): `mismatches` is empty when every package the lock
    pins is installed at its pin, as `make` installs it."""
    if not lock.is_file():
        return {"file": None, "sha256": None, "environment_matches": False, "mismatches": {}}
    mismatches = dict(_mismatches(lock.read_text()))
    return {
        "file": lock.name,
        "sha256": sha256_file(lock),
        "environment_matches": not mismatches,
        "mismatches": mismatches,
    }


@cache
def _mismatches(lock_text: str) -> tuple[tuple[str, str | None], ...]:
    """Every pin of a lock not installed at its version, with the installed version (or None).

    Once per lock text per process: looking up ~150 installed versions takes ~0.1 s, and a sweep
    writes a manifest for every point, while the installed packages do not change during a run.
    """
    pins = lock_pins(lock_text)
    installed = {name: _installed(name) for name in sorted(pins)}
    return tuple((name, got) for name, got in installed.items() if got != pins[name])
