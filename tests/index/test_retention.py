"""Retention (SI 2007/2182 reg 7): held to 18 or 25 with consent, a year after death, archived for
six years, purged unless held; applied in SQL at any date, idempotently, leaving nothing behind."""

import datetime as dt
import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.index.records import parse_record
from sim.index.retention import (
    RetentionRefused,
    add_years,
    apply_retention,
    archive_due_on,
    export_holds,
    lift_protection_hold,
    place_protection_hold,
    purge_due_on,
    read_archive,
    record_death,
    record_extension_consent,
    retention_rules,
)
from sim.index.sar import disclose, receive_request, record_identity
from sim.index.search import SearchQuery, search
from sim.index.store import IndexStore, SqliteStore
from sim.index.view import view_record

AT = dt.datetime(2009, 6, 1, 10, 0)
REASON = retention_rules().extension_reasons.value[0]
VIEW_REASON = "to contact a practitioner already involved"
# The fixtures used inside @given are pure factories, safe to share between examples.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

dates = st.dates(dt.date(1985, 1, 1), dt.date(2012, 12, 31))
child_facts = st.tuples(dates, st.booleans(), st.none() | st.integers(0, 9000))


def _store(store: IndexStore, facts: list, make_record, new_ids) -> tuple:
    """Fill an empty store with len(facts) children: (date of birth, consent, days from birth
    to death)."""
    ids = new_ids(len(facts))
    store.write_records(
        [
            parse_record(make_record(i, date_of_birth=f[0].isoformat()))
            for i, f in zip(ids, facts, strict=True)
        ]
    )
    for child_id, (born, consent, death_days) in zip(ids, facts, strict=True):
        if consent:
            store.set_retention_consent(child_id, REASON, "mt-1", AT)
        if death_days is not None:
            store.record_death(child_id, born + dt.timedelta(days=death_days))
    return store, ids


def _archive(store: SqliteStore) -> dict[str, tuple[str, str]]:
    return {
        c: (d, cause)
        for c, d, cause in store._db.execute(
            "SELECT child_id, archived_on, archive_cause FROM child WHERE archived_on IS NOT NULL"
        )
    }


def _children(store: SqliteStore) -> set[str]:
    return {row[0] for row in store._db.execute("SELECT child_id FROM child")}


@given(dates, st.integers(0, 30))
def test_add_years_agrees_with_sqlite(day, years):
    """The Python date rule and the SQL one agree, 29 February included (it becomes 1 March)."""
    db = sqlite3.connect(":memory:")
    expected = db.execute("SELECT date(?, ?)", (day.isoformat(), f"+{years} years")).fetchone()[0]
    assert add_years(day, years).isoformat() == expected


@given(dates, st.booleans(), st.none() | st.integers(0, 9000))
def test_archive_date_rule(born, consent, death_days):
    """Archived on the 18th (25th with consent) birthday, or one year after death if earlier."""
    died = None if death_days is None else born + dt.timedelta(days=death_days)
    due, cause = archive_due_on(born, consent=consent, died_on=died)
    by_age = add_years(born, 25 if consent else 18)
    assert due <= by_age and due.year - born.year <= (25 if consent else 18)
    if died is not None and add_years(died, 1) <= by_age:
        assert (due, cause) == (add_years(died, 1), "death")
    else:
        assert due == by_age and (due.month, due.day) in {(born.month, born.day), (3, 1)}
        assert cause == ("extended age" if consent else "adult age")
    assert purge_due_on(due) == add_years(due, 6)


@FUZZ
@given(
    facts=st.lists(child_facts, min_size=1, max_size=6),
    as_of=dates.map(lambda d: add_years(d, 20)),
)
def test_sql_pass_applies_the_date_rules(facts, as_of, make_record, new_ids, empty_store):
    """After a pass at any date, exactly the children due are archived, on their due date, and
    exactly those six archive years past are purged (no holds here), on each backend."""
    store, ids = _store(empty_store(), facts, make_record, new_ids)
    apply_retention(store, as_of)
    archive, present = _archive(store), _children(store)
    store.close()
    for child_id, (born, consent, death_days) in zip(ids, facts, strict=True):
        died = None if death_days is None else born + dt.timedelta(days=death_days)
        due, cause = archive_due_on(born, consent=consent, died_on=died)
        if purge_due_on(due) <= as_of:
            assert child_id not in present
        elif due <= as_of:
            assert archive[child_id] == (due.isoformat(), cause)
        else:
            assert child_id in present and child_id not in archive


