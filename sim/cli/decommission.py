"""`cpw decommission ...`: rehearse the August 2010 shutdown on a deployment (thin layer)."""

import datetime as dt
import logging
import os
import shlex
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.console import stdout_console
from sim.errors import InputError, WorkbenchError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from rich.console import Console

    from decommission.certificate import Person
    from decommission.custody import Recipient
    from decommission.lock import DeploymentLock
    from decommission.rehearsal import Outcome, Rehearsal
    from sim.index.service import ContactPoint

CRASH_EXIT = 3
"""Exit status of a simulated crash (`--fault crash-...`): neither success (0), a stop (1) nor
a refused request (2)."""
INTERRUPTED = 130
"""Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)."""
FAULT_HELP = (
    "Inject a fault: probe-gets-in, corrupt-archive, unlisted-extract, missing-backup, "
    "inventory-only, key-not-erased, key-copy-left, extract-not-returned, canary-in-wal, "
    "or crash-after:STEP, crash-during:STEP, disk-full:STEP."
)
"""Written out so that `--help` need not import the decommissioning code; a test checks that it
names every fault in decommission.faults."""

app = typer.Typer(help="Decommissioning: verified shutdown, archive, destruction, certificates.",
                  no_args_is_help=True)  # fmt: skip

DeploymentArg = Annotated[Path, typer.Argument(help="A deployment made by `cpw deploy`.")]
OPERATOR = (
    "Rehearsal operator; Decommissioning lead; Department for Education; London; 020 7946 0000"
)
VERIFIER = "Rehearsal verifier; Independent verifier; Audit partner; London; 020 7946 0001"


def _person(text: str, option: str) -> "Person":
    from decommission.certificate import Person

    parts = [p.strip() for p in text.split(";")]
    if len(parts) != 5 or not all(parts):
        raise InputError(f"{option}: give 'name; title; organisation; location; phone'")
    return Person(name=parts[0], title=parts[1], organization=parts[2], location=parts[3],
                  phone=parts[4])  # fmt: skip


@app.command("plan")
def plan(deployment: DeploymentArg) -> None:
    """Print the runbook's steps and the stores they act on; changes nothing."""
    from decommission.rehearsal import dry_run

    typer.echo(dry_run(deployment))


@app.command("rehearse")
def rehearse_command(
    deployment: DeploymentArg,
    out: Annotated[
        Path,
        typer.Option(help="Evidence directory: new or empty, or with --resume the run's own."),
    ],
    fault: Annotated[list[str] | None, typer.Option(help=FAULT_HELP)] = None,
    dry_run_only: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and change nothing.")
    ] = False,
    operator: Annotated[str, typer.Option(help="'name; title; organisation; location; phone'")] = (
        OPERATOR
    ),
    verifier: Annotated[str, typer.Option(help="The independent verifier, same form.")] = VERIFIER,
    custodian_key_text: Annotated[
        str | None,
        typer.Option(
            "--custodian-key",
            help="The archive custodian's age recipient (age1..., or a file holding it): the "
            "archive keys are age-encrypted to it and bagged. Without it they are printed once.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Carry on the stopped or interrupted run recorded in --out.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace a non-empty evidence directory.")] = False,
) -> None:
    """Run the 2010 runbook: switch-off and probes, archive, destruction, checks, certificates.

    Exits 0 when every step passed, 1 when a go/no-go gate stopped the run (the evidence says
    where and why, and the command that resumes it; nothing is destroyed before the archive
    validates), 3 when a `crash-...` fault killed it (resume with --resume).
    """
    from decommission.custody import custodian_key
    from decommission.faults import fault_named
    from decommission.lock import DeploymentLock
    from decommission.rehearsal import dry_run
    from decommission.run_record import check_request, record_stop, recorded_outcome

    if dry_run_only:
        typer.echo(dry_run(deployment))
        return
    faults = fault or []
    for name in faults:
        fault_named(name)  # an unknown name is refused before anything happens
    people = _person(operator, "--operator"), _person(verifier, "--verifier")
    # a bad recipient is refused before anything happens
    custodian = custodian_key(custodian_key_text) if custodian_key_text else None
    again = _resume_command(deployment, out, operator, verifier, custodian_key_text)
    check_request(deployment, out, force=force, resume=resume)  # before the index is opened
    signal.signal(signal.SIGTERM, _interrupt)  # a polite kill stops as cleanly as Ctrl-C
    logging.getLogger("bagit").setLevel(logging.CRITICAL)  # its findings reach the gates
    try:
        with DeploymentLock(deployment) as lock:
            outcome = _rehearse_locked(
                deployment, out, faults, people, custodian, resume, force, again, lock
            )
    except KeyboardInterrupt:
        ended = recorded_outcome(out)
        if ended is None:
            _stderr(f"cpw: interrupted before the run began; resume with: {again}")
            raise typer.Exit(INTERRUPTED) from None
        outcome = ended  # the run recorded how it ended (Ctrl-C came then): report that end
    except (OSError, sqlite3.DatabaseError) as error:  # opening the deployment's index
        reason = f"before the run began: {type(error).__name__}: {error}"
        record_stop(out, reason, again)
        _stderr(f"cpw: stopped {reason}; once fixed, resume with: {again}")
        raise typer.Exit(1) from None
    for number in (signal.SIGINT, signal.SIGTERM):  # the outcome is recorded: finish saying so
        signal.signal(number, signal.SIG_IGN)
    console = stdout_console()
    if outcome.status == "completed":
        console.print(f"completed: {len(outcome.certificates)} certificate(s); evidence in {out}")
    else:
        console.print(f"stopped at {outcome.stopped_at}: {outcome.reason}; evidence in {out}")
        console.print(f"resume with: {again}", soft_wrap=True)
    console.print(f"report: {outcome.report}", soft_wrap=True)
    if outcome.status != "completed":
        _stderr(f"cpw: stopped at {outcome.stopped_at}: {outcome.reason}; resume with: {again}")
        interrupted = (outcome.reason or "").startswith("interrupted")
        raise typer.Exit(INTERRUPTED if interrupted else 1)


