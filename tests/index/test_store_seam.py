"""The store seam stays narrow: SQL lives only in the store implementations, every SQLite class
keeps the protocol it stands behind, and the factory opens stores by backend name."""

import ast
import datetime as dt
import inspect
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.index.access import Account, NewAccount, Session, load_access_rules
from sim.index.access.sessions import SessionStore
from sim.index.access.store import AccountExists, AccountStore, ServiceState
from sim.index.access.usage import UsageCounters, UsageWindow
from sim.index.store import IndexStore, protocols
from sim.index.store.backends import BACKENDS, open_access, open_index
from sim.index.store.sqlite import SqliteStore
from sim.index.store.sqlite_accounts import SqliteAccountStore
from sim.index.store.sqlite_sessions import SqliteSessionStore
from sim.index.store.sqlite_usage import SqliteUsageCounters, SqliteUsageWindow

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("sim", "decommission", "bench", "tools")
# Who may import sqlite3, and why. Everything else reaches a database through the protocols.
SQLITE_ALLOWED = {
    "sim/index/store/sqlite*.py": "the SQLite backend itself",
    "decommission/*.py": "decommissioning reads and destroys the SQLite files as files",
    "sim/cli/decommission.py": "reports an unreadable SQLite file as the runbook's stop",
    "bench/bench_index.py": "times a plain SQLite table beside the index (its own scratch file)",
    "bench/bench_real_lookups.py": "times a plain SQLite query on a copy of the deployment's index",
    "bench/bench_postgres.py": "reads the baseline SQLite index for the queries it times",
    "bench/crash_campaign.py": "a fault harness that reads the killed deployment's file directly",
}
# Who may import the SQLite implementation modules or classes (sim.index.store.sqlite*,
# sim.index.store.SqliteStore) by name.
IMPLEMENTATION_ALLOWED = {
    "sim/index/store/*.py": "the store package: the backend and its factory",
    "decommission/*.py": "an archived index is opened in memory from the archive's bytes",
    "bench/bench_index.py": "the in-process benchmark opens the SQLite index it built",
    "bench/bench_index_backends.py": "times each backend's store class side by side",
    "bench/bench_postgres.py": "times the PostgreSQL store beside the SQLite one",
}


def _python_files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _allowed(path: Path, patterns: dict[str, str]) -> bool:
    relative = path.relative_to(ROOT)
    return any(relative.match(pattern) for pattern in patterns)


def test_only_the_store_implementations_and_decommissioning_import_sqlite3():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files()
        if any(name.split(".")[0] == "sqlite3" for name in _imports(path))
        and not _allowed(path, SQLITE_ALLOWED)
    ]
    assert offenders == [], f"sqlite3 imported outside the store seam: {offenders}"


def test_callers_reach_the_sqlite_classes_only_through_the_factory():
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files()
        if any(name.lower().startswith("sim.index.store.sqlite") for name in _imports(path))
        and not _allowed(path, IMPLEMENTATION_ALLOWED)
    ]
    assert offenders == [], f"a SQLite class used past the factory: {offenders}"


def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for klass in protocol.__mro__
        if klass.__module__ != "typing" and klass is not object
        for name, member in vars(klass).items()
        if callable(member) and not name.startswith("_")
    }


PAIRS = [
    *[(getattr(protocols, name), SqliteStore) for name in protocols.__all__],
    (IndexStore, SqliteStore),
    (AccountStore, SqliteAccountStore),
    (ServiceState, SqliteAccountStore),
    (SessionStore, SqliteSessionStore),
    (UsageCounters, SqliteUsageCounters),
    (UsageWindow, SqliteUsageWindow),
]


@pytest.mark.parametrize(("protocol", "implementation"), PAIRS, ids=lambda c: c.__name__)
def test_each_sqlite_class_keeps_its_protocol(protocol, implementation):
    """Every method of the protocol exists with the same parameters (names, kinds, defaults)."""
    for name, expected in _members(protocol).items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        actual = inspect.signature(getattr(implementation, name))
        shape = [(p.name, p.kind, p.default) for p in expected.parameters.values()]
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == shape, name


def test_an_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="unknown store backend 'oracle'"):
        open_index(tmp_path / "index.db", backend_name="oracle")
    assert "sqlite" in BACKENDS


def test_the_factory_opens_the_accounts_stores_on_one_database(tmp_path):
    """A username taken is the seam's own error (no sqlite3 exception escapes), and a switch-off
    through ServiceState ends a session the SessionStore holds."""
    stores = open_access(tmp_path / "accounts.db", rules=load_access_rules())
    now = dt.datetime(2010, 1, 4, 9, 0)
    new = NewAccount("sam", "Sam", "Jones", "health", "Bolton PCT", "nhs", None, "practitioner")
    stores.accounts.insert(Account(**vars(new), created_at=now))
    with pytest.raises(AccountExists):
        stores.accounts.insert(Account(**vars(new), created_at=now))
    session = Session(
        "s1", "sam", "practitioner", None, "Bolton PCT", "nhs", "health", "Jones", now
    )
    stores.sessions.start_many([session])
    assert stores.sessions.live_reason("s1") is None
    assert stores.service.revoke_all(now) == 1
    assert stores.service.closed_at() == now.isoformat()
    assert stores.sessions.live_reason("s1") == "session_revoked"
    stores.close()
