"""Frequency-weighted name vocabularies read from data/population, sampled vectorised.

The words and their shares are data (surnames.csv, forenames.csv; names_SOURCES.md says where
each share comes from), so a population depends on data/ alone and not on an installed name
library. Drawing indexes into a weighted vocabulary with numpy and gathering strings with polars
is two orders of magnitude faster than a name generator called once per record.
"""

from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import polars as pl

from sim.population.parameters import forename_rows, name_params, surname_rows


@dataclass(frozen=True)
class Vocabulary:
    """Words and their probabilities; `words` is a polars Series to gather from."""

    words: pl.Series
    probabilities: np.ndarray

    @classmethod
    def from_shares(cls, words: list[str], shares: list[float]) -> "Vocabulary":
        """Shares as written in the data file, rescaled to add up to exactly one."""
        probabilities = np.asarray(shares, dtype=np.float64)
        return cls(pl.Series("word", words, dtype=pl.String), probabilities / probabilities.sum())

    @cached_property
    def _cumulative(self) -> np.ndarray:
        cumulative = np.cumsum(self.probabilities)
        return cumulative / cumulative[-1]

    @cached_property
    def _guide(self) -> np.ndarray:
        """Guide table: the first word whose cumulative share exceeds each of 4n equal steps."""
        steps = np.arange(4 * len(self.probabilities)) / (4 * len(self.probabilities))
        return np.searchsorted(self._cumulative, steps, side="right")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Indexes into `words`, drawn with the vocabulary's frequencies.

        Inverse-CDF sampling started from a guide table, so a draw costs about one step instead
        of a binary search; the result is identical to `searchsorted(cumulative, u)`.
        """
        u = rng.random(size)
        index = self._guide[(u * len(self._guide)).astype(np.int64)]
        behind = self._cumulative[index] <= u
        while behind.any():
            index[behind] += 1
            behind[behind] = self._cumulative[index[behind]] <= u[behind]
        return index.astype(np.uint32)

    def gather(self, indexes: np.ndarray) -> pl.Series:
        return self.words.gather(indexes)

    def share_of(self, word: str) -> float:
        """The probability of one word (0 for a word outside the vocabulary)."""
        hits = np.flatnonzero((self.words == word).to_numpy())
        return float(self.probabilities[hits].sum())


@cache
def surnames() -> Vocabulary:
    rows = surname_rows()
    return Vocabulary.from_shares([r.surname for r in rows], [r.share for r in rows])


@cache
def forenames(gender: str) -> Vocabulary:
    rows = [r for r in forename_rows() if r.sex == gender]
    return Vocabulary.from_shares([r.forename for r in rows], [r.share for r in rows])


def sample_surnames(rng: np.random.Generator, size: int) -> pl.Series:
    """Family surnames, a share of them double-barrelled (`Smith-Jones`) from two draws."""
    vocabulary = surnames()
    result = vocabulary.gather(vocabulary.sample(rng, size)).alias("surname")
    double = np.flatnonzero(rng.random(size) < name_params().double_barrelled_share.value)
    if len(double):
        second = vocabulary.gather(vocabulary.sample(rng, len(double)))
        joined = result.gather(double) + "-" + second
        result = result.scatter(double, joined)
    return result


def sample_forenames(rng: np.random.Generator, is_male: np.ndarray) -> pl.Series:
    """One forename per person, from the list of the person's gender."""
    male = np.flatnonzero(is_male)
    female = np.flatnonzero(~is_male)
    names = pl.repeat(None, len(is_male), dtype=pl.String, eager=True).alias("name")
    for rows, vocabulary in ((male, forenames("male")), (female, forenames("female"))):
        if len(rows):
            names = names.scatter(rows, vocabulary.gather(vocabulary.sample(rng, len(rows))))
    return names


def sample_middle_names(rng: np.random.Generator, is_male: np.ndarray) -> pl.Series:
    """A middle name for a share of people, null for the rest."""
    has_middle = np.flatnonzero(rng.random(len(is_male)) < name_params().middle_name_share.value)
    middle = pl.repeat(None, len(is_male), dtype=pl.String, eager=True).alias("middle_names")
    if len(has_middle):
        middle = middle.scatter(has_middle, sample_forenames(rng, is_male[has_middle]))
    return middle


def gender_labels(is_male: np.ndarray) -> pl.Series:
    """'male'/'female' strings without building a Python list per person."""
    return (
        pl.select(
            pl.when(pl.lit(pl.Series(is_male))).then(pl.lit("male")).otherwise(pl.lit("female"))
        )
        .to_series()
        .alias("gender")
    )
