"""Building the index from the matched source feeds: one record per child, no truth stored."""

import datetime as dt
import re
import sqlite3
import sys
from pathlib import Path

import polars as pl
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.feeds import CohortFeeds, feed_params, make_feeds
from sim.feeds import views as feed_views
from sim.feeds.build import (
    FeedBuildStats,
    build_index_from_feeds,
    cohort_batches,
    spill_feeds,
)
from sim.feeds.load import FeedLoad
from sim.feeds.matching import build_index
from sim.index.retention import apply_retention
from sim.index.search import SearchQuery, search
from sim.index.store import SqliteStore
from sim.population.output import write_population
from sim.population.synth import SynthRequest

SEED = 3
COMPARED = ("forename", "middle_names", "surname", "date_of_birth")


@pytest.fixture(scope="module")
def built(index_population, tmp_path_factory) -> tuple[Path, object]:
    """The Bolton 2% population's index, loaded from its feeds."""
    path = tmp_path_factory.mktemp("feeds") / "index.db"
    return path, build_index_from_feeds(index_population, path, SEED)


@pytest.fixture(scope="module")
def truth_of(index_population, tmp_path_factory) -> pl.DataFrame:
    """Each index child's true child, from re-running the (deterministic) matching in memory
    on all cohorts at once: the batching does not change the index."""
    spill = tmp_path_factory.mktemp("spill")
    weights = spill_feeds(CohortFeeds(index_population, SEED), spill, FeedBuildStats(spill))
    feeds = pl.concat(pl.read_parquet(path) for path in sorted(spill.glob("*.parquet")))
    result = build_index(feeds, index_population["authorities"], SEED, weights=weights)
    return result.index.select("child_id", "truth_child_id")


def _rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _current_names(path: Path) -> pl.DataFrame:
    rows = _rows(
        path,
        "SELECT c.child_id, n.forename, n.middle_names, n.surname, c.date_of_birth "
        "FROM child c JOIN name n USING (child_key) WHERE n.current = 1",
    )
    return pl.DataFrame(rows, schema=["child_id", *COMPARED], orient="row").with_columns(
        pl.col("date_of_birth").str.to_date()
    )


def test_about_one_record_per_child(built, index_population):
    """Every resolved child is loaded once; the count departs from the population only by the
    matching's duplicates and missed children."""
    path, stats = built
    report = stats.report
    children = index_population["children"].height
    assert stats.incomplete == 0
    assert stats.children == report.index_records
    assert _rows(path, "SELECT COUNT(DISTINCT child_id) FROM child")[0][0] == stats.children
    extra = report.duplicate_rate * (report.index_records - report.duplicate_rate)
    assert abs(stats.children - children) <= extra + report.missed_children + 1
    assert abs(stats.children - children) / children < 0.02
    assert 0.95 < report.precision <= 1.0 and 0.95 < report.recall <= 1.0
    assert stats.rows["shield"] == 0 and stats.rows["carer"] > 0


def test_no_truth_anywhere_in_the_index(built):
    """No table, column, index or stored byte names the synthetic truth."""
    path, _ = built
    db = sqlite3.connect(path)
    schema = db.execute("SELECT name, sql FROM sqlite_master").fetchall()
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    columns = [c[1] for t in tables for c in db.execute(f'PRAGMA table_info("{t}")')]
    db.close()
    assert tables and columns
    assert not [text for row in schema for text in row if text and "truth" in text.lower()]
    assert not [c for c in columns if "truth" in c.lower()]
    assert b"truth" not in path.read_bytes().lower()


def test_a_truth_column_is_refused(index_population, truth_of):
    """Loading a matched index that still carries the truth column is refused."""
    deaths = pl.DataFrame(schema={"child_id": pl.String, "date_of_death": pl.Date})
    with pytest.raises(InputError, match="truth_child_id"):
        FeedLoad(index_population).frames(truth_of, deaths)


