"""`cpw synth` as a user meets it: bad input gets one line and exit 2, and leaves nothing behind."""

import json

import polars as pl
import pytest


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "Wessex"], "--regions: unknown region 'Wessex'"),
        (["--authorities", "Atlantis"], "--authorities: unknown authority 'Atlantis'"),
        (["--scale", "0"], "--scale: must be in (0, 1], got 0"),
        (["--scale", "1.5"], "--scale: must be in (0, 1], got 1.5"),
        (["--scale", "-0.1"], "--scale: must be in (0, 1], got -0.1"),
        (["--seed", "-4"], "--seed: must be a non-negative integer"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(tmp_path, args, message, cpw):
    """Each bad option is named in a one-line error, exit status 2, and no output is written."""
    out = tmp_path / "out"
    result = cpw("synth", "--out", str(out), "--scale", "0.001", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stderr
    assert leftovers(tmp_path) == []


def test_output_under_a_file_is_refused(tmp_path, cpw):
    """An --out whose parent is a regular file is refused before any work."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = cpw(
        "synth", "--scale", "0.001", "--regions", "North East", "--out", str(blocker / "population")
    )
    assert result.returncode == 2
    assert result.stderr.startswith("cpw: error: --out:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unwritable_location_is_refused(tmp_path, cpw):
    """An --out on a read-only file system gets a one-line error, not a traceback."""
    result = cpw(
        "synth", "--scale", "0.001", "--authorities", "Hartlepool", "--out", "/proc/cpw-population"
    )
    assert result.returncode == 2
    assert "--out:" in result.stderr and "Traceback" not in result.stderr


def test_non_empty_output_needs_force(tmp_path, cpw):
    """An existing, non-empty --out is kept unless --force is given."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    refused = cpw("synth", "--scale", "0.001", "--authorities", "Hartlepool", "--out", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (out / "precious.txt").read_text() == "keep me"
    forced = cpw(
        "synth", "--scale", "0.001", "--authorities", "Hartlepool", "--out", str(out), "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert not (out / "precious.txt").exists()
    assert leftovers(tmp_path) == ["out"]


def test_successful_run_writes_tables_and_manifest(tmp_path, cpw):
    """A run writes every table and a manifest with seed, scale, versions and data hashes."""
    out = tmp_path / "pop"
    result = cpw(
        "synth",
        "--scale",
        "0.002",
        "--regions",
        "north east,London",
        "--seed",
        "3",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["scale"] == 0.002
    assert len(manifest["authorities"]) == 12 + 33
    assert "reference/authorities.csv" in manifest["data_files"]
    assert manifest["versions"]["polars"]
    assert manifest["rows"]["children"] > 0
    for relative, digest in manifest["files"].items():
        assert len(digest) == 64 and (out / relative).is_file()
    assert len(manifest["files"]) == 7 * 45
    assert "All selected" in result.stdout


def test_interrupted_write_leaves_no_directory(tmp_path):
    """If writing fails midway, neither the output nor a staging directory is left."""
    from sim.outputs import staged_directory

    out = tmp_path / "run"
    with pytest.raises(RuntimeError), staged_directory(out, force=False) as staging:
        (staging / "half.parquet").write_bytes(b"partial")
        raise RuntimeError("power cut")
    assert leftovers(tmp_path) == []


def test_tiny_scale_gives_empty_authorities_not_errors(tmp_path, cpw):
    """At a scale where the Isles of Scilly round to no children, the run still succeeds and
    writes the islands' tables, empty, beside Hartlepool's two children."""
    out = tmp_path / "tiny"
    result = cpw(
        "synth",
        "--scale",
        "0.0001",
        "--authorities",
        "Isles of Scilly,Hartlepool",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["authorities"] == ["E06000001", "E06000053"]
    assert manifest["rows"]["children"] == 2
    scilly = pl.read_parquet(out / "children" / "E06000053.parquet")
    assert scilly.height == 0 and "surname" in scilly.columns
    assert pl.read_parquet(out / "children" / "E06000001.parquet").height == 2
    assert "South West" in result.stdout and "All selected" in result.stdout


def test_check_population_passes_on_a_fresh_population(tmp_path, cpw):
    """`cpw check-population` reports every acceptance check as passed and exits 0."""
    out = tmp_path / "pop"
    assert cpw("synth", "--scale", "0.01", "--regions", "London", "--out", str(out)).returncode == 0
    result = cpw("check-population", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("│ pass ") == 5 and "FAIL" not in result.stdout


def test_check_population_refuses_a_directory_that_is_not_one(tmp_path, cpw):
    """A directory without a population manifest gets a one-line error and exit 2."""
    result = cpw("check-population", str(tmp_path))
    assert result.returncode == 2 and "not a population directory" in result.stderr
