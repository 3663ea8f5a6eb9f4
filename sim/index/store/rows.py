"""A record as rows of the index's tables, with its search keys: the same for every backend."""

from dataclasses import dataclass

from sim.index.records import ChildRecord, PersonName
from sim.index.store.keys import normalise_name, normalise_postcode, phonetic_code


@dataclass(frozen=True)
class RecordRows:
    child: tuple[str, str, str, str]
    household: tuple[str | None, str | None, str | None, str | None]
    carers: list[tuple[str, str | None, str, str, str | None]]
    names: list[tuple]
    services: list[tuple]


def _name_row(name: PersonName, current: bool, date_of_birth: str) -> tuple:
    return (
        int(current),
        name.forename,
        name.middle_names,
        name.surname,
        normalise_name(name.forename),
        phonetic_code(name.forename),
        normalise_name(name.surname),
        phonetic_code(name.surname),
        date_of_birth,
    )


def record_rows(record: ChildRecord) -> RecordRows:
    """Split a validated record into table rows (keys are filled in by the backend)."""
    born = record.date_of_birth.isoformat()
    address = record.address
    household = (
        (address.address_line, address.town, address.postcode, normalise_postcode(address.postcode))
        if address
        else (None, None, None, None)
    )
    names = [_name_row(record.name, True, born)]
    names += [_name_row(former, False, born) for former in record.former_names]
    services = []
    for service in record.services:
        contact = service.contact
        flags = [
            kind
            for kind, held in (
                ("lead_professional", service.lead_professional),
                ("caf_assessment", service.caf_assessment),
            )
            if held
        ]
        services.append(
            (
                service.kind,
                service.organisation_code,
                service.organisation_name,
                (contact.name, contact.role, contact.phone) if contact else None,
                service.consent_recorded,
                flags,
            )
        )
    return RecordRows(
        child=(record.index_id, record.authority_code, record.gender, born),
        household=household,
        carers=[
            (c.forename, c.middle_names, c.surname, c.relationship, c.phone) for c in record.carers
        ],
        names=names,
        services=services,
    )
