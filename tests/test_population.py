"""Synthetic England: counts, ages, households, services and identifiers hold their rules."""

import polars as pl

from sim.population import checks
from sim.population.ages import academic_age
from sim.population.identifiers import is_valid_index_id
from sim.population.parameters import household_params, population_params
from sim.population.synth import expected_children
from sim.reference import load_authorities


def test_children_per_authority_match_the_data_file(england_small):
    """Each authority has its rescaled census count times the scale (to rounding)."""
    check = checks.children_per_authority(england_small, 0.01)
    assert check.passed, check.detail
    counts = dict(england_small["children"].group_by("authority_code").len().iter_rows())
    for authority in load_authorities():
        assert counts.get(authority.code, 0) == expected_children(authority, 0.01)


def test_single_year_ages_per_region_within_3_percent(england_small):
    """Single-year age counts per region are within 3% of authority totals x national shares."""
    check = checks.ages_per_region(england_small)
    assert check.passed, check.detail


def test_every_id_is_valid_and_unique(england_small):
    """Every child has a valid index ID and no two children share one."""
    check = checks.ids_valid_and_unique(england_small)
    assert check.passed, check.detail
    assert all(is_valid_index_id(i) for i in england_small["children"]["child_id"].head(500))


def test_siblings_share_one_address_and_carers(england_small):
    """Children of a household share its one address; every household has 1 or 2 carers."""
    check = checks.siblings_share_address(england_small)
    assert check.passed, check.detail


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
    check = checks.schools_match_age(england_small)
    assert check.passed, check.detail


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
