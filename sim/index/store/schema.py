"""The index's tables: one per part of the Sch 1 record, and the indexes that searches use.

Normalised so that a child's hidden parts (household address, carers, services, former names)
sit in tables of their own and a shielded child's view never needs to read them. The date of
birth is repeated in `name` so that (surname, date of birth) is one index, as searches need.
Plain SQL that SQLite and PostgreSQL both accept.

Retention and subject access (SI 2007/2182 reg 7; DPA 1998 s7) add tables of their own, created
IF NOT EXISTS so an index built before them gains them when opened.
"""

from sim.index.store.base import Block, CandidateQuery

TABLES: dict[str, tuple[str, ...]] = {
    "household": ("household_key", "address_line", "town", "postcode", "postcode_norm"),
    "child": (
        "child_key",
        "child_id",
        "authority_code",
        "gender",
        "date_of_birth",
        "household_key",
    ),
    "name": (
        "child_key",
        "current",
        "forename",
        "middle_names",
        "surname",
        "forename_norm",
        "forename_code",
        "surname_norm",
        "surname_code",
        "date_of_birth",
    ),
    "carer": (
        "carer_key",
        "household_key",
        "forename",
        "middle_names",
        "surname",
        "relationship",
        "phone",
    ),
    "contact": ("contact_key", "name", "role", "phone"),
    "service": ("service_key", "kind", "code", "name", "contact_key"),
    "involvement": ("child_key", "service_key", "contact_key", "consent_recorded"),
    "flag": ("child_key", "service_key", "kind"),
}

# What a bulk load writes: the record's tables, and deaths registered before the load (reg 7:
# a dead child's record is kept one year from the death).
BULK_TABLES: dict[str, tuple[str, ...]] = {**TABLES, "death": ("child_key", "died_on")}

CREATE_TABLES = """
CREATE TABLE household (
    household_key INTEGER PRIMARY KEY,
    address_line TEXT, town TEXT, postcode TEXT, postcode_norm TEXT
);
CREATE TABLE child (
    child_key INTEGER PRIMARY KEY,
    child_id TEXT NOT NULL,
    authority_code TEXT NOT NULL,
    gender TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    household_key INTEGER REFERENCES household,
    archived_on TEXT,
    archive_cause TEXT CHECK (archive_cause IN ('adult age', 'extended age', 'death'))
);
CREATE TABLE name (
    child_key INTEGER NOT NULL REFERENCES child,
    current INTEGER NOT NULL,
    forename TEXT NOT NULL, middle_names TEXT, surname TEXT NOT NULL,
    forename_norm TEXT NOT NULL, forename_code TEXT NOT NULL,
    surname_norm TEXT NOT NULL, surname_code TEXT NOT NULL,
    date_of_birth TEXT NOT NULL
);
CREATE TABLE carer (
    carer_key INTEGER PRIMARY KEY,
    household_key INTEGER NOT NULL REFERENCES household,
    forename TEXT NOT NULL, middle_names TEXT, surname TEXT NOT NULL,
    relationship TEXT NOT NULL, phone TEXT
);
CREATE TABLE contact (
    contact_key INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, phone TEXT
);
CREATE TABLE service (
    service_key INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL,
    contact_key INTEGER REFERENCES contact
);
CREATE TABLE involvement (
    child_key INTEGER NOT NULL REFERENCES child,
    service_key INTEGER NOT NULL REFERENCES service,
    contact_key INTEGER REFERENCES contact,
    consent_recorded INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE flag (
    child_key INTEGER NOT NULL REFERENCES child,
    service_key INTEGER NOT NULL REFERENCES service,
    kind TEXT NOT NULL CHECK (kind IN ('lead_professional', 'caf_assessment'))
);
CREATE TABLE shield (
    child_key INTEGER PRIMARY KEY REFERENCES child,
    request_id INTEGER NOT NULL,
    criterion TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE TABLE shielding_request (
    request_id INTEGER PRIMARY KEY,
    child_key INTEGER NOT NULL REFERENCES child,
    criterion TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT, decided_at TEXT
);
"""

