"""Matching feed records into one index record per child: blocking, Fellegi-Sunter, review."""

from sim.feeds.matching.evaluate import MatchReport, evaluate, exact_key_links
from sim.feeds.matching.merge import INDEX_SCHEMA
from sim.feeds.matching.parameters import matching_params
from sim.feeds.matching.resolve import MatchResult, build_index
from sim.feeds.matching.weights import MatchWeights, estimate_weights

__all__ = [
    "INDEX_SCHEMA",
    "MatchReport",
    "MatchResult",
    "MatchWeights",
    "build_index",
    "estimate_weights",
    "evaluate",
    "exact_key_links",
    "matching_params",
]
