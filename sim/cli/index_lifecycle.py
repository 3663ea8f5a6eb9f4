"""`cpw index retention ...` and `cpw index sar ...`: the authority's housekeeping (thin layer)."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.index_options import At, Deployment, _clock
from sim.errors import InputError

if TYPE_CHECKING:
    from sim.index.sar import Requester

retention = typer.Typer(help="Retention: archive at 18 (25 with consent), purge after six years.",
                        no_args_is_help=True)  # fmt: skip
sar = typer.Typer(help="Subject access requests (DPA 1998 s7): 40 days, fee at most 10 GBP.",
                  no_args_is_help=True)  # fmt: skip
On = Annotated[str, typer.Option(help="The day it happened, YYYY-MM-DD.")]


def _day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


@retention.command("run")
def retention_run(
    deployment: Deployment,
    as_of: Annotated[str, typer.Option(help="Apply the rules as at this day, YYYY-MM-DD.")],
    at: At = None,
) -> None:
    """Archive and purge what is due at --as-of; every change is audited."""
    from sim.index.lifecycle import run_retention
    from sim.index.service import ContactPoint

    day = _day(as_of, "--as-of")
    with ContactPoint.open(deployment) as service:
        report = run_retention(service, day, now=_clock(at))
    archived = ", ".join(f"{n:,} {cause}" for cause, n in sorted(report.archived.items()))
    blocked = len(report.purge_blocked)
    typer.echo(f"as of {day}: archived {archived or 'none'}; purged {len(report.purged):,}; "
               f"purge blocked by a hold or open request {blocked:,}")  # fmt: skip


@sar.command("receive")
def sar_receive(
    deployment: Deployment,
    child_id: Annotated[str, typer.Argument(help="The child's index ID.")],
    requester: Annotated[str, typer.Option(help="child, or parent (for a child).")] = "child",
    on: On = "",
    at: At = None,
) -> None:
    """Log a written request; prints its number, the fee due and the 40-day clock."""
    from sim.index.service import ContactPoint

    if requester not in ("child", "parent"):
        raise InputError(f"--requester: {requester!r} is neither child nor parent")
    now = _clock(at)
    day = _day(on, "--on") if on else now.date()
    who: Requester = "child" if requester == "child" else "parent"
    with ContactPoint.open(deployment) as service:
        outcome = service.receive_subject_access_request(child_id, who, day, now=now)
    request = outcome.request
    typer.echo(f"request {request.request_id}: fee due {request.fee_due_pence / 100:.2f} GBP")


@sar.command("step")
def sar_step(
    deployment: Deployment,
    request_id: Annotated[int, typer.Argument(help="The request number.")],
    step: Annotated[str, typer.Argument(help="fee, identity, disclose or refuse.")],
    on: On = "",
    amount: Annotated[str, typer.Option(help="Fee paid, GBP (with `fee`).")] = "0",
    ground: Annotated[str, typer.Option(help="Ground for refusal (with `refuse`).")] = "",
    pack: Annotated[Path | None, typer.Option(help="Write the disclosure pack here.")] = None,
    at: At = None,
) -> None:
    """Record a fee or identity evidence, disclose, or refuse; audited either way."""
    from sim.index.lifecycle import progress_request
    from sim.index.service import ContactPoint

    if step not in ("fee", "identity", "disclose", "refuse"):
        raise InputError(f"STEP: {step!r} is not fee, identity, disclose or refuse")
    try:
        paid = Decimal(amount)
    except InvalidOperation:
        raise InputError(f"--amount: {amount!r} is not an amount") from None
    now = _clock(at)
    day = _day(on, "--on") if on else now.date()
    with ContactPoint.open(deployment) as service:
        outcome = progress_request(
            service, step, request_id, day, now=now, amount_gbp=paid, ground=ground or None
        )  # type: ignore[arg-type]
    if pack is not None and outcome.pack is not None:
        from sim.outputs import replace_file  # a disclosure pack is child data: owner-only

        replace_file(pack, (outcome.pack.model_dump_json(indent=2) + "\n").encode(), private=True)
    typer.echo(f"request {request_id}: {outcome.request.status(day)}")


@sar.command("pending")
def sar_pending(
    deployment: Deployment,
    as_of: Annotated[str, typer.Option(help="Day to judge the 40-day clock, YYYY-MM-DD.")],
) -> None:
    """Requests not yet answered, with their deadlines."""
    from sim.index.lifecycle import open_requests
    from sim.index.service import ContactPoint

    day = _day(as_of, "--as-of")
    with ContactPoint.open(deployment) as service:
        requests = open_requests(service, day)
    typer.echo(f"pending: {len(requests)}")
    for request in requests:
        typer.echo(f"{request.request_id}  {request.child_id}  {request.status(day)}")
