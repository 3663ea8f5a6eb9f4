"""`cpw compare` (scenarios or regimes side by side on identical worlds) and `cpw sweep`."""

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.console import stdout_console
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
    force: Annotated[bool, typer.Option(help="Replace a non-empty run directory.")] = False,
) -> None:
    """Run the arms of several scenarios (or several regimes) on the same worlds and compare."""
    from sim.experiments.compare import combine, regimes_throughout
    from sim.experiments.scenario import load_scenario

    if workers < 1:
        raise InputError(f"--workers: must be at least 1, got {workers}")
    combined = combine([load_scenario(s) for s in scenarios])
    if regimes is not None:
        if len(scenarios) > 1:
            raise InputError("--regimes: give one scenario (its world) with --regimes")
        combined = regimes_throughout(combined, [r.strip() for r in regimes.split(",")])
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
