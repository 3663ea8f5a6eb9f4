"""The simulation clock a server runs on: a start time that advances with the wall clock.

The facade takes time only from its `now` arguments; the server supplies this clock's reading,
shown on every page, so token codes, roll-out dates, CRB renewal and the idle timeout all apply
as they did in 2009-10.
"""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimClock:
    """`start` at wall time `origin`, advancing `rate` simulated seconds per wall second."""

    start: dt.datetime
    origin: float
    rate: float = 1.0
    wall: Callable[[], float] = field(default=time.time, compare=False)

    def now(self) -> dt.datetime:
        elapsed = max(0.0, self.wall() - self.origin) * self.rate
        return (self.start + dt.timedelta(seconds=elapsed)).replace(microsecond=0)
