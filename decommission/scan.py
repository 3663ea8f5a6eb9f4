"""The byte scan under every verification: every byte of every file, for every pattern.

Two engines give the same verdict: GNU grep -F (Aho-Corasick over all patterns at once, in the
C locale so bytes are bytes) where it is installed, else Python's `re`. Patterns are reported by
label, never by value, so a report holds no personal data (docs/decommissioning-standards.md 5.4).
"""

import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 1 << 24


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
    files = files_under(Path(root))
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
    if done.returncode not in (0, 1):  # 1: no pattern found; 2: an error, even with matches
        raise OSError(f"grep failed on {root}: {tool_failure(done)}")
    hits = []
    for record in done.stdout.split(b"\n"):
        if not record:
            continue
        name, rest = record.split(b"\0", 1)
        offset, found = rest.split(b":", 1)
        relative = Path(os.fsdecode(name)).relative_to(root).as_posix()
        hits.append({"path": relative, "offset": int(offset), "pattern": labels[found]})
    return hits


def tool_failure(done: subprocess.CompletedProcess[bytes]) -> str:
    """Why a tool failed, in one line: its last line of stderr, else how it ended (a tool
    killed by a signal, by the kernel's out-of-memory killer for one, writes nothing)."""
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    if lines:
        return lines[-1]
    if done.returncode < 0:
        return f"killed by signal {signal.Signals(-done.returncode).name}, nothing on stderr"
    return f"exit status {done.returncode}, nothing on stderr"


def files_under(root: Path) -> list[Path]:
    out = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        out += [Path(directory) / name for name in sorted(filenames)]
    return [p for p in out if p.is_file() and not p.is_symlink()]
