"""A PostgreSQL deployment is served from its primary: the facade, `cpw index` and the audit.

`cpw deploy --backend postgres` leaves no SQLite index or accounts file in the tree; the facade
opened on the deployment reads and writes the databases backend.toml names (over the primary's
unix socket, wherever the deployment was copied to), and every answer is in the audit log.
"""

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import psycopg
import pytest

from sim.errors import InputError
from sim.index.access import token_code
from sim.index.audit import read_audit, verify
from sim.index.layout import Layout, read_backend
from sim.index.service import ContactPoint
from sim.index.view import view_reasons
from sim.postgres.topology import ACCOUNTS_DATABASE, DATABASE, Topology
from sim.regimes.deployment import working_copy
from sim.web.launch import running_server
from sim.web.load import LoadPlan, enrol_practitioners, run_load
from sim.web.settings import write_loopback_settings
from tests.conftest import run_cpw

NOW = dt.datetime(2010, 1, 4, 14, 0)  # after the deployment's demo activity
BOLTON = "E08000001"
PRACTITIONER, MANAGER1, MANAGER2 = (f"{r}-e08000001" for r in ("practitioner1", "manager1",
                                                                 "manager2"))  # fmt: skip


def login(service: ContactPoint, deployment: Path, username: str, when: dt.datetime) -> str:
    user = json.loads(Path(f"{deployment}.credentials.json").read_text())["users"][username]
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(
        username, user["password"], user["pin"], code, network=user["network"], now=when
    )


def test_no_sqlite_index_or_accounts_remain_and_backend_names_the_primary(pg_deployment):
    layout = Layout(pg_deployment)
    assert not layout.index.parent.exists() and not layout.accounts.parent.exists()
    backend = read_backend(layout)
    assert backend.name == "postgres"
    primary = Topology(pg_deployment).primary_dir
    for conninfo, database in ((backend.index, DATABASE), (backend.accounts, ACCOUNTS_DATABASE)):
        assert "password" not in conninfo
        with psycopg.connect(conninfo) as conn:  # the copy's own server, not the template's
            row = conn.execute("SHOW data_directory").fetchone()
            assert Path(row[0]).resolve() == primary.resolve()
            assert conn.info.dbname == database
    inventory = (pg_deployment / "inventory.toml").read_text()
    assert "index.db" not in inventory and "accounts/accounts.db" not in inventory
    sqlite = [p for p in pg_deployment.rglob("*") if p.is_file() and is_sqlite_or_sealed(p)]
    assert sqlite == []  # no SQLite file, no SQLite backup: the DR site is the streaming replica
    keys = json.loads(layout.keystore.read_text())["keys"]
    assert [k for k in keys if k.startswith("backup")] == []  # only the base backups' keys
    assert any(k.startswith("pg-base-") for k in keys)


def is_sqlite_or_sealed(path: Path) -> bool:
    with path.open("rb") as handle:
        header = handle.read(16)
    return path.name.endswith((".db", ".db.enc")) or header == b"SQLite format 3\0"


def test_login_search_view_and_shield_are_served_from_postgres_and_audited(pg_deployment):
    canary = json.loads(Path(f"{pg_deployment}.canaries.json").read_text())[0]
    child_id = canary["child_id"]
    with ContactPoint.open(pg_deployment, profile="simulation") as service:
        assert type(service.store).__name__ == "PostgresStore"
        session = login(service, pg_deployment, PRACTITIONER, NOW)
        query = {"surname": canary["surname"], "date_of_birth": canary["date_of_birth"]}
        assert [hit.child_id for hit in service.search(session, query, now=NOW).hits] == [child_id]
        shown = service.view(session, child_id, view_reasons()[0], now=NOW)
        assert shown.address is not None and not shown.shielded
        later = NOW + dt.timedelta(minutes=5)
        asking = login(service, pg_deployment, MANAGER1, later)
        asked = service.request_shielding(asking, child_id, "adoption", now=later)
        deciding = login(service, pg_deployment, MANAGER2, later)
        service.decide_shielding(deciding, asked.request_id, True, now=later)
        after = later + dt.timedelta(minutes=5)
        session = login(service, pg_deployment, PRACTITIONER, after)
        shielded = service.view(session, child_id, view_reasons()[0], now=after)
        assert shielded.shielded and shielded.address is None
    with psycopg.connect(read_backend(Layout(pg_deployment)).index) as conn:
        held = conn.execute(
            "SELECT count(*) FROM shield s JOIN child c ON c.child_key = s.child_key "
            "WHERE c.child_id = %s",
            (child_id,),
        ).fetchone()
    assert held == (1,)  # the shield is a row on the primary, not in a local file
    log = read_audit(pg_deployment / "audit" / "audit.jsonl")
    mine = log.filter(log["time"] >= NOW)["action"].to_list()
    replica = Topology(pg_deployment).replica()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not shield_on(replica.conninfo(DATABASE), child_id):
        time.sleep(0.1)
    assert shield_on(replica.conninfo(DATABASE), child_id)  # the DR site has it by streaming
    assert [a for a in mine if not a.startswith(("replica.", "extract."))] == [
        "login", "search", "view", "login", "shielding.request", "login", "shielding approved",
        "login", "view",
    ]  # fmt: skip
    key = Path(f"{pg_deployment}.audit-public-key").read_text().strip()
    assert verify(
        pg_deployment / "audit" / "audit.jsonl", key, Path(f"{pg_deployment}.audit-witness")
    ).ok


