"""`cpw index leaving-england`: the management team records that a child has left England
(SI 2007/2182 Sch 1 para 2(d)); refusals exit 2 on one line and are audited."""

import datetime as dt
import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest

from sim.cli import main
from sim.deployment.deploy import deploy
from sim.index.audit import read_audit
from sim.index.retention import add_years, retention_rules
from sim.index.service import ContactPoint
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest

AUTHORITY = "E08000001"
MANAGER = "manager1-e08000001"
PRACTITIONER = "practitioner1-e08000001"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leaving-cli")
    write_population(SynthRequest(5, 0.01, (AUTHORITY,)), root / "population")
    deploy(root / "population", root / "dep", canaries=2, profile="simulation")
    return root


@pytest.fixture(scope="module")
def oldest(built: Path) -> tuple[str, dt.date]:
    """The authority's first child to turn 18 after 1 February 2010, when the tests record the
    status (index ID, date of birth)."""
    turned_18_by = dt.date(2010 - retention_rules().adult_age.value, 2, 1)
    children = read_population(built / "population")["children"]
    first = (
        children.filter(
            (pl.col("authority_code") == AUTHORITY) & (pl.col("date_of_birth") > turned_18_by)
        )
        .sort("date_of_birth")
        .first()
    )
    return first.select("child_id", "date_of_birth").collect().row(0)


def cpw(monkeypatch, capsys, *args: str, at: str) -> tuple[int, str, str]:
    """`cpw ARGS` in this process at clock `at`: exit status, stdout, stderr."""
    for name in [k for k in os.environ if k.startswith("CPW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CPW_AT", at)
    monkeypatch.setattr(sys, "argv", ["cpw", *args])
    status = 0
    try:
        main()
    except SystemExit as exited:
        status = exited.code or 0
    out, err = capsys.readouterr()
    return status, out, err


def leaving(monkeypatch, capsys, deployment: Path, user: str, *args: str, at: str):
    credentials = f"{deployment}.credentials.json"
    return cpw(monkeypatch, capsys, "index", "leaving-england", str(deployment), *args,
               "--user", user, "--demo-credentials", credentials, at=at)  # fmt: skip


def entries(deployment: Path) -> pl.DataFrame:
    log = read_audit(deployment / "audit" / "audit.jsonl")
    return log.filter(pl.col("action") == "record.leaving_england")


def stored_status(deployment: Path, child_id: str) -> bool | None:
    with ContactPoint.open(deployment) as service:
        status = service.store.read_record(child_id).leaving_england
    return None if status is None else status.intends_to_return


def test_the_management_team_records_and_clears_the_status(deployment, oldest, monkeypatch, capsys):
    """Each STATUS is stored as Sch 1 para 2(d) says, printed on one line and audited as allowed."""
    child_id, _ = oldest
    steps = [("returning", True, "intends to return"), ("for-good", False, "does not intend"),
             ("clear", None, "status cleared")]  # fmt: skip
    for minute, (status, stored, said) in enumerate(steps):
        code, out, err = leaving(monkeypatch, capsys, deployment, MANAGER, child_id, status,
                                 at=f"2010-02-01T10:0{minute}")  # fmt: skip
        assert code == 0, err
        assert out.strip().splitlines() == [out.strip()] and said in out and child_id in out
        assert stored_status(deployment, child_id) is stored
    log = entries(deployment)
    assert log["outcome"].to_list() == ["allowed"] * 3
    assert set(log["child_id"]) == {child_id} and set(log["actor"]) == {MANAGER}


def test_a_practitioner_is_refused_and_the_refusal_audited(deployment, oldest, monkeypatch, capsys):
    """A practitioner reads the index but may not maintain it: exit 2, one line, audited."""
    child_id, _ = oldest
    code, out, err = leaving(
        monkeypatch, capsys, deployment, PRACTITIONER, child_id, "for-good", at="2010-02-01T11:00"
    )
    assert code == 2 and out == ""
    assert err.startswith("cpw: error: ") and err.count("\n") == 1 and "role" in err
    log = entries(deployment)
    assert log.select("actor", "outcome", "reason", "child_id").rows() == [
        (PRACTITIONER, "refused", "not_permitted", child_id)
    ]
    assert stored_status(deployment, child_id) is None


def test_an_unknown_index_id_is_one_line_exit_2_and_audited(deployment, monkeypatch, capsys):
    """No record with that ID: one-line error, exit 2, and the refusal is in the audit log."""
    code, _, err = leaving(
        monkeypatch, capsys, deployment, MANAGER, "ZZ999999Z", "returning", at="2010-02-01T12:00"
    )
    assert code == 2 and err.startswith("cpw: error: ") and err.count("\n") == 1
    log = entries(deployment)
    assert log.select("outcome", "reason", "child_id").rows() == [
        ("refused", "unknown_child", "ZZ999999Z")
    ]


def test_a_status_outside_the_list_is_refused_before_login(deployment, oldest, monkeypatch, capsys):
    """A STATUS other than returning, for-good or clear: exit 2, one line, nothing recorded."""
    code, _, err = leaving(
        monkeypatch, capsys, deployment, MANAGER, oldest[0], "abroad", at="2010-02-01T13:00"
    )
    assert code == 2 and "returning, for-good or clear" in err and err.count("\n") == 1
    assert entries(deployment).is_empty()


def test_retention_archives_a_child_leaving_for_good_by_the_age_rule(
    deployment, oldest, monkeypatch, capsys
):
    """data/index/retention.toml archives on the 18th birthday (or a year after death) and has
    no leaving-England rule: a child recorded as leaving for good stays live the day before
    turning 18 and is archived on the birthday, cause "adult age", status kept with the record."""
    child_id, born = oldest
    code, _, err = leaving(
        monkeypatch, capsys, deployment, MANAGER, child_id, "for-good", at="2010-02-01T14:00"
    )
    assert code == 0, err
    birthday = add_years(born, retention_rules().adult_age.value)
    eve = birthday - dt.timedelta(days=1)
    for day in (eve, birthday):
        code, out, err = cpw(monkeypatch, capsys, "index", "retention", "run", str(deployment),
                             "--as-of", day.isoformat(), at=f"{day}T02:00")  # fmt: skip
        assert code == 0, err
        with ContactPoint.open(deployment) as service:
            live = service.store.read_record(child_id)
            archived = service.store.read_record(child_id, include_archived=True)
        assert (live is not None) is (day == eve)
        status = archived.leaving_england
        assert status is not None and status.intends_to_return is False
    assert eve > dt.date(2010, 2, 1) and archived.archived_on == birthday
    assert "adult age" in out
    assert json.loads(entries(deployment)["detail"][0])["intends_to_return"] is False
