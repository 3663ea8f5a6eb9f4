"""Monitoring: rate limits and enumeration before each lookup; alert rules over the audit log."""

import datetime as dt

import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli.index_audit import audit_alerts
from sim.index.access import AccessRefused, UsageGuard, load_access_rules
from sim.index.audit import (
    AuditEvent,
    AuditLog,
    create_key_store,
    load_monitoring_rules,
    load_signing_key,
    read_audit,
    scan_alerts,
)
from sim.index.audit.monitoring import alerts_from, read_rule_columns, rule_columns
from sim.index.audit.reader import audit_pieces
from sim.index.store.backends import open_access

MONDAY = dt.datetime(2009, 11, 30, 10, 0)
RULES = load_monitoring_rules()
ACCOUNTS = pl.DataFrame(
    {
        "username": ["ann", "bob", "cat"],
        "surname": ["Hartley", "Okafor", "Price"],
        "authority_code": ["E08000001", "E08000001", "E08000035"],
    }
)


@pytest.fixture
def log(tmp_path):
    create_key_store(tmp_path / "k.key")
    audit = AuditLog(tmp_path / "audit.jsonl", load_signing_key(tmp_path / "k.key"))
    yield audit
    audit.close()


@pytest.fixture
def guard_db(backend: str, request: pytest.FixtureRequest):
    """The usage counters on each backend: the guard's own in-memory SQLite, or the counters of
    a fresh PostgreSQL accounts database (as a deployment's would be)."""
    if backend == "sqlite":
        yield None
        return
    stores = open_access(
        request.getfixturevalue("postgres_database"), rules=load_access_rules(),
        backend_name="postgres",
    )  # fmt: skip
    yield stores.usage
    stores.close()


def events(log: AuditLog) -> pl.DataFrame:
    return read_audit(log.path)


def use(log, actor, when, action="view", child="AB123456C", surname="Jones", area="E08000001",
        outcome="allowed"):  # fmt: skip
    detail = (
        {"surname": surname, "child_authority": area} if action == "view" else {"surname": surname}
    )
    log.append(AuditEvent(when, actor, action, outcome, child if action == "view" else None,
                          "safeguarding" if action == "view" else None, detail))  # fmt: skip


def rules_of(alerts: pl.DataFrame, actor: str) -> set[str]:
    return set(alerts.filter(pl.col("actor") == actor)["rule"])


def test_monitoring_file_loads_with_provenance():
    """data/index/monitoring.toml validates; assumptions are marked low confidence."""
    assert RULES.searches_per_minute.value > 0
    assumed = [name for name, p in RULES if p.source.startswith("Assumption")]
    assert assumed and all(getattr(RULES, n).confidence == "low" for n in assumed)


def test_ordinary_use_passes_the_guard(log, guard_db):
    """A day of paced, varied work raises nothing."""
    guard = UsageGuard(log, counters=guard_db)
    for i in range(40):
        when = MONDAY + dt.timedelta(minutes=5 * i)
        guard.check_search("ann", when, f"Family{i % 5}")
        guard.check_view("ann", f"AB{(i * 7919) % 1_000_000:06d}C", when + dt.timedelta(seconds=30))
    assert events(log).height == 0


def test_minute_limit_slides(log, guard_db):
    """After the per-minute limit, the next search is refused; a minute later it is allowed."""
    guard = UsageGuard(log, counters=guard_db)
    limit = RULES.searches_per_minute.value
    for i in range(limit):
        guard.check_search("ann", MONDAY + dt.timedelta(seconds=i))
    with pytest.raises(AccessRefused):
        guard.check_search("ann", MONDAY + dt.timedelta(seconds=limit))
    guard.check_search("ann", MONDAY + dt.timedelta(seconds=60))
    guard.check_search("bob", MONDAY + dt.timedelta(seconds=limit))  # others unaffected


def test_alert_once_per_rule_and_day(log, guard_db):
    """Repeated refusals under one rule are each audited, but alert only once that day."""
    guard = UsageGuard(log, counters=guard_db)
    limit = RULES.views_per_minute.value
    for i in range(limit):
        guard.check_view("ann", f"AB{i * 50_000:06d}C", MONDAY + dt.timedelta(seconds=i))
    for i in range(3):
        with pytest.raises(AccessRefused):
            guard.check_view("ann", "ZZ999999C", MONDAY + dt.timedelta(seconds=limit + i))
    frame = events(log)
    assert frame.filter(pl.col("action") == "view").height == 3
    assert frame.filter(pl.col("action") == "alert")["reason"].to_list() == ["view_per_minute"]


