"""`cpw synth` and `cpw demo`: make synthetic England and summarise it."""

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.console import stdout_console
from sim.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_SEED = 20090106


def _split(values: list[str] | None) -> list[str]:
    """Accept both repeated options and comma-separated lists."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def make_population(
    out: Path,
    scale: float = 1.0,
    regions: list[str] | None = None,
    authorities: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    force: bool = False,
    console: "Console | None" = None,
) -> dict:
    """Synthesise and write a population; the API behind `cpw synth`. Returns the manifest."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from sim.outputs import check_output_dir
    from sim.population.output import write_population
    from sim.population.summary import summary_by_region
    from sim.population.synth import SynthRequest
    from sim.reference.authorities import select_authorities

    if not 0 < scale <= 1:
        raise InputError(f"--scale: must be in (0, 1], got {scale:g}")
    if seed < 0:
        raise InputError(f"--seed: must be a non-negative integer, got {seed}")
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    chosen = select_authorities(_split(regions), _split(authorities))
    request = SynthRequest(seed=seed, scale=scale, authority_codes=tuple(a.code for a in chosen))
    check_output_dir(out, force)
    console = console or Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("synthesising"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("authorities", total=len(chosen), last="")
        written = write_population(
            request,
            out,
            force=force,
            workers=workers,
            on_authority=lambda result: progress.update(task, advance=1, last=result["code"]),
        )
    manifest = written["manifest"]
    manifest["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    manifest["summary"] = summary_by_region(written["counts"])
    return manifest


def print_summary(manifest: dict, out: Path, console: "Console") -> None:
    from rich.table import Table

    summary = manifest["summary"]
    table = Table(title=f"Synthetic England, seed {manifest['seed']}, scale {manifest['scale']:g}")
    for column in summary.columns:
        table.add_column(
            column.replace("_", " "), justify="left" if column == "region" else "right"
        )
    for row in summary.iter_rows():
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    console.print(table)
    console.print(f"Wrote {out} in {manifest['elapsed_seconds']} s (manifest.json has provenance).")


def synth(
    out: Annotated[Path, typer.Option(help="Output directory (must be new or empty).")] = Path(
        "runs/population"
    ),
    scale: Annotated[float, typer.Option(help="Fraction of England's children, in (0, 1].")] = 1.0,
    regions: Annotated[
        list[str] | None, typer.Option(help="Region name(s), repeatable or comma-separated.")
    ] = None,
    authorities: Annotated[
        list[str] | None, typer.Option(help="Authority names or GSS codes.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for every random draw.")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(help="Processes to use.")] = os.cpu_count() or 1,
    force: Annotated[bool, typer.Option(help="Replace a non-empty output directory.")] = False,
) -> None:
    """Make synthetic England: children, carers, homes, schools, GP practices, practitioners."""
    console = stdout_console()
    manifest = make_population(out, scale, regions, authorities, seed, workers, force)
    print_summary(manifest, out, console)


def check_population_dir(
    population: Annotated[Path, typer.Argument(help="A directory written by `cpw synth`.")],
) -> None:
    """Check a population against the acceptance rules: counts, ages, IDs, households, schools."""
    from rich.table import Table

    from sim.population.checks import check_population
    from sim.population.output import MANIFEST, read_population

    directory = population
    tables = read_population(directory)
    scale = json.loads((directory / MANIFEST).read_text())["scale"]
    console = stdout_console()
    table = Table("check", "result", "detail", title=f"Checks of {directory}")
    checks = check_population(tables, scale)
    for check in checks:
        table.add_row(check.name, "pass" if check.passed else "FAIL", check.detail)
    console.print(table)
    if not all(check.passed for check in checks):
        raise typer.Exit(1)