@FUZZ
@given(
    facts=st.lists(child_facts, min_size=1, max_size=5),
    first=dates.map(lambda d: add_years(d, 18)),
    gap=st.integers(0, 4000),
)
def test_pass_is_idempotent_and_path_independent(
    facts, first, gap, make_record, new_ids, empty_store
):
    """Repeating a pass changes nothing; passes at d1 then d2 leave what one pass at d2 leaves."""
    second = first + dt.timedelta(days=gap)
    stepped, _ = _store(empty_store(0), facts, make_record, new_ids)
    apply_retention(stepped, first)
    apply_retention(stepped, second)
    again = apply_retention(stepped, second)
    direct, _ = _store(empty_store(1), facts, make_record, new_ids)
    apply_retention(direct, second)
    assert again.archived == {} and again.purged == () and again.purge_blocked == ()
    assert _archive(stepped) == _archive(direct)
    assert _children(stepped) == _children(direct)
    assert stepped.table_counts() == direct.table_counts()
    stepped.close()
    direct.close()


@FUZZ
@given(births=st.lists(dates, min_size=2, max_size=5), data=st.data())
def test_hold_blocks_purge_until_lifted(births, data, make_record, new_ids, empty_store):
    """A standing child-protection hold keeps a record past its purge date; lifted, it goes."""
    facts = [(b, False, None) for b in births]
    store, ids = _store(empty_store(), facts, make_record, new_ids)
    held = data.draw(st.sampled_from(ids))
    place_protection_hold(store, held, "s47/2009/17", actor="mt-1", at=AT)
    hold_id = store.read_holds()[0].hold_id
    late = add_years(max(births), 25)
    report = apply_retention(store, late)
    assert report.purge_blocked == (held,)
    assert _children(store) == {held}
    lift_protection_hold(store, hold_id, actor="mt-1", at=AT)
    assert apply_retention(store, late).purged == (held,)
    assert _children(store) == set()
    store.close()


def _canaries(store: SqliteStore, count: int, make_record, new_ids) -> list[dict]:
    """Children with strings found nowhere else, touching every table that can hold them."""
    records = []
    for n, child_id in enumerate(new_ids(count, start=950_000)):
        tag = "Qx" + "abcdefghij"[n] * 3 + "vex"
        record = make_record(
            child_id,
            date_of_birth="1990-05-04",
            name={"forename": "Amelia", "surname": tag},
            former_names=[{"forename": "Amelia", "surname": tag + "old"}],
            address={"address_line": f"1 {tag} Road", "town": tag + "ton", "postcode": "QZ9 9QZ"},
            carers=[{"forename": tag + "mum", "surname": tag, "relationship": "mother"}],
        )
        record["services"][0]["contact"]["name"] = tag + " Head"
        record["services"][0]["lead_professional"] = True
        records.append(record)
    store.write_records([parse_record(r) for r in records])
    return records


