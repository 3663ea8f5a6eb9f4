"""One parameter at a time, low then high: the tables behind a tornado chart.

Two kinds of parameter. Unit costs apply after the simulation, so `cost_sensitivity` costs one
finished run again at each value (seconds). Parameters that change what happens (compliance,
CAF volume...) need the world simulated again at each value: sim.experiments.sweep runs those
(method "tornado"), and `with_effects` adds to its table each arm's paired difference from the
reference arm at every point. The difference (e.g. contactpoint minus none: how many fewer
children are lost) is what a policy question asks, and with common random numbers it is far
less noisy than either arm's own figure when a sweep can afford only a few replications.

Tables are in the sweep's form, as sim.experiments.tornado.tornado_figure reads them: point 0
the base; points 2i+1 and 2i+2 range i at low and high; arm, metric, replications, mean, CI.
"""

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from sim.experiments.costing import COST_PREFIX, recost
from sim.experiments.stats import confidence_table
from sim.experiments.sweep import Range

EFFECT = "_effect"  # suffix of a metric that is a paired difference from the reference arm


def cost_sensitivity(
    run_dir: Path, ranges: Mapping[str, tuple[float, float]]
) -> tuple[pl.DataFrame, list[Range]]:
    """Each unit cost at its low and then its high value, one at a time, from one run.

    Returns the table in a sweep's form (point 0 the run as it was; points 2i+1 and 2i+2
    range i at low and high; arm, metric, mean, 95% CI) and the ranges, ready for
    sim.experiments.tornado.tornado_figure.
    """
    points: list[dict[str, float]] = [{}]
    for name, (low, high) in ranges.items():
        points += [{name: low}, {name: high}]
    metrics = ("total_gbp", "cost_per_child_found_gbp")
    table = pl.concat(
        confidence_table(recost(run_dir, point), metrics).with_columns(point=pl.lit(i))
        for i, point in enumerate(points)
    )
    swept = [Range(COST_PREFIX + name, low, high) for name, (low, high) in ranges.items()]
    return table.select("point", pl.exclude("point")), swept


def with_effects(sweep: pl.DataFrame, sweep_dir: Path) -> pl.DataFrame:
    """The sweep table plus, per point, each arm's paired difference from the reference arm,
    as metrics named '<metric>_effect' (e.g. lost_90_per_1000_effect)."""
    effects = [
        pl.read_csv(path / "differences.csv")
        .with_columns(point=pl.lit(int(path.name[1:]), pl.Int32), metric=pl.col("metric") + EFFECT)
        .drop("reference")
        for path in sorted((sweep_dir / "points").glob("p*"))
    ]
    return pl.concat([sweep, *effects], how="diagonal_relaxed")
