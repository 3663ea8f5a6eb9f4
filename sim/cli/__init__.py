"""`cpw`: a thin command-line layer over the workbench's public API.

Start-up stays light (`cpw --help` well under half a second): a module in sim/cli imports only
the standard library, typer, sim.errors and other sim/cli modules at its top; a command imports
the rest (polars, the index, the simulation, decommissioning, plotting) inside its function,
and a type it needs only for hints is imported under `if TYPE_CHECKING:` and quoted.
tests/test_install.py checks which modules `--help` loads.
"""

import os
import sys

import typer

from sim.cli import (
    data,
    decommission,
    deploy,
    experiments,
    index,
    index_lifecycle,
    population,
    postgres,
    serve,
    simulate,
)
from sim.errors import WorkbenchError

app = typer.Typer(
    name="cpw",
    help="ContactPoint workbench: synthetic England, the index, simulation and decommissioning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("synth")(population.synth)
app.command("check-population")(population.check_population_dir)
app.command("demo")(simulate.demo)
app.command("deploy")(deploy.deploy)
app.command("serve")(serve.serve)
app.command("simulate")(simulate.simulate)
app.command("compare")(experiments.compare)
app.command("sweep")(experiments.sweep)
app.command("sensitivity")(experiments.sensitivity)
app.add_typer(data.app, name="data")
index.app.add_typer(index_lifecycle.retention, name="retention")
index.app.add_typer(index_lifecycle.sar, name="sar")
app.add_typer(index.app, name="index")
app.add_typer(decommission.app, name="decommission")
app.add_typer(postgres.app, name="postgres")


def main() -> None:
    """Entry point: user errors print one line and exit 2; Ctrl-C exits 130."""
    try:
        app()
    except WorkbenchError as exc:
        print(f"cpw: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("cpw: interrupted; no partial output was kept", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("CPW_DEBUG"):
            raise
        print(
            f"cpw: internal error: {type(exc).__name__}: {exc} (set CPW_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
