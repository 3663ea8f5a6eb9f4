"""Source feeds: who each covers, when records arrive, and the errors they make."""

import datetime as dt

import jellyfish
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.feeds import (
    FEED_SCHEMA,
    SOURCES,
    CohortFeeds,
    corruption,
    feed_params,
    make_feeds,
    nicknames,
)
from sim.feeds.identifiers import UPN_CHECK_LETTERS, nhs_check_digits
from sim.feeds.parameters import ErrorRates, FeedParams
from sim.feeds.sources import ADDRESS, base_frame, inject_errors
from sim.feeds.views import death_registrations
from sim.index.nicknames import nickname_frame
from sim.population.addresses import districts_by_authority
from sim.population.parameters import population_params
from sim.population.synth import SynthRequest, synthesise
from sim.reference.params import read_toml

AS_OF = dt.date(2009, 1, 1)


@pytest.fixture(scope="module")
def population() -> dict[str, pl.DataFrame]:
    """Bolton at 1% scale: about 630 children."""
    return synthesise(SynthRequest(seed=1, scale=0.01, authority_codes=("E08000001",)))


@pytest.fixture(scope="module")
def feeds(population: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return make_feeds(population, seed=3, as_of=AS_OF)


def _rates(**values: float) -> ErrorRates:
    """Error rates, all zero except those given."""
    template = feed_params().nhs_pds.errors
    fields = {
        name: param.model_copy(update={"value": values.get(name, 0.0)}) for name, param in template
    }
    return ErrorRates(**fields)


def test_data_files_validate() -> None:
    """feeds.toml and nicknames.csv load; every feed has its parameters and error rates."""
    params = feed_params()
    assert {name for name, _ in params} == set(SOURCES)
    assert all(n.forename != n.short_form for n in nicknames())


def test_rates_outside_zero_to_one_are_refused() -> None:
    """A share above 1 in feeds.toml is a data error, not a silent clamp."""
    raw = read_toml("index/feeds.toml")
    raw["nhs_pds"]["coverage"]["value"] = 1.5
    with pytest.raises(ValidationError):
        FeedParams.model_validate(raw)


def test_schema_and_truth(feeds: pl.DataFrame, population: dict[str, pl.DataFrame]) -> None:
    """Every feed stacks into one schema; each record's truth is a real child."""
    assert feeds.schema == pl.Schema(FEED_SCHEMA)
    assert set(feeds["source"]) >= set(SOURCES) - {"gro_deaths"}
    children = population["children"]["child_id"]
    assert feeds["truth_child_id"].is_in(children.implode()).all()
    assert feeds.select("source", "record_id").is_unique().all()


def test_same_seed_same_feeds(population: dict[str, pl.DataFrame], feeds: pl.DataFrame) -> None:
    """Feeds are reproducible from the seed, and another seed gives other errors."""
    assert make_feeds(population, seed=3, as_of=AS_OF).equals(feeds)
    assert not make_feeds(population, seed=4, as_of=AS_OF).equals(feeds)


def test_child_reference_numbers(feeds: pl.DataFrame) -> None:
    """Only Child Benefit carries the CRN; it is the index ID where present, and some lack it."""
    benefit = feeds.filter(pl.col("source") == "dwp_child_benefit")
    assert feeds.filter(pl.col("source") != "dwp_child_benefit")["crn"].null_count() == (
        feeds.height - benefit.height
    )
    present = benefit.filter(pl.col("crn").is_not_null())
    assert (present["crn"] == present["truth_child_id"]).all()
    assert 0 < benefit["crn"].null_count() < 0.1 * benefit.height


def test_nhs_numbers_are_valid_and_not_index_ids(feeds: pl.DataFrame) -> None:
    """PDS records carry distinct ten-digit NHS numbers with a correct modulus 11 check."""
    pds = feeds.filter(pl.col("source") == "nhs_pds")["record_id"]
    numbers = pds.cast(pl.Int64).to_numpy()
    assert pds.str.len_chars().eq(10).all() and pds.is_unique().all()
    assert (nhs_check_digits(numbers // 10) == numbers % 10).all()
    assert not pds.is_in(feeds["truth_child_id"].implode()).any()


def test_school_census_covers_pupils_only(feeds: pl.DataFrame, population: dict) -> None:
    """Census records are pupils with a school, under 13-character UPN-like references."""
    census = feeds.filter(pl.col("source") == "school_census")
    pupils = population["children"].filter(pl.col("school_urn").is_not_null())["child_id"]
    assert census["truth_child_id"].is_in(pupils.implode()).all()
    assert census["school_urn"].null_count() == 0
    upn = census["record_id"]
    assert upn.str.len_chars().eq(13).all()
    assert upn.str.slice(0, 1).is_in(list(UPN_CHECK_LETTERS)).all()
    assert upn.str.slice(1).str.contains(r"^\d{12}$").all()


def test_sources_know_only_their_own_services(feeds: pl.DataFrame) -> None:
    """GP practice comes only from PDS, school only from the census and the authority."""
    gp = feeds.filter(pl.col("gp_practice_code").is_not_null())["source"].unique()
    school = feeds.filter(pl.col("school_urn").is_not_null())["source"].unique()
    assert set(gp) == {"nhs_pds"}
    assert set(school) <= {"school_census", "local_authority"}


def test_lags_and_birth_registrations(
    feeds: pl.DataFrame, population: dict[str, pl.DataFrame]
) -> None:
    """Nothing arrives after the as-of date or before the child was born; GRO carries only
    births since the feed began; snapshot extracts are as at a date before the load."""
    truth = population["children"].select(
        pl.col("child_id").alias("truth_child_id"), pl.col("date_of_birth").alias("born")
    )
    arrived = feeds.join(truth, on="truth_child_id")
    assert (arrived["received_on"] <= AS_OF).all()
    assert (arrived["received_on"] >= arrived["born"]).all()
    births = arrived.filter(pl.col("source") == "gro_births")
    assert births.height > 0
    assert (births["born"] >= feed_params().gro_births.births_from.value).all()
    snapshot = feeds.filter(pl.col("source") == "nhs_pds")
    assert (snapshot["received_on"] < AS_OF).mean() > 0.5


def test_death_registrations(population: dict[str, pl.DataFrame]) -> None:
    """Deaths fall in the window before the load and arrive after registration."""
    params = feed_params()
    rate = params.gro_deaths.death_rate.model_copy(update={"value": 0.05})
    raised = params.model_copy(
        update={"gro_deaths": params.gro_deaths.model_copy(update={"death_rate": rate})}
    )
    deaths = death_registrations(base_frame(population, 3), 3, AS_OF, raised)
    assert deaths.height > 5
    assert (deaths["date_of_death"] >= AS_OF - dt.timedelta(days=365)).all()
    assert (deaths["received_on"] >= deaths["date_of_death"]).all()
    assert (deaths["received_on"] <= AS_OF).all()


def test_error_rates_are_applied(population: dict[str, pl.DataFrame]) -> None:
    """With these rates at one, every surname is mistyped, middle names are gone, and every
    address is the household's previous one, in the same authority and the same in any feed."""
    base = base_frame(population, 3)
    rates = _rates(typo_surname=1.0, stale_address=1.0, missing_middle_names=1.0)
    noisy = inject_errors(base, rates, lambda part: np.random.default_rng(len(part)))
    assert (noisy["surname"] != base["surname"]).all()
    assert noisy["middle_names"].null_count() == noisy.height
    assert (noisy["postcode"] != base["postcode"]).mean() > 0.95
    districts = set(districts_by_authority()["E08000001"]["district"])
    assert set(noisy["postcode"].str.split(" ").list.first()) <= districts
    again = inject_errors(base, rates, lambda part: np.random.default_rng(7 + len(part)))
    assert again.select(ADDRESS).equals(noisy.select(ADDRESS))
    clean = inject_errors(base, _rates(), lambda part: np.random.default_rng(0))
    assert clean.select(base.columns).equals(base)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-' ", min_size=1, max_size=24),
        min_size=1,
        max_size=20,
    ),
    st.integers(0, 2**32 - 1),
)
def test_typo_is_exactly_one_edit(words: list[str], seed: int) -> None:
    """A typo changes a name by exactly one Damerau-Levenshtein step and keeps its initial."""
    names = pl.Series("name", [w[0].upper() + w[1:] for w in words])
    typed = corruption.typo(np.random.default_rng(seed), names, np.ones(len(names), dtype=bool))
    for before, after in zip(names.to_list(), typed.to_list(), strict=True):
        assert jellyfish.damerau_levenshtein_distance(before, after) == 1
        assert after[0] == before[0] or after[0].isupper()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2012, 12, 31)), min_size=1, max_size=30))
