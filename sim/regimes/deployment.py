"""A deployment of the real index inside a run: checked against the run's population, copied,
and staffed with simulated practitioners.

A run never writes to the deployment it was given: each index that takes part (one per arm
and replication) works on its own copy of the stores the facade uses (the live index, the
accounts and token register, the key store, the audit log), so replications and arms never
share mutable state and results do not depend on how many workers ran them.

`cpw deploy` makes accounts in only two authorities (demo users); a simulated practitioner in
every authority of the run needs one, so the copy is provisioned through the facade's own
administration API with as many accounts per authority as it had live users
(sim.regimes.accounts), vetted, trained and holding a token, as an operator would before roll-out.
"""

import datetime as dt
import json
import secrets
import shutil
import tomllib
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.deployment.backend import open_deployment_index
from sim.deployment.deploy import SIDE_FILES
from sim.errors import InputError
from sim.index.access import NewAccount
from sim.index.access.enrolment import collect_letter
from sim.index.layout import Layout, read_backend
from sim.index.service import ContactPoint
from sim.regimes.accounts import accounts_per_authority
from sim.regimes.fed_index import check_fed, is_fed
from sim.regimes.lookup import Credential
from sim.regimes.parameters import regime_params

SIMULATED = "simulated"  # the prefix of every simulated practitioner's username
CASE_ACCOUNTS = f"{SIMULATED}case"  # the vulnerable movers' case lookups' own accounts
SIMULATION_PROFILE = "simulation"  # cheap argon2 for the simulated accounts (working copy only)
SAMPLE = 200  # children of the population looked for in the deployment's index


