"""The regimes as they were or were proposed: worked examples at each rule, and the property
that a regime nobody can use gives exactly `none`'s outcomes on the same world."""

import datetime as dt
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from sim.reference.authorities import load_authorities
from sim.reference.rollout import load_rollout
from sim.regimes import (
    REGIMES,
    ContactPointAsItWas,
    LocalIndexes,
    ModelledIndex,
    RegimeRunner,
    Schedule,
    Signposting2010,
    make_regime,
    path_params,
    regime_params,
)
from sim.regimes.scenarios import BEGINNING
from sim.world import World, WorldConfig
from sim.world.calendar import day_number
from sim.world.encounters import KINDS, DueEncounters, Kind
from sim.world.state import CAF, IN_NEED, LOOKED_AFTER, NO_CARE, PROTECTION_PLAN

ORDINAL = {a.code: i for i, a in enumerate(load_authorities())}


def _due(day: int, kinds: list[int], cases: list[int], minute: int = 600, u_find=None):
    n = len(cases)
    return DueEncounters(
        day=day,
        case=np.array(cases),
        kind=np.array(kinds),
        minute=np.full(n, minute),
        u_look=np.zeros(n),
        u_find=np.full(n, 0.5) if u_find is None else np.array(u_find),
        u_phone=np.zeros(n),
        u_delay=np.zeros(n),
    )


def _encounters(care, from_codes, to_codes, known_day=0, opened=0):
    n = len(care)
    cases = SimpleNamespace(
        care=np.array(care, dtype=np.int8),
        from_authority=np.array([ORDINAL[c] for c in from_codes]),
        to_authority=np.array([ORDINAL[c] for c in to_codes]),
        involvement_known=np.full(n, known_day),
        address_known=np.full(n, opened),  # the new address is on the index at once
        opened=np.full(n, opened),
    )
    return SimpleNamespace(cases=cases)


def test_contactpoint_as_it_was_has_the_recorded_users_live():
    """550 early-adopter users from 12 May 2009 only in early-adopter authorities; about 15,000
    of 390,000 on the eve of the switch-off, spread over England; nobody from noon 6 Aug 2010."""
    params = regime_params()
    regime = ContactPointAsItWas(ModelledIndex(0.05), 2.0, params)
    early = {m.code for m in load_rollout().early_adopters.members}
    children = np.array([a.children_0_17 for a in load_authorities()], dtype=float)
    is_early = np.array([a.code in early for a in load_authorities()])
    early_share = 550 / (390_000 * children[is_early].sum() / children.sum())
    assert regime.users_share(day_number(dt.date(2009, 5, 11))).max() == 0.0
    may = regime.users_share(day_number(dt.date(2009, 5, 12)))
    assert may[is_early] == pytest.approx(early_share) and may[~is_early].max() == 0.0
    eve = regime.users_share(day_number(dt.date(2010, 8, 5)))
    spread = (np.interp(day_number(dt.date(2010, 8, 5)), regime.dates, regime.users) - 550) / 390e3
    assert eve[~is_early] == pytest.approx(spread) and 0.035 < spread < 0.0385
    # England-wide live users on the eve: early adopters' 550 plus the spread ~ 15,000
    assert 550 + spread * 390_000 == pytest.approx(15_000, rel=0.01)
    off = day_number(dt.date(2010, 8, 6))
    bolton = np.array([ORDINAL["E08000001"]])
    school = int(Kind.SCHOOL_ADMISSION)
    assert regime.access(_due(off, [school], [0], minute=719), bolton)[0] > 0
    assert regime.access(_due(off, [school], [0], minute=720), bolton)[0] == 0


def test_contactpoint_as_it_was_sees_old_addresses_after_the_feeds_paused():
    """A move on or after the national feeds' pause (June 2010) never reaches the index."""
    params = regime_params()
    regime = ContactPointAsItWas(ModelledIndex(0.05), 2.0, params)
    paused = day_number(params.national_feeds_paused.value)
    for opened, expected in ((paused - 1, False), (paused, True)):
        encounters = _encounters([IN_NEED], ["E08000001"], ["E08000002"], opened=opened)
        stale = regime.stale(_due(opened + 1, [0], [0]), encounters, np.array([True]))
        assert stale.tolist() == [expected]


