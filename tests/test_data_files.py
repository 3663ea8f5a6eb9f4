"""Every file in data/ loads and validates; a bad value is reported with file, row and field."""

import shutil

import pytest

from sim.catalog import DATA_FILES, validate_all
from sim.reference.paths import data_dir


def test_every_data_file_validates():
    """All catalogued data files load; no file in data/ escapes the catalog."""
    checked = validate_all()
    assert len(checked) == len(DATA_FILES)
    assert all(entry.size > 0 for entry in checked)


def test_every_parameter_has_a_source():
    """Every CSV row and TOML parameter names a source and a confidence grade."""
    from sim.population import parameters

    for model in (
        parameters.population_params(),
        parameters.household_params(),
        parameters.name_params(),
        parameters.service_params(),
    ):
        for name in type(model).model_fields:
            param = getattr(model, name)
            assert param.source.strip(), name
            assert param.confidence in {"high", "medium", "low"}, name


@pytest.fixture
def data_copy(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    return copy


def check_with(cpw, copy):
    return cpw("data", "check", env={"CPW_DATA": str(copy)})


def test_bad_csv_value_names_file_row_and_field(data_copy, cpw):
    """A negative child count is reported as file: row N: field: reason."""
    path = data_copy / "reference" / "authorities.csv"
    lines = path.read_text().splitlines()
    fields = lines[3].split(",")
    fields[6] = "-5"
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    result = check_with(cpw, data_copy)
    assert result.returncode == 2
    assert "data/reference/authorities.csv: row 4: children_0_17:" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_toml_value_names_file_and_key(data_copy, cpw):
    """A share above 1 is reported with the file and the key path."""
    path = data_copy / "population" / "households.toml"
    path.write_text(path.read_text().replace("value = 0.255", "value = 1.7", 1))
    result = check_with(cpw, data_copy)
    assert result.returncode == 2
    assert "data/population/households.toml: lone_parent_share.value" in result.stderr


def test_unlisted_data_file_is_refused(data_copy, cpw):
    """A data file that no loader validates is an error, so nothing escapes validation."""
    (data_copy / "population" / "stray.csv").write_text("a,b\n1,2\n")
    result = check_with(cpw, data_copy)
    assert result.returncode == 2
    assert "data/population/stray.csv: not in the data catalog" in result.stderr


def test_unknown_rollout_member_is_refused(data_copy, cpw):
    """A roll-out group naming an authority that does not exist is refused."""
    path = data_copy / "rollout" / "groups.toml"
    path.write_text(
        path.read_text().replace('"E08000002", name = "Bury"', '"E08999999", name = "Bury"')
    )
    result = check_with(cpw, data_copy)
    assert result.returncode == 2
    assert "E08999999" in result.stderr
