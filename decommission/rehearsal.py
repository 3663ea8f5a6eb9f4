"""Rehearse the 2010 runbook over a deployment: steps in order, go/no-go gates, evidence.

Each step runs at its scheduled 2010 time (the runbook's `at`), so certificates and evidence
carry the dates the real decommissioning promised. A failed gate stops the run where it is: the
evidence directory records every step so far, where and why it stopped, and nothing later runs,
so nothing is destroyed before the archive validates and nothing is certified with residue.
The evidence directory is written in place with a journal (decommission.journal): a run that
stopped or died is resumed (`resume=True`) from it, steps that passed their gate are not redone
and the one under way is redone; until run.json says "completed" the directory certifies nothing.
A run that completes or stops writes the operator's report (decommission.report) last; run.json,
the record of how it ended, is decommission.run_record's.
"""

import datetime as dt
import errno
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission import atomic, journal
from decommission.archive import ArchiveKeys
from decommission.bagcheck import file_digest
from decommission.certificate import Person
from decommission.coverage import recheck_coverage
from decommission.custody import Recipient
from decommission.destroy_steps import CertifyStep, DestroyStep, VerifyStep
from decommission.faults import Fault, fault_named
from decommission.inventory import load_inventory
from decommission.lock import DeploymentLock
from decommission.report import report_secrets, write_report
from decommission.run_record import (
    Outcome,
    check_request,
    nothing_recorded,
    outcome_of,
    read_run,
    record_stop,
    write_run,
)
from decommission.runbook import Runbook, RunbookStep, load_runbook, plan_text
from decommission.shutdown import Probe, ShutdownStep, Switchable
from decommission.step import Context, NoGo, Progress, Step
from decommission.steps import ArchiveStep, InventoryStep, NoticeStep, write_evidence
from decommission.verification import canaries_path, load_canaries
from sim.errors import InputError, WorkbenchError


@dataclass
class Rehearsal:
    """Who does what with which keys; `index` and `probes` come from the facade (or a double)."""

    index: Switchable
    probes: Mapping[str, Probe]
    sanitizer: Person
    verifier: Person
    verifier_key: Ed25519PrivateKey
    archive_keys: ArchiveKeys = field(default_factory=ArchiveKeys.generate)
    sample_identifiers: Sequence[str] = ()
    canaries: Sequence[dict[str, str]] | None = None
    custodian: Recipient | None = None
    clock: Callable[[], dt.datetime] | None = None
    """The wall clock (given by the caller: library code reads no clock), for the report's
    'ran at' and 'took'; without it only the 2010 schedule is reported."""


def build_steps(runbook: Runbook, setup: Rehearsal, canaries: Sequence[dict]) -> dict[str, Step]:
    """One step object per runbook step, chosen by its `kind`."""
    steps: dict[str, Step] = {}
    for entry in runbook.steps:
        kind = entry.kind
        if kind == "notice":
            steps[entry.id] = NoticeStep(entry.id, runbook, entry)
        elif kind == "inventory":
            steps[entry.id] = InventoryStep(entry.id)
        elif kind == "shutdown":
            steps[entry.id] = ShutdownStep(
                entry.id, setup.index, setup.probes, setup.sanitizer.name
            )
        elif kind == "archive":
            steps[entry.id] = ArchiveStep(entry.id, setup.archive_keys, setup.custodian)
        elif kind == "destroy":
            steps[entry.id] = DestroyStep(entry.id)
        elif kind == "verify":
            steps[entry.id] = VerifyStep(entry.id, canaries, setup.sample_identifiers)
        else:
            steps[entry.id] = CertifyStep(
                entry.id, setup.sanitizer, setup.verifier, setup.verifier_key
            )
    return steps


def dry_run(deployment: Path, runbook: Runbook | None = None) -> str:
    """The plan, with the stores it would act on; reads the inventory and changes nothing."""
    runbook = runbook or load_runbook()
    inventory = load_inventory(Path(deployment))
    return plan_text(runbook, [(s.name, s.kind, s.holder) for s in inventory.stores])


