"""Independent verification: a byte-level scan for everything that should be gone.

The check looks at outcomes, not at what the destruction step says it did (NIST SP 800-88 Rev. 1
section 4.7; docs/decommissioning-standards.md 9.E). Carvers under-report
(docs/decommissioning-standards.md 5.2: sqlite_dissect found 18 of 2,000 canaries), so every byte of
every file left under the deployment, and of the archive, is searched for each canary (ID, names,
date of birth, postcode) and each sampled identifier, in UTF-8, UTF-16LE and UTF-16BE and in upper
and lower case, and for every erased data key (raw, hex, base64; by fingerprint,
decommission.fingerprints, so the keys themselves need not be held). Remaining WAL, journal, shm or
temp files, rows left in any SQLite file and keys left in a key store are residue too. Patterns are
reported by label and digest, never by value, so the report itself holds no personal data.
"""

import datetime as dt
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from decommission.fingerprints import find_keys
from decommission.inventory import SIDECAR_SUFFIXES, TEMP_PREFIXES
from decommission.scan import GREP as GREP  # re-exported: the scan engine is decommission.scan
from decommission.scan import Needle, ScanResult, files_under, needle_digest, scan_tree
from decommission.scan import key_needles as key_needles
from decommission.standards import load_standards

MIN_NEEDLE = 4


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


def residue_files(root: Path) -> list[dict[str, Any]]:
    """WAL/journal/shm/temp files, SQLite files with rows, key stores with keys."""
    found = []
    for path in files_under(Path(root)):
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
    key_prints: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """Scan the deployment and the archive; `passed` only if no residue anywhere.

    `key_prints` are the erased keys' fingerprints (decommission.fingerprints.key_fingerprints).
    """
    start = time.perf_counter()
    everything = canary_needles(canaries) + identifier_needles(identifiers)
    in_deployment = scan_tree(deployment, everything)
    in_deployment.hits += find_keys(deployment, key_prints)
    # The archive keeps evidence with dates in it: dates of birth are not searched there.
    archive_needles = canary_needles(canaries, dates=False) + identifier_needles(identifiers)
    in_archive = scan_tree(archive, archive_needles) if archive else ScanResult()
    if archive:
        in_archive.hits += find_keys(archive, key_prints)
    digests = needle_digest(everything) + "".join(sorted(k["sha256"] for k in key_prints))
    residue = residue_files(deployment)
    seconds = time.perf_counter() - start
    scanned = in_deployment.bytes + in_archive.bytes
    return {
        "method": "full: every byte of every file, every pattern",
        "patterns": len(everything) + len(key_prints),
        "patterns_sha256": hashlib.sha256(digests.encode()).hexdigest(),
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
