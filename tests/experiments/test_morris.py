"""Global sensitivity (Morris, SALib) of the headline paired differences, and the options
`cpw simulate`, `compare` and `sensitivity` share (scale, region, replications, PSA)."""

import polars as pl
import pytest

from sim.cli.experiments import sensitivity
from sim.cli.run_options import with_run_options
from sim.errors import InputError
from sim.experiments.morris import design, factors, point_parameters, run_morris
from sim.experiments.scenario import load_scenario

TWO = ["regimes.paths.compliance", "regimes.paths.records_transfer_share"]


def test_the_design_has_k_plus_one_points_per_trajectory_and_maps_to_quantiles():
    """Two factors, three trajectories: 9 rows of probabilities on the 4-level grid; a row's
    parameters are its factors' quantiles (compliance at probability 0 is its low, 0.5)."""
    chosen = factors(TWO)
    rows = design(chosen, 3, seed=1)
    assert rows.shape == (9, 2)
    assert set(rows.ravel().round(6)) <= {0.0, round(1 / 3, 6), round(2 / 3, 6), 1.0}
    values = point_parameters(chosen, [0.0, 1.0])
    assert values["regimes.paths.compliance"] == pytest.approx(0.5)
    assert values["regimes.paths.records_transfer_share"] == pytest.approx([0.12, 0.24, 0.6, 1, 1])


def test_an_unknown_factor_or_a_one_arm_scenario_is_refused(tiny, tmp_path):
    with pytest.raises(InputError, match=r"--factor: regimes\.paths\.nerve has no distribution"):
        factors(["regimes.paths.nerve"])
    one_arm = load_scenario(tiny)
    one_arm = one_arm.model_copy(update={"arms": one_arm.arms[:1]})
    with pytest.raises(InputError, match="two or more arms"):
        run_morris(one_arm, tmp_path / "morris", 2, TWO)
    assert not (tmp_path / "morris").exists()


def test_morris_ranks_compliance_on_the_contactpoint_difference(tmp_path, tiny_text, scenario_file):
    """North West at 2%, none against ContactPoint for nine months: more compliance means
    fewer children lost with ContactPoint than without (mu < 0 at 30 days); the table has a
    row per arm, difference and factor, and the chart is drawn."""
    text = (
        tiny_text.replace('authorities = ["E06000001", "E06000002"]', 'regions = ["North West"]')
        .replace("scale = 0.05", "scale = 0.02")
        .replace("2009-01-01", "2009-10-01")
        .replace("2009-03-31", "2010-06-30")
        .replace("2009-03-01T12:00:00", "2010-05-01T12:00:00")
    )
    out = tmp_path / "morris"
    sensitivity(
        str(scenario_file(tmp_path, text)),
        factor=TWO,
        trajectories=2,
        replications=1,
        out=out,
    )
    table = pl.read_csv(out / "sensitivity.csv")
    assert table.height == 3 * 2  # (lost 30, lost 90, hours) x two factors, one arm
    assert set(table["parameter"]) == set(TWO)
    assert (table["mu_star"] >= 0).all()
    compliance = table.filter(
        (pl.col("metric") == "lost_30_per_1000") & (pl.col("parameter") == TWO[0])
    )
    assert compliance["mu"][0] < 0
    assert pl.read_csv(out / "design.csv").height == 6
    assert (out / "figures" / "morris.png").is_file()


def test_run_options_change_the_scenario_and_refuse_bad_values(tiny):
    """--scale, --region, --replications and --psa give a validated variant; bad values are
    one-line errors naming the option or the setting."""
    base = load_scenario(tiny)
    changed = with_run_options(base, 0.02, ["North West"], 4, None, True)
    assert changed.population.scale == 0.02
    assert changed.population.regions == ["North West"]
    assert changed.population.authorities is None
    assert (changed.replications, changed.psa, changed.source) == (4, True, base.source)
    england = with_run_options(base, regions=["England"])
    assert england.population.regions is None and england.population.authorities is None
    assert with_run_options(base) is base
    with pytest.raises(InputError, match="--scale: must be above 0"):
        with_run_options(base, scale=0.0)
    with pytest.raises(InputError, match="--replications: must be 1 to 1000"):
        with_run_options(base, replications=0)
    with pytest.raises(InputError, match=r"population\.regions\[0\]: 'Atlantis' is not a region"):
        with_run_options(base, regions=["Atlantis"])