def rehearse(
    deployment: Path,
    out: Path,
    setup: Rehearsal,
    *,
    faults: Sequence[str] = (),
    progress: Progress | None = None,
    force: bool = False,
    runbook: Runbook | None = None,
    resume: bool = False,
    resume_command: str | None = None,
    locked: DeploymentLock | None = None,
) -> Outcome:
    """Run every runbook step over `deployment`, writing the evidence directory `out`.

    With `resume`, carry on the run recorded in `out`: steps that passed their gate are restored
    from their evidence, the rest are run; a completed run is returned unchanged.
    `resume_command` is written into run.json for the operator, should this run stop or die.
    The deployment's lock (decommission.lock) is held for the whole run: `locked`, if the caller
    took it already, else taken here. A request that is refused changes nothing.
    """
    deployment, out = Path(deployment), Path(out)
    runbook = runbook or load_runbook()
    chosen = [fault_named(name) for name in faults]
    check_request(deployment, out, force=force, resume=resume)
    if resume and nothing_recorded(out):
        resume, force = False, True  # killed before its first journal line: start afresh
    with nullcontext() if locked else DeploymentLock(deployment):
        try:
            return _rehearse_locked(
                deployment, out, setup, runbook, faults, chosen, progress, force, resume,
                resume_command,
            )  # fmt: skip
        except KeyboardInterrupt:  # before the first step of this attempt: say so, then go
            interrupted = "interrupted (Ctrl-C or SIGTERM) before the attempt's first step"
            record_stop(out, interrupted, resume_command)
            raise


def _rehearse_locked(
    deployment: Path,
    out: Path,
    setup: Rehearsal,
    runbook: Runbook,
    faults: Sequence[str],
    chosen: Sequence[Fault],
    progress: Progress | None,
    force: bool,
    resume: bool,
    resume_command: str | None,
) -> Outcome:
    events = _begin(out, resume)
    previous = read_run(out)
    if previous.get("status") == "completed":
        return outcome_of(previous, out)
    canaries = setup.canaries
    if canaries is None:
        canaries = load_canaries(canaries_path(deployment))
    steps = build_steps(runbook, setup, canaries)
    report = progress or (lambda step, status, message: None)
    ctx = Context(deployment, out, runbook.when(runbook.steps[0]), report)
    try:
        log = _restore(ctx, steps, runbook, events)
    except OSError as error:
        reason = _os_reason(error)
        raise InputError(f"--resume: cannot read the earlier attempt: {reason}") from None
    record = journal.JOURNAL_FILE
    attempt = 1 + sum(1 for e in events if e.get("event") == "attempt")
    run: dict[str, Any] = {
        "deployment": str(deployment),
        "status": "running",
        "stopped_at": None,
        "reason": None,
        "faults": list(faults),
        "attempts": attempt,
        "resume_with": resume_command,
        "steps": log,
        "certificates": [],
    }
    stopped: NoGo | None = None
    current = "start"
    archive_id = next((s.id for s in runbook.steps if s.kind == "archive"), "archive")
    try:
        journal.append(out / record, {"event": "attempt", "resume": resume, "faults": list(faults)})
        atomic.replace_text(out / "plan.txt", plan_text(runbook))
        write_run(out, run)
        for entry in runbook.steps:
            if entry.id in ctx.done:
                continue
            current, ctx.now = entry.id, runbook.when(entry)
            stopped = _attempt_step(ctx, entry, steps, chosen, log, setup, attempt, archive_id)
            if stopped:
                break
    except KeyboardInterrupt:
        stopped = NoGo(current, "interrupted (Ctrl-C or SIGTERM) before its gate")
        report(current, "no-go", stopped.reason)
    except OSError as error:  # the journal or run record could not be written
        stopped = NoGo(current, _os_reason(error))
        report(current, "no-go", stopped.reason)
    run.update(
        status="stopped" if stopped else "completed",
        stopped_at=stopped.step if stopped else None,
        reason=stopped.reason if stopped else None,
        resume_with=resume_command if stopped else None,
        certificates=ctx.results.get("certify", {}).get("certificates", []),
    )
    try:
        with atomic.interrupts_held():  # a Ctrl-C now waits until the outcome is recorded
            write_run(out, run)
            secrets = report_secrets(canaries, setup.sample_identifiers)
            written: Path | None = write_report(out, runbook, secrets)
    except OSError as error:
        if not stopped:
            raise RunNotRecorded(f"every step passed but {_os_reason(error)}") from None
        written = None  # the stop is what matters; the report is remade by the resume
    return outcome_of(run, out, written)


class RunNotRecorded(WorkbenchError):
    """The run's outcome could not be written down (a full or read-only evidence volume)."""

    exit_code = 1