def _rehearse_locked(
    deployment: Path,
    out: Path,
    faults: list[str],
    people: tuple["Person", "Person"],
    custodian: "Recipient | None",
    resume: bool,
    force: bool,
    again: str,
    lock: "DeploymentLock",
) -> "Outcome":
    """The run, once the request is checked and the deployment's lock is held: the signing key
    is pinned, then the index is opened and the runbook run. A request refused after the key was
    pinned removes the pinned files it made (a refused command changes nothing)."""
    from decommission.coverage import SUPPLEMENT_NOTE
    from decommission.faults import Crash
    from decommission.rehearsal import rehearse

    console = stdout_console()
    verifier_key, pinned_now = _pin(out, deployment, custodian, console)
    try:
        setup, index = rehearsal_setup(
        deployment, out, *people, resume=resume, custodian=custodian,
            clock=lambda: dt.datetime.now(dt.UTC),  # the report's "ran at"; the CLI owns it
        )  # fmt: skip
    except InputError:
        _unpin(pinned_now)
        raise
    setup.verifier_key = verifier_key
    keys = setup.archive_keys

    def report(step: str, status: str, message: str) -> None:
        console.print(f"[bold]{step}[/bold] {status}: {message}")
        index.progress(step, status)
        new_part = status == "info" and SUPPLEMENT_NOTE in message
        if ((step == "archive" and status == "go") or new_part) and custodian is None:
            console.print(f"archive keys, shown once and written nowhere: hold {keys.holds.hex()}")
            console.print(f"                                              audit {keys.audit.hex()}")

    try:
        return rehearse(
            deployment, out, setup, faults=faults, force=force, progress=report, resume=resume,
            resume_command=again, locked=lock,
        )  # fmt: skip
    except InputError:
        _unpin(pinned_now)
        raise
    except Crash as crash:
        print(f"{crash}: the process dies here; resume with: {again}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(CRASH_EXIT)  # no clean-up, as when a process is killed
    finally:
        index.close()


def _unpin(created: list["Path"]) -> None:
    """Remove the pinned files this command made (a refused run changes nothing)."""
    for path in created:
        path.unlink(missing_ok=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _pin(
    out: Path, deployment: Path, custodian: "Recipient | None", console: "Console"
) -> tuple["Ed25519PrivateKey", list[Path]]:
    """The pinned signing key (decommission.signing), its fingerprint told to the operator."""
    from decommission.signing import RECORD_SUFFIX, beside, fingerprint, pin_signing_key, public_hex

    recipient = str(custodian) if custodian else None
    key, created = pin_signing_key(
        out, deployment=deployment, custodian=recipient, now=dt.datetime.now(dt.UTC)
    )
    console.print(
        f"certificates will be signed by the verifier key {fingerprint(public_hex(key))}, "
        f"pinned in the custodian's record {beside(out, RECORD_SUFFIX)}",
        soft_wrap=True,
    )
    return key, created


class LiveIndex:
    """The deployment's index opened through the facade for a rehearsal, closed as soon as the
    switch-off step shows it shut (so destruction finds its files free) or when the run ends."""

    def __init__(self, service: "ContactPoint | None", shutdown_step: str) -> None:
        self.service, self.shutdown_step = service, shutdown_step

    def progress(self, step: str, status: str) -> None:
        if step == self.shutdown_step and status == "go":
            self.close()

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service = None


def rehearsal_setup(
    deployment: Path,
    out: Path,
    sanitizer: "Person",
    verifier: "Person",
    *,
    resume: bool = False,
    custodian: "Recipient | None" = None,
    clock: Callable[[], dt.datetime] | None = None,
    sample_children: int = 50,
) -> tuple["Rehearsal", LiveIndex]:
    """What `cpw decommission rehearse` rehearses with (and bench/bench_decommission.py): the
    real facade and its probes, real identifiers sampled from the live index while it exists, a
    fresh verifier key and fresh archive keys. Close the LiveIndex when the run ends."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from decommission import journal
    from decommission.archive import ArchiveKeys
    from decommission.postgres import PostgresSwitch, has_servers, postgres_probes
    from decommission.probes import SystemSwitch, facade_probes, unreachable_facade_probes
    from decommission.rehearsal import Rehearsal
    from decommission.runbook import load_runbook
    from decommission.shutdown import Switchable
    from sim.index.layout import Layout, read_backend
    from sim.index.service import ContactPoint
    from sim.index.store.postgres_connection import ServerRefused

    runbook = load_runbook()
    shutdown = next(step for step in runbook.steps if step.kind == "shutdown")
    events = journal.read(out / journal.JOURNAL_FILE) if resume else []
    done = {event["step"] for event in journal.passed(events)}
    attempts = sum(1 for event in events if event.get("event") == "attempt")
    live = not (resume and shutdown.id in done)  # once shown shut, the index is not reopened
    servers = has_servers(deployment)
    refused_by_servers = False
    try:
        service = ContactPoint.open(deployment) if live else None
    except ServerRefused:  # an attempt that died switching off had shut the servers already
        if not servers:
            raise
        service, refused_by_servers = None, True
    index = LiveIndex(service, shutdown.id)
    try:
        when = runbook.when(shutdown)
        on_server = read_backend(Layout(deployment)).name != "sqlite"
        has_index = servers if on_server else Layout(deployment).index.is_file()
        switch: Switchable = SystemSwitch(service) if service else _ShutAlready()
        probes = facade_probes(service, deployment, when, attempts) if service else {}
        if refused_by_servers:
            switch, probes = _ShutByServers(), unreachable_facade_probes(deployment)
        if (service or refused_by_servers) and servers:  # its servers are paths in too
            switch = PostgresSwitch(switch, deployment)
            probes = {**probes, **postgres_probes(deployment)}
        setup = Rehearsal(
            index=switch,
            probes=probes,
            sanitizer=sanitizer,
            verifier=verifier,
            verifier_key=Ed25519PrivateKey.generate(),
            archive_keys=ArchiveKeys.generate(),
            sample_identifiers=_sample(deployment, sample_children) if has_index else [],
            custodian=custodian,
            clock=clock,
        )
    except BaseException:
        index.close()
        raise
    return setup, index


def _sample(deployment: Path, children: int) -> list[str]:
    """Identifiers sampled from the index while it is readable; none once a run that died
    destroying it left it cleared or malformed (the canaries are still scanned for)."""
    from decommission.probes import sample_identifiers

    try:
        return sample_identifiers(deployment, children)
    except (sqlite3.DatabaseError, WorkbenchError):  # a file cleared, a server gone
        return []


class _ShutByServers:
    """The facade of a resumed run whose servers already refuse it (the attempt that died
    switching off had switched the facade off first): nothing left to revoke through it."""

    def switch_off(self, *, by: str | None, now: object) -> int:
        return 0


class _ShutAlready:
    """The index of a resumed run whose switch-off passed: never reopened, never called."""

    def switch_off(self, *, by: str | None, now: object) -> int:
        raise InputError("the index was switched off in an earlier attempt")


def _resume_command(
    deployment: Path, out: Path, operator: str, verifier: str, custodian: str | None
) -> str:
    """The exact command that carries on this run (no fault, same people and custodian)."""
    words = ["cpw", "decommission", "rehearse", str(deployment), "--out", str(out), "--resume"]
    if operator != OPERATOR:
        words += ["--operator", operator]
    if verifier != VERIFIER:
        words += ["--verifier", verifier]
    if custodian:
        words += ["--custodian-key", custodian]
    return shlex.join(words)


@app.command("verify")
def verify_command(
    evidence: Annotated[Path, typer.Argument(help="An evidence directory from `rehearse`.")],
    public_key: Annotated[
        str | None,
        typer.Option(
            help="The verifier's public key pinned before the rehearsal: the custodian's record "
            "(EVIDENCE.custodian-record.json), 64 hex digits or a file of them; never a file "
            "inside the evidence folder."
        ),
    ] = None,
    fingerprint_text: Annotated[
        str | None,
        typer.Option("--fingerprint", help="Or the key's fingerprint (sha256:...) as printed."),
    ] = None,
    deployment: Annotated[
        Path | None, typer.Option(help="Re-scan the deployment directory too.")
    ] = None,
) -> None:
    """Independently re-check the evidence: signatures, hashes, and no residue left anywhere,
    against the verifier key pinned before the rehearsal (from outside the evidence folder)."""
    from decommission.evidence import signer_keys, verify_evidence
    from decommission.signing import (
        RECORD_SUFFIX,
        beside,
        fingerprint,
        key_for_fingerprint,
        trusted_key,
    )

    if not evidence.is_dir():
        raise InputError(f"{evidence}: no such evidence directory")
    if public_key is None and fingerprint_text is None:
        raise InputError(
            "verify: give --public-key (the custodian's record, "
            f"{beside(evidence, RECORD_SUFFIX)}) or --fingerprint, both pinned before the run"
        )
    if public_key is not None:
        key = trusted_key(public_key, evidence)
    else:
        key = key_for_fingerprint(str(fingerprint_text), signer_keys(evidence))
    if fingerprint_text is not None and fingerprint(key or "00" * 32) != fingerprint_text.lower():
        typer.echo(f"problem: the certificates are not signed by the key {fingerprint_text}")
        raise typer.Exit(1)
    problems = verify_evidence(evidence, key, deployment)
    for problem in problems:
        typer.echo(f"problem: {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{evidence}: every certificate, hash and residue check holds")


@app.command("answer-sar")
def answer_sar_command(
    archive: Annotated[
        Path, typer.Argument(help="The archive (an evidence directory or its bag).")
    ],
    request_id: Annotated[int, typer.Argument(help="The subject access request's number.")],
    custodian_key_text: Annotated[
        str,
        typer.Option(
            "--custodian-key",
            help="The custodian's age identity file (AGE-SECRET-KEY-1..., from age-keygen).",
        ),
    ],
    on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Answered on this day (default: today)."),
    ] = None,
    fee_paid_on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Record the fee (the amount asked) paid."),
    ] = None,
    identity_verified_on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Record the requester's identity confirmed."),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(help="The custodian's log (default: EVIDENCE.custodian-log.jsonl beside it)."),
    ] = None,
) -> None:
    """Answer a pending subject access request from the archive, after destruction, with the
    live index's disclosure rules (shielding included); prints the disclosure pack as JSON."""
    from decommission.answer import answer_request, bag_of, log_event
    from decommission.custody import custodian_identity
    from sim.index.audit import AuditEvent
    from sim.index.sar import SarRefused

    bag = bag_of(archive)
    identity = custodian_identity(custodian_key_text)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    day = on.date() if on else now.date()
    log_path = (
        log or bag.resolve().parent.parent / f"{bag.resolve().parent.name}.custodian-log.jsonl"
    )
    actor = "archive custodian"
    try:
        outcome = answer_request(
            bag, request_id, identity, day, actor=actor, at=now,
            fee_paid_on=fee_paid_on.date() if fee_paid_on else None,
            identity_verified_on=identity_verified_on.date() if identity_verified_on else None,
        )  # fmt: skip
    except SarRefused as refused:
        child = refused.detail.get("child_id")
        detail = {"request_id": request_id, "why": str(refused)}
        action = "subject access refused (archive)"
        log_event(log_path, AuditEvent(now, actor, action, "refused", child, detail=detail))
        raise
    log_event(log_path, outcome.event)
    typer.echo(outcome.pack.model_dump_json(indent=1) if outcome.pack else "{}")
