"""A held child's record is found by following the schema's foreign keys: every table, a new one
included, with no row of any other child."""

import itertools
import sqlite3

import pytest

from decommission.held import connected_rows

SCHEMA = """
CREATE TABLE household (household_key INTEGER PRIMARY KEY, postcode TEXT);
CREATE TABLE child (child_key INTEGER PRIMARY KEY, child_id TEXT,
                    household_key INTEGER REFERENCES household);
CREATE TABLE carer (carer_key INTEGER PRIMARY KEY, household_key INTEGER REFERENCES household,
                    name TEXT);
CREATE TABLE contact (contact_key INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE service (service_key INTEGER PRIMARY KEY, name TEXT,
                      contact_key INTEGER REFERENCES contact);
CREATE TABLE involvement (child_key INTEGER REFERENCES child,
                          service_key INTEGER REFERENCES service);
CREATE TABLE care_plan (plan_id INTEGER PRIMARY KEY, child_key INTEGER REFERENCES child);
CREATE TABLE care_plan_step (plan_id INTEGER REFERENCES care_plan, step TEXT);
"""
ROWS = {
    "household": [(1, "BL1 1AA"), (2, "BL2 2BB")],
    "child": [(1, "A", 1), (2, "B", 1), (3, "C", 2)],  # A and B are siblings
    "carer": [(1, 1, "carer of A and B"), (2, 2, "carer of C")],
    "contact": [(1, "GP of A and C"), (2, "teacher of C")],
    "service": [(1, "surgery", 1), (2, "school", 2)],
    "involvement": [(1, 1), (3, 1), (3, 2)],
    "care_plan": [(10, 1), (30, 3)],
    "care_plan_step": [(10, "step for A"), (30, "step for C")],
}
OWNER = {"A": 1, "B": 2, "C": 3}


@pytest.fixture
def db():
    connection = sqlite3.connect(":memory:")
    connection.executescript(SCHEMA)
    for table, rows in ROWS.items():
        marks = ", ".join("?" for _ in rows[0])
        connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    yield connection
    connection.close()


def test_the_whole_record_of_a_held_child_and_nothing_of_a_sibling(db):
    """Held A: A's child row, household and its carer, A's involvement, its service and that
    service's contact, A's care plan and the plan's steps (a table two links from `child`, in
    no list): nothing of sibling B, of C, or of C's school and teacher."""
    kept = {table: content["rows"] for table, content in connected_rows(db, ["A"]).items()}
    assert kept == {
        "child": [[1, "A", 1]],
        "household": [[1, "BL1 1AA"]],
        "carer": [[1, 1, "carer of A and B"]],
        "involvement": [[1, 1]],
        "service": [[1, "surgery", 1]],
        "contact": [[1, "GP of A and C"]],
        "care_plan": [[10, 1]],
        "care_plan_step": [[10, "step for A"]],
    }


@pytest.mark.parametrize(
    "held", [list(c) for n in range(4) for c in itertools.combinations("ABC", n)]
)
def test_no_row_of_a_child_not_held(db, held):
    """For every set of held children: each row about a child belongs to a held one, and every
    held child's rows about them are all there."""
    kept = connected_rows(db, held)
    keys = {OWNER[c] for c in held}
    assert {row[0] for row in kept.get("child", {}).get("rows", [])} == keys
    assert {row[0] for row in kept.get("involvement", {}).get("rows", [])} == keys - {2}
    plans = {row[1] for row in kept.get("care_plan", {}).get("rows", [])}
    assert plans == keys - {2}
