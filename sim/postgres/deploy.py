"""`cpw deploy --backend postgres`: the SQLite deployment plus its PostgreSQL topology.

The deployment `cpw deploy` makes (accounts, audit, key store, extracts, requests, holds,
canaries) is made first; then the index is loaded into a PostgreSQL primary, a streaming replica
and sealed base backups are made, and the WAL archive fills. The key store gains one data key
per base backup and the inventory one entry per place. If any part fails, the servers are
stopped and the whole deployment is removed: nothing half-made is left.
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
from sim.index.layout import Layout, StoreEntry, inventory_text
from sim.index.store.backends import open_index
from sim.outputs import write_private
from sim.postgres import server as pg
from sim.postgres.topology import Topology, build_topology, stop_all, write_negative_control

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
    report = deploy(population, out, extra_keys=keys, **options)  # type: ignore[arg-type]
    layout = Layout(report.path.resolve())
    try:
        deleted = _child_to_delete(layout)
        entries = build_topology(
            layout.root, layout.index, keys, str(on), deleted_child=deleted["child_id"]
        )
        write_negative_control(layout.beside(NEGATIVE_CONTROL), deleted)
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
        report.stores + len(entries), report.unlisted, seconds, report.audit_fingerprint,
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


def _extend_inventory(layout: Layout, entries: list[StoreEntry]) -> None:
    """The inventory with the topology's places added, replaced atomically (it holds no key)."""
    raw = tomllib.loads(layout.inventory.read_text())
    stores = [StoreEntry(**store) for store in raw.pop("stores")]
    header = {**raw, "backend": BACKEND}
    partial = layout.inventory.with_name(layout.inventory.name + ".partial")
    partial.unlink(missing_ok=True)
    write_private(partial, inventory_text(header, stores + entries))
    os.replace(partial, layout.inventory)
