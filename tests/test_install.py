"""The package as a user installs it: `pip install .` (not editable) gives a working `cpw` with its
data, and `cpw --help` loads only the thin CLI layer (plotting, the simulation, the index and
decommissioning load when a command uses them). bench/bench_cli_startup.py times it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli.decommission import FAULT_HELP
from sim.provenance import data_file_hashes

ROOT = Path(__file__).resolve().parents[1]
# Not pydantic: typer itself imports it to render a subcommand's help.
HEAVY = (
    "numpy", "polars", "pyarrow", "matplotlib", "simpy", "faker", "dask", "distributed",
    "cryptography", "argon2", "jellyfish", "bagit",
    "decommission", "sim.population", "sim.world", "sim.regimes", "sim.experiments", "sim.index",
    "sim.metrics", "sim.catalog", "sim.reference",
)  # fmt: skip

LOADED_BY_HELP = """
import json, sys
sys.argv = ["cpw", *json.loads(sys.argv[1])]
from sim.cli import main
try:
    main()
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["decommission", "rehearse", "--help"], ["index", "search", "--help"],
     ["simulate", "--help"]],
)  # fmt: skip
def test_help_loads_no_heavy_module(args):
    """In a fresh process, `cpw ... --help` prints the help and has imported none of HEAVY."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY_HELP, json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


def test_the_fault_help_names_every_fault():
    """`--fault` help is written out (so --help need not import decommission): it stays whole."""
    from decommission.faults import FAULTS, PER_STEP

    named = {word.strip(",.") for word in FAULT_HELP.split()}
    assert set(FAULTS) | {f"{name}:STEP" for name in PER_STEP} <= named


def test_a_wheel_installed_without_the_repository_runs_cpw(tmp_path):
    """Build the wheel from a copy of the project, install it into a bare folder, and run
    `cpw synth` from elsewhere: the data it used is the packaged copy of data/, file for file."""
    source = tmp_path / "source"
    for name in ("sim", "decommission", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    wheel = tmp_path / "wheel"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(wheel), "."],
        cwd=source, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    site = tmp_path / "site"
    (built,) = wheel.glob("*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--quiet", "--target", str(site), str(built)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "CPW_DATA"} | {"PYTHONPATH": str(site)}
    shutil.rmtree(source)  # nothing may be read from the source tree
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "synth", "--authorities", "Bolton", "--scale", "0.01",
         "--out", "x"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["authorities"] == ["E08000001"]
    assert manifest["data_files"] == data_file_hashes()
    located = subprocess.run(
        [sys.executable, "-c", "from sim.reference.paths import data_dir; print(data_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert Path(located.stdout.strip()) == site / "sim" / "data"
