"""The batch's usage window (sim.index.access.usage_batch) decides exactly as the guard does one
use at a time over the database: on random sequences of searches and views by a few users that
cross every rule (per minute, per day, distinct surnames, neighbouring IDs), with a history
before the batch, the refusals and the counted uses are the same; and worked sequences on each
backend's accounts database."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.index.access.rules import load_access_rules
from sim.index.access.usage import UsageGuard
from sim.index.access.usage_batch import BatchWindow
from sim.index.audit import load_monitoring_rules
from sim.index.store.backends import memory_usage_counters, open_access

START = dt.datetime(2010, 3, 1, 23, 50)  # batches cross midnight: the day limits start again


def _rules():
    """The data's rules with small thresholds, so short sequences cross every one."""
    base = load_monitoring_rules()
    small = {
        "searches_per_minute": 4,
        "views_per_minute": 3,
        "searches_per_day": 14,
        "views_per_day": 9,
        "enumeration_distinct_surnames": 4,
        "enumeration_sequential_ids": 3,
        "enumeration_serial_gap": 3,
    }
    return base.model_copy(
        update={k: getattr(base, k).model_copy(update={"value": v}) for k, v in small.items()}
    )


RULES = _rules()
uses = st.lists(
    st.tuples(
        st.sampled_from(["ann", "bob"]),
        st.sampled_from(["search", "view"]),
        # seconds after the previous use: the same moment, and uses exactly a minute or a
        # window apart (the bounds' edges)
        st.sampled_from([0, 0, 0, 1, 1, 5, 10, 30, 60, 300, 600]),
        st.sampled_from([None, "SMITH", "JONES", "KHAN", "LEE", "OBI", "WU", "ROY", "ALI"]),
        st.one_of(st.none(), st.integers(100, 106), st.integers(100, 106)),  # neighbours
        st.booleans(),  # out of clock order: a minute earlier than the clock
    ),
    min_size=10,
    max_size=80,
)


def _timed(sequence, start):
    clock, timed = start, []
    for user, action, gap, surname, serial, early in sequence:
        clock += dt.timedelta(seconds=gap)
        child = None if serial is None else f"JA{serial:06d}"
        if action == "view":
            surname = None
        timed.append((user, action, clock - dt.timedelta(minutes=early), surname, child))
    return timed, clock


USERS = ("ann", "bob", "cat", "dan")


def _table(counters):
    """Every counted use, each user's in the order recorded."""
    with counters.counting() as usage:
        return [use for user in USERS for use in usage.uses_of([user], dt.datetime.min)]


@pytest.fixture
def accounts_usage(backend, request, tmp_path):
    """A factory of usage counters over a fresh accounts database of the backend under test."""
    opened = []

    def make():
        if backend == "sqlite":
            location, name = tmp_path / f"accounts{len(opened)}.db", "sqlite"
        else:
            location, name = request.getfixturevalue("postgres_databases")(), "postgres"
        opened.append(open_access(location, rules=load_access_rules(), backend_name=name))
        return opened[-1].usage

    yield make
    for stores in opened:
        stores.close()


@settings(max_examples=200, deadline=None)
@given(history=uses, batch=uses)
def test_the_batch_window_decides_as_admit_one_by_one(history, batch):
    one, many = memory_usage_counters(), memory_usage_counters()
    guard_one = UsageGuard(None, RULES, one)  # type: ignore[arg-type]
    guard_many = UsageGuard(None, RULES, many)  # type: ignore[arg-type]
    before, clock = _timed(history, START)
    for counters, guard in ((one, guard_one), (many, guard_many)):
        for use in before:
            with counters.counting() as usage:
                guard.admit(usage, *use)
    timed, _ = _timed(batch, clock)
    expected = []
    for use in timed:
        with one.counting() as usage:
            expected.append(guard_one.admit(usage, *use))
    got = []
    if timed:
        with many.counting() as usage:
            window = BatchWindow.covering(
                usage, [u[0] for u in timed], [u[2] for u in timed], guard_many.window
            )
            got = [guard_many.admit(window, *use) for use in timed]
            window.flush()
    assert got == expected
    assert _table(many) == _table(one)


