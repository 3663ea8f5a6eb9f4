"""Secrets at rest: every file of a deployment is owner-only whatever the umask, and the token
register holds no token secret in clear."""

import datetime as dt
import json
import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from sim.deployment.deploy import deploy
from sim.index.access import NewAccount, token_code
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest

DAY = dt.datetime(2010, 1, 5, 10, 0)


@pytest.fixture(scope="module")
def loose(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployment made, then used (a user added, a SAR received), under umask 000."""
    root = tmp_path_factory.mktemp("umask")
    old = os.umask(0)
    try:
        pop = root / "pop"
        write_population(SynthRequest(seed=6, scale=0.01, authority_codes=("E08000001",)), pop)
        deploy(pop, root / "dep", canaries=2, profile="simulation")
        with ContactPoint.open(root / "dep", profile="simulation") as service:
            new = NewAccount(
                "ola", "Ola", "Adeyemi", "social care", "E08000001", "local_authority",
                "E08000001", "practitioner",
            )  # fmt: skip
            service.add_user(new, "a long passphrase", "24680", vetted_on=None, by=None, now=DAY)
            service.issue_token("ola", by=None, now=DAY)
            child = json.loads(Path(f"{root / 'dep'}.canaries.json").read_text())[0]
            service.receive_subject_access_request(child["child_id"], "parent", DAY.date(), now=DAY)
    finally:
        os.umask(old)
    return root / "dep"


def test_every_file_of_a_deployment_is_owner_only_under_umask_000(loose):
    """Child data, accounts, audit and keys: no file readable by group or others, no directory
    enterable by them, even when the process's umask would allow it."""
    paths = [loose, *loose.rglob("*")]
    open_to_others = [
        str(p.relative_to(loose.parent))
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) & (stat.S_IRWXG | stat.S_IRWXO)
    ]
    assert open_to_others == []
    beside = [Path(f"{loose}.{name}") for name in ("canaries.json", "credentials.json")]
    beside += [Path(f"{loose}.audit-witness"), Path(f"{loose}.token-letters") / "ola.json"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in beside)
    assert stat.S_IMODE(Path(f"{loose}.token-letters").stat().st_mode) == 0o700


def test_token_secrets_are_sealed_in_the_register(loose):
    """No token secret in accounts.db in clear, yet logins with the token's code still work."""
    users = json.loads(Path(f"{loose}.credentials.json").read_text())["users"]
    path = loose / "accounts" / "accounts.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        stored = [row[0] for row in db.execute("SELECT secret FROM tokens")]
    assert stored and all(value.startswith("aesgcm:") for value in stored)
    raw = path.read_bytes() + b"".join(
        p.read_bytes() for p in path.parent.iterdir() if p.name != path.name
    )
    assert not any(user["token_secret"].encode() in raw for user in users.values())
    name, user = next((n, u) for n, u in users.items() if u["role"] == "practitioner")
    with ContactPoint.open(loose, profile="simulation") as service:
        code = token_code(user["token_secret"], DAY, service.access.rules)
        session = service.login(
            name, user["password"], user["pin"], code, network=user["network"], now=DAY
        )
        assert service.access.session(session, now=DAY).username == name
