"""How many practitioner accounts a run's real index opens in each authority.

The usage rules (per-account rate limits, enumeration alerts; data/index/monitoring.toml) act
per account, so they meet the load they would have met only if a run's lookups are spread over
as many accounts as there were live users. ContactPoint had about 15,000 live users at the
switch-off, not the 390,000 planned (data/regimes/regimes.toml `users_live`, `contactpoint_users`):
the early adopters' users in their authorities, the rest spread in proportion to the planned
users (an authority's children). An authority's accounts are its live users at their peak (the
day before the switch-off) times the run's share of its children (a run at scale 0.1 opens a
tenth), at least one, so every authority's practitioners can log in.
"""

import datetime as dt
from collections.abc import Mapping

import numpy as np

from sim.reference.authorities import load_authorities
from sim.regimes.parameters import RegimeParams
from sim.regimes.regimes import ContactPointAsItWas
from sim.world.calendar import day_number


def live_users(params: RegimeParams) -> dict[str, float]:
    """Live ContactPoint users by authority (GSS code) at their peak, England."""
    regime = ContactPointAsItWas(None, 0.0, params)  # type: ignore[arg-type]: no lookups made
    peak = day_number(params.switch_off.value.date() - dt.timedelta(days=1))
    children = np.array([a.children_0_17 for a in load_authorities()], dtype=float)
    planned = params.contactpoint_users.value * children / children.sum()
    users = regime.users_share(peak) * planned
    return {a.code: float(u) for a, u in zip(load_authorities(), users, strict=True)}


def accounts_per_authority(run_children: Mapping[str, int], params: RegimeParams) -> dict[str, int]:
    """Accounts to open in each of the run's authorities (its children there, by code)."""
    users = live_users(params)
    england = {a.code: a.children_0_17 for a in load_authorities()}
    return {
        code: max(1, round(users[code] * held / england[code]))
        for code, held in sorted(run_children.items())
    }
