"""Options shared by the `cpw index` commands: the deployment, the clock and a user's login."""

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.index.service import ContactPoint

Deployment = Annotated[Path, typer.Argument(help="A deployment directory made by `cpw deploy`.")]
At = Annotated[
    str | None,
    typer.Option(envvar="CPW_AT", help="The clock: ISO date-time, local (default: now)."),
]
User = Annotated[str, typer.Option("--user", envvar="CPW_USER", help="Username.")]
Password = Annotated[str, typer.Option(envvar="CPW_PASSWORD", help="Password (or CPW_PASSWORD).")]
Pin = Annotated[str, typer.Option(envvar="CPW_PIN", help="Token PIN (or CPW_PIN).")]
Code = Annotated[str, typer.Option(envvar="CPW_TOKEN_CODE", help="The token's current code.")]
Network = Annotated[str, typer.Option(envvar="CPW_NETWORK", help="Network connecting from.")]
Demo = Annotated[
    Path | None,
    typer.Option(
        "--demo-credentials",
        envvar="CPW_DEMO_CREDENTIALS",
        help="A deployment's demo credentials file: password, PIN and token code for --user.",
    ),
]
Profile = Annotated[
    str, typer.Option(envvar="CPW_PROFILE", help="production, or simulation (cheap hashing).")
]


def _clock(at: str | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now().replace(microsecond=0)
    try:
        return dt.datetime.fromisoformat(at)
    except ValueError:
        raise InputError(f"--at: {at!r} is not an ISO date-time (2010-01-04T10:00)") from None


def _demo_user(path: Path, user: str, now: dt.datetime) -> tuple[str, str, str, str]:
    """Password, PIN, token code and network of a demo user (`cpw deploy` credentials file)."""
    from sim.index.access import load_access_rules, token_code

    try:
        entry = json.loads(path.read_text())["users"][user]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"--demo-credentials: no user {user!r} in {path}") from None
    code = token_code(entry["token_secret"], now, load_access_rules())
    return entry["password"], entry["pin"], code, entry["network"]


@contextmanager
def _signed_in(
    deployment: Path,
    user: str,
    password: str,
    pin: str,
    code: str,
    network: str,
    at: str | None,
    demo: Path | None = None,
) -> Iterator[tuple["ContactPoint", str, dt.datetime]]:
    """Open the deployment, log in, yield (service, session, now), log out and close."""
    from sim.index.service import ContactPoint

    now = _clock(at)
    if demo is not None:
        password, pin, code, network = _demo_user(demo, user, now)
    with ContactPoint.open(deployment) as service:
        session = service.login(user, password, pin, code, network=network, now=now)
        yield service, session, now
        service.logout(session, now=now)
