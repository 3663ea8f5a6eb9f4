"""Same seed, same files, across processes: each command runs twice in fresh interpreters with
different hash seeds (so set and dict-of-str iteration orders differ), and every file written is
compared byte for byte.

One field is run-specific and compared out: a run's manifest records its `wall_seconds`, the
time the run took, which no two runs share. Everything else, the rest of every manifest
included, must be identical.
"""

import json
from pathlib import Path

from sim.population.synth import TABLES
from sim.provenance import LOCK_FILE, sha256_file

HASH_SEEDS = ("0", "2718281828")
RUN_SPECIFIC = {"wall_seconds"}

TINY_SCENARIO = """
title = "Cross-process check"
description = "Two regimes, two replications, one authority at 1% for two months."
seed = 11
replications = 2

[period]
start = 2009-06-01
end = 2009-07-31

[population]
scale = 0.01
authorities = ["E08000001"]

[[arms]]
name = "none"
description = "No index"
regimes = [{ regime = "none" }]

[[arms]]
name = "contactpoint"
description = "ContactPoint"
regimes = [{ regime = "contactpoint" }]
"""


def run_twice(cpw, tmp_path: Path, *args: str) -> tuple[Path, Path]:
    """`cpw ARGS --out DIR` in two fresh processes, one per hash seed; returns the two DIRs."""
    outs = []
    for hash_seed in HASH_SEEDS:
        out = tmp_path / f"hash-seed-{hash_seed}"
        done = cpw(*args, "--out", str(out), env={"PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        outs.append(out)
    return outs[0], outs[1]


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def assert_same_files(first: Path, second: Path) -> list[str]:
    """Every file in both directories, byte for byte (manifest.json without RUN_SPECIFIC)."""
    names = files_under(first)
    assert names == files_under(second)
    for name in names:
        one, two = (first / name).read_bytes(), (second / name).read_bytes()
        if Path(name).name == "manifest.json":
            one_doc, two_doc = json.loads(one), json.loads(two)
            assert set(one_doc) & RUN_SPECIFIC == set(two_doc) & RUN_SPECIFIC
            for field in RUN_SPECIFIC:
                one_doc.pop(field, None)
                two_doc.pop(field, None)
            assert one_doc == two_doc, name
        else:
            assert one == two, f"{name} differs between the two processes"
    return names


def test_synth_writes_identical_files_in_two_processes(tmp_path, cpw):
    """`cpw synth --scale 0.01 --seed 7`: every parquet file and the manifest are identical."""
    first, second = run_twice(cpw, tmp_path, "synth", "--scale", "0.01", "--seed", "7")
    names = assert_same_files(first, second)
    assert len([n for n in names if n.endswith(".parquet")]) == len(TABLES) * 152
    manifest = json.loads((first / "manifest.json").read_text())
    assert not RUN_SPECIFIC & set(manifest)  # a population's manifest has nothing run-specific
    assert manifest["lock"]["sha256"] == sha256_file(LOCK_FILE)


def test_simulate_writes_identical_files_in_two_processes(tmp_path, cpw):
    """`cpw simulate`: tables, figures (PNG), report and manifest identical but for wall time."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY_SCENARIO)
    first, second = run_twice(cpw, tmp_path, "simulate", str(scenario))
    names = assert_same_files(first, second)
    assert {"figures.parquet", "report.md", "replications/r001/events.parquet"} <= set(names)
    assert any(name.endswith(".png") for name in names)
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["wall_seconds"] > 0
    assert manifest["lock"]["sha256"] == sha256_file(LOCK_FILE)
