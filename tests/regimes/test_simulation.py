"""run_simulation: one world, several scenarios, written atomically with a manifest."""

import datetime as dt
import json

import polars as pl
import pytest

from sim.errors import InputError
from sim.metrics import TABLE_SCHEMA
from sim.provenance import LOCK_FILE, sha256_file
from sim.regimes import SimulationConfig, run_simulation

FILES = {
    "events.parquet",
    "regime_log.parquet",
    "exposure.parquet",
    "population_use.parquet",
    "lookups.parquet",
    "metrics.parquet",
    "metrics.csv",
    "summary.csv",
    "reconnection_times.csv",
    "manifest.json",
}
SHORT = {"start": dt.date(2009, 1, 1), "end": dt.date(2009, 12, 31)}


@pytest.fixture(scope="module")
def run(north_west, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "run"
    days = []
    summary = run_simulation(
        north_west,
        SimulationConfig(seed=4, region="North West", **SHORT),
        out,
        progress=lambda done, total: days.append((done, total)),
    )
    return out, summary, days


def test_writes_logs_metrics_and_manifest(run):
    """The directory holds every output; the manifest names seed, scenarios and data hashes."""
    out, summary, _ = run
    assert {p.name for p in out.iterdir()} == FILES
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["region"] == "North West"
    assert manifest["scenarios"] == ["none", "contactpoint", "signposting_2010"]
    assert "regimes/paths.toml" in manifest["data"] and manifest["lookup_backend"] == "modelled"
    assert manifest["vulnerable_movers"] == summary.vulnerable_movers > 0
    assert manifest["lock"]["sha256"] == sha256_file(LOCK_FILE)
    table = pl.read_parquet(out / "metrics.parquet")
    assert table.schema == TABLE_SCHEMA
    assert set(table["level"]) == {"authority", "region", "all"}
    assert set(table.filter(pl.col("level") == "region")["area"]) == {"North West"}


def test_progress_reports_every_day(run):
    """The callback hears (days done, days in the run) once a day, ending at the total."""
    _, summary, days = run
    assert len(days) == summary.days == 365
    assert days[-1] == (365, 365)


def test_same_seed_same_outputs(north_west, run, tmp_path):
    """A second run with the same seed writes the same logs and metrics."""
    out, _, _ = run
    again = tmp_path / "again"
    run_simulation(north_west, SimulationConfig(seed=4, region="North West", **SHORT), again)
    for name in ("events.parquet", "regime_log.parquet", "metrics.parquet"):
        assert pl.read_parquet(again / name).equals(pl.read_parquet(out / name)), name


def test_refuses_unknown_scenarios_and_regions(north_west, tmp_path):
    """Bad scenario or region names are one-line input errors, and nothing is written."""
    with pytest.raises(InputError, match="scenarios"):
        run_simulation(north_west, SimulationConfig(scenarios=("magic",)), tmp_path / "a")
    with pytest.raises(InputError, match="region"):
        run_simulation(north_west, SimulationConfig(region="Atlantis"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_failed_run_leaves_no_directory(north_west, tmp_path):
    """An exception inside the run (here from the progress callback) leaves nothing behind."""

    def stop(done: int, total: int) -> None:
        if done == 10:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        run_simulation(north_west, SimulationConfig(**SHORT), tmp_path / "run", progress=stop)
    assert list(tmp_path.iterdir()) == []
