"""`cpw deploy`: a whole deployment of the index from a synthetic population, at any scale.

Makes every store a real deployment had (docs/index-design.md; docs/architecture.md "A deployment"):
the live index, a disaster-recovery replica, encrypted backup generations, authority extracts (some
that nobody put in the inventory), the audit log with signed checkpoints and a day of activity, the
key store, the accounts and token register, pending subject access requests and child-protection
holds, with canaries planted throughout. Written atomically: staged in a hidden directory and
renamed into place when complete. Canaries, demo credentials and the audit public key go beside the
deployment, outside its tree. With `from_feeds` the index is loaded from the population's source
feeds, matched, as the real one was (sim.deployment.fed), not from the population's truth.
"""

import datetime as dt
import json
import os
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.deployment.backend import open_deployment_index
from sim.deployment.backups import encrypt_file
from sim.deployment.canaries import plant_canaries
from sim.deployment.demo import create_demo_users, credentials_document, run_activity
from sim.deployment.fed import TRUTH_FILE, build_fed_index
from sim.deployment.settings import deployment_settings
from sim.errors import InputError
from sim.feeds.build import FEED_BUILD_TABLES
from sim.index.audit import AuditEvent, key_fingerprint, public_key_hex
from sim.index.build import POPULATION_TABLES, build_index
from sim.index.layout import (
    Layout,
    StoreEntry,
    inventory_text,
    write_keystore,
)
from sim.index.retention import export_holds, place_protection_hold
from sim.index.sar import export_requests, receive_request
from sim.index.service import ContactPoint
from sim.index.service_settings import profile_rules
from sim.index.store.backends import replicate_index
from sim.outputs import check_output_dir, owner_only_tree, staged_directory, write_private
from sim.population.output import read_population
from sim.streams import stream

ACTIVITY_STREAM = 102
HOLD_REASON = "child protection investigation (s47 enquiry) open"
SIDE_FILES = ("canaries.json", "credentials.json", "audit-public-key", "audit-witness")


@dataclass(frozen=True)
class DeployReport:
    path: Path
    children: int
    canaries: int
    users: int
    audit_entries: int
    stores: int
    unlisted: tuple[str, ...]
    seconds: float
    audit_fingerprint: str = ""


class IndexSink(Protocol):
    """Where `deploy` puts the index instead of the SQLite file (a server backend): the same
    frames, built once, go to the server, and the deployment is served from it."""

    def build(self, tables: dict[str, pl.DataFrame], layout: Layout) -> None:
        """The index built from population tables (canaries planted), backend.toml written."""

    def load(self, layout: Layout) -> None:
        """The SQLite index at layout.index (an index fed from the source feeds) moved onto
        the server, backend.toml written."""

    def close(self, layout: Layout) -> None:
        """Its servers stopped (before the tree is made owner-only and renamed, or removed)."""


def _extracts(
    root: Path, tables: dict[str, pl.DataFrame], service: ContactPoint, on: dt.date, actors: set
) -> list[tuple[str, str]]:
    """Authority extracts (CSV) made by management teams on the days before: (path, authority)."""
    count = deployment_settings().extracts.value
    codes = sorted(tables["children"]["authority_code"].unique().to_list())
    people = tables["children"].join(
        tables["households"].select("household_id", "address_line", "town", "postcode"),
        on="household_id",
    )
    made = []
    for n in range(count):
        code, day = codes[n % len(codes)], on - dt.timedelta(days=count - n)
        relative = f"extracts/{code}-{day.isoformat()}.csv"
        actor = f"manager1-{code.lower()}"
        actor = actor if actor in actors else "system"
        rows = people.filter(pl.col("authority_code") == code).drop("household_id")
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        rows.write_csv(root / relative)
        when = dt.datetime.combine(day, dt.time(16, 30))
        detail = {"authority": code, "rows": rows.height, "file": relative}
        service.audit.append(AuditEvent(when, actor, "extract", "allowed", None, None, detail))
        made.append((relative, code))
    return made


def _requests(
    service: ContactPoint, layout: Layout, children: pl.DataFrame, on: dt.date, seed: int
) -> None:
    """Pending subject access requests and child-protection holds, made through sim.index.sar
    and sim.index.retention (audited), then exported as the deployment's JSON lines."""
    settings = deployment_settings()
    rng = stream(seed, "index", ACTIVITY_STREAM, 1)
    sars, holds = (
        settings.pending_subject_access_requests.value,
        settings.child_protection_holds.value,
    )
    picks = rng.choice(children.height, size=min(sars + holds, children.height), replace=False)
    ids = children["child_id"].gather(picks).to_list()
    for n, child_id in enumerate(ids[:sars]):
        received = on - dt.timedelta(days=3 + 5 * n)
        at = dt.datetime.combine(received, dt.time(12, 0))
        outcome = receive_request(
            service.store, child_id, "parent", received, actor="system", at=at
        )
        service.audit.append(outcome.event)
    for n, child_id in enumerate(ids[sars:]):
        at = dt.datetime.combine(on - dt.timedelta(days=10 + 20 * n), dt.time(12, 0))
        event = place_protection_hold(service.store, child_id, HOLD_REASON, actor="system", at=at)
        service.audit.append(event)
    layout.sar.parent.mkdir(parents=True, exist_ok=True)
    layout.holds.parent.mkdir(parents=True, exist_ok=True)
    export_requests(service.store, layout.sar, on)
    export_holds(service.store, layout.holds)


