"""Synthetic England: counts, ages, households, services and identifiers hold their rules."""

import numpy as np
import polars as pl

from sim.population.ages import academic_age, age_shares
from sim.population.identifiers import is_valid_index_id
from sim.population.parameters import household_params, population_params
from sim.population.synth import expected_children
from sim.reference import load_authorities


def test_children_per_authority_match_the_data_file(england_small):
    """Each authority has its rescaled census count times the scale (exactly, after rounding)."""
    counts = dict(england_small["children"].group_by("authority_code").len().iter_rows())
    for authority in load_authorities():
        assert counts.get(authority.code, 0) == expected_children(authority, 0.01)


def test_single_year_ages_per_region_within_3_percent(england_small):
    """Single-year age counts per region are within 3% of authority totals x national shares."""
    snapshot = population_params().snapshot_date.value
    children = england_small["children"].join(
        england_small["authorities"].select("authority_code", "region"), on="authority_code"
    )
    born = children["date_of_birth"].to_numpy().astype("datetime64[D]")
    ages = (np.datetime64(snapshot) - born).astype("timedelta64[D]").astype(int) // 365.2425
    children = children.with_columns(age=pl.Series(ages.astype(int)))
    shares = age_shares(snapshot)
    for (region,), part in children.group_by("region"):
        total = part.height
        observed = part.group_by("age").len().sort("age")["len"].to_numpy()
        assert len(observed) == 18
        expected = total * shares
        assert np.all(np.abs(observed - expected) <= 0.03 * expected + 2), region


def test_every_id_is_valid_and_unique(england_small):
    """Every child has a valid index ID and no two children share one."""
    ids = england_small["children"]["child_id"]
    assert ids.n_unique() == len(ids)
    assert all(is_valid_index_id(i) for i in ids.sample(5_000, seed=1))


def test_siblings_share_one_address_and_carers(england_small):
    """Children of a household share its one address; every household has 1 or 2 carers."""
    households = england_small["households"]
    assert households["household_id"].n_unique() == households.height
    children = england_small["children"].join(households, on="household_id", how="left")
    assert children["postcode"].null_count() == 0
    carers = england_small["carers"].group_by("household_id").len()
    assert carers.height == households.height
    assert set(carers["len"].unique().to_list()) <= {1, 2}


def test_lone_parent_share_matches_the_data(england_small):
    """About a quarter of households have one carer, as data/population/households.toml says."""
    per_household = england_small["carers"].group_by("household_id").len()
    lone = (per_household["len"] == 1).mean()
    assert abs(lone - household_params().lone_parent_share.value) < 0.02


def test_sibling_age_gaps_are_realistic(england_small):
    """Adjacent siblings are a few years apart on average, rarely more than ten."""
    gaps = (
        england_small["children"]
        .sort("household_id", "date_of_birth")
        .with_columns(gap=pl.col("date_of_birth").diff().over("household_id").dt.total_days())
        .drop_nulls("gap")["gap"]
        / 365.25
    )
    assert 1.5 < gaps.mean() < 4.5
    assert (gaps > 10).mean() < 0.02


def test_schools_match_age_and_authority(england_small):
    """A child's school teaches the child's year group and lies in the child's authority."""
    snapshot = population_params().snapshot_date.value
    pupils = (
        england_small["children"]
        .drop_nulls("school_urn")
        .join(
            england_small["schools"].rename({"authority_code": "school_authority"}),
            left_on="school_urn",
            right_on="urn",
            how="left",
        )
    )
    assert pupils["phase"].null_count() == 0
    school_age = academic_age(pupils["date_of_birth"].to_numpy(), snapshot)
    assert np.all(school_age >= pupils["low_age"].to_numpy())
    assert np.all(school_age <= pupils["high_age"].to_numpy())
    assert (pupils["authority_code"] == pupils["school_authority"]).all()


def test_under_fours_have_no_school_and_most_pupils_do(england_small):
    """No child below Reception age has a school; nearly every 5-15 year old has one."""
    snapshot = population_params().snapshot_date.value
    children = england_small["children"]
    school_age = academic_age(children["date_of_birth"].to_numpy(), snapshot)
    has_school = children["school_urn"].is_not_null().to_numpy()
    assert not has_school[school_age < 4].any()
    assert has_school[(school_age >= 5) & (school_age <= 15)].mean() > 0.99


def test_gp_practices_belong_to_the_authority(england_small):
    """Registered children are registered with a practice in their own authority."""
    registered = (
        england_small["children"]
        .drop_nulls("gp_practice_code")
        .join(england_small["gp_practices"], left_on="gp_practice_code", right_on="practice_code")
    )
    assert (registered["authority_code"] == registered["authority_code_right"]).all()
    assert registered.height > 0.97 * england_small["children"].height


def test_postcodes_lie_in_the_authority(england_small):
    """Every household postcode's district is one of its authority's districts."""
    from sim.population.addresses import districts_by_authority

    districts = districts_by_authority()
    sample = england_small["households"].sample(3_000, seed=3)
    for code, postcode in sample.select("authority_code", "postcode").iter_rows():
        assert postcode.split(" ")[0] in set(districts[code]["district"])
