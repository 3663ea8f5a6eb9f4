"""What each regime lets practitioners find, by construction (docs/architecture.md, regimes)."""

import datetime as dt
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.reference.rollout import load_rollout
from sim.regimes import CpIs, ModelledIndex, Schedule, path_params, regime_params
from sim.regimes.layer import quantile_days
from sim.regimes.lookup import LookupRequests
from sim.regimes.regimes import NoIndex
from sim.world.state import CAF, IN_NEED, LOOKED_AFTER, NONE, PROTECTION_PLAN


def test_cp_is_flags_plans_and_care_for_365_days_after():
    """CP-IS flags: on a plan or looked after, or either ended within 365 days.

    docs/reference.md 7b."""
    regime = CpIs(3.0, regime_params())
    day = 20_000
    care = np.array([PROTECTION_PLAN, LOOKED_AFTER, IN_NEED, IN_NEED, IN_NEED, CAF])
    ended = np.array([NONE, NONE, day - 365, day - 366, NONE, day - 10])
    world = SimpleNamespace(
        state=SimpleNamespace(children=SimpleNamespace(care=care)), flag_ended=ended
    )
    flagged = regime.flagged(np.arange(6), day, world)
    assert flagged.tolist() == [True, True, True, False, False, True]


def test_contactpoint_lookups_follow_the_roll_out(ridden):
    """No ContactPoint lookup before 12 May 2009, none outside early adopters before national."""
    _, _, log = ridden
    rollout = load_rollout()
    early = {m.code for m in rollout.early_adopters.members}
    lookups = log.filter((pl.col("scenario") == "contactpoint") & (pl.col("event") == "lookup"))
    assert lookups["date"].min() >= rollout.early_adopters.practitioner_access_start
    national = lookups.filter(~pl.col("authority").is_in(early))
    assert national.height > 0
    assert national["date"].min() >= rollout.national.practitioner_access_start
    assert lookups.filter(pl.col("authority").is_in(early)).height > 0


def test_local_indexes_never_find_who_was_involved_elsewhere(ridden):
    """Local lookups are made but never show the old authority's contacts."""
    _, _, log = ridden
    local = log.filter(pl.col("scenario") == "local")
    lookups = local.filter(pl.col("event") == "lookup")
    assert lookups.height > 100
    assert not lookups["contacts_shown"].any()
    paths = local.filter(pl.col("event") == "reconnection")["path"].cast(pl.String)
    assert set(paths) <= {"records_transfer", "phone_round"}


def test_cp_is_only_notifies_for_flagged_children(ridden):
    """Only unscheduled care looks; notifications reconnect only plan or care children."""
    _, _, log = ridden
    signposting = log.filter(pl.col("scenario") == "cp_is")
    lookups = signposting.filter(pl.col("event") == "lookup")
    assert set(lookups["kind"].cast(pl.String)) == {"unscheduled_care"}
    notified = signposting.filter(
        (pl.col("event") == "reconnection") & (pl.col("path") == "notification")
    )
    assert notified.height > 0


def test_reconnection_is_the_earliest_path_and_once(ridden):
    """Each case reconnects at most once, never before its move."""
    _, _, log = ridden
    found = log.filter(pl.col("event") == "reconnection")
    assert found.group_by("scenario", "case").len()["len"].max() == 1
    assert (found["date"] > found["opened"]).all()


@given(
    u_find=st.lists(st.floats(0, 0.999), min_size=1, max_size=50),
    data=st.data(),
)
def test_a_modelled_index_never_shows_a_shielded_childs_contacts(u_find, data):
    """Whatever the draws, a shielded record shows no contacts; a found one otherwise does."""
    shielded = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(u_find), max_size=len(u_find)))
    )
    n = len(u_find)
    answers = ModelledIndex(path_params().search_miss_rate.value).lookup(
        LookupRequests(
            ["X"] * n, ["E08000001"] * n, [dt.datetime(2010, 1, 1)] * n, np.array(u_find), shielded
        )
    )
    assert not (answers.contacts_shown & shielded).any()
    assert (answers.contacts_shown == (answers.found & ~shielded)).all()


@given(u=st.lists(st.floats(0, 0.9999), min_size=1, max_size=50), mean=st.floats(0.5, 100))
def test_delays_are_monotone_whole_days(u, mean):
    """Delays from one uniform are at least a day and grow with the uniform (same u, same day)."""
    days = quantile_days(np.sort(np.array(u)), mean)
    assert (days >= 1).all() and (np.diff(days) >= 0).all()


def test_a_schedule_must_be_in_date_order():
    """Switches given out of order are refused."""
    with pytest.raises(ValueError):
        Schedule("x", [(dt.datetime(2010, 1, 1), NoIndex()), (dt.datetime(2009, 1, 1), NoIndex())])
