"""`cpw data`: inspect and validate the reference data in data/."""

import typer

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
