"""Calendar arithmetic on day numbers (days since 1970-01-01, numpy's datetime64[D]).

SimPy's clock counts days from the run's start date; hot state stores day numbers as int32.
"""

import datetime as dt

import numpy as np

DAYS_PER_YEAR = 365.2425


def day_number(day: dt.date) -> int:
    """The day number of a date."""
    return int(np.datetime64(day, "D").astype(np.int64))


def to_date(day: int) -> dt.date:
    return np.datetime64(int(day), "D").astype(dt.date)


def anniversaries(born: np.ndarray, years: int) -> np.ndarray:
    """Day numbers of the birthdays at which people born on `born` reach `years`.

    A child born on 29 February reaches an age on 1 March in a common year, as numpy's month
    arithmetic gives (the usual reading of the Family Law Reform Act 1969 s9).
    """
    days = born.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64)
    target = (months + 12 * years).astype("datetime64[D]") + day_of_month
    return target.astype(np.int64)


def ages(born: np.ndarray, today: int) -> np.ndarray:
    """Completed years of age on day `today` (exact, birthdays included)."""
    days = born.astype("datetime64[D]")
    year_born = days.astype("datetime64[Y]").astype(np.int64)
    now = np.datetime64(int(today), "D")
    years = int(now.astype("datetime64[Y]").astype(np.int64)) - year_born
    return years - _before_birthday(days, now)


def _before_birthday(days: np.ndarray, now: np.datetime64) -> np.ndarray:
    """1 where this year's birthday (month, day) is still to come on `now`."""
    born_month = days.astype("datetime64[M]").astype(np.int64) % 12
    born_day = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    now_month = int(now.astype("datetime64[M]").astype(np.int64) % 12)
    now_day = int((now - now.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64))
    later = (born_month > now_month) | ((born_month == now_month) & (born_day > now_day))
    return later.astype(np.int64)


def approximate_ages(born: np.ndarray, today: int) -> np.ndarray:
    """Whole years of age from day counts: for rate lookups on hot paths, a day off at most."""
    return ((today - born) / DAYS_PER_YEAR).astype(np.int64)
