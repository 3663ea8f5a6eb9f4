"""Each source's own record identifier: none of them is the index ID (docs/reference.md s5c).

NHS numbers are ten digits whose last is a modulus 11 check digit (a base whose check would be
10 is never issued); England's numbers start 4xx (NHS Data Dictionary, NHS Number). UPNs are 13
characters: a check letter, the authority's DfE number, the school's establishment number, the
year of allocation and a serial (DfE, Unique Pupil Numbers guidance); the establishment number
here is derived from the URN, so these are UPN-like rather than real.
"""

import numpy as np
import polars as pl

from sim.errors import InputError

NHS_BASE = 400_000_000
NHS_MODULUS = 99_999_989  # largest prime below 10^8: the affine permutation's modulus
# Positions of the permutation given to each birth cohort (cohort = year mod 40): disjoint
# blocks of one permutation, so no two cohorts share a number; one England cohort needs ~0.8 M.
NHS_COHORT_BLOCK = NHS_MODULUS // 40
UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_check_digits(bases: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of 9-digit bases (weights 10..2); 10 marks an unusable base."""
    total = np.zeros(len(bases), dtype=np.int64)
    for place in range(9):
        digit = (bases // 10 ** (8 - place)) % 10
        total += digit * (10 - place)
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def nhs_numbers(rng: np.random.Generator, count: int, cohort: int = 0) -> pl.Series:
    """`count` distinct valid NHS numbers, in a seeded order, from the cohort's block.

    `rng` must be the same for every cohort (it draws the national permutation)."""
    multiplier = int(rng.integers(1, NHS_MODULUS))
    offset = int(rng.integers(0, NHS_MODULUS))
    wanted = count + count // 8 + 16
    if wanted > NHS_COHORT_BLOCK:
        raise InputError(f"{count:,} NHS numbers exceed one cohort's block")
    start = (cohort % 40) * NHS_COHORT_BLOCK
    candidates = np.arange(start, start + wanted, dtype=np.int64)
    bases = NHS_BASE + (candidates * multiplier + offset) % NHS_MODULUS
    checks = nhs_check_digits(bases)
    usable = bases[checks != 10][:count]
    numbers = usable * 10 + checks[checks != 10][:count]
    return pl.Series("record_id", numbers.astype(str), dtype=pl.String)


def upn_check_letters(payload: np.ndarray) -> np.ndarray:
    """DfE UPN check letter over the 12 digits after it (weights 2..13, modulus 23), for
    payloads given as 12-digit integers."""
    total = np.zeros(len(payload), dtype=np.int64)
    for place in range(12):
        total += (payload // 10 ** (11 - place)) % 10 * (place + 2)
    return np.array(list(UPN_CHECK_LETTERS))[total % 23]


def upns(frame: pl.DataFrame, la_numbers: dict[str, int]) -> pl.Series:
    """A UPN for each row of `frame` (authority_code, school_urn, date_of_birth)."""
    la = pl.col("authority_code").replace_strict(la_numbers, return_dtype=pl.Int64)
    establishment = pl.col("school_urn") % 10_000
    year = (pl.col("date_of_birth").dt.year() + 5) % 100
    serial = pl.int_range(pl.len()).over(la, establishment, year) % 1000
    payload = (
        frame.select(la * 10**9 + establishment * 10**5 + year * 10**3 + serial)
        .to_series()
        .to_numpy()
    )
    digits = pl.Series(payload.astype(str)).str.zfill(12)
    return pl.select(
        pl.concat_str(pl.lit(pl.Series(upn_check_letters(payload))), digits).alias("record_id")
    ).to_series()


def local_references(prefix: str, rng: np.random.Generator, count: int) -> pl.Series:
    """Distinct references like `GRO-0004711`, in a seeded order."""
    order = pl.Series(rng.permutation(count).astype(str))
    return pl.select(
        pl.concat_str(pl.lit(prefix + "-"), order.str.zfill(7)).alias("record_id")
    ).to_series()
