"""The usage guard: per-user rate limits and enumeration detection, before every search or view.

ContactPoint had no bulk export for practitioners: the only way to copy it was one lookup at a
time, so the guard bounds lookups per minute and per day and refuses the patterns of someone
walking the index rather than looking for a child: many distinct surnames in a short window, or
lookups of neighbouring index IDs in a row, by view or by search on the ID (IDs are issued
through a permutation, data/rules/identifiers.toml, so real work never opens consecutive
serials). Surnames are counted in the form search matches them (sim.index.store.keys), so
punctuation or case does not make a surname "new". Every refusal is audited; the first of each
rule per user and day also writes an "alert" entry for the management team. All thresholds:
data/index/monitoring.toml.

The counters live in the accounts database (UsageCounters; in SQLite, sim.index.store.
sqlite_usage), and each check and its count are one transaction: a walk spread over many
processes or commands is counted as one.
"""

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from itertools import pairwise
from typing import NoReturn, Protocol

from sim.index.access.refusals import AccessRefused
from sim.index.audit.event import AuditEvent
from sim.index.audit.log import AuditLog
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules
from sim.index.store.backends import memory_usage_counters
from sim.index.store.keys import normalise_name

MINUTE = dt.timedelta(minutes=1)
Serial = tuple[str, int]  # an index ID's prefix and serial
# One counted use: (username, action, at, surname key, serial), as UsageWindow.record takes it.
Use = tuple[str, str, dt.datetime, str | None, Serial | None]


class UsageWindow(Protocol):
    """The counters inside one check's transaction (UsageCounters.counting)."""

    def rates(
        self,
        username: str,
        action: str,
        minute_after: dt.datetime,
        day_after: dt.datetime,
        until: dt.datetime,
    ) -> tuple[int, int]:
        """Admitted uses of `action` after `minute_after` and after `day_after`, up to `until`
        only (requests from several processes may arrive out of clock order)."""
        ...

    def recent_serials(self, username: str, after: dt.datetime, limit: int) -> list[Serial]:
        """The IDs looked up (by view or ID search) after `after`, newest first."""
        ...

    def recent_surnames(self, username: str, after: dt.datetime) -> set[str]:
        """Distinct surname keys searched after `after`."""
        ...

    def record(
        self,
        username: str,
        action: str,
        at: dt.datetime,
        surname: str | None,
        serial: Serial | None,
    ) -> None:
        """Count one admitted use."""
        ...

    def forget_before(self, moment: dt.datetime) -> None:
        """Delete the uses at or before `moment`, which no check reads again
        (UsageGuard.forget_old); a store may do it only when `moment` passes the last it was
        given (a day's horizon moves once a day)."""
        ...


class StoredWindow(UsageWindow, Protocol):
    """A window over the shared store, which a batch loads from and writes back to."""

    def uses_of(self, usernames: Sequence[str], after: dt.datetime) -> list[Use]:
        """Every use by these users after `after` (later than any moment asked of it too), in
        the order recorded, read with one statement: what the batch's in-memory window holds
        (sim.index.access.usage_batch)."""
        ...

    def record_many(self, uses: list[Use]) -> None:
        """Count admitted uses, in order, with one statement."""
        ...


class UsageCounters(Protocol):
    """Usage counters shared by every process serving the index."""

    def counting(self) -> AbstractContextManager[UsageWindow]:
        """One transaction that serialises checks: its reads and the use it records are atomic
        across processes (a check never counts against a stale window)."""
        ...

    def first_alert(self, username: str, day: dt.date, rule: str) -> bool:
        """Record that `rule` alerted for the user on `day`; True only the first time."""
        ...


def surname_key(surname: str | None) -> str | None:
    """A searched surname as the guard counts it (the form search matches), None if blank."""
    return (normalise_name(surname) or None) if surname else None


def _serial(child_id: str | None) -> Serial | None:
    if not child_id:
        return None
    digits = child_id[2:8]
    ok = len(child_id) >= 8 and digits.isascii() and digits.isdigit()
    return (child_id[:2].upper(), int(digits)) if ok else None


