"""The shutdown rehearsal of notebook 05 as the notebook runs it, and what it shows."""

from pathlib import Path

import matplotlib.dates as mdates
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.certificate import Person
from decommission.faults import FAULTS
from decommission.figures import (
    destroyed_figure,
    destroyed_table,
    runbook_calendar_figure,
    step_states,
)
from decommission.probes import SystemSwitch, demo_user, facade_probes, sample_identifiers
from decommission.rehearsal import Outcome, Rehearsal, rehearse
from decommission.runbook import load_runbook
from sim.deployment.deploy import deploy
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.teaching.shutdown_tour import (
    RehearsalPrinter,
    archive_table,
    certificate_table,
    deployment_summary,
    faults_table,
    files_left,
    outcome_text,
)

OPERATOR = Person(name="A", title="lead", organization="C", location="D", phone="020 7946 0000")
VERIFIER = Person(name="E", title="verifier", organization="F", location="D", phone="020 7946 0001")


def run(work: Path, name: str, faults: list[str]) -> tuple[Outcome, Path, RehearsalPrinter]:
    """One rehearsal on a fresh deployment, as the notebook's cells make it."""
    report = deploy(work / "pop", work / name, seed=4, canaries=3, profile="simulation")
    service = ContactPoint.open(report.path, profile="simulation")
    printer = RehearsalPrinter(service)
    switch_off = load_runbook().when(load_runbook().step("switch_off"))
    setup = Rehearsal(
        index=SystemSwitch(service),
        probes=facade_probes(service, report.path, switch_off),
        sanitizer=OPERATOR,
        verifier=VERIFIER,
        verifier_key=Ed25519PrivateKey.generate(),
        sample_identifiers=sample_identifiers(report.path, 10),
    )
    outcome = rehearse(
        report.path, work / f"{name}-evidence", setup, faults=faults, progress=printer
    )
    printer.close()
    return outcome, report.path, printer


@pytest.fixture(scope="module")
def rehearsals(tmp_path_factory):
    work = tmp_path_factory.mktemp("shutdown")
    write_population(SynthRequest(seed=4, scale=0.01, authority_codes=("E08000001",)), work / "pop")
    return run(work, "clean", []), run(work, "faulty", ["canary-in-wal"])


def test_a_clean_rehearsal_destroys_everything_and_certifies(rehearsals):
    """Nothing is left in the deployment; the table names the verification and certificate;
    the printer stopped the servers once, at the switch-off."""
    (outcome, deployment, printer), _ = rehearsals
    assert outcome.status == "completed" and files_left(deployment) == 0
    assert outcome_text(outcome) == f"completed: {len(outcome.certificates)} certificates issued"
    table = dict(certificate_table(outcome).iter_rows())
    assert table["verification passed"] == "True" and table["certificate id"]
    assert printer.closed
    assert ("switch_off", "go") in [(step, status) for step, status, _ in printer.lines]


def test_the_archive_and_destruction_tables_come_from_the_evidence(rehearsals):
    """The archive table lists the bag's files; the destroyed table adds up to the files
    destroyed, by kind of store and method, and the figure draws it."""
    (outcome, _, _), _ = rehearsals
    archive = archive_table(outcome.evidence)
    files = archive.filter(archive["what"] == "file in the archive")["value"].to_list()
    assert "manifest-sha256.txt" in files
    destroyed = destroyed_table(outcome.evidence)
    assert destroyed["files"].sum() > 0 and destroyed["bytes"].sum() > 0
    axes = destroyed_figure(outcome.evidence).axes[0]
    assert axes.get_title() and axes.get_xlabel() and axes.get_legend()


def test_a_fault_stops_the_run_before_any_certificate(rehearsals):
    """canary-in-wal stops the run at verify: the summary says so and the calendar shows a
    no-go there and the later steps not reached."""
    _, (faulty, _, printer) = rehearsals
    assert faulty.status == "stopped" and faulty.stopped_at == "verify"
    assert outcome_text(faulty).startswith("stopped at 'verify'")
    assert step_states(faulty.evidence)["verify"] == "no-go"
    assert printer.closed
    assert "certify" not in step_states(faulty.evidence)


def test_the_calendar_draws_both_rehearsals_on_dated_axes(rehearsals):
    """One panel per rehearsal, every runbook step a row, dates on the x axis, one legend."""
    (clean, _, _), (faulty, _, _) = rehearsals
    runbook = load_runbook()
    figure = runbook_calendar_figure(runbook, [("clean", clean.evidence), ("f", faulty.evidence)])
    assert len(figure.axes) == 2 and len(figure.legends) == 1
    assert len(figure.axes[0].get_yticks()) == len(runbook.steps)
    assert isinstance(figure.axes[0].xaxis.get_major_formatter(), mdates.DateFormatter)
    assert figure.axes[0].get_xlabel() and figure.axes[1].get_title() == "f"


def test_faults_and_summaries():
    """Every injectable fault is listed; a stopped outcome names its step and reason."""
    assert faults_table()["fault"].to_list() == list(FAULTS)
    stopped = Outcome("stopped", "destroy", "key kept", Path("e"), [])
    assert outcome_text(stopped) == "stopped at 'destroy' because: key kept; no certificate"


def test_demo_user_and_summary_read_beside_the_deployment(rehearsals, tmp_path):
    """The credentials beside a deployment give a practitioner; the summary names the
    unlisted extracts."""
    work = tmp_path
    write_population(SynthRequest(seed=4, scale=0.01, authority_codes=("E08000001",)), work / "p")
    report = deploy(work / "p", work / "d", seed=4, canaries=1, profile="simulation")
    assert demo_user(report.path, "practitioner")["role"] == "practitioner"
    summary = deployment_summary(report)
    assert f"{report.children} children" in summary
    assert all(extract in summary for extract in report.unlisted)
