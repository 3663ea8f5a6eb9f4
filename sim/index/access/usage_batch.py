"""The usage guard's window for a batch of lookups: each user's recent uses read once, the rules
evaluated in memory, the admitted uses recorded with one statement.

`UsageGuard.admit` asks its window for rates, recent surnames and recent serials once or twice
per use; in SQL that is several statements a lookup. `BatchWindow` answers the same questions
from the users' uses loaded once (inside the caller's counting transaction, so no other process
can count meanwhile), counts each admitted use in memory at once (the next use of the batch sees
it, as the next `admit` would see the row) and writes them all at the end (`flush`). The guard's
own `admit` runs unchanged over it, so the decisions are the one-by-one decisions as long as
this window answers as the database's would: tests/index/test_usage_batch.py checks that on
random sequences across every threshold.
"""

import bisect
import datetime as dt
from collections.abc import Iterable

from sim.index.access.usage import MINUTE, Serial, StoredWindow, Use


class BatchWindow:
    """A UsageWindow over the loaded uses of some users after `floor`; asking about another
    user, or about moments at or before `floor`, is a programming error (it would be wrong)."""

    def __init__(self, store: StoredWindow, usernames: Iterable[str], floor: dt.datetime) -> None:
        self._store, self._floor = store, floor
        self._times: dict[tuple[str, str], list[dt.datetime]] = {}  # (user, action): sorted
        # user: the times of their searches by surname, sorted, and the surnames, in step
        self._surnames: dict[str, tuple[list[dt.datetime], list[str]]] = {}
        # user: (at, serial, latest `at` so far) in record order; the running latest lets a
        # newest-first walk stop where nothing earlier can be recent
        self._serials: dict[str, list[tuple[dt.datetime, Serial, dt.datetime]]] = {}
        self._new: list[Use] = []
        users = list(dict.fromkeys(usernames))
        for username in users:
            self._surnames[username], self._serials[username] = ([], []), []
        for use in store.uses_of(users, floor) if users else ():
            self._count(*use)

    @classmethod
    def covering(
        cls, store: StoredWindow, usernames: Iterable[str], moments: Iterable[dt.datetime],
        window: dt.timedelta,
    ) -> "BatchWindow":  # fmt: skip
        """A window that answers the guard for uses at `moments`: its floor is before the
        earliest moment's midnight, its minute and the enumeration window."""
        first = min(moments, default=None)
        if first is None:  # nothing to check: a window of no users
            return cls(store, (), dt.datetime.max)
        midnight = dt.datetime.combine(first.date(), dt.time())
        return cls(store, usernames, min(midnight, first - max(window, MINUTE)) - MINUTE)

    def _count(
        self, username: str, action: str, at: dt.datetime, surname: str | None, serial
    ) -> None:
        times = self._times.get((username, action))
        if times is None:
            times = self._times[username, action] = []
        if not times or at >= times[-1]:
            times.append(at)
        else:
            bisect.insort(times, at)
        if action == "search" and surname is not None:
            moments, surnames = self._surnames[username]
            where = bisect.bisect_right(moments, at)
            moments.insert(where, at)
            surnames.insert(where, surname)
        if serial is not None:
            serials = self._serials[username]
            serials.append((at, serial, max(at, serials[-1][2]) if serials else at))

    def _bound(self, moment: dt.datetime) -> dt.datetime:
        if moment < self._floor:
            raise ValueError(f"usage asked about {moment}, before the batch's window")
        return moment

    def rates(
        self,
        username: str,
        action: str,
        minute_after: dt.datetime,
        day_after: dt.datetime,
        until: dt.datetime,
    ) -> tuple[int, int]:
        if minute_after < self._floor or day_after < self._floor:
            self._bound(min(minute_after, day_after))
        times = self._times.get((username, action))
        if not times:
            return 0, 0
        upto = bisect.bisect_right(times, until)
        in_minute = upto - bisect.bisect_right(times, minute_after)
        in_day = upto - bisect.bisect_right(times, day_after)
        return max(in_minute, 0), max(in_day, 0)

    def recent_serials(self, username: str, after: dt.datetime, limit: int) -> list[Serial]:
        after = self._bound(after)
        found: list[Serial] = []
        for at, serial, latest in reversed(self._serials[username]):
            if len(found) == limit or latest <= after:
                break
            if at > after:
                found.append(serial)
        return found

    def recent_surnames(self, username: str, after: dt.datetime) -> set[str]:
        moments, surnames = self._surnames[username]
        return set(surnames[bisect.bisect_right(moments, self._bound(after)) :])

    def record(
        self,
        username: str,
        action: str,
        at: dt.datetime,
        surname: str | None,
        serial: Serial | None,
    ) -> None:
        self._count(username, action, at, surname, serial)
        self._new.append((username, action, at, surname, serial))

    def forget_before(self, moment: dt.datetime) -> None:
        """Forgotten in the store; the uses loaded stay (they are all later than the floor)."""
        self._store.forget_before(moment)

    def flush(self) -> None:
        """Write the uses counted since loading (or the last flush) to the store, in order."""
        if self._new:
            self._store.record_many(self._new)
        self._new = []
