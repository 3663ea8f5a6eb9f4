"""Named scenarios: which regime is in force from when (docs/architecture.md, "Regimes").

- `none`: no index throughout.
- `contactpoint`: history: ContactPoint rolled out by phase through 2009, switched off at
  noon on 6 August 2010 (docs/reference.md 5h), then none.
- `contactpoint_kept`: the counterfactual in which ContactPoint was never switched off.
- `signposting`, `local`: those regimes throughout.
- `signposting_from_2011`: history, then CP-IS-like signposting from 1 January 2011.
"""

import datetime as dt
from collections.abc import Callable

from sim.errors import InputError
from sim.regimes.lookup import IndexLookup, ModelledIndex
from sim.regimes.parameters import PathParams, path_params, regime_params
from sim.regimes.regimes import ContactPointRegime, LocalIndexes, NoIndex, Schedule, Signposting

SCENARIOS = (
    "none",
    "contactpoint",
    "contactpoint_kept",
    "signposting",
    "local",
    "signposting_from_2011",
)
BEGINNING = dt.datetime(1970, 1, 1)


def build_schedule(
    name: str,
    lookup: IndexLookup | None = None,
    switch_off: dt.datetime | None = None,
    paths: PathParams | None = None,
) -> Schedule:
    """A named scenario's schedule; ContactPoint answers through `lookup` (modelled if None)."""
    paths, params = paths or path_params(), regime_params()
    lookup = lookup or ModelledIndex(paths.search_miss_rate.value)
    off = switch_off or params.switch_off.value
    contactpoint = ContactPointRegime(lookup, paths.contact_after_lookup_days.value, params)
    signposting = Signposting(paths.notification_response_days.value, params)
    steps: dict[str, Callable[[], list]] = {
        "none": lambda: [(BEGINNING, NoIndex())],
        "contactpoint": lambda: [(BEGINNING, contactpoint), (off, NoIndex())],
        "contactpoint_kept": lambda: [(BEGINNING, contactpoint)],
        "signposting": lambda: [(BEGINNING, signposting)],
        "local": lambda: [(BEGINNING, LocalIndexes(params))],
        "signposting_from_2011": lambda: [
            (BEGINNING, contactpoint),
            (off, NoIndex()),
            (dt.datetime(2011, 1, 1), signposting),
        ],
    }
    if name not in steps:
        raise InputError(f"scenario {name!r} is not one of {', '.join(SCENARIOS)}")
    return Schedule(name, steps[name]())
