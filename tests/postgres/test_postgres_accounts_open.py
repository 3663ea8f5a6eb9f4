"""Opening the accounts database on PostgreSQL while other processes use it."""

import threading

import psycopg

from sim.index.store.postgres_backend import open_accounts_database


def test_opening_a_made_accounts_database_waits_for_no_table_lock(postgres_database):
    """A process opening the accounts database (every `cpw index` command does) while another
    holds a table inside a transaction neither waits for it nor locks it: DDL on an existing
    schema, IF NOT EXISTS or not, would lock each table it names and, against a statement
    holding the next table, end in a deadlock."""
    open_accounts_database(postgres_database).close()  # the schema made once
    with psycopg.connect(postgres_database) as other:  # a transaction left open on purpose
        other.execute("SELECT count(*) FROM sessions JOIN accounts USING (username)").fetchone()
        opened: list[object] = []
        opener = threading.Thread(
            target=lambda: opened.append(open_accounts_database(postgres_database))
        )
        opener.start()
        opener.join(timeout=20)
        waited = opener.is_alive()
        other.rollback()  # frees a blocked opener, so the test never hangs
        opener.join()
    for db in opened:
        db.close()  # type: ignore[attr-defined]
    assert not waited, "opening an existing accounts database waited for another's table lock"
    assert len(opened) == 1


def test_a_database_missing_part_of_the_schema_gains_it_on_open(postgres_database):
    """The check that skips the DDL must notice any missing part: a dropped index comes back."""
    open_accounts_database(postgres_database).close()
    with psycopg.connect(postgres_database, autocommit=True) as admin:
        admin.execute("DROP INDEX usage_by_user_time")
    open_accounts_database(postgres_database).close()
    with psycopg.connect(postgres_database) as check:
        row = check.execute("SELECT to_regclass('usage_by_user_time') IS NOT NULL").fetchone()
    assert row == (True,)
