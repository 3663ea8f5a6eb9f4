"""Verified shutdown: switch-off, then every path probed; anything but refusal is a no-go."""

import datetime as dt

import pytest

from decommission.shutdown import ShutdownStep, probe
from decommission.step import Context, NoGo
from sim.errors import WorkbenchError

NOON = dt.datetime(2010, 8, 6, 11, 0, tzinfo=dt.UTC)


def context(tmp_path) -> Context:
    return Context(tmp_path, tmp_path, NOON, lambda *args: None)


def run(step: ShutdownStep, ctx: Context) -> dict:
    evidence = step.run(ctx)
    step.verify(ctx, evidence)
    return evidence


def test_every_path_refused_after_switch_off(tmp_path, index_double):
    """The switch-off is called once, by the operator, at noon; all seven probes are refused."""
    step = ShutdownStep("switch_off", index_double, index_double.probes(), "Alex Operator")
    evidence = run(step, context(tmp_path))
    assert index_double.calls == [f"switch_off by Alex Operator at {NOON.isoformat()}"]
    assert {p["outcome"] for p in evidence["probes"]} == {"refused"}
    assert len(evidence["probes"]) == 7


def test_a_probe_that_gets_in_stops_the_run(tmp_path, index_double):
    """If the export path still answers after switch-off, the gate says no-go naming it."""
    probes = {**index_double.probes(), "export": lambda: "rows"}
    step = ShutdownStep("switch_off", index_double, probes, "Alex Operator")
    with pytest.raises(NoGo, match="export"):
        run(step, context(tmp_path))


def test_an_untyped_crash_is_not_a_refusal(tmp_path, index_double):
    """A probe that crashes (e.g. a timeout) proves nothing, so the gate refuses to go."""

    def broken():
        raise TimeoutError("no answer")

    assert probe("api", broken).outcome == "inconclusive"
    step = ShutdownStep("switch_off", index_double, {**index_double.probes(), "api": broken}, "A")
    with pytest.raises(NoGo, match="api"):
        run(step, context(tmp_path))


def test_an_unprobed_path_stops_the_run(tmp_path, index_double):
    """Leaving out the SAR portal probe is itself a no-go: every path must be tried."""
    probes = {k: v for k, v in index_double.probes().items() if k != "sar-portal"}
    step = ShutdownStep("switch_off", index_double, probes, "A")
    with pytest.raises(NoGo, match="not probed: sar-portal"):
        run(step, context(tmp_path))


def test_probe_records_refusal_type():
    """A typed refusal is recorded with its class and message."""

    def refused():
        raise WorkbenchError("switched off")

    result = probe("login", refused)
    assert (result.outcome, result.detail) == ("refused", "WorkbenchError: switched off")
