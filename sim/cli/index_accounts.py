"""`cpw index user|token|login-check`: accounts, security tokens and checking a login."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

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

users = typer.Typer(help="Accounts: add a user.", no_args_is_help=True)


@users.command("add")
def user_add(
    deployment: Deployment,
    username: Annotated[str, typer.Option(help="The new username.")],
    forename: Annotated[str, typer.Option(help="Forename.")],
    surname: Annotated[str, typer.Option(help="Surname.")],
    role: Annotated[
        str, typer.Option(help="practitioner, management_team or national_administrator.")
    ],
    organisation: Annotated[str, typer.Option(help="Organisation code or name.")],
    authority: Annotated[
        str | None, typer.Option(help="Authority code (none for national).")
    ] = None,
    organisation_kind: Annotated[
        str, typer.Option(help="e.g. local_authority, school.")
    ] = "local_authority",
    sector: Annotated[str, typer.Option(help="e.g. social care, education.")] = "social care",
    password: Annotated[str, typer.Option(envvar="CPW_NEW_PASSWORD", help="New password.")] = "",
    pin: Annotated[str, typer.Option(envvar="CPW_NEW_PIN", help="New PIN.")] = "",
    vetted_on: Annotated[str | None, typer.Option(help="CRB, training, agreement date.")] = None,
    at: At = None,
    profile: Profile = "production",
) -> None:
    """Add a user as the operator (audited as "system"); --vetted-on records vetting too."""
    from sim.index.access import NewAccount
    from sim.index.service import ContactPoint

    now = _clock(at)
    vetted = dt.date.fromisoformat(vetted_on) if vetted_on else now.date()
    new = NewAccount(
        username, forename, surname, sector, organisation, organisation_kind, authority, role
    )  # type: ignore[arg-type]
    with ContactPoint.open(deployment, profile=profile) as service:
        service.add_user(new, password, pin, vetted_on=vetted, by=None, now=now)
    typer.echo(f"user {username} added ({role}, {authority or 'national'}), vetted {vetted}")


tokens = typer.Typer(
    help="Security tokens: issue one, or show a token's code.", no_args_is_help=True
)


@tokens.command("issue")
def token_issue(
    deployment: Deployment,
    username: Annotated[str, typer.Option(help="Whose token.")],
    at: At = None,
) -> None:
    """Issue a token; its secret is posted to the holder alone (a letter in
    DEPLOYMENT.token-letters, owner-only), never printed here."""
    from sim.index.access.enrolment import letter_path
    from sim.index.service import ContactPoint

    with ContactPoint.open(deployment) as service:
        serial = service.issue_token(username, by=None, now=_clock(at))
        letter = letter_path(service.access.letters, username)
    typer.echo(f"token {serial} issued to {username}; its secret is in their letter: {letter}")


@tokens.command("code")
def token_code_command(
    secret: Annotated[str, typer.Option(envvar="CPW_TOKEN_SECRET", help="The token secret.")] = "",
    letter: Annotated[
        Path | None, typer.Option(help="The holder's token letter (instead of --secret).")
    ] = None,
    at: At = None,
) -> None:
    """Print the code a token shows at --at (what the key fob would display), from its secret
    or from the holder's token letter."""
    from sim.index.access import load_access_rules, token_code
    from sim.index.access.enrolment import read_letter

    if letter is not None:
        secret = read_letter(letter)
    try:
        typer.echo(token_code(secret, _clock(at), load_access_rules()))
    except (ValueError, TypeError):
        raise InputError("--secret: not a base32 token secret") from None


def login_check(
    deployment: Deployment,
    user: User, password: Password = "", pin: Pin = "", code: Code = "", demo: Demo = None,
    network: Network = "GCSx", at: At = None,
) -> None:  # fmt: skip
    """Log in and out: check a user's credentials, token and conditions of access."""
    with _signed_in(deployment, user, password, pin, code, network, at, demo) as (
        service,
        session,
        now,
    ):
        who = service.access.session(session, now=now)
    typer.echo(f"login ok: {who.username} ({who.role}, {who.authority_code or 'national'})")
