"""`cpw index retention` and `cpw index sar` on a deployment, as an authority would run them."""

import json
from pathlib import Path

import pytest

from sim.deployment.deploy import deploy
from sim.index.audit import read_audit
from sim.population.output import write_population
from sim.population.synth import SynthRequest


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle-cli")
    write_population(SynthRequest(2, 0.01, ("E08000001",)), root / "population")
    deploy(root / "population", root / "dep", canaries=3, profile="simulation")
    return root


def test_a_request_runs_from_receipt_to_disclosure(deployment, tmp_path, cpw):
    """Receive, fee, identity, disclose: each step audited; the pack holds the child's record."""
    canary = json.loads(Path(f"{deployment}.canaries.json").read_text())[0]
    child = canary["child_id"]
    # the child asks if of an age to (12, data/index/sar.toml child_request_age), else a parent
    twelve = f"{int(canary['date_of_birth'][:4]) + 12}{canary['date_of_birth'][4:]}"
    who = "child" if twelve <= "2010-02-01" else "parent"
    env = {"CPW_AT": "2010-02-01T10:00"}
    received = cpw("index", "sar", "receive", str(deployment), child, "--on", "2010-02-01",
                   "--requester", who, env=env)  # fmt: skip
    assert received.returncode == 0, received.stderr
    number = received.stdout.split()[1].rstrip(":")
    for step, extra in [("fee", ["--amount", "10"]), ("identity", []), ("disclose", [])]:
        args = ["index", "sar", "step", str(deployment), number, step, "--on", "2010-02-05"]
        result = cpw(*args, *extra, "--pack", str(tmp_path / "pack.json"), env=env)
        assert result.returncode == 0, result.stderr
    pack = json.loads((tmp_path / "pack.json").read_text())
    assert pack["record"]["index_id"] == child
    again = cpw("index", "sar", "step", str(deployment), number, "fee", env=env)
    assert again.returncode == 2 and "already disclosed" in again.stderr
    log = read_audit(deployment / "audit" / "audit.jsonl")
    assert log.filter(log["action"] == "sar.fee")["outcome"].to_list()[-1] == "refused"


def test_a_fee_short_of_the_fee_asked_is_refused(deployment, cpw):
    """The clock starts only when the fee asked (at most 10 GBP) is paid: less is refused."""
    child = json.loads(Path(f"{deployment}.canaries.json").read_text())[1]["child_id"]
    env = {"CPW_AT": "2010-02-01T10:00"}
    received = cpw("index", "sar", "receive", str(deployment), child, env=env)
    number = received.stdout.split()[1].rstrip(":")
    result = cpw("index", "sar", "step", str(deployment), number, "fee", "--amount", "5", env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_retention_run_archives_adults_and_is_audited(deployment, cpw):
    """Run at a later date, records of those now adult are archived, and the run is audited."""
    result = cpw(
        "index",
        "retention",
        "run",
        str(deployment),
        "--as-of",
        "2016-01-01",
        env={"CPW_AT": "2016-01-01T02:00"},
    )
    assert result.returncode == 0, result.stderr
    assert "adult age" in result.stdout
    log = read_audit(deployment / "audit" / "audit.jsonl")
    assert "retention run" in log["action"].to_list()
    repeat = cpw(
        "index",
        "retention",
        "run",
        str(deployment),
        "--as-of",
        "2016-01-01",
        env={"CPW_AT": "2016-01-01T03:00"},
    )
    assert "archived none; purged 0" in repeat.stdout


def test_the_fee_asked_never_exceeds_the_cap(deployment, cpw):
    """Whatever the request, the fee due printed is at most 10 GBP (SI 2000/191 reg 3)."""
    child = json.loads(Path(f"{deployment}.canaries.json").read_text())[2]["child_id"]
    received = cpw(
        "index", "sar", "receive", str(deployment), child, env={"CPW_AT": "2010-03-01T09:00"}
    )
    assert received.returncode == 0
    assert float(received.stdout.split("fee due ")[1].split()[0]) <= 10
