"""Synthetic England for notebook 02: what to ask sim.population.synth for."""

from sim.population.synth import SynthRequest
from sim.reference.authorities import load_authorities


def england_request(seed: int, scale: float) -> SynthRequest:
    """`scale` of the children of every one of England's 152 authorities (2009-10)."""
    return SynthRequest(
        seed=seed, scale=scale, authority_codes=tuple(a.code for a in load_authorities())
    )
