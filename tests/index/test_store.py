"""The SQLite store: WAL and secure delete, transactional upserts, parameterised lookups."""

import datetime as dt
import sqlite3

import pytest

from sim.errors import InputError
from sim.index.records import ChildRecord, parse_record
from sim.index.retention import apply_retention
from sim.index.store import Block, CandidateQuery, SqliteStore
from sim.index.store.keys import normalise_name


def test_pragmas_protect_deleted_data(sqlite_index_store):
    """WAL journal and secure_delete=ON are set on every connection (decommissioning s5.1)."""
    db = sqlite_index_store._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_create_refuses_existing_index(index_store):
    """An index is never silently overwritten (a file, or a database already holding one)."""
    location = getattr(index_store, "path", None) or index_store.conninfo
    with pytest.raises(InputError, match="already"):
        type(index_store).create(location)
    assert index_store.table_counts()["child"] > 0


def test_close_leaves_no_wal_residue(tmp_path, make_record, new_ids):
    """Closing truncates the WAL, so no page images of old rows stay beside the database.

    A second connection stays open, as a reader would, so SQLite cannot delete the WAL on its
    own when the store's connection closes: only the store's checkpoint empties it."""
    path = tmp_path / "x.db"
    store = SqliteStore.create(path)
    record = parse_record(make_record(new_ids(1)[0]))
    store.write_records([record])
    wal = tmp_path / "x.db-wal"
    reader = sqlite3.connect(path)
    try:
        assert reader.execute("SELECT count(*) FROM child").fetchone() == (1,)  # WAL now shared
        assert wal.stat().st_size > 0  # the write sits in the WAL
        assert record.name.surname.encode() in wal.read_bytes()
        store.close()
        assert wal.stat().st_size == 0
        assert reader.execute("SELECT count(*) FROM child").fetchone() == (1,)  # not lost
    finally:
        reader.close()


def test_write_then_read_round_trip(new_store, make_record, new_ids):
    """A record written through the API reads back equal, field for field."""
    store = new_store
    record = parse_record(
        make_record(new_ids(1)[0], former_names=[{"forename": "Amelia", "surname": "Pike"}])
    )
    assert store.write_records([record]) == 1
    assert store.read_record(record.index_id).record == record


def test_service_without_contact_shows_the_services_contact(index_store, make_record, new_ids):
    """An involvement with no named practitioner shows the service's own contact (Sch 1)."""
    record = parse_record(make_record(new_ids(1)[0]))
    index_store.write_records([record])
    gp = index_store.read_record(record.index_id).record.services[1]
    assert gp.kind == "gp_practice" and gp.contact is not None


def test_upsert_replaces_and_cleans_up(index_store, make_record, new_ids):
    """Rewriting a child replaces its rows and leaves no orphan household, carer or contact."""
    child_id = new_ids(1)[0]
    before = index_store.table_counts()
    index_store.write_records([parse_record(make_record(child_id))])
    moved = make_record(
        child_id, address={"address_line": "9 New Road", "town": "Bolton", "postcode": "BL2 2BB"}
    )
    index_store.write_records([parse_record(moved)])
    after = index_store.table_counts()
    assert index_store.read_record(child_id).record.address.postcode == "BL2 2BB"
    for table in ("child", "household", "name", "contact"):
        assert after[table] == before[table] + 1
    assert after["carer"] == before["carer"] + 1


def test_batch_is_all_or_nothing(index_store, make_record, new_ids):
    """A batch with one bad row writes nothing (one transaction per batch)."""
    good_id, bad_id = new_ids(2)
    good = parse_record(make_record(good_id))
    bad = ChildRecord.model_construct(**{**dict(good), "index_id": bad_id, "gender": None})
    before = index_store.table_counts()
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):
        index_store.write_records([good, bad])
    assert index_store.table_counts() == before
    assert index_store.read_record(good_id) is None


@pytest.mark.parametrize(
    "payload",
    [
        "x' OR '1'='1",
        "'; DROP TABLE child; --",
        '" OR ""="',
        "1) UNION SELECT child_id FROM child --",
    ],
)
def test_block_values_are_parameters(index_store, payload):
    """Injection text in any block or filter is a value to compare, never SQL."""
    before = index_store.table_counts()
    query = CandidateQuery(
        blocks=tuple(
            Block(column, payload, ("2005-01-01", payload))
            for column in ("surname_norm", "surname_code", "forename_code", "child_id")
        ),
        postcode=payload,
        school_code=payload,
        gp_practice_code=payload,
    )
    assert index_store.find_candidates(query) == []
    assert index_store.table_counts() == before


def test_bulk_load_needs_empty_store(index_store):
    """A bulk load onto a populated index is refused (updates go through write_records)."""
    with pytest.raises(InputError, match="empty"):
        index_store.bulk_load({})


def test_shielding_request_for_unknown_child(index_store):
    """The store refuses a request for an ID it does not hold."""
    with pytest.raises(InputError):
        index_store.add_shielding_request("WC9000002", "adoption", "mt-1", dt.datetime(2009, 1, 1))


