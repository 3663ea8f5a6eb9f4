"""`cpw serve DEPLOYMENT`: the index in a browser (sim.web), run by uvicorn.

FastAPI and uvicorn are imported only when the command runs, so `cpw --help` stays quick.
Plain HTTP is allowed on loopback only; any other host needs --ssl-certfile and --ssl-keyfile
(the session cookie is then Secure). Which addresses count as accredited networks is the
deployment's own setting (DEPLOYMENT.web.toml beside it; sim.web.settings).
"""

import datetime as dt
import os
import secrets
import time
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError

HEX = frozenset("0123456789abcdefABCDEF")

KEEP_ALIVE_SECONDS = 75  # nginx's default keepalive_timeout


def _audit_key(value: str | None) -> str | None:
    """The audit public key: 64 hex digits, or a file holding them (kept outside the tree)."""
    if value is None:
        return None
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    if len(text) != 64 or not set(text) <= HEX:
        raise InputError(f"--audit-key: {value!r} is neither 64 hex digits nor a file of them")
    return text


def _start(deployment: Path, at: str | None) -> dt.datetime:
    """--at, else one minute after the deployment's last audited act (so a token code is never
    a replay of one already used and the log stays in time order), or 10:00 on its day."""
    if at is not None:
        try:
            return dt.datetime.fromisoformat(at)
        except ValueError:
            raise InputError(f"--at: {at!r} is not an ISO date-time (2010-01-04T10:00)") from None
    try:
        made = tomllib.loads((deployment / "inventory.toml").read_text())["made_on"]
        start = dt.datetime.combine(dt.date.fromisoformat(str(made)), dt.time(10, 0))
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
        raise InputError(f"{deployment}: no made_on in inventory.toml; give --at") from None
    last = _last_audited(deployment)
    return max(start, last + dt.timedelta(minutes=1)) if last else start


def _last_audited(deployment: Path) -> dt.datetime | None:
    import polars as pl

    from sim.index.audit import scan_audit
    from sim.index.layout import Layout

    try:
        last = scan_audit(Layout(deployment).audit).select(pl.col("time").max()).collect().item()
    except (OSError, pl.exceptions.PolarsError):
        return None
    return last.replace(second=0, microsecond=0) if last else None


def serve(
    deployment: Annotated[Path, typer.Argument(help="A deployment made by `cpw deploy`.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    at: Annotated[
        str | None,
        typer.Option(envvar="CPW_AT", help="Simulation clock at start (default: 10:00 on the "
                     "deployment's day); it then runs with the wall clock."),
    ] = None,
    clock_rate: Annotated[
        float, typer.Option(help="Simulated seconds per wall-clock second.")
    ] = 1.0,
    audit_key: Annotated[
        str | None,
        typer.Option(help="Audit public key (64 hex digits or a file) for the operator's "
                     "verification page; keep it outside the deployment."),
    ] = None,
    profile: Annotated[
        str, typer.Option(help="production, or simulation (cheap hashing for new accounts).")
    ] = "production",
    facade_threads: Annotated[
        int, typer.Option(help="Threads per worker calling the facade (more let a worker's "
                          "audit appends share one sync: group commit, for audit_sync = "
                          "fdatasync).")
    ] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
) -> None:  # fmt: skip
    """Serve the index to browsers: log in, search, view, shield, administer, switch off."""
    from sim.index.layout import Layout, read_backend
    from sim.web.settings import ServeOptions, is_loopback, load_networks

    index = read_backend(Layout(deployment)).index  # a SQLite file, or a database on a server
    if isinstance(index, Path) and not index.is_file():
        raise InputError(f"{deployment}: not a deployment (index/index.db missing)")
    tls = ssl_certfile is not None and ssl_keyfile is not None
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise InputError("--ssl-certfile and --ssl-keyfile go together")
    if not tls and not is_loopback(host):
        raise InputError(f"--host {host}: plain HTTP is allowed on loopback only; give TLS files")
    if not 1 <= workers <= 64 or not 1 <= facade_threads <= 64:
        raise InputError("--workers and --facade-threads must be 1-64")
    if not 0 < port < 65536 or not 0 < clock_rate <= 3600:
        raise InputError("--port must be 1-65535, --clock-rate in (0, 3600]")
    networks = load_networks(deployment)
    options = ServeOptions(
        deployment=str(deployment.resolve()),
        start=_start(deployment, at).isoformat(),
        origin=time.time(),
        secret=secrets.token_hex(32),
        rate=clock_rate,
        profile=profile,
        tls=tls,
        audit_key=_audit_key(audit_key),
        facade_threads=facade_threads,
        networks={name: [str(r) for r in ranges] for name, ranges in networks.items()},
        supervisor=os.getpid(),
    )
    options.to_environment()
    import uvicorn

    scheme = "https" if tls else "http"
    typer.echo(f"ContactPoint on {scheme}://{host}:{port}/ (clock {options.start}; Ctrl-C stops)")
    if not networks:
        typer.echo(f"note: no accredited network addresses set ({deployment}.web.toml): "
                   "every login will be refused")  # fmt: skip
    uvicorn.run(
        "sim.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,  # served directly: a client's address is never taken from a header
        server_header=False,
        access_log=False,  # every act is in the audit log
        log_level="warning",
        # a practitioner's browser holds its connection between searches; uvicorn's 5 s default
        # closes idle ones so soon that a request sent as it closes meets a closed connection
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
