"""A batch of searches (ContactPoint.search_many, what `cpw serve` answers its queued searches
with) keeps every safeguard of a single search: the same answers, the same audit entries and
the same usage counts as the same searches made one at a time; nothing answered after a
revocation."""

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.deployment.deploy import deploy
from sim.index.access import AccessRefused, token_code
from sim.index.audit import read_audit, verify
from sim.index.search import SearchRefused
from sim.index.service import ContactPoint, SearchRequest
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from tests.index.support import copy_deployment

BOLTON = "E08000001"
DAY = dt.datetime(2010, 1, 5, 9, 0)
KINDS = ("name", "name", "name", "id", "surname_only", "broad", "invalid", "malformed")
WAITS = (0, 0, 1, 3, 7, 20, 1900)  # seconds; 1900 outlasts the 30 minutes' idle timeout


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("searches")
    write_population(SynthRequest(seed=3, scale=0.02, authority_codes=(BOLTON,)), root / "pop")
    deploy(root / "pop", root / "dep", canaries=0, profile="simulation")
    return root


def _practitioners(made: Path) -> dict[str, dict]:
    users = json.loads((made / "dep.credentials.json").read_text())["users"]
    return {name: users[name] for name in sorted(users) if name.startswith("practitioner")}


def _login(service: ContactPoint, name: str, user: dict, when: dt.datetime) -> str:
    code = token_code(user["token_secret"], when, service.access.rules)
    return service.login(name, user["password"], user["pin"], code, network=user["network"],
                         now=when)  # fmt: skip


def _children(made: Path) -> list[tuple]:
    children = pl.read_parquet(made / "pop" / "children").sort("child_id").head(40)
    return list(children.select("child_id", "forename", "surname", "date_of_birth").iter_rows())


def _query(kind: str, child: tuple) -> object:
    child_id, forename, surname, born = child
    return {
        "name": {"forename": forename, "surname": surname, "date_of_birth": born},
        "id": {"index_id": child_id.lower()},
        "surname_only": {"surname": surname, "mode": "fuzzy"},
        "broad": {"gender": "female"},  # too few fields: the search refuses it
        "invalid": {"colour": "blue", "surname": surname},  # a field search does not know
        "malformed": [surname],  # not a mapping at all
    }[kind]


def _answer(service: ContactPoint, request: SearchRequest) -> tuple:
    try:
        who, result = service.checked_search(request.session_id, request.query, now=request.now)
    except (AccessRefused, SearchRefused) as refused:
        return ("refused", type(refused).__name__, str(refused))
    return (who.username, tuple(hit.child_id for hit in result.hits), result.matched)


def _batch_answer(answer) -> tuple:
    if answer.refused is not None:
        return ("refused", type(answer.refused).__name__, str(answer.refused))
    return (answer.session.username, tuple(h.child_id for h in answer.result.hits),
            answer.result.matched)  # fmt: skip


def _trail(service: ContactPoint, start: int) -> list[tuple]:
    rows = read_audit(service.audit.path).slice(start)
    columns = ("time", "actor", "action", "outcome", "child_id", "reason", "detail")
    return list(rows.select(columns).iter_rows())


PLANS = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 1, -1]),  # which practitioner (-1: a session id never issued)
        st.sampled_from(KINDS),
        st.integers(0, 39),  # which child
        st.sampled_from(WAITS),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=PLANS)
def test_a_batch_answers_and_audits_as_one_at_a_time(made, tmp_path_factory, plan):
    """Any mix of searches by name and by ID, refused ones (too broad, an unknown field, not a
    mapping), unknown sessions, sessions idle past the timeout and practitioners over the usage
    guard's limits (10 a minute): search_many on one copy of a deployment gives the same
    answers, the same audit entries in the same order, and leaves the same usage counts, as
    checked_search one at a time on another copy; both chains verify."""
    users = _practitioners(made)
    names = list(users)[:2]
    children = _children(made)
    answers, trails = [], []
    for twin in ("one", "many"):
        copy = copy_deployment(made / "dep", tmp_path_factory.mktemp(twin) / "dep")
        with ContactPoint.open(copy, profile="simulation") as service:
            sessions = [_login(service, name, users[name], DAY) for name in names]
            start = read_audit(service.audit.path).height
            at, requests = DAY, []
            for who, kind, child, wait in plan:
                at += dt.timedelta(seconds=wait)
                session = sessions[who] if who >= 0 else "S-never-issued"
                requests.append(SearchRequest(session, _query(kind, children[child]), at))
            if twin == "one":
                answers.append([_answer(service, r) for r in requests])
            else:
                answers.append([_batch_answer(a) for a in service.search_many(requests)])
            later = at + dt.timedelta(seconds=1)  # the counts left: what a next search meets
            with service.guard.counters.counting() as usage:
                counts = [usage.rates(n, "search", later - dt.timedelta(minutes=1), DAY, later)
                          for n in names]  # fmt: skip
            trails.append((_trail(service, start), counts))
            path, public = service.audit.path, (copy.parent / "dep.audit-public-key").read_text()
        assert verify(path, public.strip()).ok
    assert answers[0] == answers[1]
    assert trails[0] == trails[1]


@pytest.fixture
def service(made, tmp_path):
    with ContactPoint.open(
        copy_deployment(made / "dep", tmp_path / "dep"), profile="simulation"
    ) as opened:
        yield opened


class _Revoking(Mapping):
    """An unknown field, typed as the batch's searches are being decided: read once to parse
    it (before the batch's session checks) and again to audit its refusal (after them), when
    it has another process's facade revoke `user` (the batch's entries not yet written)."""

    def __init__(self, other: ContactPoint, user: str, at: dt.datetime) -> None:
        self.fields = {"colour": "blue"}
        self.other, self.user, self.at, self.reads = other, user, at, 0

    def __getitem__(self, key: str) -> str:
        return self.fields[key]

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self):
        self.reads += 1
        if self.reads == 2:
            self.other.access.revoke(self.user, by=None, now=self.at)
        return iter(self.fields)


def test_a_session_revoked_before_the_write_is_not_answered_the_others_are(made, service, tmp_path):
    """A revocation by another process between a batch's session checks and its audit write:
    that practitioner's search is refused and audited as refused (the live check under the
    log's lock, as for batched lookups), the other practitioner's is answered."""
    users = _practitioners(made)
    first, second = list(users)[:2]
    child = _children(made)[0]
    with ContactPoint.open(tmp_path / "dep", profile="simulation") as other:
        session = _login(service, first, users[first], DAY)
        another = _login(service, second, users[second], DAY)
        revoking = _Revoking(other, first, DAY)
        before = read_audit(service.audit.path).height
        requests = [
            SearchRequest(session, _query("name", child), DAY),
            SearchRequest(another, revoking, DAY),
            SearchRequest(another, _query("name", child), DAY),
        ]
        revoked, invalid, answered = service.search_many(requests)
    assert revoking.reads == 2
    assert isinstance(revoked.refused, AccessRefused) and revoked.result is None
    assert revoked.refused.reason_code == "session_revoked"
    assert isinstance(invalid.refused, SearchRefused)
    assert answered.refused is None and child[0] in [h.child_id for h in answered.result.hits]
    trail = read_audit(service.audit.path).slice(before).filter(pl.col("action") == "search")
    assert trail.select("actor", "outcome", "reason").rows() == [
        (first, "refused", "session_revoked"),
        (second, "refused", "invalid_query"),
        (second, "allowed", None),
    ]
