"""The simulated world: England's children living through 2009-2011 in SimPy, in daily batches.

from sim.world import World, WorldConfig
summary = World(population, WorldConfig(seed=1), log_path=Path("events.parquet")).run()
"""

from sim.world.calibration import calibration_table, reference_figures, stock_on, year_counts
from sim.world.events import EPISODES, EVENTS, SCHEMA, Episode, Event, EventBatch
from sim.world.parameters import (
    care_params,
    demography_params,
    move_params,
    service_change_params,
)
from sim.world.world import RunSummary, World, WorldConfig

__all__ = [
    "EPISODES",
    "EVENTS",
    "SCHEMA",
    "Episode",
    "Event",
    "EventBatch",
    "RunSummary",
    "World",
    "WorldConfig",
    "calibration_table",
    "care_params",
    "demography_params",
    "move_params",
    "reference_figures",
    "service_change_params",
    "stock_on",
    "year_counts",
]
