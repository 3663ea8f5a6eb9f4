"""Forenames that are one name: a full form and its short forms (data/index/nicknames.csv).

A practitioner may type the name a child is known by (Bob) while the index holds the name the
feeds gave (Robert), or the reverse; fuzzy search treats them as one name, scored below an
exact match. The table is the one the feeds' errors and the matching use.
"""

from functools import cache

from sim.index.nicknames import nickname_pairs
from sim.index.store.keys import normalise_name


@cache
def _variants() -> dict[str, frozenset[str]]:
    pairs = nickname_pairs()
    found: dict[str, set[str]] = {}
    for a, b in pairs.iter_rows():
        found.setdefault(normalise_name(a), set()).add(normalise_name(b))
    return {name: frozenset(others) for name, others in found.items()}


def forename_variants(normal: str) -> frozenset[str]:
    """The other forms of a normalised forename (`ROBERT` -> `BOB`, `ROB`...; `BOB` ->
    `ROBERT`...), empty when the table has none."""
    return _variants().get(normal, frozenset())
