"""`cpw deploy --backend postgres`: every place a copy of a child lives, made and inventoried."""

import os
import pwd
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import psycopg

from decommission.inventory import load_inventory
from decommission.scan import Needle, scan_tree
from sim.deployment.backups import decrypt_file
from sim.index.layout import Layout, data_key
from sim.postgres import server as pg
from sim.postgres.deploy import NEGATIVE_CONTROL
from sim.postgres.topology import APP_ROLE, DATABASE, SLOT, Topology, wait_streaming
from tests.conftest import run_cpw


def test_inventory_names_primary_replica_wal_archive_and_sealed_base_backup(pg_deployment):
    inventory = load_inventory(pg_deployment)
    kinds = {store.kind: store for store in inventory.stores}
    assert kinds["database-server"].path == "postgres/primary"
    assert kinds["streaming-replica"].path == "postgres/replica"
    assert kinds["wal-archive"].path == "postgres/wal-archive"
    base = [s for s in inventory.of_kind("backup") if s.path.endswith("base.tar.enc")]
    assert len(base) == 1 and base[0].encrypted and base[0].key_id.startswith("pg-base-")
    for store in inventory.stores:
        assert (pg_deployment / store.path).exists(), store.path


def test_base_backup_is_sealed_and_opens_with_its_key_to_a_tar(pg_deployment, tmp_path):
    store = next(s for s in load_inventory(pg_deployment).of_kind("backup") if s.key_id and
                 s.key_id.startswith("pg-base-"))  # fmt: skip
    sealed = pg_deployment / store.path
    assert b"PG_VERSION" not in sealed.read_bytes()  # no plaintext member name shows through
    key = data_key(Layout(pg_deployment).keystore, store.key_id)
    decrypt_file(sealed, tmp_path / "base.tar", key)
    with tarfile.open(tmp_path / "base.tar") as tar:
        assert "PG_VERSION" in tar.getnames()


def test_replica_streams_on_its_slot_and_is_read_only(pg_deployment):
    topology = Topology(pg_deployment)
    primary, replica = topology.primary(), topology.replica()
    # start_all returns once the replica is started, not once it streams: on a busy machine
    # (two test workers and more) its WAL receiver can take a while to connect.
    wait_streaming(primary)
    with psycopg.connect(primary.conninfo(DATABASE), autocommit=True) as conn:
        slot = conn.execute(
            "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)
        ).fetchone()
        conn.execute("CREATE TABLE marker (x int)")
        conn.execute("INSERT INTO marker VALUES (7)")
        children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
    assert slot == (True,)
    with psycopg.connect(replica.conninfo(DATABASE), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        for _ in range(100):  # streamed within moments
            seen = conn.execute("SELECT to_regclass('marker') IS NOT NULL").fetchone()[0]
            if seen:
                break
            psycopg.connect(replica.conninfo()).close()
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == children
    with psycopg.connect(f"{primary.conninfo(DATABASE)} user={APP_ROLE}") as app:
        assert app.execute("SELECT count(*) FROM child").fetchone()[0] == children


def test_wal_archive_is_owner_only_and_owned_by_the_server_user(pg_deployment):
    archive = Topology(pg_deployment).wal_archive
    owner = pg.server_os_user()
    info = archive.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and pwd.getpwuid(info.st_uid).pw_name == owner
    segments = [p for p in archive.iterdir() if len(p.name) == 24]
    assert len(segments) >= 2
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in segments)


def test_the_load_logs_no_index_entry_per_row_and_no_template_pages(pg_deployment):
    """Keys and indexes are built once the rows are in, and databases are made by copying their
    template's files, so the archived WAL holds no entry per loaded row for the index's own
    indexes (an index filled row by row logs each, and an image of each page again after every
    checkpoint) and no image of a template's pages (logging one writes megabytes a database)."""
    archive = Topology(pg_deployment).wal_archive
    segments = sorted(p.name for p in archive.iterdir() if len(p.name) == 24)
    waldump = [pg.postgres_bin() / "pg_waldump", "-p", archive, segments[0], segments[-1]]
    records = subprocess.run(waldump, capture_output=True, text=True).stdout
    stats = subprocess.run([*waldump, "--stats=record"], capture_output=True, text=True).stdout
    primary = Topology(pg_deployment).primary()
    with psycopg.connect(primary.conninfo(DATABASE)) as conn:
        children = conn.execute("SELECT count(*) FROM child").fetchone()[0]
        database = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (DATABASE,))
        oid = database.fetchone()[0]
        indexes = {str(row[0]) for row in conn.execute(
            "SELECT pg_relation_filenode(oid) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'"
        )}  # fmt: skip
    entries = re.findall(r"desc: INSERT_LEAF .*? rel \d+/(\d+)/(\d+) ", records)
    assert len(indexes) >= 10 and children > 100
    assert "Heap2/MULTI_INSERT+INIT" in stats  # the rows themselves are there, as COPY wrote them
    assert sum(db == str(oid) and node in indexes for db, node in entries) < children // 10
    page_images = re.search(r"^XLOG/FPI +\d+ \(.*?\) +\d+ \(.*?\) +(\d+)", stats, re.M)
    assert page_images and int(page_images[1]) < 2**20  # the index's own indexes: kilobytes
    assert entries  # the catalog's indexes are logged row by row: the parsing finds them


