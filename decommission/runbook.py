"""The 2010 runbook as data (data/decommission/runbook-2010.toml) and its dry-run plan.

The loader checks what the 2010 timetable promised, so a bad edit is refused before any run:
steps in time order, each `requires` naming an earlier step, destruction starting within 24 hours
of the noon 6 August switch-off and certificates within eight weeks (The Register, 7 Aug 2010).
"""

import datetime as dt
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from sim.reference.params import Param, ParamFile, load_params

RUNBOOK_FILE = "decommission/runbook-2010.toml"

StepKind = Literal["notice", "inventory", "shutdown", "archive", "destroy", "verify", "certify"]


class RunbookStep(BaseModel):
    """One step: when, what must hold first, what is done, checked and kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: StepKind
    title: str
    at: dt.datetime
    requires: list[str]
    preconditions: list[str]
    actions: list[str]
    checks: list[str]
    evidence: list[str]
    source: str


class Runbook(ParamFile):
    """The whole runbook; times are local (Europe/London) and made aware by `when`."""

    title: str
    timezone: str
    switch_off: Param[dt.datetime]
    destruction_start_within: Param[int]
    destruction_complete_within: Param[int]
    steps: list[RunbookStep]

    @model_validator(mode="after")
    def _timetable(self) -> "Runbook":
        seen: set[str] = set()
        previous = None
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"steps: {step.id}: duplicate step id")
            missing = [name for name in step.requires if name not in seen]
            if missing:
                raise ValueError(f"steps: {step.id}: requires {missing} not earlier in the runbook")
            if previous is not None and step.at < previous:
                raise ValueError(f"steps: {step.id}: at {step.at} is before the previous step")
            seen.add(step.id)
            previous = step.at
        switch_off = self.switch_off.value
        start = dt.timedelta(hours=self.destruction_start_within.value)
        finish = dt.timedelta(days=self.destruction_complete_within.value)
        for step in self.steps:
            if step.kind == "shutdown" and step.at != switch_off:
                raise ValueError(f"steps: {step.id}: switch-off must be at {switch_off}")
            if step.kind == "destroy" and not switch_off <= step.at <= switch_off + start:
                raise ValueError(f"steps: {step.id}: destruction must start within {start}")
            if step.kind in ("verify", "certify") and step.at > switch_off + finish:
                raise ValueError(f"steps: {step.id}: must finish within {finish} of switch-off")
        return self

    def when(self, step: RunbookStep) -> dt.datetime:
        """The step's scheduled time, timezone-aware."""
        return step.at.replace(tzinfo=ZoneInfo(self.timezone))

    def step(self, step_id: str) -> RunbookStep:
        return next(step for step in self.steps if step.id == step_id)


@cache
def load_runbook() -> Runbook:
    """Load and validate data/decommission/runbook-2010.toml."""
    return load_params(RUNBOOK_FILE, Runbook)


def plan_text(runbook: Runbook, stores: list[tuple[str, str, str]] | None = None) -> str:
    """The plan a --dry-run prints: every step with its time, checks and evidence.

    `stores` (name, kind, holder) lists what the run would act on; nothing is changed.
    """
    lines = [
        runbook.title,
        f"Switch-off: {runbook.when(runbook.step('switch_off')):%d %b %Y %H:%M %Z}",
    ]
    for number, step in enumerate(runbook.steps, start=1):
        lines.append("")
        lines.append(f"{number}. [{step.id}] {step.title}")
        after = ", ".join(step.requires) or "-"
        lines.append(f"   at {runbook.when(step):%Y-%m-%d %H:%M %Z}; after: {after}")
        lines.extend(f"   precondition: {text}" for text in step.preconditions)
        lines.extend(f"   action: {text}" for text in step.actions)
        lines.extend(f"   check: {text}" for text in step.checks)
        lines.extend(f"   evidence: {text}" for text in step.evidence)
        lines.append(f"   source: {step.source}")
    if stores is not None:
        lines.append("")
        lines.append(f"Stores in the inventory ({len(stores)}):")
        lines.extend(f"   {name} ({kind}), held by {holder}" for name, kind, holder in stores)
    return "\n".join(lines) + "\n"
