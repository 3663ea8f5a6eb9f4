"""Writing and reading one whole record in SQLite (the API path; bulk loads go elsewhere)."""

import datetime as dt
import sqlite3

from sim.index.records import ChildRecord, LeavingEngland
from sim.index.store.base import Shield, StoredRecord
from sim.index.store.rows import record_rows
from sim.index.store.schema import TABLES

_NAME_COLUMNS = TABLES["name"]
_NAME_INSERT = (
    f"INSERT INTO name ({', '.join(_NAME_COLUMNS)}) VALUES ({', '.join('?' * len(_NAME_COLUMNS))})"
)


def write_record(db: sqlite3.Connection, record: ChildRecord) -> None:
    """Insert or replace one child's rows, inside the caller's transaction.

    The shield row is keyed by the child and never written here, so a feed update cannot
    unshield a child (in 2009 national feed updates did; Hansard 12 May 2009).
    """
    rows = record_rows(record)
    old = db.execute(
        "SELECT child_key, household_key FROM child WHERE child_id = ?", (record.index_id,)
    ).fetchone()
    household = db.execute(
        "INSERT INTO household (address_line, town, postcode, postcode_norm) VALUES (?, ?, ?, ?)",
        rows.household,
    ).lastrowid
    db.executemany(
        "INSERT INTO carer (household_key, forename, middle_names, surname, relationship, phone) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(household, *carer) for carer in rows.carers],
    )
    if old is None:
        child_key = db.execute(
            "INSERT INTO child (child_id, authority_code, gender, date_of_birth, household_key) "
            "VALUES (?, ?, ?, ?, ?)",
            (*rows.child, household),
        ).lastrowid
    else:
        child_key = old[0]
        db.execute(
            "UPDATE child SET authority_code = ?, gender = ?, date_of_birth = ?, "
            "household_key = ? WHERE child_key = ?",
            (*rows.child[1:], household, child_key),
        )
        _clear_child(db, child_key, old[1])
    db.executemany(_NAME_INSERT, [(child_key, *name) for name in rows.names])
    for service in rows.services:
        _write_involvement(db, child_key, service)


def _clear_child(db: sqlite3.Connection, child_key: int, household_key: int | None) -> None:
    """Remove the child's names, involvements, flags and any rows left pointing at nothing."""
    contacts = [
        row[0]
        for row in db.execute(
            "SELECT contact_key FROM involvement WHERE child_key = ? AND contact_key IS NOT NULL",
            (child_key,),
        )
    ]
    for table in ("name", "involvement", "flag"):
        db.execute(f"DELETE FROM {table} WHERE child_key = ?", (child_key,))
    db.executemany(
        "DELETE FROM contact WHERE contact_key = ? "
        "AND NOT EXISTS (SELECT 1 FROM involvement WHERE contact_key = contact.contact_key) "
        "AND NOT EXISTS (SELECT 1 FROM service WHERE contact_key = contact.contact_key)",
        [(key,) for key in contacts],
    )
    if household_key is None:
        return
    if db.execute("SELECT 1 FROM child WHERE household_key = ?", (household_key,)).fetchone():
        return
    db.execute("DELETE FROM carer WHERE household_key = ?", (household_key,))
    db.execute("DELETE FROM household WHERE household_key = ?", (household_key,))


def _write_involvement(db: sqlite3.Connection, child_key: int, service: tuple) -> None:
    kind, code, name, contact, consent, flags = service
    service_key = db.execute(
        "INSERT INTO service (kind, code, name) VALUES (?, ?, ?) ON CONFLICT (kind, code) "
        "DO UPDATE SET name = excluded.name RETURNING service_key",
        (kind, code, name),
    ).fetchone()[0]
    contact_key = None
    if contact is not None:
        contact_key = db.execute(
            "INSERT INTO contact (name, role, phone) VALUES (?, ?, ?)", contact
        ).lastrowid
    db.execute(
        "INSERT INTO involvement (child_key, service_key, contact_key, consent_recorded) "
        "VALUES (?, ?, ?, ?)",
        (child_key, service_key, contact_key, int(consent)),
    )
    db.executemany(
        "INSERT INTO flag (child_key, service_key, kind) VALUES (?, ?, ?)",
        [(child_key, service_key, flag) for flag in flags],
    )


