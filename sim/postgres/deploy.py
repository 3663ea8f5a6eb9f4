"""`cpw deploy --backend postgres`: a deployment served from a PostgreSQL primary.

The deployment `cpw deploy` makes (accounts, audit, key store, extracts, requests, holds,
canaries) is made first, without the SQLite index's DR replica and backups (the streaming
replica and sealed base backups take their place); then the index is loaded into a PostgreSQL
primary, the replica and base backups are made, and the WAL archive fills. The accounts
database moves onto the same primary, `backend.toml` names both databases (the socket directory
relative to the deployment, no password), and the SQLite index and accounts files are removed:
the facade, `cpw serve`, `cpw index` and decommissioning all read the primary. The key store
gains one data key per base backup and the inventory one entry per place; its live-index and
accounts entries name the databases on the primary. If any part fails, the servers are stopped
and the whole deployment is removed: nothing half-made is left.
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

from sim.deployment.deploy import SIDE_FILES, DeployReport, deploy
from sim.index.layout import Layout, StoreEntry, inventory_text, write_backend
from sim.index.store.backends import open_index
from sim.outputs import write_private
from sim.postgres import server as pg
from sim.postgres.topology import (
    ACCOUNTS_DATABASE,
    DATABASE,
    TOPOLOGY_DIR,
    Topology,
    build_topology,
    stop_all,
    write_negative_control,
)

BACKEND = "postgres"
DEFAULT_DAY = dt.date(2010, 1, 4)
NEGATIVE_CONTROL = "postgres-deleted.json"
"""Beside the deployment: the child deleted from the primary before its replica and backups."""


def deploy_postgres(population: Path, out: Path, **options: object) -> DeployReport:
    """`deploy` (same options), then the PostgreSQL topology inside the same directory."""
    started = time.perf_counter()
    pg.postgres_bin()  # PostgreSQL missing, or a place it cannot run in: refused before any work
    user = pg.server_os_user()
    primary_dir = Topology(Path(out).resolve()).primary_dir
    pg.check_socket_path(primary_dir)
    pg.check_traversable(Path(out).resolve(), user)
    on = options.get("on", DEFAULT_DAY)
    keys = {f"pg-base-{on}": os.urandom(32)}
    report = deploy(population, out, extra_keys=keys, index_copies=False, **options)  # type: ignore[arg-type]
    layout = Layout(report.path.resolve())
    try:
        deleted = _child_to_delete(layout)
        entries = build_topology(
            layout.root, layout.index, keys, str(on), deleted_child=deleted["child_id"],
            accounts_db=layout.accounts, children=report.children,
        )  # fmt: skip
        write_negative_control(layout.beside(NEGATIVE_CONTROL), deleted)
        _serve_from_primary(layout, Topology(layout.root).primary())
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
    with closing(open_index(layout.index, read_only=True)) as index:
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


def _serve_from_primary(layout: Layout, primary: pg.Server) -> None:
    """backend.toml naming the index and accounts databases on the primary (build_topology
    copied both there), then the SQLite index and accounts files removed."""
    write_backend(layout, _relative_conninfo(primary, DATABASE), _relative_conninfo(
        primary, ACCOUNTS_DATABASE))  # fmt: skip
    for path in (layout.index, layout.accounts):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        path.parent.rmdir()


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
