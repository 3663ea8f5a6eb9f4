"""Scenario files: ready-made ones validate; bad input names the file, key path and expectation."""

import datetime as dt

import pytest

from sim.errors import InputError
from sim.experiments.scenario import load_scenario, load_scenarios


def test_ready_made_scenarios_validate():
    """Every file in data/scenarios loads, and the demo and history scenarios say what they must."""
    scenarios = load_scenarios()
    expected = {"history-2009-2011", "keep-contactpoint", "signposting-2011", "no-index"}
    assert expected | {"north-west"} <= set(scenarios)
    history = scenarios["history-2009-2011"].arms[0]
    assert [s.regime for s in history.regimes] == ["contactpoint_as_it_was", "none"]
    assert history.regimes[1].start == dt.datetime(2010, 8, 6, 12, 0)
    demo = scenarios["north-west"]
    assert [a.name for a in demo.arms] == ["none", "contactpoint", "signposting_2010"]
    assert demo.population.regions == ["North West"] and demo.replications >= 3


def test_a_bare_name_means_data_scenarios():
    """`north-west` finds data/scenarios/north-west.toml."""
    assert load_scenario("north-west").source.endswith("data/scenarios/north-west.toml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "start = 2009-03-01T12:00:00",
            'start = "2010-13-01"',
            "arms[1].regimes[1].start: 2010-13-01 is not a date",
        ),
        ('regime = "none", start', 'regime = "utopia", start', "arms[1].regimes[1].regime: Input"),
        ("2009-03-01T12:00:00", "2008-12-01T12:00:00", "arms[1].regimes[1].start: 2008-12-01"),
        ("end = 2009-03-31", "end = 2008-12-31", "period.end: 2008-12-31 is not after"),
        ('"E06000002"', '"E99999999"', "population.authorities[1]: 'E99999999' is not an"),
        ("replications = 2", 'replications = "two"', "replications: Input should be a valid"),
        ("scale = 0.05", "scale = 2.0", "population.scale: Input should be less than or equal"),
        ("seed = 5", "seed = -1", "seed: Input should be greater than or equal to 0"),
        (
            'title = "Tiny',
            'colour = "red"\ntitle = "Tiny',
            "colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_input_names_file_key_path_and_expectation(
    tmp_path, scenario_file, tiny_text, old, new, message
):
    """Dates, regimes, order, places, types and ranges are each refused with a one-line message."""
    assert old in tiny_text
    path = scenario_file(tmp_path, tiny_text.replace(old, new, 1))
    with pytest.raises(InputError) as error:
        load_scenario(path)
    text = str(error.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ("regimes.paths.compliance = -0.5", "parameters.regimes.paths.compliance"),
        ('regimes.paths.compliance = "high"', "parameters.regimes.paths.compliance"),
        ("regimes.paths.bravery = 1.0", "data/regimes/paths.toml has no parameter 'bravery'"),
        ("weather.rain = 1.0", "no parameter file 'weather'"),
        ("world.care.referrals_per_year = -10", "parameters.world.care.referrals_per_year"),
    ],
)
def test_bad_parameter_overrides_are_refused(
    tmp_path, scenario_file, tiny_text, parameters, message
):
    """A negative rate, a wrong type or an unknown key path is refused, naming the key path."""
    path = scenario_file(tmp_path, tiny_text + f"\n[parameters]\n{parameters}\n")
    with pytest.raises(InputError) as error:
        load_scenario(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_missing_file_and_bad_toml(tmp_path, scenario_file, tiny_text):
    """A missing file and a TOML syntax error are each one line naming the file."""
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(tmp_path / "nowhere.toml")
    path = scenario_file(tmp_path, tiny_text.replace("2009-03-31", "2009-13-31"))
    with pytest.raises(InputError) as error:
        load_scenario(path)
    assert str(path) in str(error.value) and "end = 2009-13-31" in str(error.value)