def test_feed_errors_are_carried_into_the_index(built, truth_of, index_population):
    """Some children's names or dates differ from the truth, and former surnames are held."""
    path, _ = built
    truth = index_population["children"].select(
        pl.col("child_id").alias("truth_child_id"), *COMPARED
    )
    both = (
        _current_names(path)
        .join(truth_of, on="child_id")
        .join(truth, on="truth_child_id", suffix="_true")
    )
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_true")) for c in COMPARED)
    assert 0 < both.filter(differs).height < both.height / 10
    assert _rows(path, "SELECT COUNT(*) FROM name WHERE current = 0")[0][0] > 0


def test_a_child_is_found_by_true_name_and_date_of_birth(built, truth_of, index_population):
    """A fuzzy search by the true name and date of birth finds the child's index record, also
    when one of its recorded forename, surname or date of birth carries a feed error (a
    surname the index never heard of, current or former, is beyond any search)."""
    path, _ = built
    truth = index_population["children"].rename({"child_id": "truth_child_id"})
    surnames = pl.DataFrame(
        _rows(path, "SELECT c.child_id, n.surname FROM child c JOIN name n USING (child_key)"),
        schema=["child_id", "known"],
        orient="row",
    )
    both = (
        _current_names(path)
        .join(truth_of, on="child_id")
        .join(truth, on="truth_child_id", suffix="_true")
        .join(surnames, left_on=["child_id", "surname_true"], right_on=["child_id", "known"])
    )
    errors = pl.sum_horizontal(
        pl.col(c).ne_missing(pl.col(f"{c}_true")) for c in ("forename", "surname", "date_of_birth")
    )
    one_error = both.filter(errors == 1)
    assert one_error.height > 0
    sample = pl.concat([one_error, both.filter(errors == 0).head(20)])
    store = SqliteStore.open(path)
    try:
        for row in sample.iter_rows(named=True):
            query = SearchQuery(
                forename=row["forename_true"],
                surname=row["surname_true"],
                date_of_birth=row["date_of_birth_true"],
                mode="fuzzy",
            )
            found = [hit.child_id for hit in search(store, query).hits]
            assert row["child_id"] in found, row
    finally:
        store.close()


def test_batches_hold_whole_birth_years(index_population):
    """Batches hold every birth year once, oldest first, each within the limit unless a single
    cohort is larger than it."""
    children = index_population["children"]
    sizes = dict(children.group_by(pl.col("date_of_birth").dt.year()).len().iter_rows())
    for limit in (1, 150, 400, 10**9):
        batches = cohort_batches(children, limit)
        assert [year for batch in batches for year in batch] == sorted(sizes)
        assert all(sum(sizes[y] for y in b) <= limit or len(b) == 1 for b in batches)
    assert len(cohort_batches(children, 10**9)) == 1
    with pytest.raises(InputError, match="batch_children"):
        cohort_batches(children, 0)


def test_a_childs_records_never_straddle_two_cohorts(index_population):
    """Every feed record of a child carries the child's birth year, so matching cohort by
    cohort can lose no pair of a child's records."""
    feeds = make_feeds(index_population, SEED)
    truth = index_population["children"].select(
        pl.col("child_id").alias("truth_child_id"), pl.col("date_of_birth").alias("born")
    )
    years = feeds.join(truth, on="truth_child_id")
    assert years.height == feeds.height
    assert (years["date_of_birth"].dt.year() == years["born"].dt.year()).all()


def test_the_feeds_spilled_while_building_are_deleted(built):
    """The cohorts' feed files (with their truth column) do not outlive the build."""
    path, _ = built
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.db"]


def test_deaths_from_the_feed_reach_the_death_table(index_population, tmp_path, monkeypatch):
    """A death registration linked to a child is loaded as that child's death, so retention
    archives the record a year after the death (SI 2007/2182 reg 7)."""
    params = feed_params()
    rate = params.gro_deaths.death_rate.model_copy(update={"value": 0.05})
    raised = params.model_copy(
        update={"gro_deaths": params.gro_deaths.model_copy(update={"death_rate": rate})}
    )
    monkeypatch.setattr(feed_views, "feed_params", lambda: raised)
    path = tmp_path / "index.db"
    stats = build_index_from_feeds(index_population, path, SEED)
    registered = make_feeds(index_population, SEED).filter(pl.col("source") == "gro_deaths")
    assert 0 < stats.rows["death"] <= registered.height
    assert stats.rows["death"] >= 0.95 * registered["truth_child_id"].n_unique()
    died = _rows(path, "SELECT c.child_id, d.died_on FROM death d JOIN child c USING (child_key)")
    days = sorted(dt.date.fromisoformat(day) for _, day in died)
    store = SqliteStore.open(path)
    try:
        before = apply_retention(store, days[0].replace(year=days[0].year + 1) - dt.timedelta(1))
        assert before.archived.get("death", 0) == 0
        after = apply_retention(store, days[-1].replace(year=days[-1].year + 1))
        assert after.archived["death"] > 0
        assert all(store.read_record(child_id) is None for child_id, _ in died)
    finally:
        store.close()