def _header(path: Path) -> dict:
    try:
        return tomllib.loads((path / "inventory.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a deployment (no readable inventory.toml: {exc})") from None


def check_deployment(path: Path, children: pl.DataFrame, population: str) -> dict:
    """Refuse a deployment not made by `cpw deploy` from this run's population; returns its
    inventory header. `population` describes the run's population for messages."""
    path = Path(path)
    layout = Layout(path)
    if not path.is_dir():
        raise InputError(f"{path}: no deployment here (make one with `cpw deploy`)")
    header = _header(path)
    backend = read_backend(layout)
    needed = [p for p in (backend.index, backend.accounts) if isinstance(p, Path)]
    needed += [layout.keystore, layout.audit]
    needed += [layout.beside(name) for name in ("credentials.json", "canaries.json")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise InputError(f"{path}: not a complete `cpw deploy` output ({missing[0]} missing)")
    canaries = json.loads(layout.beside("canaries.json").read_text())
    if not canaries:
        raise InputError(f"{path}: deployed with --canaries 0; the switch-off probes need one")
    if is_fed(header):
        problem = check_fed(path, header, children, len(canaries))
        if problem:
            raise InputError(
                f"{path}: not deployed from this run's population ({population}): {problem}; "
                "run `cpw synth` and `cpw deploy --from-feeds` with the run's seed, scale, region"
            )
        return header
    ids = children["child_id"].sort().gather_every(max(1, children.height // SAMPLE))
    with closing(open_deployment_index(layout, read_only=True)) as index:
        held = index.children_by_authority()
        found = index.dates_of_birth(ids.to_list())
    wanted = children.group_by("authority_code").len()
    counts = dict(wanted.iter_rows())
    problem = None
    extra, lacking = sorted(set(held) - set(counts)), sorted(set(counts) - set(held))
    if extra or lacking:
        problem = f"authorities differ (only in the deployment: {extra[:5]}; only in the run: "
        problem += f"{lacking[:5]})"
    elif sum(held.values()) - len(canaries) != children.height:
        problem = f"it holds {sum(held.values()) - len(canaries):,} children besides its "
        problem += f"{len(canaries)} canaries, the run's population {children.height:,}"
    else:
        born = dict(
            children.filter(pl.col("child_id").is_in(ids.implode()))
            .select("child_id", pl.col("date_of_birth").cast(pl.String))
            .iter_rows()
        )
        absent = [i for i in ids if found.get(i) != born[i]]
        if absent:
            problem = f"{len(absent)} of {len(ids)} sampled children (e.g. {absent[0]}) are not "
            problem += "in its index with the same date of birth"
    if problem:
        raise InputError(
            f"{path}: not deployed from this run's population ({population}): {problem}; "
            "run `cpw synth` and `cpw deploy` with the run's seed, scale and region"
        )
    return header


def check_copyable(deployment: Path) -> None:
    """Refuse a deployment a run cannot copy (one served from PostgreSQL)."""
    if read_backend(Layout(Path(deployment))).name != "sqlite":
        raise InputError(
            f"{deployment}: served from PostgreSQL; a run's working copy is made of a SQLite "
            "deployment only (deploy one without --backend postgres for the regimes)"
        )


def working_copy(deployment: Path, into: Path) -> Path:
    """Copy the stores the facade uses (and the files beside them) into `into`/NAME."""
    check_copyable(deployment)
    source, copy = Layout(Path(deployment)), Layout(Path(into) / Path(deployment).name)
    copy.root.mkdir(parents=True)
    shutil.copy2(source.inventory, copy.inventory)
    for part in ("index", "accounts", "keys", "audit"):
        shutil.copytree(source.root / part, copy.root / part)
    for name in SIDE_FILES:
        if source.beside(name).is_file():
            shutil.copy2(source.beside(name), copy.beside(name))
    return copy.root


def letters(number: int) -> str:
    """1 -> A, 26 -> Z, 27 -> Aa: a number as a name part (account names hold letters only)."""
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(ord("a") + rest) + out
    return out.capitalize()


def provision_practitioners(
    service: ContactPoint, accounts: Mapping[str, int], now: dt.datetime, prefix: str = SIMULATED
) -> dict[str, list[Credential]]:
    """Open `accounts[code]` vetted practitioner accounts with tokens in each authority, named
    PREFIX<n>-<code> (`prefix` starting with SIMULATED)."""
    access = service.access
    networks = access.rules.accredited_networks.value
    network = next(name for name, kinds in networks.items() if "local_authority" in kinds)
    staff: dict[str, list[Credential]] = {}
    for code, count in accounts.items():
        for number in range(1, count + 1):
            username = f"{prefix}{number}-{code.lower()}"
            password, pin = secrets.token_urlsafe(12), f"{secrets.randbelow(10**6):06d}"
            new = NewAccount(
                username, "Simulated", f"Practitioner {letters(number)}", "social care", code,
                "local_authority", code, "practitioner",
            )  # fmt: skip
            service.add_user(new, password, pin, vetted_on=now.date(), by=None, now=now)
            service.issue_token(username, by=None, now=now)
            # the holder takes it (unsynced where the letters were posted unsynced)
            secret = collect_letter(access.letters, username, durable=access.letters_durable)
            staff.setdefault(code, []).append(
                Credential(username, password, pin, secret, code, network)
            )
    return staff


def open_working_copy(root: Path, profile: str = SIMULATION_PROFILE) -> ContactPoint:
    """The service on a run's working copy: cheap hashing, and nothing synced to disk (the
    copy is thrown away after the run)."""
    service = ContactPoint.open(root, profile=profile)
    service.store.scratch()
    service.access.stores.accounts.scratch()
    service.audit.without_sync()
    service.access.without_sync()  # its accounts' token letters too
    return service


def opening_time(start: dt.date) -> dt.datetime:
    """When a run's simulated accounts are opened: 07:00 on its first day."""
    return dt.datetime.combine(start, dt.time(7, 0))


def held_by_authority(children: pl.DataFrame) -> dict[str, int]:
    """The run's children in each authority (GSS code)."""
    return dict(children.group_by("authority_code").len().iter_rows())


def run_accounts(held: Mapping[str, int]) -> dict[str, int]:
    """Accounts per authority for a run holding `held` children in each: as many as it had
    live users (sim.regimes.accounts), for each kind of lookup."""
    return accounts_per_authority(held, regime_params())


@dataclass(frozen=True)
class StaffedCopy:
    """A run's working copy of a deployment with the population lookups' accounts open."""

    root: Path
    staff: dict[str, list[Credential]]  # by authority


def staff_copy(root: Path, held: Mapping[str, int], start: dt.date) -> StaffedCopy:
    """Open the population lookups' accounts in the working copy at `root`."""
    with open_working_copy(root) as service:
        staff = provision_practitioners(service, run_accounts(held), opening_time(start))
    return StaffedCopy(root, staff)
