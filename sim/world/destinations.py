"""Where a household moving to another authority goes: a gravity kernel over authority centroids.

P(j | i) mixes a gravity term, children_j * max(d_ij, floor)^-beta, with moves drawn by population
alone, and weighs moves out of London up and into London down (docs/reference.md s3 modelling note:
a gravity kernel with a London outflow bias reproduces the ONS net flows). The same-authority term
is not in the kernel: how many moves stay inside an authority is set by the by-age rates in
data/world/moves.toml.
"""

from dataclasses import dataclass

import numpy as np

from sim.reference.authorities import Authority, centroid_distances, load_authorities
from sim.world.parameters import MoveParams, move_params

LONDON = "London"


def _rows_to_one(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=1, keepdims=True)


def kernel_weights(
    authorities: tuple[Authority, ...],
    beta: float,
    floor_km: float,
    long_distance_share: float,
    london_factor: float,
) -> np.ndarray:
    """Move probabilities P[i, j] from i to j among `authorities` (rows sum to 1, diagonal 0).

    A mix of a gravity term, children_j * max(d_ij, floor)^-beta, and a share of moves drawn
    by population alone, whatever the distance (the heavy tail of the 1991 bands, which no
    single power law gives); moves out of London weigh `london_factor` more and moves in
    `london_factor` less.
    """
    children = np.array([a.children_0_17 for a in authorities], dtype=np.float64)
    distance = np.maximum(centroid_distances(authorities), floor_km)
    gravity = children[None, :] * distance**-beta
    anywhere = np.repeat(children[None, :], len(authorities), axis=0)
    for weights in (gravity, anywhere):
        np.fill_diagonal(weights, 0.0)
    mixed = (1 - long_distance_share) * _rows_to_one(gravity)
    mixed += long_distance_share * _rows_to_one(anywhere)
    london = np.array([a.region == LONDON for a in authorities])
    mixed[np.ix_(london, ~london)] *= london_factor
    mixed[np.ix_(~london, london)] /= london_factor
    return _rows_to_one(mixed)


def _kernel(params: MoveParams) -> np.ndarray:
    return kernel_weights(
        load_authorities(),
        params.gravity_exponent.value,
        params.distance_floor_km.value,
        params.long_distance_share.value,
        params.london_outflow_factor.value,
    )


