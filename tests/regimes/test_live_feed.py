"""Live feeds into a deployed index: lags, daily batches, and shields that no feed can lift."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.feeds.live import LiveFeed, feed_lags
from sim.feeds.parameters import feed_params
from sim.index.service import ContactPoint
from sim.population.identifiers import index_ids
from sim.reference import load_authorities
from sim.regimes import FacadeLookup, Identities, LookupRequests
from sim.regimes.deployment import provision_practitioners, working_copy
from sim.streams import stream

BOLTON, WIGAN = "E08000001", "E08000010"
DAY = dt.date(2010, 3, 1)


class Live:
    """A working copy of the deployment with a feed and a Bolton practitioner looking up."""

    def __init__(self, deployment, tables, into, place=lambda copy: copy) -> None:
        self.tables = tables
        copy = place(working_copy(deployment, into))  # on_backend: SQLite or PostgreSQL
        self.service = ContactPoint.open(copy, profile="simulation")
        staff = provision_practitioners(
            self.service, {BOLTON: 1, WIGAN: 1}, dt.datetime.combine(DAY, dt.time(7))
        )
        self.lookup = FacadeLookup(self.service, staff, Identities(tables["children"]))
        self.feed = LiveFeed(self.service.store, stream(9, "feeds", 900, 0))

    def ask(self, child_id: str, when: dt.datetime, authority: str = BOLTON):
        requests = LookupRequests([child_id], [authority], [when], np.ones(1), np.zeros(1, bool))
        return self.lookup.lookup(requests)

    def household(self, authority: str) -> pl.DataFrame:
        """The children of the first household with two children in `authority`."""
        children = self.tables["children"].filter(pl.col("authority_code") == authority)
        pairs = children.group_by("household_id").len().filter(pl.col("len") >= 2)
        first = pairs["household_id"].min()
        return children.filter(pl.col("household_id") == first)


@pytest.fixture
def live(live_deployment, tmp_path, on_backend):
    """A live working copy on each backend in turn (the feed's statements are the backend's)."""
    deployment, tables = live_deployment
    made = Live(deployment, tables, tmp_path, on_backend)
    yield made
    made.service.close()


def _newborn_id(tables) -> str:
    ordinal = [a.code for a in load_authorities()].index(BOLTON)
    known = set(tables["children"]["child_id"].to_list())
    fresh = index_ids(ordinal, np.arange(990_000, 990_050)).astype(str)
    return next(i for i in fresh if i not in known)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


def test_a_newborn_is_not_found_until_its_birth_is_fed(live):
    """A birth reaches the index only when the GRO feed's lag has passed: before, a lookup by
    the child's ID is 'not found' (not refused); after, the child is there in its family."""
    family = live.household(BOLTON)
    child_id = _newborn_id(live.tables)
    birth = pl.DataFrame(
        {
            "child_id": [child_id],
            "authority_code": [BOLTON],
            "gender": ["female"],
            "date_of_birth": [DAY.isoformat()],
            "household_key": [family["household_id"][0]],
            "forename": ["Ada"],
            "surname": ["Unused"],
            "address_line": ["1 New Street"],
            "town": ["Bolton"],
            "postcode": ["BL1 1AA"],
        }
    )
    live.feed.submit("births", DAY, birth)
    due = min(live.feed.pending)
    assert due > DAY
    before = live.ask(child_id, _at(due - dt.timedelta(days=1)))
    assert not before.found[0] and not before.refused[0]
    live.feed.deliver(due)
    after = live.ask(child_id, _at(due, 11))
    assert after.found[0]
    stored = live.service.store.read_record(child_id).record
    assert stored.name.surname == family["surname"][0]  # the family's name, not the fallback


def test_a_move_is_stale_until_fed_and_the_household_moves_together(live):
    """Before the address feed arrives the index still holds the old authority and address;
    the whole household arrives on one day with its new address and authority."""
    family = live.household(BOLTON)
    ids = family["child_id"].to_list()
    move = pl.DataFrame(
        {
            "child_id": ids,
            "authority_code": [WIGAN] * len(ids),
            "household_key": family["household_id"].to_list(),
            "address_line": ["2 Moved Lane"] * len(ids),
            "town": ["Wigan"] * len(ids),
            "postcode": ["WN1 1ZZ"] * len(ids),
        }
    )
    live.feed.submit("moves", DAY, move, group="household_key")
    assert len(live.feed.pending) == 1  # one lag for the household
    due = min(live.feed.pending)
    assert set(live.service.store.authorities_of(ids).values()) == {BOLTON}
    live.feed.deliver(due)
    assert set(live.service.store.authorities_of(ids).values()) == {WIGAN}
    address = live.service.store.read_record(ids[0]).record.address
    assert address.postcode == "WN1 1ZZ"