def _stores(
    backups: list[tuple[str, str]], extracts: list[tuple[str, str]], listed: int, replica: bool
) -> list[StoreEntry]:
    entries = [
        StoreEntry("live index", "live-index", "index/index.db", "ContactPoint service operator",
                   "the index (SQLite, WAL: -wal/-shm files may exist while it is open)"),
    ]  # fmt: skip
    if replica:
        entries.append(
            StoreEntry("disaster-recovery replica", "dr-replica", "replica/index.db",
                       "disaster-recovery site", "copy made with the SQLite backup API")
        )  # fmt: skip
    entries += [
        StoreEntry(f"backup {path.split('/')[1]}", "backup", path, "backup operator",
                   "AES-256-GCM sealed copy of the index", True, key_id)
        for path, key_id in backups
    ]  # fmt: skip
    entries += [
        StoreEntry(f"extract {code}", "authority-extract", path, f"{code} management team",
                   "authority extract (CSV)")
        for path, code in extracts[:listed]
    ]  # fmt: skip
    entries += [
        StoreEntry("audit log", "audit-log", "audit/audit.jsonl", "ContactPoint service operator",
                   "hash-chained audit log (JSON lines)"),
        StoreEntry("audit checkpoints", "audit-log", "audit/audit.checkpoints.jsonl",
                   "ContactPoint service operator", "Ed25519-signed checkpoints of the audit log"),
        StoreEntry("key store", "key-store", "keys/keystore.json", "ContactPoint service operator",
                   "audit signing key and backup data keys"),
        StoreEntry("accounts and token register", "accounts", "accounts/accounts.db",
                   "ContactPoint service operator",
                   "accounts, password and PIN hashes, sessions, token secrets (token register)"),
        StoreEntry("subject access requests", "subject-access-requests", "sar/requests.jsonl",
                   "ContactPoint service operator", "subject access requests (JSON lines)"),
        StoreEntry("child-protection holds", "child-protection-holds", "holds/holds.jsonl",
                   "ContactPoint service operator", "records that must be kept (JSON lines)"),
    ]  # fmt: skip
    return entries


def deploy(
    population: Path,
    out: Path,
    *,
    seed: int = 1,
    canaries: int = 25,
    users: int = 8,
    on: dt.date = dt.date(2010, 1, 4),
    profile: str = "production",
    force: bool = False,
    from_feeds: bool = False,
    extra_keys: dict[str, bytes] | None = None,
    index_sink: IndexSink | None = None,
) -> DeployReport:
    """Build a deployment directory at `out` from a `cpw synth` directory.

    `extra_keys`: more data keys for the key store, by key_id (a server backend's backups).
    `index_sink`: the index goes there instead of a SQLite file, and no SQLite replica or
    sealed copies of it are made (the server backend makes its own)."""
    started = time.perf_counter()
    if canaries < 0 or users < 5:
        raise InputError("--canaries must be >= 0 and --users >= 5")
    profile_rules(profile)  # an unknown profile is refused before any work
    if not Path(population).is_dir():
        raise InputError(f"{population}: no population directory (make one with `cpw synth`)")
    final = Layout(Path(out))
    names = (*SIDE_FILES, TRUTH_FILE) if from_feeds else SIDE_FILES
    sides = {name: final.beside(name) for name in names}
    existing = [str(p) for p in sides.values() if p.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]}: exists (use --force to replace it)")
    check_output_dir(final.root, force)
    lazy = read_population(Path(population), FEED_BUILD_TABLES if from_feeds else POPULATION_TABLES)
    tables = {name: frame.collect() for name, frame in lazy.items()}
    if tables["children"].is_empty():
        raise InputError(f"{population}: the population has no children")
    staged = {name: final.root.parent / f".{final.root.name}.{name}.partial" for name in names}
    try:
        with staged_directory(final.root, force, private=True) as staging:
            try:
                entries, stores, unlisted, fingerprint = _make(
                    staging,
                    final.root.name,
                    tables,
                    seed,
                    canaries,
                    users,
                    on,
                    profile,
                    staged,
                    extra_keys or {},
                    index_sink,
                )
            finally:
                if index_sink is not None:  # no server left running in a tree removed
                    index_sink.close(Layout(staging))
    except BaseException:
        for path in staged.values():
            path.unlink(missing_ok=True)
        raise
    for name, path in staged.items():
        path.replace(sides[name])
    children = tables["children"].height + canaries
    seconds = time.perf_counter() - started
    return DeployReport(
        final.root, children, canaries, users, entries, stores, unlisted, seconds, fingerprint
    )


