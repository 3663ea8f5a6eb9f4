"""Names are data: the surname and forename weights, and a generated population, match the
published England and Wales figures within the tolerances stated in data/population/names.toml."""

import numpy as np
import polars as pl
import pytest

from sim.population.name_shares import (
    SUM_OF_SQUARES,
    sampling_error,
    shares,
    sum_of_squares,
    surname_comparison,
)
from sim.population.names import forenames, surnames
from sim.population.parameters import forename_rows, name_params, surname_rows

# The published shares, written out here so a changed data file fails this test
# (data/population/names_SOURCES.md): percent of England and Wales registrations.
PUBLISHED_SURNAME_PERCENT = {"Smith": 1.37, "Jones": 1.14, "Williams": 0.73, "Taylor": 0.63}
LASKER_1975_SUM_OF_SQUARES = 2 * 0.0004823


def test_published_surnames_keep_their_published_shares():
    """The weights give Smith 1.37%, Jones 1.14%, ... exactly as published."""
    vocabulary = surnames()
    for name, percent in PUBLISHED_SURNAME_PERCENT.items():
        assert vocabulary.share_of(name) == pytest.approx(percent / 100, rel=1e-6)


def test_surname_weights_are_within_tolerance_of_the_published_concentration():
    """The sum of squared shares is within 20% of Lasker's 0.00096, far below the old 0.0027."""
    params = name_params()
    assert params.surname_sum_of_squares.value == pytest.approx(LASKER_1975_SUM_OF_SQUARES)
    tolerance = params.surname_sum_of_squares_tolerance.value
    weights = float((surnames().probabilities ** 2).sum())
    assert abs(weights / LASKER_1975_SUM_OF_SQUARES - 1) <= tolerance
    assert weights < 0.0015


def test_no_modelled_surname_outranks_a_published_one():
    """The tail model continues below the last published share (the leaders are the leaders)."""
    rows = surname_rows()
    lowest_published = min(r.share for r in rows if r.basis == "published")
    assert max(r.share for r in rows if r.basis == "modelled") <= lowest_published
    assert sum(r.share for r in rows) == pytest.approx(1.0, abs=1e-6)
    assert len({r.surname for r in rows}) == len(rows) > 4000


def test_forenames_by_sex_keep_the_published_2006_shares():
    """Jack is 6,928 of the boys born in 2006, Jessica 4,416 of the girls."""
    boys = 669_601 * 0.513
    assert forenames("male").share_of("Jack") == pytest.approx(6_928 / boys, rel=1e-4)
    assert forenames("female").share_of("Jessica") == pytest.approx(
        4_416 / (669_601 - boys), rel=1e-4
    )
    for sex in ("male", "female"):
        rows = [r for r in forename_rows() if r.sex == sex]
        assert sum(r.share for r in rows) == pytest.approx(1.0, abs=1e-6)
    assert forenames("male").share_of("Jessica") == 0.0


def test_generator_reads_no_name_library():
    """The vocabulary is the data file's, word for word: no installed list is consulted."""
    rows = surname_rows()
    assert surnames().words.to_list() == [r.surname for r in rows]
    assert forenames("female").words.to_list() == [
        r.forename for r in forename_rows() if r.sex == "female"
    ]


def test_generated_children_match_the_published_surname_figures(england_small):
    """At scale 0.01 (about 110,000 children) the leaders' shares and the concentration fall
    within the stated tolerances of the published figures."""
    children = england_small["children"]
    observed = dict(shares(children["surname"]).iter_rows())
    families = children["household_id"].n_unique()
    assert name_params().published_share_standard_errors.value == 4.0
    for name, percent in PUBLISHED_SURNAME_PERCENT.items():
        error = sampling_error(percent / 100, children.height, families)
        assert abs(observed[name] - percent / 100) <= 4 * error, name
        assert error < 0.1 * percent / 100  # the check can tell a share off by a tenth
    concentration = sum_of_squares(shares(children["surname"])["share"])
    assert abs(concentration / LASKER_1975_SUM_OF_SQUARES - 1) <= 0.2
    assert max(observed.values()) < 0.016


def test_surname_comparison_reports_every_published_name_and_the_concentration(england_small):
    """Notebook 02's table: one row per published surname plus the sum of squares, all within
    tolerance for the generated children; a skewed population is reported outside it."""
    table = surname_comparison(england_small["children"])
    published = [r.surname for r in surname_rows() if r.basis == "published"]
    assert table["measure"].to_list() == [f"{n} (% of children)" for n in published] + [
        SUM_OF_SQUARES
    ]
    assert table["within_tolerance"].all()
    smith = table.row(0, named=True)
    assert smith["published"] == pytest.approx(1.37)
    assert smith["weights"] == pytest.approx(1.37, rel=1e-6)

    all_smith = england_small["children"].with_columns(
        surname=pl.when(pl.int_range(pl.len()) % 20 == 0)
        .then(pl.lit("Smith"))
        .otherwise(pl.col("surname"))
    )
    skewed = surname_comparison(all_smith)
    assert not skewed.row(0, named=True)["within_tolerance"]
    assert not skewed.filter(pl.col("measure") == SUM_OF_SQUARES)["within_tolerance"].item()


def test_shares_count_each_name_once():
    """A worked example: three Smiths and one Jones are 75% and 25%, sum of squares 0.625."""
    table = shares(pl.Series(["Smith", "Jones", "Smith", "Smith"]))
    assert dict(table.iter_rows()) == {"Smith": 0.75, "Jones": 0.25}
    assert sum_of_squares(table["share"]) == pytest.approx(0.625)
    assert np.isclose(sum_of_squares(pl.Series([1.0])), 1.0)


def test_sampling_error_of_a_share_drawn_per_family():
    """A worked example: p = 1%, 10,000 families of 2 children: sqrt(0.0099/10,000) * sqrt(2)."""
    assert sampling_error(0.01, 20_000, 10_000) == pytest.approx(0.0014071, rel=1e-4)
    assert sampling_error(0.01, 10_000, 10_000) == pytest.approx(0.000995, rel=1e-3)
