"""Thinning draws events at each row's own rate; the agenda returns changes on their day."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.streams import stream
from sim.world.sampling import Agenda, thinned


def test_thinning_draws_each_row_at_its_own_rate():
    """Rows with share 1 get about rows x rate events a day, rows with share 0 none."""
    rng = stream(3, "world", 0, 99)
    rows, rate, days = 200_000, 0.001, 50
    kept = np.concatenate(
        [thinned(rng, rows, rate, lambda r: (r % 4 == 0).astype(float)) for _ in range(days)]
    )
    assert np.all(kept % 4 == 0)
    expected = rows / 4 * rate * days
    assert len(kept) == pytest.approx(expected, rel=5 * expected**-0.5)


@given(days=st.lists(st.integers(0, 30), min_size=1, max_size=60))
@settings(max_examples=50)
def test_agenda_returns_each_row_on_its_day_once(days):
    """Every scheduled row comes back exactly once, on its day; days past the end never do."""
    agenda = Agenda(last_day=20)
    rows = np.arange(len(days))
    agenda.add(np.array(days), rows, rows * 10)
    returned = []
    for day in range(31):
        due, tokens = agenda.pop(day)
        assert np.all(np.array(days)[due] == day)
        assert np.all(tokens == due * 10)
        returned.extend(due.tolist())
    assert sorted(returned) == [r for r, d in enumerate(days) if d <= 20]
