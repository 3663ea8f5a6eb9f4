"""Regimes: who may look a vulnerable mover up, through which index, and what they find.

from sim.regimes import SimulationConfig, run_simulation
run_simulation(population, SimulationConfig(seed=1, region="North West"), Path("run"))
"""

from sim.regimes.layer import PATHS, RegimeLayer
from sim.regimes.log import REGIME_SCHEMA
from sim.regimes.lookup import (
    Credential,
    FacadeLookup,
    Identity,
    IndexLookup,
    LookupAnswers,
    LookupRequests,
    ModelledIndex,
    identities,
    practitioner_credentials,
)
from sim.regimes.parameters import path_params, regime_params
from sim.regimes.regimes import (
    REGIMES,
    ContactPointRegime,
    LocalIndexes,
    NoIndex,
    Schedule,
    Signposting,
)
from sim.regimes.runner import EXPOSURE_SCHEMA, RegimeRunner
from sim.regimes.scenarios import SCENARIOS, build_schedule
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
    "ContactPointRegime",
    "Credential",
    "FacadeLookup",
    "Identity",
    "IndexLookup",
    "LocalIndexes",
    "LookupAnswers",
    "LookupRequests",
    "ModelledIndex",
    "NoIndex",
    "RegimeLayer",
    "RegimeRunner",
    "Schedule",
    "Signposting",
    "SimulationConfig",
    "SimulationSummary",
    "build_schedule",
    "identities",
    "path_params",
    "practitioner_credentials",
    "regime_params",
    "region_population",
    "run_simulation",
]
