"""Regimes: who may look a vulnerable mover up, through which index, and what they find.

from sim.regimes import SimulationConfig, run_simulation
run_simulation(population, SimulationConfig(seed=1, region="North West"), Path("run"))
run_simulation(population, SimulationConfig(seed=1, deployment=Path("dep")), Path("run2"))

With a deployment the real index runs inside (sim.regimes.inside): fed by the world, looked up
through the facade, switched off by the decommissioning runbook.
"""

from sim.regimes.deployment import check_deployment
from sim.regimes.inside import LiveRun
from sim.regimes.layer import PATHS, RegimeLayer
from sim.regimes.live import DeploymentIndex
from sim.regimes.log import REGIME_SCHEMA
from sim.regimes.lookup import (
    Credential,
    FacadeLookup,
    Identities,
    Identity,
    IndexLookup,
    LookupAnswers,
    LookupRequests,
    ModelledIndex,
    practitioner_credentials,
)
from sim.regimes.parameters import path_params, regime_params
from sim.regimes.regimes import (
    REGIMES,
    ContactPointAsItWas,
    ContactPointRegime,
    CpIs,
    LocalIndexes,
    NoIndex,
    Schedule,
    Signposting2010,
)
from sim.regimes.runner import EXPOSURE_SCHEMA, RegimeRunner
from sim.regimes.scenarios import SCENARIOS, build_schedule, make_regime
from sim.regimes.simulation import (
    SimulationConfig,
    SimulationSummary,
    region_population,
    run_simulation,
)

__all__ = [
    "EXPOSURE_SCHEMA",
    "PATHS",
    "REGIMES",
    "REGIME_SCHEMA",
    "SCENARIOS",
    "ContactPointAsItWas",
    "ContactPointRegime",
    "CpIs",
    "Credential",
    "DeploymentIndex",
    "FacadeLookup",
    "Identities",
    "Identity",
    "IndexLookup",
    "LiveRun",
    "LocalIndexes",
    "LookupAnswers",
    "LookupRequests",
    "ModelledIndex",
    "NoIndex",
    "RegimeLayer",
    "RegimeRunner",
    "Schedule",
    "Signposting2010",
    "SimulationConfig",
    "SimulationSummary",
    "build_schedule",
    "check_deployment",
    "make_regime",
    "path_params",
    "practitioner_credentials",
    "regime_params",
    "region_population",
    "run_simulation",
]
