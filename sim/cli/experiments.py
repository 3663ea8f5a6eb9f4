"""`cpw compare` (scenarios or regimes side by side on identical worlds) and `cpw sweep`."""

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.console import stdout_console
from sim.cli.run_options import (
    PsaOption,
    RegionOption,
    ReplicationsOption,
    ScaleOption,
    with_run_options,
)
from sim.cli.simulate import print_tables, run_with_progress
from sim.errors import InputError


def compare(
    scenarios: Annotated[
        list[str], typer.Argument(help="Scenario files or names from data/scenarios.")
    ],
    regimes: Annotated[
        str | None,
        typer.Option(help="Comma-separated regimes, each throughout, on the scenario's world."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory; runs/compare if omitted.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Replications run in this many processes.")] = 1,
    replications: ReplicationsOption = None,
    scale: ScaleOption = None,
    region: RegionOption = None,
    psa: PsaOption = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty run directory.")] = False,
) -> None:
    """Run the arms of several scenarios (or several regimes) on the same worlds and compare.
    With --psa every replication also draws the uncertain parameters (the report says which
    kind of uncertainty each interval covers)."""
    from sim.experiments.compare import combine, regimes_throughout
    from sim.experiments.scenario import load_scenario

    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    combined = combine([load_scenario(s) for s in scenarios])
    if regimes is not None:
        if len(scenarios) > 1:
            raise InputError("--regimes: give one scenario (its world) with --regimes")
        combined = regimes_throughout(combined, [r.strip() for r in regimes.split(",")])
    combined = with_run_options(combined, scale, region, replications, None, psa)
    out = out or Path("runs") / "compare"
    result = run_with_progress(combined, out, workers, force)
    print_tables(result)
    stdout_console().print(
        f"{len(combined.arms)} arms x {combined.replications} replication(s) in "
        f"{result.wall_seconds:.1f} s. Wrote {out}; report: {out / 'report.md'}"
    )


def sweep(
    scenario: Annotated[str, typer.Argument(help="A scenario file or a name from data/scenarios.")],
    vary: Annotated[
        list[str],
        typer.Option(
            help="KEY=LOW:HIGH (e.g. regimes.paths.compliance=0.4:1.0) or KEY=LOWx:HIGHx "
            "(scales a number or a whole list); repeat."
        ),
    ],
    method: Annotated[
        str, typer.Option(help="'lhs' (Latin hypercube) or 'tornado' (one at a time).")
    ] = "lhs",
    points: Annotated[int, typer.Option(help="Latin hypercube points.")] = 8,
    out: Annotated[
        Path | None, typer.Option(help="Sweep directory; runs/sweep if omitted.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Replications run in this many processes.")] = 1,
    force: Annotated[bool, typer.Option(help="Replace a non-empty sweep directory.")] = False,
) -> None:
    """Vary parameters over a Latin hypercube or one at a time (tornado chart); every point runs
    the scenario's replications and arms on the same worlds."""
    from typing import cast

    import polars as pl

    from sim.experiments.scenario import load_scenario
    from sim.experiments.sweep import Method, parse_range, run_sweep

    if method not in ("lhs", "tornado"):
        raise InputError(f"--method: {method!r} is not 'lhs' or 'tornado'")
    if not 2 <= points <= 1000:
        raise InputError(f"--points: must be 2 to 1000, got {points}")
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    loaded = load_scenario(scenario)
    ranges = [parse_range(text) for text in vary]
    out = out or Path("runs") / "sweep"
    table = run_sweep(loaded, ranges, out, cast(Method, method), points, workers, force)
    arm = loaded.arms[-1].name
    shown = table.filter((pl.col("arm") == arm) & (pl.col("metric") == "lost_90_per_1000"))
    stdout_console().print(
        shown.select("point", *(r.key for r in ranges), "mean", "ci_low", "ci_high")
    )
    stdout_console().print(f"Wrote {out} (sweep.csv; figures/tornado.png for a tornado).")


def sensitivity(
    scenario: Annotated[str, typer.Argument(help="A scenario file or a name from data/scenarios.")],
    method: Annotated[
        str, typer.Option(help="'morris' (global screening with SALib, the only method).")
    ] = "morris",
    regimes: Annotated[
        str | None,
        typer.Option(help="Comma-separated regimes, each throughout (first is the reference)."),
    ] = None,
    trajectories: Annotated[int, typer.Option(help="Morris trajectories (k + 1 runs each).")] = 4,
    factor: Annotated[
        list[str] | None,
        typer.Option(
            "--factor",
            help="Vary only this parameter (repeat); all of data/experiments/low-confidence.toml "
            "if omitted.",
        ),
    ] = None,
    replications: ReplicationsOption = None,
    scale: ScaleOption = None,
    region: RegionOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Sensitivity directory; runs/sensitivity if omitted.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Replications run in this many processes.")] = 1,
    force: Annotated[bool, typer.Option(help="Replace a non-empty directory.")] = False,
) -> None:
    """Which uncertain parameters drive the headline paired differences (Morris, SALib): writes
    sensitivity.csv (mu*, sigma per parameter) and figures/morris.png."""
    import polars as pl

    from sim.experiments.compare import regimes_throughout
    from sim.experiments.morris import run_morris
    from sim.experiments.scenario import load_scenario

    if method != "morris":
        raise InputError(f"--method: {method!r} is not 'morris'")
    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    loaded = load_scenario(scenario)
    if regimes is not None:
        loaded = regimes_throughout(loaded, [r.strip() for r in regimes.split(",")])
    loaded = with_run_options(loaded, scale, region, replications)
    out = out or Path("runs") / "sensitivity"
    table = run_morris(loaded, out, trajectories, factor, workers, force)
    arm = loaded.arms[-1].name
    shown = table.filter((pl.col("arm") == arm) & (pl.col("metric") == "lost_90_per_1000"))
    stdout_console().print(shown.select("parameter", "mu_star", "mu_star_conf", "sigma").head(8))
    stdout_console().print(f"Wrote {out} (sensitivity.csv, figures/morris.png).")
