"""Writing one whole record in PostgreSQL (the API path; bulk loads go through COPY).

The same rows and the same clean-up as sqlite_records.write_record; keys come back through
RETURNING instead of sqlite3's lastrowid. Reading a record needs nothing of its own: the
portable reader in sqlite_records runs on a PgConnection.
"""

from sim.index.records import ChildRecord
from sim.index.store.postgres_connection import PgConnection
from sim.index.store.rows import record_rows
from sim.index.store.sqlite_records import _NAME_INSERT, _clear_child


def _key(db: PgConnection, sql: str, params: tuple) -> int:
    return int(db.execute(sql, params).fetchone()[0])


def write_record(db: PgConnection, record: ChildRecord) -> None:
    """Insert or replace one child's rows, inside the caller's transaction; never the shield."""
    rows = record_rows(record)
    old = db.execute(
        "SELECT child_key, household_key FROM child WHERE child_id = ?", (record.index_id,)
    ).fetchone()
    household = _key(
        db,
        "INSERT INTO household (address_line, town, postcode, postcode_norm) "
        "VALUES (?, ?, ?, ?) RETURNING household_key",
        rows.household,
    )
    if rows.carers:
        db.executemany(
            "INSERT INTO carer (household_key, forename, middle_names, surname, relationship, "
            "phone) VALUES (?, ?, ?, ?, ?, ?)",
            [(household, *carer) for carer in rows.carers],
        )
    if old is None:
        child_key = _key(
            db,
            "INSERT INTO child (child_id, authority_code, gender, date_of_birth, household_key) "
            "VALUES (?, ?, ?, ?, ?) RETURNING child_key",
            (*rows.child, household),
        )
    else:
        child_key = old[0]
        db.execute(
            "UPDATE child SET authority_code = ?, gender = ?, date_of_birth = ?, "
            "household_key = ? WHERE child_key = ?",
            (*rows.child[1:], household, child_key),
        )
        _clear_child(db, child_key, old[1])  # type: ignore[arg-type]
    db.executemany(_NAME_INSERT, [(child_key, *name) for name in rows.names])
    for service in rows.services:
        _write_involvement(db, child_key, service)


def _write_involvement(db: PgConnection, child_key: int, service: tuple) -> None:
    kind, code, name, contact, consent, flags = service
    service_key = _key(
        db,
        "INSERT INTO service (kind, code, name) VALUES (?, ?, ?) ON CONFLICT (kind, code) "
        "DO UPDATE SET name = excluded.name RETURNING service_key",
        (kind, code, name),
    )
    contact_key = None
    if contact is not None:
        contact_key = _key(
            db,
            "INSERT INTO contact (name, role, phone) VALUES (?, ?, ?) RETURNING contact_key",
            contact,
        )
    db.execute(
        "INSERT INTO involvement (child_key, service_key, contact_key, consent_recorded) "
        "VALUES (?, ?, ?, ?)",
        (child_key, service_key, contact_key, int(consent)),
    )
    if flags:
        db.executemany(
            "INSERT INTO flag (child_key, service_key, kind) VALUES (?, ?, ?)",
            [(child_key, service_key, flag) for flag in flags],
        )
