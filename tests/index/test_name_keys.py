"""A day's feed encodes its names in one pass (name_keys); the bulk load encodes them by column
(with_name_keys). Both must store the same keys, or a fed child is missed by a search."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.index.store.keys import name_keys, with_name_keys
from sim.population.names import forenames, surnames

AWKWARD = ["O'Brien-Ward", "mc donald", "St. John", "Zoë", "  Smith ", "Ng", "-", "", None]


def _by_column(names: list[str | None]) -> list[tuple[str | None, str | None]]:
    frame = with_name_keys(pl.DataFrame({"name": names}, schema={"name": pl.String}), "name")
    return list(zip(frame["name_norm"].to_list(), frame["name_code"].to_list(), strict=True))


def _by_row(names: list[str | None]) -> list[tuple[str | None, str | None]]:
    keys = name_keys(names)
    return [keys.get(name, (None, None)) for name in names]


def test_every_name_the_world_draws_gets_the_bulk_loads_keys():
    words = surnames().words.to_list()
    words += forenames("male").words.to_list() + forenames("female").words.to_list()
    names = words + [f"{a}-{b}" for a, b in zip(words, reversed(words), strict=True)] + AWKWARD
    assert _by_row(names) == _by_column(names)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.text(st.characters(codec="utf-8"), max_size=12), min_size=1))
def test_any_text_gets_the_same_keys_row_by_row_as_by_column(names):
    assert _by_row(names) == _by_column(names)
