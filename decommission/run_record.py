"""A rehearsal's record: run.json says whether the run in an evidence directory is running,
stopped (where, why, how to resume) or completed, and so whether a request may start or resume it.

run.json is replaced atomically (decommission.atomic): a kill leaves the old record or the new.
Until it says "completed" the evidence directory certifies nothing (decommission.rehearsal).
"""

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decommission import atomic, journal
from decommission.inventory import load_inventory
from sim.errors import InputError
from sim.outputs import check_output_dir

RUN_FILE = "run.json"


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" or "stopped"
    stopped_at: str | None
    reason: str | None
    evidence: Path
    certificates: list[str]
    report: Path | None = None


def recorded_outcome(out: Path) -> Outcome | None:
    """The outcome run.json records, once a run has ended (None while it says running)."""
    run = read_run(Path(out))
    if run.get("status") not in ("completed", "stopped"):
        return None
    return outcome_of(run, Path(out))


def record_stop(out: Path, reason: str, resume_command: str | None) -> None:
    """An attempt that ended before its first step (interrupted, or its caller could not open
    the deployment): if run.json still says running, it says stopped, why, and how to resume."""
    run = read_run(Path(out))
    if run.get("status") == "running":
        run.update(status="stopped", reason=reason, resume_with=resume_command)
        run["stopped_at"] = run.get("stopped_at") or "start"
        with contextlib.suppress(OSError):
            write_run(Path(out), run)


def check_request(deployment: Path, out: Path, *, force: bool, resume: bool) -> None:
    """Refuse a request that cannot run, before anything is written or opened."""
    deployment, out = Path(deployment), Path(out)
    if resume:
        if nothing_recorded(out):
            load_inventory(deployment)
            return
        if not journal.read(out / journal.JOURNAL_FILE):
            raise InputError(f"--resume: {out} holds no journal of a rehearsal; start without it")
        recorded = read_run(out).get("deployment")
        if recorded and Path(recorded).resolve() != deployment.resolve():
            raise InputError(f"--resume: {out} is the evidence of {recorded}, not {deployment}")
        return
    unfinished = read_run(out).get("status") not in (None, "completed")
    if unfinished and not force:
        raise InputError(f"--out: {out} holds an unfinished rehearsal: carry it on with --resume")
    check_output_dir(out, force)
    load_inventory(deployment)  # refuse a non-deployment before anything is written


def nothing_recorded(out: Path) -> bool:
    """An evidence directory a run was killed in before it journalled anything (empty, or a
    journal whose first line was cut short): resuming it is starting it. A directory that does
    not exist is not one (a mistyped path is refused)."""
    if not out.is_dir():
        return False
    names = {path.name for path in out.iterdir()}
    return names <= {journal.JOURNAL_FILE} and not journal.read(out / journal.JOURNAL_FILE)


def read_run(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}


def write_run(out: Path, run: dict[str, Any]) -> None:
    """run.json, replaced atomically: a crash leaves the old one or the new one."""
    text = json.dumps(run, indent=1, sort_keys=True, default=str) + "\n"
    atomic.replace_text(out / RUN_FILE, text)


def outcome_of(run: dict[str, Any], out: Path, report: Path | None = None) -> Outcome:
    if report is None and (out / "report.md").is_file():
        report = out / "report.md"  # a completed run returned unchanged keeps its report
    return Outcome(
        run["status"], run["stopped_at"], run["reason"], out, run["certificates"], report
    )