def test_swapped_day_month_is_a_real_date_or_unchanged(dates: list[dt.date]) -> None:
    """Swapping day and month gives a valid date with the same year, or leaves the date be."""
    swapped = corruption.swap_day_month(pl.Series(dates), np.ones(len(dates), dtype=bool))
    for before, after in zip(dates, swapped.to_list(), strict=True):
        assert isinstance(after, dt.date) and after.year == before.year
        if before.day <= 12 and before.day != before.month:
            assert (after.month, after.day) == (before.day, before.month)
        else:
            assert after == before


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.sampled_from(["William", "Elizabeth", "Zebedee", "Kate", "Michael"]),
        min_size=1,
        max_size=20,
    ),
    st.integers(0, 2**32 - 1),
)
def test_nickname_is_a_listed_short_form(names: list[str], seed: int) -> None:
    """A nicknamed forename is one of that name's short forms; names without one stay."""
    table = nickname_frame()
    shorts = table.group_by("forename").agg("short_form")
    allowed = dict(zip(shorts["forename"], shorts["short_form"].to_list(), strict=True))
    result = corruption.nickname(
        np.random.default_rng(seed), pl.Series(names), np.ones(len(names), dtype=bool), table
    )
    for before, after in zip(names, result.to_list(), strict=True):
        assert after in allowed.get(before, [before])


