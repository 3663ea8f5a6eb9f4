"""Every low-confidence figure of docs/reference.md is a parameter a sweep can vary."""

import pytest

from sim.errors import ReferenceDataError
from sim.experiments.low_confidence import low_confidence_figures
from sim.experiments.parameters import check_overrides, defaults
from sim.experiments.sweep import parse_range

TABLE = low_confidence_figures()


@pytest.mark.parametrize("key", TABLE.parameter_keys())
def test_every_low_confidence_parameter_can_be_swept(key):
    """The key takes a multiplier range (lists and single numbers alike), and both ends of a
    +-10% sweep pass the parameter file's own model, so `cpw sweep --vary` accepts it."""
    r = parse_range(f"{key}=0.9x:1.1x")
    default = defaults()[key]["value"]
    for fraction in (0.0, 1.0):
        value = r.parameter(r.value(fraction), default)
        assert value != default
        check_overrides({key: value}, f"{key} at {r.value(fraction):g}x")


def test_every_figure_carries_parameters_or_a_reason():
    """Figures the model does not take as inputs say why; the rest name at least one key."""
    for figure in TABLE.figures:
        assert bool(figure.parameters) != bool(figure.not_applicable), figure.item


def test_the_table_covers_the_list_valued_figures_graded_low():
    """The two list-valued figures of docs/reference.md s3 (moves by age) are in the table."""
    keys = TABLE.parameter_keys()
    assert "world.moves.address_moves_by_age" in keys
    assert "world.moves.between_authority_moves_by_age" in keys


def test_an_unknown_key_is_refused_with_the_file_and_row(tmp_path, monkeypatch):
    """A mistyped key in the table is a one-line data error naming the file and the row."""
    import shutil

    from sim.reference.paths import data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    path = copy / "experiments" / "low-confidence.toml"
    text = path.read_text()
    path.write_text(text.replace("world.care.caf_starts_per_year", "world.care.caf_started", 1))
    monkeypatch.setenv("CPW_DATA", str(copy))
    with pytest.raises(ReferenceDataError, match=r"figures\[\d+\]\.parameters: world\.care"):
        low_confidence_figures()