def _attempt_step(
    ctx: Context,
    entry: RunbookStep,
    steps: dict[str, Step],
    chosen: Sequence[Fault],
    log: list[dict[str, Any]],
    setup: Rehearsal,
    attempt: int,
    archive_id: str,
) -> NoGo | None:
    """Run one step, journalled before and after; the gate that stopped it, or None.

    A destroy step is preceded by a re-check that the archive covers every hold and pending
    request as they are now (an earlier attempt's archive may predate them); only then is its
    start journalled, so a journalled start of destruction always follows a complete archive."""
    out, record, report = ctx.evidence, journal.JOURNAL_FILE, ctx.progress
    started = setup.clock() if setup.clock else None
    stopped: NoGo | None = None
    try:
        if entry.kind == "destroy" and archive_id in ctx.done:  # holds and requests as now
            recheck_coverage(ctx, entry.id, archive_id, setup.archive_keys, setup.custodian)
        journal.append(out / record, {"event": "start", "step": entry.id})
        _run_step(ctx, steps[entry.id], entry.requires, chosen, steps, log)
    except NoGo as gate:
        stopped = gate
    except OSError as error:
        stopped = NoGo(entry.id, _os_reason(error))
    except Exception as error:
        stopped = NoGo(entry.id, f"{type(error).__name__}: {error}")
    timing = journal.timing(setup.clock, started, attempt)
    if stopped:
        log.append({"step": entry.id, "status": "no-go", "reason": stopped.reason, **timing})
        journal.append(out / record, {"event": "no-go", **log[-1]})
        report(entry.id, "no-go", stopped.reason)
        return stopped
    log[-1].update(timing)
    journal.append(out / record, {"event": "go", **log[-1]})
    _inject(ctx, entry.id, "end", chosen, steps)
    return None


def _begin(out: Path, resume: bool) -> list[dict[str, Any]]:
    """The journal so far (resume), or a new evidence directory; the request is checked."""
    if resume:
        atomic.remove_tree(out / CertifyStep.superseded)  # left by a run that died certifying
        return journal.read(out / journal.JOURNAL_FILE)
    if out.exists():
        shutil.rmtree(out)  # --force: replace it
    out.mkdir(parents=True)
    return []


def _restore(
    ctx: Context, steps: dict[str, Step], runbook: Runbook, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Steps that passed their gate in an earlier attempt: their evidence back into the context.

    Evidence changed since its gate passed would make the rest of the run rest on something else,
    so it is refused.
    """
    passed = {event["step"]: event for event in journal.passed(events)}
    log = []
    for entry in runbook.steps:
        if entry.id not in passed:
            break
        event = passed[entry.id]
        path = ctx.evidence / event["evidence"]
        if not path.is_file() or file_digest(path, "sha256") != event["sha256"]:
            raise InputError(
                f"--resume: {event['evidence']} changed since it passed; cannot resume"
            )
        evidence = json.loads(path.read_text())
        steps[entry.id].restore(ctx, evidence)
        ctx.results[entry.id] = evidence
        ctx.done.append(entry.id)
        log.append({k: v for k, v in event.items() if k != "event"})
        ctx.progress(entry.id, "info", "passed in an earlier attempt: not redone")
    return log


def _os_reason(error: OSError) -> str:
    """One line an operator can act on, for the errors a real volume gives."""
    where = error.filename or "a file"
    if error.errno == errno.ENOSPC:
        return f"no space left on the volume writing {where}: free space, then resume"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"permission denied on {where} ({error.strerror}; read-only or immutable?): "
            "restore write access, then resume"
        )
    if error.errno == errno.ENOENT:
        return f"{where} is missing (deleted during the run?): {error.strerror}"
    return f"{type(error).__name__}: {error}"


def _run_step(
    ctx: Context,
    step: Step,
    requires: list[str],
    faults: Sequence[Fault],
    steps: dict[str, Step],
    log: list[dict[str, Any]],
) -> None:
    missing = [name for name in requires if name not in ctx.done]
    if missing:
        raise step.no_go(f"requires {', '.join(missing)} first")
    ctx.progress(step.id, "start", "; ".join(step.plan(ctx)))
    _inject(ctx, step.id, "before", faults, steps)
    evidence = step.run(ctx)
    digest = write_evidence(ctx, f"steps/{step.id}.json", evidence)
    _inject(ctx, step.id, "after", faults, steps)
    step.verify(ctx, evidence)
    ctx.results[step.id] = evidence
    ctx.done.append(step.id)
    log.append(
        {
            "step": step.id,
            "at": ctx.now.isoformat(),
            "status": "go",
            "evidence": f"steps/{step.id}.json",
            "sha256": digest,
        }
    )
    ctx.progress(step.id, "go", f"evidence sha256 {digest[:12]}")


def _inject(
    ctx: Context, step_id: str, when: str, faults: Sequence[Fault], steps: dict[str, Step]
) -> None:
    for fault in faults:
        if fault.step == step_id and fault.when == when:
            ctx.progress(step_id, "info", f"fault injected: {fault.name}")
            fault.hook(ctx, steps)
