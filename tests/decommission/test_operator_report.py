"""The operator's report (EVIDENCE/report.md and report.html) of a rehearsal."""

import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path

from decommission.rehearsal import rehearse
from decommission.report import REDACTED
from decommission.scan import scan_tree
from decommission.verification import canary_needles, identifier_needles, load_canaries
from sim.errors import WorkbenchError

GOLDEN = Path(__file__).parent / "golden"
RESUME = "cpw decommission rehearse DEPLOYMENT --out EVIDENCE --resume"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalised(text: str, tmp_path: Path) -> str:
    """The report with what changes from run to run replaced: the rehearsal's clock times and
    durations, key fingerprints, digests (archive files are sealed with fresh nonces), the
    temporary directory and the tool versions of the machine."""
    text = text.replace(str(tmp_path), "<tmp>")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "<ran at>", text)
    text = re.sub(r"\d+\.\d\d s\b", "<took>", text)
    text = re.sub(r"sha256:[0-9a-f]{64}", "sha256:<key>", text)
    text = re.sub(r"`[0-9a-f]{16}`", "`<digest>`", text)
    return re.sub(r"\(Python [\d.]+, SQLite [\d.]+\)", "(Python <v>, SQLite <v>)", text)


def check_golden(report: Path, name: str, tmp_path: Path) -> None:
    text = normalised(report.read_text(), tmp_path)
    if os.environ.get("CPW_UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(text)
    assert text == (GOLDEN / name).read_text()


class Headings(HTMLParser):
    """Collects headings and every tag that is closed out of order or never closed."""

    VOID = frozenset({"meta", "img", "br", "hr", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.headings: list[str] = []
        self.text: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.text = ""

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> out of order")
        if re.fullmatch(r"h[1-6]", tag) and self.text is not None:
            self.headings.append(self.text)
            self.text = None

    def handle_data(self, data):
        if self.text is not None:
            self.text += data


def markdown_headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def test_golden_report_of_a_completed_rehearsal(specimen, setup, tmp_path):
    """A completed rehearsal of the specimen writes report.md equal to the golden file once the
    clock times, durations, fingerprints and digests are normalised (CPW_UPDATE_GOLDEN=1
    rewrites it), and the outcome names the report."""
    setup.clock = utc_now
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    assert outcome.report == tmp_path / "evidence" / "report.md"
    check_golden(outcome.report, "report-completed.md", tmp_path)


def test_golden_report_of_a_stopped_rehearsal(specimen, setup, tmp_path):
    """A run stopped by a probe that gets in reports where, why, that nothing was destroyed
    and no certificate issued, and the command that resumes it (golden file)."""
    setup.clock = utc_now
    outcome = rehearse(
        specimen.deployment, tmp_path / "evidence", setup, faults=["probe-gets-in"],
        resume_command=RESUME,
    )  # fmt: skip
    assert outcome.status == "stopped"
    text = outcome.report.read_text()
    assert f"`{RESUME}`" in text and "Nothing has been destroyed" in text
    check_golden(outcome.report, "report-stopped.md", tmp_path)


def test_report_html_is_well_formed_with_the_markdown_headings(specimen, setup, tmp_path):
    """report.html parses with every tag closed in order, and has the same headings, in the
    same order, as report.md."""
    outcome = rehearse(specimen.deployment, tmp_path / "evidence", setup)
    parser = Headings()
    parser.feed((tmp_path / "evidence/report.html").read_text())
    parser.close()
    assert parser.problems == [] and parser.open == []
    assert parser.headings == markdown_headings(outcome.report.read_text())
    assert len(parser.headings) > 10


def test_the_report_holds_no_canary_even_when_the_index_answers_with_one(specimen, setup, tmp_path):
    """A probe whose refusal names a canary child (ID, name, postcode) leaves that answer in the
    step's evidence (bagged with the archive, where verification finds it and stops the run),
    but the report redacts it: scanned with the verifier's own needles (canaries and sampled
    identifiers, every encoding) it has no hit."""
    canary = load_canaries(specimen.canaries_path)[0]
    answer = (
        f"no access to {canary['child_id']} {canary['forename']} {canary['surname']} "
        f"of {canary['postcode']}, or to {specimen.child_ids[0]}"
    )

    def refuse():
        raise WorkbenchError(answer)

    setup.probes = {**setup.probes, "view": refuse}
    evidence = tmp_path / "evidence"
    outcome = rehearse(specimen.deployment, evidence, setup)
    assert (outcome.status, outcome.stopped_at) == ("stopped", "verify")
    assert canary["surname"] in (evidence / "steps/switch_off.json").read_text()
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("report.md", "report.html"):
        (reports / name).write_bytes((evidence / name).read_bytes())
    needles = canary_needles(load_canaries(specimen.canaries_path))
    needles += identifier_needles(specimen.child_ids[:15])
    assert scan_tree(reports, needles).hits == []
    assert f"no access to {REDACTED} {REDACTED}" in (reports / "report.md").read_text()


def test_a_resumed_run_rewrites_the_report(specimen, new_setup, tmp_path):
    """A run stopped by a corrupted archive reports the stop; resumed, its report is rewritten:
    completed, two attempts, the early steps from attempt 1 and the rest from attempt 2."""
    evidence = tmp_path / "evidence"
    first = new_setup(specimen, 1)
    first.clock = utc_now
    stopped = rehearse(specimen.deployment, evidence, first, faults=["corrupt-archive"])
    text = stopped.report.read_text()
    assert "**stopped** at step `archive`" in text and "No certificate has been issued" in text
    second = new_setup(specimen, 1)
    second.clock = utc_now
    done = rehearse(specimen.deployment, evidence, second, resume=True)
    text = done.report.read_text()
    assert "**completed**" in text and "Attempts: 2." in text
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ")]
    attempts = {row[1].split(":")[0]: row[5] for row in rows if len(row) == 7 and row[0] != "| #"}
    assert attempts["switch_off"] == "1" and attempts["archive"] == "2"
    assert attempts["duties_lapse"] == "2"
