"""Scenarios with the real index inside (`[index] deployment`, `cpw simulate --deployment`):
each replication on its own copy, identical whatever the number of workers."""

import json

import polars as pl
import pytest

from sim.errors import InputError
from sim.experiments import load_scenario, run_experiment


def test_replications_are_identical_whatever_the_workers(deployment, deployed_scenario, tmp_path):
    """One worker or two: every replication works on its own copy, so the tables agree; each
    writes the runbook's switch-off evidence, and no working copy is left behind."""
    scenario = load_scenario(deployed_scenario(tmp_path, deployment))
    one = run_experiment(scenario, tmp_path / "one", workers=1)
    two = run_experiment(scenario, tmp_path / "two", workers=2)
    assert one.figures.equals(two.figures)
    metrics = [pl.read_parquet(tmp_path / run / "metrics.parquet") for run in ("one", "two")]
    assert metrics[0].equals(metrics[1])
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["lookup_backend"] == "deployment"
    for replication in ("r000", "r001"):
        folder = tmp_path / "one" / "replications" / replication
        evidence = json.loads((folder / "switch_off-history.json").read_text())
        assert evidence["switched_off_at"] == "2010-08-06T12:00:00"
        index = json.loads((folder / "index.json").read_text())
        assert index["arms"]["history"]["switched_off"] and "none" not in index["arms"]
        assert not (folder / ".live-indexes").exists()


def test_a_deployment_of_another_seed_is_refused_before_any_replication(
    deployment, deployed_scenario, tmp_path
):
    """The deployment must come from the scenario's own population; the message says so."""
    scenario = load_scenario(deployed_scenario(tmp_path, deployment, seed_shift=1))
    with pytest.raises(InputError, match="not deployed from this run's population"):
        run_experiment(scenario, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_index_keys_are_checked(deployed_scenario, tmp_path):
    """A missing deployment or a switch-off outside the period is one line naming the key."""
    missing = deployed_scenario(tmp_path, tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"index\.deployment: .* is not a directory"):
        load_scenario(missing)
    late = deployed_scenario(tmp_path, tmp_path, index_lines="switch_off = 2012-01-01T12:00:00\n")
    with pytest.raises(InputError, match=r"index\.switch_off: .* outside the period"):
        load_scenario(late)


def test_the_lookup_workers_key_is_checked(deployment, deployed_scenario, tmp_path):
    """`[index] lookup_workers` is at least 1: zero is one line naming the key."""
    none = deployed_scenario(tmp_path, deployment, index_lines="lookup_workers = 0\n")
    with pytest.raises(InputError, match=r"index\.lookup_workers"):
        load_scenario(none)
    one = deployed_scenario(tmp_path, deployment, index_lines="lookup_workers = 1\n")
    assert load_scenario(one).index.lookup_workers == 1
