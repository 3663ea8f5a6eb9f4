"""Each source's own view of the children, as the index was fed (docs/reference.md s5c).

Four national feeds (DWP Child Benefit with the Child Reference Number, the NHS Personal
Demographics Service, the School Census, GRO birth and death registrations) and the
authorities' own systems. A view holds only what that source knew: PDS knows the GP practice,
the census the school, Child Benefit and birth registrations the family. Every view keeps the
true child in `truth_child_id`, for evaluation only.
"""

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl

from sim.feeds import corruption, identifiers
from sim.feeds.parameters import ErrorRates
from sim.index.nicknames import nickname_frame
from sim.population.addresses import sample_addresses
from sim.population.names import sample_surnames
from sim.population.parameters import population_params
from sim.reference.authorities import load_authorities
from sim.streams import stream
from sim.world.destinations import destinations_for
from sim.world.parameters import move_params

SOURCES = (
    "dwp_child_benefit",
    "nhs_pds",
    "school_census",
    "gro_births",
    "gro_deaths",
    "local_authority",
)
ERROR_KINDS = (
    "surname_change",
    "typo_surname",
    "nickname",
    "typo_forename",
    "swapped_day_month",
    "stale_address",
    "missing_postcode",
    "missing_middle_names",
)
PARTS = ("select", "duplicate", "lag", "ids", "crn_missing", *ERROR_KINDS)
FEED_SCHEMA = {
    "source": pl.String,
    "record_id": pl.String,
    "crn": pl.String,
    "forename": pl.String,
    "middle_names": pl.String,
    "surname": pl.String,
    "gender": pl.String,
    "date_of_birth": pl.Date,
    "address_line": pl.String,
    "town": pl.String,
    "postcode": pl.String,
    "authority_code": pl.String,
    "household_id": pl.Int64,
    "school_urn": pl.Int64,
    "gp_practice_code": pl.String,
    "date_of_death": pl.Date,
    "received_on": pl.Date,
    "truth_child_id": pl.String,
}
ADDRESS = ("address_line", "town", "postcode")
PREVIOUS_ADDRESS_STREAM = 90  # key under the "feeds" subsystem, apart from the feeds' 0-5
SERVICE_FIELDS = ("household_id", "school_urn", "gp_practice_code", "crn", "date_of_death")
# What each source knows beyond identity and address.
KNOWS = {
    "dwp_child_benefit": ("household_id",),
    "nhs_pds": ("gp_practice_code",),
    "school_census": ("school_urn",),
    "gro_births": ("household_id",),
    "gro_deaths": (),
    "local_authority": ("household_id", "school_urn"),
}


def rng_for(seed: int, source: str, part: str, cohort: int) -> np.random.Generator:
    """The stream for one part of one feed for one birth cohort: adding a draw elsewhere, or
    making the cohorts in other batches, never shifts it."""
    return stream(seed, "feeds", SOURCES.index(source), PARTS.index(part), cohort)


def birth_cohort(year: int) -> pl.Expr:
    """Children born in `year`: the unit feeds are made and matched in (no feed error changes
    a birth year, so a child's records all fall in one cohort)."""
    return pl.col("date_of_birth").dt.year() == year


