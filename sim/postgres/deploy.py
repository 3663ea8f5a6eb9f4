"""`cpw deploy --backend postgres`: a deployment served from a PostgreSQL primary.

`cpw deploy` makes the deployment (accounts, audit, key store, extracts, requests, holds,
canaries) with the index built by the same code from the same frames, but loaded by COPY into
a PostgreSQL primary inside the deployment instead of a SQLite file (PrimarySink), and the
accounts database on the same primary: the demo users, requests, holds and the day's activity
are written there by the service itself, and no SQLite index or SQLite copy of it is made. Then
a child is deleted (the negative control), and the streaming replica, the base backups and the
extracts are made, and the WAL archive fills. `backend.toml` names both databases (the socket
directory relative to the deployment, no password). The key store gains one data key per base
backup and the inventory one entry per place; its live-index and accounts entries name the
databases on the primary. If any part fails, the servers are stopped and the whole deployment
is removed: nothing half-made is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import tomllib
from contextlib import closing
from pathlib import Path

import polars as pl

from sim.deployment.backend import open_deployment_index
from sim.deployment.deploy import SIDE_FILES, DeployReport, deploy
from sim.index.build import build_index_postgres
from sim.index.layout import Layout, StoreEntry, inventory_text, write_backend
from sim.index.store.backends import backend
from sim.outputs import staging_path_like, write_private
from sim.postgres import server as pg
from sim.postgres.topology import (
    ACCOUNTS_DATABASE,
    DATABASE,
    TOPOLOGY_DIR,
    Topology,
    finish_topology,
    grant_reader,
    init_primary,
    start_primary,
    stop_all,
    write_negative_control,
)

BACKEND = "postgres"
DEFAULT_DAY = dt.date(2010, 1, 4)
NEGATIVE_CONTROL = "postgres-deleted.json"
"""Beside the deployment: the child deleted from the primary before its replica and backups."""


class PrimarySink:
    """deploy's index on a new PostgreSQL primary inside the deployment (sim.deployment.deploy
    IndexSink): the index and accounts databases, served through backend.toml."""

    def build(self, tables: dict[str, pl.DataFrame], layout: Layout) -> None:
        primary = init_primary(layout.root, children=tables["children"].height)
        build_index_postgres(tables, primary.conninfo(DATABASE))
        self._serve(layout, primary)

    def load(self, layout: Layout) -> None:
        with closing(open_deployment_index(layout, read_only=True)) as index:
            children = sum(index.children_by_authority().values())
        primary = init_primary(layout.root, children=children)
        backend(BACKEND).copy_index(layout.index, primary.conninfo(DATABASE))
        self._serve(layout, primary)

    def close(self, layout: Layout) -> None:
        if Topology(layout.root).exists():
            stop_all(layout.root)

    @staticmethod
    def _serve(layout: Layout, primary: pg.Server) -> None:
        """The app's role granted reads, backend.toml naming both databases, and no SQLite
        index or accounts file left (a fed index was built as one first)."""
        grant_reader(primary)
        write_backend(layout, _relative_conninfo(primary, DATABASE), _relative_conninfo(
            primary, ACCOUNTS_DATABASE))  # fmt: skip
        for path in (layout.index, layout.accounts):
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink()


def deploy_postgres(population: Path, out: Path, **options: object) -> DeployReport:
    """`deploy` (same options) with its index and accounts on a PostgreSQL primary, then the
    rest of the topology inside the same directory."""
    started = time.perf_counter()
    pg.postgres_bin()  # PostgreSQL missing, or a place it cannot run in: refused before any work
    user = pg.server_os_user()
    final = Path(out).resolve()
    pg.check_socket_path(Topology(staging_path_like(final)).primary_dir)
    pg.check_traversable(final, user)
    on = options.get("on", DEFAULT_DAY)
    keys = {f"pg-base-{on}": os.urandom(32)}
    report = deploy(population, out, extra_keys=keys, index_sink=PrimarySink(), **options)  # type: ignore[arg-type]
    layout = Layout(report.path.resolve())
    try:
        start_primary(layout.root)
        deleted = _child_to_delete(layout)
        entries = finish_topology(layout.root, keys, str(on), deleted_child=deleted["child_id"])
        write_negative_control(layout.beside(NEGATIVE_CONTROL), deleted)
        for path in (layout.index, layout.accounts):
            path.parent.rmdir()  # emptied by PrimarySink
        _extend_inventory(layout, entries)
    except BaseException:
        stop_all(layout.root, mode="immediate")
        shutil.rmtree(layout.root, ignore_errors=True)
        for name in (*SIDE_FILES, NEGATIVE_CONTROL):
            layout.beside(name).unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - started
    return DeployReport(
        report.path, report.children, report.canaries, report.users, report.audit_entries,
        report.stores + len(entries), report.unlisted, seconds,
        report.audit_fingerprint,
    )  # fmt: skip


def _child_to_delete(layout: Layout) -> dict[str, str]:
    """A child in the middle of the index, not a canary and not under a hold or request."""
    kept = set()
    for path in (layout.holds, layout.sar, layout.beside("canaries.json")):
        kept |= {m for m in _child_ids(path)}
    with closing(open_deployment_index(layout, read_only=True)) as index:
        held = index.household_keys()["child_id"].to_list()  # in the order loaded
        candidates = [child_id for child_id in held if child_id not in kept]
        child_id = candidates[len(candidates) // 2]
        stored = index.read_record(child_id)
    name = stored.record.name if stored else None
    return {"child_id": child_id, "name": f"{name.forename} {name.surname}" if name else ""}


def _child_ids(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    text = path.read_text()
    if path.suffix == ".json":
        return {str(entry.get("child_id")) for entry in json.loads(text)}
    return {str(json.loads(line).get("child_id")) for line in text.splitlines() if line.strip()}


def _relative_conninfo(primary: pg.Server, database: str) -> str:
    """The socket directory relative to the deployment (sim.index.layout.read_backend
    anchors it)."""
    return f"host={TOPOLOGY_DIR}/primary port={primary.port} user={pg.SUPERUSER} dbname={database}"


SERVED = {
    "live-index": ("live index (PostgreSQL)", DATABASE,
                   "the index: database on the primary (its files are the primary's)"),
    "accounts": ("accounts and token register (PostgreSQL)", ACCOUNTS_DATABASE,
                 "accounts, password and PIN hashes, sessions, token secrets: database on the "
                 "primary"),
}  # fmt: skip
"""The SQLite deployment's entries that now name a database on the primary."""


def _extend_inventory(layout: Layout, entries: list[StoreEntry]) -> None:
    """The inventory with the topology's places added and the index and accounts entries
    naming their databases on the primary, replaced atomically (it holds no key)."""
    raw = tomllib.loads(layout.inventory.read_text())
    stores = []
    for store in (StoreEntry(**store) for store in raw.pop("stores")):
        if store.kind in SERVED:
            name, database, description = SERVED[store.kind]
            primary = f"{TOPOLOGY_DIR}/primary"
            store = StoreEntry(name, store.kind, primary, store.holder, description,
                               database=database)  # fmt: skip
        stores.append(store)
    header = {**raw, "backend": BACKEND}
    partial = layout.inventory.with_name(layout.inventory.name + ".partial")
    partial.unlink(missing_ok=True)
    write_private(partial, inventory_text(header, stores + entries))
    os.replace(partial, layout.inventory)
