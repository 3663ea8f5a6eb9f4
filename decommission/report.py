"""The operator's report: what a rehearsal did, for an operator and an auditor who never read code.

Every rehearsal that completed or stopped writes EVIDENCE/report.md and report.html (rendered by
sim.reporting); a resumed run rewrites them. The report is built from the evidence files only and
links to each, so every statement can be checked against the file it rests on (NIST SP 800-88
Rev. 1 4.8, records of sanitization; ICO accountability framework, 'Destruction': keep a log of
what was destroyed). It gives counts, paths, methods and digests, never a record. Free text that
came from the index or a failure (a probe's answer, a stop reason) is redacted of the verifier's
needles and of anything shaped like an index ID, so the report carries no canary or real
identifier (docs/decommissioning-standards.md 9.C.7: no canaries outside the deployment).
"""

import re
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from decommission.report_sections import (
    Redact,
    archive_section,
    certificates_section,
    destruction_section,
    probes_section,
    read_json,
)
from decommission.runbook import Runbook, RunbookStep, load_runbook
from decommission.signing import RECORD_SUFFIX, beside
from decommission.verification import canary_needles, identifier_needles
from sim.population.identifiers import is_valid_index_id
from sim.reporting import Block, Items, Section, Table, write_document

TITLE = "ContactPoint decommissioning rehearsal: the operator's report"
REDACTED = "[redacted]"
_ID_SHAPE = re.compile(r"[A-Z]{2}\d{6}[0-9A-Z]")
EXTRA_EVIDENCE = {
    "notice": ["notices/{id}.md"],
    "archive": [
        "archive/bag-info.txt",
        "archive/manifest-sha512.txt",
        "steps/{id}-supplements.json",
    ],
    "destroy": ["steps/{id}.journal.jsonl"],
    "verify": ["verification.json"],
    "certify": ["certificates/"],
}
"""Evidence a step writes besides steps/STEP.json, by step kind."""


def report_secrets(canaries: Sequence[dict[str, str]], identifiers: Iterable[str]) -> list[str]:
    """The verifier's needles as text (its UTF-8 renderings): what the report must never hold."""
    needles = canary_needles(canaries) + identifier_needles(identifiers)
    return [n.pattern.decode() for n in needles if n.label.endswith("[utf-8]")]


