"""The ContactPoint facade: each call checks the session, guards usage, works and is audited."""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from sim.deployment.backend import open_deployment_index
from sim.deployment.deploy import deploy
from sim.errors import InputError
from sim.index.access import AccessRefused, NewAccount, token_code
from sim.index.audit import detail_field, read_audit
from sim.index.layout import Layout
from sim.index.records import CaseDataRefused, RecordRefused
from sim.index.sar import SarRefused
from sim.index.sar_pack import disclosed_record
from sim.index.search import parse_query, search
from sim.index.service import ContactPoint
from sim.index.service_settings import profile_rules, service_rules
from sim.index.shielding import ShieldingRefused
from sim.index.view import ViewRefused, view_reasons
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from tests.index.support import copy_deployment

NOW = dt.datetime(2010, 1, 4, 14, 0)  # after the deployment's demo activity
BOLTON, HARTLEPOOL = "E08000001", "E06000001"
PRACTITIONER, MANAGER1, MANAGER2 = (
    "practitioner1-e08000001",
    "manager1-e08000001",
    "manager2-e08000001",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bolton (early adopter) and Hartlepool (national) at 2%, deployed once per module."""
    root = tmp_path_factory.mktemp("service")
    request = SynthRequest(seed=1, scale=0.02, authority_codes=(BOLTON, HARTLEPOOL))
    write_population(request, root / "population")
    deploy(root / "population", root / "dep", canaries=5, profile="simulation")
    return root


@pytest.fixture
def deployment(built: Path, tmp_path: Path, on_backend) -> Path:
    """A private copy of the module's deployment, on each backend in turn."""
    return on_backend(copy_deployment(built / "dep", tmp_path / "dep"))


@pytest.fixture
def service(deployment: Path):
    with ContactPoint.open(deployment, profile="simulation") as opened:
        yield opened


def credentials(deployment: Path) -> dict:
    return json.loads(Path(f"{deployment}.credentials.json").read_text())["users"]


def login(service: ContactPoint, deployment: Path, username: str, when: dt.datetime = NOW) -> str:
    user = credentials(deployment)[username]
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(
        username, user["password"], user["pin"], code, network=user["network"], now=when
    )


def audit(service: ContactPoint) -> pl.DataFrame:
    return read_audit(service.audit.path)


def a_child(service: ContactPoint, deployment: Path) -> dict:
    """The first canary living in Bolton (the managers' and the practitioner's authority)."""
    canaries = json.loads(Path(f"{deployment}.canaries.json").read_text())
    return next(
        c
        for c in canaries
        if service.store.read_record(c["child_id"]).record.authority_code == BOLTON
    )


def test_search_and_view_are_audited_with_monitoring_detail(service, deployment):
    """Login, search and view each write one entry; views carry surname and child_authority."""
    child = a_child(service, deployment)
    session = login(service, deployment, PRACTITIONER)
    query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    result = service.search(session, query, now=NOW)
    assert [hit.child_id for hit in result.hits] == [child["child_id"]]
    shown = service.view(session, child["child_id"], view_reasons()[0], now=NOW)
    assert shown.address is not None and not shown.shielded
    log = (
        audit(service)
        .filter(pl.col("actor") == PRACTITIONER)
        .with_columns(
            detail_field("surname"), detail_field("child_authority"), detail_field("authority")
        )
    )
    assert log["action"].to_list()[-3:] == ["login", "search", "view"]
    searched, viewed = log.row(-2, named=True), log.row(-1, named=True)
    assert searched["surname"] == child["surname"] and searched["authority"] == BOLTON
    assert viewed["child_id"] == child["child_id"] and viewed["reason"] == view_reasons()[0]
    assert viewed["child_authority"] == BOLTON and viewed["surname"] == child["surname"]


def test_facade_search_returns_what_the_data_core_finds(service, deployment):
    """The facade adds checks and audit, never changes results."""
    child = a_child(service, deployment)
    query = {"forename": child["forename"], "date_of_birth": child["date_of_birth"]}
    session = login(service, deployment, PRACTITIONER)
    assert service.search(session, query, now=NOW) == search(service.store, parse_query(query))


def test_a_refused_view_is_audited_before_it_raises(service, deployment):
    """A view without a listed reason raises ViewRefused; the refusal is already in the log."""
    session = login(service, deployment, PRACTITIONER)
    with pytest.raises(ViewRefused):
        service.view(session, a_child(service, deployment)["child_id"], "curious", now=NOW)
    last = audit(service).row(-1, named=True)
    assert (last["action"], last["outcome"], last["reason"]) == (
        "view",
        "refused",
        "no_valid_reason",
    )


def test_shielding_through_the_facade(service, deployment):
    """One manager asks, another decides; both steps audited; the child then shows identity only."""
    child_id = a_child(service, deployment)["child_id"]
    asked = service.request_shielding(
        login(service, deployment, MANAGER1), child_id, "adoption", now=NOW
    )
    decided = service.decide_shielding(
        login(service, deployment, MANAGER2), asked.request_id, True, now=NOW
    )
    assert decided.action == "shielding approved"
    shown = service.view(
        login(service, deployment, PRACTITIONER), child_id, view_reasons()[0], now=NOW
    )
    assert shown.shielded and shown.address is None and not shown.carers and not shown.services
    actions = audit(service).filter(pl.col("child_id") == child_id)["action"].to_list()
    core = [a for a in actions if a in ("shielding.request", "shielding approved", "view")]
    assert core[-3:] == ["shielding.request", "shielding approved", "view"]
    copies = actions[actions.index("shielding.request") + 1 :]
    assert copies[-2:] == ["shielding approved", "view"]
    assert copies[0] == "replica.shield"  # the derived copies hide the child first
    assert set(copies[1:-2]) <= {"extract.withhold"}


def test_the_requester_may_not_decide(service, deployment):
    """Four eyes (data/index/record.toml): the requester's own decision is refused and audited."""
    session = login(service, deployment, MANAGER1)
    asked = service.request_shielding(
        session, a_child(service, deployment)["child_id"], "adoption", now=NOW
    )
    with pytest.raises(ShieldingRefused):
        service.decide_shielding(session, asked.request_id, True, now=NOW)
    last = audit(service).row(-1, named=True)
    assert (last["action"], last["outcome"]) == ("shielding.decide", "refused")


def test_switch_off_refuses_every_login_even_after_a_restart(deployment):
    """switch_off revokes every account, ends sessions, and the deployment stays switched off."""
    with ContactPoint.open(deployment, profile="simulation") as service:
        session = login(service, deployment, PRACTITIONER)
        revoked = service.switch_off(by=None, now=NOW)
        assert revoked == len(credentials(deployment))
        with pytest.raises(AccessRefused):
            service.search(session, {"index_id": a_child(service, deployment)["child_id"]}, now=NOW)
    with ContactPoint.open(deployment, profile="simulation") as service:
        with pytest.raises(AccessRefused):
            login(service, deployment, MANAGER1, NOW + dt.timedelta(minutes=1))
        new = NewAccount(
            "late", "La", "Te", "social care", BOLTON, "local_authority", BOLTON, "practitioner"
        )
        with pytest.raises(AccessRefused):
            service.add_user(new, "a long passphrase", "1234", vetted_on=None, by=None, now=NOW)
        tail = audit(service).tail(2)
    assert tail["reason"].to_list() == ["service_closed", "service_closed"]


def test_amending_a_record_refuses_case_data(service, deployment):
    """Case data offered through the facade's one write path is refused and audited."""
    session = login(service, deployment, MANAGER1)
    record = service.store.read_record(a_child(service, deployment)["child_id"]).record
    amended = record.model_dump(mode="json")
    amended["address"]["address_line"] = "2 Sentinel Row"
    assert service.amend_record(session, amended, now=NOW) == record.index_id
    with pytest.raises(CaseDataRefused):
        service.amend_record(session, {**amended, "medical_notes": "asthma"}, now=NOW)
    last = audit(service).row(-1, named=True)
    assert (last["action"], last["outcome"], last["reason"]) == (
        "record.amend",
        "refused",
        "CaseDataRefused",
    )


def test_simulation_profile_is_cheap_and_marked_unsafe():
    """The simulation profile's argon2 cost is argon2's minimum and its source says UNSAFE."""
    cheap, real = profile_rules("simulation"), profile_rules("production")
    assert cheap.argon2_memory_kib.value < real.argon2_memory_kib.value
    assert "UNSAFE" in service_rules().simulation_argon2_memory_kib.source
    with pytest.raises(InputError):
        profile_rules("fast")


def test_open_refuses_a_directory_that_is_not_a_deployment(tmp_path):
    """A one-line InputError, not a traceback, and nothing created."""
    with pytest.raises(InputError, match="not a deployment"):
        ContactPoint.open(tmp_path)
    assert not any(tmp_path.iterdir())


def test_subject_access_requests_close_with_the_service(deployment):
    """The public SAR route takes a request while the index runs and refuses it after switch-off."""
    with ContactPoint.open(deployment, profile="simulation") as service:
        child = a_child(service, deployment)["child_id"]
        outcome = service.receive_subject_access_request(child, "parent", NOW.date(), now=NOW)
        assert outcome.request.child_id == child
        service.switch_off(by=None, now=NOW)
        with pytest.raises(SarRefused):
            service.receive_subject_access_request(child, "parent", NOW.date(), now=NOW)
        tail = audit(service).tail(1)
    assert tail["action"].to_list() == ["sar.receive"]
    assert tail["outcome"].to_list() == ["refused"]


def _child_of(deployment: Path, authority: str) -> str:
    store = open_deployment_index(Layout(deployment))  # either backend
    try:
        row = store._db.execute(
            "SELECT child_id FROM child WHERE authority_code = ? ORDER BY child_key LIMIT 1",
            (authority,),
        ).fetchone()
    finally:
        store.close()
    return row[0]


def test_leaving_england_is_set_shown_cleared_and_audited(service, deployment):
    """The child's authority records that the child left England intending to return within
    three years (Sch 1 para 2(d)); a view shows it, an amendment keeps it, None clears it."""
    child_id = a_child(service, deployment)["child_id"]
    manager = login(service, deployment, MANAGER1)
    service.set_leaving_england(manager, child_id, True, now=NOW)
    practitioner = login(service, deployment, PRACTITIONER)
    shown = service.view(practitioner, child_id, view_reasons()[0], now=NOW)
    assert shown.leaving_england is not None and shown.leaving_england.intends_to_return
    assert shown.leaving_england.recorded_on == NOW.date()
    assert "leaving_england" in shown.sections_shown()
    entries = audit(service).filter(pl.col("action") == "record.leaving_england")
    entry = entries.with_columns(detail_field("intends_to_return")).row(-1, named=True)
    assert (entry["outcome"], entry["child_id"]) == ("allowed", child_id)
    assert entry["intends_to_return"] == "true"
    record = service.store.read_record(child_id).record.model_dump(mode="json")
    service.amend_record(manager, record, now=NOW)
    assert service.store.read_record(child_id).leaving_england.intends_to_return
    service.set_leaving_england(manager, child_id, None, now=NOW)
    assert service.view(practitioner, child_id, view_reasons()[0], now=NOW).leaving_england is None


def test_leaving_england_only_by_the_responsible_authority(service, deployment):
    """A practitioner, another authority's manager, or an unknown child: refused and audited,
    and nothing is recorded."""
    cases = [
        (PRACTITIONER, a_child(service, deployment)["child_id"], AccessRefused, "not_permitted"),
        (MANAGER1, _child_of(deployment, HARTLEPOOL), AccessRefused, "outside_authority"),
        (MANAGER1, "XX0000000", RecordRefused, "unknown_child"),
    ]
    sessions = {user: login(service, deployment, user) for user in (PRACTITIONER, MANAGER1)}
    for username, child_id, error, reason in cases:
        with pytest.raises(error):
            service.set_leaving_england(sessions[username], child_id, False, now=NOW)
        last = audit(service).row(-1, named=True)
        assert (last["action"], last["outcome"], last["reason"]) == (
            "record.leaving_england",
            "refused",
            reason,
        )
    assert service.store.table_counts()["leaving_england"] == 0


def test_a_shielded_childs_leaving_status_is_hidden(service, deployment):
    """The status is part of the address paragraph (Sch 1 para 2), so a shielded record shows
    it neither in a view nor in a disclosure that withholds (reg 6(5)-(6))."""
    child_id = a_child(service, deployment)["child_id"]
    manager = login(service, deployment, MANAGER1)
    service.set_leaving_england(manager, child_id, False, now=NOW)
    asked = service.request_shielding(manager, child_id, "adoption", now=NOW)
    service.decide_shielding(login(service, deployment, MANAGER2), asked.request_id, True, now=NOW)
    practitioner = login(service, deployment, PRACTITIONER)
    shown = service.view(practitioner, child_id, view_reasons()[0], now=NOW)
    assert shown.shielded and shown.leaving_england is None
    assert "leaving" not in shown.model_dump_json(exclude_none=True)
    stored = service.store.read_record(child_id)
    assert stored.leaving_england is not None
    assert "leaving_england" not in disclosed_record(stored, withhold=True)
    assert disclosed_record(stored, withhold=False)["leaving_england"]["intends_to_return"] is False