def _make(
    staging: Path,
    name: str,
    tables: dict[str, pl.DataFrame],
    seed: int,
    canaries: int,
    users: int,
    on: dt.date,
    profile: str,
    staged: dict[str, Path],
    extra_keys: dict[str, bytes],
    index_sink: IndexSink | None,
) -> tuple[int, int, tuple[str, ...], str]:
    """Every store, in the staging directory; returns (audit entries, stores, unlisted, the
    audit key's fingerprint)."""
    settings = deployment_settings()
    layout = Layout(staging)
    population = tables
    tables, planted = plant_canaries(tables, canaries, seed, on)
    for path in (layout.index, layout.audit, layout.accounts):
        path.parent.mkdir(parents=True, exist_ok=True)
    if TRUTH_FILE in staged:
        fed = build_fed_index(population, _canaries(tables, planted), layout.index, seed)
        fed.truth.write_parquet(staged[TRUTH_FILE])
        if index_sink is not None:
            index_sink.load(layout)
    elif index_sink is not None:
        index_sink.build(tables, layout)
    else:
        build_index(tables, layout.index)
    index_copies = index_sink is None
    interval = settings.backup_interval_days.value
    generations = settings.backup_generations.value if index_copies else 0
    days = [on - dt.timedelta(days=interval * g) for g in range(generations)]
    data_keys = {f"backup-{day.isoformat()}": os.urandom(32) for day in days}
    audit_key = Ed25519PrivateKey.generate()
    write_keystore(layout.keystore, audit_key, {**data_keys, **extra_keys}, os.urandom(32))
    for name, path in staged.items():
        if name != TRUTH_FILE:
            path.unlink(missing_ok=True)
    service = ContactPoint.open(staging, profile=profile, witness=staged["audit-witness"])
    try:
        demo = create_demo_users(service, tables, users, on)
        names = {user.username for user in demo}
        _requests(service, layout, _held(tables["children"], layout), on, seed)
        extracts = _extracts(staging, tables, service, on, names)
        run_activity(service, demo, tables, on, stream(seed, "index", ACTIVITY_STREAM, 0))
        entries = service.audit.entries
    finally:
        service.close()
    if index_copies:
        replicate_index(layout.index, layout.replica)
    if index_sink is not None:
        index_sink.close(layout)
    backups = []
    for day, (key_id, key) in zip(days, data_keys.items(), strict=True):
        relative = f"backups/{day.isoformat()}/index.db.enc"
        encrypt_file(layout.index, staging / relative, key)
        backups.append((relative, key_id))
    listed = len(extracts) - settings.unlisted_extracts.value
    stores = _stores(backups, extracts, listed, replica=index_copies)
    header = {
        "deployment": name,
        "made_on": on.isoformat(),
        "seed": seed,
        "children": tables["children"].height,
        "audit_public_key": public_key_hex(audit_key),
        "profile": profile,
    }
    if TRUTH_FILE in staged:
        header["index_from"] = "feeds"  # matched source feeds (a truth-built one says nothing)
    write_private(layout.inventory, inventory_text(header, stores))
    owner_only_tree(staging)
    write_private(staged["canaries.json"], json.dumps(planted.to_dicts(), indent=1) + "\n")
    write_private(staged["credentials.json"], json.dumps(credentials_document(demo), indent=1))
    staged["audit-public-key"].write_text(public_key_hex(audit_key) + "\n")
    fingerprint = key_fingerprint(audit_key)
    return entries, len(stores), tuple(path for path, _ in extracts[listed:]), fingerprint


def _canaries(tables: dict[str, pl.DataFrame], planted: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The canaries' own rows of the planted tables (children and households)."""
    if planted.is_empty():
        return {"children": tables["children"].clear(), "households": tables["households"].clear()}
    children = tables["children"].filter(pl.col("child_id").is_in(planted["child_id"].implode()))
    households = tables["households"].filter(
        pl.col("household_id").is_in(children["household_id"].implode())
    )
    return {"children": children, "households": households}


def _held(children: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """The children whose own index ID the index holds (a fed index issues new IDs to some)."""
    with closing(open_deployment_index(layout, read_only=True)) as index:
        ids = index.household_keys()["child_id"]
    return children.filter(pl.col("child_id").is_in(ids.implode()))
