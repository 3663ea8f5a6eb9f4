"""Running a scenario: a complete run directory, identical for any number of workers."""

import json

import polars as pl
import pytest

from sim.experiments.run import run_experiment
from sim.experiments.scenario import load_scenario

TABLES = ("figures.parquet", "metrics.parquet", "confidence.csv", "differences.csv")


def test_run_directory_is_complete_and_the_same_for_one_or_two_workers(tmp_path, tiny):
    """Replications in one process or two give identical tables; every output is written."""
    scenario = load_scenario(tiny)
    one = run_experiment(scenario, tmp_path / "one", workers=1)
    two = run_experiment(scenario, tmp_path / "two", workers=2)
    for name in TABLES:
        read = pl.read_parquet if name.endswith(".parquet") else pl.read_csv
        assert read(tmp_path / "one" / name).equals(read(tmp_path / "two" / name)), name
    assert one.figures.equals(two.figures)
    for r in ("r000", "r001"):
        for name in ("events.parquet", "regime_log.parquet", "metrics.parquet", "outcomes.parquet"):
            assert (tmp_path / "one" / "replications" / r / name).is_file()
        lookups = [pl.read_parquet(tmp_path / d / "replications" / r / "lookups.parquet")
                   for d in ("one", "two")]  # fmt: skip
        assert lookups[0].equals(lookups[1])  # written, and the same on one or two workers
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 2
    assert "regimes/paths.toml" in manifest["data"] and manifest["versions"]["polars"]
    resolved = json.loads((tmp_path / "one" / "resolved.json").read_text())
    assert resolved["parameters"]["regimes.paths.compliance"]["unit"]
    assert one.figures["arm"].to_list() == ["none", "contactpoint"] * 2


def test_replications_differ_but_arms_share_each_world(tmp_path, tiny):
    """Two replications are different worlds; within one, both arms see the same movers."""
    result = run_experiment(load_scenario(tiny), tmp_path / "run")
    movers = result.figures.select("replication", "arm", "vulnerable_movers")
    by_replication = movers.group_by("replication").agg(pl.col("vulnerable_movers").n_unique())
    assert by_replication["vulnerable_movers"].to_list() == [1, 1]
    events = [
        pl.read_parquet(tmp_path / "run" / "replications" / r / "events.parquet")
        for r in ("r000", "r001")
    ]
    assert not events[0].equals(events[1])


def test_an_override_changes_what_runs(tmp_path, tiny_text, scenario_file):
    """With compliance 0 no practitioner looks anything up; the resolved scenario says so."""
    path = scenario_file(tmp_path, tiny_text + "\n[parameters]\nregimes.paths.compliance = 0.0\n")
    run_experiment(load_scenario(path), tmp_path / "run")
    metrics = pl.read_parquet(tmp_path / "run" / "metrics.parquet")
    lookups = metrics.filter((pl.col("metric") == "lookups") & (pl.col("level") == "all"))
    assert lookups["value"].sum() == 0
    resolved = json.loads((tmp_path / "run" / "resolved.json").read_text())
    entry = resolved["parameters"]["regimes.paths.compliance"]
    assert entry["value"] == 0.0 and entry["confidence"] == "scenario"


def test_an_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, tiny):
    """Ctrl-C during the run: no run directory, no staging directory left behind."""

    def interrupt(run_dir, scenario):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(load_scenario(tiny), tmp_path / "run", report=interrupt)
    assert list(tmp_path.iterdir()) == [tiny]


def test_a_dask_cluster_gives_the_same_tables_as_local_workers(tmp_path, tiny):
    """Replications on a Dask LocalCluster (two processes) give exactly the local tables."""
    from dask.distributed import Client, LocalCluster

    scenario = load_scenario(tiny)
    run_experiment(scenario, tmp_path / "local", workers=1)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        run_experiment(scenario, tmp_path / "dask", scheduler=client)
        address = cluster.scheduler_address
        run_experiment(scenario, tmp_path / "address", scheduler=address)
    for name in TABLES:
        read = pl.read_parquet if name.endswith(".parquet") else pl.read_csv
        local = read(tmp_path / "local" / name)
        assert local.equals(read(tmp_path / "dask" / name)), name
        assert local.equals(read(tmp_path / "address" / name)), name


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path, tiny, cpw):
    """A scheduler address nobody answers at gets a one-line error, exit 2, and no run directory."""
    result = cpw(
        "simulate", str(tiny), "--out", str(tmp_path / "run"), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "--scheduler" in result.stderr
    assert not (tmp_path / "run").exists()
