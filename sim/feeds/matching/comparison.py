"""Comparison levels for a pair of records, field by field, as Fellegi-Sunter needs them.

Levels: EXACT, CLOSE (a Soundex match, one keying slip, a known short form, a swapped day and
month, the same postcode district or the same authority), NEARBY (postcodes only: in another
authority whose centroid lies within `nearby_authority_km`, where most moves that leave an
authority end), DIFFERENT, and MISSING (either side blank), which carries no evidence either
way. Fuzzy tests run once per distinct pair of values, vectorised in numpy.
"""

from functools import cache

import numpy as np
import polars as pl

from sim.feeds.matching.parameters import matching_params
from sim.feeds.matching.standardise import COMPARED
from sim.index.nicknames import nickname_pairs
from sim.reference.authorities import centroid_distances, load_authorities

MISSING, DIFFERENT, CLOSE, EXACT, NEARBY = 0, 1, 2, 3, 4
LEVELS = 5
WIDTH = 32


def _bytes(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-width byte matrix (rows x WIDTH) and lengths; a non-ASCII character becomes '?'."""
    text = values.fill_null("").str.replace_all(r"[^\x00-\x7F]", "?").str.slice(0, WIDTH)
    lengths = text.str.len_bytes().to_numpy().astype(np.int64)
    matrix = np.frombuffer(
        np.array(text.to_list(), dtype=f"S{WIDTH}").tobytes(), dtype=np.uint8
    ).reshape(-1, WIDTH)
    return matrix, lengths


def _reverse(matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's first `length` bytes reversed, right-padded with 255 (never a letter)."""
    index = lengths[:, None] - 1 - np.arange(WIDTH)[None, :]
    out = np.take_along_axis(matrix, np.clip(index, 0, WIDTH - 1), axis=1)
    return np.where(index >= 0, out, 255)


def _common_prefix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.cumprod(a == b, axis=1).sum(axis=1)


def within_one_edit(left: pl.Series, right: pl.Series) -> np.ndarray:
    """True where the strings differ by one substitution, insertion, deletion or swap of
    adjacent characters (Damerau), the slips feeds make (sim/feeds/corruption.py)."""
    if len(left) == 0:
        return np.zeros(0, dtype=bool)
    a, la = _bytes(left)
    b, lb = _bytes(right)
    shorter = np.minimum(la, lb)
    prefix = np.minimum(_common_prefix(a, b), shorter)
    suffix = np.minimum(_common_prefix(_reverse(a, la), _reverse(b, lb)), shorter)
    same_length = la == lb
    substituted = same_length & (prefix + suffix >= la - 1)
    rows = np.arange(len(la))
    p = np.clip(prefix, 0, WIDTH - 2)
    swapped = (
        same_length
        & (prefix + suffix == la - 2)
        & (a[rows, p] == b[rows, p + 1])
        & (a[rows, p + 1] == b[rows, p])
    )
    inserted = (np.abs(la - lb) == 1) & (prefix + suffix >= shorter)
    identical = same_length & (prefix == la)
    return (substituted | swapped | inserted) & ~identical


def _close_names(pairs: pl.DataFrame, field: str, nicknames: pl.DataFrame | None) -> pl.Expr:
    """CLOSE test for a name field, computed on distinct value pairs and joined back."""
    left, right = pl.col(f"{field}_l"), pl.col(f"{field}_r")
    distinct = pairs.select(left, right).filter(left != right).unique()
    close = within_one_edit(distinct[f"{field}_l"], distinct[f"{field}_r"])
    flags = distinct.with_columns(pl.Series(f"{field}_edit", close))
    if nicknames is not None:
        known = nicknames.rename({"a": f"{field}_l", "b": f"{field}_r"}).with_columns(
            pl.lit(True).alias(f"{field}_nick")
        )
        flags = (
            flags.join(known, on=[f"{field}_l", f"{field}_r"], how="left")
            .with_columns(pl.col(f"{field}_edit") | pl.col(f"{field}_nick").fill_null(False))
            .drop(f"{field}_nick")
        )
    return flags


def _name_level(field: str) -> pl.Expr:
    left, right = pl.col(f"{field}_l"), pl.col(f"{field}_r")
    code_l, code_r = pl.col(f"{field}_code_l"), pl.col(f"{field}_code_r")
    return (
        pl.when(left.is_null() | right.is_null())
        .then(MISSING)
        .when(left == right)
        .then(EXACT)
        .when((code_l == code_r) | pl.col(f"{field}_edit").fill_null(False))
        .then(CLOSE)
        .otherwise(DIFFERENT)
    )


def _date_level() -> pl.Expr:
    left, right = pl.col("date_of_birth_l"), pl.col("date_of_birth_r")
    agree = [
        (getattr(left.dt, part)() == getattr(right.dt, part)()).cast(pl.Int8)
        for part in ("year", "month", "day")
    ]
    swapped = (
        (left.dt.year() == right.dt.year())
        & (left.dt.month() == right.dt.day())
        & (left.dt.day() == right.dt.month())
    )
    return (
        pl.when(left.is_null() | right.is_null())
        .then(MISSING)
        .when(left == right)
        .then(EXACT)
        .when(swapped | (pl.sum_horizontal(agree) == 2))
        .then(CLOSE)
        .otherwise(DIFFERENT)
    )


def _simple_level(field: str, close: pl.Expr | None = None) -> pl.Expr:
    left, right = pl.col(f"{field}_l"), pl.col(f"{field}_r")
    level = pl.when(left.is_null() | right.is_null()).then(MISSING).when(left == right).then(EXACT)
    if close is not None:
        level = level.when(close).then(CLOSE)
    return level.otherwise(DIFFERENT)


def _same_area() -> pl.Expr:
    """A postcode is CLOSE in the same district or the same authority: most children who move
    stay in their authority (about 60%, docs/reference.md s3), so a stale address is usually nearby,
    while a namesake found by the national exact-name pass is usually elsewhere. Without this,
    a stale address and a namesake at the far end of England scored alike, and as England's
    cohorts grew the falling prior held the stale addresses for review."""
    district = pl.col("district_l") == pl.col("district_r")
    return district | (pl.col("authority_code_l") == pl.col("authority_code_r"))


@cache
def nearby_authorities(km: float) -> pl.DataFrame:
    """Pairs of different authorities whose centroids are at most `km` apart, both ways."""
    authorities = load_authorities()
    codes = np.array([a.code for a in authorities])
    distance = centroid_distances(authorities)
    left, right = np.nonzero((distance <= km) & ~np.eye(len(codes), dtype=bool))
    return pl.DataFrame(
        {"authority_code_l": codes[left], "authority_code_r": codes[right], "nearby": True}
    )


def _postcode_level() -> pl.Expr:
    left, right = pl.col("postcode_l"), pl.col("postcode_r")
    return (
        pl.when(left.is_null() | right.is_null())
        .then(MISSING)
        .when(left == right)
        .then(EXACT)
        .when(_same_area())
        .then(CLOSE)
        .when(pl.col("nearby").fill_null(False))
        .then(NEARBY)
        .otherwise(DIFFERENT)
    )


def compare(pairs: pl.DataFrame) -> pl.DataFrame:
    """Add one level column per compared field to pairs carrying `<field>_l`/`<field>_r`."""
    nearby = nearby_authorities(matching_params().nearby_authority_km.value)
    pairs = pairs.join(
        nearby, on=["authority_code_l", "authority_code_r"], how="left", maintain_order="left"
    )
    nicknames = nickname_pairs()
    for field in ("forename", "surname"):
        flags = _close_names(pairs, field, nicknames if field == "forename" else None)
        pairs = pairs.join(flags, on=[f"{field}_l", f"{field}_r"], how="left", nulls_equal=False)
    levels = {
        "forename": _name_level("forename"),
        "middle_name": _simple_level(
            "middle_name",
            pl.col("middle_name_l").str.slice(0, 1) == pl.col("middle_name_r").str.slice(0, 1),
        ),
        "surname": _name_level("surname"),
        "gender": _simple_level("gender"),
        "date_of_birth": _date_level(),
        "postcode": _postcode_level(),
    }
    return pairs.with_columns(levels[f].cast(pl.Int8).alias(f"{f}_level") for f in COMPARED).drop(
        "forename_edit", "surname_edit", "nearby"
    )
