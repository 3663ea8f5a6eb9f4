"""Safeguards that hold by construction, tried as an attacker would through the public API and
CLI: a shielded sibling's address, a child too young to ask, a second account, one's own
account, case notes in free text, a watched name in another spelling, and any bytes at all."""

import contextlib
import datetime as dt
import itertools
import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.deployment.deploy import deploy
from sim.errors import InputError, WorkbenchError
from sim.index.access import AccessRefused, NewAccount, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.audit import load_monitoring_rules, read_audit, scan_alerts
from sim.index.records import RecordRefused
from sim.index.service import ContactPoint
from sim.index.shielding import ShieldingRefused
from sim.index.view import view_reasons
from sim.population.output import read_population, write_population
from sim.population.synth import SynthRequest
from tests.index.support import copy_deployment

DAY = dt.datetime(2010, 1, 5, 10, 0)
BOLTON = "E08000001"
MANAGER1, MANAGER2 = "manager1-e08000001", "manager2-e08000001"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safeguards")
    write_population(SynthRequest(seed=5, scale=0.01, authority_codes=(BOLTON,)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=3, profile="simulation")
    return root / "dep"


@pytest.fixture
def dep(template: Path, tmp_path: Path, on_backend) -> Path:
    """A fresh copy of the deployment for one test, on each backend in turn."""
    (tmp_path / "pop").symlink_to(template.parent / "pop")
    return on_backend(copy_deployment(template, tmp_path / "dep"))


@pytest.fixture
def service(dep: Path):
    with ContactPoint.open(dep, profile="simulation") as opened:
        yield opened


def users(dep: Path) -> dict[str, dict]:
    return json.loads(Path(f"{dep}.credentials.json").read_text())["users"]


def practitioner(dep: Path) -> str:
    return sorted(
        n for n, u in users(dep).items() if u["role"] == "practitioner" and u["authority_code"]
    )[0]


def login(service: ContactPoint, dep: Path, name: str, when: dt.datetime = DAY) -> str:
    user = users(dep)[name]
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(
        name, user["password"], user["pin"], code, network=user["network"], now=when
    )


def children_of(dep: Path) -> pl.DataFrame:
    return read_population(dep.parent / "pop", ("children",))["children"].collect()


def siblings(dep: Path) -> tuple[str, str]:
    """Two children of one household in the deployment's population."""
    children = children_of(dep)
    shared = (
        children.group_by("household_id")
        .agg(pl.col("child_id").sort())
        .filter(pl.col("child_id").list.len() >= 2)
        .sort("household_id")
    )
    first, second = shared["child_id"][0][:2]
    return first, second


def shield(service: ContactPoint, dep: Path, child_id: str) -> None:
    one = login(service, dep, MANAGER1, DAY)
    request = service.request_shielding(one, child_id, "domestic abuse refuge", now=DAY)
    two = login(service, dep, MANAGER2, DAY + dt.timedelta(minutes=1))
    service.decide_shielding(two, request.request_id, True, now=DAY + dt.timedelta(minutes=1))


def cpw(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    for name in [k for k in os.environ if k.startswith("CPW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "argv", ["cpw", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_a_shielded_childs_address_never_shows_through_a_sibling(service, dep):
    """Shield one child: the unshielded sibling's view shows no address and no carers."""
    hidden, sibling = siblings(dep)
    before = login(service, dep, practitioner(dep), DAY - dt.timedelta(minutes=5))
    reason = view_reasons()[0]
    shown = service.view(before, sibling, reason, now=DAY - dt.timedelta(minutes=5))
    assert shown.address is not None and shown.carers
    shield(service, dep, hidden)
    session = login(service, dep, practitioner(dep), DAY + dt.timedelta(minutes=5))
    after = service.view(session, sibling, reason, now=DAY + dt.timedelta(minutes=5))
    assert not after.shielded and after.address is None and not after.carers
    assert after.name is not None


def sar_pack(monkeypatch, capsys, dep: Path, child_id: str, requester: str, tmp: Path) -> tuple:
    """A subject access request through `cpw index sar`, to the pack (or the refusal)."""
    at = ["--at", "2010-01-06T10:00"]
    status, out, err = cpw(monkeypatch, capsys, "index", "sar", "receive", str(dep), child_id,
                           "--requester", requester, "--on", "2010-01-06", *at)  # fmt: skip
    assert status == 0, err
    number = out.split()[1].rstrip(":")
    for step, extra in [("fee", ["--amount", "10"]), ("identity", []), ("disclose", [])]:
        status, out, err = cpw(monkeypatch, capsys, "index", "sar", "step", str(dep), number,
                               step, "--on", "2010-01-08", "--pack", str(tmp / "pack.json"),
                               *extra, *at)  # fmt: skip
        if status:
            return None, err
    return json.loads((tmp / "pack.json").read_text()), ""


def test_a_parents_request_about_a_sibling_gives_no_shielded_address(
    service, dep, tmp_path, monkeypatch, capsys
):
    """A parent asks about the unshielded sibling: the pack holds no address and no carers."""
    hidden, sibling = siblings(dep)
    shield(service, dep, hidden)
    service.close()
    born = children_of(dep).filter(pl.col("child_id") == sibling)["date_of_birth"][0]
    assert born > dt.date(1998, 1, 6)  # under 12: a parent may ask alone
    pack, err = sar_pack(monkeypatch, capsys, dep, sibling, "parent", tmp_path)
    assert pack is not None, err
    assert "address" not in pack["record"] and "carers" not in pack["record"]


def test_a_child_too_young_to_ask_is_refused(service, dep, tmp_path, monkeypatch, capsys):
    """A request in the name of a child under 12 (data/index/sar.toml child_request_age) is not
    answered; the same request from a parent is."""
    service.close()
    children = children_of(dep)
    young = children.filter(pl.col("date_of_birth") > dt.date(2003, 1, 1))["child_id"][0]
    pack, err = sar_pack(monkeypatch, capsys, dep, young, "child", tmp_path)
    assert pack is None and "not of an age" in err
    pack, _ = sar_pack(monkeypatch, capsys, dep, young, "parent", tmp_path)
    assert pack is not None and pack["record"]["index_id"] == young


def second_account(service: ContactPoint, dep: Path, session: str) -> tuple[str, str]:
    """A manager opens a second management-team account; its token secret is refused to them,
    so (colluding, or by mistake) the other manager issues it."""
    new = NewAccount(
        "mo-second", "Mo", "Second", "social care", BOLTON, "local_authority", BOLTON,
        "management_team",
    )  # fmt: skip
    when = DAY + dt.timedelta(minutes=2)
    service.add_user(
        new, "another long passphrase", "13579", vetted_on=dt.date(2009, 11, 1), by=session,
        now=when,
    )  # fmt: skip
    with pytest.raises(AccessRefused):
        service.issue_token(new.username, by=session, now=when)
    other = login(service, dep, MANAGER2, when)
    service.issue_token(new.username, by=other, now=when)
    return new.username, collect_letter(service.access.letters, new.username)


def test_no_one_approves_their_own_request_through_a_second_account(service, dep):
    """Manager 1 opens a second account, asks for a shield, and decides it as the second
    account: refused and audited, as if the requester decided it directly."""
    one = login(service, dep, MANAGER1, DAY)
    name, secret = second_account(service, dep, one)
    child = json.loads(Path(f"{dep}.canaries.json").read_text())[0]["child_id"]
    if service.store.read_record(child).record.authority_code != BOLTON:
        pytest.fail("the first canary should live in the managers' authority")
    request = service.request_shielding(one, child, "domestic abuse refuge", now=DAY)
    when = DAY + dt.timedelta(minutes=5)
    code = token_code(secret, when, service.access.rules)
    second = service.login(name, "another long passphrase", "13579", code, network="GCSx", now=when)
    with pytest.raises(ShieldingRefused):
        service.decide_shielding(second, request.request_id, True, now=when)
    log = read_audit(service.audit.path)
    assert log["action"][-1] == "shielding.decide" and log["reason"][-1] == "own_request"
    assert service.store.read_record(child).shield is None


def test_no_one_administers_their_own_account(service, dep):
    """A manager may not record a vetting check on their own account, nor through a second
    account they opened."""
    one = login(service, dep, MANAGER1, DAY)
    with pytest.raises(AccessRefused):
        service.access.record_crb_check(MANAGER1, dt.date(2010, 1, 5), by=one, now=DAY)
    name, secret = second_account(service, dep, one)
    when = DAY + dt.timedelta(minutes=5)
    code = token_code(secret, when, service.access.rules)
    second = service.login(name, "another long passphrase", "13579", code, network="GCSx", now=when)
    with pytest.raises(AccessRefused):
        service.access.record_crb_check(MANAGER1, dt.date(2010, 1, 5), by=second, now=when)
    log = read_audit(service.audit.path)
    refused = log.filter((log["action"] == "account.crb") & (log["outcome"] == "refused"))
    assert refused.height == 2


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("address", "address_line"), "Child disclosed abuse: see case file 12"),
        (("address", "address_line"), "1 Mill Lane and the mother says the father hits them"),
        (("carers", 0, "forename"), "Joan (violent)"),
        (("services", 0, "contact", "role"), "social worker; child on CP plan"),
        (("services", 0, "contact", "name"), "Ann Head 07700 900123 call after 6"),
    ],
)
def test_case_notes_in_a_free_text_field_are_refused(
    service, dep, make_record, new_ids, where, value
):
    """Free-text fields have strict forms (roles from data/index/record.toml): notes are refused
    and the refusal audited."""
    manager = login(service, dep, MANAGER1, DAY)
    record = json.loads(json.dumps(make_record(new_ids(1, start=960_000)[0])))
    target = record
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(RecordRefused):
        service.amend_record(manager, record, now=DAY)
    log = read_audit(service.audit.path)
    assert log["action"][-1] == "record.amend" and log["outcome"][-1] == "refused"


def test_an_account_name_may_not_carry_notes(service, dep):
    one = login(service, dep, MANAGER1, DAY)
    new = NewAccount(
        "x-notes", "Sam", "Smith; see file", "social care", BOLTON, "local_authority", BOLTON,
        "practitioner",
    )  # fmt: skip
    with pytest.raises(InputError, match="surname"):
        service.add_user(new, "a long passphrase", "24680", vetted_on=None, by=one, now=DAY)


def test_a_watched_surname_in_another_spelling_raises_the_alert(service, dep):
    """Monitoring matches the forms search matches: case, punctuation and a phonetic variant of
    a watched surname all alert."""
    watched = load_monitoring_rules().watch_surnames.value[0]  # e.g. Fairweather-Lyall
    variants = [watched.lower().replace("-", " "), watched.upper().replace("-", "")]
    session = login(service, dep, practitioner(dep), DAY)
    for n, surname in enumerate(variants):
        when = DAY + dt.timedelta(seconds=n)
        service.search(session, {"surname": surname, "date_of_birth": "2004-01-01"}, now=when)
    alerts = scan_alerts(read_audit(service.audit.path), service.access.accounts_frame())
    watch = alerts.filter((pl.col("rule") == "watch_list") & (pl.col("actor") == practitioner(dep)))
    assert watch.height == 1 and watch["count"][0] == len(variants)


def test_non_ascii_digits_in_a_token_code_are_an_audited_refusal(service, dep):
    """Arabic-Indic digits after a right password and PIN: refused and audited, no crash."""
    name = practitioner(dep)
    user = users(dep)[name]
    before = read_audit(service.audit.path).height
    with pytest.raises(AccessRefused):
        service.login(name, user["password"], user["pin"], "١٢٣٤٥٦", network="GCSx", now=DAY)
    log = read_audit(service.audit.path)
    assert log.height == before + 1 and log["outcome"][-1] == "refused"


CLOCK = itertools.count()
ANY_TEXT = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(["١٢٣٤٥٦", "\x00", "'; DROP TABLE accounts; --", "\udcff" * 3]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(["username", "password", "pin", "code", "network"]), value=ANY_TEXT)
def test_any_bytes_at_login_get_an_audited_refusal(service, dep, field, value):
    name = practitioner(dep)
    user = users(dep)[name]
    given_ = {"username": name, "password": user["password"], "pin": user["pin"],
              "code": "000000", "network": user["network"]} | {field: value}  # fmt: skip
    before = service.audit.entries
    with pytest.raises(AccessRefused):
        service.login(given_["username"], given_["password"], given_["pin"], given_["code"],
                      network=given_["network"], now=DAY)  # fmt: skip
    assert service.audit.entries > before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(act=st.sampled_from(["view", "reason", "search", "shield", "leaving"]), value=ANY_TEXT)
def test_any_bytes_in_a_request_get_an_audited_refusal(service, dep, act, value):
    now = DAY + dt.timedelta(minutes=next(CLOCK))  # a fresh token step for each example
    session = login(service, dep, MANAGER1, now)
    before = service.audit.entries
    reason = view_reasons()[0]
    calls = {
        "view": lambda: service.view(session, value, reason, now=now),
        "reason": lambda: service.view(session, "AB123456C", value, now=now),
        "search": lambda: service.search(session, {"surname": value, "forename": value}, now=now),
        "shield": lambda: service.request_shielding(session, value, value, now=now),
        "leaving": lambda: service.set_leaving_england(session, value, True, now=now),
    }
    with contextlib.suppress(WorkbenchError):
        calls[act]()
    assert service.audit.entries > before


def test_an_argument_of_the_wrong_kind_gets_an_audited_refusal_naming_it(service, dep):
    """Not a mapping, not a number, not yes or no: refused, and audited with the field's name."""
    session = login(service, dep, MANAGER1)
    calls = {
        "query": lambda: service.search(session, 5, now=DAY),
        "request_id": lambda: service.decide_shielding(session, "1", True, now=DAY),
        "record": lambda: service.amend_record(session, 3, now=DAY),
        "intends_to_return": lambda: service.set_leaving_england(
            session, "AB123456C", "yes", now=DAY
        ),
    }
    for field, call in calls.items():
        with pytest.raises(AccessRefused, match="not in an accepted form"):
            call()
        last = read_audit(dep / "audit" / "audit.jsonl").row(-1, named=True)
        assert (last["outcome"], last["reason"]) == ("refused", "malformed_input")
        assert json.loads(last["detail"])["fields"] == [field]


def test_a_shield_decided_after_deploy_empties_the_child_from_every_copy(service, dep):
    """Extracts made at deploy held the child's address; once the shield is approved no extract
    shows the child's hidden fields or the address a sibling shares, each rewrite is audited,
    and the DR replica carries the shield."""
    from sim.index.store import SqliteStore

    hidden, sibling = siblings(dep)
    extracts = sorted((dep / "extracts").glob("*.csv"))
    before = pl.concat([pl.read_csv(p, infer_schema=False) for p in extracts])
    assert before.filter(pl.col("child_id") == hidden)["address_line"].drop_nulls().len() > 0
    shield(service, dep, hidden)
    after = pl.concat([pl.read_csv(p, infer_schema=False) for p in extracts])
    assert after.height == before.height
    own = after.filter(pl.col("child_id") == hidden)
    assert own["surname"].drop_nulls().len() == own.height > 0
    for column in ("address_line", "town", "postcode", "school_urn", "gp_practice_code"):
        assert own[column].drop_nulls().len() == 0, column
    near = after.filter(pl.col("child_id") == sibling)
    assert near.height > 0
    assert near["address_line"].drop_nulls().len() == near["postcode"].drop_nulls().len() == 0
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in extracts)
    log = read_audit(dep / "audit" / "audit.jsonl")
    withheld = log.filter(pl.col("action") == "extract.withhold", pl.col("child_id") == hidden)
    assert withheld.height >= 1
    assert log.filter(pl.col("action") == "replica.shield").height == 1
    replica = SqliteStore.open(dep / "replica" / "index.db")
    try:
        assert replica.read_record(hidden).shield is not None
    finally:
        replica.close()
