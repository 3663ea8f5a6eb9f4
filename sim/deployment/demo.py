"""Demo users and a day of real activity, so a new deployment's audit log is not empty.

Users: one national administrator, two management-team members in an early-adopter authority
(shielding needs two: the requester may not decide), one in a national authority, and
practitioners in both (roll-out phases: Hansard Lords WMS 26 Jan 2009). Their credentials go
to a file outside the deployment. Activity goes through the facade exactly as a practitioner's
would: login with a token code, searches, views with a reason, a mistyped PIN, logout.
"""

import datetime as dt
import secrets
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from sim.deployment.settings import deployment_settings
from sim.errors import WorkbenchError
from sim.index.access import NewAccount, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.service import ContactPoint
from sim.index.view import view_reasons
from sim.reference.authorities import load_authorities
from sim.reference.rollout import load_rollout

NETWORKS = {"local_authority": "GCSx", "national": "GSi"}
VETTED_DAYS_BEFORE = 90


@dataclass(frozen=True)
class DemoUser:
    """A demo account and everything needed to log in as it (kept outside the deployment)."""

    username: str
    role: str
    authority_code: str | None
    organisation: str
    network: str
    password: str
    pin: str
    token_secret: str


def _authorities(present: list[str]) -> tuple[str, str]:
    """An early-adopter authority and a national one, from the population where possible."""
    early = [m.code for m in load_rollout().early_adopters.members]
    ours = [c for c in present if c in early] or early[:1]
    national = [c for c in present if c not in early]
    national = national or [a.code for a in load_authorities() if a.code not in early][:1]
    return ours[0], national[0]


def _plan(present: list[str], users: int) -> list[tuple[str, str, str | None]]:
    """(username, role, authority) for `users` accounts (at least five)."""
    early, national = _authorities(present)
    plan: list[tuple[str, str, str | None]] = [
        ("national-admin", "national_administrator", None),
        (f"manager1-{early.lower()}", "management_team", early),
        (f"manager2-{early.lower()}", "management_team", early),
        (f"manager1-{national.lower()}", "management_team", national),
    ]
    for n in range(users - len(plan)):
        code = (early, national)[n % 2]
        plan.append((f"practitioner{n // 2 + 1}-{code.lower()}", "practitioner", code))
    return plan


def _names(practitioners: pl.DataFrame, count: int) -> list[tuple[str, str]]:
    rows = practitioners.select("forename", "surname").head(count).rows()
    return rows + [("Demo", "User")] * (count - len(rows))


def create_demo_users(
    service: ContactPoint, tables: dict[str, pl.DataFrame], users: int, on: dt.date
) -> list[DemoUser]:
    """Open, vet and give a token to each demo account, as the operator ("system")."""
    present = sorted(tables["children"]["authority_code"].unique().to_list())
    plan = _plan(present, users)
    now = dt.datetime.combine(on, dt.time(8, 0))
    names = _names(tables["practitioners"], len(plan))
    made = []
    for (username, role, code), (forename, surname) in zip(plan, names, strict=True):
        kind = "national" if code is None else "local_authority"
        organisation = code or "ContactPoint national team"
        sector = "central government" if code is None else "social care"
        new = NewAccount(username, forename, surname, sector, organisation, kind, code, role)
        password = secrets.token_urlsafe(12)
        pin = f"{secrets.randbelow(10**6):06d}"
        vetted = on - dt.timedelta(days=VETTED_DAYS_BEFORE)
        service.add_user(new, password, pin, vetted_on=vetted, by=None, now=now)
        service.issue_token(username, by=None, now=now)
        secret = collect_letter(service.access.letters, username)  # the holder takes it
        made.append(
            DemoUser(username, role, code, organisation, NETWORKS[kind], password, pin, secret)
        )
    return made


def run_activity(
    service: ContactPoint,
    users: list[DemoUser],
    tables: dict[str, pl.DataFrame],
    on: dt.date,
    rng: np.random.Generator,
) -> int:
    """Each non-administrator logs in, searches, views and logs out; returns audit entries."""
    settings = deployment_settings()
    children = tables["children"]
    reasons = view_reasons()
    start = service.audit.entries
    clock = dt.datetime.combine(on, dt.time(9, 0))
    for number, user in enumerate(u for u in users if u.authority_code):
        clock += dt.timedelta(minutes=7)
        if number == 0:  # a mistyped PIN: the log should show a refusal too
            try:
                code = token_code(user.token_secret, clock, service.access.rules)
                wrong = f"{(int(user.pin) + 1) % 10**6:06d}"
                service.login(
                    user.username, user.password, wrong, code, network=user.network, now=clock
                )
            except WorkbenchError:
                clock += dt.timedelta(minutes=1)
        try:
            code = token_code(user.token_secret, clock, service.access.rules)
            session = service.login(
                user.username, user.password, user.pin, code, network=user.network, now=clock
            )
        except WorkbenchError:
            continue  # refused (before roll-out, say): audited by the facade
        local = children.filter(pl.col("authority_code") == user.authority_code)
        picks = rng.choice(
            local.height, size=min(settings.activity_searches.value, local.height), replace=False
        )
        for turn, row in enumerate(local[np.sort(picks)].iter_rows(named=True)):
            clock += dt.timedelta(minutes=2)
            query = {"surname": row["surname"], "date_of_birth": row["date_of_birth"]}
            try:
                result = service.search(session, query, now=clock)
                if result.hits and turn < settings.activity_views.value:
                    reason = reasons[int(rng.integers(len(reasons)))]
                    service.view(session, result.hits[0].child_id, reason, now=clock)
            except WorkbenchError:
                continue
        service.logout(session, now=clock)
    return service.audit.entries - start


def credentials_document(users: list[DemoUser]) -> dict[str, object]:
    return {
        "warning": "demo credentials for a synthetic rehearsal; keep outside the deployment",
        "users": {u.username: asdict(u) for u in users},
    }
