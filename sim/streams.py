"""Random streams: every draw flows from one seed through named, independent sub-streams.

A stream is keyed by (subsystem, authority ordinal, part), so adding a draw to one part never
shifts another, and an authority gets the same children whether it is made alone or with
all of England.
"""

import numpy as np

SUBSYSTEMS = {"synth": 1, "feeds": 2, "world": 3, "index": 4, "decommission": 5, "psa": 6}

SYNTH_PARTS = (
    "ids",
    "sex",
    "dates",
    "forenames",
    "families",
    "carers",
    "addresses",
    "schools",
    "gps",
    "workforce",
)


def stream(seed: int, subsystem: str, *key: int) -> np.random.Generator:
    """A generator for one subsystem and key path, independent of every other key path."""
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    spawn_key = (SUBSYSTEMS[subsystem], *key)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


def synth_stream(seed: int, authority_ordinal: int, part: str) -> np.random.Generator:
    """The synthetic-population stream for one authority and one part of a record."""
    return stream(seed, "synth", authority_ordinal, SYNTH_PARTS.index(part))
