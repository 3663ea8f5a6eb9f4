"""Building the index from a synthetic population: complete, keyed, repeatable, atomic."""

import sqlite3

import polars as pl
import pytest

from sim.errors import InputError
from sim.index.build import build_index
from sim.index.store import SqliteStore
from sim.index.store import keys as keys_module
from sim.index.store.keys import phonetic_code
from sim.population.output import write_population
from sim.population.synth import SynthRequest


def test_every_child_household_and_carer_loaded(index_population, tmp_path):
    """Row counts match the population; each child's school and GP become involvements."""
    stats = build_index(index_population, tmp_path / "i.db")
    children = index_population["children"]
    assert stats.children == children.height
    assert stats.rows["household"] == index_population["households"].height
    assert stats.rows["carer"] == index_population["carers"].height
    expected = (
        children["school_urn"].is_not_null().sum()
        + children["gp_practice_code"].is_not_null().sum()
    )
    assert stats.rows["involvement"] == expected
    assert stats.rows["shield"] == 0


def test_a_built_record_matches_its_population_row(index_store, index_population):
    """A child read back carries its names, address, carers and services from the population."""
    row = index_population["children"].filter(pl.col("school_urn").is_not_null()).row(0, named=True)
    record = index_store.read_record(row["child_id"]).record
    household = index_population["households"].filter(pl.col("household_id") == row["household_id"])
    carers = index_population["carers"].filter(pl.col("household_id") == row["household_id"])
    assert (record.name.forename, record.name.surname) == (row["forename"], row["surname"])
    assert record.date_of_birth == row["date_of_birth"]
    assert record.address.postcode == household["postcode"][0]
    assert sorted(c.forename for c in record.carers) == sorted(carers["forename"].to_list())
    school = next(s for s in record.services if s.kind == "school")
    assert school.organisation_code == str(row["school_urn"])
    assert school.contact is not None


def test_phonetic_codes_computed_once_per_distinct_name(index_population, tmp_path, monkeypatch):
    """Codes are encoded per distinct forename and surname, not per child (England scale)."""
    calls = []
    real = keys_module.phonetic_code
    monkeypatch.setattr(keys_module, "phonetic_code", lambda text: calls.append(text) or real(text))
    build_index(index_population, tmp_path / "i.db")
    children = index_population["children"]
    assert len(calls) == children["forename"].n_unique() + children["surname"].n_unique()
    db = sqlite3.connect(tmp_path / "i.db")
    for surname, code in db.execute("SELECT surname, surname_code FROM name LIMIT 50"):
        assert code == phonetic_code(surname)
    db.close()


def test_build_is_repeatable(index_population, tmp_path):
    """The same population gives the same index contents, row for row."""
    dumps = []
    for name in ("a.db", "b.db"):
        build_index(index_population, tmp_path / name)
        db = sqlite3.connect(tmp_path / name)
        dumps.append(list(db.iterdump()))
        db.close()
    assert dumps[0] == dumps[1]


def test_build_from_population_directory(index_population, tmp_path):
    """A directory written by `cpw synth` builds the same index as the tables in memory."""
    request = SynthRequest(seed=1, scale=0.02, authority_codes=("E08000001",))
    write_population(request, tmp_path / "pop")
    stats = build_index(tmp_path / "pop", tmp_path / "i.db")
    assert stats.children == index_population["children"].height


def test_build_refuses_existing_index_and_leaves_no_side_files(index_population, tmp_path):
    """An existing index is never overwritten; a finished build leaves only the index file."""
    build_index(index_population, tmp_path / "i.db")
    with pytest.raises(InputError, match="already exists"):
        build_index(index_population, tmp_path / "i.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.db"]


def test_built_index_opens_in_wal_mode(index_population, tmp_path):
    """After the unjournalled bulk load the index is back in WAL mode for normal use."""
    build_index(index_population, tmp_path / "i.db")
    store = SqliteStore.open(tmp_path / "i.db")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
