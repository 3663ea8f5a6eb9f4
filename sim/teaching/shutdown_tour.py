"""The August 2010 shutdown rehearsed on a small deployment (notebook 05): what the notebook
prints between the rehearsal's steps, as tables and one-line summaries.

The rehearsal itself is decommission.rehearse; this module only reads its evidence directory
(run.json, steps/*.json, verification.json, certificates) and the deployment's demo
credentials, which are written beside the deployment, never inside it.
"""

import json
from pathlib import Path

import polars as pl

from decommission.faults import FAULTS
from decommission.rehearsal import Outcome
from sim.deployment.deploy import DeployReport
from sim.index.service import ContactPoint

CERTIFICATE_FIELDS = ("certificate_id", "holder", "date", "classification_after", "attestation")


def deployment_summary(report: DeployReport) -> str:
    """Children, stores in the inventory, and the extracts nobody listed (as in real life)."""
    return (
        f"{report.path.name}: {report.children} children, {report.stores} stores in the "
        f"inventory; {len(report.unlisted)} extracts nobody listed: {', '.join(report.unlisted)}"
    )


class RehearsalPrinter:
    """The rehearsal's progress callback: prints each step's go or no-go, every probe and
    every injected fault, and stops the index's servers when the switch-off passes, so that
    the index lets go of its files before they are destroyed."""

    def __init__(self, service: ContactPoint) -> None:
        self.service, self.closed = service, False
        self.lines: list[tuple[str, str, str]] = []

    def __call__(self, step: str, status: str, message: str) -> None:
        self.lines.append((step, status, message))
        if status in ("go", "no-go") or message.startswith(("probe", "fault")):
            print(f"{step:>13} {status:>6}  {message}")
        if (step, status) == ("switch_off", "go"):
            self.close()

    def close(self) -> None:
        """Stop the servers (once): after the switch-off, or when a run stopped before it."""
        if not self.closed:
            self.service.close()
            self.closed = True


def outcome_text(outcome: Outcome) -> str:
    """One line: completed with N certificates, or where and why the run stopped."""
    if outcome.status == "stopped":
        return f"stopped at '{outcome.stopped_at}' because: {outcome.reason}; no certificate"
    return f"{outcome.status}: {len(outcome.certificates)} certificates issued"


def archive_table(evidence: Path) -> pl.DataFrame:
    """What the archive kept, as the archive step recorded it, and every file in the bag."""
    kept = json.loads((evidence / "steps" / "archive.json").read_text())
    root = evidence / "archive"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return pl.DataFrame(
        {
            "what": [
                "children under a child-protection hold",
                "pending subject access requests",
                *(["file in the archive"] * len(files)),
            ],
            "value": [str(kept["held_children"]), str(kept["pending_sars"]), *files],
        }
    )


def certificate_table(outcome: Outcome) -> pl.DataFrame:
    """The independent verification and the last certificate (the whole deployment's), in
    the layout of NIST SP 800-88's certificate of sanitization."""
    check = json.loads((outcome.evidence / "verification.json").read_text())
    rows = [
        ("verification method", check["method"]),
        ("patterns searched for", str(check["patterns"])),
        ("verification passed", str(check["passed"])),
    ]
    if outcome.certificates:
        final = json.loads((outcome.evidence / outcome.certificates[-1]).read_text())
        final = final["certificate"]
        rows += [(field.replace("_", " "), str(final[field])) for field in CERTIFICATE_FIELDS]
        rows.append(("items destroyed", str(len(final["items"]))))
    return pl.DataFrame(rows, schema=["field", "value"], orient="row")


def faults_table() -> pl.DataFrame:
    """The faults a rehearsal can inject, and the step whose check must stop the run."""
    return pl.DataFrame(
        [
            {
                "fault": name,
                "what goes wrong": fault.description,
                "stops at": fault.stops_at or "(does not stop: the scan finds it and destroys it)",
            }
            for name, fault in FAULTS.items()
        ]
    )


def files_left(deployment: Path) -> int:
    """Files still on disk in the deployment (0 after a completed rehearsal)."""
    return sum(1 for path in deployment.rglob("*") if path.is_file())
