"""A strict BagIt 1.0 validator, run on top of bagit-python's own full validation.

bagit-python accepts bags that RFC 8493 or our profile refuses
(docs/decommissioning-standards.md 3.3): a payload file missing from one of two manifests, a tag
manifest that omits a payload manifest, no tag manifests at all, unlisted tag files, version 0.97,
and `fast` validation on Payload-Oxum alone. The archive is what survives destruction, so it must be
complete and intact before anything is destroyed: this checks every rule and recomputes every digest
itself.
"""

import hashlib
import os
import re
from pathlib import Path

import bagit

from decommission.standards import load_standards
from sim.errors import WorkbenchError

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
HEX_LENGTH = {"sha256": 64, "sha512": 128}
CHUNK = 1 << 20


class ArchiveInvalid(WorkbenchError):
    """The archive failed strict validation; nothing may be destroyed."""


def validate_strict(bag_dir: Path) -> None:
    """Raise ArchiveInvalid naming every problem found, or return if the bag is valid."""
    problems = strict_problems(bag_dir)
    if problems:
        raise ArchiveInvalid(f"{bag_dir}: {len(problems)} problem(s): {'; '.join(problems[:5])}")


def strict_problems(bag_dir: Path) -> list[str]:
    """Every way the bag departs from BagIt 1.0 and the archive profile (empty if valid)."""
    root = Path(bag_dir)
    problems: list[str] = []
    try:
        bagit.Bag(str(root)).validate(processes=1)
    except (bagit.BagError, OSError, ValueError) as exc:  # ValueError: e.g. NUL in bagit.txt
        problems.append(f"bagit-python: {str(exc).splitlines()[0][:200]}")
    if _read(root / "bagit.txt") != BAGIT_TXT:
        problems.append("bagit.txt: must be exactly 'BagIt-Version: 1.0' and UTF-8, no BOM")
    if (root / "fetch.txt").exists():
        problems.append("fetch.txt: not allowed (everything must be in the bag)")
    on_disk = _files(root, problems)
    payload = {p for p in on_disk if p.startswith("data/")}
    tags = {p for p in on_disk if not p.startswith("data/") and not p.startswith("tagmanifest-")}
    digests = load_standards().required_digests.value
    for kind, expected in (("manifest", payload), ("tagmanifest", tags)):
        present = {p for p in on_disk if re.fullmatch(rf"{kind}-[a-z0-9]+\.txt", p)}
        wanted = {f"{kind}-{alg}.txt" for alg in digests}
        problems += [f"{name}: missing" for name in sorted(wanted - present)]
        problems += [f"{name}: algorithm not allowed" for name in sorted(present - wanted)]
        for alg in digests:
            name = f"{kind}-{alg}.txt"
            if name in present:
                problems += _check_manifest(root, name, alg, expected)
    problems += _check_bag_info(root, payload)
    return problems


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _files(root: Path, problems: list[str]) -> set[str]:
    found = set()
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            if (Path(directory) / name).is_symlink():
                problems.append(f"{Path(directory, name).relative_to(root)}: symlink not allowed")
        found.update((Path(directory) / n).relative_to(root).as_posix() for n in filenames)
    return found


def _check_manifest(root: Path, name: str, alg: str, expected: set[str]) -> list[str]:
    """Every expected file listed exactly once with a correct digest, nothing else listed."""
    problems = []
    listed: dict[str, str] = {}
    raw = _read(root / name) or b""
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        parts = line.split(None, 1)
        if len(parts) != 2 or not re.fullmatch(rf"[0-9a-fA-F]{{{HEX_LENGTH[alg]}}}", parts[0]):
            problems.append(f"{name}: line {number}: not '<{alg}> <path>'")
            continue
        path = parts[1].replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        if path.startswith(("/", "~")) or ".." in path.split("/") or "\\" in path:
            problems.append(f"{name}: line {number}: path outside the bag: {path!r}")
        elif path in listed:
            problems.append(f"{name}: {path}: listed twice")
        listed[path] = parts[0].lower()
    problems += [f"{name}: {p}: on disk but not listed" for p in sorted(expected - set(listed))]
    problems += [f"{name}: {p}: listed but not in the bag" for p in sorted(set(listed) - expected)]
    for path in sorted(set(listed) & expected):
        if file_digest(root / path, alg) != listed[path]:
            problems.append(f"{name}: {path}: {alg} mismatch")
    return problems


def _check_bag_info(root: Path, payload: set[str]) -> list[str]:
    text = (_read(root / "bag-info.txt") or b"").decode("utf-8", "replace")
    labels: dict[str, list[str]] = {}
    for line in text.splitlines():
        if ":" in line and not line[:1].isspace():
            label, value = line.split(":", 1)
            labels.setdefault(label.strip().lower(), []).append(value.strip())
    problems = [
        f"bag-info.txt: {label} missing"
        for label in load_standards().required_bag_info.value
        if label.lower() not in labels
    ]
    oxum = labels.get("payload-oxum", [])
    octets = sum((root / p).stat().st_size for p in payload)
    if len(oxum) > 1:
        problems.append("bag-info.txt: Payload-Oxum given more than once")
    elif oxum and oxum[0] != f"{octets}.{len(payload)}":
        problems.append(f"bag-info.txt: Payload-Oxum {oxum[0]} != {octets}.{len(payload)}")
    for date in labels.get("bagging-date", []):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            problems.append(f"bag-info.txt: Bagging-Date {date!r} is not YYYY-MM-DD")
    return problems


def file_digest(path: Path, alg: str) -> str:
    digest = hashlib.new(alg)
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def write_tag_manifests(bag_dir: Path) -> None:
    """Declare BagIt 1.0 and list every tag file (bagit-python 1.9 still writes 0.97:
    docs/decommissioning-standards.md 3.3 row 1)."""
    root = Path(bag_dir)
    (root / "bagit.txt").write_bytes(BAGIT_TXT)
    for stale in root.glob("tagmanifest-*.txt"):
        stale.unlink()
    tags = sorted(p.name for p in root.iterdir() if p.is_file())
    for alg in load_standards().required_digests.value:
        lines = [f"{file_digest(root / name, alg)}  {name}\n" for name in tags]
        (root / f"tagmanifest-{alg}.txt").write_text("".join(lines))
