"""Run a scenario's replications, locally in processes, and write one run directory.

    result = run_experiment(load_scenario("north-west"), Path("runs/north-west"), workers=2)

The run directory appears complete or not at all (sim.outputs.staged_directory):

    scenario.toml, resolved.json  the file as given; every setting and parameter that ran
    replications/rNNN/            per replication: parameters.json (what it ran with beyond
                                  data/: overrides and PSA draws), event log, regime log,
                                  exposure, metrics, case outcomes, calibration, and with
                                  a deployment the live index's feeds and switch-off evidence
                                  (sim.experiments.replication)
    figures.parquet, .csv         whole-run figures per replication and arm
    metrics.parquet, .csv         the long metrics table of every replication
    confidence.csv                mean and 95% t-interval per arm and headline figure
    differences.csv               paired differences from the first arm, with 95% CIs
    linkage.csv                   share of moves still unlinked at 30 and 90 days by arm and
                                  care status (Kaplan-Meier, bootstrap over children)
    linkage_differences.csv       the same, each arm minus the first, paired
    manifest.json                 seeds, each replication's parameter set, what the intervals
                                  cover (replication noise, or with PSA parameter
                                  uncertainty too), versions, data hashes, wall time
    report.md, report.html, figures/*.png

Replication r runs the world keyed (seed, r) whichever process runs it, and results are
gathered in replication order, so the tables are identical for any number of workers. With a
deployment, every replication works on its own copies of it (never a shared one).
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim.experiments.distributed import (
    ReplicationTask,
    Serial,
    executor_for,
    replication_dir,
)
from sim.experiments.linkage import write_linkage
from sim.experiments.parameters import defaults
from sim.experiments.psa import interval_kind
from sim.experiments.replication import population
from sim.experiments.scenario import Scenario
from sim.experiments.stats import confidence_table, paired_differences
from sim.outputs import check_output_dir, staged_directory, write_json
from sim.provenance import data_file_hashes, lock_record, package_versions
from sim.regimes.deployment import check_deployment
from sim.regimes.inside import population_label

Progress = Callable[[int], None]  # days simulated since the last call


@dataclass(frozen=True)
class ExperimentResult:
    out_dir: Path
    figures: pl.DataFrame  # per replication and arm
    confidence: pl.DataFrame
    differences: pl.DataFrame
    wall_seconds: float


def resolved(scenario: Scenario) -> dict:
    """The scenario as it ran: every setting, and every parameter with its value in force."""
    parameters = defaults()
    for key, value in scenario.parameters.items():
        parameters[key] = {**parameters[key], "value": value, "confidence": "scenario"}
    document = scenario.model_dump(mode="json", exclude={"parameters"})
    document["parameters"] = parameters
    return document


def _replication_dir(root: Path, replication: int) -> Path:
    return replication_dir(root, replication)


def _run_all(
    scenario: Scenario,
    root: Path,
    workers: int,
    progress: Progress | None,
    scheduler: Any = None,
) -> list:
    """Every replication through one executor (serial, processes or Dask), in order."""
    days = (scenario.period.end - scenario.period.start).days + 1
    executor = executor_for(workers, scheduler)
    if isinstance(executor, Serial):  # days reported as they pass, synthesis on two workers
        task = ReplicationTask(scenario, root, progress, synth_workers=2)
        return executor.map(task, range(scenario.replications))
    done = (lambda: progress(days)) if progress is not None else None
    return executor.map(ReplicationTask(scenario, root), range(scenario.replications), done)


def parameter_sets(root: Path, replications: int) -> list[dict]:
    """The parameters each replication ran with beyond data/ (its parameters.json)."""
    return [
        json.loads((replication_dir(root, r) / "parameters.json").read_text())
        for r in range(replications)
    ]


def run_experiment(
    scenario: Scenario,
    out_dir: Path,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    report: Callable[[Path, Scenario], None] | None = None,
    scheduler: Any = None,
) -> ExperimentResult:
    """Run every replication of `scenario` and write the run directory (see module doc)."""
    check_output_dir(out_dir, force)
    if scenario.index is not None:  # refused before any replication starts
        children = population(scenario, 2)["children"]
        label = population_label(children, scenario.seed, scenario.population.scale)
        check_deployment(Path(scenario.index.deployment), children, label)
    started = time.perf_counter()
    with staged_directory(out_dir, force) as staging:
        if scenario.source and Path(scenario.source).is_file():
            (staging / "scenario.toml").write_text(Path(scenario.source).read_text())
        write_json(staging / "resolved.json", resolved(scenario))
        runs = _run_all(scenario, staging, workers, progress, scheduler)
        figures = pl.concat(runs, how="diagonal")
        order = pl.Enum([arm.name for arm in scenario.arms])
        figures = figures.select("replication", "arm", pl.exclude("replication", "arm")).sort(
            "replication", pl.col("arm").cast(order)
        )
        figures.write_parquet(staging / "figures.parquet")
        figures.write_csv(staging / "figures.csv")
        metrics = pl.concat(
            pl.read_parquet(_replication_dir(staging, r) / "metrics.parquet").with_columns(
                replication=pl.lit(r, pl.Int64)
            )
            for r in range(scenario.replications)
        ).rename({"scenario": "arm"})
        metrics.write_parquet(staging / "metrics.parquet")
        metrics.write_csv(staging / "metrics.csv")
        confidence = confidence_table(figures)
        differences = paired_differences(figures, scenario.arms[0].name)
        confidence.write_csv(staging / "confidence.csv")
        differences.write_csv(staging / "differences.csv")
        write_linkage(staging, scenario)
        wall = time.perf_counter() - started
        write_json(
            staging / "manifest.json",
            {
                "kind": "experiment",
                "title": scenario.title,
                "scenario_file": scenario.source,
                "seed": scenario.seed,
                "replications": scenario.replications,
                "replication_seeds": [
                    {
                        "replication": r,
                        "world_stream": [scenario.seed, "world", r],
                        "psa_stream": [scenario.seed, "psa", r] if scenario.psa else None,
                    }
                    for r in range(scenario.replications)
                ],
                "arms": [arm.name for arm in scenario.arms],
                "intervals": interval_kind(scenario.psa),
                "psa": scenario.psa,
                "parameter_sets": parameter_sets(staging, scenario.replications),
                "lookup_backend": "modelled" if scenario.index is None else "deployment",
                "deployment": scenario.index.deployment if scenario.index else None,
                "workers": workers,
                "wall_seconds": round(wall, 3),
                "versions": package_versions(),
                "lock": lock_record(),
                "data": data_file_hashes(),
            },
        )
        if report is not None and scenario.outputs.report:
            report(staging, scenario)
    return ExperimentResult(out_dir, figures, confidence, differences, wall)


def read_resolved(run_dir: Path) -> dict:
    return json.loads((run_dir / "resolved.json").read_text())