# Retention state (reg 7), the leaving-England status (Sch 1 para 2(d)) and subject access
# requests (DPA 1998 s7). A SAR names the child by
# index ID, not key: a request may concern a child the index does not hold. The archive state
# itself is two columns of `child` (archived_on, archive_cause).
RETENTION_TABLES = """
CREATE TABLE IF NOT EXISTS retention_consent (
    child_key INTEGER PRIMARY KEY REFERENCES child,
    reason TEXT NOT NULL, recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS death (
    child_key INTEGER PRIMARY KEY REFERENCES child, died_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS protection_hold (
    hold_id INTEGER PRIMARY KEY,
    child_key INTEGER NOT NULL REFERENCES child,
    reference TEXT NOT NULL, placed_by TEXT NOT NULL, placed_at TEXT NOT NULL,
    lifted_by TEXT, lifted_at TEXT
);
CREATE TABLE IF NOT EXISTS leaving_england (
    child_key INTEGER PRIMARY KEY REFERENCES child,
    intends_to_return INTEGER NOT NULL CHECK (intends_to_return IN (0, 1)),
    recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subject_access_request (
    request_id INTEGER PRIMARY KEY,
    child_id TEXT NOT NULL,
    requester TEXT NOT NULL CHECK (requester IN ('child', 'parent')),
    received_on TEXT NOT NULL,
    fee_due_pence INTEGER NOT NULL,
    fee_paid_on TEXT, identity_verified_on TEXT, child_consent INTEGER,
    closed_on TEXT, outcome TEXT CHECK (outcome IN ('disclosed', 'refused')),
    ground TEXT, withheld TEXT
);
"""

RETENTION_INDEXES = """
CREATE INDEX IF NOT EXISTS child_live_by_date_of_birth ON child (date_of_birth)
    WHERE archived_on IS NULL;
CREATE INDEX IF NOT EXISTS child_archived_by_date ON child (archived_on)
    WHERE archived_on IS NOT NULL;
CREATE INDEX IF NOT EXISTS protection_hold_by_child ON protection_hold (child_key);
CREATE INDEX IF NOT EXISTS involvement_by_contact ON involvement (contact_key)
    WHERE contact_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS service_by_contact ON service (contact_key)
    WHERE contact_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS subject_access_request_by_child ON subject_access_request (child_id);
"""

# Every table that holds a child's data, keyed by child_key (purged together, reg 7).
CHILD_TABLES = (
    "name",
    "involvement",
    "flag",
    "shield",
    "shielding_request",
    "retention_consent",
    "death",
    "protection_hold",
    "leaving_england",
)

# Columns added to `child` after the first release; `SqliteStore.open` adds them to older files.
# An archived record stays in `child` with its date and cause: the partial indexes keep the live
# and the archived apart, so a pass reads only the children it may act on.
CHILD_ARCHIVE_COLUMNS = {"archived_on": "TEXT", "archive_cause": "TEXT"}

# Built after a bulk load (one sort per index is far cheaper than 11 M ordered inserts).
CREATE_INDEXES = """
CREATE UNIQUE INDEX child_by_id ON child (child_id);
CREATE INDEX child_by_household ON child (household_key);
CREATE INDEX name_by_surname_dob ON name (surname_norm, date_of_birth);
CREATE INDEX name_by_surname_code_dob ON name (surname_code, date_of_birth);
CREATE INDEX name_by_forename_code_dob ON name (forename_code, date_of_birth);
CREATE INDEX name_by_child ON name (child_key);
CREATE INDEX household_by_postcode ON household (postcode_norm);
CREATE INDEX carer_by_household ON carer (household_key);
CREATE UNIQUE INDEX service_by_code ON service (kind, code);
CREATE INDEX involvement_by_child ON involvement (child_key);
CREATE INDEX flag_by_child ON flag (child_key);
CREATE INDEX shielding_request_by_child ON shielding_request (child_key);
"""
CREATE_TABLES += RETENTION_TABLES
CREATE_INDEXES += RETENTION_INDEXES

