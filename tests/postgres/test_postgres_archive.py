"""The archive of a PostgreSQL deployment is read from its primary, through the one login the
switch-off leaves open: the archivist's, which reads and cannot write.

The held children's records archived from the server open as an index store and equal what the
facade served before the switch-off; every other login (the application's, the superuser's,
replication, the replica) is refused from the switch-off on.
"""

import json
from pathlib import Path

import psycopg
import pytest

from decommission.archive import read_part
from decommission.faults import Crash
from decommission.held import held_now, held_store
from decommission.inventory import load_inventory
from decommission.rehearsal import rehearse
from sim.cli.decommission import rehearsal_setup
from sim.index.layout import Layout, read_backend
from sim.index.service import ContactPoint
from sim.postgres import server as pg
from sim.postgres.topology import (
    ACCOUNTS_DATABASE,
    APP_ROLE,
    ARCHIVIST_ROLE,
    DATABASE,
    Topology,
    start_all,
    stop_all,
)
from tests.decommission.conftest import OPERATOR, VERIFIER


def listed(deployment: Path, relative: str) -> set[str]:
    lines = (deployment / relative).read_text().splitlines()
    return {json.loads(line)["child_id"] for line in lines if line.strip()}


def run(deployment: Path, evidence: Path, faults: list[str], resume: bool = False):
    setup, index = rehearsal_setup(deployment, evidence, OPERATOR, VERIFIER, resume=resume)
    try:
        try:
            status = rehearse(deployment, evidence, setup, faults=faults, resume=resume).status
        except Crash:
            status = "crashed"
        return status, setup
    finally:
        index.close()


def test_held_records_are_archived_from_the_primary_as_the_facade_served_them(pg_deployment):
    held, coverage = held_now(pg_deployment, load_inventory(pg_deployment))
    assert listed(pg_deployment, "holds/holds.jsonl") <= set(held)
    in_index = [key for key in coverage if key.startswith(("hold:live", "request:live"))]
    assert in_index, "holds and requests recorded in the index on the primary are read"
    with ContactPoint.open(pg_deployment) as service:
        served = {child: service.store.read_record(child) for child in held}
    with psycopg.connect(read_backend(Layout(pg_deployment)).index) as conn:
        children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
    evidence = pg_deployment.parent / "evidence"

    status, setup = run(pg_deployment, evidence, [])

    assert status == "completed"
    part = read_part(evidence / "archive", setup.archive_keys)
    assert part["child_ids"] == held
    archived = held_store(part)
    for child, record in served.items():
        assert record is not None
        assert archived.read_record(child) == record
    statistics = json.loads((evidence / "archive/data/statistics/aggregate.json").read_text())
    (figures,) = statistics.values()
    assert figures["rows"]["child"] == children
    assert sum(figures["by_authority"]["child"].values()) == children
    assert not Topology(pg_deployment).primary_dir.exists()


def connect(conninfo: str) -> None:
    psycopg.connect(conninfo, connect_timeout=5).close()


def test_after_the_switch_off_only_the_archivist_reads_and_it_cannot_write(pg_deployment):
    evidence = pg_deployment.parent / "evidence"
    status, _ = run(pg_deployment, evidence, ["crash-after:switch_off"])
    assert status == "crashed"
    topology = Topology(pg_deployment)
    primary, replica = topology.primary(), topology.replica()
    assert all(pg.is_running(server) for server in (primary, replica))
    for conninfo in (
        primary.conninfo(DATABASE),
        primary.conninfo(ACCOUNTS_DATABASE),
        f"{primary.conninfo(DATABASE)} user={APP_ROLE}",
        f"{primary.conninfo()} user={ARCHIVIST_ROLE}",  # its databases only
        f"{primary.conninfo()} user={ARCHIVIST_ROLE} replication=true",
        f"{replica.conninfo(DATABASE)} user={ARCHIVIST_ROLE}",
    ):
        with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
            connect(conninfo)
    with pytest.raises(Exception, match="refused"):
        ContactPoint.open(pg_deployment)
    for database, table in ((DATABASE, "child"), (ACCOUNTS_DATABASE, "accounts")):
        with psycopg.connect(f"{primary.conninfo(database)} user={ARCHIVIST_ROLE}") as conn:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute(f"DELETE FROM {table}")
    status, _ = run(pg_deployment, evidence, [], resume=True)
    assert status == "completed"


def test_a_primary_down_at_the_archive_stops_the_run_with_nothing_destroyed(pg_deployment):
    evidence = pg_deployment.parent / "evidence"
    before = {p for p in pg_deployment.rglob("*") if p.is_file()}
    backups = {p for p in before if "backups" in p.parts or "extracts" in p.parts}
    assert run(pg_deployment, evidence, ["crash-after:switch_off"])[0] == "crashed"
    stop_all(pg_deployment)  # the site loses power after the switch-off

    assert run(pg_deployment, evidence, [], resume=True)[0] == "stopped"
    record = json.loads((evidence / "run.json").read_text())
    assert record["stopped_at"] == "archive"
    assert "cpw postgres start" in record["reason"] and record["certificates"] == []
    assert backups <= {p for p in pg_deployment.rglob("*") if p.is_file()}
    assert (Topology(pg_deployment).primary_dir / "PG_VERSION").is_file()

    start_all(pg_deployment)  # brought back: still refusing all but the archivist
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
        connect(Topology(pg_deployment).primary().conninfo(DATABASE))
    assert run(pg_deployment, evidence, [], resume=True)[0] == "completed"
    assert [p for p in pg_deployment.rglob("*") if p.is_file()] == []
