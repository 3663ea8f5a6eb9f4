"""Source feeds: each source's own, imperfect and late view of the children.

The sources and what each covered: docs/reference.md s5c.
"""

from sim.feeds.parameters import feed_params
from sim.feeds.sources import FEED_SCHEMA, SOURCES
from sim.feeds.views import CohortFeeds, make_feeds
from sim.index.nicknames import nicknames

__all__ = ["FEED_SCHEMA", "SOURCES", "CohortFeeds", "feed_params", "make_feeds", "nicknames"]
