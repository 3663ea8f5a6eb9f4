"""The production topology on PostgreSQL: a primary, a streaming replica, the WAL archive and
encrypted base backups, all inside a deployment directory (docs/index-design.md, stores).

The primary runs with `wal_level=replica` and continuous archiving (`archive_command` copies each
finished WAL segment into the deployment's owner-only WAL archive); the replica is made with
`pg_basebackup -R` on a physical replication slot and streams from the primary; base backups are
piped out of `pg_basebackup` and sealed with a data key of the deployment's key store as they
arrive (sim.deployment.backups), so no plaintext copy touches the disk. Every one of these
places is an inventory entry, since each holds copies of children's records: a row deleted from
the primary still lives in archived WAL segments, in the replica and in older base backups.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import psycopg

from sim.deployment.backups import encrypt_stream
from sim.index.layout import StoreEntry
from sim.outputs import write_private
from sim.postgres import server as pg
from sim.postgres.settings import PostgresSettings, postgres_settings

DATABASE = "contactpoint"
ACCOUNTS_DATABASE = "contactpoint_accounts"
APP_ROLE = "contactpoint_app"
ARCHIVIST_ROLE = "cpw_archivist"
"""Reads every table (pg_read_all_data), writes nothing: the decommissioning archive's login."""
SLOT = "cpw_replica"
TOPOLOGY_DIR = "postgres"
STREAMING_TIMEOUT_SECONDS = 60
COPY_TIMEOUT_SECONDS = 3600
"""pg_basebackup making the replica: an England primary is gigabytes."""
HOLDER = "ContactPoint service operator"
FILE_COPY = "STRATEGY = FILE_COPY"
"""A new database copied from its template as files after a checkpoint, not logged page by page
(PostgreSQL 15's default, WAL_LOG, writes the whole template into the WAL archive each time)."""


@dataclass(frozen=True)
class Topology:
    """The fixed places of the PostgreSQL topology inside a deployment directory."""

    deployment: Path

    @property
    def base(self) -> Path:
        return self.deployment / TOPOLOGY_DIR

    @property
    def primary_dir(self) -> Path:
        return self.base / "primary"

    @property
    def replica_dir(self) -> Path:
        return self.base / "replica"

    @property
    def wal_archive(self) -> Path:
        return self.base / "wal-archive"

    def exists(self) -> bool:
        return (self.primary_dir / pg.SERVER_FILE).is_file()

    def primary(self) -> pg.Server:
        return pg.open_server(self.primary_dir)

    def replica(self) -> pg.Server:
        return pg.open_server(self.replica_dir)

    def servers(self) -> list[pg.Server]:
        """The clusters whose data directory is still there, primary first."""
        return [
            pg.open_server(d)
            for d in (self.primary_dir, self.replica_dir)
            if (d / pg.SERVER_FILE).is_file()
        ]


