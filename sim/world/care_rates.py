"""Social-care rates by Little's law: starts, stocks and mean durations of 2009-10
(docs/reference.md s4).

Stock = starts x mean time in the stock. Referral outcomes are shared so that the starts of
plans and care match (less the plans made before birth, which sim.world.pregnancy starts for
unborn children); the longer episodes of need take the rest of the CIN stock; the care
stock grows over 2009-10 (more starts than endings), so its level on any day follows
dS/dt = starts - ceasing x S through the reference figure.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.population.parameters import population_params
from sim.world.calendar import DAYS_PER_YEAR, day_number
from sim.world.state import LOOKED_AFTER, PROTECTION_PLAN

if TYPE_CHECKING:  # sim.parameters imports the world's parameter models
    from sim.parameters import ModelParameters


@dataclass(frozen=True)
class CareRates:
    """Daily rates, outcome shares and mean durations (days) derived from data/world/care.toml.

    Stocks are England's, on the day they are computed for.
    """

    referral_daily: float  # per born child not in need
    outcome_shares: dict[int, float]  # referral outcome: kind -> share (short/long: IN_NEED)
    short_share: float
    mean_days: dict[str, float]  # own durations: short, long, plan, care, caf
    caf_daily: float  # per child with no involvement
    lead_professional_share: float
    stocks: dict[str, float]  # short, long, plan, care, caf (of born children)
    pre_birth_daily: float  # pre-birth plans started a day, England
    pre_birth_lead_days: float  # mean days from a pre-birth plan to the due date
    unborn_stock: float  # unborn children on a plan on any day, England


def _own_days(mean_years: float, adult_age: int) -> float:
    """Mean days of an episode's own duration, net of the exit when the child reaches 18.

    Little's law gives the mean time in the stock, whatever the way out; episodes also close at
    18, at a hazard of 1/18 a year for children referred at any age 0-17 alike (as here), so
    the episode's own hazard is the rest.
    """
    age_exit = 1.0 / adult_age
    return DAYS_PER_YEAR / (1.0 / mean_years - age_exit)


def care_rates(on_day: int, params: "ModelParameters | None" = None) -> CareRates:
    """Rates and the stocks open on `on_day`, by Little's law from the 2009-10 figures
    (`params`' care and demography sections; data/ as it stands if None)."""
    if params is None:
        from sim.parameters import model_parameters

        params = model_parameters()
    p, adult_age = params.care, params.demography.adult_age.value
    england = population_params().children_england.value
    # Pre-birth plans are counted among the referrals and plan starts (the CIN census counts
    # unborn children); the referrals of born children make the rest.
    plan_starts = p.protection_plan_starts_per_year.value
    pre_birth = plan_starts * p.pre_birth_plan_share.value
    lead_days = p.pre_birth_plan_lead_days.value
    unborn_stock = pre_birth * lead_days / DAYS_PER_YEAR
    referrals = p.referrals_per_year.value - pre_birth
    plan_share = (plan_starts - pre_birth) / referrals
    care_share = p.looked_after_starts_per_year.value / referrals
    short_share = p.short_episode_share.value
    long_share = 1.0 - short_share - plan_share - care_share

    plan_years = p.protection_plan_stock.value / p.protection_plan_starts_per_year.value
    care_stock = p.looked_after_stock.value
    mean_care_stock = care_stock * (1 + 1 / (1 + p.looked_after_growth.value)) / 2
    ceasing = p.looked_after_ceased_per_year.value / mean_care_stock  # hazard per year
    balance = p.looked_after_starts_per_year.value / ceasing
    years_from_reference = (on_day - day_number(p.reference_date.value)) / DAYS_PER_YEAR
    care_now = balance + (care_stock - balance) * math.exp(-ceasing * years_from_reference)

    short_years = p.short_episode_days.value / DAYS_PER_YEAR
    short_stock = referrals * short_share * short_years
    long_stock = (
        p.children_in_need_stock.value - p.protection_plan_stock.value - care_stock - short_stock
    )
    long_years = long_stock / (referrals * long_share)
    caf_years = p.caf_days.value / DAYS_PER_YEAR
    caf_stock = p.caf_starts_per_year.value * caf_years
    not_in_need = england - p.children_in_need_stock.value
    return CareRates(
        referral_daily=referrals / not_in_need / DAYS_PER_YEAR,
        outcome_shares={PROTECTION_PLAN: plan_share, LOOKED_AFTER: care_share},
        short_share=short_share,
        mean_days={
            "short": _own_days(short_years, adult_age),
            "long": _own_days(long_years, adult_age),
            "plan": _own_days(plan_years, adult_age),
            "care": _own_days(1.0 / ceasing, adult_age),
            "caf": _own_days(caf_years, adult_age),
        },
        caf_daily=p.caf_starts_per_year.value / (not_in_need - caf_stock) / DAYS_PER_YEAR,
        lead_professional_share=p.lead_professional_share.value,
        stocks={
            "short": short_stock,
            "long": long_stock,
            "plan": p.protection_plan_stock.value - unborn_stock,
            "care": care_now,
            "caf": caf_stock,
        },
        pre_birth_daily=pre_birth / DAYS_PER_YEAR,
        pre_birth_lead_days=lead_days,
        unborn_stock=unborn_stock,
    )
