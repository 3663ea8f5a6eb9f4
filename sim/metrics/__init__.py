"""Metrics of a simulation run, as lazy polars queries over its logs (ARCHITECTURE.md)."""

from sim.metrics.costs import monthly_costs
from sim.metrics.lost import THRESHOLDS, case_outcomes, lost_counts, reconnection_times
from sim.metrics.parameters import CostParams, cost_params
from sim.metrics.table import TABLE_SCHEMA, metrics_table, summary

__all__ = [
    "TABLE_SCHEMA",
    "THRESHOLDS",
    "CostParams",
    "case_outcomes",
    "cost_params",
    "lost_counts",
    "metrics_table",
    "monthly_costs",
    "reconnection_times",
    "summary",
]