def _content(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_same_seed_same_index_whatever_the_batch_size(built, index_population, tmp_path):
    """The same seed gives the same index, row for row, and the same matching figures, whether
    England is built in one batch or a few cohorts at a time; another seed gives another."""
    path, stats = built
    again = build_index_from_feeds(index_population, tmp_path / "again.db", SEED, 300)
    build_index_from_feeds(index_population, tmp_path / "other.db", SEED + 1)
    first = _content(path)
    assert stats.batches == 1 and again.batches > 2
    assert again.report == stats.report and again.rows == stats.rows
    assert _content(tmp_path / "again.db") == first
    assert _content(tmp_path / "other.db") != first


def test_an_existing_index_is_not_overwritten(built, index_population):
    """A first build never replaces an index: updates go through matching.merge_update."""
    path, _ = built
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        build_index_from_feeds(index_population, path, SEED)
    assert path.read_bytes() == before


def test_cpw_index_build_from_feeds_prints_timings_and_quality(tmp_path, monkeypatch, capsys):
    """`cpw index build POP --out DB --from-feeds` builds the index and prints each stage's
    seconds and the matching's precision and recall."""
    request = SynthRequest(seed=4, scale=0.01, authority_codes=("E08000001",))
    write_population(request, tmp_path / "pop")
    out = tmp_path / "index.db"
    args = ["cpw", "index", "build", str(tmp_path / "pop"), "--out", str(out), "--from-feeds"]
    monkeypatch.setattr(sys, "argv", [*args, "--seed", "2"])
    with pytest.raises(SystemExit) as exited:
        main()
    printed = capsys.readouterr().out
    assert exited.value.code in (0, None)
    assert out.is_file() and "children in" in printed
    assert re.search(r"matching \d+\.\d s", printed)
    assert re.search(r"precision (0\.\d{4}|1\.0000)", printed)
    assert re.search(r"recall (0\.\d{4}|1\.0000)", printed)


def test_a_failed_build_leaves_no_index_and_no_spilled_feeds(
    index_population, tmp_path, monkeypatch
):
    """A batch that fails midway stops the build: no index at the path, no feed files left."""
    made = FeedLoad.frames

    def fail_on_third(self, index, deaths):
        if self.batches_loaded == 2:
            raise InputError("batch failed")
        return made(self, index, deaths)

    monkeypatch.setattr(FeedLoad, "frames", fail_on_third)
    with pytest.raises(InputError, match="batch failed"):
        build_index_from_feeds(index_population, tmp_path / "index.db", SEED, 200)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".building")] == []


def test_a_cohort_no_feed_holds_does_not_stop_the_build(index_population, tmp_path):
    """Children not yet born (on a pre-birth plan) are in no feed: a birth year holding only
    them has no feed records, and the build goes on without them."""
    tables = dict(index_population)
    children = tables["children"]
    born = children["date_of_birth"].max()
    unborn = children.head(2).with_columns(
        pl.lit(born.replace(year=born.year + 1)).alias("date_of_birth"),
        pl.Series("child_id", ["unborn-1", "unborn-2"]),
    )
    feeds = CohortFeeds({**tables, "children": pl.concat([children, unborn])}, seed=1)
    assert feeds.feeds(born.year + 1).height == 0
    stats = build_index_from_feeds(
        {**tables, "children": pl.concat([children, unborn])}, tmp_path / "index.db", seed=1
    )
    assert stats.children > 0
