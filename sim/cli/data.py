"""`cpw data`: inspect and validate the reference data in data/."""

from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError

app = typer.Typer(help="Reference data: validate every file in data/.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Load and validate every data file; the first error names the file, row and field."""
    from rich.console import Console
    from rich.table import Table

    from sim.catalog import validate_all

    table = Table("file", "what it holds", "rows/values")
    for entry in validate_all():
        table.add_row(entry.path, entry.description, str(entry.size))
    Console().print(table)


@app.command("measure-miss-rate")
def measure_miss_rate(
    population: Annotated[Path, typer.Argument(help="A population directory (`cpw synth`).")],
    seed: Annotated[int, typer.Option(help="Seed for the feeds' errors.")] = 1,
    sample: Annotated[int, typer.Option(help="Children searched for.")] = 2000,
    write: Annotated[
        bool, typer.Option("--write", help="Write it to data/regimes/paths.toml with its source.")
    ] = False,
) -> None:
    """Measure the modelled index's search-miss rate on an index loaded from the source feeds."""
    from sim.regimes.miss_rate import measure_miss_rate as measure
    from sim.regimes.miss_rate import write_miss_rate

    if seed < 0:
        raise InputError(f"--seed: must be a non-negative integer, got {seed}")
    measured = measure(population, seed, sample)
    low, high = measured.interval
    typer.echo(
        f"search miss rate {measured.rate:.4f} (95% CI {low:.4f} to {high:.4f}): "
        f"{measured.missed:,} of {measured.searched:,} children not found; "
        f"{measured.records:,} records for {measured.children:,} children, "
        f"{measured.duplicates:,} children under more than one"
    )
    if write:
        typer.echo(f"written to {write_miss_rate(measured)}")