def test_repeated_surname_is_not_enumeration(log, guard_db):
    """Searching one family many times is not enumeration; new surnames past the limit are."""
    guard = UsageGuard(log, counters=guard_db)
    limit = RULES.enumeration_distinct_surnames.value
    for i in range(limit):
        guard.check_search("ann", MONDAY + dt.timedelta(seconds=10 * i), f"Name{i}")
    guard.check_search("ann", MONDAY + dt.timedelta(seconds=10 * limit), "name0")
    with pytest.raises(AccessRefused) as refused:
        guard.check_search("ann", MONDAY + dt.timedelta(seconds=10 * limit + 5), "Another")
    assert refused.value.reason_code == "enumeration"
    later = MONDAY + dt.timedelta(minutes=RULES.enumeration_window_minutes.value + 5)
    guard.check_search("ann", later, "Another")


def test_scattered_ids_are_not_sequential(log, guard_db):
    """Views of IDs far apart, or in other prefixes, never count as sequential."""
    guard = UsageGuard(log, counters=guard_db)
    run = RULES.enumeration_sequential_ids.value
    for i in range(run * 2):
        guard.check_view(
            "ann",
            f"{'AB' if i % 2 else 'CE'}{400_000 + i:06d}C",
            MONDAY + dt.timedelta(seconds=20 * i),
        )
    for i in range(run):
        guard.check_view(
            "bob", f"AB{400_000 + 1_000 * i:06d}C", MONDAY + dt.timedelta(seconds=20 * i)
        )
    assert events(log).height == 0


def test_views_outside_authority_alert(log):
    """Many views of another authority's children in a day alert; a few do not."""
    many = RULES.outside_authority_views.value
    for i in range(many):
        use(log, "ann", MONDAY + dt.timedelta(minutes=i), child=f"AB{i:06d}C", area="E08000035")
    for i in range(many - 1):
        use(log, "bob", MONDAY + dt.timedelta(minutes=i), child=f"AB{i:06d}C", area="E08000035")
    alerts = scan_alerts(events(log), ACCOUNTS)
    assert "outside_authority" in rules_of(alerts, "ann")
    assert "outside_authority" not in rules_of(alerts, "bob")


def test_same_surname_and_watch_list_alert(log):
    """Searching one's own surname, a watched surname or viewing a watched child alerts."""
    watched = RULES.watch_surnames.value[0]
    rules = RULES.model_copy(
        update={
            "watch_child_ids": RULES.watch_child_ids.model_copy(update={"value": ["AB111111C"]})
        }
    )
    use(log, "ann", MONDAY, action="search", surname="HARTLEY")
    use(log, "bob", MONDAY, action="search", surname=watched)
    use(log, "cat", MONDAY, child="AB111111C")
    use(log, "cat", MONDAY, action="search", surname="Jones")
    alerts = scan_alerts(events(log), ACCOUNTS, rules)
    assert rules_of(alerts, "ann") == {"same_surname"}
    assert rules_of(alerts, "bob") == {"watch_list"}
    assert rules_of(alerts, "cat") == {"watch_list"}


def test_volume_spike_alerts_against_the_median(log):
    """A day far above the median active user's is a spike; the quiet majority is not."""
    for user in ("bob", "cat"):
        for i in range(10):
            use(log, user, MONDAY + dt.timedelta(minutes=3 * i))
    busy = max(RULES.volume_spike_floor.value, int(10 * RULES.volume_spike_factor.value) + 1)
    for i in range(busy):
        use(log, "ann", MONDAY + dt.timedelta(minutes=i))
    alerts = scan_alerts(events(log), ACCOUNTS)
    assert alerts.filter(pl.col("rule") == "volume_spike")["actor"].to_list() == ["ann"]


def test_out_of_hours_burst_alerts(log):
    """A burst at night alerts; the same burst in working hours does not."""
    burst = RULES.out_of_hours_burst.value
    night = MONDAY.replace(hour=RULES.working_hours.value[1] + 3)
    for i in range(burst):
        use(log, "ann", night + dt.timedelta(minutes=2 * i), child=f"AB{i * 9999:06d}C")
        use(log, "bob", MONDAY + dt.timedelta(minutes=2 * i), child=f"AB{i * 9999:06d}C")
    alerts = scan_alerts(events(log), ACCOUNTS)
    assert alerts.filter(pl.col("rule") == "out_of_hours")["actor"].to_list() == ["ann"]


def test_weekend_counts_as_out_of_hours(log):
    """Saturday daytime is out of hours."""
    saturday = MONDAY - dt.timedelta(days=2)
    for i in range(RULES.out_of_hours_burst.value):
        use(log, "cat", saturday + dt.timedelta(minutes=i))
    assert "out_of_hours" in rules_of(scan_alerts(events(log), ACCOUNTS), "cat")


