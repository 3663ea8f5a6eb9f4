"""Decommissioning rehearsal: time per phase, and residue-scan throughput against `grep -r`.

    .venv/bin/python bench/bench_decommission.py [--children 200000] [--deployment DIR]

Without --deployment a specimen deployment (decommission.specimen) of --children records is
made; with it, a copy of a `cpw deploy` output is rehearsed (its canaries file beside it).
Target (issue 7): a full-England deployment (~11 M records) end to end in <= 15 minutes. The
scan is compared with `grep -r -c` for one canary surname on the same tree before destruction:
grep looks for one string in one encoding, the verifier for every pattern in every encoding.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.certificate import Person
from decommission.rehearsal import Rehearsal, rehearse
from decommission.specimen import make_specimen
from decommission.standards import load_standards
from decommission.verification import (
    canaries_path,
    canary_needles,
    identifier_needles,
    load_canaries,
    scan_tree,
)
from sim.errors import WorkbenchError


class SwitchedIndex:
    """A stand-in for the facade: refuses every path once switched off."""

    off = False

    def switch_off(self, *, by, now) -> int:
        self.off = True
        return 0

    def attempt(self) -> None:
        if self.off:
            raise WorkbenchError("switched off")


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=200_000)
    parser.add_argument("--deployment", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-decommission-"))
    try:
        started = time.perf_counter()
        deployment = work / "deployment"
        if args.deployment:
            shutil.copytree(args.deployment, deployment)
            shutil.copy(canaries_path(args.deployment), canaries_path(deployment))
            sample: list[str] = []
        else:
            sample = make_specimen(deployment, children=args.children).child_ids[:100]
        made = time.perf_counter() - started
        canaries = load_canaries(canaries_path(deployment))
        size = tree_bytes(deployment)

        started = time.perf_counter()
        grep = subprocess.run(
            ["grep", "-r", "-c", canaries[0]["surname"], str(deployment)],
            capture_output=True,
            text=True,
        )
        grep_seconds = time.perf_counter() - started
        needles = canary_needles(canaries) + identifier_needles(sample)
        started = time.perf_counter()
        before = scan_tree(deployment, needles)
        scan_seconds = time.perf_counter() - started

        index = SwitchedIndex()
        paths = load_standards().probe_paths.value
        setup = Rehearsal(
            index=index,
            probes={p: index.attempt for p in paths},
            sanitizer=Person(
                name="Operator", title="Lead", organization="DfE", location="London", phone="-"
            ),
            verifier=Person(
                name="Verifier", title="Auditor", organization="Audit", location="London", phone="-"
            ),
            verifier_key=Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench").digest()),
            sample_identifiers=sample,
        )
        marks: dict[str, float] = {}
        phases: dict[str, float] = {}

        def progress(step: str, status: str, message: str) -> None:
            if status == "start":
                marks[step] = time.perf_counter()
            elif status in ("go", "no-go"):
                phases[step] = time.perf_counter() - marks[step]

        started = time.perf_counter()
        outcome = rehearse(deployment, work / "evidence", setup, progress=progress)
        total = time.perf_counter() - started
        verification = json.loads((work / "evidence/verification.json").read_text())
        print(
            json.dumps(
                {
                    "records": args.children if not args.deployment else None,
                    "deployment_bytes": size,
                    "specimen_seconds": round(made, 2),
                    "status": outcome.status,
                    "rehearsal_seconds": round(total, 2),
                    "phase_seconds": {k: round(v, 3) for k, v in phases.items()},
                    "pre_destruction_scan": {
                        "patterns": len(needles),
                        "hits": len(before.hits),
                        "seconds": round(scan_seconds, 2),
                        "bytes_per_second": round(before.bytes / scan_seconds),
                    },
                    "grep_r_one_pattern": {
                        "seconds": round(grep_seconds, 2),
                        "bytes_per_second": round(size / grep_seconds),
                        "exit": grep.returncode,
                    },
                    "post_destruction_verification_bytes": verification["deployment"]["bytes"]
                    + verification["archive"]["bytes"],
                },
                indent=1,
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
