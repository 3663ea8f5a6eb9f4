"""The real index loaded from the source feeds inside a run: lookups miss where its data is
wrong, the world's news reaches the records the feeds made, and accounts follow live users."""

import datetime as dt
import json
import shutil
import sqlite3

import numpy as np
import polars as pl
import pytest

from sim.deployment.deploy import deploy
from sim.deployment.fed import read_truth
from sim.errors import InputError
from sim.index.access import token_code
from sim.index.batch_lookup import BatchLookup, NameQuery
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.reference import load_authorities
from sim.reference.params import load_params
from sim.reference.paths import data_dir
from sim.regimes import Identities, LookupRequests
from sim.regimes.accounts import accounts_per_authority, live_users
from sim.regimes.deployment import check_deployment, provision_practitioners, working_copy
from sim.regimes.fed_index import FedRouting, IndexTruth, RoutedFeed
from sim.regimes.live import DeploymentIndex, usage_counts
from sim.regimes.lookup import FacadeLookup
from sim.regimes.miss_rate import measure_miss_rate, write_miss_rate
from sim.regimes.parameters import PathParams, path_params, regime_params
from sim.streams import stream
from sim.world.encounters import PATHS_FILE

BOLTON, BURY = "E08000001", "E08000002"
LANCASHIRE = "E10000017"
TABLES = ("children", "households", "carers", "schools", "gp_practices", "authorities")


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """Bolton and Bury at 5% (seed 4), deployed from their feeds: (root, tables, truth)."""
    root = tmp_path_factory.mktemp("fed")
    write_population(SynthRequest(seed=4, scale=0.05, authority_codes=(BOLTON, BURY)), root / "pop")
    deploy(root / "pop", root / "dep", profile="simulation", users=6, canaries=2, from_feeds=True)
    tables = {name: pl.read_parquet(root / "pop" / name) for name in TABLES}
    return root, tables, read_truth(root / "dep")


def _held(root) -> pl.DataFrame:
    with sqlite3.connect(f"file:{root / 'dep' / 'index' / 'index.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT child_id, authority_code, household_key FROM child").fetchall()
    return pl.DataFrame(rows, schema=["child_id", "authority_code", "household_key"], orient="row")


def _kinds(fed):
    """Children of the population held under their own ID, only under a new one, or not at all."""
    root, tables, truth = fed
    held = _held(root).join(truth, on="child_id")
    own = held.filter(pl.col("child_id") == pl.col("truth_child_id"))["child_id"]
    aliased = held.filter(pl.col("child_id") != pl.col("truth_child_id"))
    alias_only = aliased.filter(~pl.col("truth_child_id").is_in(own.implode()))
    ids = tables["children"]["child_id"]
    absent = ids.filter(~ids.is_in(held["truth_child_id"].implode()))
    return own, alias_only, absent


def test_a_fed_deployment_holds_the_matched_records_not_the_population(fed):
    """Some children are under a newly issued ID and some are missing; the canaries are exact."""
    root, tables, _truth = fed
    own, alias_only, absent = _kinds(fed)
    assert len(alias_only) > 0 and len(absent) > 0
    assert len(own) + len(alias_only) < tables["children"].height
    canaries = json.loads((root / "dep.canaries.json").read_text())
    held = _held(root)
    assert {c["child_id"] for c in canaries} <= set(held["child_id"])
    inventory = (root / "dep" / "inventory.toml").read_text()
    assert 'index_from = "feeds"' in inventory


@pytest.fixture(scope="module")
def looking(fed, tmp_path_factory):
    """A Bolton practitioner on a working copy, lookups scored by each record's true child."""
    root, tables, truth = fed
    service = ContactPoint.open(
        working_copy(root / "dep", tmp_path_factory.mktemp("copy")), profile="simulation"
    )
    staff = provision_practitioners(service, {BOLTON: 1}, dt.datetime(2010, 3, 1, 7))
    lookup = FacadeLookup(
        service, staff, Identities(tables["children"]), truth=IndexTruth(truth).of
    )
    yield service, lookup
    service.close()


def _ask(lookup, child_ids, minute: int):
    at = [dt.datetime(2010, 3, 1, 9, minute + n) for n in range(len(child_ids))]
    n = len(child_ids)
    requests = LookupRequests(list(child_ids), [BOLTON] * n, at, np.ones(n), np.zeros(n, bool))
    return lookup.lookup(requests)


def test_a_lookup_misses_a_child_the_fed_index_does_not_hold(fed, looking):
    _, lookup = looking
    _own, _alias_only, absent = _kinds(fed)
    answers = _ask(lookup, absent[:3], 0)
    assert not answers.found.any() and not answers.refused.any()


def test_a_lookup_finds_a_child_held_only_under_a_new_id(fed, looking):
    """The search finds the record the feeds made; its true child is the one looked for."""
    _, lookup = looking
    own, alias_only, _ = _kinds(fed)
    answers = _ask(lookup, [own[0], alias_only["truth_child_id"][0]], 10)
    assert answers.found.all()
    blind = FacadeLookup(lookup.service, lookup.practitioners, lookup.identity)  # no scoring
    assert not _ask(blind, [alias_only["truth_child_id"][0]], 20).found.any()


