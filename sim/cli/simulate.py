"""`cpw simulate`: run regimes on one simulated world and write the event log and metrics."""

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.cli.console import stdout_console
from sim.cli.population import DEFAULT_SEED, _split
from sim.errors import InputError
from sim.population.output import read_population
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import select_authorities
from sim.regimes import SCENARIOS, SimulationConfig, run_simulation


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _population(directory: Path | None, region: str | None, scale: float, seed: int) -> dict:
    if directory is not None:
        return read_population(directory)
    if not 0 < scale <= 1:
        raise InputError(f"--scale: must be in (0, 1], got {scale:g}")
    codes = tuple(a.code for a in select_authorities([region] if region else None))
    return synthesise(SynthRequest(seed, scale, codes), workers=os.cpu_count() or 1)


def simulate(
    out: Annotated[Path, typer.Option(help="Run directory (must be new or empty).")] = Path(
        "runs/simulation"
    ),
    region: Annotated[str | None, typer.Option(help="One region; all England if omitted.")] = None,
    scenarios: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(SCENARIOS)}.")
    ] = "none,contactpoint,signposting",
    population: Annotated[
        Path | None, typer.Option(help="A `cpw synth` directory; made in memory if omitted.")
    ] = None,
    scale: Annotated[float, typer.Option(help="Scale when making the population.")] = 1.0,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2009-01-01",
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")] = "2011-03-31",
    seed: Annotated[int, typer.Option(help="Seed for the world and every regime.")] = DEFAULT_SEED,
    force: Annotated[bool, typer.Option(help="Replace a non-empty run directory.")] = False,
) -> None:
    """Run scenarios (regimes switching on dates) on one world; write events, metrics, manifest."""
    first, last = _date(start, "--start"), _date(end, "--end")
    if last <= first:
        raise InputError(f"--end: {last} is not after --start {first}")
    if seed < 0:
        raise InputError(f"--seed: must be a non-negative integer, got {seed}")
    config = SimulationConfig(
        seed=seed,
        scenarios=tuple(_split([scenarios])),
        region=region,
        start=first,
        end=last,
        force=force,
    )
    if region is not None:
        select_authorities([region])  # an unknown region fails here, before any work
    tables = _population(population, region, scale, seed)
    console = stdout_console()
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("days", total=(last - first).days + 1)
        summary = run_simulation(
            tables, config, out, progress=lambda done, total: bar.update(task, completed=done)
        )
    _print(summary.figures, console)
    console.print(
        f"{summary.world_events:,} world events and {summary.regime_events:,} regime events in "
        f"{summary.wall_seconds:.1f} s; {summary.vulnerable_movers:,} vulnerable movers; "
        f"lookups: {summary.lookup_backend}. Wrote {out}."
    )


def _print(figures: pl.DataFrame, console) -> None:
    """Scenarios as columns, figures as rows: readable however many figures there are."""
    table = Table(title="Whole-run figures by scenario")
    scenarios = figures["scenario"].to_list()
    table.add_column("figure")
    for name in scenarios:
        table.add_column(name, justify="right")
    first = ["lost_30_per_1000", "lost_90_per_1000", "vulnerable_movers", "total_gbp"]
    order = [c for c in first if c in figures.columns]
    order += [c for c in figures.columns if c not in order and c != "scenario"]
    for column in order:
        values = figures[column].to_list()
        table.add_row(column.replace("_", " "), *(f"{v:,.1f}" for v in values))
    console.print(table)
