"""The index tour of notebook 01: a small deployment explored step by step, refusals shown."""

import datetime as dt
from decimal import Decimal

import pytest

from sim.index.audit import read_audit, verify
from sim.index.figures import audit_outcomes_figure, audit_session_figure
from sim.teaching.index_tour import (
    IndexTour,
    hits_table,
    reasons_table,
    record_fields,
    sections_table,
    services_table,
    tampered_copy,
)

AUTHORITY = "E08000001"


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    built = IndexTour.build(
        tmp_path_factory.mktemp("tour"), AUTHORITY, 0.01, 3, dt.date(2010, 1, 5)
    )
    yield built
    built.close()


def manager(n: int) -> str:
    return f"manager{n}-{AUTHORITY.lower()}"


def test_the_clock_moves_a_minute_a_step(tour):
    """Each step is one minute after the last, from 09:00 on the chosen day."""
    assert tour.start == dt.datetime(2010, 1, 5, 9)
    before = tour.now
    assert tour.tick() - before == dt.timedelta(minutes=1)


def test_a_wrong_token_code_is_refused_and_printed(tour, capsys):
    """attempt() shows a refusal with the index's reason and returns None; the real code works."""
    worker = f"practitioner1-{AUTHORITY.lower()}"
    assert tour.attempt("wrong code", tour.log_in, worker, code="000000") is None
    assert "REFUSED  wrong code" in capsys.readouterr().out
    session = tour.attempt("right code", tour.log_in, worker)
    assert session and "ALLOWED  right code" in capsys.readouterr().out
    assert len(tour.token_shows(worker)) == 6


def test_case_notes_are_refused(tour, capsys):
    """A record amended with case notes is refused (SI 2007/2182 Sch 1 holds no case data)."""
    child = tour.example_child()
    record = tour.record_with(child["child_id"], case_notes="concerns")
    assert record["case_notes"] == "concerns" and record["index_id"] == child["child_id"]
    session = tour.log_in(manager(1))
    assert (
        tour.attempt("notes", tour.service.amend_record, session, record, now=tour.tick()) is None
    )
    assert "CaseDataRefused" in capsys.readouterr().out


def test_tables_show_search_hits_reasons_fields_and_sections(tour):
    """The notebook's tables: identity-only hits, the listed reasons, Schedule 1 fields, and
    which sections a shielded view hides."""
    child = tour.example_child()
    session = tour.log_in(f"practitioner1-{AUTHORITY.lower()}")
    query = {"surname": child["surname"], "date_of_birth": str(child["date_of_birth"])}
    hits = hits_table(tour.service.search(session, query, now=tour.tick()))
    assert child["child_id"] in hits["child_id"].to_list()
    assert "address" not in hits.columns
    reason = reasons_table()["reason for access"][0]
    shown = tour.service.view(session, child["child_id"], reason, now=tour.tick())
    assert services_table(shown).height == len(shown.services)
    assert "address" in record_fields()["field of a record"].to_list()
    first, second = tour.log_in(manager(1)), tour.log_in(manager(2))
    request = tour.service.request_shielding(
        first, child["child_id"], "domestic abuse refuge", now=tour.tick()
    )
    tour.service.decide_shielding(second, request.request_id, True, now=tour.tick())
    shielded = tour.service.view(session, child["child_id"], reason, now=tour.tick())
    table = sections_table({"before": shown, "after": shielded})
    hidden = table.filter(table["after"] == "hidden")["section"].to_list()
    assert hidden == ["address", "carers", "services"]
    assert set(table["before"]) == {"shown"}


def test_a_subject_access_request_is_disclosed(tour):
    """Receipt, fee, identity and disclosure in one call: the pack holds the child's record
    and the request is due within the statutory period."""
    child = tour.example_child()
    outcome = tour.subject_access_request(
        child["child_id"], "parent", Decimal("10.00"), days_to_disclose=3
    )
    assert outcome.pack is not None and outcome.pack.record["index_id"] == child["child_id"]
    assert outcome.request.due_on() > tour.start.date()


def test_a_tampered_copy_fails_verification_and_figures_draw(tour, tmp_path):
    """Changing one refusal to 'allowed' breaks the hash chain at that entry; the audit
    figures draw the log with titles, labelled axes and a legend."""
    tour.close()
    key = tour.audit_public_key()
    assert verify(tour.layout.audit, key).ok
    edited = tampered_copy(tour.layout.audit, tmp_path / "copy" / "audit.jsonl")
    result = verify(edited, key)
    assert not result.ok and result.first_bad is not None
    audit = read_audit(tour.layout.audit)
    assert audit["outcome"][result.first_bad - 1] == "refused"
    requests = audit.filter(audit["action"].str.starts_with("subject access"))["action"]
    assert requests.to_list()[-4:] == [  # every step of the request was audited, in order
        "subject access request received",
        "subject access fee received",
        "subject access identity confirmed",
        "subject access disclosed",
    ]
    for figure in (audit_outcomes_figure(audit), audit_session_figure(audit, tour.start)):
        axes = figure.axes[0]
        assert axes.get_title() and axes.get_xlabel() and axes.get_ylabel()
        assert figure.legends or axes.get_legend()