def base_frame(
    population: dict[str, pl.DataFrame],
    seed: int,
    year: int | None = None,
    previous: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Children (of one birth year, or all) with their household's current and previous
    address: the truth every feed starts from. `previous` is previous_addresses(), made once
    for all cohorts so siblings born in different years share their old address."""
    households = population["households"].select("household_id", *ADDRESS)
    if previous is None:
        previous = previous_addresses(population, seed)
    children = population["children"]
    if year is not None:
        children = children.filter(birth_cohort(year))
    children = children.rename({"child_id": "truth_child_id"})
    return (
        children.join(households, on="household_id", how="left")
        .join(previous, on="household_id", how="left")
        .sort("truth_child_id")
    )


def select(
    frame: pl.DataFrame, rng: np.random.Generator, share: float | np.ndarray
) -> pl.DataFrame:
    """Rows kept independently with probability `share` (a rate or one per row)."""
    return frame.filter(pl.Series(rng.random(frame.height) < share))


def duplicate(frame: pl.DataFrame, rng: np.random.Generator, rate: float) -> pl.DataFrame:
    """A second record for a share of children: it then takes its own errors and its own ID."""
    return pl.concat([frame, select(frame, rng, rate)], how="vertical")


def previous_addresses(population: dict[str, pl.DataFrame], seed: int) -> pl.DataFrame:
    """One earlier address per household: every feed that has not caught up with a move shows
    the same old address, and the authority it lay in.

    The old address lies in another authority as often as a child's move crosses one: the
    world's between-authority share of moves at the age of the household's youngest child
    (data/world/moves.toml, about 40%, docs/reference.md s3), with the old authority drawn from the
    world's destination kernel (moves are treated as symmetric: the kernel from the current
    authority stands for the flows into it). As in the world, a population of some authorities
    is closed: only the kernel's mass on its own authorities is kept, so every old address lies
    in an authority the index covers. The rest lie in the household's own authority.
    """
    households = population["households"].sort("household_id")
    share = _other_authority_share(population).select("household_id", "share")
    households = households.join(share, on="household_id", how="left").with_columns(
        pl.col("share").fill_null(0.0)
    )
    codes = [a.code for a in load_authorities()]
    ordinal = households["authority_code"].replace_strict(
        codes, range(len(codes)), return_dtype=pl.Int64
    )
    ordinals, origins = np.unique(ordinal.to_numpy(), return_inverse=True)  # the population's
    kernel = destinations_for(ordinals)
    rng = stream(seed, "feeds", PREVIOUS_ADDRESS_STREAM)
    chance = households["share"].to_numpy() * kernel.retained[origins]
    moved = rng.random(households.height) < chance
    previous = ordinals[origins]
    previous[moved] = kernel.draw(rng, origins[moved])
    households = households.with_columns(
        previous_authority_code=pl.Series(np.array(codes, dtype=object)[previous], dtype=pl.String)
    )
    parts = []
    for (code,), part in households.group_by("previous_authority_code", maintain_order=True):
        old = sample_addresses(rng, str(code), part.height).select(
            *(pl.col(c).alias(f"previous_{c}") for c in ADDRESS)
        )
        parts.append(part.select("household_id", "previous_authority_code").hstack(old))
    return pl.concat(parts).sort("household_id")


def _other_authority_share(population: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """household_id and the share of its moves that cross an authority, at the age of its
    youngest child on the population's snapshot date."""
    params = move_params()
    crossing = [
        between / moves if moves else 0.0
        for between, moves in zip(
            params.between_authority_moves_by_age.value,
            params.address_moves_by_age.value,
            strict=True,
        )
    ]
    snapshot = population_params().snapshot_date.value
    age = (snapshot.year - 1 - pl.col("date_of_birth").dt.year()).clip(0, len(crossing) - 1)
    youngest = population["children"].group_by("household_id").agg(age.min().alias("age"))
    return youngest.with_columns(
        share=pl.col("age").replace_strict(list(range(len(crossing))), crossing)
    )


def stale_addresses(frame: pl.DataFrame, mask: np.ndarray) -> pl.DataFrame:
    """Masked rows show the household's previous address, and its authority, instead of the
    current one."""
    stale = pl.lit(pl.Series(mask))
    return frame.with_columns(
        pl.when(stale).then(pl.col(f"previous_{c}")).otherwise(pl.col(c)).alias(c)
        for c in (*ADDRESS, "authority_code")
    )