class UsageGuard:
    """Call `check_search` / `check_view` before each search or view; they raise AccessRefused.

    Without `counters` the guard counts in memory (one process): for tests and tools only."""

    def __init__(
        self,
        audit: AuditLog,
        rules: MonitoringRules | None = None,
        counters: UsageCounters | None = None,
    ) -> None:
        self.audit = audit
        self.rules = rules or load_monitoring_rules()
        self.counters = counters or memory_usage_counters()
        self.window = dt.timedelta(minutes=self.rules.enumeration_window_minutes.value)
        self._limits = {
            "search": (self.rules.searches_per_minute.value, self.rules.searches_per_day.value),
            "view": (self.rules.views_per_minute.value, self.rules.views_per_day.value),
        }
        # read once: every lookup asks them (twice, with its view)
        self._run = self.rules.enumeration_sequential_ids.value
        self._gap = self.rules.enumeration_serial_gap.value
        self._distinct = self.rules.enumeration_distinct_surnames.value
        # (day, its horizon, the last moment before its midnight): worked out once a day, held
        # in one tuple so that threads sharing the guard never pair one day's with another's
        self._day: tuple[dt.date | None, dt.datetime, dt.datetime] = (None, *(dt.datetime.min,) * 2)

    def _rate(self, usage: UsageWindow, actor: str, action: str, now: dt.datetime) -> str | None:
        """Admitted uses in the last minute and since midnight, up to `now` only: requests from
        several processes or threads may arrive out of clock order, and a later one is no use
        yet at an earlier moment."""
        per_minute, per_day = self._limits[action]
        midnight = self._today(now)[2]
        in_minute, in_day = usage.rates(actor, action, now - MINUTE, midnight, now)
        if in_minute >= per_minute:
            return f"{action}_per_minute"
        if in_day >= per_day:
            return f"{action}_per_day"
        return None

    def _walking(
        self, usage: UsageWindow, actor: str, current: Serial | None, now: dt.datetime
    ) -> bool:
        """Whether this lookup (of the ID `current`) continues a run of neighbouring IDs (by
        view or ID search)."""
        if current is None:
            return False
        run, gap = self._run, self._gap
        chain = [current]
        for serial in usage.recent_serials(actor, now - self.window, 4 * run):
            if serial != chain[-1]:  # newest first; a repeat of the same ID is one lookup
                chain.append(serial)
            if len(chain) == run:
                break
        return len(chain) >= run and all(
            a[0] == b[0] and 0 < abs(a[1] - b[1]) <= gap for a, b in pairwise(chain)
        )

    def refuse(
        self, actor: str, action: str, reason: str, rule: str, now: dt.datetime, child_id
    ) -> NoReturn:
        """Audit the refusal `admit` returned (reason, rule), and an alert the first time the
        rule fires for the user that day; raise it. Called after the counting transaction has
        ended: the audit log's lock is never taken inside the accounts database's write lock."""
        detail = {"rule": rule}
        self.audit.append(AuditEvent(now, actor, action, "refused", child_id, reason, detail))
        if self.counters.first_alert(actor, now.date(), rule):
            self.audit.append(AuditEvent(now, actor, "alert", "refused", child_id, rule, detail))
        raise AccessRefused(reason)

    def _check(
        self,
        actor: str,
        action: str,
        now: dt.datetime,
        surname: str | None,
        child_id: str | None,
    ) -> None:
        with self.counters.counting() as usage:
            refusal = self.admit(usage, actor, action, now, surname, child_id)
        if refusal:
            self.refuse(actor, action, *refusal, now, child_id if action == "view" else None)

    def admit(
        self,
        usage: UsageWindow,
        actor: str,
        action: str,
        now: dt.datetime,
        surname: str | None,
        child_id: str | None,
    ) -> tuple[str, str] | None:
        """Within the caller's counting transaction: the refusal (reason, rule) of this use, or
        None once it is counted. A caller checking many uses in one transaction
        (sim.index.batch_lookup) audits each refusal itself. Every check, by whichever path,
        first lets the counters forget what no check reads again (`forget_old`)."""
        self.forget_old(usage, now)
        rule = self._rate(usage, actor, action, now)
        if rule:
            return ("rate_limit", rule)
        if surname and self._new_surname_over_limit(usage, actor, surname, now):
            return ("enumeration", "distinct_surnames")
        serial = _serial(child_id)
        if self._walking(usage, actor, serial, now):
            return ("enumeration", "sequential_ids")
        usage.record(actor, action, now, surname, serial)
        return None

    def forget_old(self, usage: UsageWindow, now: dt.datetime) -> None:
        """Let the counters drop the uses no check around `now` reads: those before the
        previous day's midnight, less the longest window. A check a whole day out of clock
        order still sees every use it counts, and the table holds about two days of uses
        rather than every use ever made, so a transaction's writes touch few pages. The horizon
        is worked out once a day; the store deletes only when it moves on."""
        usage.forget_before(self._today(now)[1])

    def _today(self, now: dt.datetime) -> tuple[dt.date | None, dt.datetime, dt.datetime]:
        """`now`'s day, its horizon (`forget_old`) and the last moment before its midnight."""
        day = now.date()
        today = self._day
        if today[0] != day:
            midnight = dt.datetime.combine(day, dt.time())
            horizon = midnight - dt.timedelta(days=1) - max(self.window, MINUTE)
            today = self._day = (day, horizon, midnight - dt.timedelta(microseconds=1))
        return today

    def _new_surname_over_limit(
        self, usage: UsageWindow, actor: str, surname: str, now: dt.datetime
    ) -> bool:
        seen = usage.recent_surnames(actor, now - self.window)
        return surname not in seen and len(seen) >= self._distinct

    def check_search(
        self,
        actor: str,
        now: dt.datetime,
        surname: str | None = None,
        index_id: str | None = None,
    ) -> None:
        """Refuse a search over a rate limit, one more distinct surname than the window allows,
        or a search by ID that continues a run of neighbouring IDs."""
        self._check(actor, "search", now, surname_key(surname), index_id)

    def check_view(self, actor: str, child_id: str, now: dt.datetime) -> None:
        """Refuse a view over a rate limit or one that continues a run of neighbouring IDs."""
        self._check(actor, "view", now, None, child_id)