def test_former_names_never_propose_a_shielded_child(
    index_store, make_record, new_ids, shield_child
):
    """A birth name can reveal an adoption: once shielded, a child is not proposed by it."""
    record = parse_record(
        make_record(new_ids(1)[0], former_names=[{"forename": "Amelia", "surname": "Pike"}])
    )
    index_store.write_records([record])
    query = CandidateQuery(blocks=(Block("surname_norm", "PIKE", ("2004-03-07",)),))
    assert [c.child_id for c in index_store.find_candidates(query)] == [record.index_id]
    shield_child(index_store, record.index_id)
    assert index_store.find_candidates(query) == []
    by_current = CandidateQuery(blocks=(Block("surname_norm", "THWAITE", ("2004-03-07",)),))
    (candidate,) = index_store.find_candidates(by_current)
    assert candidate.shielded and [n.surname for n in candidate.names] == ["Thwaite"]


def test_leaving_england_status_is_stored_cleared_and_purged(new_store, make_record, new_ids):
    """The leaving-England status (Sch 1 para 2(d)) reads back, is cleared by None, refuses an
    unknown child, and leaves with the child when the record is purged (reg 7)."""
    store = new_store
    old, young = (parse_record(make_record(i)) for i in new_ids(2))
    old = old.model_copy(update={"date_of_birth": dt.date(1980, 5, 1)})
    store.write_records([old, young])
    at = dt.datetime(2009, 6, 1, 10, 0)
    store.set_leaving_england(young.index_id, True, "manager", at)
    status = store.read_record(young.index_id).leaving_england
    assert status is not None and status.intends_to_return and status.recorded_on == at.date()
    store.set_leaving_england(young.index_id, None, "manager", at)
    assert store.read_record(young.index_id).leaving_england is None
    with pytest.raises(InputError):
        store.set_leaving_england(new_ids(1, start=950_000)[0], False, "manager", at)
    store.set_leaving_england(old.index_id, False, "manager", at)
    assert store.table_counts()["leaving_england"] == 1
    assert apply_retention(store, dt.date(2010, 1, 1)).purged == (old.index_id,)
    assert store.table_counts()["leaving_england"] == 0


def test_many_exact_name_lookups_find_what_each_finds_alone(
    index_store, index_population, make_record, new_ids, shield_child
):
    """A batch's exact-name lookups in one statement find what each lookup finds on its own:
    current names, a former name of an unshielded child but not of a shielded one, misses
    (one with a non-ASCII name), and a key asked twice."""
    kept, hidden = (
        parse_record(make_record(child_id, former_names=[{"forename": "Ann", "surname": "Pike"}]))
        for child_id in new_ids(2)
    )
    index_store.write_records([kept, hidden])
    shield_child(index_store, hidden.index_id)
    typed = index_population["children"].head(40).select("forename", "surname", "date_of_birth")
    keys = [
        (normalise_name(surname), normalise_name(forename), born.isoformat())
        for forename, surname, born in typed.iter_rows()
    ]
    keys += [
        ("PIKE", "ANN", "2004-03-07"),  # the former name
        ("THWAITE", "AMELIA", "2004-03-07"),  # both current names
        ("ZOË", "NOBODY", "2004-03-07"),
        keys[0],
    ]
    many = index_store.exact_name_hits_many(keys)
    alone = [index_store.exact_name_hits(*key) for key in keys]

    def by_id(hits):
        return sorted(hits, key=lambda hit: hit.child_id)

    assert [by_id(hits) for hits in many] == [by_id(hits) for hits in alone]
    assert all(many[:40]) and many[-1] == many[0]
    assert [hit.child_id for hit in many[40]] == [kept.index_id]
    assert sorted(hit.child_id for hit in many[41]) == sorted([kept.index_id, hidden.index_id])
    assert many[42] == [] and index_store.exact_name_hits_many([]) == []


def test_many_lookups_by_id_find_each_unarchived_child_once(
    index_store, index_population, make_record, new_ids, shield_child
):
    """A batch's lookups by index ID in one statement: each known ID's child (as the
    exact-name lookup shows it, a shielded one too), nothing for an unknown ID, an ID asked
    twice answered twice, and an archived child not found."""
    children = index_population["children"].head(5).select("child_id", "forename", "surname",
                                                             "date_of_birth")  # fmt: skip
    (hidden,) = (parse_record(make_record(child_id)) for child_id in new_ids(1))
    index_store.write_records([hidden])
    shield_child(index_store, hidden.index_id)
    known = children["child_id"].to_list()
    ids = [*known, hidden.index_id, "ZZ9999999", known[0]]
    many = index_store.id_hits_many(ids)
    for child_id, forename, surname, born in children.iter_rows():
        by_name = index_store.exact_name_hits(
            normalise_name(surname), normalise_name(forename), born.isoformat()
        )
        assert [h for h in by_name if h.child_id == child_id] == many[known.index(child_id)]
    assert [h.child_id for h in many[5]] == [hidden.index_id] and many[5][0].shielded
    assert many[6] == [] and many[7] == many[0] and index_store.id_hits_many([]) == []
    assert apply_retention(index_store, dt.date(2200, 1, 1)).archived
    assert index_store.id_hits_many(known) == [[] for _ in known]
