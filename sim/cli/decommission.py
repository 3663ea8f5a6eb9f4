"""`cpw decommission ...`: rehearse the August 2010 shutdown on a deployment (thin layer)."""

from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.certificate import Person
from decommission.evidence import verify_evidence
from decommission.faults import FAULTS
from decommission.probes import SystemSwitch, facade_probes, sample_identifiers
from decommission.rehearsal import Rehearsal, dry_run, rehearse
from decommission.runbook import load_runbook
from sim.cli.console import stdout_console
from sim.errors import InputError
from sim.index.service import ContactPoint

app = typer.Typer(help="Decommissioning: verified shutdown, archive, destruction, certificates.",
                  no_args_is_help=True)  # fmt: skip

DeploymentArg = Annotated[Path, typer.Argument(help="A deployment made by `cpw deploy`.")]


def _person(text: str, option: str) -> Person:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) != 5 or not all(parts):
        raise InputError(f"{option}: give 'name; title; organisation; location; phone'")
    return Person(name=parts[0], title=parts[1], organization=parts[2], location=parts[3],
                  phone=parts[4])  # fmt: skip


@app.command("plan")
def plan(deployment: DeploymentArg) -> None:
    """Print the runbook's steps and the stores they act on; changes nothing."""
    typer.echo(dry_run(deployment))


@app.command("rehearse")
def rehearse_command(
    deployment: DeploymentArg,
    out: Annotated[Path, typer.Option(help="Evidence directory (must be new or empty).")],
    fault: Annotated[
        list[str] | None, typer.Option(help=f"Inject a fault: {', '.join(FAULTS)}.")
    ] = None,
    dry_run_only: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and change nothing.")
    ] = False,
    operator: Annotated[str, typer.Option(help="'name; title; organisation; location; phone'")] = (
        "Rehearsal operator; Decommissioning lead; Department for Education; London; 020 7946 0000"
    ),
    verifier: Annotated[str, typer.Option(help="The independent verifier, same form.")] = (
        "Rehearsal verifier; Independent verifier; Audit partner; London; 020 7946 0001"
    ),
    force: Annotated[bool, typer.Option(help="Replace a non-empty evidence directory.")] = False,
) -> None:
    """Run the 2010 runbook: switch-off and probes, archive, destruction, checks, certificates.

    Exits 0 when every step passed, 1 when a go/no-go gate stopped the run (the evidence says
    where and why; nothing is destroyed before the archive validates).
    """
    if dry_run_only:
        typer.echo(dry_run(deployment))
        return
    faults = fault or []
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise InputError(f"--fault: unknown {', '.join(unknown)}; choose from {', '.join(FAULTS)}")
    people = _person(operator, "--operator"), _person(verifier, "--verifier")
    runbook = load_runbook()
    shutdown = next(step for step in runbook.steps if step.kind == "shutdown")
    switch_off_at = runbook.when(shutdown)
    console = stdout_console()
    service = ContactPoint.open(deployment)
    stopped = False

    def stop_service() -> None:
        nonlocal stopped
        if not stopped:
            service.close()
            stopped = True

    def report(step: str, status: str, message: str) -> None:
        console.print(f"[bold]{step}[/bold] {status}: {message}")
        if step == shutdown.id and status == "go":
            stop_service()  # the index process stops once shown shut, freeing its files

    try:
        setup = Rehearsal(
            index=SystemSwitch(service),
            probes=facade_probes(service, deployment, switch_off_at),
            sanitizer=people[0],
            verifier=people[1],
            verifier_key=Ed25519PrivateKey.generate(),
            sample_identifiers=sample_identifiers(deployment),
        )
        outcome = rehearse(
            deployment, out, setup, faults=faults, force=force, runbook=runbook, progress=report
        )  # fmt: skip
    finally:
        stop_service()
    if outcome.status == "completed":
        console.print(f"completed: {len(outcome.certificates)} certificate(s); evidence in {out}")
        return
    console.print(f"stopped at {outcome.stopped_at}: {outcome.reason}; evidence in {out}")
    raise typer.Exit(1)


@app.command("verify")
def verify_command(
    evidence: Annotated[Path, typer.Argument(help="An evidence directory from `rehearse`.")],
    public_key: Annotated[
        str, typer.Option(help="The verifier's public key: 64 hex digits or a file of them.")
    ],
    deployment: Annotated[
        Path | None, typer.Option(help="Re-scan the deployment directory too.")
    ] = None,
) -> None:
    """Independently re-check the evidence: signatures, hashes, and no residue left anywhere."""
    key_path = Path(public_key)
    key = key_path.read_text().strip() if key_path.is_file() else public_key.strip()
    if not evidence.is_dir():
        raise InputError(f"{evidence}: no such evidence directory")
    problems = verify_evidence(evidence, key, deployment)
    for problem in problems:
        typer.echo(f"problem: {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{evidence}: every certificate, hash and residue check holds")
