"""Metrics of a simulation run, as lazy polars queries over its logs (docs/architecture.md)."""

from sim.metrics.costs import COMPONENTS, monthly_costs
from sim.metrics.lost import THRESHOLDS, case_outcomes, lost_counts, reconnection_times
from sim.metrics.parameters import CostParams, cost_params, with_costs
from sim.metrics.table import TABLE_SCHEMA, cost_summary, metrics_table, summary

__all__ = [
    "COMPONENTS",
    "TABLE_SCHEMA",
    "THRESHOLDS",
    "CostParams",
    "case_outcomes",
    "cost_params",
    "cost_summary",
    "lost_counts",
    "metrics_table",
    "monthly_costs",
    "reconnection_times",
    "summary",
    "with_costs",
]
