"""Parameter overrides: a key path reaches the value in data/, and only inside the block."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiments.parameters import PARAMETER_FILES, defaults, flatten, overridden
from sim.metrics.parameters import cost_params
from sim.regimes.parameters import path_params
from sim.world.parameters import care_params


def test_every_parameter_file_is_listed_with_defaults():
    """Each overridable file's values appear by key path with value and confidence."""
    table = defaults()
    prefixes = {f.removesuffix(".toml").replace("/", ".") for f in PARAMETER_FILES}
    assert {key.rpartition(".")[0] for key in table} == prefixes
    assert table["regimes.paths.compliance"]["value"] == path_params().compliance.value
    assert all(entry["confidence"] in ("high", "medium", "low") for entry in table.values())


def test_flatten_stops_at_the_parameter_file():
    """Nested TOML tables and dotted keys give the same key paths."""
    nested = {"regimes": {"paths": {"compliance": 0.5}}, "metrics.costs": {"token_gbp": 3}}
    assert flatten(nested) == {"regimes.paths.compliance": 0.5, "metrics.costs.token_gbp": 3}


@settings(max_examples=10, deadline=None)
@given(st.floats(0.0, 1.0), st.floats(1.0, 500.0))
def test_overrides_hold_inside_the_block_and_are_undone_after(compliance, token):
    """Loaders see the override inside `overridden` and the data file's value after it."""
    before = (path_params().compliance.value, cost_params().token_gbp.value)
    care_before = care_params()
    overrides = {"regimes.paths.compliance": compliance, "metrics.costs.token_gbp": token}
    with overridden(overrides):
        assert path_params().compliance.value == compliance
        assert cost_params().token_gbp.value == token
        care_inside = care_params()
        assert care_inside is not care_before  # read again, from the overlay
        assert care_inside == care_before  # a file without overrides reads as before
        assert path_params().compliance.source  # provenance kept
    assert (path_params().compliance.value, cost_params().token_gbp.value) == before
