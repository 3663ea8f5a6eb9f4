"""Switch-off by the decommissioning runbook inside a run, and runs that must change nothing
, with the real index fed by the world."""

import datetime as dt
import json

import polars as pl
import pytest

from sim.errors import InputError

EARLY_SWITCH_OFF = dt.datetime(2010, 5, 1, 12, 0)


def test_no_lookup_succeeds_after_the_switch_off_or_under_none(
    live_deployment, eager, tmp_path, real_run, lookups
):
    """The runbook switches every index off at the switch-off: practitioners who still try are
    refused by the index itself, and nobody under `none` looks anything up."""
    deployment, tables = live_deployment
    scenarios = ("none", "contactpoint", "contactpoint_kept")
    log = real_run(
        tables, deployment, tmp_path / "run", eager, scenarios, switch_off=EARLY_SWITCH_OFF
    )
    assert lookups(log, "none").height == 0
    after = log.filter((pl.col("event") == "lookup") & (pl.col("date") > EARLY_SWITCH_OFF.date()))
    assert after.height > 0
    assert not after["found"].any() and after["refused"].all()
    before = lookups(log, "contactpoint_kept").filter(pl.col("date") < EARLY_SWITCH_OFF.date())
    assert before["found"].any()
    for arm in ("contactpoint", "contactpoint_kept"):
        evidence = json.loads((tmp_path / "run" / f"switch_off-{arm}.json").read_text())
        assert {p["outcome"] for p in evidence["probes"]} == {"refused"}


def test_lookup_propensity_zero_is_the_same_as_none(
    live_deployment, eager, outcomes, tmp_path, real_run
):
    """With nobody looking up, ContactPoint with the real index changes nothing."""
    deployment, tables = live_deployment
    never = eager.lookup_propensity.model_copy(update={"value": [0.0] * 7})
    paths = eager.model_copy(update={"lookup_propensity": never})
    log = real_run(tables, deployment, tmp_path / "run", paths, ("none", "contactpoint"))
    assert outcomes(log, "contactpoint").equals(outcomes(log, "none"))
    assert outcomes(log, "none").height > 0


def test_a_deployment_of_another_population_is_refused(live_deployment, eager, tmp_path, real_run):
    """A deployment made from other children is refused, saying what differs."""
    deployment, tables = live_deployment
    fewer = {**tables, "children": tables["children"].head(tables["children"].height - 5)}
    with pytest.raises(InputError, match=r"it holds .* children besides its 2 canaries"):
        real_run(fewer, deployment, tmp_path / "a", eager, ("contactpoint",))
    bolton = {
        name: frame.filter(pl.col("authority_code") == "E08000001")
        if "authority_code" in frame.columns
        else frame
        for name, frame in tables.items()
    }
    with pytest.raises(InputError, match="authorities differ"):
        real_run(bolton, deployment, tmp_path / "b", eager, ("contactpoint",))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_switch_off_before_the_deployment_was_made_is_refused(
    live_deployment, eager, tmp_path, real_run
):
    """The runbook's probes use the deployment's own accounts, so the switch-off must come
    after the deployment's day; an earlier one is one line, and nothing is written."""
    deployment, tables = live_deployment
    early = dt.datetime(2009, 12, 1, 12, 0)
    with pytest.raises(InputError, match="must come later"):
        real_run(tables, deployment, tmp_path / "run", eager, ("contactpoint",), switch_off=early)
    assert not (tmp_path / "run").exists()
