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

The counters live in the accounts database (table `usage`), and each check and its count are one
IMMEDIATE transaction: a walk spread over many processes or commands is counted as one.
"""

import datetime as dt
import sqlite3
from itertools import pairwise
from typing import NoReturn

from sim.index.access.database import SharedConnection, Transaction, ensure_schema
from sim.index.access.refusals import AccessRefused
from sim.index.audit.event import AuditEvent
from sim.index.audit.log import AuditLog
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules
from sim.index.store.keys import normalise_name

MINUTE = dt.timedelta(minutes=1)
USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    username TEXT NOT NULL, action TEXT NOT NULL, at TEXT NOT NULL,
    surname TEXT, id_prefix TEXT, id_serial INTEGER
);
CREATE INDEX IF NOT EXISTS usage_by_user ON usage (username, action, at);
CREATE TABLE IF NOT EXISTS usage_alert (
    username TEXT NOT NULL, day TEXT NOT NULL, rule TEXT NOT NULL,
    PRIMARY KEY (username, day, rule)
);
"""


def _serial(child_id: str | None) -> tuple[str, int] | None:
    if not child_id:
        return None
    digits = child_id[2:8]
    ok = len(child_id) >= 8 and digits.isascii() and digits.isdigit()
    return (child_id[:2].upper(), int(digits)) if ok else None


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class UsageGuard:
    """Call `check_search` / `check_view` before each search or view; they raise AccessRefused."""

    def __init__(
        self,
        audit: AuditLog,
        rules: MonitoringRules | None = None,
        db: sqlite3.Connection | None = None,
    ) -> None:
        self.audit = audit
        self.rules = rules or load_monitoring_rules()
        self._db = db or sqlite3.connect(
            ":memory:", isolation_level=None, check_same_thread=False, factory=SharedConnection
        )
        ensure_schema(self._db, USAGE_SCHEMA)
        self._window = dt.timedelta(minutes=self.rules.enumeration_window_minutes.value)
        self._limits = {
            "search": (self.rules.searches_per_minute.value, self.rules.searches_per_day.value),
            "view": (self.rules.views_per_minute.value, self.rules.views_per_day.value),
        }

    def _rate(
        self, db: sqlite3.Connection, actor: str, action: str, now: dt.datetime
    ) -> str | None:
        """Admitted uses in the last minute and since midnight, counted in one query, up to
        `now` only: requests from several processes or threads may arrive out of clock order,
        and a later one is no use yet at an earlier moment."""
        per_minute, per_day = self._limits[action]
        minute_ago = now - MINUTE
        midnight = dt.datetime.combine(now.date(), dt.time()) - dt.timedelta(microseconds=1)
        in_minute, in_day = db.execute(
            "SELECT count(*) FILTER (WHERE at > ?), count(*) FILTER (WHERE at > ?) FROM usage "
            "WHERE username = ? AND action = ? AND at > ? AND at <= ?",
            (
                _stamp(minute_ago),
                _stamp(midnight),
                actor,
                action,
                _stamp(min(minute_ago, midnight)),
                _stamp(now),
            ),
        ).fetchone()
        if in_minute >= per_minute:
            return f"{action}_per_minute"
        if in_day >= per_day:
            return f"{action}_per_day"
        return None

    def _walking(self, db: sqlite3.Connection, actor: str, child_id: str | None, now) -> bool:
        """Whether this lookup continues a run of neighbouring IDs (by view or ID search)."""
        current = _serial(child_id)
        if current is None:
            return False
        run = self.rules.enumeration_sequential_ids.value
        gap = self.rules.enumeration_serial_gap.value
        rows = db.execute(
            "SELECT id_prefix, id_serial FROM usage WHERE username = ? AND at > ? "
            "AND id_serial IS NOT NULL ORDER BY rowid DESC LIMIT ?",
            (actor, _stamp(now - self._window), 4 * run),
        ).fetchall()
        chain = [current]
        for prefix, serial in rows:  # newest first; a repeat of the same ID is one lookup
            if (prefix, serial) != chain[-1]:
                chain.append((prefix, serial))
            if len(chain) == run:
                break
        return len(chain) >= run and all(
            a[0] == b[0] and 0 < abs(a[1] - b[1]) <= gap for a, b in pairwise(chain)
        )

    def _refuse(
        self, actor: str, action: str, reason: str, rule: str, now: dt.datetime, child_id
    ) -> NoReturn:
        detail = {"rule": rule}
        self.audit.append(AuditEvent(now, actor, action, "refused", child_id, reason, detail))
        first = self._db.execute(
            "INSERT INTO usage_alert VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (actor, now.date().isoformat(), rule),
        ).rowcount
        if first:
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
        refusal = None
        with Transaction(self._db) as db:
            rule = self._rate(db, actor, action, now)
            if rule:
                refusal = ("rate_limit", rule)
            elif surname and self._new_surname_over_limit(db, actor, surname, now):
                refusal = ("enumeration", "distinct_surnames")
            elif self._walking(db, actor, child_id, now):
                refusal = ("enumeration", "sequential_ids")
            else:
                serial = _serial(child_id)
                db.execute(
                    "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?)",
                    (actor, action, _stamp(now), surname, *(serial or (None, None))),
                )
        if refusal:
            self._refuse(actor, action, *refusal, now, child_id if action == "view" else None)

    def _new_surname_over_limit(
        self, db: sqlite3.Connection, actor: str, surname: str, now: dt.datetime
    ) -> bool:
        seen = {
            row[0]
            for row in db.execute(
                "SELECT DISTINCT surname FROM usage WHERE username = ? AND action = 'search' "
                "AND at > ? AND surname IS NOT NULL",
                (actor, _stamp(now - self._window)),
            )
        }
        return surname not in seen and len(seen) >= self.rules.enumeration_distinct_surnames.value

    def check_search(
        self,
        actor: str,
        now: dt.datetime,
        surname: str | None = None,
        index_id: str | None = None,
    ) -> None:
        """Refuse a search over a rate limit, one more distinct surname than the window allows,
        or a search by ID that continues a run of neighbouring IDs."""
        key = normalise_name(surname) if surname else None
        self._check(actor, "search", now, key or None, index_id)

    def check_view(self, actor: str, child_id: str, now: dt.datetime) -> None:
        """Refuse a view over a rate limit or one that continues a run of neighbouring IDs."""
        self._check(actor, "view", now, None, child_id)