def test_a_move_reaches_the_record_the_feeds_made(fed, tmp_path):
    """A family's move, told about the true child, updates the child's newly issued record."""
    root, tables, truth = fed
    _, alias_only, _ = _kinds(fed)
    record, child = alias_only.row(0, named=True)["child_id"], alias_only["truth_child_id"][0]
    household = tables["children"].filter(pl.col("child_id") == child)["household_id"][0]
    copy = working_copy(root / "dep", tmp_path)
    service = ContactPoint.open(copy, profile="simulation")
    try:
        routing = FedRouting(service.store, IndexTruth(truth), tables["children"])
        feed = RoutedFeed(service.store, stream(1, "feeds", 900, 0), routing)
        move = pl.DataFrame(
            {
                "child_id": [child],
                "authority_code": [LANCASHIRE],
                "household_key": [household],
                "address_line": ["1 New Road"],
                "town": ["Preston"],
                "postcode": ["PR1 1AA"],
            }
        )
        feed.submit("moves", dt.date(2010, 3, 1), move, "household_key")
        assert feed.deliver(dt.date(2011, 3, 1)) >= 1
        held = dict(service.store._db.execute("SELECT child_id, authority_code FROM child"))
    finally:
        service.close()
    assert held[record] == LANCASHIRE


def test_a_fed_deployment_of_another_population_is_refused(fed):
    root, tables, _ = fed
    with pytest.raises(InputError, match="fed from"):
        check_deployment(root / "dep", tables["children"].head(100), "a tenth")
    assert check_deployment(root / "dep", tables["children"], "it")["index_from"] == "feeds"


def test_a_run_with_a_fed_index_counts_its_accounts_and_usage(fed, tmp_path, real_run):
    """Every child's lookups go through the fed index: a lookup of a child it lost never shows a
    record, and the lookups table has one row per lookup the index answered."""
    root, tables, _ = fed
    real_run(tables, root / "dep", tmp_path / "run", path_params(), population_through_index=True)
    arm = json.loads((tmp_path / "run" / "manifest.json").read_text())["index"]["arms"][
        "contactpoint_kept"
    ]
    held = dict(tables["children"].group_by("authority_code").len().iter_rows())
    usage = arm["usage"]
    assert usage["accounts"] == sum(accounts_per_authority(held, regime_params()).values())
    assert arm["feed_updates"]["moves"] > 0 and {"refused", "alerts"} <= set(usage)
    lookups = pl.read_parquet(tmp_path / "run" / "lookups.parquet")
    assert lookups.height == usage["population_lookups"] > 0
    _, _, absent = _kinds(fed)
    assert not lookups.filter(pl.col("child_id").is_in(absent.implode()))["viewed"].any()
    assert lookups["viewed"].any() and usage["plain_sqlite_lookups"] > 0


def test_live_users_add_up_to_the_recorded_total_at_the_switch_off():
    """About 15,000 live users the day before the switch-off, 550 of them early adopters'."""
    params = regime_params()
    users = live_users(params)
    total = params.users_live.value[-1]
    daily_rise = (total - params.users_live.value[1]) / 263  # 16 Nov 2009 to 6 Aug 2010
    assert sum(users.values()) == pytest.approx(total - daily_rise, rel=1e-6)
    per_child = {a.code: users[a.code] / a.children_0_17 for a in load_authorities()}
    assert per_child[BOLTON] > per_child[LANCASHIRE]  # an early adopter has its own 550 more