def read_record(
    db: sqlite3.Connection, child_id: str, *, include_archived: bool = False
) -> StoredRecord | None:
    """The whole record and its shield, or None; callers decide what may be shown.

    An archived record is None unless asked for (it has left the live index, reg 7).
    """
    row = db.execute(
        "SELECT c.child_key, c.child_id, c.authority_code, c.gender, c.date_of_birth, "
        "c.household_key, h.address_line, h.town, h.postcode, c.archived_on "
        "FROM child c LEFT JOIN household h ON h.household_key = c.household_key "
        "WHERE c.child_id = ?",
        (child_id,),
    ).fetchone()
    if row is None or (row[9] is not None and not include_archived):
        return None
    key, index_id, authority, gender, born, household, line, town, postcode, archived = row
    names = [
        {"forename": f, "middle_names": m, "surname": s, "current": c}
        for c, f, m, s in db.execute(
            "SELECT current, forename, middle_names, surname FROM name WHERE child_key = ? "
            "ORDER BY current DESC, rowid",
            (key,),
        )
    ]
    carers = [
        dict(zip(("forename", "middle_names", "surname", "relationship", "phone"), r, strict=True))
        for r in db.execute(
            "SELECT forename, middle_names, surname, relationship, phone FROM carer "
            "WHERE household_key = ? ORDER BY carer_key",
            (household,),
        )
    ]
    flags: dict[int, set[str]] = {}
    for service_key, kind in db.execute(
        "SELECT service_key, kind FROM flag WHERE child_key = ?", (key,)
    ):
        flags.setdefault(service_key, set()).add(kind)
    services = [
        {
            "kind": kind,
            "organisation_code": code,
            "organisation_name": name,
            "contact": {"name": cn, "role": cr, "phone": cp} if cn else None,
            "lead_professional": "lead_professional" in flags.get(skey, ()),
            "caf_assessment": "caf_assessment" in flags.get(skey, ()),
            "consent_recorded": bool(consent),
        }
        for skey, kind, code, name, cn, cr, cp, consent in db.execute(
            "SELECT v.service_key, v.kind, v.code, v.name, ct.name, ct.role, ct.phone, "
            "i.consent_recorded FROM involvement i JOIN service v ON v.service_key = i.service_key "
            "LEFT JOIN contact ct ON ct.contact_key = coalesce(i.contact_key, v.contact_key) "
            "WHERE i.child_key = ? ORDER BY i.rowid",
            (key,),
        )
    ]
    current = next(n for n in names if n["current"])
    record = ChildRecord.model_validate(
        {
            "index_id": index_id,
            "authority_code": authority,
            "name": {k: v for k, v in current.items() if k != "current"},
            "former_names": [
                {k: v for k, v in n.items() if k != "current"} for n in names if not n["current"]
            ],
            "gender": gender,
            "date_of_birth": born,
            "address": (
                {"address_line": line, "town": town, "postcode": postcode} if postcode else None
            ),
            "carers": carers,
            "services": services,
        }
    )
    shield = db.execute(
        "SELECT request_id, criterion, decided_by, decided_at FROM shield WHERE child_key = ?",
        (key,),
    ).fetchone()
    if shield is not None:
        shield = Shield(*shield[:3], dt.datetime.fromisoformat(shield[3]))
    archived_on = dt.date.fromisoformat(archived) if archived else None
    shared = _shares_a_shielded_address(db, key, household, line, postcode)
    return StoredRecord(record, shield, archived_on, _leaving_england(db, key), shared)


_SHIELDED_AT = """
SELECT 1 FROM household h JOIN child c ON c.household_key = h.household_key
JOIN shield s ON s.child_key = c.child_key
WHERE c.child_key != ? AND (h.household_key = ? OR (h.postcode_norm = ?
      AND upper(trim(h.address_line)) = upper(trim(?))))
LIMIT 1
"""


def _shares_a_shielded_address(
    db: sqlite3.Connection, child_key: int, household: int | None, line: str | None, postcode
) -> bool:
    """Whether another, shielded child lives at this child's address (siblings, or the same
    address held twice): its address and carers must then be hidden here too."""
    if household is None:
        return False
    code = "".join(str(postcode).split()).upper() if postcode else None
    return db.execute(_SHIELDED_AT, (child_key, household, code, line or "")).fetchone() is not None


def _leaving_england(db: sqlite3.Connection, child_key: int) -> LeavingEngland | None:
    row = db.execute(
        "SELECT intends_to_return, recorded_at FROM leaving_england WHERE child_key = ?",
        (child_key,),
    ).fetchone()
    if row is None:
        return None
    recorded = dt.datetime.fromisoformat(row[1]).date()
    return LeavingEngland(intends_to_return=bool(row[0]), recorded_on=recorded)
