"""Rehearse the 2010 runbook over a deployment: steps in order, go/no-go gates, evidence.

Each step runs at its scheduled 2010 time (the runbook's `at`), so certificates and evidence
carry the dates the real decommissioning promised. A failed gate stops the run where it is: the
evidence directory still records every step so far, where and why it stopped, and nothing later
runs, so nothing is destroyed before the archive validates and nothing is certified with residue.
The evidence directory appears atomically (sim.outputs.staged_directory); any error inside a
step is caught and recorded as a stop, so a written archive is never discarded with the staging.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.archive import ArchiveKeys
from decommission.certificate import Person, public_key_hex
from decommission.faults import FAULTS
from decommission.inventory import load_inventory
from decommission.runbook import Runbook, load_runbook, plan_text
from decommission.shutdown import Probe, ShutdownStep, Switchable
from decommission.step import Context, NoGo, Progress, Step
from decommission.steps import (
    ArchiveStep,
    CertifyStep,
    DestroyStep,
    InventoryStep,
    NoticeStep,
    VerifyStep,
    write_evidence,
)
from decommission.verification import canaries_path, load_canaries
from sim.errors import InputError
from sim.outputs import staged_directory


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


@dataclass(frozen=True)
class Outcome:
    status: str  # "completed" or "stopped"
    stopped_at: str | None
    reason: str | None
    evidence: Path
    certificates: list[str]


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
            steps[entry.id] = ArchiveStep(entry.id, setup.archive_keys)
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
) -> Outcome:
    """Run every runbook step over `deployment`, writing the evidence directory `out`."""
    deployment = Path(deployment)
    runbook = runbook or load_runbook()
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise InputError(f"--fault: unknown {unknown}; choose from {', '.join(FAULTS)}")
    load_inventory(deployment)  # refuse a non-deployment before anything is written
    canaries = setup.canaries
    if canaries is None:
        canaries = load_canaries(canaries_path(deployment))
    steps = build_steps(runbook, setup, canaries)
    report = progress or (lambda step, status, message: None)
    with staged_directory(Path(out), force) as staging:
        ctx = Context(deployment, staging, runbook.when(runbook.steps[0]), report)
        (staging / "plan.txt").write_text(plan_text(runbook))
        (staging / "verifier-public-key.txt").write_text(public_key_hex(setup.verifier_key) + "\n")
        log: list[dict[str, Any]] = []
        stopped: NoGo | None = None
        for entry in runbook.steps:
            ctx.now = runbook.when(entry)
            try:
                _run_step(ctx, steps[entry.id], entry.requires, faults, steps, log)
            except NoGo as gate:
                stopped = gate
            except Exception as error:
                stopped = NoGo(entry.id, f"{type(error).__name__}: {error}")
            if stopped:
                log.append({"step": entry.id, "status": "no-go", "reason": stopped.reason})
                report(entry.id, "no-go", stopped.reason)
                break
        certificates = ctx.results.get("certify", {}).get("certificates", [])
        run = {
            "deployment": str(deployment),
            "status": "stopped" if stopped else "completed",
            "stopped_at": stopped.step if stopped else None,
            "reason": stopped.reason if stopped else None,
            "faults": list(faults),
            "steps": log,
            "certificates": certificates,
        }
        write_evidence(ctx, "run.json", run)
    return Outcome(run["status"], run["stopped_at"], run["reason"], Path(out), certificates)


def _run_step(
    ctx: Context,
    step: Step,
    requires: list[str],
    faults: Sequence[str],
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


def _inject(ctx: Context, step_id: str, when: str, faults: Sequence[str], steps: dict) -> None:
    for name in faults:
        fault = FAULTS[name]
        if fault.step == step_id and fault.when == when:
            ctx.progress(step_id, "info", f"fault injected: {name}")
            fault.hook(ctx, steps)
