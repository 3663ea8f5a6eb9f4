"""Shielding: requested, decided case by case, kept through feed updates, and never leaked."""

import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.index.records import parse_record
from sim.index.search import SearchQuery, SearchRefused, search
from sim.index.shielding import (
    ShieldingRefused,
    ShieldingRequest,
    decide_shielding,
    request_shielding,
    shield_of,
)
from sim.index.view import ViewRefused, view_reasons, view_record

AT = dt.datetime(2009, 3, 2, 9, 30)
DOB = dt.date(2004, 3, 7)
DECIDER = "authority management team"

token = st.text(alphabet=string.ascii_lowercase, min_size=5, max_size=8).map(lambda s: "Qz" + s)
digits = st.text(alphabet=string.digits, min_size=1, max_size=1)
postcode = st.builds(
    lambda a, b, c: f"QZ{a} {b}{c}", digits, digits, st.sampled_from(["AB", "XY", "JQ"])
)
hidden_values = st.fixed_dictionaries(
    {
        "street": token,
        "town": token,
        "postcode": postcode,
        "former": token,
        "carer": token,
        "phone": st.text(alphabet=string.digits, min_size=9, max_size=9).map(lambda s: "07" + s),
        "school": st.text(alphabet=string.digits, min_size=6, max_size=6).map(lambda s: "QS" + s),
        "contact": token,
    }
)


def _request(child_id: str, by: str = "mt-1", criterion: str = "adoption") -> ShieldingRequest:
    return ShieldingRequest(
        child_id=child_id, criterion=criterion, requested_by=by, requested_at=AT
    )


def _with_hidden(make_record, child_id: str, h: dict) -> dict:
    """The shielded child's record: visible identity fixed, every hidden part from `h`."""
    return make_record(
        child_id,
        former_names=[{"forename": "Amelia", "surname": h["former"]}],
        address={
            "address_line": f"1 {h['street']} Road",
            "town": h["town"],
            "postcode": h["postcode"],
        },
        carers=[
            {
                "forename": h["carer"],
                "surname": "Thwaite",
                "relationship": "mother",
                "phone": h["phone"],
            }
        ],
        services=[
            {
                "kind": "school",
                "organisation_code": h["school"],
                "organisation_name": f"{h['town']} School",
                "contact": {"name": f"Ann {h['contact']}", "role": "head teacher"},
                "lead_professional": True,
            }
        ],
    )


def _responses(store, child_id: str, probes: list[dict]) -> list[str]:
    """Every answer the API gives to a battery of searches and views, as text."""
    out = []
    queries = [
        SearchQuery(surname="Thwaite", date_of_birth=DOB),
        SearchQuery(surname="Thwiate", forename="Amelia", date_of_birth=DOB, mode="fuzzy"),
        SearchQuery(forename="Amelia", date_of_birth=DOB, gender="female"),
    ]
    for h in probes:
        for mode in ("exact", "fuzzy"):
            queries += [
                SearchQuery(surname="Thwaite", postcode=h["postcode"], mode=mode),
                SearchQuery(
                    surname="Thwaite", date_of_birth=DOB, postcode=h["postcode"], mode=mode
                ),
                SearchQuery(
                    surname="Thwaite", date_of_birth=DOB, school_code=h["school"], mode=mode
                ),
                SearchQuery(surname=h["former"], date_of_birth=DOB, mode=mode),
                SearchQuery(surname=h["former"], postcode=h["postcode"], mode=mode),
            ]
    for query in queries:
        try:
            out.append(search(store, query).model_dump_json())
        except SearchRefused as exc:
            out.append(f"refused: {exc}")
    for reason in [*view_reasons(), "nosy"]:
        try:
            view = view_record(store, child_id, reason)
            out.append(view.model_dump_json() + str(view.audit_detail()))
        except ViewRefused as exc:
            out.append(f"refused: {exc} {exc.detail}")
    return out


