"""Source feeds: each source's own, imperfect and late view of the children (facts.md s5c)."""

from sim.index.feeds.parameters import feed_params, nicknames
from sim.index.feeds.sources import FEED_SCHEMA, SOURCES
from sim.index.feeds.views import make_feeds

__all__ = ["FEED_SCHEMA", "SOURCES", "feed_params", "make_feeds", "nicknames"]
