"""Sweeps: vary parameters over a Latin hypercube, or one at a time for a tornado chart.

    ranges = [parse_range("regimes.paths.compliance=0.4:1.0")]
    table = run_sweep(scenario, ranges, Path("runs/sweep"), method="tornado")

A range is `KEY=LOW:HIGH` for a single number, or `KEY=0.8x:1.2x` for a multiplier: every value
of the parameter (the scenario's own, or the default from data/) times 0.8 up to times 1.2.
Multipliers are how list-valued parameters are varied, such as the address moves by age
(`world.moves.address_moves_by_age=0.8x:1.2x` scales the whole age profile, keeping its shape):
docs/reference.md asks that every low-confidence figure be a parameter to vary, and several are
lists. Each point is checked by the parameter file's own model before anything runs, so a multiplier
that pushes a share above 1 is refused with a one-line error naming the key.

Each point is the scenario with some parameters overridden (sim.parameters.model_parameters), run
with all its replications and arms; the same seed at every point, so points differ only by
their parameters (common random numbers across the sweep too). The Latin hypercube's draws
come from the scenario seed through their own SeedSequence key, never the world's.

The sweep directory: points/pNNN/ (a full run directory each), sweep.csv (point, the varied
values (for a multiplier range, the multiplier), arm, metric, mean and 95% CI; with several arms
also each arm's paired difference from the first, as metrics '<metric>_effect'), and for a
tornado, figures/tornado.png: with several arms it draws the paired difference (the last arm
minus the first: what the policy question asks), else the last arm's own figures.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from sim.errors import InputError
from sim.experiments.figures import tornado
from sim.experiments.parameters import check_overrides, defaults
from sim.experiments.run import Progress, run_experiment
from sim.experiments.scenario import Scenario
from sim.experiments.tornado import TORNADO_PANELS, effect_panels
from sim.outputs import staged_directory

Method = Literal["lhs", "tornado"]
SWEEP_KEY = 0x5EE9  # the hypercube's SeedSequence spawn key, apart from every sim.streams key


@dataclass(frozen=True)
class Range:
    """One parameter's range: values LOW to HIGH, or, if `multiplier`, factors on its value."""

    key: str
    low: float
    high: float
    integer: bool = False
    multiplier: bool = False

    def value(self, fraction: float) -> float | int:
        """The setting at `fraction` of the way from low to high (a factor if a multiplier)."""
        value = self.low + fraction * (self.high - self.low)
        return round(value) if self.integer and not self.multiplier else value

    def parameter(self, setting: float, current: Any) -> Any:
        """The parameter's value for a setting: the setting itself, or `current` times it."""
        if not self.multiplier:
            return setting
        if isinstance(current, list):
            return [self.parameter(setting, item) for item in current]
        scaled = current * setting
        return round(scaled) if isinstance(current, int) else round(scaled, 12)

    def describe(self) -> str:
        """'0.8x to 1.2x' or '0.4 to 1': for labels on charts."""
        if self.multiplier:
            return f"{self.low:g}x to {self.high:g}x"
        return f"{self.low:g} to {self.high:g}"


NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
RANGE = re.compile(rf"\s*([\w.]+)\s*=\s*({NUMBER})(x?)\s*:\s*({NUMBER})(x?)\s*")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_range(text: str) -> Range:
    """'KEY=LOW:HIGH' for a single number, 'KEY=LOWx:HIGHx' to scale a number or a list of
    numbers, for a parameter of data/regimes, data/world or data/metrics."""
    found = RANGE.fullmatch(text)
    if not found:
        raise InputError(f"--vary: {text!r} is not KEY=LOW:HIGH or KEY=LOWx:HIGHx")
    key, low, low_x, high, high_x = found[1], float(found[2]), found[3], float(found[4]), found[5]
    table = defaults()
    if key not in table:
        raise InputError(f"--vary: {key} is not a parameter (e.g. regimes.paths.compliance)")
    if low_x != high_x:
        raise InputError(f"--vary: {key}: give both ends as multipliers (0.8x:1.2x) or neither")
    default, multiplier = table[key]["value"], bool(low_x)
    numbers = default if isinstance(default, list) else [default]
    if not numbers or not all(_is_number(item) for item in numbers):
        raise InputError(f"--vary: {key} is not numeric (its value is {default!r})")
    if isinstance(default, list) and not multiplier:
        raise InputError(
            f"--vary: {key} is a list of {len(default)} numbers, not a single number: "
            f"scale it with a multiplier, e.g. {key}=0.8x:1.2x"
        )
    if multiplier and low < 0:
        raise InputError(f"--vary: {key}: a multiplier cannot be negative ({low:g}x)")
    if not low < high:
        raise InputError(f"--vary: {key}: LOW {low:g} must be below HIGH {high:g}")
    return Range(key, low, high, all(isinstance(item, int) for item in numbers), multiplier)


def parse_ranges(texts: Iterable[str]) -> list[Range]:
    """Each 'KEY=LOW:HIGH' or 'KEY=LOWx:HIGHx' parsed, in order (as --vary, repeated)."""
    return [parse_range(text) for text in texts]


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
    base = defaults()
    current = {r.key: scenario.parameters.get(r.key, base[r.key]["value"]) for r in ranges}
    unchanged = {r.key: 1.0 if r.multiplier else current[r.key] for r in ranges}
    by_key = {r.key: r for r in ranges}
    variants, settings = [], []
    for point in chosen:
        changed = {k: by_key[k].parameter(v, current[k]) for k, v in point.items()}
        parameters = {**scenario.parameters, **changed}
        check_overrides(parameters, f"sweep point {point}")
        variants.append(scenario.model_copy(update={"parameters": parameters}))
        settings.append({**unchanged, **point})
    rows = []
    with staged_directory(out_dir, force) as staging:
        for i, (variant, values) in enumerate(zip(variants, settings, strict=True)):
            run = run_experiment(
                variant, staging / "points" / f"p{i:03d}", workers, False, progress
            )
            rows.append(
                run.confidence.with_columns(
                    point=pl.lit(i), **{k: pl.lit(v) for k, v in values.items()}
                )
            )
        table = pl.concat(rows, how="diagonal").select(
            "point", *(r.key for r in ranges), pl.exclude("point", *(r.key for r in ranges))
        )
        if len(scenario.arms) > 1:  # each arm's paired difference from the first, per point
            from sim.experiments.sensitivity import with_effects

            keys = [r.key for r in ranges]
            varied = table.select("point", *keys).unique("point")  # each point's settings
            table = (
                with_effects(table, staging)
                .drop(keys)
                .join(varied, on="point", how="left", maintain_order="left")
                .select("point", *keys, pl.exclude("point", *keys))
            )
        table.write_csv(staging / "sweep.csv")
        if method == "tornado":
            (staging / "figures").mkdir()
            arm, reference = scenario.arms[-1].name, scenario.arms[0].name
            panels = effect_panels(arm, reference) if len(scenario.arms) > 1 else TORNADO_PANELS
            tornado(table, ranges, arm, staging / "figures" / "tornado.png", panels)
    return table
