"""Lookups through the real index facade (sim.index.service.ContactPoint) on a small deployment."""

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from sim.deployment.deploy import deploy
from sim.index.access import token_code
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.regimes import (
    FacadeLookup,
    Identities,
    LookupRequests,
    SimulationConfig,
    practitioner_credentials,
    run_simulation,
)

BOLTON, WIGAN = "E08000001", "E08000010"  # early adopters; practitioners only in Bolton
LANCASHIRE = "E10000017"  # a national authority, with a practitioner account
MORNING = dt.datetime(2010, 1, 5, 10, 0)
# The deployment remembers each token's last accepted code (no replay), so each test uses
# its own day.


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Bolton, Wigan and Lancashire at 10%, deployed with the cheap 'simulation' argon2."""
    root = tmp_path_factory.mktemp("facade")
    request = SynthRequest(seed=1, scale=0.1, authority_codes=(BOLTON, WIGAN, LANCASHIRE))
    write_population(request, root / "pop")
    deploy(root / "pop", root / "dep", profile="simulation", users=6, canaries=0)
    children = pl.read_parquet(root / "pop" / "children")
    return root, children


class CountingService:
    """The real facade, with a count of the logins that pass through it."""

    def __init__(self, service: ContactPoint) -> None:
        self.service, self.logins = service, 0

    def login(self, *args, **kwargs):
        self.logins += 1
        return self.service.login(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.service, name)


def _requests(child_ids, authority, at):
    n = len(child_ids)
    return LookupRequests(
        list(child_ids), [authority] * n, at, np.zeros(n), np.zeros(n, dtype=bool)
    )


def _lookup(root, children, service):
    return FacadeLookup(
        service, practitioner_credentials(root / "dep.credentials.json"), Identities(children)
    )


def test_a_practitioner_finds_a_child_and_sees_the_services(deployment):
    """A Bolton practitioner searches by name and date of birth and sees who is involved."""
    root, children = deployment
    with ContactPoint.open(root / "dep", profile="simulation") as service:
        lookup = _lookup(root, children, service)
        picked = children.filter(pl.col("authority_code") == BOLTON)["child_id"].head(3).to_list()
        answers = lookup.lookup(_requests(picked, BOLTON, [MORNING] * 3))
        assert answers.found.all() and not answers.refused.any()
        for child_id, shown in zip(picked, answers.contacts_shown, strict=True):
            stored = service.store.read_record(child_id).record
            assert shown == (len(stored.services) > 0)


def test_logs_in_once_per_practitioner_per_day(deployment):
    """Several lookups in a day share one login; the next day needs a new one."""
    root, children = deployment
    with ContactPoint.open(root / "dep", profile="simulation") as real:
        service = CountingService(real)
        lookup = _lookup(root, children, service)
        picked = children.filter(pl.col("authority_code") == BOLTON)["child_id"].head(4).to_list()
        day = MORNING + dt.timedelta(days=1)
        times = [day + dt.timedelta(minutes=5 * i) for i in range(4)]
        lookup.lookup(_requests(picked, BOLTON, times))
        assert service.logins == 1
        lookup.lookup(_requests(picked[:1], BOLTON, [day + dt.timedelta(days=1)]))
        assert service.logins == 2


def test_a_shielded_child_shows_no_contacts(deployment):
    """After a four-eyes shielding decision, a lookup finds the child but shows no contacts."""
    root, children = deployment
    credentials = json.loads((root / "dep.credentials.json").read_text())["users"]
    target = children.filter(pl.col("authority_code") == BOLTON)["child_id"][5]
    day = MORNING + dt.timedelta(days=3)
    with ContactPoint.open(root / "dep", profile="simulation") as service:
        sessions = []
        for number, name in enumerate((f"manager1-{BOLTON.lower()}", f"manager2-{BOLTON.lower()}")):
            user = credentials[name]
            at = day + dt.timedelta(minutes=number)
            code = token_code(user["token_secret"], at, service.access.rules)
            sessions.append(
                service.login(
                    name, user["password"], user["pin"], code, network=user["network"], now=at
                )
            )
        request = service.request_shielding(sessions[0], target, "domestic abuse refuge", now=day)
        service.decide_shielding(sessions[1], request.request_id, True, now=day)
        answers = _lookup(root, children, service).lookup(
            _requests([target], BOLTON, [day + dt.timedelta(hours=1)])
        )
        assert answers.found[0] and answers.shielded[0]
        assert not answers.contacts_shown[0]


def test_no_account_or_before_roll_out_is_a_refusal(deployment):
    """An authority with no practitioner account, or a login before roll-out, finds nothing."""
    root, children = deployment
    with ContactPoint.open(root / "dep", profile="simulation") as service:
        lookup = _lookup(root, children, service)
        child = children["child_id"][0]
        day = MORNING + dt.timedelta(days=4)
        elsewhere = lookup.lookup(_requests([child], "E08000003", [day]))
        assert elsewhere.refused[0] and not elsewhere.found[0]
        early = lookup.lookup(_requests([child], LANCASHIRE, [dt.datetime(2009, 6, 1, 10)]))
        assert early.refused[0] and not early.contacts_shown[0]


def test_run_simulation_through_the_facade(deployment, eager, tmp_path):
    """A whole run answers ContactPoint lookups through the real index; the manifest says so."""
    root, children = deployment
    population = {
        name: pl.read_parquet(root / "pop" / name)
        for name in ("children", "schools", "gp_practices", "authorities")
    }
    with ContactPoint.open(root / "dep", profile="simulation") as service:
        lookup = _lookup(root, children, service)
        summary = run_simulation(
            population,
            SimulationConfig(
                seed=3,
                scenarios=("none", "contactpoint_kept"),
                start=dt.date(2010, 1, 12),
                end=dt.date(2010, 12, 31),
                lookup=lookup,
                paths=eager,
            ),
            tmp_path / "run",
        )
    assert summary.lookup_backend == "facade"
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["lookup_backend"] == "facade"
    lookups = pl.read_parquet(tmp_path / "run" / "regime_log.parquet").filter(
        pl.col("event") == "lookup"
    )
    in_bolton = lookups.filter(pl.col("authority") == BOLTON)
    # every child the deployment holds is found; a child born since it was made is not on it
    held = in_bolton["child_id"].is_in(children["child_id"].implode())
    assert in_bolton.filter(held).height > 0 and in_bolton.filter(held)["found"].all()
    assert not in_bolton.filter(~held)["found"].any()
    # Wigan has no practitioner account in the deployment: the index refuses, nothing is found
    in_wigan = lookups.filter(pl.col("authority") == WIGAN)
    assert not in_wigan["found"].any() and in_wigan["refused"].all()