def test_school_and_gp_changes_replace_the_involvement(live):
    """A school change removes the old school from the record and adds the new one."""
    schools = live.tables["schools"].filter(pl.col("authority_code") == BOLTON)
    child = live.tables["children"].filter(
        (pl.col("authority_code") == BOLTON) & pl.col("school_urn").is_not_null()
    )[0]
    new = schools.filter(pl.col("urn") != child["school_urn"][0])[0]
    change = pl.DataFrame(
        {
            "child_id": child["child_id"],
            "kind": ["school"],
            "code": [str(new["urn"][0])],
            "name": new["name"],
        }
    )
    live.feed.submit("services", DAY, change)
    live.feed.deliver(max(live.feed.pending))
    record = live.service.store.read_record(child["child_id"][0]).record
    codes = {s.organisation_code for s in record.services if s.kind == "school"}
    assert codes == {str(new["urn"][0])}


def test_a_death_is_noted_for_the_retention_clock(live):
    """The GRO death feed records the death against the child (SI 2007/2182 reg 7)."""
    child_id = live.tables["children"]["child_id"][3]
    deaths = pl.DataFrame({"child_id": [child_id], "died_on": [DAY.isoformat()]})
    live.feed.submit("deaths", DAY, deaths)
    live.feed.deliver(max(live.feed.pending))
    assert live.service.store.table_counts()["death"] == 1


def test_stopped_feeds_drop_what_is_pending_and_accept_nothing(live):
    """At the switch-off every feed stops: pending updates are dropped, later ones ignored."""
    child_id = live.tables["children"]["child_id"][4]
    deaths = pl.DataFrame({"child_id": [child_id], "died_on": [DAY.isoformat()]})
    live.feed.submit("deaths", DAY, deaths)
    assert live.feed.stop() == 1
    live.feed.submit("deaths", DAY, deaths)
    assert live.feed.deliver(DAY + dt.timedelta(days=400)) == 0
    assert live.service.store.table_counts()["death"] == 0


def test_feed_lags_come_from_the_feed_data():
    """Births, deaths, schools and GP practices use their feed's mean lag; a move arrives by
    the first of the Child Benefit and PDS feeds, so sooner than either."""
    p, lags = feed_params(), feed_lags()
    assert lags["births"] == p.gro_births.lag_days_mean.value
    assert lags["deaths"] == p.gro_deaths.lag_days_mean.value
    assert lags["school"] == p.school_census.lag_days_mean.value
    assert lags["gp_practice"] == p.nhs_pds.lag_days_mean.value
    assert lags["moves"] < min(
        p.dwp_child_benefit.lag_days_mean.value, p.nhs_pds.lag_days_mean.value
    )


@pytest.fixture(scope="module")
def shielded(live_deployment, tmp_path_factory):
    """A working copy in which one Bolton child is shielded by a four-eyes decision."""
    deployment, tables = live_deployment
    made = Live(deployment, tables, tmp_path_factory.mktemp("shield"))
    store = made.service.store
    child_id = made.household(BOLTON)["child_id"][0]
    request = store.add_shielding_request(child_id, "domestic abuse refuge", "m1", _at(DAY, 8))
    store.decide_shielding_request(request, True, "m2", _at(DAY, 9))
    clock = [DAY]  # examples move forward in time: a token code is never accepted twice
    yield made, child_id, clock
    made.service.close()


UPDATES = st.lists(st.sampled_from(["move", "school", "gp", "birth", "death"]), min_size=1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates=UPDATES, day=st.integers(min_value=1, max_value=3))
def test_a_shielded_record_stays_shielded_whatever_the_feeds_say(shielded, updates, day):
    """Whatever a feed sends about a shielded child (moves, school and GP changes, a birth
    registration of the same ID, a death), the shield stays and a lookup shows no contacts
    (the 2009 incident: national feed updates unshielded records; Hansard 12 May 2009)."""
    live, child_id, clock = shielded
    when = clock[0] = clock[0] + dt.timedelta(days=day)
    household = int(
        live.tables["children"].filter(pl.col("child_id") == child_id)["household_id"][0]
    )
    frames = {
        "move": ("moves", {"authority_code": WIGAN, "household_key": household,
                           "address_line": "9 Hidden Row", "town": "Wigan", "postcode": "WN2 2AB"}),
        "school": ("services", {"kind": "school", "code": "999999", "name": "New School"}),
        "gp": ("services", {"kind": "gp_practice", "code": "Z99999", "name": "New Practice"}),
        "birth": ("births", {"authority_code": BOLTON, "gender": "male",
                             "date_of_birth": "2009-01-01", "household_key": household,
                             "forename": "Feed", "surname": "Says", "address_line": "x",
                             "town": "y", "postcode": "BL1 1AA"}),
        "death": ("deaths", {"died_on": when.isoformat()}),
    }  # fmt: skip
    for update in updates:
        feed, columns = frames[update]
        live.feed.submit(feed, when, pl.DataFrame([{"child_id": child_id, **columns}]))
    live.feed.deliver(when + dt.timedelta(days=2000))
    assert live.service.store.read_record(child_id).shield is not None
    answers = live.ask(child_id, _at(when, 10), WIGAN)
    assert answers.found[0] and answers.shielded[0] and not answers.contacts_shown[0]