def primary_settings(wal: PostgresSettings, segment_mb: int) -> dict[str, str]:
    """Continuous archiving into ../wal-archive (the server's working directory is its data
    directory), refusing to overwrite a segment already archived; checkpoints and full-page
    image compression as `wal` sets them."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": "'test ! -f ../wal-archive/%f && cp %p ../wal-archive/%f'",
        "max_wal_senders": "4",
        "max_replication_slots": "4",
        "hot_standby": "on",
        **wal.server_settings(segment_mb),
    }


def init_primary(deployment: Path, children: int, wal: PostgresSettings | None = None) -> pg.Server:
    """The primary, initialised and started, holding the empty index and accounts databases,
    the application's role (APP_ROLE, granted reads by `grant_reader` once the index is
    loaded) and the archivist's (ARCHIVIST_ROLE). `wal`: the primary's settings
    (data/index/postgres.toml when not given); `children`, how many the index will hold, sets
    its WAL segment size."""
    topology = Topology(Path(deployment).resolve())
    topology.base.mkdir(parents=True, exist_ok=True)
    os.chmod(topology.deployment, 0o711)  # the server user may pass through, not list or read
    os.chmod(topology.base, 0o711)
    user = pg.server_os_user()
    pg.make_owned_dir(topology.wal_archive, user)
    wal = wal or postgres_settings()
    segment_mb = wal.segment_mb(children)
    primary = pg.init_cluster(
        topology.primary_dir,
        settings=primary_settings(wal, segment_mb),
        wal_segment_mb=segment_mb,
    )
    pg.start(primary)
    with psycopg.connect(primary.conninfo(), autocommit=True) as admin:
        for database in (DATABASE, ACCOUNTS_DATABASE):
            admin.execute(f"CREATE DATABASE {database} {FILE_COPY}")
        admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        admin.execute(f"CREATE ROLE {ARCHIVIST_ROLE} LOGIN IN ROLE pg_read_all_data")
        admin.execute(f"ALTER ROLE {ARCHIVIST_ROLE} SET default_transaction_read_only = on")
    return primary


def grant_reader(primary: pg.Server) -> None:
    """The application's role may read every table of the loaded index."""
    with psycopg.connect(primary.conninfo(DATABASE), autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")


def start_primary(deployment: Path) -> pg.Server:
    """The primary started (again), once the deployment made owner-only lets it through."""
    topology = Topology(Path(deployment).resolve())
    os.chmod(topology.deployment, 0o711)
    os.chmod(topology.base, 0o711)
    primary = topology.primary()
    pg.start(primary)
    return primary


def finish_topology(
    deployment: Path,
    backup_keys: dict[str, bytes],
    made_on: str,
    deleted_child: str | None = None,
) -> list[StoreEntry]:
    """Around the loaded primary (`init_primary`, started again if stopped): the replica, the
    WAL archive, one sealed base backup per key in `backup_keys`, one extract per authority
    taken with COPY on `made_on`; returns their inventory entries. Servers are left running.

    `deleted_child`: a child deleted from the primary (DELETE, CHECKPOINT) before the replica
    and the backups are made, so the WAL archive keeps a copy the live tables do not."""
    topology = Topology(Path(deployment).resolve())
    primary = start_primary(topology.deployment)
    if deleted_child is not None:
        delete_child(primary, deleted_child)
    make_replica(primary, topology.replica_dir)
    entries = [
        StoreEntry("PostgreSQL primary", "database-server", f"{TOPOLOGY_DIR}/primary", HOLDER,
                   "the index on PostgreSQL: data directory (heap, WAL in pg_wal, logs)"),
        StoreEntry("PostgreSQL streaming replica", "streaming-replica", f"{TOPOLOGY_DIR}/replica",
                   "disaster-recovery site", "pg_basebackup -R on a replication slot, streaming"),
        StoreEntry("WAL archive", "wal-archive", f"{TOPOLOGY_DIR}/wal-archive", HOLDER,
                   "every WAL segment the primary finished (archive_command)"),
    ]  # fmt: skip
    for key_id, key in backup_keys.items():
        relative = f"backups/{key_id}/base.tar.enc"
        base_backup(primary, topology.deployment / relative, key)
        os.chmod(topology.deployment / relative, 0o600)
        os.chmod((topology.deployment / relative).parent, 0o700)
        entries.append(
            StoreEntry(f"base backup {key_id}", "backup", relative, "backup operator",
                       "AES-256-GCM sealed pg_basebackup (tar)", True, key_id)
        )  # fmt: skip
    for code, relative in authority_extracts(primary, topology.deployment, made_on):
        entries.append(
            StoreEntry(f"extract {code} (PostgreSQL)", "authority-extract", relative,
                       f"{code} management team", "authority extract (COPY TO, CSV)")
        )  # fmt: skip
    switch_wal(primary)
    return entries


EXTRACT_COLUMNS = ("child_id", "forename", "surname", "date_of_birth", "address_line", "town",
                   "postcode")  # fmt: skip
EXTRACT_SQL = """
COPY (
SELECT c.authority_code, c.child_id, n.forename, n.surname, c.date_of_birth, h.address_line,
       h.town, h.postcode
FROM child c JOIN name n ON n.child_key = c.child_key AND n.current = 1
LEFT JOIN household h ON h.household_key = c.household_key
ORDER BY c.authority_code, c.child_id
) TO STDOUT WITH (FORMAT csv)
"""
"""Every authority's extract in one pass, each row led by its authority's code: one scan of the
tables, not one per authority."""


def authority_extracts(primary: pg.Server, deployment: Path, made_on: str) -> list[tuple[str, str]]:
    """One CSV per authority, as a management team would take it from the server (COPY TO):
    (authority, path under the deployment). Owner-only, like every file of a deployment.

    psql reads the COPY (a Python loop over 11 M rows of COPY messages took longer than the
    query), polars splits it by authority and writes each file, reading and writing CSV as
    COPY does (a NULL as an empty field, an empty string as "")."""
    command = [
        str(pg.postgres_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
        "-h", str(primary.socket_dir), "-p", str(primary.port), "-U", pg.SUPERUSER,
        "-d", DATABASE, "-c", EXTRACT_SQL,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, timeout=COPY_TIMEOUT_SECONDS, **pg.as_user(primary.user)
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise pg.PostgresError(
            f"psql (authority extracts) failed: {lines[-1] if lines else done.returncode}"
        )
    rows = pl.read_csv(
        io.BytesIO(done.stdout), has_header=False, infer_schema=False,
        new_columns=["authority_code", *EXTRACT_COLUMNS],
    )  # fmt: skip
    made: list[tuple[str, str]] = []
    for (code,), part in rows.partition_by("authority_code", as_dict=True).items():
        relative = f"extracts/{code}-{made_on}-postgres.csv"
        with _new_private(deployment / relative) as handle:
            part.drop("authority_code").write_csv(handle)
        made.append((str(code), relative))
    return made


def _new_private(target: Path):
    """A new owner-only file (refusing one already there), opened for writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")


def delete_child(primary: pg.Server, child_id: str) -> None:
    """Delete one child's rows as an operator would, then CHECKPOINT and finish the segment."""
    with psycopg.connect(primary.conninfo(DATABASE), autocommit=True) as conn:
        with conn.transaction():
            row = conn.execute("SELECT child_key FROM child WHERE child_id = %s", (child_id,))
            found = row.fetchone()
            if found is None:
                raise pg.PostgresError(f"child {child_id}: not in the index on PostgreSQL")
            tables = conn.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'child_key' "
                "AND table_name <> 'child' ORDER BY table_name"
            ).fetchall()
            for (table,) in tables:
                conn.execute(f'DELETE FROM "{table}" WHERE child_key = %s', found)
            conn.execute("DELETE FROM child WHERE child_key = %s", found)
        conn.execute("CHECKPOINT")
    switch_wal(primary)


def switch_wal(primary: pg.Server) -> None:
    """Finish the current WAL segment and wait until the archiver has copied it (however far
    behind it is after a large load, as long as it keeps archiving)."""
    with psycopg.connect(primary.conninfo(), autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        finished = row[0] if row else ""
        deadline = time.monotonic() + STREAMING_TIMEOUT_SECONDS
        seen = None
        while time.monotonic() < deadline:
            last = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if last and last[0] is not None and last[0][:24] >= finished:
                return
            if last and last[0] != seen:  # progress: the wait starts again
                seen = last[0]
                deadline = time.monotonic() + STREAMING_TIMEOUT_SECONDS
            time.sleep(0.1)
    raise pg.PostgresError(f"{primary.data_dir}: the archiver did not archive WAL in time")


def make_replica(primary: pg.Server, replica_dir: Path) -> pg.Server:
    """pg_basebackup -R on a new physical slot, then start it and wait until it streams."""
    pg.make_owned_dir(replica_dir, primary.user)
    pg.run_as_server_user(
        primary.user,
        "pg_basebackup",
        ["-D", str(replica_dir), "-R", "-C", "-S", SLOT, "-X", "stream", "-c", "fast",
         "-h", str(primary.socket_dir), "-p", str(primary.port), "-U", pg.SUPERUSER],
        timeout=COPY_TIMEOUT_SECONDS,
    )  # fmt: skip
    replica = pg.open_server(replica_dir)
    start_replica(primary, replica)
    wait_streaming(primary)
    return replica


def start_replica(primary: pg.Server, replica: pg.Server) -> None:
    """Start the replica, pointing it at the primary's socket wherever the deployment now is."""
    auto = replica.data_dir / "postgresql.auto.conf"  # pg_basebackup -R wrote an absolute host
    kept = [ln for ln in auto.read_text().splitlines() if not ln.startswith("primary_conninfo")]
    kept.append(f"primary_conninfo = {pg.quote_setting(primary.conninfo())}")
    auto.write_text("\n".join(kept) + "\n")
    pg.start(replica)


def wait_streaming(primary: pg.Server) -> None:
    deadline = time.monotonic() + STREAMING_TIMEOUT_SECONDS
    with psycopg.connect(primary.conninfo(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            ).fetchone()
            if row and row[0] >= 1:
                return
            time.sleep(0.1)
    raise pg.PostgresError(f"{primary.data_dir}: the replica did not start streaming in time")


def base_backup(primary: pg.Server, target: Path, key: bytes) -> int:
    """A tar-format base backup piped from pg_basebackup straight into AES-256-GCM."""
    command = [
        str(pg.postgres_bin() / "pg_basebackup"), "-D", "-", "-F", "t", "-X", "fetch", "-c", "fast",
        "-h", str(primary.socket_dir), "-p", str(primary.port), "-U", pg.SUPERUSER,
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **pg.as_user(primary.user)
    ) as process:
        try:
            read = encrypt_stream(process.stdout, target, key)  # type: ignore[arg-type]
        except BaseException:
            process.kill()
            target.unlink(missing_ok=True)
            raise
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        target.unlink(missing_ok=True)
        raise pg.PostgresError(f"pg_basebackup failed: {error.strip().splitlines()[-1:]}")
    return read


def start_all(deployment: Path) -> None:
    """Start the primary, then the replica (a deployment copied or restarted after a stop)."""
    topology = Topology(Path(deployment).resolve())
    primary = topology.primary()
    pg.start(primary)
    if (topology.replica_dir / pg.SERVER_FILE).is_file():
        start_replica(primary, topology.replica())


def stop_all(deployment: Path, mode: str = "fast") -> list[str]:
    """Stop the replica, then the primary; returns which were running."""
    stopped = []
    for server in reversed(Topology(Path(deployment).resolve()).servers()):
        if pg.is_running(server):
            pg.stop(server, mode=mode)
            stopped.append(server.data_dir.name)
    return stopped


def write_negative_control(path: Path, identifiers: dict[str, str]) -> None:
    """Beside the deployment (never in it): the deleted child's identifiers, for the scan test."""
    write_private(path, json.dumps(identifiers, indent=1) + "\n")
