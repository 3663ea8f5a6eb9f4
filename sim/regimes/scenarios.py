"""Named scenarios: which regime is in force from when (docs/architecture.md, "Regimes").

- `none`: no index throughout.
- `contactpoint`: history as planned: ContactPoint rolled out by phase through 2009, switched
  off at noon on 6 August 2010 (docs/reference.md 5h), then none.
- `contactpoint_as_it_was`: history as it ran: few live users, feeds paused, switched off.
- `contactpoint_kept`: the counterfactual in which ContactPoint was never switched off.
- `signposting_2010`, `cp_is`, `local`: those regimes throughout.
- `cp_is_from_2011`: history, then CP-IS-like flags from 1 January 2011.
"""

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from sim.errors import InputError
from sim.regimes.lookup import IndexLookup, ModelledIndex
from sim.regimes.parameters import PathParams, RegimeParams, path_params, regime_params
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

if TYPE_CHECKING:  # sim.parameters imports the regimes' parameter models
    from sim.parameters import ModelParameters

SCENARIOS = (
    "none",
    "contactpoint",
    "contactpoint_as_it_was",
    "contactpoint_kept",
    "signposting_2010",
    "cp_is",
    "local",
    "cp_is_from_2011",
)
BEGINNING = dt.datetime(1970, 1, 1)


def make_regime(
    name: str,
    paths: PathParams,
    params: RegimeParams,
    lookup: IndexLookup | None = None,
):
    """One regime by name (REGIMES); ContactPoint answers through `lookup` (modelled if None)."""
    miss, contact = paths.search_miss_rate.value, paths.contact_after_lookup_days.value
    makers: dict[str, Callable[[], object]] = {
        "none": NoIndex,
        "contactpoint": lambda: ContactPointRegime(lookup or ModelledIndex(miss), contact, params),
        "contactpoint_as_it_was": lambda: ContactPointAsItWas(
            lookup or ModelledIndex(miss), contact, params
        ),
        "signposting_2010": lambda: Signposting2010(miss, contact, params),
        "cp_is": lambda: CpIs(paths.notification_response_days.value, params),
        "local": lambda: LocalIndexes(miss, contact, params),
    }
    if name not in makers:
        raise InputError(f"regime {name!r} is not one of {', '.join(REGIMES)}")
    return makers[name]()


def build_schedule(
    name: str,
    lookup: IndexLookup | None = None,
    switch_off: dt.datetime | None = None,
    paths: PathParams | None = None,
    parameters: "ModelParameters | None" = None,
) -> Schedule:
    """A named scenario's schedule; ContactPoint answers through `lookup` (modelled if None).

    Regimes take the run's `parameters` (data/ as it stands if None); `paths`, if given,
    replaces their paths section."""
    if parameters is not None:
        paths, params = paths or parameters.paths, parameters.regimes
    else:
        paths, params = paths or path_params(), regime_params()
    off = switch_off or params.switch_off.value

    def regime(regime_name: str):
        return make_regime(regime_name, paths, params, lookup)

    steps: dict[str, Callable[[], list]] = {
        "none": lambda: [(BEGINNING, NoIndex())],
        "contactpoint": lambda: [(BEGINNING, regime("contactpoint")), (off, NoIndex())],
        "contactpoint_as_it_was": lambda: [
            (BEGINNING, regime("contactpoint_as_it_was")),
            (off, NoIndex()),
        ],
        "contactpoint_kept": lambda: [(BEGINNING, regime("contactpoint"))],
        "signposting_2010": lambda: [(BEGINNING, regime("signposting_2010"))],
        "cp_is": lambda: [(BEGINNING, regime("cp_is"))],
        "local": lambda: [(BEGINNING, regime("local"))],
        "cp_is_from_2011": lambda: [
            (BEGINNING, regime("contactpoint")),
            (off, NoIndex()),
            (dt.datetime(2011, 1, 1), regime("cp_is")),
        ],
    }
    if name not in steps:
        raise InputError(f"scenario {name!r} is not one of {', '.join(SCENARIOS)}")
    return Schedule(name, steps[name]())
