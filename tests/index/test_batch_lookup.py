"""Batched lookups (sim.index.batch_lookup): the facade's search, one access check and one
audit entry per lookup, the usage rules shared with the facade, nothing answered after a
switch-off."""

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from sim.deployment.deploy import deploy
from sim.index.access import AccessRefused, token_code
from sim.index.audit import read_audit
from sim.index.audit.event import canonical
from sim.index.batch_lookup import BatchLookup, IdQuery, NameQuery
from sim.index.service import ContactPoint
from sim.index.store.keys import normalise_name
from sim.population.output import write_population
from sim.population.synth import SynthRequest

BOLTON = "E08000001"
USER = "practitioner1-e08000001"
REASON = "to find out who else is working with the child"
DAY = dt.datetime(2010, 1, 5, 9, 0)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    write_population(SynthRequest(seed=3, scale=0.02, authority_codes=(BOLTON,)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=2, profile="simulation")
    return root


@pytest.fixture
def service(made, tmp_path):
    """A fresh copy of the deployment per test (usage counters and audit start clean)."""
    copy = tmp_path / "dep"
    shutil.copytree(made / "dep", copy)
    for side in made.glob("dep.*"):
        shutil.copy2(side, tmp_path / side.name)
    with ContactPoint.open(copy, profile="simulation") as opened:
        yield opened


def _login(service, made, when=DAY) -> str:
    user = json.loads((made / "dep.credentials.json").read_text())["users"][USER]
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(USER, user["password"], user["pin"], code, network=user["network"],
                         now=when)  # fmt: skip


def _children(made, n: int) -> list[tuple]:
    children = pl.read_parquet(made / "pop" / "children").sort("child_id").head(n)
    return list(children.select("child_id", "forename", "surname", "date_of_birth").iter_rows())


def _queries(session, children, first=DAY, every=dt.timedelta(minutes=2)):
    return [NameQuery(session, f, s, b, first + every * n) for n, (_, f, s, b) in
            enumerate(children)]  # fmt: skip


def test_batched_hits_are_the_facades_exact_search_hits(service, made):
    session = _login(service, made)
    children = _children(made, 12)
    answers = BatchLookup(service, REASON).lookup(_queries(session, children))
    later = DAY + dt.timedelta(hours=2)
    session = _login(service, made, later)
    for n, ((_, forename, surname, born), answer) in enumerate(zip(children, answers, strict=True)):
        query = {"forename": forename, "surname": surname, "date_of_birth": born}
        result = service.search(session, query, now=later + dt.timedelta(minutes=n))
        assert answer.hits == tuple(hit.child_id for hit in result.hits)
        assert answer.opened == (answer.hits[0] if answer.hits else None)


def test_each_lookup_writes_one_audit_entry_ahead_of_its_answer(service, made):
    """A view of the opened record (or a search when none is), one per lookup, in order."""
    session = _login(service, made)
    before = read_audit(service.audit.path).height
    children = _children(made, 10)
    queries = _queries(session, children)
    queries.append(NameQuery(session, "Nobody", "Nowhere", dt.date(2005, 5, 5), queries[-1].at
                             + dt.timedelta(minutes=2)))  # fmt: skip
    answers = BatchLookup(service, REASON).lookup(queries)
    entries = read_audit(service.audit.path).slice(before)
    assert entries.height == len(queries)
    assert entries["action"].to_list() == ["view"] * 10 + ["search"]
    assert entries["child_id"].to_list()[:10] == [a.opened for a in answers[:10]]
    assert entries["child_id"].to_list()[:10] == [c[0] for c in children]
    assert (entries["outcome"] == "allowed").all() and answers[-1].hits == ()
    assert [t.isoformat() for t in entries["time"].to_list()] == [q.at.isoformat() for q in queries]


def test_each_entry_detail_is_canonical_json_as_the_facades_entries_hold_it(service, made):
    """The detail of a batched view or search is the canonical text of its dict (sorted keys,
    no spaces, UTF-8 as it is), with the searched surname's keys, whatever the surname holds."""
    session = _login(service, made)
    before = read_audit(service.audit.path).height
    child, forename, surname, born = _children(made, 1)[0]
    at = DAY + dt.timedelta(minutes=1)
    queries = [
        NameQuery(session, forename, surname, born, at),
        NameQuery(session, "Zoë", 'O\'Brien-{Núñez} "x"', dt.date(2005, 5, 5), at),
        IdQuery(session, "zz9999999", at + dt.timedelta(seconds=1)),
    ]
    BatchLookup(service, REASON).lookup(queries)
    entries = read_audit(service.audit.path).slice(before)
    details = entries["detail"].to_list()
    assert [canonical(json.loads(text)) for text in details] == details
    view, search, by_id = (json.loads(text) for text in details)
    assert entries["action"].to_list() == ["view", "search", "search"]
    assert view["child_ids"] == [child] and view["shielded"] is False and view["batched"]
    assert view["child_authority"] == BOLTON == view["authority"] and view["matched"] == 1
    assert search["surname"] == 'O\'Brien-{Núñez} "x"' and search["matched"] == 0
    assert search["surname_key"] == normalise_name(search["surname"]) and search["mode"] == "exact"
    assert search["fields"] == ["forename", "surname", "date_of_birth"]
    assert by_id["surname"] is None and by_id["fields"] == ["index_id"]
    assert "surname_key" not in by_id and entries["child_id"].to_list()[2] == "ZZ9999999"


def test_the_usage_rules_refuse_and_alert_once_and_the_facade_sees_the_count(service, made):
    """Six views a minute at most: the seventh in one minute is refused with its rule, audited,
    with one alert; the counters are the facade's, so its next view that minute is refused."""
    session = _login(service, made)
    before = read_audit(service.audit.path).height
    children = _children(made, 8)
    queries = _queries(session, children, every=dt.timedelta(seconds=5))
    answers = BatchLookup(service, REASON).lookup(queries)
    assert [a.refused for a in answers] == [None] * 6 + ["view_per_minute"] * 2
    entries = read_audit(service.audit.path).slice(before)
    refused = entries.filter(pl.col("outcome") == "refused")
    assert refused["action"].to_list() == ["view", "alert", "view"]
    with pytest.raises(AccessRefused):
        service.view(session, children[0][0], REASON, now=queries[-1].at)


def test_nothing_is_answered_after_the_switch_off(service, made):
    """Each lookup's session is checked: after the switch-off every one is refused, audited."""
    session = _login(service, made)
    service.switch_off(by=None, now=DAY + dt.timedelta(minutes=1))
    before = read_audit(service.audit.path).height
    answers = BatchLookup(service, REASON).lookup(
        _queries(session, _children(made, 3), first=DAY + dt.timedelta(minutes=2))
    )
    assert all(a.refused and a.opened is None and a.hits == () for a in answers)
    entries = read_audit(service.audit.path).slice(before)
    assert entries.height == 3 and (entries["outcome"] == "refused").all()


def test_a_batch_refuses_a_reason_not_on_the_list(service):
    with pytest.raises(Exception, match="reason"):
        BatchLookup(service, "curiosity")


def test_another_process_sees_the_batchs_counts_and_its_revocation_stops_the_batch(
    service, tmp_path, made
):
    """The accounts database is the one truth between processes: the uses a batch counts are
    what another process's facade counts against, and a revocation made by another process
    while the batch is being answered (here, as the practitioner chooses a record) refuses
    every lookup of the batch still to be logged."""
    with ContactPoint.open(tmp_path / "dep", profile="simulation") as other:
        session = _login(service, made)
        children = _children(made, 8)
        queries = _queries(session, children[:6], every=dt.timedelta(seconds=5))
        assert all(a.refused is None for a in BatchLookup(service, REASON).lookup(queries))
        with pytest.raises(AccessRefused) as refused:  # the seventh view in that minute
            other.view(session, children[6][0], REASON, now=queries[-1].at)
        assert refused.value.reason_code == "rate_limit"

        later = DAY + dt.timedelta(hours=1)
        session = _login(service, made, later)
        queries = _queries(session, children[:3], first=later + dt.timedelta(minutes=1))
        before = read_audit(service.audit.path).height

        def choose(i, hits):
            if i == 1:  # the batch's sessions are checked; its entries are not yet written
                other.access.revoke(USER, by=None, now=later + dt.timedelta(minutes=2))
            return hits[0] if hits else None

        answers = BatchLookup(service, REASON).lookup(queries, choose=choose)
        assert [a.refused for a in answers] == ["session_revoked"] * 3
        assert all(a.opened is None and a.hits == () for a in answers)
        mine = read_audit(service.audit.path).slice(before).filter(pl.col("actor") == USER)
        assert mine["action"].to_list() == ["view"] * 3  # its entries, written as refusals
        assert mine["outcome"].to_list() == ["refused"] * 3


def test_lookups_by_id_find_what_the_facades_search_by_id_finds_in_the_same_batch(service, made):
    """A lookup by index ID (IdQuery) finds what the facade's search by ID finds, opens it, and
    is audited as a view naming the ID field searched; an unknown ID is an allowed search that
    names the ID; lookups by name and by ID share one batch, in time order."""
    session = _login(service, made)
    children = _children(made, 4)
    at = [DAY + dt.timedelta(minutes=2 * n) for n in range(5)]
    queries = [
        IdQuery(session, children[0][0].lower(), at[0]),  # typed in lower case
        _queries(session, children[1:2], first=at[1])[0],
        IdQuery(session, children[2][0], at[2]),
        IdQuery(session, "ZZ9999999", at[3]),
        _queries(session, children[3:4], first=at[4])[0],
    ]
    before = read_audit(service.audit.path).height
    answers = BatchLookup(service, REASON).lookup(queries)
    assert [a.opened for a in answers] == [c[0] for c in children[:3]] + [None, children[3][0]]
    assert answers[3].hits == () and all(a.refused is None for a in answers)
    entries = read_audit(service.audit.path).slice(before)
    assert entries["action"].to_list() == ["view", "view", "view", "search", "view"]
    assert entries["child_id"].to_list()[3] == "ZZ9999999"
    fields = [json.loads(d)["fields"] if isinstance(d, str) else d["fields"]
              for d in entries["detail"].to_list()]  # fmt: skip
    assert fields[0] == fields[2] == fields[3] == ["index_id"]
    later = DAY + dt.timedelta(hours=2)
    session = _login(service, made, later)
    for n, child in enumerate((children[0][0], children[2][0], "ZZ9999999")):
        result = service.search(session, {"index_id": child}, now=later + dt.timedelta(minutes=n))
        assert answers[(0, 2, 3)[n]].hits == tuple(hit.child_id for hit in result.hits)
