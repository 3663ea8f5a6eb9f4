"""A finished run costed again under other unit costs, and its figures scaled to England.

Unit costs (data/metrics/costs.toml) apply after the simulation: the regime log and the
exposure snapshots of each replication do not depend on them. So "what if set-up had cost
GBP 300 m?" or "what if training took a day?" is answered from the run directory in a second,
without simulating again (sim.metrics.cost_summary; one at a time for a tornado chart in
sim.experiments.sensitivity). Parameters that change behaviour (compliance, phone-round
hours...) still need a sweep (sim.experiments.sweep).

A run simulates a share of England's children: `scale` of the chosen authorities. Figures
are scaled to England by England's children over the simulated children, and to a year by
the length of the period, so they can be set beside the national claims (docs/reference.md 5a-5b).
"""

import json
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from sim.experiments.scenario import Scenario
from sim.metrics import COMPONENTS, CostParams, cost_params, cost_summary, with_costs
from sim.reference.authorities import load_authorities

COST_PREFIX = "metrics.costs."


def run_unit_costs(run_dir: Path) -> CostParams:
    """The unit costs a run used: data/metrics/costs.toml with the scenario's overrides."""
    parameters = json.loads((run_dir / "resolved.json").read_text())["parameters"]
    used = {
        key.removeprefix(COST_PREFIX): entry["value"]
        for key, entry in parameters.items()
        if key.startswith(COST_PREFIX)
    }
    return with_costs(used)


def recost(run_dir: Path, changes: Mapping[str, float] | None = None) -> pl.DataFrame:
    """Per replication and arm: cost components, total and cost per child reconnected (GBP),
    under the run's unit costs with `changes` (by name, e.g. {"setup_gbp": 300e6})."""
    costs = with_costs(changes or {}, run_unit_costs(run_dir))
    found = pl.read_parquet(run_dir / "figures.parquet").select(
        "replication", "arm", "reconnected_cases"
    )
    frames = []
    for directory in sorted((run_dir / "replications").glob("r*")):
        summary = cost_summary(
            pl.scan_parquet(directory / "regime_log.parquet"),
            pl.scan_parquet(directory / "exposure.parquet"),
            costs,
        )
        frames.append(
            summary.rename({"scenario": "arm"}).with_columns(
                replication=pl.lit(int(directory.name[1:]), pl.Int64)
            )
        )
    found_cases = pl.col("reconnected_cases")
    return (
        found.join(pl.concat(frames), on=["replication", "arm"], how="left")
        .with_columns(pl.col(*COMPONENTS, "total_gbp").fill_null(0.0))
        .with_columns(
            cost_per_child_found_gbp=pl.when(found_cases > 0).then(
                pl.col("total_gbp") / found_cases
            )
        )
    )


def england_factor(scenario: Scenario) -> float:
    """England's children over the children the scenario simulates (scale x its authorities)."""
    authorities = load_authorities()
    chosen = set(scenario.authority_codes())
    everyone = sum(a.children_0_17 for a in authorities)
    simulated = sum(a.children_0_17 for a in authorities if a.code in chosen)
    return everyone / (scenario.population.scale * simulated)


def run_years(scenario: Scenario) -> float:
    """The length of the scenario's period in years."""
    return ((scenario.period.end - scenario.period.start).days + 1) / 365.25


def for_england(table: pl.DataFrame, scenario: Scenario, per_year: bool = False) -> pl.DataFrame:
    """A confidence or differences table with mean and CI scaled to England (and to one year
    if `per_year`, for totals over the run such as hours or money; not for peaks or rates)."""
    factor = england_factor(scenario) / (run_years(scenario) if per_year else 1.0)
    return table.with_columns(pl.col("mean", "ci_low", "ci_high") * factor)


def unit_cost_table(costs: CostParams | None = None) -> pl.DataFrame:
    """Every unit cost and claim with its value, unit, confidence and source, to read."""
    return pl.DataFrame(
        [
            {
                "name": name,
                "value": f"{param.value:,}",
                "confidence": param.confidence,
                "unit": param.unit,
                "source": param.source,
            }
            for name, param in (costs or cost_params())
        ]
    )