def test_negative_control_deleted_child_gone_from_tables_but_in_the_wal_archive(pg_deployment):
    deleted = __import__("json").loads(
        (pg_deployment.parent / f"dep.{NEGATIVE_CONTROL}").read_text()
    )
    primary = Topology(pg_deployment).primary()
    with psycopg.connect(primary.conninfo(DATABASE)) as conn:
        count = conn.execute(
            "SELECT count(*) FROM child WHERE child_id = %s", (deleted["child_id"],)
        ).fetchone()[0]
    assert count == 0
    needles = [Needle("deleted child id", deleted["child_id"].encode())]
    hits = scan_tree(Topology(pg_deployment).wal_archive, needles).hits
    assert hits, "the WAL archive should still hold the deleted child's INSERT"


def test_missing_postgres_is_one_line_and_nothing_is_made(postgres_tmp, pg_built):
    out = postgres_tmp / "never"
    done = run_cpw(
        "deploy", str(pg_built / "population"), "--out", str(out), "--backend", "postgres",
        env={"CPW_POSTGRES_BIN": str(postgres_tmp / "no-postgres")},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("cpw: error: PostgreSQL server binaries")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(postgres_tmp.glob("never*"))


def test_unknown_backend_is_refused(tmp_path):
    done = run_cpw("deploy", str(tmp_path), "--out", str(tmp_path / "d"), "--backend", "oracle")
    assert done.returncode == 2 and "--backend" in done.stderr
    assert os.listdir(tmp_path) == []


def test_a_place_the_server_cannot_use_is_refused_before_any_work(postgres_tmp, pg_built):
    deep = postgres_tmp / ("d" * 60) / "dep"  # too long a path for the server's unix socket
    done = run_cpw(
        "deploy", str(pg_built / "population"), "--out", str(deep), "--backend", "postgres",
        "--profile", "simulation",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "too long" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not deep.parent.exists()
    closed = postgres_tmp / "closed"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    done = run_cpw(
        "deploy", str(pg_built / "population"), "--out", str(closed / "dep"), "--backend",
        "postgres", "--profile", "simulation",
    )  # fmt: skip
    if os.geteuid() == 0:  # the server runs as another user, who cannot pass through
        assert done.returncode == 2 and "cannot traverse" in done.stderr
        assert list(closed.iterdir()) == []
    else:
        assert done.returncode == 0, done.stderr
        run_cpw("postgres", "stop", str(closed / "dep"), "--mode", "immediate")


def test_cli_stops_reports_and_starts_the_servers(pg_deployment):
    stopped = run_cpw("postgres", "stop", str(pg_deployment))
    assert stopped.returncode == 0 and "replica, primary" in stopped.stdout
    status = run_cpw("postgres", "status", str(pg_deployment))
    assert "primary: stopped" in status.stdout and "replica: stopped" in status.stdout
    started = run_cpw("postgres", "start", str(pg_deployment))
    assert "primary: running" in started.stdout and "replica: running" in started.stdout
    primary = Topology(pg_deployment).primary()
    with psycopg.connect(primary.conninfo(DATABASE)) as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] > 0
    wrong = run_cpw("postgres", "status", str(pg_deployment.parent))
    assert wrong.returncode == 2 and wrong.stderr.startswith("cpw: error:")


def test_force_replacing_a_postgres_deployment_stops_its_servers_first(pg_deployment, pg_built):
    pids = [pg.postmaster_pid(server) for server in Topology(pg_deployment).servers()]
    assert all(pids)
    done = run_cpw(
        "deploy", str(pg_built / "population"), "--out", str(pg_deployment), "--force",
        "--profile", "simulation",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not any(running(pid) for pid in pids)  # no server left orphaned
    assert not Topology(pg_deployment).exists()  # now a SQLite deployment


def running(pid: int) -> bool:
    """A live process (a zombie waiting for its parent to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_one_extract_per_authority_taken_from_the_server(pg_deployment):
    extracts = [
        s for s in load_inventory(pg_deployment).of_kind("authority-extract")
        if s.path.endswith("-postgres.csv")
    ]  # fmt: skip
    primary = Topology(pg_deployment).primary()
    with psycopg.connect(primary.conninfo(DATABASE)) as conn:
        counts = dict(conn.execute("SELECT authority_code, count(*) FROM child GROUP BY 1"))
    assert {s.holder.split()[0] for s in extracts} == set(counts)
    for store in extracts:
        path = pg_deployment / store.path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        lines = path.read_text().splitlines()
        assert lines[0].startswith("child_id,forename,surname")
        assert len(lines) - 1 == counts[store.holder.split()[0]]


def test_an_index_fed_from_the_source_feeds_is_served_from_the_primary(postgres_tmp, pg_built):
    """--from-feeds builds the matched index as a SQLite file first; it is copied onto the
    primary and removed, so the deployment holds no SQLite index and serves the fed records
    and the canaries from the server."""
    out = postgres_tmp / "fed"
    done = run_cpw(
        "deploy", str(pg_built / "population"), "--out", str(out), "--backend", "postgres",
        "--from-feeds", "--canaries", "5", "--profile", "simulation",
    )  # fmt: skip
    try:
        assert done.returncode == 0, done.stderr
        assert f"cpw postgres stop {out}" in " ".join(done.stdout.split())  # servers left running
        assert not list(out.rglob("*.db")) and not (out / "index").exists()
        assert (postgres_tmp / "fed.feed-truth.parquet").is_file()
        canaries = __import__("json").loads((postgres_tmp / "fed.canaries.json").read_text())
        with psycopg.connect(Topology(out).primary().conninfo(DATABASE)) as conn:
            ids = [row[0] for row in conn.execute("SELECT child_id FROM child")]
        assert len(ids) > 100 and {c["child_id"] for c in canaries} <= set(ids)
    finally:
        run_cpw("postgres", "stop", str(out), "--mode", "immediate")
