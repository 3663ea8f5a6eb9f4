"""The ContactPoint record: exactly what SI 2007/2182 Schedule 1 allows, and nothing more.

Sch 1 lists identifying information about the child (names incl. former names, address, gender,
date of birth, index ID), the parents or carers and their contact details, the services
involved with a practitioner contact, and whether a practitioner is the lead professional or
has done a Common Assessment Framework (CAF) assessment. Case data (notes, assessments, medical
data, exam results) has no field here: any key not in the schedule is refused, nested or not.
"""

import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.errors import WorkbenchError
from sim.population.identifiers import is_valid_index_id
from sim.reference.params import Param, ParamFile, load_params
from sim.reference.validation import describe

RECORD_FILE = "index/record.toml"

NamePart = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=35, pattern=r"^\p{L}[\p{L} .'’-]*$"
    ),
]
# Free text has a strict form, so no field can carry case notes: names are letters; an address
# line or an organisation's name is at most eight words of letters, digits and , . ' / & ( ) -;
# roles and relationships come from lists in data/index/record.toml.
NAME_PATTERN = r"^\p{L}[\p{L} .'’-]*$"
LINE_PATTERN = r"^[\p{L}\p{N}][\p{L}\p{N},.'’/&()-]*(?: [\p{L}\p{N},.'’/&()-]+){0,7}$"
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=LINE_PATTERN),
]
Names = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=70, pattern=NAME_PATTERN)
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9]{1,20}$")]
Postcode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$"
    ),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ]{6,16}$")]
Gender = Literal["male", "female", "not known"]
RecordField = Literal[
    "name",
    "date_of_birth",
    "gender",
    "index_id",
    "address",
    "former_names",
    "carers",
    "services",
    "leaving_england",
]
IDENTITY_FIELDS = ("name", "date_of_birth", "gender", "index_id")


class RecordRefused(WorkbenchError):
    """The index refused a write; the message names the field so the sender can correct it."""


class CaseDataRefused(RecordRefused):
    """A field outside Sch 1 was offered: case data has no place in the index (SI 2007/2182)."""


class RecordRules(ParamFile):
    service_kinds: Param[dict[str, bool]]
    view_reasons: Param[list[Annotated[str, Field(min_length=3)]]]
    shielding_criteria: Param[list[Annotated[str, Field(min_length=3)]]]
    shielding_deciders: Param[list[Annotated[str, Field(min_length=3)]]]
    shielding_four_eyes: Param[bool]
    shielded_visible_fields: Param[list[RecordField]]
    carer_relationships: Param[list[Annotated[str, Field(min_length=3)]]]
    contact_roles: Param[list[Annotated[str, Field(min_length=2)]]]
    account_sectors: Param[list[Annotated[str, Field(min_length=2)]]]

    @field_validator("shielded_visible_fields")
    @classmethod
    def _identity_only(cls, param: Param[list[str]]) -> Param[list[str]]:
        """Shielding may never show more than identity (reg 6(5)-(6)); data cannot widen it."""
        wider = sorted(set(param.value) - set(IDENTITY_FIELDS))
        if wider:
            raise ValueError(f"shielded records may show identity fields only, not {wider}")
        return param

    @field_validator("service_kinds")
    @classmethod
    def _minimum_services(cls, param: Param[dict[str, bool]]) -> Param[dict[str, bool]]:
        if not {"school", "gp_practice"} <= param.value.keys():
            raise ValueError("school and gp_practice are the minimum services (Sch 1)")
        return param


@cache
def record_rules() -> RecordRules:
    """data/index/record.toml: service kinds, view reasons, shielding criteria and visibility."""
    return load_params(RECORD_FILE, RecordRules)


def _listed(rule: str, what: str) -> AfterValidator:
    """A value that must be one of the `rule` list (or table) of data/index/record.toml; the
    error is `what` (formatted with the value) and the file."""

    def known(value: str) -> str:
        if value not in getattr(record_rules(), rule).value:
            raise ValueError(f"{what.format(value=value)} in data/{RECORD_FILE}")
        return value

    return AfterValidator(known)


class ScheduleModel(BaseModel):
    """A part of the record: only the keys Sch 1 allows; anything else is case data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_case_data(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            extra = sorted(str(key) for key in data if key not in cls.model_fields)
            if extra:
                raise CaseDataRefused(
                    f"{cls.__name__}: {', '.join(extra)} not allowed: the index holds only the "
                    "fields of SI 2007/2182 Sch 1, never case data"
                )
        return data


class PersonName(ScheduleModel):
    forename: NamePart
    middle_names: Names | None = None
    surname: NamePart


class Address(ScheduleModel):
    address_line: Line
    town: Line
    postcode: Postcode


class Carer(ScheduleModel):
    """A parent or carer: name, relationship and contact details (Sch 1 para 3)."""

    forename: NamePart
    middle_names: Names | None = None
    surname: NamePart
    relationship: Annotated[str, _listed("carer_relationships", "not a relationship")]
    phone: Phone | None = None


class PractitionerContact(ScheduleModel):
    name: Names
    role: Annotated[str, _listed("contact_roles", "not a contact role")]
    phone: Phone | None = None


class ServiceInvolvement(ScheduleModel):
    """A service involved with the child, with its practitioner contact and the two flags."""

    kind: Annotated[str, _listed("service_kinds", "{value!r} is not a service kind")]
    organisation_code: Code
    organisation_name: Line
    contact: PractitionerContact | None = None
    lead_professional: bool = False
    caf_assessment: bool = False
    consent_recorded: bool = False

    @model_validator(mode="after")
    def _sensitive_needs_consent(self) -> "ServiceInvolvement":
        """Sensitive services only with consent or a significant-harm concern (reg 11(3))."""
        if record_rules().service_kinds.value[self.kind] and not self.consent_recorded:
            raise ValueError(f"{self.kind} is a sensitive service: record it only with consent")
        return self


class LeavingEngland(ScheduleModel):
    """A child who has left England, and whether the child intends to return within three
    years (SI 2007/2182 Sch 1 para 2(d)). Part of the address paragraph, so a shielded record
    never shows it: that a child has gone abroad, or will come back, is a clue to whereabouts.

    Set by the responsible authority through the facade, never by a feed; kept apart from
    ChildRecord so that amending a record cannot clear it."""

    intends_to_return: bool
    recorded_on: dt.date


class ChildRecord(ScheduleModel):
    """One child's entry in the index."""

    index_id: str
    authority_code: Annotated[str, StringConstraints(pattern=r"^E[0-9]{8}$")]
    name: PersonName
    former_names: tuple[PersonName, ...] = ()
    gender: Gender
    date_of_birth: dt.date
    address: Address | None = None
    carers: tuple[Carer, ...] = ()
    services: tuple[ServiceInvolvement, ...] = ()

    @field_validator("index_id")
    @classmethod
    def _valid_id(cls, index_id: str) -> str:
        if not is_valid_index_id(index_id):
            raise ValueError(f"{index_id!r} is not a valid index ID")
        return index_id


def parse_record(data: Mapping[str, Any]) -> ChildRecord:
    """Validate a record from a feed or a user; refusals are one line naming the field."""
    try:
        return ChildRecord.model_validate(data)
    except ValidationError as exc:
        raise RecordRefused(f"record: {describe(exc)}") from None