@dataclass(frozen=True)
class Destinations:
    """Cumulative destination probabilities among the simulated authorities.

    `retained[i]` is the share of i's kernel mass that lands on a simulated authority. A world
    of some authorities has open boundaries: a household whose move would leave it is replaced
    by one arriving from the rest of England, drawn as the same household moving into a
    simulated authority by the kernel's inflow from outside (`arrivals`, the origin itself left
    out), so the simulated authorities keep their between-authority move rate (for all England
    `retained` is 1 and nothing arrives).
    """

    ordinals: np.ndarray  # simulated authorities, as ordinals in authorities.csv
    cumulative: np.ndarray  # [origin, destination] over `ordinals`, rows ending at 1
    retained: np.ndarray  # per simulated origin
    arrivals: np.ndarray | None = None  # [origin, destination]: inflow from outside, cumulative

    def draw(self, rng: np.random.Generator, origins: np.ndarray) -> np.ndarray:
        """A destination ordinal per origin position (positions index `ordinals`)."""
        u = rng.random(len(origins))
        picked = (self.cumulative[origins] < u[:, None]).sum(axis=1)
        return self.ordinals[np.minimum(picked, len(self.ordinals) - 1)]

    def draw_open(self, rng: np.random.Generator, origins: np.ndarray) -> np.ndarray:
        """As `draw`, but a move that would leave the simulated authorities (at 1 - retained)
        comes back as an arrival from outside (see the class doc)."""
        return self.draw_arrivals(rng, origins)[0]

    def draw_arrivals(
        self, rng: np.random.Generator, origins: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """`draw_open`'s destinations, and which of them are arrivals from the rest of England
        (the same draws: a caller may use either)."""
        inside = self.draw(rng, origins)
        if self.arrivals is None:
            return inside, np.zeros(len(origins), dtype=bool)
        out = rng.random(len(origins)) >= self.retained[origins]
        u = rng.random(int(out.sum()))
        picked = (self.arrivals[origins[out]] < u[:, None]).sum(axis=1)
        inside[out] = self.ordinals[np.minimum(picked, len(self.ordinals) - 1)]
        return inside, out


def destinations_for(ordinals: np.ndarray, params: MoveParams | None = None) -> Destinations:
    """The kernel restricted to the simulated authorities (ordinals sorted ascending)."""
    weights = _kernel(params or move_params())
    total = weights.sum(axis=1)
    inside = weights[np.ix_(ordinals, ordinals)]
    kept = inside.sum(axis=1)
    retained = np.divide(kept, total[ordinals], out=np.zeros(len(ordinals)), where=kept > 0)
    cumulative = np.cumsum(inside, axis=1)
    cumulative = np.divide(
        cumulative, kept[:, None], out=np.ones_like(cumulative), where=kept[:, None] > 0
    )
    arrivals = None
    outside = np.setdiff1d(np.arange(len(weights)), ordinals)
    if len(outside) and len(ordinals) > 1:
        children = np.array([a.children_0_17 for a in load_authorities()], dtype=np.float64)
        flows = children[outside, None] * weights[np.ix_(outside, ordinals)] / total[outside, None]
        inflow = np.repeat(flows.sum(axis=0)[None, :], len(ordinals), axis=0)
        np.fill_diagonal(inflow, 0.0)  # an arrival into the origin itself is not a move from it
        arrivals = np.cumsum(inflow, axis=1) / inflow.sum(axis=1, keepdims=True)
    return Destinations(
        ordinals=ordinals, cumulative=cumulative, retained=retained, arrivals=arrivals
    )


def band_shares(weights: np.ndarray, bounds_km: list[float]) -> np.ndarray:
    """Share of between-authority moves in each distance band, origins weighted by children.

    Every authority's children leave at the same rate, so origin i sends a share proportional
    to its children; compare with the facts' bands through `target_band_shares`.
    """
    authorities = load_authorities()
    children = np.array([a.children_0_17 for a in authorities], dtype=np.float64)
    flows = children[:, None] * weights / weights.sum(axis=1, keepdims=True)
    band = np.searchsorted(np.asarray(bounds_km), centroid_distances(authorities), "right") - 1
    shares = np.bincount(band.ravel(), weights=flows.ravel(), minlength=len(bounds_km))
    return shares / shares.sum()


def target_band_shares(params: MoveParams | None = None) -> tuple[list[float], np.ndarray]:
    """Long-distance bands (50 km and over) as shares of moves that leave the authority.

    Taken from the all-age bands and the all-age share of moves that stay inside an authority
    (docs/reference.md s3); the short bands mix moves within and between authorities, so only the
    first band below 50 km is kept, as the remainder.
    """
    params = params or move_params()
    bounds = params.distance_band_shares.categories or []
    shares = np.asarray(params.distance_band_shares.value)
    shares = shares / shares.sum()
    leaving = 1.0 - params.within_authority_share_all_ages.value
    long = [i for i, bound in enumerate(bounds) if bound >= 50]
    tail = shares[long] / leaving
    return [0.0] + [float(bounds[i]) for i in long], np.concatenate([[1 - tail.sum()], tail])


def net_flow_per_1000(weights: np.ndarray, region: str = LONDON) -> float:
    """Net between-authority moves of the region's children per 1,000 of them a year.

    Children leave every authority at the by-age between-authority rates (averaged over
    England's ages); moves between two authorities of the region cancel.
    """
    authorities = load_authorities()
    params = move_params()
    rate = float(np.mean(params.between_authority_moves_by_age.value))
    children = np.array([a.children_0_17 for a in authorities], dtype=np.float64)
    flows = (children * rate)[:, None] * weights / weights.sum(axis=1, keepdims=True)
    inside = np.array([a.region == region for a in authorities])
    outflow = flows[np.ix_(inside, ~inside)].sum()
    inflow = flows[np.ix_(~inside, inside)].sum()
    return float((inflow - outflow) / children[inside].sum() * 1000)