def test_default_as_of_is_the_snapshot(population: dict[str, pl.DataFrame]) -> None:
    """Without an as-of date, feeds describe the population's snapshot day."""
    feeds = make_feeds(population, seed=3)
    assert feeds["received_on"].max() <= population_params().snapshot_date.value


def test_error_draws_do_not_depend_on_which_rows_were_chosen(
    population: dict[str, pl.DataFrame],
) -> None:
    """A former surname is drawn from the whole vocabulary, not skewed by the draw that chose
    the row (one stream per error kind chooses rows, then makes the error)."""
    base = base_frame(population, 3)
    noisy = inject_errors(base, _rates(surname_change=0.2), lambda part: np.random.default_rng(11))
    changed = noisy.filter(pl.col("surname") != base["surname"])
    assert changed.height > 50
    assert changed["surname"].str.slice(0, 1).n_unique() >= 8


def test_a_cohorts_records_do_not_depend_on_the_other_cohorts(
    population: dict[str, pl.DataFrame], feeds: pl.DataFrame
) -> None:
    """Feeds made for one birth year alone are that year's records in the feeds of everyone,
    so a build may make cohorts in any batches; record IDs never repeat across cohorts."""
    year = population["children"]["date_of_birth"].dt.year().mode().min()
    alone = {
        **population,
        "children": population["children"].filter(pl.col("date_of_birth").dt.year() == year),
    }
    made = CohortFeeds(alone, seed=3, as_of=AS_OF)
    assert made.years == [year]
    ids = population["children"].filter(pl.col("date_of_birth").dt.year() == year)["child_id"]
    within = feeds.filter(pl.col("truth_child_id").is_in(ids.implode()))
    assert within.height > 0 and made.feeds(year).equals(within)
    assert feeds.select("source", "record_id").is_unique().all()
