"""The workbench's PostgreSQL clusters: real servers, run as the unprivileged user."""

import os
import pwd
import stat
from pathlib import Path

import psycopg
import pytest

from sim.postgres import server as pg


def test_session_cluster_answers_as_the_superuser_over_its_socket_only(postgres_server):
    with psycopg.connect(postgres_server.conninfo()) as conn:
        user, listen = conn.execute(
            "SELECT current_user, current_setting('listen_addresses')"
        ).fetchone()
    assert user == pg.SUPERUSER
    assert listen == ""  # no TCP address at all: the owner-only socket directory is the guard
    assert (postgres_server.socket_dir / f".s.PGSQL.{postgres_server.port}").exists()


def test_server_runs_as_the_unprivileged_user_owning_an_owner_only_data_dir(postgres_server):
    expected = pg.SERVER_OS_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert postgres_server.user == expected
    info = postgres_server.data_dir.stat()
    assert pwd.getpwuid(info.st_uid).pw_name == expected
    assert stat.S_IMODE(info.st_mode) == 0o700
    pid = pg.postmaster_pid(postgres_server)
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    real_uid = int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1])
    assert pwd.getpwuid(real_uid).pw_name == expected


def test_each_database_fixture_is_fresh_and_separate(postgres_database, postgres_server):
    with psycopg.connect(postgres_database) as conn:
        conn.execute("CREATE TABLE marker (x int)")
        name = conn.execute("SELECT current_database()").fetchone()[0]
    assert name.startswith("t_")
    with psycopg.connect(postgres_server.conninfo()) as conn:
        others = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()[0]
    assert others == 1


def test_stop_start_keeps_data_and_a_kill_recovers(postgres_tmp):
    server = pg.init_cluster(postgres_tmp / "c")
    assert not pg.is_running(server)
    pg.start(server)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    pg.stop(server)
    assert not pg.is_running(server)
    pg.start(server)
    pg.kill(server)
    assert not pg.is_running(server)
    assert pg.postmaster_pid(server) is not None  # died uncleanly: its pid file stays
    pg.start(server)  # crash recovery replays the WAL
    with psycopg.connect(server.conninfo()) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
    assert pg.open_server(server.data_dir) == server
    pg.stop(server, mode="immediate")
    assert not pg.is_running(server)


def test_settings_are_applied(postgres_tmp):
    server = pg.init_cluster(postgres_tmp / "c", settings={"wal_level": "replica"})
    pg.start(server)
    try:
        with psycopg.connect(server.conninfo()) as conn:
            assert conn.execute("SHOW wal_level").fetchone() == ("replica",)
    finally:
        pg.stop(server, mode="immediate")


def test_missing_binaries_is_one_line_naming_the_place(monkeypatch, tmp_path):
    monkeypatch.setenv("CPW_POSTGRES_BIN", str(tmp_path / "nowhere"))
    with pytest.raises(pg.PostgresError) as caught:
        pg.postgres_bin()
    message = str(caught.value)
    assert "\n" not in message
    assert "CPW_POSTGRES_BIN=" in message and "postgresql" in message


def test_refuses_a_non_empty_directory_and_a_socket_path_too_long(postgres_tmp):
    busy = postgres_tmp / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    with pytest.raises(pg.PostgresError, match="not empty"):
        pg.init_cluster(busy)
    deep = postgres_tmp / ("d" * 120)
    with pytest.raises(pg.PostgresError, match="too long"):
        pg.init_cluster(deep)
    assert not deep.exists()


def test_an_untraversable_parent_is_named(postgres_tmp):
    closed = postgres_tmp / "closed"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    if os.geteuid() == 0:
        with pytest.raises(pg.PostgresError, match="cannot traverse"):
            pg.init_cluster(closed / "c")
    else:  # the server runs as ourselves: our own owner-only directories are fine
        pg.stop(pg.init_cluster(closed / "c"))
        assert (closed / "c" / "PG_VERSION").exists()


def test_stop_mode_is_checked(postgres_server):
    with pytest.raises(pg.PostgresError, match="stop mode"):
        pg.stop(postgres_server, mode="gentle")
    assert pg.is_running(postgres_server)