def shield_on(conninfo: str, child_id: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM shield s JOIN child c ON c.child_key = s.child_key "
            "WHERE c.child_id = %s",
            (child_id,),
        ).fetchone()
    return row == (1,)


def test_cpw_index_search_in_another_process_reads_the_primary(pg_deployment):
    canary = json.loads(Path(f"{pg_deployment}.canaries.json").read_text())[0]
    done = run_cpw(
        "index", "search", str(pg_deployment), "--surname", canary["surname"],
        "--dob", canary["date_of_birth"], "--user", PRACTITIONER,
        "--demo-credentials", f"{pg_deployment}.credentials.json", "--at", NOW.isoformat(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert canary["child_id"] in done.stdout
    log = read_audit(pg_deployment / "audit" / "audit.jsonl")
    mine = log.filter(log["actor"] == PRACTITIONER).tail(3)
    assert mine.select("action", "outcome").rows() == [
        ("login", "allowed"), ("search", "allowed"), ("logout", "allowed"),
    ]  # fmt: skip


def test_a_working_copy_of_a_postgres_deployment_is_refused_in_one_line(pg_deployment, tmp_path):
    with pytest.raises(InputError, match="PostgreSQL") as refused:
        working_copy(pg_deployment, tmp_path / "copy")
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "copy").exists()


def test_cpw_serve_answers_practitioners_from_the_primary_and_the_audit_verifies(
    pg_deployment, tmp_path
):
    write_loopback_settings(pg_deployment, ["GCSx", "GSi"])
    canaries = json.loads(Path(f"{pg_deployment}.canaries.json").read_text())
    queries = [(canary["surname"], canary["date_of_birth"]) for canary in canaries]
    log_path = pg_deployment / "audit" / "audit.jsonl"
    practitioners = enrol_practitioners(
        pg_deployment, 4, BOLTON, queries, read_audit(log_path)["time"].max()
    )
    with running_server(pg_deployment, tmp_path / "server.log", workers=2) as server:
        plan = LoadPlan(server.url, practitioners, concurrency=4, seconds=2, max_requests=200)
        report = asyncio.run(run_load(plan))
    assert report.errors == [] and sum(report.refused.values()) == 0
    assert set(report.answered) == {p.username for p in practitioners}
    log = read_audit(log_path)
    allowed = log.filter(log["action"] == "search", log["outcome"] == "allowed")
    logged = dict(allowed.group_by("actor").len().rows())
    assert {name: logged.get(name, 0) for name in report.answered} == dict(report.answered)
    checked = run_cpw(
        "index", "audit", "verify", str(log_path),
        "--public-key", Path(f"{pg_deployment}.audit-public-key").read_text().strip(),
        "--witness", str(Path(f"{pg_deployment}.audit-witness")),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_read_snapshot_does_not_see_what_another_connection_commits(pg_deployment):
    """`reading()` (the live feed's seam: a lookup worker's day) reads the index as it stood
    on entry while another connection commits a change; after it, the change is seen."""
    child_id = json.loads(Path(f"{pg_deployment}.canaries.json").read_text())[0]["child_id"]
    with ContactPoint.open(pg_deployment, profile="simulation") as service:
        store = service.store
        before = store.authorities_of([child_id])[child_id]
        with store.reading():
            with psycopg.connect(read_backend(Layout(pg_deployment)).index) as other:
                other.execute(
                    "UPDATE child SET authority_code = 'E09999999' WHERE child_id = %s",
                    (child_id,),
                )
            assert store.authorities_of([child_id]) == {child_id: before}
        assert store.authorities_of([child_id]) == {child_id: "E09999999"}
