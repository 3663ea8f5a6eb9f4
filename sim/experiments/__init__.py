"""Experiments: scenario files, replications with confidence intervals, comparisons, reports.

from sim.experiments import load_scenario, run_experiment, write_report
result = run_experiment(load_scenario("north-west"), Path("runs/nw"), workers=2,
                        report=write_report)
result.confidence, result.differences   # means with 95% CIs; paired differences
"""

from sim.experiments.compare import combine, regimes_throughout
from sim.experiments.parameters import PARAMETER_FILES, defaults, overridden
from sim.experiments.replication import run_replication
from sim.experiments.report import write_report
from sim.experiments.run import ExperimentResult, resolved, run_experiment
from sim.experiments.scenario import Scenario, load_scenario, load_scenarios
from sim.experiments.stats import confidence_table, paired_differences

__all__ = [
    "PARAMETER_FILES",
    "ExperimentResult",
    "Scenario",
    "combine",
    "confidence_table",
    "defaults",
    "load_scenario",
    "load_scenarios",
    "overridden",
    "paired_differences",
    "regimes_throughout",
    "resolved",
    "run_experiment",
    "run_replication",
    "write_report",
]
