"""`cpw postgres`: start, stop and inspect a PostgreSQL deployment's servers (after a reboot, or
a replica site brought back during a rehearsal)."""

from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError

app = typer.Typer(
    help="A `cpw deploy --backend postgres` deployment's servers: start, stop, status.",
    no_args_is_help=True,
)
DeploymentArg = Annotated[Path, typer.Argument(help="A deployment made with --backend postgres.")]


def _topology(deployment: Path):
    from sim.postgres.topology import Topology

    topology = Topology(Path(deployment))
    if not topology.exists():
        raise InputError(
            f"{deployment}: no PostgreSQL primary here (cpw deploy --backend postgres)"
        )
    return topology


@app.command("start")
def start(deployment: DeploymentArg) -> None:
    """Start the primary, then the streaming replica (pointed at the primary where it now is)."""
    from sim.postgres.topology import start_all

    _topology(deployment)
    start_all(deployment)
    status(deployment)


@app.command("stop")
def stop(
    deployment: DeploymentArg,
    mode: Annotated[str, typer.Option(help="smart, fast or immediate.")] = "fast",
) -> None:
    """Stop the replica, then the primary."""
    from sim.postgres.topology import stop_all

    _topology(deployment)
    stopped = stop_all(deployment, mode=mode)
    typer.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command("status")
def status(deployment: DeploymentArg) -> None:
    """Each server: running or not, its data directory and how to connect (libpq conninfo)."""
    from sim.postgres import server as pg

    for server in _topology(deployment).servers():
        state = "running" if pg.is_running(server) else "stopped"
        typer.echo(f"{server.data_dir.name}: {state}  {server.conninfo()}")
