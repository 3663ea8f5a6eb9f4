"""Runs with the real index inside : a deployment fed by the world, looked
up through the facade and switched off by the decommissioning runbook."""

import datetime as dt
import json
import sqlite3

import polars as pl
import pytest

from sim.index.store import SqliteStore
from sim.regimes.deployment import working_copy
from sim.regimes.parameters import regime_params


@pytest.fixture(scope="module")
def kept(live_deployment, eager, tmp_path_factory, real_run):
    """ContactPoint kept through 2010, practitioners always looking: the run and its log."""
    deployment, tables = live_deployment
    out = tmp_path_factory.mktemp("kept") / "run"
    return out, real_run(tables, deployment, out, eager)


def test_the_manifest_records_the_real_index(kept):
    """The manifest names the backend, the deployment and what its feeds delivered."""
    out, _ = kept
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["lookup_backend"] == "deployment"
    fed = manifest["index"]["arms"]["contactpoint_kept"]["feed_updates"]
    assert fed["births"] > 0 and fed["moves"] > 0 and fed["services"] > 0
    assert not (out / ".live-indexes").exists()  # the working copies are gone


def test_the_live_index_archives_who_reach_18_on_its_retention_runs(kept, live_deployment):
    """The operator's retention runs inside the run archive every child the deployment held who
    reached 18 by the last run (none had consent to stay to 25), and no one else."""
    out, _ = kept
    deployment, _ = live_deployment
    start, end = dt.date(2010, 1, 1), dt.date(2010, 10, 31)
    every = regime_params().retention_run_days.value
    last = start + dt.timedelta(days=((end - start).days // every) * every)
    born_by = last.replace(year=last.year - 18).isoformat()
    with sqlite3.connect(f"file:{deployment / 'index' / 'index.db'}?mode=ro", uri=True) as db:
        due = db.execute(
            "SELECT count(*) FROM child WHERE archived_on IS NULL AND date_of_birth <= ?",
            (born_by,),
        ).fetchone()[0]
        consented = db.execute("SELECT count(*) FROM retention_consent").fetchone()[0]
    retention = json.loads((out / "manifest.json").read_text())["index"]["arms"][
        "contactpoint_kept"
    ]["retention"]
    assert consented == 0 and due > 0
    assert retention["runs"] == (end - start).days // every + 1
    assert retention["archived"] == due and retention["purged"] == 0


def test_the_same_seed_gives_the_same_event_and_regime_logs(
    kept, live_deployment, eager, tmp_path, real_run, lookups
):
    """Two runs with one seed and one deployment write identical world and regime logs."""
    out, log = kept
    deployment, tables = live_deployment
    again = real_run(tables, deployment, tmp_path / "again", eager)
    assert log.equals(again) and lookups(log, "contactpoint_kept").height > 0
    events = pl.read_parquet(out / "events.parquet")
    assert events.equals(pl.read_parquet(tmp_path / "again" / "events.parquet"))


def test_a_shielded_childs_contacts_never_appear(
    kept, live_deployment, eager, tmp_path, real_run, lookups
):
    """Children shielded in the index are found but never show who is involved with them."""
    _, log = kept
    deployment, tables = live_deployment
    looked_up = lookups(log, "contactpoint_kept").filter(pl.col("found"))["child_id"].unique()
    copy = working_copy(deployment, tmp_path / "copy")
    store = SqliteStore.open(copy / "index" / "index.db")
    at = dt.datetime(2010, 2, 1, 9)
    for child_id in looked_up.to_list():
        request = store.add_shielding_request(child_id, "domestic abuse refuge", "m1", at)
        store.decide_shielding_request(request, True, "m2", at)
    store.close()
    shielded = lookups(real_run(tables, copy, tmp_path / "run", eager), "contactpoint_kept").filter(
        pl.col("child_id").is_in(looked_up.implode())
    )
    assert shielded.height > 0 and shielded["found"].any()
    assert not shielded["contacts_shown"].any()
    assert shielded.filter(pl.col("found"))["shielded"].all()
