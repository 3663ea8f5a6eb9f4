"""Who each feed covers and when its records arrive; errors and IDs come from sources.py."""

import datetime as dt

import numpy as np
import polars as pl

from sim.feeds.parameters import FeedParams, feed_params
from sim.feeds.sources import (
    base_frame,
    duplicate,
    finish,
    inject_errors,
    previous_addresses,
    received_after,
    received_as_at,
    rng_for,
    select,
)
from sim.population.parameters import population_params


def _age(as_of: dt.date) -> pl.Expr:
    """Whole years of age on `as_of`."""
    born = pl.col("date_of_birth")
    before_birthday = (born.dt.month() > as_of.month) | (
        (born.dt.month() == as_of.month) & (born.dt.day() > as_of.day)
    )
    return as_of.year - born.dt.year() - before_birthday.cast(pl.Int32)


def _errors_and_ids(
    frame: pl.DataFrame, source: str, seed: int, params: FeedParams, cohort: int
) -> pl.DataFrame:
    rates = getattr(params, source).errors
    frame = duplicate(frame, rng_for(seed, source, "duplicate", cohort), rates.duplicate.value)
    frame = inject_errors(frame, rates, lambda part: rng_for(seed, source, part, cohort))
    return finish(frame, source, seed, cohort)


def child_benefit(
    base: pl.DataFrame, seed: int, as_of: dt.date, params: FeedParams, cohort: int = 0
) -> pl.DataFrame:
    """Claims for children under the age limit, and older ones still in education (s142).

    The Child Reference Number is the index ID the index was seeded from; a share of records
    arrive without it."""
    feed = params.dwp_child_benefit
    young = base.select(_age(as_of) < feed.age_limit.value).to_series().to_numpy()
    share = np.where(young, feed.coverage.value, feed.older_coverage.value)
    frame = select(base, rng_for(seed, "dwp_child_benefit", "select", cohort), share)
    frame = received_as_at(
        frame, rng_for(seed, "dwp_child_benefit", "lag", cohort), as_of, feed.lag_days_mean.value
    )
    missing = (
        rng_for(seed, "dwp_child_benefit", "crn_missing", cohort).random(frame.height)
        < feed.crn_missing.value
    )
    frame = frame.with_columns(
        crn=pl.when(pl.lit(pl.Series(missing))).then(None).otherwise(pl.col("truth_child_id"))
    )
    return _errors_and_ids(frame, "dwp_child_benefit", seed, params, cohort)


def snapshot_feed(
    base: pl.DataFrame,
    source: str,
    seed: int,
    as_of: dt.date,
    params: FeedParams,
    cohort: int = 0,
) -> pl.DataFrame:
    """A national or local extract: PDS, the School Census (pupils only) or an authority."""
    feed = getattr(params, source)
    if source == "school_census":
        base = base.filter(pl.col("school_urn").is_not_null())
    frame = select(base, rng_for(seed, source, "select", cohort), feed.coverage.value)
    frame = received_as_at(
        frame, rng_for(seed, source, "lag", cohort), as_of, feed.lag_days_mean.value
    )
    return _errors_and_ids(frame, source, seed, params, cohort)


def birth_registrations(
    base: pl.DataFrame, seed: int, as_of: dt.date, params: FeedParams, cohort: int = 0
) -> pl.DataFrame:
    """Births since the feed began, each arriving after registration (BDRA 1953 s2)."""
    feed = params.gro_births
    born = base.filter(pl.col("date_of_birth") >= feed.births_from.value)
    frame = select(born, rng_for(seed, "gro_births", "select", cohort), feed.coverage.value)
    frame = received_after(
        frame,
        rng_for(seed, "gro_births", "lag", cohort),
        "date_of_birth",
        as_of,
        feed.lag_days_mean.value,
    )
    return _errors_and_ids(frame, "gro_births", seed, params, cohort)


def death_registrations(
    base: pl.DataFrame, seed: int, as_of: dt.date, params: FeedParams, cohort: int = 0
) -> pl.DataFrame:
    """Deaths in the window before `as_of` at the child death rate (docs/reference.md s2)."""
    feed = params.gro_deaths
    window = feed.window_days.value
    rng = rng_for(seed, "gro_deaths", "select", cohort)
    frame = select(base, rng, feed.death_rate.value * window / 365.25)
    days = rng.integers(0, window, frame.height)
    died = pl.Series(np.datetime64(as_of, "D") - days.astype("timedelta64[D]")).cast(pl.Date)
    frame = frame.with_columns(date_of_death=died).filter(
        pl.col("date_of_death") >= pl.col("date_of_birth")
    )
    frame = received_after(
        frame,
        rng_for(seed, "gro_deaths", "lag", cohort),
        "date_of_death",
        as_of,
        feed.lag_days_mean.value,
    )
    return _errors_and_ids(frame, "gro_deaths", seed, params, cohort)


def cohort_feeds(
    base: pl.DataFrame, seed: int, year: int, as_of: dt.date, params: FeedParams
) -> pl.DataFrame:
    """Every feed's records of the children born in `year` (`base` holds just them), stacked.

    Every draw is keyed by the year, so a cohort's records are the same whichever cohorts are
    made beside it."""
    return pl.concat(
        [
            child_benefit(base, seed, as_of, params, year),
            snapshot_feed(base, "nhs_pds", seed, as_of, params, year),
            snapshot_feed(base, "school_census", seed, as_of, params, year),
            birth_registrations(base, seed, as_of, params, year),
            death_registrations(base, seed, as_of, params, year),
            snapshot_feed(base, "local_authority", seed, as_of, params, year),
        ],
        how="vertical",
    )


def birth_years(children: pl.DataFrame) -> list[int]:
    """The population's birth cohorts, oldest first."""
    return sorted(children["date_of_birth"].dt.year().unique().drop_nulls().to_list())


class CohortFeeds:
    """Feeds made one birth cohort at a time, so memory follows a cohort, not England.

    The households' previous addresses are drawn once, for all cohorts."""

    def __init__(
        self, population: dict[str, pl.DataFrame], seed: int, as_of: dt.date | None = None
    ) -> None:
        self.population, self.seed = population, seed
        self.as_of = as_of or population_params().snapshot_date.value
        self.params = feed_params()
        self.previous = previous_addresses(population, seed)
        self.years = birth_years(population["children"])

    def feeds(self, year: int) -> pl.DataFrame:
        """The cohort's records in sources.FEED_SCHEMA."""
        base = base_frame(self.population, self.seed, year, self.previous)
        return cohort_feeds(base, self.seed, year, self.as_of, self.params)


def make_feeds(
    population: dict[str, pl.DataFrame], seed: int, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Every feed's records as at `as_of` (default: the population's snapshot date), stacked
    cohort by cohort, oldest first.

    One row per record in sources.FEED_SCHEMA; `truth_child_id` is for evaluation only.
    """
    made = CohortFeeds(population, seed, as_of)
    return pl.concat([made.feeds(year) for year in made.years], how="vertical")
