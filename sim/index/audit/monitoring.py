"""Monitoring rules over the audit log: the review that made the audit trail mean something.

Each rule turns the log (read_audit) and the accounts (AccessControl.accounts_frame) into
alerts, one per rule, actor and day, with every threshold from data/index/monitoring.toml:
- outside_authority: many views of children of other authorities in a day;
- same_surname: a search for, or a view of a child with, the user's own surname (curiosity
  about family or neighbours is the classic misuse of a population register);
- watch_list: a search of a watched surname or a view of a watched child (well-known families);
- volume_spike: a day far above the median active user's;
- out_of_hours: a burst of searches and views outside working hours;
- repeated_refusals: many refusals for one actor within a short window;
- plus every alert the usage guard raised as it refused (action "alert" in the log).
Rules work on whole columns (polars), so a day of national activity is one pass.
"""

from pathlib import Path

import polars as pl

from sim.index.audit.reader import PIECE_BYTES, audit_pieces, detail_field, scan_audit
from sim.index.audit.settings import MonitoringRules, load_monitoring_rules
from sim.index.store.keys import normalise_name, phonetic_code

ALERT_SCHEMA = {
    "rule": pl.String,
    "actor": pl.String,
    "day": pl.Date,
    "first_time": pl.Datetime("us"),
    "count": pl.UInt32,
}
ACCESSES = ("search", "view")


def _name_key(names: pl.Expr) -> pl.Expr:
    """normalise_name as a column expression: upper case without spaces, - ' or ."""
    return names.str.to_uppercase().str.replace_all(r"[\s\-'.]", "")


def _per_day(frame: pl.LazyFrame, rule: str, least: int) -> pl.LazyFrame:
    """One alert per actor and day with at least `least` flagged events."""
    return (
        frame.group_by("actor", pl.col("time").dt.date().alias("day"))
        .agg(pl.col("time").min().alias("first_time"), pl.len().cast(pl.UInt32).alias("count"))
        .filter(pl.col("count") >= least)
        .select(pl.lit(rule).alias("rule"), "actor", "day", "first_time", "count")
    )


def _bursts(frame: pl.LazyFrame, rule: str, least: int, minutes: int) -> pl.LazyFrame:
    """One alert per actor and day when `least` events fall within any `minutes` window."""
    windowed = (
        frame.sort("time")
        .rolling("time", period=f"{minutes}m", group_by="actor")
        .agg(pl.len().cast(pl.UInt32).alias("count"))
        .filter(pl.col("count") >= least)
    )
    return (
        windowed.group_by("actor", pl.col("time").dt.date().alias("day"))
        .agg(pl.col("time").min().alias("first_time"), pl.col("count").max())
        .select(pl.lit(rule).alias("rule"), "actor", "day", "first_time", "count")
    )


def rule_columns(events: pl.DataFrame | pl.LazyFrame, rules: MonitoringRules) -> pl.LazyFrame:
    """The events the rules read (allowed searches and views, refusals, the usage guard's
    alerts), with what they need from `detail` drawn out of its JSON and the JSON dropped:
    searched_surname, surname_code, child_authority, watched_result (a watched child among a
    search's results) and refused_by (the rule, else the reason, a refusal names)."""
    in_results = pl.lit(False)
    for child_id in rules.watch_child_ids.value:
        in_results = in_results | pl.col("detail").str.contains(f'"{child_id}"', literal=True)
    allowed_access = pl.col("action").is_in(ACCESSES) & (pl.col("outcome") == "allowed")
    read = allowed_access | (pl.col("outcome") == "refused") | (pl.col("action") == "alert")
    return (
        events.lazy()
        .filter(read)
        .with_columns(
            _name_key(detail_field("surname")).alias("searched_surname"),
            detail_field("surname_code"),
            detail_field("child_authority"),
            in_results.alias("watched_result"),
            pl.coalesce(detail_field("rule"), "reason").alias("refused_by"),
        )
        .drop("detail")
    )


def read_rule_columns(
    log_path: Path,
    rules: MonitoringRules,
    where: pl.Expr | None = None,
    piece_bytes: int = PIECE_BYTES,
) -> pl.DataFrame:
    """`rule_columns` of the log at `log_path` (of its events matching `where`), read a piece
    at a time: memory holds one piece of the trail and the rows the rules read, never the
    whole trail."""
    pieces = [
        rule_columns(events if where is None else events.filter(where), rules).collect()
        for events in audit_pieces(log_path, piece_bytes)
    ]
    return pl.concat(pieces) if pieces else rule_columns(scan_audit(log_path), rules).collect()