def test_signposting_2010_holds_children_known_to_social_care():
    """CIN, plan and looked-after movers are found (once the old authority's record is on it);
    CAF and lead-professional-only movers are not; a search can miss."""
    regime = Signposting2010(0.05, 2.0, regime_params())
    care = [NO_CARE, CAF, IN_NEED, PROTECTION_PLAN, LOOKED_AFTER, IN_NEED, IN_NEED]
    encounters = _encounters(care, ["E08000001"] * 7, ["E08000002"] * 7)
    encounters.cases.involvement_known[5] = 101  # not yet on the index on day 100
    u_find = [0.5] * 6 + [0.01]  # the last search misses
    sw = int(Kind.SOCIAL_WORKER)
    answers = regime.answer(_due(100, [sw] * 7, list(range(7)), u_find=u_find), encounters)
    assert answers.reconnects.tolist() == [False, False, True, True, True, False, False]
    assert answers.path == "lookup"
    served = {KINDS[k] for k in range(len(KINDS)) if regime.kinds[k]}
    assert served == {"social_worker", "police", "unscheduled_care"}


def test_signposting_2010_care_statuses_are_configurable():
    params = regime_params()
    narrow = params.signposting_2010_care.model_copy(update={"value": ["child_protection_plan"]})
    regime = Signposting2010(0.05, 2.0, params.model_copy(update={"signposting_2010_care": narrow}))
    assert regime.held(np.array([IN_NEED, PROTECTION_PLAN, LOOKED_AFTER])).tolist() == [
        False,
        True,
        False,
    ]


def test_local_indexes_are_shared_within_a_consortium_only():
    """Leicester -> Rutland and Telford -> Shropshire share an index; Leicester -> Bolton and
    Rutland -> Telford do not."""
    regime = LocalIndexes(0.05, 2.0, regime_params())
    leicester, rutland, telford, shropshire, bolton = (
        "E06000016",
        "E06000017",
        "E06000020",
        "E06000051",
        "E08000001",
    )
    encounters = _encounters(
        [IN_NEED] * 4,
        [leicester, telford, leicester, rutland],
        [rutland, shropshire, bolton, telford],
    )
    answers = regime.answer(_due(100, [0] * 4, [0, 1, 2, 3]), encounters)
    assert answers.reconnects.tolist() == [True, True, False, False]


def _closed(name: str, params):
    """The regime with no encounter kind served: nobody can use it."""
    fields = {
        "contactpoint": "contactpoint_kinds",
        "contactpoint_as_it_was": "contactpoint_kinds",
        "signposting_2010": "signposting_2010_kinds",
        "cp_is": "cp_is_kinds",
        "local": "local_kinds",
    }
    if name == "none":
        return params
    empty = getattr(params, fields[name]).model_copy(update={"value": []})
    return params.model_copy(update={fields[name]: empty})


def test_a_regime_nobody_can_use_gives_exactly_nones_outcomes(north_west, outcomes):
    """Every regime with no practitioner served: same reconnections, paths and hours as none."""
    paths, params = path_params(), regime_params()
    schedules = [
        Schedule(name, [(BEGINNING, make_regime(name, paths, _closed(name, params)))])
        for name in REGIMES
    ]
    world = World(north_west, WorldConfig(seed=5))
    runner = RegimeRunner(world, schedules, paths)
    world.run(on_day=runner.on_day)
    log = runner.regime_log()
    assert log.filter(pl.col("event") == "lookup").is_empty()
    reference = outcomes(log, "none")
    assert reference["reconnected"].is_not_null().sum() > 10
    use = runner.population.summary()
    for name in REGIMES:
        assert outcomes(log, name).equals(reference), name
        mine = log.filter(pl.col("scenario") == name)
        assert mine["hours"].sum() == log.filter(pl.col("scenario") == "none")["hours"].sum()
        # and across the whole population: no lookup, the same enquiries and hours
        assert (
            use.filter(pl.col("scenario") == name)
            .drop("scenario")
            .equals(use.filter(pl.col("scenario") == "none").drop("scenario"))
        ), name


def test_phone_rounds_fail_at_the_surveyed_share(ridden):
    """About 1 in 5 phone-rounds never reach anyone (within four standard errors)."""
    _, _, log = ridden
    rounds = log.filter(pl.col("event") == "phone_round")
    assert rounds.height > 300
    share = path_params().phone_round_failure.value
    failed = 1 - rounds["found"].mean()
    assert abs(failed - share) < 4 * np.sqrt(share * (1 - share) / rounds.height)


def test_records_transfers_follow_care_status(ridden):
    """Transfers are planned at each care status's share (data/regimes/paths.toml)."""
    _, runner, _ = ridden
    cases = runner.encounters.cases
    n = cases.size
    shares = path_params().records_transfer_share.value
    for care in (CAF, IN_NEED, PROTECTION_PLAN):
        mine = cases.care[:n] == care
        if mine.sum() < 100:
            continue
        observed = (cases.transfer[:n][mine] != -1).mean()
        assert abs(observed - shares[care]) < 4 * np.sqrt(shares[care] / mine.sum()) + 0.02
