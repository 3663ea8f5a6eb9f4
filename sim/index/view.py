"""Opening a record: a stated reason from a defined list, and a shielded child shows identity only.

Users had to state a reason for every access, which was audited (Every Child Matters site,
ContactPoint access and security). A shielded record shows only name, date of birth, gender
and ID (SI 2007/2182 reg 6(5)-(6)): no address (nor the leaving-England status of Sch 1
para 2(d), part of the address paragraph), former names, carers or services. A child who lives
at a shielded child's address (a sibling) shows neither that address nor the carers. This module
knows no users or sessions; a facade passes the acting user and audits `audit_detail()`.
"""

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from sim.errors import WorkbenchError
from sim.index.records import (
    Address,
    Carer,
    LeavingEngland,
    PersonName,
    ServiceInvolvement,
    record_rules,
)
from sim.index.store.protocols import RecordReader

# The parts of a record that belong to the household, so to a shielded sibling as well.
HOUSEHOLD_SECTIONS = ("address", "carers", "leaving_england")


class ViewRefused(WorkbenchError):
    """A view the index will not show; `detail` says what to audit."""

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.detail = detail


class RecordView(BaseModel):
    """What the user sees. Hidden parts of a shielded record are absent, not blanked."""

    model_config = ConfigDict(frozen=True)

    index_id: str
    reason: str
    shielded: bool
    name: PersonName | None = None
    date_of_birth: dt.date | None = None
    gender: str | None = None
    address: Address | None = None
    former_names: tuple[PersonName, ...] = ()
    carers: tuple[Carer, ...] = ()
    services: tuple[ServiceInvolvement, ...] = ()
    leaving_england: LeavingEngland | None = None

    def sections_shown(self) -> list[str]:
        shown = ["index_id"]
        for section in ("name", "date_of_birth", "gender", "address", "leaving_england"):
            if getattr(self, section) is not None:
                shown.append(section)
        shown += [s for s in ("former_names", "carers", "services") if getattr(self, s)]
        return shown

    def audit_detail(self) -> dict[str, object]:
        """The child's ID, the stated reason and which sections were shown: no contents."""
        return {
            "child_id": self.index_id,
            "reason": self.reason,
            "shielded": self.shielded,
            "sections": self.sections_shown(),
        }


def visible_sections(
    sections: dict[str, Any], *, shielded: bool, household: bool
) -> dict[str, Any]:
    """The parts of a record that may be shown, for a view and a subject access pack alike: a
    shielded record's visible fields only (data/index/record.toml); with `household`, none of
    the address and carers a shielded sibling shares."""
    if shielded:
        visible = set(record_rules().shielded_visible_fields.value)
        return {key: value for key, value in sections.items() if key in visible}
    if household:
        return {key: value for key, value in sections.items() if key not in HOUSEHOLD_SECTIONS}
    return sections


def view_reasons() -> list[str]:
    """The reasons a user may state (data/index/record.toml)."""
    return list(record_rules().view_reasons.value)


def view_record(store: RecordReader, child_id: str, reason: str) -> RecordView:
    """Open one record for a stated reason; the reason is checked before the index is read."""
    rules = record_rules()
    if reason not in rules.view_reasons.value:
        raise ViewRefused(
            "view refused: state one of the reasons for access (cpw index reasons)",
            child_id=child_id,
        )
    stored = store.read_record(child_id)
    if stored is None:
        raise ViewRefused("view refused: no record with that index ID", child_id=child_id)
    record = stored.record
    sections = {
        "name": record.name,
        "date_of_birth": record.date_of_birth,
        "gender": record.gender,
        "address": record.address,
        "former_names": record.former_names,
        "carers": record.carers,
        "services": record.services,
        "leaving_england": stored.leaving_england,
    }
    sections = visible_sections(
        sections, shielded=stored.shield is not None, household=stored.household_shielded
    )
    return RecordView(
        index_id=record.index_id, reason=reason, shielded=stored.shield is not None, **sections
    )
