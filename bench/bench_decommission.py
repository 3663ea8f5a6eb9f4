"""Decommissioning rehearsal: time per phase, and residue-scan throughput against `grep -r`.

    .venv/bin/python bench/bench_decommission.py [--children 200000]
    .venv/bin/python bench/bench_decommission.py --deployment DIR [--sample-children 100] [--keep]
        [--in-place]

Without --deployment a specimen deployment (decommission.specimen) of --children records is
rehearsed with a stand-in index: quick. With it, a copy of a `cpw deploy` output and the files
beside it (credentials, canaries), or DIR itself with --in-place (it is destroyed), is rehearsed
exactly as `cpw decommission rehearse` does: the real facade and probes (the CLI's own
`rehearsal_setup`), and real identifiers (index IDs, full names and postcodes of
--sample-children children read from the live index) scanned for beside the canaries. Target:
a full-England deployment (~11 M records) end to end in <= 15 minutes. Before
destruction the verifier's scan of the tree is timed against `grep -r` on the same tree: for
one canary surname, and for every UTF-8 pattern at once (`-F -f`); the verifier looks for every
pattern in every encoding.
"""

import argparse
import datetime as dt
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
from sim.cli.decommission import rehearsal_setup
from sim.errors import WorkbenchError

OPERATOR = Person(name="Operator", title="Lead", organization="DfE", location="London", phone="-")
VERIFIER = Person(name="Verifier", title="Auditor", organization="Audit", location="London",
                  phone="-")  # fmt: skip


class SwitchedIndex:
    """A stand-in for the facade (specimen mode): refuses every path once switched off."""

    off = False

    def switch_off(self, *, by, now) -> int:
        self.off = True
        return 0

    def attempt(self) -> None:
        if self.off:
            raise WorkbenchError("switched off")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def timed_grep(arguments: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(["grep", *arguments], capture_output=True)
    return time.perf_counter() - started, done.returncode


def copy_deployment(source: Path, target: Path) -> None:
    """The deployment and the files beside it (DIR.credentials.json, DIR.canaries.json, ...)."""
    shutil.copytree(source, target)
    for side in source.parent.glob(f"{source.name}.*"):
        shutil.copy2(side, target.parent / side.name.replace(source.name, target.name, 1))


def specimen_setup(sample: list[str]) -> Rehearsal:
    index = SwitchedIndex()
    return Rehearsal(
        index=index,
        probes={p: index.attempt for p in load_standards().probe_paths.value},
        sanitizer=OPERATOR,
        verifier=VERIFIER,
        verifier_key=Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench").digest()),
        sample_identifiers=sample,
        clock=utc_now,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=200_000, help="specimen size")
    parser.add_argument("--deployment", type=Path, help="a `cpw deploy` output (copied first)")
    parser.add_argument("--sample-children", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the evidence and the copy")
    parser.add_argument(
        "--in-place", action="store_true", help="rehearse --deployment itself: no copy, destroyed"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-decommission-"))
    deployment, evidence = work / "deployment", work / "evidence"
    seconds: dict[str, float] = {}
    index = None
    try:
        started = time.perf_counter()
        if args.deployment and args.in_place:
            deployment = args.deployment.resolve()
        elif args.deployment:
            copy_deployment(args.deployment.resolve(), deployment)
            seconds["copy_deployment"] = time.perf_counter() - started
        if args.deployment:
            started = time.perf_counter()
            setup, index = rehearsal_setup(
                deployment, evidence, OPERATOR, VERIFIER, clock=utc_now,
                sample_children=args.sample_children,
            )  # fmt: skip
            seconds["open_facade_and_sample"] = time.perf_counter() - started
        else:
            specimen = make_specimen(deployment, children=args.children)
            seconds["make_specimen"] = time.perf_counter() - started
            setup = specimen_setup(specimen.child_ids[: args.sample_children])
        canaries = load_canaries(canaries_path(deployment))
        size = tree_bytes(deployment)

        needles = canary_needles(canaries) + identifier_needles(setup.sample_identifiers)
        started = time.perf_counter()
        before = scan_tree(deployment, needles)
        scan_seconds = time.perf_counter() - started
        one_seconds, one_exit = timed_grep(["-r", "-c", canaries[0]["surname"], str(deployment)])
        patterns = work / "patterns.txt"
        texts = {n.pattern for n in needles if n.label.endswith("[utf-8]")}
        patterns.write_bytes(b"\n".join(sorted(texts)) + b"\n")
        all_seconds, all_exit = timed_grep(["-r", "-c", "-F", "-f", str(patterns), str(deployment)])

        marks: dict[str, float] = {}

        def progress(step: str, status: str, message: str) -> None:
            if index is not None:
                index.progress(step, status)  # the facade closes once the index is shown shut
            if status == "start":
                marks[step] = time.perf_counter()
            elif status in ("go", "no-go"):
                seconds[f"step {step}"] = time.perf_counter() - marks[step]

        started = time.perf_counter()
        outcome = rehearse(deployment, evidence, setup, progress=progress)
        total = time.perf_counter() - started
        checked = evidence / "verification.json"
        verification = json.loads(checked.read_text()) if checked.is_file() else None
        print(
            json.dumps(
                {
                    "mode": "deployment (real facade)" if args.deployment else "specimen",
                    "records": None if args.deployment else args.children,
                    "deployment_bytes": size,
                    "status": outcome.status,
                    "stopped_at": outcome.stopped_at,
                    "reason": outcome.reason,
                    "rehearsal_seconds": round(total, 2),
                    "phase_seconds": {k: round(v, 3) for k, v in seconds.items()},
                    "sampled_identifiers": len(setup.sample_identifiers),
                    "pre_destruction_scan": {
                        "patterns": len(needles),
                        "hits": len(before.hits),
                        "seconds": round(scan_seconds, 2),
                        "bytes_per_second": round(before.bytes / scan_seconds),
                    },
                    "grep_r_one_pattern": {
                        "seconds": round(one_seconds, 2),
                        "bytes_per_second": round(size / one_seconds),
                        "exit": one_exit,
                    },
                    "grep_r_every_utf8_pattern": {
                        "patterns": len(texts),
                        "seconds": round(all_seconds, 2),
                        "bytes_per_second": round(size / all_seconds),
                        "exit": all_exit,
                    },
                    "post_destruction_verification_bytes": verification
                    and verification["deployment"]["bytes"] + verification["archive"]["bytes"],
                    "report": str(outcome.report) if args.keep else None,
                },
                indent=1,
            )
        )
    finally:
        if index is not None:
            index.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
