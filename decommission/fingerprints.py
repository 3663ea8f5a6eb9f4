"""Finding copies of erased keys without keeping the keys: a short prefix and a digest per form.

After cryptographic erase the data keys must exist nowhere (NIST SP 800-88 Rev. 1 2.6;
docs/decommissioning-standards.md 6.1), yet the verification has to search for copies of them, and a
run resumed after a crash, or `cpw decommission verify` run later, no longer holds them. So the
inventory step keeps, for each key in each written form (raw, hex, base64), only its first
PREFIX bytes, its length and its sha256: the scan finds every place a prefix occurs and confirms
a copy by hashing the bytes there. A prefix discloses at most 64 of a key's 256 bits, and the
digest nothing, so the fingerprints do not weaken a key while it is still live.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from decommission.scan import Needle, key_needles, scan_tree

PREFIX = 8


def key_fingerprints(keys: Sequence[bytes]) -> list[dict[str, Any]]:
    """One fingerprint per key and form: label, prefix (hex), length, sha256."""
    return [
        {
            "label": needle.label,
            "prefix": needle.pattern[:PREFIX].hex(),
            "length": len(needle.pattern),
            "sha256": hashlib.sha256(needle.pattern).hexdigest(),
        }
        for needle in key_needles(keys)
    ]


def find_keys(root: Path, fingerprints: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every place under `root` where a fingerprinted key is written (path, offset, label)."""
    by_prefix: dict[bytes, list[dict[str, Any]]] = {}
    for fingerprint in fingerprints:
        by_prefix.setdefault(bytes.fromhex(fingerprint["prefix"]), []).append(fingerprint)
    needles = [Needle(f"prefix {n}", prefix) for n, prefix in enumerate(by_prefix)]
    found = scan_tree(root, needles).hits
    hits = []
    for candidate in found:
        path = Path(root) / candidate["path"]
        prefix = needles[int(candidate["pattern"].split()[1])].pattern
        with path.open("rb") as handle:
            for fingerprint in by_prefix[prefix]:
                handle.seek(candidate["offset"])
                there = handle.read(fingerprint["length"])
                if hashlib.sha256(there).hexdigest() == fingerprint["sha256"]:
                    hits.append({**candidate, "pattern": fingerprint["label"]})
    return hits
