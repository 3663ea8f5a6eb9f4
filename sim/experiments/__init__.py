"""Experiments: scenario files, replications with confidence intervals, comparisons, reports.

from sim.experiments import load_scenario, run_experiment, write_report
result = run_experiment(load_scenario("north-west"), Path("runs/nw"), workers=2,
                        report=write_report)
result.confidence, result.differences   # means with 95% CIs; paired differences
"""

from sim.experiments.compare import combine, regimes_throughout
from sim.experiments.distributed import Dask, Processes, Serial, executor_for
from sim.experiments.parameters import PARAMETER_FILES, defaults
from sim.experiments.psa import psa_draws, replication_parameters
from sim.experiments.replication import run_replication
from sim.experiments.report import write_report
from sim.experiments.run import ExperimentResult, resolved, run_experiment
from sim.experiments.scenario import Scenario, load_scenario, load_scenarios
from sim.experiments.stats import confidence_table, paired_differences

__all__ = [
    "PARAMETER_FILES",
    "Dask",
    "ExperimentResult",
    "Processes",
    "Scenario",
    "Serial",
    "combine",
    "confidence_table",
    "defaults",
    "executor_for",
    "load_scenario",
    "load_scenarios",
    "paired_differences",
    "psa_draws",
    "regimes_throughout",
    "replication_parameters",
    "resolved",
    "run_experiment",
    "run_replication",
    "write_report",
]
