"""The 2010 runbook as data: it loads, keeps the 2010 timetable, and prints a plan."""

import tomllib

import pytest
from pydantic import ValidationError

from decommission.rehearsal import dry_run
from decommission.runbook import Runbook, load_runbook, plan_text
from sim.reference.paths import data_path


def raw_runbook() -> dict:
    return tomllib.loads(data_path("decommission/runbook-2010.toml").read_text())


def test_runbook_has_the_2010_steps_in_order():
    """Announcement, notices, freeze, noon switch-off, archive, destroy, verify, certify, lapse."""
    runbook = load_runbook()
    assert [s.id for s in runbook.steps] == [
        "announce",
        "inventory",
        "notify",
        "freeze",
        "switch_off",
        "archive",
        "destroy",
        "verify",
        "certify",
        "duties_lapse",
    ]
    switch_off = runbook.when(runbook.step("switch_off"))
    assert (switch_off.hour, switch_off.day, switch_off.month) == (12, 6, 8)
    assert switch_off.utcoffset().total_seconds() == 3600  # BST
    assert all(step.source and step.checks and step.evidence for step in runbook.steps)


def test_destruction_later_than_24_hours_is_refused():
    """Moving destruction to 8 August breaks the 24-hour promise and fails validation."""
    raw = raw_runbook()
    next(s for s in raw["steps"] if s["id"] == "destroy")["at"] = "2010-08-08T09:00:00"
    with pytest.raises(ValidationError, match="within 1 day"):
        Runbook.model_validate(raw)


def test_requires_must_name_an_earlier_step():
    """A step cannot depend on a step that comes after it."""
    raw = raw_runbook()
    raw["steps"][0]["requires"] = ["certify"]
    with pytest.raises(ValidationError, match="not earlier"):
        Runbook.model_validate(raw)


def test_certificates_after_eight_weeks_are_refused():
    """Certification on 2 October 2010 is later than eight weeks after 6 August."""
    raw = raw_runbook()
    for step in raw["steps"]:
        if step["id"] in ("certify", "duties_lapse"):
            step["at"] = "2010-10-02T09:00:00"
    with pytest.raises(ValidationError, match="56 days"):
        Runbook.model_validate(raw)


def test_dry_run_prints_every_step_and_store_and_changes_nothing(specimen, digest_tree):
    """--dry-run lists each step and each inventory store; the deployment is byte-identical."""
    before = digest_tree(specimen.deployment)
    text = dry_run(specimen.deployment)
    assert digest_tree(specimen.deployment) == before
    for step in load_runbook().steps:
        assert f"[{step.id}]" in text
    assert "backup-2010-08-05 (backup), held by Capgemini" in text
    assert plan_text(load_runbook()) in text.replace(text[text.index("\nStores") :], "\n")
