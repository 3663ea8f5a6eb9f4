"""How concentrated the synthetic surnames are, against the published England and Wales figures.

Namesakes drive the matching review queue, so the surname distribution is checked two ways: the
share of each name with a published share, and the sum of squared shares (the chance that two
children picked at random share a surname), whose target is in data/population/names.toml.
"""

import math

import polars as pl

from sim.population.names import surnames
from sim.population.parameters import name_params, surname_rows

SUM_OF_SQUARES = "sum of squared shares"


def shares(names: pl.Series) -> pl.DataFrame:
    """Each distinct name and its share of `names`, commonest first."""
    counts = names.alias("surname").value_counts(sort=True, name="count")
    return counts.select("surname", (pl.col("count") / pl.col("count").sum()).alias("share"))


def sum_of_squares(share: pl.Series) -> float:
    return float((share**2).sum())


def sampling_error(share: float, children: int, families: int) -> float:
    """Standard error of a surname's share of children when each family draws one surname:
    binomial over families, times sqrt(children per family) since siblings share the name."""
    return math.sqrt(share * (1 - share) / families) * math.sqrt(children / families)


def surname_comparison(children: pl.DataFrame) -> pl.DataFrame:
    """One row per published surname and one for the sum of squared shares: the published
    figure, the data file's weights and the children of `children` (percent for a surname, the
    bare number for the sum), and whether the children fall within the stated tolerance
    (data/population/names.toml: standard errors for a share, relative for the sum)."""
    params = name_params()
    vocabulary = surnames()
    observed = shares(children["surname"])
    published = [r for r in surname_rows() if r.basis == "published"]
    found = dict(zip(observed["surname"], observed["share"], strict=True))
    allowed = params.published_share_standard_errors.value
    families = children["household_id"].n_unique()
    rows = [
        {
            "measure": f"{row.surname} (% of children)",
            "published": 100 * row.share,
            "weights": 100 * vocabulary.share_of(row.surname),
            "children": 100 * found.get(row.surname, 0.0),
            "within_tolerance": abs(found.get(row.surname, 0.0) - row.share)
            <= allowed * sampling_error(row.share, children.height, families),
        }
        for row in published
    ]
    target = params.surname_sum_of_squares.value
    observed_sum = sum_of_squares(observed["share"])
    rows.append(
        {
            "measure": SUM_OF_SQUARES,
            "published": target,
            "weights": float((vocabulary.probabilities**2).sum()),
            "children": observed_sum,
            "within_tolerance": abs(observed_sum / target - 1)
            <= params.surname_sum_of_squares_tolerance.value,
        }
    )
    return pl.DataFrame(rows)