def test_repeated_refusals_alert(log):
    """Refusals for one actor bunched in the window alert; spread out they do not."""
    n = RULES.repeated_refusals.value
    window = RULES.burst_window_minutes.value
    for i in range(n):
        use(log, "mallory", MONDAY + dt.timedelta(minutes=1 * i), action="login", outcome="refused")
        use(
            log,
            "bob",
            MONDAY + dt.timedelta(minutes=(window + 1) * i),
            action="login",
            outcome="refused",
        )
    alerts = scan_alerts(events(log), ACCOUNTS)
    assert alerts.filter(pl.col("rule") == "repeated_refusals")["actor"].to_list() == ["mallory"]


def test_guard_alerts_appear_in_the_scan(log, guard_db):
    """An enumeration refused by the guard shows up as an alert in the batch scan."""
    guard = UsageGuard(log, counters=guard_db)
    with pytest.raises(AccessRefused):
        for i in range(RULES.enumeration_sequential_ids.value):
            guard.check_view("cat", f"AB{700_000 + i:06d}C", MONDAY + dt.timedelta(seconds=30 * i))
    alerts = scan_alerts(events(log), ACCOUNTS)
    assert alerts.filter(pl.col("rule") == "sequential_ids")["actor"].to_list() == ["cat"]


def test_quiet_log_has_no_alerts(log):
    """Normal working-hours use by several users raises no alert at all."""
    for i, user in enumerate(["ann", "bob", "cat"] * 5):
        use(log, user, MONDAY + dt.timedelta(minutes=7 * i), child=f"AB{i * 4321:06d}C",
            area=ACCOUNTS.filter(pl.col("username") == user)["authority_code"][0])  # fmt: skip
    assert scan_alerts(events(log), ACCOUNTS).height == 0


def test_alerts_command_lists_alerts(log, tmp_path):
    """`cpw index audit alerts` reads the log and an accounts file and lists each alert."""
    use(log, "ann", MONDAY, action="search", surname="Hartley")
    ACCOUNTS.write_csv(tmp_path / "accounts.csv")
    app = typer.Typer()
    app.command()(audit_alerts)
    result = CliRunner().invoke(app, [str(log.path), "--accounts", str(tmp_path / "accounts.csv")])
    assert result.exit_code == 0
    assert "alerts: 1" in result.output and "same_surname" in result.output


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gaps=st.lists(st.integers(0, 6_000), min_size=1, max_size=260))
def test_no_window_ever_exceeds_the_limits(tmp_path_factory, gaps):
    """Whatever the pacing, allowed searches never exceed the per-minute or per-day limit."""
    folder = tmp_path_factory.mktemp("guard")
    create_key_store(folder / "k.key")
    with AuditLog(folder / "a.jsonl", load_signing_key(folder / "k.key")) as audit:
        guard = UsageGuard(audit)
        allowed, when = [], MONDAY
        for gap in gaps:
            when += dt.timedelta(milliseconds=gap * 10)
            try:
                guard.check_search("ann", when)
                allowed.append(when)
            except AccessRefused:
                pass
    per_minute = RULES.searches_per_minute.value
    for i, start in enumerate(allowed):
        within = [t for t in allowed[i:] if t - start < dt.timedelta(minutes=1)]
        assert len(within) <= per_minute
    days = pl.Series([t.date() for t in allowed]).value_counts()
    assert days["count"].max() <= RULES.searches_per_day.value


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(piece_bytes=st.integers(1, 2_000))
def test_a_trail_read_in_pieces_is_the_trail_read_whole(tmp_path_factory, piece_bytes):
    """However small the pieces (down to one byte, cut inside a line), the rows the rules read
    and the alerts they raise are those of the whole trail read at once."""
    folder = tmp_path_factory.mktemp("pieces")
    create_key_store(folder / "k.key")
    with AuditLog(folder / "a.jsonl", load_signing_key(folder / "k.key")) as audit:
        for i in range(RULES.outside_authority_views.value):
            use(audit, "ann", MONDAY + dt.timedelta(minutes=i), child=f"AB{i:06d}C",
                area="E08000035")  # fmt: skip
        use(audit, "bob", MONDAY, action="search", surname="Okafor")
        use(audit, "cat", MONDAY, action="login", outcome="refused")
        use(audit, "cat", MONDAY, action="login")  # read by no rule
    whole = rule_columns(read_audit(audit.path), RULES).collect()
    pieces = list(audit_pieces(audit.path, piece_bytes))
    assert len(pieces) > 1 or piece_bytes >= audit.path.stat().st_size
    read = read_rule_columns(audit.path, RULES, piece_bytes=piece_bytes)
    assert read.equals(whole) and whole.height == RULES.outside_authority_views.value + 2
    alerts = alerts_from(read, ACCOUNTS, RULES)
    assert alerts.equals(scan_alerts(read_audit(audit.path), ACCOUNTS))
    assert rules_of(alerts, "ann") == {"outside_authority"}
    assert rules_of(alerts, "bob") == {"same_surname"}
