"""A small ContactPoint to explore by hand (notebook 01): deploy, log in, search, view,
shield, answer a subject access request, and tamper with the audit log.

The tour keeps the simulation's clock: each step happens one minute after the last, so the
audit trail reads as a session (index commands take explicit `now` times, never the wall
clock). `attempt` prints whether the index allowed or refused an action, because refusals
are the lesson: the index refuses case notes (SI 2007/2182 Sch 1), a wrong token code, a
view without a listed reason, and a shielding decision by its own requester.
"""

import datetime as dt
import json
import shutil
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from sim.deployment.deploy import DeployReport, deploy
from sim.errors import WorkbenchError
from sim.index.access import load_access_rules, token_code
from sim.index.audit import checkpoints_path
from sim.index.layout import Layout
from sim.index.lifecycle import progress_request
from sim.index.records import ChildRecord
from sim.index.sar import SarOutcome
from sim.index.search import SearchResult
from sim.index.service import ContactPoint
from sim.index.view import RecordView, view_reasons
from sim.population.output import write_population
from sim.population.synth import SynthRequest

STEP = dt.timedelta(minutes=1)  # the tour's clock: one step a minute


class IndexTour:
    """One authority's synthetic children, a deployment of the index built from them, its
    demonstration users, and the clock of the session."""

    def __init__(self, work: Path, report: DeployReport, start: dt.datetime) -> None:
        self.work, self.report, self.now, self.start = work, report, start, start
        self.layout = Layout(report.path)
        credentials = Path(f"{report.path}.credentials.json")
        self.users: dict[str, dict[str, Any]] = json.loads(credentials.read_text())["users"]
        self.service = ContactPoint.open(report.path, profile="simulation")
        self.rules = load_access_rules()

    @classmethod
    def build(
        cls, work: Path, authority: str, scale: float, seed: int, day: dt.date
    ) -> "IndexTour":
        """Synthesise `scale` of `authority`'s children under `work` and deploy an index of
        them; the session starts at 09:00 on `day`."""
        population = work / "pop"
        write_population(
            SynthRequest(seed=seed, scale=scale, authority_codes=(authority,)), population
        )
        report = deploy(population, work / "index", seed=seed, profile="simulation")
        return cls(work, report, dt.datetime.combine(day, dt.time(9)))

    def tick(self) -> dt.datetime:
        """The next step's time: one minute after the last."""
        self.now += STEP
        return self.now

    def users_table(self) -> pl.DataFrame:
        """The demonstration accounts and their roles (credentials stay outside the table)."""
        return pl.DataFrame(
            {"username": list(self.users), "role": [u["role"] for u in self.users.values()]}
        )

    def example_child(self) -> dict[str, Any]:
        """The first synthetic child of the population: the child the tour follows."""
        return pl.read_parquet(self.work / "pop" / "children").row(0, named=True)

    def log_in(self, username: str, code: str | None = None) -> str:
        """Log in with all four things: username, password, PIN and the token's code now
        (or `code`, to show a wrong one refused). Returns the session ID."""
        user = self.users[username]
        now = self.tick()
        shown = token_code(user["token_secret"], now, self.rules) if code is None else code
        return self.service.login(
            username, user["password"], user["pin"], shown, network=user["network"], now=now
        )

    def token_shows(self, username: str) -> str:
        """The six digits the user's key-fob token shows at the tour's current time."""
        return token_code(self.users[username]["token_secret"], self.now, self.rules)

    def attempt(self, what: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `action`; print ALLOWED, or REFUSED with the index's one-line reason. Returns
        the action's result, or None when refused."""
        try:
            result = action(*args, **kwargs)
        except WorkbenchError as refusal:
            print(f"REFUSED  {what}\n         -> {type(refusal).__name__}: {refusal}")
            return None
        print(f"ALLOWED  {what}")
        return result

    def record_with(self, child_id: str, **extra: Any) -> dict[str, Any]:
        """The child's record as an amendment would send it, with `extra` fields added
        (e.g. case_notes=..., which the index must refuse)."""
        record = self.service.store.read_record(child_id).record.model_dump(mode="json")
        return {**record, **extra}

    def subject_access_request(
        self, child_id: str, requester: str, fee: Decimal, days_to_disclose: int
    ) -> SarOutcome:
        """A request under DPA 1998 s7 from receipt to disclosure, as `cpw index sar` runs it:
        received today, the fee and proof of identity recorded, the pack disclosed
        `days_to_disclose` days later. Every step goes into the audit trail."""
        received = self.now.date()
        first = self.service.receive_subject_access_request(
            child_id, requester, received, now=self.tick()
        )
        number = first.request.request_id
        progress_request(self.service, "fee", number, received, now=self.tick(), amount_gbp=fee)
        progress_request(self.service, "identity", number, received, now=self.tick())
        disclosed_on = received + dt.timedelta(days=days_to_disclose)
        return progress_request(self.service, "disclose", number, disclosed_on, now=self.tick())

    def audit_public_key(self) -> str:
        """The audit log's public key: all anyone needs to check the log was not edited."""
        return Path(f"{self.report.path}.audit-public-key").read_text().strip()

    def close(self) -> None:
        """Stop the service so the audit log is complete on disk."""
        self.service.close()


def record_fields() -> pl.DataFrame:
    """The fields of a ContactPoint record (SI 2007/2182 Sch 1): nothing else is accepted."""
    return pl.DataFrame({"field of a record": list(ChildRecord.model_fields)})


def reasons_table() -> pl.DataFrame:
    """The reasons a user may give to open a record; the one given is audited."""
    return pl.DataFrame({"reason for access": list(view_reasons())})


def hits_table(found: SearchResult) -> pl.DataFrame:
    """A search's results as a practitioner sees them: identity fields and a score only."""
    return pl.DataFrame(
        [
            hit.model_dump(include={"child_id", "forename", "surname", "date_of_birth", "score"})
            for hit in found.hits
        ],
        schema={
            "child_id": pl.String,
            "forename": pl.String,
            "surname": pl.String,
            "date_of_birth": pl.Date,
            "score": pl.Float64,
        },
    )


def services_table(shown: RecordView) -> pl.DataFrame:
    """The services involved with a child, as a record view shows them (who to contact)."""
    return pl.DataFrame(
        [
            {
                "kind": s.kind,
                "organisation": s.organisation_name,
                "contact": s.contact.name if s.contact else None,
                "role": s.contact.role if s.contact else None,
                "lead professional": s.lead_professional,
            }
            for s in shown.services
        ]
    )


def tampered_copy(audit_log: Path, target: Path) -> Path:
    """A copy of the audit log (and its signed checkpoints) in which the first refusal has
    been quietly changed to 'allowed', as an insider covering their tracks might."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(audit_log, target)
    shutil.copy(checkpoints_path(audit_log), checkpoints_path(target))
    lines = target.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if '"refused"' in text)
    lines[line] = lines[line].replace('"refused"', '"allowed"', 1)
    target.write_text("\n".join(lines) + "\n")
    return target


def sections_table(views: Mapping[str, RecordView]) -> pl.DataFrame:
    """Which sections of a record each view showed: shielding hides the address, carers and
    services, leaving only identity (SI 2007/2182 reg 6(5)-(6))."""
    sections = ("index_id", "name", "date_of_birth", "gender", "address", "carers", "services")
    return pl.DataFrame(
        {
            "section": list(sections),
            **{
                label: ["shown" if s in view.sections_shown() else "hidden" for s in sections]
                for label, view in views.items()
            },
        }
    )
