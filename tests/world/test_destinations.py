"""The destination kernel reproduces the distance bands and London's net outflow it is fitted to."""

import numpy as np
import pytest

from sim.reference import load_authorities
from sim.streams import stream
from sim.world import move_params
from sim.world.destinations import (
    _kernel,
    band_shares,
    destinations_for,
    net_flow_per_1000,
    target_band_shares,
)


def test_kernel_rows_are_probabilities_without_staying_put():
    """Every authority sends its movers somewhere else, with probabilities summing to 1."""
    kernel = _kernel(move_params())
    assert np.allclose(kernel.sum(axis=1), 1.0)
    assert np.all(np.diag(kernel) == 0)


def test_long_distance_bands_within_three_points_of_the_census():
    """Shares of between-authority moves under 50, 50-99, 100-199 and 200+ km.

    The census distances: docs/reference.md s3."""
    bounds, target = target_band_shares()
    simulated = band_shares(_kernel(move_params()), bounds)
    assert np.abs(simulated - target).max() < 0.03


def test_london_loses_children_at_the_ons_rate():
    """Net internal migration out of London is within 1.5 per 1,000 of the ONS figure."""
    target = move_params().london_net_flow_per_1000.value
    assert net_flow_per_1000(_kernel(move_params())) == pytest.approx(target, abs=1.5)


def test_all_england_keeps_every_move():
    """With every authority simulated, no between-authority move is dropped."""
    everyone = np.arange(len(load_authorities()))
    assert np.allclose(destinations_for(everyone).retained, 1.0)


def test_a_closed_world_only_sends_children_to_simulated_authorities():
    """A region's world draws destinations among its own authorities only, never the origin."""
    ordinals = np.array([i for i, a in enumerate(load_authorities()) if a.region == "North East"])
    kernel = destinations_for(ordinals)
    origins = np.repeat(np.arange(len(ordinals)), 200)
    drawn = kernel.draw(stream(1, "world", 0, 99), origins)
    assert set(drawn) <= set(ordinals)
    assert np.all(drawn != ordinals[origins])
    assert np.all((kernel.retained > 0) & (kernel.retained < 1))
