"""What every process of the world shares: the state, the event log, the calendar, the seed and
the run's parameters (sim.parameters.ModelParameters, passed in, never read from a cache)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.streams import stream
from sim.world.events import EventLog
from sim.world.state import PRESENT, WorldState

if TYPE_CHECKING:  # sim.parameters imports the world's parameter models
    from sim.parameters import ModelParameters

# One random stream per subsystem (common random numbers: a layer added later, such as a
# regime, draws from its own streams and cannot shift the world's).
SUBSYSTEMS = {
    "births": 1,
    "deaths": 2,
    "adulthood": 3,
    "moves": 4,
    "service_changes": 5,
    "referrals": 6,
    "caf": 7,
    "warm_start": 8,
    "pre_birth": 9,
    "pre_birth_plans": 10,
    "placements": 11,
}


@dataclass
class Context:
    state: WorldState
    log: EventLog
    scale: float  # the simulated share of England's children at the start
    first_day: int  # day number of the run's first day
    last_day: int  # day number of the run's last day (inclusive)
    seed: int
    replication: int
    params: "ModelParameters"  # every rate and share the world's processes use

    def rng(self, subsystem: str) -> np.random.Generator:
        return stream(self.seed, "world", self.replication, SUBSYSTEMS[subsystem])

    def present(self, rows: np.ndarray) -> np.ndarray:
        """True for children on the index and under the adult age."""
        return self.state.children.status[rows] == PRESENT