def scan_alerts(
    events: pl.DataFrame | pl.LazyFrame,
    accounts: pl.DataFrame,
    rules: MonitoringRules | None = None,
) -> pl.DataFrame:
    """Alerts (rule, actor, day, first_time, count) from the audit events, sorted by time."""
    rules = rules or load_monitoring_rules()
    return alerts_from(rule_columns(events, rules), accounts, rules)


def alerts_from(
    columns: pl.DataFrame | pl.LazyFrame, accounts: pl.DataFrame, rules: MonitoringRules
) -> pl.DataFrame:
    """Alerts (rule, actor, day, first_time, count) from the events' `rule_columns`."""
    log = columns.lazy()
    users = accounts.lazy().select(
        pl.col("username").alias("actor"),
        _name_key(pl.col("surname")).alias("own_surname"),
        pl.col("surname").map_elements(phonetic_code, return_dtype=pl.String).alias("own_code"),
        pl.col("authority_code").alias("own_authority"),
    )
    used = log.filter(pl.col("action").is_in(ACCESSES) & (pl.col("outcome") == "allowed"))
    mine = used.join(users, on="actor", how="left")
    start, end = rules.working_hours.value
    hour, weekday = pl.col("time").dt.hour(), pl.col("time").dt.weekday()
    out_of_hours = (hour < start) | (hour >= end) | (weekday >= 6)
    watched = [normalise_name(s) for s in rules.watch_surnames.value]
    watched_codes = [c for c in (phonetic_code(s) for s in rules.watch_surnames.value) if c]
    watched_ids = rules.watch_child_ids.value
    daily = used.group_by("actor", pl.col("time").dt.date().alias("day")).agg(
        pl.col("time").min().alias("first_time"), pl.len().cast(pl.UInt32).alias("count")
    )
    spikes = (
        daily.with_columns(pl.col("count").median().over("day").alias("median"))
        .filter(
            (pl.col("count") >= rules.volume_spike_floor.value)
            & (pl.col("count") > pl.col("median") * rules.volume_spike_factor.value)
        )
        .select(pl.lit("volume_spike").alias("rule"), "actor", "day", "first_time", "count")
    )
    guard = (
        log.filter(pl.col("action") == "alert")
        .group_by(pl.col("reason").alias("rule"), "actor", pl.col("time").dt.date().alias("day"))
        .agg(pl.col("time").min().alias("first_time"), pl.len().cast(pl.UInt32).alias("count"))
        .select("rule", "actor", "day", "first_time", "count")
    )
    parts = [
        _per_day(
            mine.filter(
                (pl.col("action") == "view")
                & pl.col("child_authority").is_not_null()
                & (pl.col("child_authority") != pl.col("own_authority"))
            ),
            "outside_authority",
            rules.outside_authority_views.value,
        ),
        _per_day(
            mine.filter(
                (pl.col("searched_surname") == pl.col("own_surname"))
                | ((pl.col("surname_code") == pl.col("own_code")) & (pl.col("own_code") != ""))
            ),
            "same_surname",
            1,
        ),
        _per_day(
            used.filter(
                pl.col("searched_surname").is_in(pl.Series(watched, dtype=pl.String))
                | pl.col("surname_code").is_in(pl.Series(watched_codes, dtype=pl.String))
                | pl.col("child_id").is_in(pl.Series(watched_ids, dtype=pl.String))
                | pl.col("watched_result")
            ),
            "watch_list",
            1,
        ),
        spikes,
        _bursts(
            used.filter(out_of_hours),
            "out_of_hours",
            rules.out_of_hours_burst.value,
            rules.burst_window_minutes.value,
        ),
        _bursts(
            log.filter(pl.col("outcome") == "refused"),
            "repeated_refusals",
            rules.repeated_refusals.value,
            rules.burst_window_minutes.value,
        ),
        guard,
    ]
    alerts = pl.concat([p.cast(ALERT_SCHEMA) for p in parts]).sort("first_time", "rule", "actor")
    return alerts.collect()
