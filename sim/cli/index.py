"""`cpw index ...`: using and administering the ContactPoint index (a thin layer over sim.index).

Commands that act as a user log in first (username, password, PIN, token code, network), do one
thing through the facade, and log out; everything is audited by the facade. Secrets come from
options or environment variables (CPW_PASSWORD, CPW_PIN...) and are never written to the log.
The clock is the simulation's: `--at` (or CPW_AT), naive local time.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.index_accounts import login_check, tokens, users
from sim.cli.index_audit import audit_alerts, audit_verify
from sim.cli.index_options import (
    At,
    Code,
    Demo,
    Deployment,
    Network,
    Password,
    Pin,
    Profile,
    User,
    _clock,
    _signed_in,
)
from sim.errors import InputError

if TYPE_CHECKING:
    from sim.index.search import SearchResult
    from sim.index.view import RecordView

__all__ = ["At", "Deployment", "Profile", "_clock", "app"]

app = typer.Typer(
    help="The ContactPoint index: build, users and tokens, search, view, shield, audit.",
    no_args_is_help=True,
)


def build(
    population: Annotated[Path, typer.Argument(help="A population directory (`cpw synth`).")],
    out: Annotated[Path, typer.Option(help="The index file to create, e.g. index.db.")],
    from_feeds: Annotated[
        bool, typer.Option("--from-feeds", help="Load from the matched source feeds, not truth.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for the feeds' errors (--from-feeds).")] = 1,
) -> None:
    """Build an index (SQLite) from a synthetic population, or from its source feeds."""
    from sim.feeds.build import build_index_from_feeds
    from sim.index.build import build_index

    if not population.is_dir():
        raise InputError(f"{population}: no population directory (make one with `cpw synth`)")
    if not from_feeds:
        stats = build_index(population, out)
        typer.echo(f"index {stats.path}: {stats.children:,} children in {stats.seconds:.1f} s")
        return
    fed = build_index_from_feeds(population, out, seed)
    report = fed.report
    typer.echo(f"index {fed.path}: {fed.children:,} children in {fed.seconds:.1f} s")
    typer.echo(
        f"feeds {fed.feeds_seconds:.1f} s ({fed.feed_records:,} records), "
        f"weights {fed.weights_seconds:.1f} s, matching {fed.matching_seconds:.1f} s, "
        f"loading {fed.loading_seconds:.1f} s ({fed.batches} batch(es) of birth cohorts)"
    )
    typer.echo(
        f"precision {report.precision:.4f}, recall {report.recall:.4f}, "
        f"duplicate rate {report.duplicate_rate:.4f}, review queue {fed.review_queue:,}"
    )


def reasons() -> None:
    """List the reasons a user may state to open a record."""
    from sim.index.view import view_reasons

    for reason in view_reasons():
        typer.echo(reason)


def _print_result(result: "SearchResult") -> None:
    capped = f" (first {len(result.hits)} shown)" if result.capped else ""
    typer.echo(f"{result.matched} match(es){capped}")
    for hit in result.hits:
        mark = "  [shielded]" if hit.shielded else ""
        typer.echo(
            f"{hit.child_id}  {hit.surname.upper()}, {hit.forename}  {hit.date_of_birth}  "
            f"{hit.gender}  score {hit.score:.2f}{mark}"
        )


def search(
    deployment: Deployment,
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    surname: Annotated[str | None, typer.Option(help="Surname.")] = None,
    forename: Annotated[str | None, typer.Option(help="Forename.")] = None,
    dob: Annotated[str | None, typer.Option(help="Date of birth, YYYY-MM-DD.")] = None,
    gender: Annotated[str | None, typer.Option(help="male, female or not known.")] = None,
    postcode: Annotated[str | None, typer.Option(help="Postcode.")] = None,
    school: Annotated[str | None, typer.Option(help="School URN.")] = None,
    gp: Annotated[str | None, typer.Option(help="GP practice code.")] = None,
    index_id: Annotated[str | None, typer.Option(help="Index ID.")] = None,
    fuzzy: Annotated[bool, typer.Option(help="Forgive typos and swapped day/month.")] = False,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Search the index (as a user): names, date of birth, gender, postcode, school, GP."""
    given = {"surname": surname, "forename": forename, "date_of_birth": dob, "gender": gender,
             "postcode": postcode, "school_code": school, "gp_practice_code": gp,
             "index_id": index_id}  # fmt: skip
    query = {k: v for k, v in given.items() if v is not None} | {
        "mode": "fuzzy" if fuzzy else "exact"
    }
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        result = service.search(session, query, now=now)
    _print_result(result)


