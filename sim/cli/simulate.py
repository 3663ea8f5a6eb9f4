"""`cpw simulate SCENARIO`: run a scenario file's replications and write a run directory."""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.console import stdout_console
from sim.cli.run_options import (
    PsaOption,
    RegionOption,
    ReplicationsOption,
    ScaleOption,
    with_run_options,
)
from sim.errors import InputError

if TYPE_CHECKING:
    from sim.experiments.run import ExperimentResult
    from sim.experiments.scenario import Scenario


def _workers(workers: int) -> int:
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    return workers


def run_with_progress(
    scenario: "Scenario", out: Path, workers: int, force: bool, scheduler: str | None = None
) -> "ExperimentResult":
    """Run with a progress bar (simulated days, with an ETA) on the terminal."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from sim.experiments.report import write_report
    from sim.experiments.run import run_experiment

    days = (scenario.period.end - scenario.period.start).days + 1
    with Progress(
        TextColumn("simulating {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stdout_console(),
        transient=True,
    ) as bar:
        total = days * scenario.replications
        task = bar.add_task(f"{scenario.replications} replication(s)", total=total)
        return run_experiment(
            scenario,
            out,
            workers=workers,
            force=force,
            progress=lambda advance: bar.advance(task, advance),
            report=write_report,
            scheduler=scheduler,
        )


def _cell(mean: float, low: float, high: float) -> str:
    if mean != mean:
        return "n/a"
    if low != low:
        return f"{mean:,.1f}"
    return f"{mean:,.1f} ({low:,.1f} to {high:,.1f})"


def print_tables(result: "ExperimentResult") -> None:
    """Figures by arm with 95% CIs, then paired differences from the first arm."""
    import polars as pl
    from rich.table import Table

    from sim.experiments.stats import HEADLINE, LABELS

    console = stdout_console()
    arms = result.figures["arm"].unique(maintain_order=True).to_list()
    table = Table(title="Mean across replications (95% confidence interval)")
    table.add_column("figure")
    for arm in arms:
        table.add_column(arm, justify="right")
    confidence = result.confidence
    for metric in HEADLINE:
        rows = confidence.filter(pl.col("metric") == metric)
        cells = []
        for arm in arms:
            row = rows.filter(pl.col("arm") == arm)
            cells.append(
                _cell(*row.select("mean", "ci_low", "ci_high").row(0)) if row.height else ""
            )
        table.add_row(LABELS[metric], *cells)
    console.print(table)
    if result.differences.height:
        reference = result.differences["reference"][0]
        others = [a for a in arms if a != reference]
        diff = Table(title=f"Paired difference from '{reference}' (same worlds; 95% CI)")
        diff.add_column("figure")
        for arm in others:
            diff.add_column(f"{arm} - {reference}", justify="right")
        for metric in HEADLINE:
            rows = result.differences.filter(pl.col("metric") == metric)
            cells = []
            for arm in others:
                row = rows.filter(pl.col("arm") == arm)
                values = row.select("mean", "ci_low", "ci_high").row(0) if row.height else None
                cells.append(_cell(*values) if values else "")
            diff.add_row(LABELS[metric], *cells)
        console.print(diff)


def simulate(
    scenario: Annotated[
        str,
        typer.Argument(help="A scenario file, or a name from data/scenarios (e.g. north-west)."),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Run directory (new or empty); runs/NAME if omitted.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Replications run in this many processes.")] = 1,
    replications: ReplicationsOption = None,
    scale: ScaleOption = None,
    region: RegionOption = None,
    psa: PsaOption = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty run directory.")] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Run replications on this Dask scheduler (tcp://HOST:PORT)."),
    ] = None,
    deployment: Annotated[
        Path | None,
        typer.Option(
            help="Look up through the real index: a `cpw deploy` directory of the scenario's "
            "population (overrides the scenario's index.deployment)."
        ),
    ] = None,
) -> None:
    """Run a scenario's replications; print means with 95% CIs and paired differences."""
    from sim.experiments.scenario import IndexSpec, load_scenario

    loaded = load_scenario(scenario)
    changes: dict[str, object] = {}
    if deployment is not None:
        if not deployment.is_dir():
            raise InputError(f"--deployment: {deployment} is not a directory (use `cpw deploy`)")
        switch_off = loaded.index.switch_off if loaded.index else None
        changes["index"] = IndexSpec(deployment=str(deployment), switch_off=switch_off)
    loaded = with_run_options(
        loaded.model_copy(update=changes), scale, region, replications, seed, psa
    )
    out = out or Path("runs") / Path(loaded.source).stem
    result = run_with_progress(loaded, out, _workers(workers), force, scheduler)
    print_tables(result)
    if loaded.index is not None:
        _print_usage(out)
    stdout_console().print(
        f"{loaded.replications} replication(s) x {len(loaded.arms)} arm(s) in "
        f"{result.wall_seconds:.1f} s. Wrote {out}; report: {out / 'report.md'}"
    )


def _print_usage(out: Path) -> None:
    """What the real index did in each replication and arm: audited lookups, and what the
    usage and monitoring rules refused and alerted (replications/*/index.json)."""
    import json

    for path in sorted((out / "replications").glob("*/index.json")):
        for arm, done in json.loads(path.read_text())["arms"].items():
            usage = done.get("usage") or {}
            audited, took = (
                usage.get("population_lookups", 0),
                usage.get("population_lookup_seconds"),
            )
            line = f"real index, {path.parent.name} {arm}: {usage.get('accounts', 0):,} accounts"
            if audited and took:
                line += f"; {audited:,} lookups of any child audited at {audited / took:,.0f}/s"
            line += (
                f"; refused {usage.get('refused', {})}; guard alerts {usage.get('alerts', {})}; "
                f"monitoring alerts {usage.get('monitoring_alerts', {})}"
            )
            stdout_console().print(line, soft_wrap=True)


def demo(
    out: Annotated[Path, typer.Option(help="Run directory (replaced).")] = Path("runs/demo"),
) -> None:
    """The main job on the embedded default: the North West scenario, three regimes, compared."""
    from sim.experiments.scenario import load_scenario

    loaded = load_scenario("north-west")
    result = run_with_progress(loaded, out, _workers(os.cpu_count() or 1), True)
    print_tables(result)
    stdout_console().print(
        f"{loaded.replications} replication(s) x {len(loaded.arms)} arm(s) in "
        f"{result.wall_seconds:.1f} s. Report: {out / 'report.md'} (and report.html, figures/)"
    )