# Search's exact mode on forename, surname and date of birth (a batched lookup): current names,
# and former names of unshielded children; archived records are not found. Portable SQL.
_EXACT_COLUMNS = (
    "c.child_id, c.authority_code, s.child_key IS NOT NULL, "
    "(SELECT count(*) FROM involvement i WHERE i.child_key = c.child_key), "
    "upper(cur.surname), upper(cur.forename) "
)
_EXACT_JOINS = (
    "JOIN child c ON c.child_key = n.child_key "
    "LEFT JOIN shield s ON s.child_key = c.child_key "
    "JOIN name cur ON cur.child_key = c.child_key AND cur.current = 1 "
)
_EXACT_LIVE = "c.archived_on IS NULL AND (n.current = 1 OR s.child_key IS NULL)"
EXACT_NAME_SQL = (
    f"SELECT DISTINCT {_EXACT_COLUMNS}FROM name n {_EXACT_JOINS}"
    "WHERE n.surname_norm = ? AND n.forename_norm = ? AND n.date_of_birth = ? "
    f"AND {_EXACT_LIVE}"
)


def exact_names_sql(keys: str) -> str:
    """EXACT_NAME_SQL for many lookups in one statement: `keys` is a subquery of rows (i,
    surname, forename, born), each lookup's hits come tagged with its i. The lookups drive the
    join (CROSS JOIN keeps SQLite from scanning names first)."""
    return (
        f"SELECT DISTINCT q.i, {_EXACT_COLUMNS}FROM ({keys}) q CROSS JOIN name n {_EXACT_JOINS}"
        "WHERE n.surname_norm = q.surname AND n.forename_norm = q.forename "
        f"AND n.date_of_birth = q.born AND {_EXACT_LIVE}"
    )


def id_hits_sql(keys: str) -> str:
    """Search's exact mode by index ID for many lookups in one statement: `keys` is a subquery
    of rows (i, id); each lookup's hit (an unarchived child with that ID) comes tagged with its
    i, in the columns of EXACT_NAME_SQL."""
    return (
        f"SELECT q.i, {_EXACT_COLUMNS}FROM ({keys}) q CROSS JOIN child c "
        "LEFT JOIN shield s ON s.child_key = c.child_key "
        "JOIN name cur ON cur.child_key = c.child_key AND cur.current = 1 "
        "WHERE c.child_id = q.id AND c.archived_on IS NULL"
    )


SERVICE_KINDS = {"school_code": "school", "gp_practice_code": "gp_practice"}
"""A search's service filters: the query attribute and the service table's kind."""


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def block_sql(block: Block, query: CandidateQuery, join: str = "JOIN") -> tuple[str, list[object]]:
    """One SELECT of child keys for a block; column names come from a fixed list, never input.
    `join`: SQLite is given "CROSS JOIN", which keeps the tables in the order written (its
    planner otherwise may start from the larger table); PostgreSQL plans plain JOINs well."""
    params: list[object] = []
    if block.column == "child_id":
        source, where = "child c", ["c.child_id = ?"]
        params.append(block.value)
    elif block.dates_of_birth:
        source = "name n JOIN child c ON c.child_key = n.child_key"
        where = [
            f"n.{block.column} = ?",
            f"n.date_of_birth IN ({_marks(len(block.dates_of_birth))})",
        ]
        params.extend([block.value, *block.dates_of_birth])
    else:
        if query.postcode is None:
            raise ValueError("a block without dates of birth needs a postcode")
        source = (
            f"household h {join} child c ON c.household_key = h.household_key "
            f"{join} name n ON n.child_key = c.child_key"
        )
        where = ["h.postcode_norm = ?", f"n.{block.column} = ?"]
        params.extend([query.postcode, block.value])
    source += " LEFT JOIN shield s ON s.child_key = c.child_key"
    # An archived record has left the live index (SI 2007/2182 reg 7): no search finds it.
    where.append("c.archived_on IS NULL")
    if block.column != "child_id":
        where.append("(n.current = 1 OR s.child_key IS NULL)")
    if query.exclude_shielded:
        where.append("s.child_key IS NULL")
    if query.postcode is not None and (block.dates_of_birth or block.column == "child_id"):
        where.append(
            "EXISTS (SELECT 1 FROM household h WHERE h.household_key = c.household_key "
            "AND h.postcode_norm = ?)"
        )
        params.append(query.postcode)
    for attribute, kind in SERVICE_KINDS.items():
        code = getattr(query, attribute)
        if code is not None:
            where.append(
                "EXISTS (SELECT 1 FROM involvement i JOIN service v "
                "ON v.service_key = i.service_key WHERE i.child_key = c.child_key "
                "AND v.kind = ? AND v.code = ?)"
            )
            params.extend([kind, code])
    return f"SELECT c.child_key FROM {source} WHERE {' AND '.join(where)}", params