def _print_view(shown: "RecordView") -> None:
    typer.echo(
        f"index ID: {shown.index_id}" + ("  [SHIELDED: identity only]" if shown.shielded else "")
    )
    typer.echo(f"reason: {shown.reason}")
    for section in shown.sections_shown()[1:]:
        value = getattr(shown, section)
        if isinstance(value, tuple):
            for item in value:
                typer.echo(
                    f"{section}: {json.dumps(item.model_dump(mode='json', exclude_none=True))}"
                )
        elif hasattr(value, "model_dump"):
            typer.echo(f"{section}: {json.dumps(value.model_dump(mode='json', exclude_none=True))}")
        else:
            typer.echo(f"{section}: {value}")


def view(
    deployment: Deployment,
    child_id: Annotated[str, typer.Argument(help="The child's index ID.")],
    reason: Annotated[str, typer.Option(help="Why (see `cpw index reasons`).")],
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Open one record for a stated reason (as a user)."""
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        shown = service.view(session, child_id, reason, now=now)
    _print_view(shown)


shield = typer.Typer(help="Shielding: request, and decide case by case.", no_args_is_help=True)


@shield.command("request")
def shield_request(
    deployment: Deployment,
    child_id: Annotated[str, typer.Argument(help="The child's index ID.")],
    criterion: Annotated[str, typer.Option(help="e.g. 'domestic abuse refuge'.")],
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Ask for a child to be shielded (management team); another member decides."""
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        event = service.request_shielding(session, child_id, criterion, now=now)
    typer.echo(f"shielding request {event.request_id}: {event.child_id}, {event.criterion}")


@shield.command("decide")
def shield_decide(
    deployment: Deployment,
    request_id: Annotated[int, typer.Argument(help="The request number.")],
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    approve: Annotated[bool, typer.Option("--approve/--reject", help="The decision.")] = True,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Approve or reject a shielding request (management team; not the requester)."""
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        event = service.decide_shielding(session, request_id, approve, now=now)
    typer.echo(f"{event.action}: request {event.request_id}, {event.child_id}")


# STATUS -> (intends to return within three years, or None to clear; what the command prints)
LEAVING: dict[str, tuple[bool | None, str]] = {
    "returning": (True, "left England, intends to return within three years"),
    "for-good": (False, "left England, does not intend to return within three years"),
    "clear": (None, "leaving-England status cleared"),
}


def leaving_england(
    deployment: Deployment,
    child_id: Annotated[str, typer.Argument(help="The child's index ID.")],
    status: Annotated[str, typer.Argument(help="returning, for-good or clear.")],
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Record that a child has left England, intending to return within three years or not,
    or clear it (SI 2007/2182 Sch 1 para 2(d); the child's own management team)."""
    if status not in LEAVING:
        raise InputError(f"STATUS: {status!r} is not returning, for-good or clear")
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        service.set_leaving_england(session, child_id, LEAVING[status][0], now=now)
    typer.echo(f"{child_id}: {LEAVING[status][1]}")


def switch_off(deployment: Deployment, at: At = None) -> None:
    """Switch the service off: every account revoked, every login refused after (operator)."""
    from sim.index.service import ContactPoint

    with ContactPoint.open(deployment) as service:
        revoked = service.switch_off(by=None, now=_clock(at))
    typer.echo(f"service switched off: {revoked} account(s) revoked")


audit = typer.Typer(
    help="The audit trail: verify the hash chain and run monitoring rules.", no_args_is_help=True
)
audit.command("verify")(audit_verify)
audit.command("alerts")(audit_alerts)
app.command("build")(build)
app.command("reasons")(reasons)
app.add_typer(users, name="user")
app.add_typer(tokens, name="token")
app.command("login-check")(login_check)
app.command("search")(search)
app.command("view")(view)
app.add_typer(shield, name="shield")
app.command("leaving-england")(leaving_england)
app.command("switch-off")(switch_off)
app.add_typer(audit, name="audit")
