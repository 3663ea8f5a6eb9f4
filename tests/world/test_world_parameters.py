"""The world's data files load, validate, and give rates consistent with Little's law."""

import datetime as dt

import pytest

from sim.errors import ReferenceDataError
from sim.population.parameters import population_params
from sim.reference.params import load_params
from sim.reference.paths import data_path
from sim.world import care_params, demography_params, move_params, service_change_params
from sim.world.calendar import DAYS_PER_YEAR, day_number
from sim.world.care_rates import care_rates
from sim.world.parameters import MoveParams
from sim.world.state import PROTECTION_PLAN

REFERENCE_DAY = day_number(dt.date(2010, 3, 31))


def population_england() -> int:
    return population_params().children_england.value


def test_every_world_file_loads_with_provenance():
    """Each parameter carries a unit, a source, a year and a confidence grade."""
    for params in (demography_params(), move_params(), service_change_params(), care_params()):
        for name in type(params).model_fields:
            param = getattr(params, name)
            assert param.unit and param.source and param.year > 1900, name
            assert param.confidence in ("high", "medium", "low")


def test_between_authority_rates_above_address_rates_are_refused(tmp_path, monkeypatch):
    """A data file in which more children leave their authority than move at all is an error."""
    source = data_path("world/moves.toml").read_text()
    data = tmp_path / "data" / "world"
    data.mkdir(parents=True)
    data.joinpath("moves.toml").write_text(
        source.replace("value = [0.15, 0.15", "value = [0.01, 0.15", 1)
    )
    monkeypatch.setenv("CPW_DATA", str(tmp_path / "data"))
    with pytest.raises(ReferenceDataError, match="between_authority_moves_by_age"):
        load_params("world/moves.toml", MoveParams)


def test_stocks_at_the_reference_day_add_up_to_children_in_need():
    """Quick, long, plan and care stocks of born children, and the unborn children on a plan,
    sum to the CIN stock on 31 March 2010 (the CIN census counts unborn children)."""
    rates = care_rates(REFERENCE_DAY)
    in_need = sum(rates.stocks[k] for k in ("short", "long", "plan", "care"))
    assert in_need + rates.unborn_stock == pytest.approx(care_params().children_in_need_stock.value)
    assert rates.stocks["care"] == pytest.approx(care_params().looked_after_stock.value)
    plans = rates.stocks["plan"] + rates.unborn_stock
    assert plans == pytest.approx(care_params().protection_plan_stock.value)


def test_pre_birth_plans_are_part_of_the_referrals_and_plan_starts():
    """Referrals of born children plus pre-birth plans give the year's referrals, and their
    plan outcomes plus pre-birth plans the year's plan starts: nothing is counted twice."""
    p = care_params()
    rates = care_rates(REFERENCE_DAY)
    not_in_need = p.children_in_need_stock.value
    born_referrals = rates.referral_daily * DAYS_PER_YEAR * (population_england() - not_in_need)
    pre_birth = rates.pre_birth_daily * DAYS_PER_YEAR
    assert pre_birth == pytest.approx(
        p.protection_plan_starts_per_year.value * p.pre_birth_plan_share.value
    )
    assert born_referrals + pre_birth == pytest.approx(p.referrals_per_year.value)
    plan_starts = born_referrals * rates.outcome_shares[PROTECTION_PLAN] + pre_birth
    assert plan_starts == pytest.approx(p.protection_plan_starts_per_year.value)
    assert rates.unborn_stock == pytest.approx(
        pre_birth * p.pre_birth_plan_lead_days.value / DAYS_PER_YEAR
    )


def test_durations_follow_littles_law_net_of_ageing_out():
    """Plan stock = starts x (1 / (own hazard + 1/18 a year)): Little's law with the 18 exit."""
    p = care_params()
    rates = care_rates(REFERENCE_DAY)
    own = rates.mean_days["plan"] / DAYS_PER_YEAR
    time_in_stock = 1 / (1 / own + 1 / demography_params().adult_age.value)
    starts = p.protection_plan_starts_per_year.value
    assert starts * time_in_stock == pytest.approx(p.protection_plan_stock.value)


def test_looked_after_stock_grows_toward_the_reference_day():
    """Starts exceed ceasings in 2009-10, so the care stock is smaller at the start of 2009."""
    earlier = care_rates(day_number(dt.date(2009, 1, 1))).stocks["care"]
    assert earlier < care_params().looked_after_stock.value
    growth = care_params().looked_after_growth.value
    assert earlier == pytest.approx(care_params().looked_after_stock.value / (1 + growth), rel=0.05)
