"""Sweeps: vary parameters over a Latin hypercube, or one at a time for a tornado chart.

    ranges = [parse_range("regimes.paths.compliance=0.4:1.0")]
    table = run_sweep(scenario, ranges, Path("runs/sweep"), method="tornado")

Each point is the scenario with some parameters overridden (sim.experiments.parameters), run
with all its replications and arms; the same seed at every point, so points differ only by
their parameters (common random numbers across the sweep too). The Latin hypercube's draws
come from the scenario seed through their own SeedSequence key, never the world's.

The sweep directory: points/pNNN/ (a full run directory each), sweep.csv (point, the varied
values, arm, metric, mean and 95% CI), and for a tornado, figures/tornado.png.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from sim.errors import InputError
from sim.experiments.figures import tornado
from sim.experiments.parameters import check_overrides, defaults
from sim.experiments.run import Progress, run_experiment
from sim.experiments.scenario import Scenario
from sim.outputs import staged_directory

Method = Literal["lhs", "tornado"]
SWEEP_KEY = 0x5EE9  # the hypercube's SeedSequence spawn key, apart from every sim.streams key


@dataclass(frozen=True)
class Range:
    key: str
    low: float
    high: float
    integer: bool = False

    def value(self, fraction: float) -> float | int:
        value = self.low + fraction * (self.high - self.low)
        return round(value) if self.integer else value


def parse_range(text: str) -> Range:
    """'KEY=LOW:HIGH' for a scalar numeric parameter of data/regimes, data/world, data/metrics."""
    found = re.fullmatch(r"\s*([\w.]+)\s*=\s*([-+\d.eE]+)\s*:\s*([-+\d.eE]+)\s*", text)
    if not found:
        raise InputError(f"--vary: {text!r} is not KEY=LOW:HIGH")
    key, low, high = found[1], float(found[2]), float(found[3])
    table = defaults()
    if key not in table:
        raise InputError(f"--vary: {key} is not a parameter (e.g. regimes.paths.compliance)")
    default = table[key]["value"]
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise InputError(f"--vary: {key} is not a single number (its value is {default!r})")
    if not low < high:
        raise InputError(f"--vary: {key}: LOW {low:g} must be below HIGH {high:g}")
    return Range(key, low, high, isinstance(default, int))


def latin_hypercube(ranges: list[Range], points: int, seed: int) -> list[dict[str, float]]:
    """`points` points, each range cut into `points` strata and every stratum used once."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(SWEEP_KEY,))))
    columns = [(rng.permutation(points) + rng.random(points)) / points for _ in ranges]
    return [
        {r.key: r.value(float(column[i])) for r, column in zip(ranges, columns, strict=True)}
        for i in range(points)
    ]


def tornado_points(ranges: list[Range], scenario: Scenario) -> list[dict[str, float]]:
    """The base (no change), then each parameter at its low and at its high, one at a time."""
    points: list[dict[str, float]] = [{}]
    for r in ranges:
        points += [{r.key: r.value(0.0)}, {r.key: r.value(1.0)}]
    return points


def run_sweep(
    scenario: Scenario,
    ranges: list[Range],
    out_dir: Path,
    method: Method = "lhs",
    points: int = 8,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Run every point and write the sweep directory; returns sweep.csv's table."""
    if not ranges:
        raise InputError("--vary: give at least one KEY=LOW:HIGH")
    if method == "lhs":
        chosen = latin_hypercube(ranges, points, scenario.seed)
    else:
        chosen = tornado_points(ranges, scenario)
    variants = []
    for point in chosen:
        parameters = {**scenario.parameters, **point}
        check_overrides(parameters, f"sweep point {point}")
        variants.append(scenario.model_copy(update={"parameters": parameters}))
    rows, base = [], defaults()
    with staged_directory(out_dir, force) as staging:
        for i, variant in enumerate(variants):
            run = run_experiment(
                variant, staging / "points" / f"p{i:03d}", workers, False, progress
            )
            values = {r.key: variant.parameters.get(r.key, base[r.key]["value"]) for r in ranges}
            rows.append(
                run.confidence.with_columns(
                    point=pl.lit(i), **{k: pl.lit(v) for k, v in values.items()}
                )
            )
        table = pl.concat(rows, how="diagonal").select(
            "point", *(r.key for r in ranges), pl.exclude("point", *(r.key for r in ranges))
        )
        table.write_csv(staging / "sweep.csv")
        if method == "tornado":
            (staging / "figures").mkdir()
            tornado(table, ranges, scenario.arms[-1].name, staging / "figures" / "tornado.png")
    return table
