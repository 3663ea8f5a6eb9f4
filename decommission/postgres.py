"""Decommissioning a PostgreSQL deployment: close every path in, then stop the servers.

The switch-off of the index is followed, on each running server, by what a DBA does to shut a
database to everyone: REVOKE CONNECT from PUBLIC (primary), a pg_hba.conf that rejects every
connection, replication included, made effective with a reload, and pg_terminate_backend of
every session and WAL sender still open. Probes then try a new connection to the primary (as
the application and as the superuser), a replication connection and a connection to the
replica; only a refusal by the server counts as closed, so a replica that cannot be reached
leaves the switch-off without a go (it may come back accepting connections).
Before destruction the servers are stopped and the replication slots dropped in single-user
mode (which no pg_hba.conf governs), so nothing is writing while the files are destroyed.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from decommission.shutdown import Probe, Switchable
from sim.errors import WorkbenchError
from sim.index.store.postgres_connection import refused
from sim.postgres import server as pg
from sim.postgres.topology import (
    ACCOUNTS_DATABASE,
    APP_ROLE,
    ARCHIVIST_ROLE,
    DATABASE,
    SLOT,
    Topology,
)

SERVER_KINDS = ("database-server", "streaming-replica")
"""Stores that are a server's data directory: the server adds and removes files in them (WAL
segments recycled, sockets, statistics), so only the directory as a whole is accounted for."""
LOCKED_HBA = (
    "# Decommissioning: the index is switched off; every connection is refused.\n"
    "local all all reject\n"
    "local replication all reject\n"
    "host all all all reject\n"
    "host replication all all reject\n"
)
ARCHIVIST_HBA = (
    "# Decommissioning: only the archivist's read-only login, to take the archive.\n"
    f"local {DATABASE},{ACCOUNTS_DATABASE} {ARCHIVIST_ROLE} trust\n"
)
"""The primary's one open line, before every rejection: the archive reads the held records
from the primary (its login reads every table and writes nothing, sim.postgres.topology)."""
RELOAD_TIMEOUT_SECONDS = 10


class ConnectionRefused(WorkbenchError):
    """The server refused a new connection: the evidence that a path is closed."""


def has_servers(deployment: Path) -> bool:
    return Topology(Path(deployment)).exists()


class PostgresSwitch:
    """The facade's switch-off, then every running server shut to new and existing connections."""

    def __init__(self, index: Switchable, deployment: Path) -> None:
        self.index, self.deployment = index, Path(deployment)

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        revoked = self.index.switch_off(by=by, now=now)
        return revoked + lock_down(self.deployment)


def lock_down(deployment: Path) -> int:
    """Refuse every connection on each running server; returns the sessions terminated."""
    terminated = 0
    for server in Topology(Path(deployment)).servers():
        if pg.is_running(server):
            terminated += _lock_server(server, primary=server.data_dir.name == "primary")
    return terminated


def _lock_server(server: pg.Server, *, primary: bool) -> int:
    try:
        admin = psycopg.connect(server.conninfo(), autocommit=True)
    except psycopg.OperationalError as error:
        if not refused(error):
            raise
        # Locked by an attempt that died before it could terminate every session: a fast
        # restart ends them all, and the server comes back refusing every connection.
        pg.stop(server, mode="fast")
        pg.start(server)
        return 0
    with admin:
        if primary:
            present = {r[0] for r in admin.execute("SELECT datname FROM pg_database")}
            for database in (d for d in (DATABASE, ACCOUNTS_DATABASE) if d in present):
                admin.execute(f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC")
                if _has_role(admin, ARCHIVIST_ROLE):
                    admin.execute(f"GRANT CONNECT ON DATABASE {database} TO {ARCHIVIST_ROLE}")
        hba = server.data_dir / "pg_hba.conf"
        opened = ARCHIVIST_HBA if primary and _has_role(admin, ARCHIVIST_ROLE) else ""
        hba.write_text(opened + LOCKED_HBA)  # the file keeps its owner (the server user), mode
        admin.execute("SELECT pg_reload_conf()")
        _wait_refused(server)
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender')"
        ).fetchall()
    return sum(1 for (done,) in rows if done)


def _has_role(admin: psycopg.Connection, role: str) -> bool:
    found = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    return found is not None


def archivist_conninfo(deployment: Path, database: str = DATABASE) -> str:
    """The archivist's login to a database on the primary (the one the switch-off leaves)."""
    return f"{Topology(Path(deployment)).primary().conninfo(database)} user={ARCHIVIST_ROLE}"


def _wait_refused(server: pg.Server) -> None:
    deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            psycopg.connect(server.conninfo(), connect_timeout=5).close()
        except psycopg.OperationalError as error:
            if refused(error):
                return
            raise
        time.sleep(0.05)
    raise WorkbenchError(f"{server.data_dir}: pg_hba.conf reload did not take effect")


def _connect(conninfo: str) -> Callable[[], object]:
    def attempt() -> object:
        try:
            connection = psycopg.connect(conninfo, connect_timeout=5)
        except psycopg.OperationalError as error:
            if refused(error):
                raise ConnectionRefused(str(error).strip().splitlines()[-1]) from None
            raise  # the server could not be asked (down, unreachable): inconclusive
        connection.close()
        return "connected"

    return attempt


def postgres_probes(deployment: Path) -> dict[str, Probe]:
    """New connections to every server of the deployment, each of which must be refused."""
    topology = Topology(Path(deployment))
    primary, replica = topology.primary(), topology.replica()
    return {
        "postgres-primary": _connect(f"{primary.conninfo(DATABASE)} user={APP_ROLE}"),
        "postgres-superuser": _connect(primary.conninfo(DATABASE)),
        "postgres-replication": _connect(f"{primary.conninfo()} replication=true"),
        "postgres-replica": _connect(replica.conninfo(DATABASE)),
    }


def quiesce(deployment: Path) -> dict[str, Any]:
    """Stop the replica, then the primary (a server killed earlier just stays stopped), and drop
    the replication slots in single-user mode. Redoable: what is already done is skipped."""
    topology = Topology(Path(deployment))
    stopped = []
    for server in reversed(topology.servers()):
        if pg.is_running(server):
            pg.stop(server, mode="fast")
            stopped.append(server.data_dir.name)
    dropped = []
    if topology.exists() and (topology.primary_dir / "pg_replslot" / SLOT).is_dir():
        try:
            _single_user(topology.primary(), f"SELECT pg_drop_replication_slot('{SLOT}');")
            dropped.append({"slot": SLOT, "method": "pg_drop_replication_slot (single-user)"})
        except WorkbenchError as error:  # a data directory part-destroyed by a run that died
            method = f"destroyed with the data directory (single-user mode: {error})"
            dropped.append({"slot": SLOT, "method": method})
    return {"servers_stopped": stopped, "slots_dropped": dropped}


def _single_user(server: pg.Server, statement: str) -> None:
    """Run one statement in single-user mode (crash recovery first, if the server died)."""
    command = [str(pg.postgres_bin() / "postgres"), "--single", "-D", str(server.data_dir)]
    done = subprocess.run(
        [*command, "postgres"], input=statement + "\n", capture_output=True, text=True,
        timeout=120, **pg.as_user(server.user),
    )  # fmt: skip
    errors = [ln for ln in done.stderr.splitlines() if "ERROR" in ln or "FATAL" in ln]
    if done.returncode != 0 or errors:
        reason = (errors or done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WorkbenchError(f"{server.data_dir}: single-user mode failed: {reason}")