def _shielded_child(store, make_record, new_ids, shield_child) -> str:
    child_id = new_ids(1, start=950_000)[0]
    if store.read_record(child_id) is None:
        store.write_records([parse_record(make_record(child_id))])
        shield_child(store, child_id)
    return child_id


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(h=hidden_values)
def test_no_response_contains_a_hidden_value(index_store, make_record, new_ids, shield_child, h):
    """Property: no search result, view, count, score or error shows a hidden value."""
    child_id = _shielded_child(index_store, make_record, new_ids, shield_child)
    index_store.write_records([parse_record(_with_hidden(make_record, child_id, h))])
    text = " ".join(_responses(index_store, child_id, [h])).lower()
    for value in h.values():
        assert value.lower() not in text
        assert value.replace(" ", "").lower() not in text


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=hidden_values, b=hidden_values)
def test_responses_do_not_depend_on_hidden_values(
    index_store, make_record, new_ids, shield_child, a, b
):
    """Property: with a shielded child's hidden data A or B, every answer (hits, counts, order,
    scores, refusals) is identical, even to searches on A's or B's postcode, school or old name."""
    child_id = _shielded_child(index_store, make_record, new_ids, shield_child)
    answers = []
    for h in (a, b):
        index_store.write_records([parse_record(_with_hidden(make_record, child_id, h))])
        answers.append(_responses(index_store, child_id, [a, b]))
    assert answers[0] == answers[1]


def test_feed_update_never_unshields(index_store, make_record, new_ids, shield_child):
    """A feed re-sending the record (new address, same ID) keeps the shield (the 2009 failure)."""
    child_id = new_ids(1)[0]
    index_store.write_records([parse_record(make_record(child_id))])
    shield_child(index_store, child_id)
    moved = make_record(
        child_id, address={"address_line": "2 Refuge Way", "town": "Wigan", "postcode": "WN1 1AA"}
    )
    index_store.write_records(
        [parse_record(make_record(new_ids(1, start=1)[0])), parse_record(moved)]
    )
    assert shield_of(index_store, child_id) is not None
    assert view_record(index_store, child_id, view_reasons()[0]).address is None
    assert search(index_store, SearchQuery(surname="Thwaite", postcode="WN1 1AA")).hits == ()
    hit = search(index_store, SearchQuery(surname="Thwaite", date_of_birth=DOB)).hits
    assert [h.shielded for h in hit if h.child_id == child_id] == [True]


def test_request_then_approve_or_reject(index_store, make_record, new_ids):
    """Approval shields the child; rejection leaves it unshielded; each step returns an event."""
    first, second = new_ids(2)
    index_store.write_records([parse_record(make_record(first)), parse_record(make_record(second))])
    approved = request_shielding(index_store, _request(first))
    rejected = request_shielding(index_store, _request(second, criterion="police protection"))
    assert approved.action == "shielding requested" and approved.criterion == "adoption"
    event = decide_shielding(index_store, approved.request_id, "mt-2", DECIDER, True, AT)
    assert (event.action, event.child_id, event.actor) == ("shielding approved", first, "mt-2")
    event = decide_shielding(index_store, rejected.request_id, "mt-2", DECIDER, False, AT)
    assert event.action == "shielding rejected"
    assert shield_of(index_store, first).criterion == "adoption"
    assert shield_of(index_store, second) is None


def test_criterion_must_come_from_the_list():
    """A request citing a criterion not in the data is refused."""
    with pytest.raises(ValidationError, match="criterion"):
        _request("WC9000002", criterion="celebrity parent")


@pytest.mark.parametrize(
    ("decider", "role", "match"),
    [("mt-2", "practitioner", "may not decide"), ("mt-1", DECIDER, "requester")],
)
def test_only_a_second_management_member_decides(
    index_store, make_record, new_ids, decider, role, match
):
    """Only a deciding role may decide, and never the member who made the request."""
    child_id = new_ids(1)[0]
    index_store.write_records([parse_record(make_record(child_id))])
    event = request_shielding(index_store, _request(child_id))
    with pytest.raises(ShieldingRefused, match=match) as refused:
        decide_shielding(index_store, event.request_id, decider, role, True, AT)
    assert refused.value.detail["child_id"] == child_id
    assert shield_of(index_store, child_id) is None


def test_a_request_is_decided_once(index_store, make_record, new_ids):
    """A decided (or unknown) request cannot be decided again."""
    child_id = new_ids(1)[0]
    index_store.write_records([parse_record(make_record(child_id))])
    event = request_shielding(index_store, _request(child_id))
    decide_shielding(index_store, event.request_id, "mt-2", DECIDER, False, AT)
    for request_id in (event.request_id, 999):
        with pytest.raises(ShieldingRefused, match="no pending request"):
            decide_shielding(index_store, request_id, "mt-2", DECIDER, True, AT)


def test_request_for_unknown_child_refused(index_store):
    """A request for an ID the index does not hold is refused and names only the ID."""
    with pytest.raises(ShieldingRefused, match="no child") as refused:
        request_shielding(index_store, _request("WC9000002"))
    assert refused.value.detail == {"child_id": "WC9000002"}
