"""Vectorised ways to pick children for a day's events, and an agenda of scheduled changes.

Thinning (Lewis and Shedler 1979): draw candidates as a Poisson process at the highest
per-row rate over all rows, then keep each with probability rate(row) / highest. The kept rows
are exactly a Poisson draw at each row's own rate, at a cost proportional to the events, not to
the population: no daily pass over 11 M children.
"""

from collections.abc import Callable

import numpy as np


def thinned(
    rng: np.random.Generator,
    rows: int,
    highest_daily_rate: float,
    rate_share: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Rows that have the day's event, each at daily rate `highest * rate_share(row)`.

    `rate_share` maps candidate rows to a share in [0, 1] (0 for rows that cannot have the
    event). A row drawn twice in a day has the event once: rates are small enough for this to
    be negligible (under 1 in 1,000 for the largest, address moves).
    """
    if rows == 0 or highest_daily_rate <= 0:
        return np.zeros(0, dtype=np.int64)
    count = rng.poisson(rows * highest_daily_rate)
    candidates = rng.integers(0, rows, count)
    kept = candidates[rng.random(count) < rate_share(candidates)]
    _, first = np.unique(kept, return_index=True)
    return kept[np.sort(first)]


class Agenda:
    """Changes due on future days: rows and a token each, popped on the day they are due.

    A token records the state that made the change (e.g. a child's move count), so a change
    overtaken by events (the child moved again) can be recognised and dropped when it falls due.
    """

    def __init__(self, last_day: int) -> None:
        self.last_day = last_day
        self._due: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def add(self, days: np.ndarray, rows: np.ndarray, tokens: np.ndarray) -> None:
        """Schedule `rows` on `days`; days after the run's last day are not kept."""
        keep = days <= self.last_day
        days, rows, tokens = days[keep], rows[keep], tokens[keep]
        if not len(days):
            return
        order = np.argsort(days, kind="stable")
        days, rows, tokens = days[order], rows[order], tokens[order]
        unique, starts = np.unique(days, return_index=True)
        for day, part_rows, part_tokens in zip(
            unique, np.split(rows, starts[1:]), np.split(tokens, starts[1:]), strict=True
        ):
            self._due.setdefault(int(day), []).append((part_rows, part_tokens))

    def pop(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and tokens due on `day`, in the order they were scheduled."""
        parts = self._due.pop(day, [])
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return (
            np.concatenate([rows for rows, _ in parts]).astype(np.int64),
            np.concatenate([tokens for _, tokens in parts]).astype(np.int64),
        )

    def __len__(self) -> int:
        return sum(len(rows) for parts in self._due.values() for rows, _ in parts)


def exponential_days(rng: np.random.Generator, mean_days: float, count: int) -> np.ndarray:
    """Whole days from an exponential distribution with this mean, at least 1."""
    return np.maximum(1, np.ceil(rng.exponential(mean_days, count))).astype(np.int64)
