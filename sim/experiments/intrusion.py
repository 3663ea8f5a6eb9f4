"""The whole population's use of each regime, and its intrusion, as England equivalents.

From the run's confidence table (sim.experiments.stats) and the population layer's figures
(sim.regimes.population_use): lookups and records shown of children never known to social care
a year, distinct children whose record was shown over the run, kinds of service per viewed
child, and practitioner hours on lookups and enquiries a year. Counts are scaled to England by
England's children over the simulated children (sim.experiments.costing.england_factor); a
distinct count over the run is not divided by years.
"""

import polars as pl

from sim.experiments.costing import england_factor, run_years
from sim.experiments.interval_figures import ci_text
from sim.experiments.scenario import Scenario
from sim.reporting import Table

PER_YEAR = {
    "population_lookups": "lookups a year",
    "views_never_known": "records of never-known children shown a year",
    "routine_hours": "practitioner hours on lookups and enquiries a year",
}
OVER_THE_RUN = {
    "children_viewed": "distinct children viewed over the run",
    "never_known_children_viewed": "of them never known to social care",
}
AS_IS = {"services_per_viewed_child": "kinds of service per viewed child"}


def intrusion_rows(confidence: pl.DataFrame, scenario: Scenario) -> Table:
    """One row per arm: each measure's England equivalent, mean (95% t-interval)."""
    factor, years = england_factor(scenario), run_years(scenario)
    scales = {m: factor / years for m in PER_YEAR}
    scales |= {m: factor for m in OVER_THE_RUN} | {m: 1.0 for m in AS_IS}
    labels = PER_YEAR | OVER_THE_RUN | AS_IS
    rows = []
    for arm in confidence["arm"].unique(maintain_order=True).to_list():
        cells = [arm]
        for metric, scale in scales.items():
            row = confidence.filter((pl.col("arm") == arm) & (pl.col("metric") == metric))
            if row.is_empty():
                cells.append("n/a")
                continue
            mean, low, high = (scale * v for v in row.select("mean", "ci_low", "ci_high").row(0))
            cells.append(ci_text(mean, low, high))
        rows.append(cells)
    return ["arm", *labels.values()], rows
