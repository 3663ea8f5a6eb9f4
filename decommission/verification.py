"""Independent verification: a byte-level scan for everything that should be gone.

The check looks at outcomes, not at what the destruction step says it did (NIST SP 800-88
Rev. 1 section 4.7; decommissioning-standards.md 9.E). Carvers under-report (standards 5.2:
sqlite_dissect found 18 of 2,000 canaries), so every byte of every file left under the
deployment, and of the archive, is searched for each canary (ID, names, date of birth, postcode)
and each sampled identifier, in UTF-8, UTF-16LE and UTF-16BE and in upper and lower case, and
for every erased data key (raw, hex, base64). Remaining WAL, journal, shm or temp files, rows
left in any SQLite file and keys left in a key store are residue too. Patterns are reported by
label and digest, never by value, so the report itself holds no personal data.
"""

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from decommission.inventory import SIDECAR_SUFFIXES, TEMP_PREFIXES
from decommission.standards import load_standards

CHUNK = 1 << 24
MIN_NEEDLE = 4


def _gnu_grep() -> str | None:
    """GNU grep's path if installed (its -F, -b, -o, -Z are what the scan relies on)."""
    path = shutil.which("grep")
    if path is None:
        return None
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    return path if "GNU grep" in version else None


GREP = _gnu_grep()


@dataclass(frozen=True)
class Needle:
    label: str
    pattern: bytes


@dataclass
class ScanResult:
    files: int = 0
    bytes: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)


def canaries_path(deployment: Path) -> Path:
    """DEPLOYMENT.canaries.json, beside the tree (so the scan never finds the list itself)."""
    deployment = Path(deployment).resolve()
    return deployment.parent / f"{deployment.name}.canaries.json"


def load_canaries(path: Path) -> list[dict[str, str]]:
    return json.loads(Path(path).read_text())


def text_needles(label: str, text: str) -> list[Needle]:
    """`text` as-is, upper and lower case, in each encoding of standards.toml."""
    out: dict[bytes, str] = {}
    for variant in dict.fromkeys((text, text.upper(), text.lower())):
        for encoding in load_standards().encodings.value:
            out.setdefault(variant.encode(encoding), f"{label} [{encoding}]")
    return [Needle(name, pattern) for pattern, name in out.items() if len(pattern) >= MIN_NEEDLE]


def canary_needles(canaries: Sequence[dict[str, str]], dates: bool = True) -> list[Needle]:
    """IDs, surnames, full names, postcodes (with and without the space) and dates of birth."""
    needles = []
    for number, canary in enumerate(canaries):
        tag = f"canary {number}"
        needles += text_needles(f"{tag} child_id", canary["child_id"])
        needles += text_needles(f"{tag} surname", canary["surname"])
        needles += text_needles(f"{tag} name", f"{canary['forename']} {canary['surname']}")
        needles += text_needles(f"{tag} postcode", canary["postcode"])
        needles += text_needles(f"{tag} postcode", canary["postcode"].replace(" ", ""))
        if dates:
            born = dt.date.fromisoformat(str(canary["date_of_birth"])[:10])
            for form in load_standards().dob_formats.value:
                needles += text_needles(f"{tag} date_of_birth", born.strftime(form))
    return needles


def identifier_needles(identifiers: Iterable[str]) -> list[Needle]:
    return [n for i, value in enumerate(identifiers) for n in text_needles(f"sample {i}", value)]


def key_needles(keys: Sequence[bytes]) -> list[Needle]:
    """Erased key material as raw bytes, hex and base64."""
    needles = []
    for number, raw in enumerate(keys):
        for form, pattern in (
            ("raw", raw),
            ("hex", raw.hex().encode()),
            ("HEX", raw.hex().upper().encode()),
            ("base64", base64.b64encode(raw).rstrip(b"=")),
        ):
            needles.append(Needle(f"key {number} {form}", pattern))
    return needles


def needle_digest(needles: Sequence[Needle]) -> str:
    """A digest of the pattern set, so a re-run can show it searched for the same things."""
    return hashlib.sha256(b"\n".join(sorted(n.pattern for n in needles))).hexdigest()


def scan_tree(root: Path, needles: Sequence[Needle], engine: str = "auto") -> ScanResult:
    """Search every byte of every file under `root` for every needle.

    Two engines give the same verdict: GNU grep -F (Aho-Corasick over all patterns at once, in
    the C locale so bytes are bytes) where it is installed, else Python's `re`. Both report
    leftmost matches; a pattern overlapping an earlier match may not be listed separately, which
    never turns residue into a pass.
    """
    result = ScanResult()
    if not Path(root).exists() or not needles:
        return result
    files = _files(Path(root))
    result.files = len(files)
    result.bytes = sum(path.stat().st_size for path in files)
    labels = {n.pattern: n.label for n in sorted(needles, key=lambda n: len(n.pattern))}
    use_grep = engine == "grep" or (engine == "auto" and GREP is not None)
    if use_grep:  # grep reads one pattern per line: patterns holding a newline go to `re`
        lines = {p: label for p, label in labels.items() if b"\n" not in p}
        rest = {p: label for p, label in labels.items() if b"\n" in p}
        hits = _grep(Path(root), lines) + (_python(Path(root), files, rest) if rest else [])
    else:
        hits = _python(Path(root), files, labels)
    result.hits = sorted(hits, key=lambda h: (h["path"], h["offset"]))
    return result


