"""Global sensitivity of the headline differences: Morris elementary effects with SALib.

    table = run_morris(load_scenario("north-west"), Path("runs/morris"), trajectories=4)

The factors are the uncertain parameters of data/experiments/low-confidence.toml's
[[distributions]] (or the ones named). Each factor moves over the probabilities 0 to 1 of its
stated distribution, so a step is a step of equal probability, and the point's parameter values
are those quantiles (sim.experiments.psa). SALib lays out `trajectories` Morris trajectories of
k + 1 points each; every point runs the scenario, all its replications and arms, on the same
seed (common random numbers), and the output is each arm's paired difference from the first arm
(e.g. lost at 90 days per 1,000, contactpoint minus none). Morris is a screening method: mu*
(the mean absolute elementary effect) ranks the factors by how much they move a difference,
sigma says whether they act through interactions or non-linearly; neither is a variance share
(Sobol's would need many more runs).

The directory: points/pNNN/ (a run directory each, as sim.experiments.run writes),
design.csv (each point's factor probabilities and parameter values), sensitivity.csv (arm,
metric, parameter, mu, mu_star, mu_star_conf, sigma) and figures/morris.png.
"""

from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sim.errors import InputError
from sim.experiments.figures import save
from sim.experiments.low_confidence import Distribution, low_confidence_figures
from sim.experiments.psa import draw_value
from sim.experiments.run import Progress, run_experiment
from sim.experiments.scenario import Scenario
from sim.outputs import staged_directory
from sim.parameters import defaults

MORRIS_KEY = 0x3055  # the design's seed offset, apart from the world's streams
OUTPUTS = ("lost_90_per_1000", "lost_30_per_1000", "hours")
LEVELS = 4


def factors(names: list[str] | None = None) -> list[Distribution]:
    """The distributions to vary: all of data/experiments/low-confidence.toml, or those named."""
    every = low_confidence_figures().distributions
    if not names:
        return list(every)
    by_name = {d.parameter: d for d in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name)
        raise InputError(f"--factor: {unknown[0]} has no distribution; factors are {known}")
    return [by_name[n] for n in names]


def design(chosen: list[Distribution], trajectories: int, seed: int) -> np.ndarray:
    """The Morris design in probabilities: trajectories x (k + 1) rows, one column per factor."""
    from SALib.sample import morris

    problem = _problem(chosen)
    return morris.sample(problem, trajectories, num_levels=LEVELS, seed=seed + MORRIS_KEY)


def _problem(chosen: list[Distribution]) -> dict:
    return {
        "num_vars": len(chosen),
        "names": [d.parameter for d in chosen],
        "bounds": [[0.0, 1.0]] * len(chosen),
    }


def point_parameters(chosen: list[Distribution], row: np.ndarray) -> dict:
    """The parameter values at one design row (each factor at its row's quantile)."""
    table = defaults()
    return {
        d.parameter: draw_value(d, d.quantile(float(u)), table[d.parameter]["value"])
        for d, u in zip(chosen, row, strict=True)
    }


def run_morris(
    scenario: Scenario,
    out_dir: Path,
    trajectories: int = 4,
    names: list[str] | None = None,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
) -> pl.DataFrame:
    """Run every design point and write the directory (see module doc); returns the table."""
    from SALib.analyze import morris

    if len(scenario.arms) < 2:
        raise InputError("morris: the scenario needs two or more arms (differences from the first)")
    if not 2 <= trajectories <= 100:
        raise InputError(f"--trajectories: must be 2 to 100, got {trajectories}")
    chosen = factors(names)
    fixed = [d.parameter for d in chosen if d.parameter in scenario.parameters]
    if fixed:
        raise InputError(f"morris: the scenario sets {fixed[0]}; it cannot also be a factor")
    rows = design(chosen, trajectories, scenario.seed)
    plain = scenario.model_copy(update={"psa": False})
    effects, settings = [], []
    with staged_directory(out_dir, force) as staging:
        for i, row in enumerate(rows):
            values = point_parameters(chosen, row)
            point = plain.model_copy(update={"parameters": {**scenario.parameters, **values}})
            run = run_experiment(point, staging / "points" / f"p{i:03d}", workers, False, progress)
            effects.append(run.differences.with_columns(point=pl.lit(i)))
            settings.append(
                {
                    "point": i,
                    **{
                        f"u:{k}": float(u)
                        for k, u in zip((d.parameter for d in chosen), row, strict=True)
                    },
                    **{k: str(v) for k, v in values.items()},
                }
            )
        pl.DataFrame(settings).write_csv(staging / "design.csv")
        differences = pl.concat(effects)
        problem = _problem(chosen)
        results = []
        for (arm, metric), group in differences.filter(pl.col("metric").is_in(OUTPUTS)).group_by(
            "arm", "metric", maintain_order=True
        ):
            y = group.sort("point")["mean"].fill_null(0.0).to_numpy()
            found = morris.analyze(problem, rows, y, num_levels=LEVELS, seed=scenario.seed)
            results.append(
                pl.DataFrame(
                    {
                        "arm": arm,
                        "reference": scenario.arms[0].name,
                        "metric": metric,
                        "parameter": problem["names"],
                        "mu": np.asarray(found["mu"], dtype=float),
                        "mu_star": np.asarray(found["mu_star"], dtype=float),
                        "mu_star_conf": np.asarray(found["mu_star_conf"], dtype=float),
                        "sigma": np.asarray(found["sigma"], dtype=float),
                    }
                )
            )
        table = (
            pl.concat(results)
            .with_columns(pl.col("mu", "mu_star", "mu_star_conf", "sigma").round(6))
            .sort("arm", "metric", pl.col("mu_star"), descending=[False, False, True])
        )
        table.write_csv(staging / "sensitivity.csv")
        (staging / "figures").mkdir()
        arm = scenario.arms[-1].name
        save(morris_figure(table, arm, scenario.arms[0].name), staging / "figures" / "morris.png")
    return table


def morris_figure(table: pl.DataFrame, arm: str, reference: str) -> Figure:
    """mu* with its 95% interval per factor, one panel per headline difference, largest on top."""
    metrics = [m for m in OUTPUTS if m in set(table["metric"].to_list())]
    figure = Figure(
        figsize=(4 + 3.6 * len(metrics), 2 + 0.35 * table["parameter"].n_unique()),
        layout="constrained",
    )
    axes_row = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axes, metric in zip(axes_row, metrics, strict=True):
        rows = table.filter((pl.col("arm") == arm) & (pl.col("metric") == metric)).sort("mu_star")
        names = [p.rsplit(".", 1)[-1].replace("_", " ") for p in rows["parameter"].to_list()]
        axes.barh(
            range(rows.height),
            rows["mu_star"].to_list(),
            xerr=rows["mu_star_conf"].to_list(),
            color="C0",
        )
        axes.set_yticks(range(rows.height), names, fontsize=8)
        axes.set_xlabel("mu* (mean absolute elementary effect)")
        axes.set_title(f"{metric.replace('_', ' ')}: {arm} minus {reference}", fontsize=9)
        axes.grid(axis="x", alpha=0.3)
    figure.suptitle("Global sensitivity (Morris) of the paired differences")
    return figure