def test_purge_leaves_no_row_or_byte_of_the_child(
    index_store, backend, shield_child, tmp_path, make_record, new_ids
):
    """After the purge no table has a row naming the child or pointing at a gone row, and the
    SQLite file (secure_delete, WAL truncated) holds none of the child's strings (a PostgreSQL
    server's pages and WAL are the decommissioning's residue scan to judge)."""
    records = _canaries(index_store, 3, make_record, new_ids)
    ids = [r["index_id"] for r in records]
    shield_child(index_store, ids[0])
    record_death(index_store, ids[1], dt.date(2001, 1, 1), actor="gro", at=AT)
    hold = place_protection_hold(index_store, ids[2], "s47/1", actor="mt-1", at=AT)
    lift_protection_hold(index_store, hold.detail["hold_id"], actor="mt-1", at=AT)
    sar = receive_request(
        index_store, ids[2], "child", dt.date(2009, 6, 1), fee_gbp=0, actor="la", at=AT
    )
    record_identity(index_store, sar.request.request_id, dt.date(2009, 6, 2), actor="la", at=AT)
    disclose(index_store, sar.request.request_id, dt.date(2009, 6, 3), actor="la", at=AT)
    before = index_store.table_counts()["child"]
    report = apply_retention(index_store, dt.date(2040, 1, 1))
    assert set(ids) <= set(report.purged) and index_store.table_counts()["child"] == 0 < before
    db = index_store._db
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if backend == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    ]
    tags = [r["name"]["surname"] for r in records]
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table}"):
            text = repr(row)
            assert not any(t in text or c in text for t in tags for c in ids), (table, row)
    if backend == "sqlite":  # PostgreSQL checks every foreign key on each statement
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute(
        "SELECT count(*) FROM contact ct WHERE NOT EXISTS (SELECT 1 FROM service v "
        "WHERE v.contact_key = ct.contact_key) AND NOT EXISTS (SELECT 1 FROM involvement i "
        "WHERE i.contact_key = ct.contact_key)"
    ).fetchone() == (0,)
    for table in ("household", "carer"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    index_store.close()
    if backend == "sqlite":
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("index.db*"))
        assert not any(t.encode() in raw for t in tags)


def test_purge_keeps_siblings_household(index_store, make_record, new_ids):
    """Purging one child keeps the household and carers a younger sibling still needs."""
    old, young = new_ids(2, start=960_000)
    for child_id, born in ((old, "1990-01-01"), (young, "2008-01-01")):
        index_store.write_records([parse_record(make_record(child_id, date_of_birth=born))])
    # Same address, written separately: make them one household as a build would.
    db = index_store._db
    db.execute(
        "UPDATE child SET household_key = (SELECT household_key FROM child WHERE child_id = ?) "
        "WHERE child_id = ?",
        (old, young),
    )
    report = apply_retention(index_store, dt.date(2015, 1, 1))
    assert old in report.purged
    kept = index_store.read_record(young)
    assert kept.record.address is not None and kept.record.carers


def test_unanswered_sar_blocks_purge(index_store, make_record, new_ids):
    """An unanswered subject access request keeps the record until it is answered (s8(6))."""
    child_id = new_ids(1, start=970_000)[0]
    index_store.write_records([parse_record(make_record(child_id, date_of_birth="1990-01-01"))])
    receive_request(index_store, child_id, "child", dt.date(2014, 1, 1), actor="la", at=AT)
    assert apply_retention(index_store, dt.date(2030, 1, 1)).purge_blocked == (child_id,)
    assert index_store.read_record(child_id, include_archived=True) is not None


def test_archived_record_leaves_search_and_view(index_store, make_record, new_ids):
    """An archived record is out of the live index: no search finds it, no view opens it."""
    child_id = new_ids(1, start=980_000)[0]
    record = make_record(child_id, date_of_birth="1991-07-01")
    index_store.write_records([parse_record(record)])
    query = SearchQuery(surname="Thwaite", date_of_birth=dt.date(1991, 7, 1))
    assert child_id in [h.child_id for h in search(index_store, query).hits]
    report = apply_retention(index_store, dt.date(2009, 7, 1))
    assert report.archived.get("adult age", 0) >= 1
    assert child_id not in [h.child_id for h in search(index_store, query).hits]
    with pytest.raises(Exception, match="no record"):
        view_record(index_store, child_id, VIEW_REASON)