def _python(root: Path, files: list[Path], labels: dict[bytes, str]) -> list[dict[str, Any]]:
    ordered = sorted(labels, key=len, reverse=True)
    regex = re.compile(b"|".join(re.escape(pattern) for pattern in ordered))
    overlap = len(ordered[0]) - 1
    hits = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        with path.open("rb") as handle:
            offset, tail = 0, b""
            while block := handle.read(CHUNK):
                window, base = tail + block, offset - len(tail)
                for match in regex.finditer(window):
                    if base + match.end() > offset:  # not already seen in the previous tail
                        hits.append(
                            {
                                "path": relative,
                                "offset": base + match.start(),
                                "pattern": labels[match.group()],
                            }
                        )
                offset += len(block)
                tail = window[-overlap:] if overlap else b""
    return hits


def _grep(root: Path, labels: dict[bytes, str]) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile(suffix=".patterns") as patterns:
        patterns.write(b"\n".join(labels))
        patterns.flush()
        command = [GREP, "-r", "-a", "-F", "-o", "-b", "-Z", "-f", patterns.name, "--", str(root)]
        done = subprocess.run(command, capture_output=True, env={**os.environ, "LC_ALL": "C"})
    if done.returncode not in (0, 1):
        raise OSError(f"grep failed on {root}: {done.stderr.decode(errors='replace').strip()}")
    hits = []
    for record in done.stdout.split(b"\n"):
        if not record:
            continue
        name, rest = record.split(b"\0", 1)
        offset, found = rest.split(b":", 1)
        relative = Path(os.fsdecode(name)).relative_to(root).as_posix()
        hits.append({"path": relative, "offset": int(offset), "pattern": labels[found]})
    return hits


def residue_files(root: Path) -> list[dict[str, Any]]:
    """WAL/journal/shm/temp files, SQLite files with rows, key stores with keys."""
    found = []
    for path in _files(Path(root)):
        relative = path.relative_to(root).as_posix()
        if path.name.endswith(SIDECAR_SUFFIXES) or path.name.startswith(TEMP_PREFIXES):
            found.append({"path": relative, "residue": "database sidecar or temp file"})
            continue
        with path.open("rb") as handle:
            header = handle.read(16)
        if header == b"SQLite format 3\x00":
            rows = _row_count(path)
            if rows != 0:
                found.append({"path": relative, "residue": f"SQLite file with {rows} rows"})
        elif path.name.startswith("keystore") and _has_keys(path):
            found.append({"path": relative, "residue": "key store still holds keys"})
    return found


def verify_destruction(
    deployment: Path,
    archive: Path | None,
    canaries: Sequence[dict[str, str]],
    identifiers: Sequence[str],
    keys: Sequence[bytes],
) -> dict[str, Any]:
    """Scan the deployment and the archive; `passed` only if no residue anywhere."""
    start = time.perf_counter()
    everything = canary_needles(canaries) + identifier_needles(identifiers) + key_needles(keys)
    in_deployment = scan_tree(deployment, everything)
    # The archive keeps evidence with dates in it: dates of birth are not searched there.
    archive_needles = canary_needles(canaries, dates=False) + identifier_needles(identifiers)
    in_archive = (
        scan_tree(archive, archive_needles + key_needles(keys)) if archive else ScanResult()
    )
    residue = residue_files(deployment)
    seconds = time.perf_counter() - start
    scanned = in_deployment.bytes + in_archive.bytes
    return {
        "method": "full: every byte of every file, every pattern",
        "patterns": len(everything),
        "patterns_sha256": needle_digest(everything),
        "deployment": {
            "files": in_deployment.files,
            "bytes": in_deployment.bytes,
            "hits": in_deployment.hits,
        },
        "archive": {"files": in_archive.files, "bytes": in_archive.bytes, "hits": in_archive.hits},
        "residue_files": residue,
        "passed": not (in_deployment.hits or in_archive.hits or residue),
        "seconds": round(seconds, 3),
        "bytes_per_second": round(scanned / seconds) if seconds > 0 else None,
    }


def _files(root: Path) -> list[Path]:
    out = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        out += [Path(directory) / name for name in sorted(filenames)]
    return [p for p in out if p.is_file() and not p.is_symlink()]


def _row_count(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)  # writes nothing
        try:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return -1  # unreadable: cannot be shown empty, so it counts as residue


def _has_keys(path: Path) -> bool:
    try:
        document = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return True
    keys = document.get("keys", document) if isinstance(document, dict) else document
    return bool(keys)


def as_dict(result: ScanResult) -> dict[str, Any]:
    return asdict(result)