def test_every_rule_refuses_in_the_batch(accounts_usage):
    """A worked sequence: each rule's threshold crossed once, in the batch as one by one."""
    counters = accounts_usage()
    guard = UsageGuard(None, RULES, counters)  # type: ignore[arg-type]
    t = dt.datetime(2010, 3, 1, 10)
    s = dt.timedelta(seconds=1)
    sequence = [
        *[("ann", "search", t + n * s, "SMITH", None) for n in range(5)],  # 5th: per minute
        *[("bob", "search", t + n * 20 * s, name, None) for n, name in
          enumerate(["A", "B", "C", "D", "E"])],  # 5th: a fifth distinct surname
        *[("cat", "view", t + n * 30 * s, None, f"JA{100 + n:06d}") for n in range(3)],  # 3rd
        *[("dan", "view", t + n * 61 * s, None, f"JA{100 + 50 * n:06d}") for n in range(10)],
    ]  # fmt: skip
    with counters.counting() as usage:
        window = BatchWindow.covering(
            usage, [u[0] for u in sequence], [u[2] for u in sequence], guard.window
        )
        got = [guard.admit(window, *use) for use in sequence]
        window.flush()
    rules = [refusal[1] if refusal else None for refusal in got]
    assert rules == [None] * 4 + ["search_per_minute"] + [None] * 4 + [
        "distinct_surnames",
        None,
        None,
        "sequential_ids",
        *[None] * 9,
        "view_per_day",
    ]  # the tenth view of the day: views_per_day is 9
    assert len(_table(counters)) == len(sequence) - 4


def test_a_use_exactly_a_window_old_is_outside_it(accounts_usage):
    """The window is open at its start, in the batch as in the database: a view exactly one
    enumeration window before does not extend a run of neighbouring IDs."""
    results = []
    for batched in (False, True):
        counters = accounts_usage()
        guard = UsageGuard(None, RULES, counters)  # type: ignore[arg-type]
        t = dt.datetime(2010, 3, 1, 10)
        sequence = [
            ("cat", "view", t - guard.window, None, "JA000100"),
            ("cat", "view", t - dt.timedelta(seconds=30), None, "JA000101"),
            ("cat", "view", t, None, "JA000102"),  # a run of three only with the first
        ]
        with counters.counting() as usage:
            if batched:
                window = BatchWindow.covering(
                    usage, ["cat"], [u[2] for u in sequence], guard.window
                )
                results.append([guard.admit(window, *use) for use in sequence])
                window.flush()
            else:
                results.append([guard.admit(usage, *use) for use in sequence])
        assert len(_table(counters)) == 3
    assert results[0] == results[1] == [None, None, None]


def test_uses_no_check_reads_again_are_forgotten_and_the_rest_still_count(accounts_usage):
    """A check forgets the uses from before the previous day (less the window), on the shared
    table; the previous day's late uses and the day's own stay, and the day limit still counts
    every use of the day."""
    counters = accounts_usage()
    guard = UsageGuard(None, RULES, counters)  # type: ignore[arg-type]
    day = dt.datetime(2010, 3, 4)
    old = day - dt.timedelta(days=2, hours=14)  # two and a half days before: forgotten
    late = day - dt.timedelta(minutes=5)  # five minutes before midnight: kept
    guard.check_search("ann", old, "SMITH")
    guard.check_search("bob", late, "SMITH")
    per_day = RULES.searches_per_day.value
    for n in range(per_day):  # the day's searches, a minute apart
        guard.check_search("cat", day + dt.timedelta(hours=9, minutes=n), "JONES")
    assert [use[0] for use in _table(counters)] == ["bob", *["cat"] * per_day]
    with counters.counting() as usage:
        refusal = guard.admit(usage, "cat", "search", day + dt.timedelta(hours=15), "JONES", None)
    assert refusal == ("rate_limit", "search_per_day")