def inject_errors(
    frame: pl.DataFrame, rates: ErrorRates, rng: Callable[[str], np.random.Generator]
) -> pl.DataFrame:
    """Apply every kind of error at its rate; each kind draws from its own stream, which
    first chooses the rows and then makes the error."""
    n = frame.height
    streams = {kind: rng(kind) for kind in ERROR_KINDS}

    def mask(part: str) -> np.ndarray:
        return corruption.draw_mask(streams[part], n, getattr(rates, part).value)

    changed = mask("surname_change")
    former = sample_surnames(streams["surname_change"], n)
    surname = pl.select(
        pl.when(pl.lit(pl.Series(changed))).then(former).otherwise(frame["surname"])
    ).to_series()
    surname = corruption.typo(streams["typo_surname"], surname, mask("typo_surname"))
    forename = corruption.nickname(
        streams["nickname"], frame["forename"], mask("nickname"), nickname_frame()
    )
    forename = corruption.typo(streams["typo_forename"], forename, mask("typo_forename"))
    born = corruption.swap_day_month(frame["date_of_birth"], mask("swapped_day_month"))
    frame = frame.with_columns(
        surname=surname.alias("surname"), forename=forename, date_of_birth=born
    )
    frame = stale_addresses(frame, mask("stale_address"))
    missing = mask("missing_postcode")
    frame = frame.with_columns(corruption.blank(frame[c], missing) for c in ADDRESS)
    no_middle = mask("missing_middle_names")
    return frame.with_columns(corruption.blank(frame["middle_names"], no_middle))


def received_as_at(
    frame: pl.DataFrame, rng: np.random.Generator, as_of: dt.date, lag: float
) -> pl.DataFrame:
    """A snapshot extract: each record is as at its source's last update, `lag` days back on
    average; a child born after that update is not in it yet."""
    lags = corruption.exponential_lags(rng, frame.height, lag)
    frame = frame.with_columns(received_on=corruption.days_before(as_of, lags))
    return frame.filter(pl.col("date_of_birth") <= pl.col("received_on"))


def received_after(
    frame: pl.DataFrame, rng: np.random.Generator, event: str, as_of: dt.date, lag: float
) -> pl.DataFrame:
    """An event feed: a registration arrives `lag` days after the event, if by `as_of`."""
    lags = pl.Series(corruption.exponential_lags(rng, frame.height, lag)).cast(pl.Int64)
    frame = frame.with_columns(received_on=pl.col(event) + pl.duration(days=lags))
    return frame.filter(pl.col("received_on") <= as_of)


def record_ids(frame: pl.DataFrame, source: str, seed: int, cohort: int) -> pl.Series:
    """The source's own identifiers for its records, distinct across cohorts: NHS numbers come
    from the cohort's own block of one national permutation, references carry the cohort."""
    rng = rng_for(seed, source, "ids", cohort)
    if source == "nhs_pds":
        national = stream(seed, "feeds", SOURCES.index(source), PARTS.index("ids"))
        numbers = identifiers.nhs_numbers(national, frame.height, cohort)
        return numbers.gather(rng.permutation(frame.height))
    if source == "school_census":
        la_numbers = {a.code: a.dfe_la_code for a in load_authorities()}
        return identifiers.upns(frame, la_numbers)
    prefix = {"dwp_child_benefit": "CB", "gro_births": "GROB", "gro_deaths": "GROD"}
    return identifiers.local_references(f"{prefix.get(source, 'LA')}-{cohort}", rng, frame.height)


def finish(frame: pl.DataFrame, source: str, seed: int, cohort: int) -> pl.DataFrame:
    """Give the records their source's IDs and cut them to the shared feed schema."""
    frame = frame.sort("truth_child_id", "received_on", maintain_order=True)
    frame = frame.with_columns(
        source=pl.lit(source), record_id=record_ids(frame, source, seed, cohort)
    )
    keep = set(KNOWS[source]) | {"crn", "date_of_death"}

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        if name in frame.columns and (name not in SERVICE_FIELDS or name in keep):
            return pl.col(name)
        return pl.lit(None, dtype=dtype).alias(name)

    return frame.select(column(c, t) for c, t in FEED_SCHEMA.items()).cast(FEED_SCHEMA)
