"""Viewing a record: a reason from the list, and identity only for a shielded child."""

import pytest

from sim.index.records import parse_record
from sim.index.view import ViewRefused, view_reasons, view_record


@pytest.fixture
def written(index_store, make_record, new_ids):
    record = parse_record(
        make_record(new_ids(1)[0], former_names=[{"forename": "Amelia", "surname": "Pike"}])
    )
    index_store.write_records([record])
    return record


def test_view_shows_the_whole_record(index_store, written):
    """An unshielded view shows address, former names, carers and services with contacts."""
    view = view_record(index_store, written.index_id, view_reasons()[0])
    assert not view.shielded
    assert view.address == written.address
    assert view.former_names == written.former_names
    assert view.carers == written.carers
    assert view.services[0].contact.name == "Ann Head"


@pytest.mark.parametrize(
    "reason", ["", "curious", "TO FIND OUT WHO ELSE IS WORKING WITH THE CHILD", None]
)
def test_reason_must_come_from_the_list(index_store, written, reason):
    """Any reason not in data/index/record.toml is refused before the record is read."""
    with pytest.raises(ViewRefused, match="reason"):
        view_record(index_store, written.index_id, reason)


def test_missing_reason_refused_even_for_unknown_child(index_store):
    """The reason check comes first, so the refusal does not reveal whether an ID exists."""
    with pytest.raises(ViewRefused, match="reason"):
        view_record(index_store, "WC9000002", "curious")
    with pytest.raises(ViewRefused, match="no record"):
        view_record(index_store, "WC9000002", view_reasons()[0])


def test_shielded_view_shows_identity_only(index_store, written, shield_child):
    """A shielded record shows name, date of birth, gender and ID, and nothing else."""
    shield_child(index_store, written.index_id)
    view = view_record(index_store, written.index_id, view_reasons()[1])
    assert view.shielded
    assert (view.name, view.date_of_birth, view.gender) == (
        written.name,
        written.date_of_birth,
        written.gender,
    )
    assert (
        view.address is None
        and view.former_names == ()
        and view.carers == ()
        and view.services == ()
    )
    text = view.model_dump_json()
    for hidden in (
        "Mill Lane",
        "BL1 1AA",
        "Pike",
        "Joan",
        "07700900001",
        "Greer",
        "McLean",
        "Ann Head",
    ):
        assert hidden not in text


def test_audit_detail_names_reason_and_sections(index_store, written, shield_child):
    """What a facade audits: the ID, the reason, shielded or not, and the sections shown."""
    reason = view_reasons()[0]
    assert view_record(index_store, written.index_id, reason).audit_detail() == {
        "child_id": written.index_id,
        "reason": reason,
        "shielded": False,
        "sections": [
            "index_id",
            "name",
            "date_of_birth",
            "gender",
            "address",
            "former_names",
            "carers",
            "services",
        ],
    }
    shield_child(index_store, written.index_id)
    detail = view_record(index_store, written.index_id, reason).audit_detail()
    assert detail["shielded"] and detail["sections"] == [
        "index_id",
        "name",
        "date_of_birth",
        "gender",
    ]