def test_accounts_scale_with_the_runs_share_of_an_authoritys_children():
    """A run holding all of Bolton's children opens its live users; a tenth, a tenth; at least 1."""
    params = regime_params()
    bolton = next(a for a in load_authorities() if a.code == BOLTON)
    users = live_users(params)[BOLTON]
    full = accounts_per_authority({BOLTON: bolton.children_0_17}, params)[BOLTON]
    tenth = accounts_per_authority({BOLTON: bolton.children_0_17 // 10}, params)[BOLTON]
    share = (bolton.children_0_17 // 10) / bolton.children_0_17
    assert full == round(users) and tenth == round(users * share)
    assert accounts_per_authority({BOLTON: 1}, params)[BOLTON] == 1


def test_the_measured_miss_rate_counts_every_child_the_index_lost(fed, tmp_path, monkeypatch):
    """Searching every child, each one the fed index does not hold is a miss; written to a
    copy of data/, the value and its source (seed, sample) are what the runs then read."""
    root, tables, _ = fed
    _, _, absent = _kinds(fed)
    measured = measure_miss_rate(root / "pop", seed=1, sample=10**9)
    assert measured.searched == tables["children"].height
    assert measured.missed >= len(absent) and measured.rate == measured.missed / measured.searched
    data = tmp_path / "data"
    shutil.copytree(data_dir(), data)
    monkeypatch.setenv("CPW_DATA", str(data))
    write_miss_rate(measured)
    params = load_params(PATHS_FILE, PathParams)
    assert params.search_miss_rate.value == pytest.approx(measured.rate, abs=5e-5)
    assert "feeds seed 1" in params.search_miss_rate.source
    assert f"of {measured.searched:,} sampled" in params.search_miss_rate.source


def test_the_usage_rules_refusals_and_alerts_are_counted(fed, tmp_path):
    """Eight lookups in one minute by one account: two refused (views_per_minute), one guard
    alert, and the monitoring rules see the same alert in the trail."""
    root, tables, _truth = fed
    copy = working_copy(root / "dep", tmp_path)
    service = ContactPoint.open(copy, profile="simulation")
    try:
        staff = provision_practitioners(service, {BOLTON: 1}, dt.datetime(2010, 3, 1, 7))
        who = staff[BOLTON][0]
        at = dt.datetime(2010, 3, 1, 10)
        session = service.login(who.username, who.password, who.pin,
                                token_code(who.token_secret, at, service.access.rules),
                                network=who.network, now=at)  # fmt: skip
        own, _, _ = _kinds(fed)
        people = tables["children"].filter(pl.col("child_id").is_in(own.head(8).implode()))
        queries = [
            NameQuery(session, f, s, b, at + dt.timedelta(seconds=5 * n))
            for n, (f, s, b) in enumerate(
                people.select("forename", "surname", "date_of_birth").iter_rows()
            )
        ]
        answers = BatchLookup(service, "to find out who else is working with the child").lookup(
            queries
        )
        accounts = service.access.accounts_frame()
    finally:
        service.close()
    assert sum(a.refused is not None for a in answers) == 2
    counts = usage_counts(copy, accounts)
    assert counts["refused"] == {"view_per_minute": 2}
    assert counts["alerts"] == {"view_per_minute": 1}
    assert counts["monitoring_alerts"].get("view_per_minute") == 1


def test_the_cli_deploys_from_feeds_and_measures_the_miss_rate(fed, tmp_path, cpw):
    """`cpw deploy --from-feeds` names the truth file beside the deployment; `cpw data
    measure-miss-rate` prints the rate and refuses bad input in one line."""
    root, _, _ = fed
    made = cpw("deploy", str(root / "pop"), "--out", str(tmp_path / "dep"), "--from-feeds",
               "--profile", "simulation", "--canaries", "1")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"{tmp_path / 'dep'}.feed-truth.parquet" in made.stdout
    assert (tmp_path / "dep.feed-truth.parquet").is_file()
    measured = cpw("data", "measure-miss-rate", str(root / "pop"), "--sample", "300")
    assert measured.returncode == 0 and "of 300 children not found" in measured.stdout
    for bad in (["--sample", "0"], ["--seed", "-1"]):
        refused = cpw("data", "measure-miss-rate", str(root / "pop"), *bad)
        assert refused.returncode != 0 and refused.stderr.startswith("cpw: error: ")
        assert len(refused.stderr.strip().splitlines()) == 1
    missing = cpw("data", "measure-miss-rate", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "no population directory" in missing.stderr


def test_staleness_is_read_on_the_record_opened(fed, tmp_path):
    """A child held only under a new ID: the authority compared is that record's, so a lookup
    where the child lives is not stale, and one from another authority is."""
    root, tables, _ = fed
    _, alias_only, _ = _kinds(fed)
    child = alias_only["truth_child_id"][0]
    home = alias_only["authority_code"][0]
    other = BURY if home == BOLTON else BOLTON
    index = DeploymentIndex(
        root / "dep", tmp_path / "live", tables["children"], Identities(tables["children"]),
        seed=1, replication=0, start=dt.date(2010, 3, 1), switch_off=None,
        answers_population=False,
    )  # fmt: skip
    try:
        at = [dt.datetime(2010, 3, 1, 9), dt.datetime(2010, 3, 1, 9, 5)]
        answers = index.lookup(
            LookupRequests([child, child], [home, other], at, np.ones(2), np.zeros(2, bool))
        )
    finally:
        index.close()
    assert answers.found.all()
    assert answers.stale.tolist() == [False, True]


def test_the_records_of_a_child_are_those_whose_true_child_it_is(fed):
    """`records_of` inverts `of`: a record is among a child's records exactly when the child is
    its true child (so a lookup made in a worker, given a child's records, opens what a lookup
    scored by `of` opens)."""
    _, tables, truth = fed
    index = IndexTruth(truth)
    held = truth["child_id"].to_list()
    assert all(record in index.records_of(index.of(record)) for record in held)
    children = tables["children"]["child_id"].to_list()
    for child in children + held:
        assert all(index.of(record) == child for record in index.records_of(child))
    assert any(len(index.records_of(child)) > 1 or index.records_of(child) != (child,)
               for child in children)  # fmt: skip