@pytest.mark.parametrize(
    ("role", "purpose", "years_after", "allowed"),
    [
        ("management_team", "data management", 0, True),
        ("management_team", "data management", 1, False),
        ("supplier", "a serious case review", 0, False),
        ("supplier", "a serious case review", 2, True),
        ("supplier", "curiosity", 2, False),
        ("practitioner", "a child protection (s47) enquiry", 0, False),
    ],
)
def test_archive_readers(index_store, role, purpose, years_after, allowed, make_record, new_ids):
    """Data managers read the archive in its first year; then only the supplier, for s47
    enquiries, serious case reviews or child death reviews."""
    child_id = new_ids(1, start=990_000)[0]
    index_store.write_records([parse_record(make_record(child_id, date_of_birth="1991-07-01"))])
    apply_retention(index_store, dt.date(2009, 7, 1))
    day = dt.date(2009 + years_after, 7, 1)
    if allowed:
        stored = read_archive(index_store, child_id, role=role, purpose=purpose, as_of=day)
        assert stored.archived_on == dt.date(2009, 7, 1)
    else:
        with pytest.raises(RetentionRefused, match="archive read refused") as refused:
            read_archive(index_store, child_id, role=role, purpose=purpose, as_of=day)
        assert refused.value.detail["child_id"] == child_id


def test_consent_needs_permitted_reason_before_18(index_store, make_record, new_ids):
    """Consent to 25 is refused for an unlisted reason, or once the 18th birthday has passed."""
    child_id = new_ids(1, start=995_000)[0]
    index_store.write_records([parse_record(make_record(child_id, date_of_birth="1991-07-01"))])
    with pytest.raises(RetentionRefused, match="reason"):
        record_extension_consent(index_store, child_id, "wants to", actor="mt-1", at=AT)
    late = dt.datetime(2009, 7, 1, 9, 0)
    with pytest.raises(RetentionRefused, match="18th birthday"):
        record_extension_consent(index_store, child_id, REASON, actor="mt-1", at=late)
    event = record_extension_consent(index_store, child_id, REASON, actor="mt-1", at=AT)
    assert event.detail["reason"] == REASON
    assert apply_retention(index_store, dt.date(2010, 1, 1)).archived.get("extended age") is None
    assert apply_retention(index_store, dt.date(2016, 7, 1)).archived["extended age"] == 1


def test_report_events_name_ids_only(index_store):
    """The report gives one summary event and one per purged child, with IDs and counts only."""
    report = apply_retention(index_store, dt.date(2040, 1, 1))
    events = report.audit_events("retention", dt.datetime(2040, 1, 1, 2, 0))
    assert events[0].action == "retention run" and events[0].detail["purged"] == len(report.purged)
    assert [e.child_id for e in events[1:]] == list(report.purged)
    assert all(e.outcome == "allowed" for e in events)


def test_index_built_before_retention_gains_its_tables(tmp_path, make_record, new_ids):
    """An index file from before retention existed is upgraded when opened, then works."""
    path = tmp_path / "old.db"
    store = SqliteStore.create(path)
    child_id = new_ids(1, start=998_000)[0]
    store.write_records([parse_record(make_record(child_id, date_of_birth="1990-01-01"))])
    db = store._db
    for index in ("child_live_by_date_of_birth", "child_archived_by_date"):
        db.execute(f"DROP INDEX {index}")
    for table in ("retention_consent", "death", "protection_hold", "subject_access_request"):
        db.execute(f"DROP TABLE {table}")
    db.execute("ALTER TABLE child DROP COLUMN archive_cause")
    db.execute("ALTER TABLE child DROP COLUMN archived_on")
    store.close()
    reopened = SqliteStore.open(path)
    assert apply_retention(reopened, dt.date(2010, 1, 1)).archived == {"adult age": 1}
    assert reopened.read_record(child_id) is None
    reopened.close()


def test_standing_holds_export_for_decommissioning(index_store, tmp_path, new_ids, make_record):
    """Only standing holds are exported, one JSON line each with the child's ID and reason."""
    held, lifted = new_ids(2, start=999_000)
    index_store.write_records([parse_record(make_record(c)) for c in (held, lifted)])
    place_protection_hold(index_store, held, "s47/2010/3", actor="mt-1", at=AT)
    event = place_protection_hold(index_store, lifted, "s47/2010/4", actor="mt-1", at=AT)
    lift_protection_hold(index_store, event.detail["hold_id"], actor="mt-2", at=AT)
    out = tmp_path / "holds.jsonl"
    assert export_holds(index_store, out) == 1
    (line,) = [json.loads(text) for text in out.read_text().splitlines()]
    assert (line["child_id"], line["reason"], line["opened"]) == (held, "s47/2010/3", "2009-06-01")