def redactor(secrets: Iterable[str]) -> Redact:
    """A function that blanks every secret (any case) and every valid index ID in a text."""
    words = sorted(set(secrets), key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None

    def redact(text: str) -> str:
        text = " ".join(text.split())  # one line: a table cell or a paragraph
        text = pattern.sub(REDACTED, text) if pattern else text
        return _ID_SHAPE.sub(lambda m: REDACTED if is_valid_index_id(m[0]) else m[0], text)

    return redact


def write_report(
    evidence: Path, runbook: Runbook | None = None, secrets: Iterable[str] = ()
) -> Path:
    """Write report.md and report.html into the evidence directory; return report.md's path."""
    evidence = Path(evidence)
    runbook = runbook or load_runbook()
    run = read_json(evidence / "run.json")
    redact = redactor(secrets)
    by_step = {entry["step"]: entry for entry in run.get("steps", [])}
    ids = {kind: _step_of(runbook, kind) for kind in ("shutdown", "archive", "destroy", "verify")}
    sections = [
        Section("Outcome", _outcome(evidence, run, runbook, redact)),
        Section("Timeline against the 2010 dates", [_timeline(runbook, by_step)]),
        Section("Steps, their evidence and checks", []),
        *[_step(evidence, runbook, step, by_step.get(step.id), redact) for step in runbook.steps],
        probes_section(evidence, ids["shutdown"], redact),
        archive_section(evidence, ids["archive"], by_step),
        destruction_section(evidence, ids["destroy"], ids["verify"], by_step),
        certificates_section(evidence, run),
    ]
    return write_document(evidence, TITLE, sections)


def _step_of(runbook: Runbook, kind: str) -> str:
    return next((step.id for step in runbook.steps if step.kind == kind), kind)


def _outcome(evidence: Path, run: dict[str, Any], runbook: Runbook, redact: Redact) -> list[Block]:
    status = run.get("status")
    passed = [e["step"] for e in run.get("steps", []) if e.get("status") == "go"]
    facts = (
        f"Runbook: {runbook.title}. Deployment: `{run.get('deployment')}`. "
        f"Evidence: `{evidence}`. Attempts: {run.get('attempts', 1)}. "
        f"Steps passed: {len(passed)} of {len(runbook.steps)}."
    )
    key = str(beside(evidence, RECORD_SUFFIX))
    words = ["cpw", "decommission", "verify", str(evidence), "--public-key", key]
    verify = f"`{shlex.join([*words, '--deployment', str(run.get('deployment'))])}`"
    if status == "completed":
        count = len(run.get("certificates", []))
        return [
            f"The rehearsal **completed**: every step passed its gate and {count} signed "
            "certificate(s) were issued.",
            facts,
            "Anyone holding the verifier's public key, pinned before the run in the custodian's "
            f"record outside this folder, can re-check it: {verify}. A key found only in this "
            "folder proves nothing: `verify` refuses it.",
        ]
    where = run.get("stopped_at")
    step = next((s for s in runbook.steps if s.id == where), None)
    title = f" ({step.title})" if step else ""
    kinds = {s.id: s.kind for s in runbook.steps}
    started = {e["step"] for e in run.get("steps", [])}
    destroyed = any(kinds.get(s) == "destroy" for s in started)
    certified = any(kinds.get(s) == "certify" and s in passed for s in started)
    command = run.get("resume_with")
    return [
        f"The rehearsal **stopped** at step `{where}`{title}.",
        f"Why: {redact(str(run.get('reason')))}",
        facts,
        Items(
            [
                "Destruction had begun: what was destroyed is in "
                f"[steps/{_step_of(runbook, 'destroy')}.journal.jsonl]"
                f"(steps/{_step_of(runbook, 'destroy')}.journal.jsonl)."
                if destroyed
                else "Nothing has been destroyed (destruction comes after the archive validates).",
                "Certificates were issued before the stop."
                if certified
                else "No certificate has been issued.",
            ]
        ),
        f"To resume once the cause is dealt with: `{command}`"
        if command
        else "To resume once the cause is dealt with: run the rehearsal again over this evidence "
        "directory with resume (`--resume` on the command line).",
    ]


def _timeline(runbook: Runbook, by_step: dict[str, dict[str, Any]]) -> Table:
    rows = []
    for number, step in enumerate(runbook.steps, start=1):
        entry = by_step.get(step.id, {})
        ran = entry.get("ran_at")
        seconds = entry.get("seconds")
        rows.append(
            [
                str(number),
                f"{step.id}: {step.title}",
                f"{runbook.when(step):%a %d %b %Y %H:%M %Z}",
                ran.replace("T", " ")[:19] + " UTC" if ran else "not recorded" if entry else "",
                f"{seconds:.2f} s" if seconds is not None else "",
                str(entry.get("attempt", "")),
                entry.get("status", "not reached"),
            ]
        )
    header = ["#", "step", "scheduled (2010)", "ran (rehearsal)", "took", "attempt", "gate"]
    return header, rows


def _step(
    evidence: Path, runbook: Runbook, step: RunbookStep, entry: dict | None, redact: Redact
) -> Section:
    status = (entry or {}).get("status", "not reached")
    blocks: list[Block] = [
        f"Scheduled for {runbook.when(step):%d %B %Y, %H:%M %Z}; after: "
        f"{', '.join(step.requires) or 'nothing'}. Gate: **{status}**. "
        f"What it does: {'; '.join(step.actions)}."
    ]
    files = [f"steps/{step.id}.json"] + [
        name.format(id=step.id) for name in EXTRA_EVIDENCE.get(step.kind, [])
    ]
    present = [name for name in files if (evidence / name).exists()]
    if present:
        digest = (entry or {}).get("sha256")
        sealed = f" (sha256 of steps/{step.id}.json at its gate: `{digest[:16]}`)" if digest else ""
        blocks.append("Evidence: " + ", ".join(f"[{n}]({n})" for n in present) + sealed + ".")
    verdict = {"go": "held", "no-go": "checked: the gate failed"}.get(status, "not checked")
    blocks.append(Items([f"{verdict}: {check}" for check in step.checks]))
    if status == "no-go":
        blocks.append(f"No-go: {redact(str(entry.get('reason')))}")
    return Section(f"{step.id}: {step.title}", blocks, level=3)
