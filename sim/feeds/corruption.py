"""The errors a source feed makes in its view of a child, injected vectorised.

Each function takes a boolean mask of the rows to corrupt and leaves every other row as it was,
so a rate in data/index/feeds.toml is the share of records that carry that error. No published
error rates for the 2009 feeds were located; docs/reference.md s6 records only that duplicates arose
and that data administration was 'resource intensive'.
"""

import datetime as dt

import numpy as np
import polars as pl

LETTERS = "abcdefghijklmnopqrstuvwxyz"
SUBSTITUTE, DELETE, INSERT, TRANSPOSE = 0, 1, 2, 3


def draw_mask(rng: np.random.Generator, size: int, rate: float) -> np.ndarray:
    """Rows chosen independently with probability `rate`."""
    return rng.random(size) < rate


def typo(rng: np.random.Generator, names: pl.Series, mask: np.ndarray) -> pl.Series:
    """One keying slip per masked name: a substituted, dropped, added or swapped character.

    Every edit is exactly one Damerau-Levenshtein step. The first character is only ever
    substituted (kept upper case), since people rarely mistype an initial; an edit that the
    name is too short for, or a swap of two equal characters, falls back to a substitution.
    """
    length_all = names.str.len_chars().fill_null(0).to_numpy().astype(np.int64)
    rows = np.flatnonzero(mask & (length_all > 0))
    if len(rows) == 0:
        return names
    chosen = names.gather(rows)
    length = length_all[rows]
    n = len(rows)
    kind = rng.integers(0, 4, n)
    u = rng.random(n)
    kind = np.where((kind == DELETE) & (length < 2), SUBSTITUTE, kind)
    kind = np.where((kind == TRANSPOSE) & (length < 3), SUBSTITUTE, kind)
    position = np.select(
        [kind == SUBSTITUTE, kind == DELETE, kind == INSERT],
        [np.floor(u * length), 1 + np.floor(u * (length - 1)), 1 + np.floor(u * length)],
        1 + np.floor(u * (length - 2)),
    ).astype(np.int64)
    frame = pl.DataFrame(
        {
            "s": chosen,
            "pos": position,
            "kind": kind,
            "shift": rng.integers(1, 26, n),
            "extra": pl.Series(list(LETTERS)).gather(rng.integers(0, 26, n)),
        }
    )
    s, pos = pl.col("s"), pl.col("pos")
    here = s.str.slice(pos, 1)
    after = s.str.slice(pos + 1, 1)
    code = here.str.to_lowercase().replace_strict(
        {c: i for i, c in enumerate(LETTERS)}, default=0, return_dtype=pl.Int64
    )
    letter = pl.lit(pl.Series(list(LETTERS))).get((code + pl.col("shift")) % 26)
    letter = pl.when(pos == 0).then(letter.str.to_uppercase()).otherwise(letter)
    swap_equal = (pl.col("kind") == TRANSPOSE) & (here == after)
    kind_col = pl.when(swap_equal).then(SUBSTITUTE).otherwise(pl.col("kind"))
    head = s.str.slice(0, pos)
    edited = (
        pl.when(kind_col == SUBSTITUTE)
        .then(pl.concat_str(head, letter, s.str.slice(pos + 1)))
        .when(kind_col == DELETE)
        .then(pl.concat_str(head, s.str.slice(pos + 1)))
        .when(kind_col == INSERT)
        .then(pl.concat_str(head, pl.col("extra"), s.str.slice(pos)))
        .otherwise(pl.concat_str(head, after, here, s.str.slice(pos + 2)))
    )
    return names.clone().scatter(rows, frame.select(edited).to_series())


def nickname(
    rng: np.random.Generator, forenames: pl.Series, mask: np.ndarray, table: pl.DataFrame
) -> pl.Series:
    """A short form (e.g. `Will` for `William`) for masked names that have one in `table`."""
    forms = table.group_by("forename").agg(pl.col("short_form").sort())
    frame = pl.DataFrame({"forename": forenames, "u": rng.random(len(forenames))}).with_row_index()
    joined = frame.join(forms, on="forename", how="left").sort("index")
    pick = (pl.col("u") * pl.col("short_form").list.len()).floor().cast(pl.Int64)
    short = pl.col("short_form").list.get(pick, null_on_oob=True)
    chosen = pl.lit(pl.Series(mask)) & short.is_not_null()
    return joined.select(
        pl.when(chosen).then(short).otherwise(pl.col("forename")).alias(forenames.name)
    ).to_series()


def swap_day_month(dates: pl.Series, mask: np.ndarray) -> pl.Series:
    """Day and month transposed, as a US-style or careless entry gives them.

    Only where the day is 12 or less and differs from the month: the swapped date is then
    always a real date (a month number of 12 or less and a day of 12 or less); other dates stay.
    """
    frame = pl.DataFrame({"d": dates})
    day, month = pl.col("d").dt.day(), pl.col("d").dt.month()
    swappable = pl.lit(pl.Series(mask)) & (day <= 12) & (day != month)
    swapped = pl.date(pl.col("d").dt.year(), day, month)
    return frame.select(
        pl.when(swappable).then(swapped).otherwise(pl.col("d")).alias(dates.name)
    ).to_series()


def blank(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """Masked values set missing."""
    frame = pl.DataFrame({"v": values})
    return frame.select(
        pl.when(pl.lit(pl.Series(mask))).then(None).otherwise(pl.col("v")).alias(values.name)
    ).to_series()


def exponential_lags(rng: np.random.Generator, size: int, mean_days: float) -> np.ndarray:
    """Whole days of delay with the given mean (0 when the mean is 0)."""
    if mean_days <= 0:
        return np.zeros(size, dtype=np.int64)
    return np.floor(rng.exponential(mean_days, size)).astype(np.int64)


def days_before(as_of: dt.date, days: np.ndarray) -> pl.Series:
    """Dates `days` before `as_of`."""
    return pl.Series(np.datetime64(as_of, "D") - days.astype("timedelta64[D]")).cast(pl.Date)
