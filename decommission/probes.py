"""Probes of every path into a real deployment's index, for the verified shutdown.

Each probe is what a practitioner, a case-management system, a feed or the public would try
after the switch-off, using sessions that were live just before it: a probe that returns got in
(and stops the rehearsal); a typed refusal is the evidence that the path is closed.
"""

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from decommission.shutdown import Probe
from decommission.standards import load_standards
from sim.errors import InputError, WorkbenchError
from sim.index.access import token_code
from sim.index.layout import Layout, read_backend
from sim.index.service import ContactPoint
from sim.index.view import view_reasons

SESSION_LEAD = dt.timedelta(minutes=10)  # sessions opened this long before the switch-off
PROBE_DELAY = dt.timedelta(minutes=1)  # probes run this long after it


class SystemSwitch:
    """The facade as the shutdown step drives it.

    The step names a person (`by`); the facade's `by` is an administrator's session, and the
    switch-off is the system operator's act (None), so the person goes to the evidence only.
    The facade also keeps naive local times (its audit clock), where the runbook gives aware ones.
    """

    def __init__(self, service: ContactPoint) -> None:
        self.service = service

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        return self.service.switch_off(by=None, now=_naive(now))


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _users(deployment: Path) -> dict[str, dict]:
    path = Path(f"{deployment}.credentials.json")
    if not path.is_file():
        raise InputError(f"{path}: the deployment's credentials file is missing")
    return json.loads(path.read_text())["users"]


def demo_user(deployment: Path, role: str) -> dict:
    """The first demonstration user (by username) with `role`, from the credentials `cpw
    deploy` writes beside the deployment."""
    return _first(_users(deployment), role)


def _first(users: dict[str, dict], role: str) -> dict:
    found = sorted((u for u in users.values() if u["role"] == role), key=lambda u: u["username"])
    if not found:
        raise InputError(f"the deployment has no demo user with role {role!r}")
    return found[0]


def facade_probes(
    service: ContactPoint, deployment: Path, switch_off_at: dt.datetime, attempt: int = 0
) -> dict[str, Probe]:
    """One probe per path (data/decommission/standards.toml `probe_paths`) on the real facade.

    `attempt` counts earlier attempts of a resumed run: sessions open one minute later each
    time, as a one-time code cannot be used twice (RFC 6238 5.2). If an earlier attempt already
    switched the index off, no session can be opened and the probes carry a stale session ID.
    """
    users = _users(deployment)
    practitioner = _first(users, "practitioner")
    manager = _first(users, "management_team")
    before = _naive(switch_off_at) - SESSION_LEAD + dt.timedelta(minutes=attempt)
    after = _naive(switch_off_at) + PROBE_DELAY

    def login(user: dict, when: dt.datetime) -> str:
        code = token_code(user["token_secret"], when, service.access.rules)
        return service.login(
            user["username"], user["password"], user["pin"], code,
            network=user["network"], now=when,
        )  # fmt: skip

    try:
        live_practitioner = login(practitioner, before)
        live_manager = login(manager, before + dt.timedelta(seconds=30))
    except WorkbenchError:  # switched off in an earlier attempt of this run
        live_practitioner = live_manager = "session-from-before-the-switch-off"
    canary = json.loads(Path(f"{deployment}.canaries.json").read_text())[0]
    stored = service.store.read_record(canary["child_id"])
    record = stored.record.model_dump(mode="json") if stored else {"index_id": canary["child_id"]}
    query = {"surname": canary["surname"], "date_of_birth": canary["date_of_birth"]}
    reason = view_reasons()[0]

    attempts: dict[str, Callable[[], object]] = {
        "login": lambda: login(practitioner, after),
        "search": lambda: service.search(live_practitioner, query, now=after),
        "view": lambda: service.view(live_practitioner, canary["child_id"], reason, now=after),
        "api": lambda: service.search(live_manager, {"index_id": canary["child_id"]}, now=after),
        "feed": lambda: service.amend_record(live_manager, record, now=after),
        "export": lambda: service.search(live_practitioner, {"surname": "S"}, now=after),
        "sar-portal": lambda: service.receive_subject_access_request(
            canary["child_id"], "parent", after.date(), now=after
        ),
    }
    return attempts


def unreachable_facade_probes(deployment: Path) -> dict[str, Probe]:
    """The facade's paths when its servers already refuse it (a resumed switch-off): each is
    tried by opening the facade anew, which only a refusal by the server stops."""

    def attempt() -> object:
        ContactPoint.open(Path(deployment)).close()
        return "opened"

    return {path: attempt for path in load_standards().probe_paths.value}


def sample_identifiers(deployment: Path, children: int = 50) -> list[str]:
    """Real identifiers from the live index for the residue scan beside the canaries: the index ID,
    current full name and postcode of `children` children spread evenly over the index (canaries
    are a handful of records, so a copy of part of the index holding none of them would pass a
    canary-only scan; docs/decommissioning-standards.md 5.4).
    Read-only, and by key: a handful of indexed look-ups at any scale. On a PostgreSQL
    deployment they are read from the primary as the archivist (decommission.postgres_held)."""
    layout = Layout(Path(deployment))
    if read_backend(layout).name != "sqlite":
        from decommission.postgres import archivist_conninfo
        from sim.index.store.postgres_connection import PgConnection

        connection = PgConnection(archivist_conninfo(layout.root))
        return _sample(connection, children)  # type: ignore[arg-type]
    # closing(): a sqlite3 connection used as a context manager only commits, and a connection
    # left open would hold the index while destruction needs it.
    return _sample(sqlite3.connect(f"file:{layout.index}?mode=ro", uri=True), children)


def _sample(connection: sqlite3.Connection, children: int) -> list[str]:
    with closing(connection) as db:
        low, high = db.execute("SELECT min(child_key), max(child_key) FROM child").fetchone()
        if low is None:
            return []
        step = max(1, (high - low + 1) // children)
        found: list[str] = []
        for key in range(low, high + 1, step)[:children]:
            row = db.execute(SAMPLE_SQL, (key,)).fetchone()
            if row:
                found += [row[0], f"{row[1]} {row[2]}", *([row[3]] if row[3] else [])]
    return list(dict.fromkeys(found))


SAMPLE_SQL = """
SELECT c.child_id, n.forename, n.surname, h.postcode
FROM child c JOIN name n ON n.child_key = c.child_key AND n.current = 1
LEFT JOIN household h ON h.household_key = c.household_key
WHERE c.child_key >= ? ORDER BY c.child_key LIMIT 1
"""
