"""Subject access requests (DPA 1998 s7): fee cap, the 40-day clock, statuses, the disclosure
pack (record, sources, access log of this child only), shielding against a parent, export."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.index.audit import AuditEvent, AuditLog, create_key_store, load_signing_key
from sim.index.records import parse_record
from sim.index.sar import (
    SarRefused,
    SarRules,
    SubjectAccessRequest,
    disclose,
    export_requests,
    pending_requests,
    receive_request,
    record_fee,
    record_identity,
    refuse_request,
    sar_rules,
)
from sim.reference.params import read_toml

AT = dt.datetime(2009, 9, 1, 10, 0)
DAY = dt.date(2009, 9, 1)
VIEW_REASON = "to contact a practitioner already involved"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
offsets = st.none() | st.integers(0, 120)


@given(fee=offsets, identity=offsets, fee_due=st.sampled_from([0, 1000]), look=st.integers(0, 300))
def test_clock_runs_from_the_latest_of_three_dates(fee, identity, fee_due, look):
    """Due 40 days after the latest of request, fee and identity; until both fee and identity
    are in, the request waits and no clock runs; after the due date it is overdue."""
    received = DAY
    request = SubjectAccessRequest(
        child_id="AP794379D",
        requester="child",
        received_on=received,
        fee_due_pence=fee_due,
        fee_paid_on=None if fee is None else received + dt.timedelta(days=fee),
        identity_verified_on=None if identity is None else received + dt.timedelta(days=identity),
    )
    as_of = received + dt.timedelta(days=look)
    paid = received if fee_due == 0 else request.fee_paid_on
    if paid is None or request.identity_verified_on is None:
        assert request.clock_started_on() is None and request.due_on() is None
    else:
        start = max(received, paid, request.identity_verified_on)
        assert request.clock_started_on() == start
        assert request.due_on() == start + dt.timedelta(days=40)
    status = request.status(as_of)
    if paid is None or paid > as_of:
        assert status == "awaiting fee"
    elif request.identity_verified_on is None or request.identity_verified_on > as_of:
        assert status == "awaiting identity"
    else:
        assert status == ("overdue" if as_of > request.due_on() else "in progress")


@FUZZ
@given(pence=st.integers(0, 5000))
def test_fee_cap(index_store, pence):
    """A fee up to 10 GBP is asked and stored exactly; anything above is refused (SI 2000/191)."""
    fee = Decimal(pence) / 100
    if fee <= 10:
        outcome = receive_request(
            index_store, "AP794379D", "child", DAY, fee_gbp=fee, actor="la", at=AT
        )
        assert outcome.request.fee_due_pence == pence
    else:
        with pytest.raises(SarRefused, match="fee"):
            receive_request(index_store, "AP794379D", "child", DAY, fee_gbp=fee, actor="la", at=AT)


def test_data_cannot_raise_the_fee_above_the_cap():
    """A data file asking more than the cap is refused when loaded."""
    raw = read_toml("index/sar.toml")
    raw["fee_gbp"]["value"] = 12
    with pytest.raises(ValidationError, match="fee_cap"):
        SarRules.model_validate(raw)


def _answerable(store, child_id, requester="child", consent=None):
    outcome = receive_request(
        store, child_id, requester, DAY, child_consent=consent, actor="la-1", at=AT
    )
    number = outcome.request.request_id
    record_fee(store, number, DAY, Decimal(10), actor="la-1", at=AT)
    record_identity(store, number, DAY + dt.timedelta(days=3), actor="la-1", at=AT)
    return number


@pytest.fixture
def two_children(index_store, make_record, new_ids, tmp_path):
    """Two children with unmistakable strings, and an audit log naming both."""
    ids = new_ids(2, start=940_000)
    tags = ["Qzorbwick", "Qxandrell"]
    for child_id, tag in zip(ids, tags, strict=True):
        record = make_record(
            child_id,
            date_of_birth="1996-02-03",  # 13: of an age to make a request of their own
            name={"forename": tag + "a", "surname": tag},
            address={"address_line": f"2 {tag} Close", "town": tag + "by", "postcode": "QZ1 1QZ"},
            carers=[{"forename": tag + "ma", "surname": tag, "relationship": "mother"}],
        )
        index_store.write_records([parse_record(record)])
    create_key_store(tmp_path / "audit.key", seed=bytes(32))
    log_path = tmp_path / "audit.jsonl"
    with AuditLog(log_path, load_signing_key(tmp_path / "audit.key")) as log:
        for n, (child_id, tag) in enumerate(zip(ids, tags, strict=True)):
            detail = {"surname": tag, "child_authority": "E08000001"}
            time = AT + dt.timedelta(minutes=n)
            log.append(
                AuditEvent(time, f"hv-{n}", "view", "allowed", child_id, VIEW_REASON, detail)
            )
            log.append(
                AuditEvent(time, "mt-1", "shielding approved", "allowed", child_id, "adoption")
            )
    return ids, tags, log_path


def test_pack_holds_record_sources_and_this_childs_access_only(index_store, two_children):
    """The pack has the record, purposes, recipients, sources and the child's own log entries
    (actor, time, action, reason), and not one string of the other child."""
    (mine, other), (tag, other_tag), log_path = two_children
    number = _answerable(index_store, mine)
    outcome = disclose(
        index_store, number, DAY + dt.timedelta(days=5), actor="la-1", at=AT, audit_log=log_path
    )
    pack = outcome.pack
    assert pack.record["name"]["surname"] == tag and pack.record["address"] is not None
    assert pack.sources == sar_rules().record_sources.value and pack.purposes and pack.recipients
    assert [(e.actor, e.action) for e in pack.access_log] == [
        ("hv-0", "view"),
        ("mt-1", "shielding approved"),
    ]
    text = pack.model_dump_json()
    assert other not in text and other_tag not in text
    assert outcome.request.status(DAY + dt.timedelta(days=5)) == "disclosed"
    assert outcome.event.action == "subject access disclosed" and tag not in json.dumps(
        outcome.event.detail
    )


def test_shielded_child_pack_to_parent_withholds_hidden_fields(
    index_store, two_children, shield_child
):
    """A parent asking about a shielded child gets identity fields only, an access log without
    actors or shielding steps, and no sign that anything was held back; the child gets all."""
    (mine, _), (tag, _), log_path = two_children
    shield_child(index_store, mine)
    later = DAY + dt.timedelta(days=5)
    parent = _answerable(index_store, mine, "parent", consent=True)
    pack = disclose(index_store, parent, later, actor="la-1", at=AT, audit_log=log_path).pack
    assert set(pack.record) == {"index_id", "name", "gender", "date_of_birth"}
    text = pack.model_dump_json().lower()
    for hidden in (f"2 {tag} close", f"{tag}by", "qz1 1qz", f"{tag}ma", "e08000001", "shield"):
        assert hidden.lower() not in text
    assert [(e.actor, e.action) for e in pack.access_log] == [(None, "view")]
    closed = index_store.read_subject_access_requests(request_id=parent)[0]
    assert closed["withheld"] and "reg 6" in closed["withheld"]
    own = _answerable(index_store, mine, "child")
    full = disclose(index_store, own, later, actor="la-1", at=AT, audit_log=log_path).pack
    assert full.record["address"]["postcode"] == "QZ1 1QZ" and len(full.access_log) == 2


@pytest.mark.parametrize(
    ("born", "consent", "allowed"),
    [
        ("1996-05-05", None, False),
        ("1996-05-05", True, True),
        ("1997-09-01", False, False),
        ("1997-09-02", None, True),
        ("2003-01-01", None, True),
    ],
)
def test_parent_request_needs_consent_of_a_child_of_12(
    index_store, make_record, new_ids, born, consent, allowed
):
    """From the 12th birthday a parent's request needs the child's consent; before it the parent
    may act for the child alone (docs/reference.md s8)."""
    child_id = new_ids(1, start=946_000)[0]
    index_store.write_records([parse_record(make_record(child_id, date_of_birth=born))])
    number = _answerable(index_store, child_id, "parent", consent)
    later = DAY + dt.timedelta(days=5)
    if allowed:
        assert disclose(index_store, number, later, actor="la", at=AT).pack.record is not None
    else:
        with pytest.raises(SarRefused, match="not consented"):
            disclose(index_store, number, later, actor="la", at=AT)


def test_no_disclosure_before_fee_and_identity(index_store):
    """A request waiting for its fee or identity cannot be answered yet."""
    number = receive_request(index_store, "AP794379D", "child", DAY, actor="la", at=AT)
    number = number.request.request_id
    with pytest.raises(SarRefused, match="fee and identity"):
        disclose(index_store, number, DAY, actor="la", at=AT)
    record_fee(index_store, number, DAY, Decimal(10), actor="la", at=AT)
    with pytest.raises(SarRefused, match="fee and identity"):
        disclose(index_store, number, DAY, actor="la", at=AT)
    with pytest.raises(SarRefused, match="less than"):
        record_fee(index_store, number, DAY, Decimal("9.99"), actor="la", at=AT)


def test_refusal_cites_a_ground_from_data(index_store):
    """A refusal needs a listed ground; a refused request is closed and cannot be answered."""
    number = receive_request(index_store, "AP794379D", "parent", DAY, actor="la", at=AT)
    number = number.request.request_id
    with pytest.raises(SarRefused, match="ground"):
        refuse_request(index_store, number, "we would rather not", DAY, actor="la", at=AT)
    ground = sar_rules().refusal_grounds.value[0]
    outcome = refuse_request(index_store, number, ground, DAY, actor="la", at=AT)
    assert outcome.request.status(DAY) == "refused" and outcome.request.ground == ground
    with pytest.raises(SarRefused, match="already refused"):
        record_identity(index_store, number, DAY, actor="la", at=AT)


def test_no_record_held_is_said_plainly(index_store, new_ids):
    """For an ID the index does not hold, the pack says so (record None) with the s7 texts."""
    number = _answerable(index_store, new_ids(1, start=947_000)[0])
    pack = disclose(index_store, number, DAY + dt.timedelta(days=5), actor="la", at=AT).pack
    assert pack.record is None and pack.purposes and pack.access_log == []


def test_pending_requests_and_export(index_store, tmp_path):
    """Pending = received by the date and not answered by it, from a store or an index path;
    the export writes one JSON line per request with its status and due date."""
    answered = _answerable(index_store, "AP794379D")
    waiting = receive_request(index_store, "AP794379D", "child", DAY, actor="la", at=AT)
    late = receive_request(
        index_store, "AP794379D", "child", DAY + dt.timedelta(days=30), actor="la", at=AT
    )
    disclose(index_store, answered, DAY + dt.timedelta(days=10), actor="la", at=AT)
    ids = [r.request_id for r in pending_requests(index_store, DAY + dt.timedelta(days=5))]
    assert ids == [answered, waiting.request.request_id]
    location = getattr(index_store, "path", index_store)  # a SQLite file by its path
    ids = [r.request_id for r in pending_requests(location, DAY + dt.timedelta(days=60))]
    assert ids == [waiting.request.request_id, late.request.request_id]
    out = tmp_path / "requests.jsonl"
    assert export_requests(index_store, out, DAY + dt.timedelta(days=60)) == 3
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["status"] for line in lines] == ["disclosed", "awaiting fee", "awaiting fee"]
    assert lines[0]["due_on"] == (DAY + dt.timedelta(days=43)).isoformat()
    assert lines[1]["received"] == DAY.isoformat() and lines[1]["child_id"] == "AP794379D"
