"""Building the index from the matched source feeds: one record per child, no truth stored."""

import re
import sqlite3
import sys
from pathlib import Path

import polars as pl
import pytest

from sim.cli import main
from sim.errors import InputError
from sim.index.feed_build import (
    birth_year_batches,
    build_index_from_feeds,
    feed_index_frames,
    match_by_birth_years,
)
from sim.index.feeds import make_feeds
from sim.index.matching import build_index
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
def truth_of(index_population) -> pl.DataFrame:
    """Each index child's true child, from re-running the (deterministic) matching in memory."""
    feeds = make_feeds(index_population, SEED)
    index, _, _ = match_by_birth_years(feeds, index_population["authorities"], SEED)
    return index.select("child_id", "truth_child_id")


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


def test_a_truth_column_is_refused(index_population):
    """Loading a matched index that still carries the truth column is refused."""
    result = build_index(make_feeds(index_population, SEED), index_population["authorities"], SEED)
    with pytest.raises(InputError, match="truth_child_id"):
        feed_index_frames(result.index, index_population)


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
    """Every feed record lands in one batch, and no child's records straddle two batches."""
    feeds = make_feeds(index_population, SEED)
    batches = birth_year_batches(feeds, feeds.height // 4)
    assert len(batches) > 1
    assert sum(b.height for b in batches) == feeds.height
    owners = pl.concat(
        b.select("truth_child_id").unique().with_columns(batch=pl.lit(n))
        for n, b in enumerate(batches)
    )
    assert owners["truth_child_id"].is_unique().all()


def test_matching_in_batches_keeps_ids_unique_and_quality(index_population):
    """Matching batch by batch issues no ID twice and matches about as well as in one go."""
    feeds = make_feeds(index_population, SEED)
    issuers = index_population["authorities"]
    whole, _, one_go = match_by_birth_years(feeds, issuers, SEED)
    split, _, batched = match_by_birth_years(feeds, issuers, SEED, batch_records=feeds.height // 4)
    assert split["child_id"].is_unique().all()
    assert abs(split.height - whole.height) <= whole.height * 0.01
    assert batched.precision > one_go.precision - 0.01 and batched.recall > one_go.recall - 0.01


def _content(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_same_seed_same_index(built, index_population, tmp_path):
    """The same seed gives the same index, row for row; another seed gives another."""
    path, _ = built
    build_index_from_feeds(index_population, tmp_path / "again.db", SEED)
    build_index_from_feeds(index_population, tmp_path / "other.db", SEED + 1)
    first = _content(path)
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
