"""The usage guard: per-user rate limits and enumeration detection, before every search or view.

ContactPoint had no bulk export for practitioners (Commons Library note SN/SP/5171 s1.2): the only
way to copy it was one lookup at a time, so the guard bounds lookups per minute and per day and
refuses the patterns of someone walking the index rather than looking for a child: many distinct
surnames in a short window, or views of neighbouring index IDs in a row (IDs are issued through a
permutation, data/rules/identifiers.toml, so real work never opens consecutive serials). Every
refusal is audited; the first of each rule per user and day also writes an "alert" entry for the
management team. All thresholds: data/index/monitoring.toml. State is in memory and costs a few
microseconds per check.
"""

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NoReturn

from sim.index.access.refusals import AccessRefused
from sim.index.audit.event import AuditEvent
from sim.index.audit.log import AuditLog
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules

MINUTE = dt.timedelta(minutes=1)


@dataclass
class _Usage:
    """One user's recent activity."""

    recent: dict[str, deque] = field(default_factory=lambda: {"search": deque(), "view": deque()})
    day: dt.date | None = None
    today: Counter = field(default_factory=Counter)
    surnames: deque = field(default_factory=deque)
    surname_counts: Counter = field(default_factory=Counter)
    views: deque = field(default_factory=deque)
    alerted: set = field(default_factory=set)


def _serial(child_id: str) -> tuple[str, int] | None:
    digits = child_id[2:8]
    return (child_id[:2], int(digits)) if len(child_id) >= 8 and digits.isdigit() else None


class UsageGuard:
    """Call `check_search` / `check_view` before each search or view; they raise AccessRefused."""

    def __init__(self, audit: AuditLog, rules: MonitoringRules | None = None) -> None:
        self.audit = audit
        self.rules = rules or load_monitoring_rules()
        self._users: dict[str, _Usage] = {}
        self._window = dt.timedelta(minutes=self.rules.enumeration_window_minutes.value)
        self._limits = {
            "search": (self.rules.searches_per_minute.value, self.rules.searches_per_day.value),
            "view": (self.rules.views_per_minute.value, self.rules.views_per_day.value),
        }

    def _usage(self, actor: str, now: dt.datetime) -> _Usage:
        usage = self._users.setdefault(actor, _Usage())
        if usage.day != now.date():
            usage.day, usage.today, usage.alerted = now.date(), Counter(), set()
        return usage

    def _rate(self, usage: _Usage, action: str, now: dt.datetime) -> str | None:
        recent = usage.recent[action]
        while recent and now - recent[0] >= MINUTE:
            recent.popleft()
        per_minute, per_day = self._limits[action]
        if len(recent) >= per_minute:
            return f"{action}_per_minute"
        if usage.today[action] >= per_day:
            return f"{action}_per_day"
        return None

    def _refuse(
        self,
        usage: _Usage,
        actor: str,
        action: str,
        reason: str,
        rule: str,
        now: dt.datetime,
        child_id: str | None,
    ) -> NoReturn:
        detail = {"rule": rule}
        self.audit.append(AuditEvent(now, actor, action, "refused", child_id, reason, detail))
        if rule not in usage.alerted:
            usage.alerted.add(rule)
            self.audit.append(AuditEvent(now, actor, "alert", "refused", child_id, rule, detail))
        raise AccessRefused(reason)

    def _admit(self, usage: _Usage, action: str, now: dt.datetime) -> None:
        usage.recent[action].append(now)
        usage.today[action] += 1

    def check_search(self, actor: str, now: dt.datetime, surname: str | None = None) -> None:
        """Refuse a search over a rate limit or one more distinct surname than the window allows."""
        usage = self._usage(actor, now)
        rule = self._rate(usage, "search", now)
        if rule:
            self._refuse(usage, actor, "search", "rate_limit", rule, now, None)
        if surname:
            key = surname.strip().lower()
            while usage.surnames and now - usage.surnames[0][0] >= self._window:
                _, old = usage.surnames.popleft()
                usage.surname_counts[old] -= 1
                if not usage.surname_counts[old]:
                    del usage.surname_counts[old]
            limit = self.rules.enumeration_distinct_surnames.value
            if key not in usage.surname_counts and len(usage.surname_counts) >= limit:
                self._refuse(usage, actor, "search", "enumeration", "distinct_surnames", now, None)
            usage.surnames.append((now, key))
            usage.surname_counts[key] += 1
        self._admit(usage, "search", now)

    def check_view(self, actor: str, child_id: str, now: dt.datetime) -> None:
        """Refuse a view over a rate limit or one that continues a run of neighbouring IDs."""
        usage = self._usage(actor, now)
        rule = self._rate(usage, "view", now)
        if rule:
            self._refuse(usage, actor, "view", "rate_limit", rule, now, child_id)
        run = self.rules.enumeration_sequential_ids.value
        gap = self.rules.enumeration_serial_gap.value
        current = _serial(child_id)
        chain = [*list(usage.views)[-(run - 1) :], (now, current)]
        recent = [serial for when, serial in chain if now - when < self._window]
        if len(recent) >= run and all(
            a is not None and b is not None and a[0] == b[0] and 0 < abs(a[1] - b[1]) <= gap
            for a, b in pairwise(recent)
        ):
            self._refuse(usage, actor, "view", "enumeration", "sequential_ids", now, child_id)
        usage.views.append((now, current))
        if len(usage.views) > run:
            usage.views.popleft()
        self._admit(usage, "view", now)
