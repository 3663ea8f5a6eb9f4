"""The ContactPoint index: the Sch 1 record, its store, search, view and shielding.

Access and audit live in sub-packages beside these modules, the store seam in `store`; the
feeds and matching are sim.feeds, deployments sim.deployment (both import the index, never the
reverse).
`search` is the module (sim.index.search.search runs a search), so it is not re-exported.
"""

from sim.index.build import BuildStats, build_index
from sim.index.records import CaseDataRefused, ChildRecord, RecordRefused, parse_record
from sim.index.search import SearchQuery, SearchRefused, SearchResult, parse_query
from sim.index.shielding import (
    ShieldingEvent,
    ShieldingRefused,
    ShieldingRequest,
    decide_shielding,
    request_shielding,
    shield_of,
)
from sim.index.store import IndexStore
from sim.index.view import RecordView, ViewRefused, view_reasons, view_record

__all__ = [
    "BuildStats",
    "CaseDataRefused",
    "ChildRecord",
    "IndexStore",
    "RecordRefused",
    "RecordView",
    "SearchQuery",
    "SearchRefused",
    "SearchResult",
    "ShieldingEvent",
    "ShieldingRefused",
    "ShieldingRequest",
    "ViewRefused",
    "build_index",
    "decide_shielding",
    "parse_query",
    "parse_record",
    "request_shielding",
    "shield_of",
    "view_reasons",
    "view_record",
]
