"""The record holds exactly what SI 2007/2182 Sch 1 allows; case data is refused."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.errors import WorkbenchError
from sim.index.records import (
    CaseDataRefused,
    ChildRecord,
    RecordRefused,
    RecordRules,
    parse_record,
    record_rules,
)
from sim.reference.params import read_toml

CASE_DATA = ["notes", "case_notes", "assessment", "medical_history", "exam_results", "diagnosis"]
PARTS = [(), ("name",), ("address",), ("carers", 0), ("services", 0), ("services", 0, "contact")]


def _part(record: dict, path: tuple) -> dict:
    for step in path:
        record = record[step]
    return record


def test_valid_record_parses(make_record, new_ids):
    """A complete Sch 1 record validates, with its services, contacts and carers."""
    record = parse_record(make_record(new_ids(1)[0]))
    assert record.name.surname == "Thwaite"
    assert [s.kind for s in record.services] == ["school", "gp_practice"]
    assert record.services[0].contact.role == "head teacher"


@pytest.mark.parametrize("path", PARTS)
@pytest.mark.parametrize("key", CASE_DATA)
def test_case_data_refused_anywhere(make_record, new_ids, path, key):
    """A case-data key at any level of the record is refused with CaseDataRefused."""
    data = make_record(new_ids(1)[0])
    _part(data, path)[key] = "child disclosed concerns at school"
    with pytest.raises(CaseDataRefused, match=key):
        parse_record(data)


@settings(max_examples=40, deadline=None)
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20))
def test_any_unscheduled_field_refused(key):
    """Property: any key that is not a Sch 1 field is refused, never silently kept."""
    data = {
        "index_id": "WC9000002",
        "authority_code": "E08000001",
        "name": {"forename": "Ann", "surname": "Lee"},
        "gender": "female",
        "date_of_birth": "2005-01-01",
    }
    if key in ChildRecord.model_fields:
        return
    data[key] = "x"
    with pytest.raises(CaseDataRefused):
        parse_record(data)


def test_case_data_refusal_is_a_workbench_error():
    """The CLI prints refusals on one line and exits 2, like every WorkbenchError."""
    assert issubclass(CaseDataRefused, RecordRefused)
    assert issubclass(CaseDataRefused, WorkbenchError)


def test_sensitive_service_needs_consent(make_record, new_ids):
    """Sexual-health involvement is refused without consent and kept with it (reg 11(3))."""
    service = {"kind": "sexual_health", "organisation_code": "SH1", "organisation_name": "Clinic"}
    data = make_record(new_ids(1)[0], services=[service])
    with pytest.raises(RecordRefused, match="sensitive"):
        parse_record(data)
    data["services"] = [{**service, "consent_recorded": True}]
    assert parse_record(data).services[0].consent_recorded


def test_unknown_service_kind_and_bad_id_refused(make_record, new_ids):
    """Only service kinds from the data, and only valid index IDs, are accepted."""
    data = make_record(
        new_ids(1)[0],
        services=[{"kind": "bank", "organisation_code": "1", "organisation_name": "B"}],
    )
    with pytest.raises(RecordRefused, match="service kind"):
        parse_record(data)
    with pytest.raises(RecordRefused, match="index_id"):
        parse_record(make_record("WC9000003"))


def test_shield_visibility_cannot_be_widened_by_data():
    """The rules file may never make a hidden field (e.g. address) visible on a shielded record."""
    raw = read_toml("index/record.toml")
    raw["shielded_visible_fields"]["value"].append("address")
    with pytest.raises(ValidationError, match="identity fields only"):
        RecordRules.model_validate(raw)


def test_rules_list_reasons_and_criteria():
    """The data lists view reasons and the four shielding criteria of the Commons Library note."""
    rules = record_rules()
    assert len(rules.view_reasons.value) >= 3
    assert set(rules.shielding_criteria.value) == {
        "police protection",
        "domestic abuse refuge",
        "adoption",
        "risk of significant harm",
    }


def test_carer_relationship_from_the_list(make_record, new_ids):
    """A carer's relationship is a word from the data, so it cannot carry case notes."""
    carer = {"forename": "Joan", "surname": "Thwaite", "relationship": "mother, drinks heavily"}
    with pytest.raises(RecordRefused, match="relationship"):
        parse_record(make_record(new_ids(1)[0], carers=[carer]))


@pytest.mark.parametrize("surname", ["Ó Corra", "D’Alia", "Zoë-Brontë", "O'Neill", "Smith-Jones"])
def test_names_from_the_synthetic_vocabulary_are_accepted(make_record, new_ids, surname):
    """Accented letters and curly apostrophes, which the name vocabulary holds, are valid names."""
    record = make_record(new_ids(1)[0])
    record["name"]["surname"] = surname
    assert parse_record(record).name.surname == surname


@pytest.mark.parametrize("surname", ["", "1234", "Robert'); DROP TABLE child;--", "<script>"])
def test_names_that_are_not_names_are_refused(make_record, new_ids, surname):
    """Digits, markup and SQL are not names."""
    record = make_record(new_ids(1)[0])
    record["name"]["surname"] = surname
    with pytest.raises((RecordRefused, ValidationError)):
        parse_record(record)
