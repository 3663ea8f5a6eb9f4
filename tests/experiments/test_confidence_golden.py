"""A golden confidence.csv: a tiny deterministic scenario, with PSA, gives these numbers exactly.

The run draws its uncertain parameters per replication (sim.experiments.psa) and simulates
Bolton and Wigan at 3% for a year, so a change to the world, the regimes, the metrics, the PSA
draws or the statistics moves a number here. A deliberate change regenerates the file with
`PYTHONPATH=. python tests/experiments/test_confidence_golden.py` (and says why in its commit).
"""

import sys
from pathlib import Path

from sim.experiments.run import run_experiment
from sim.experiments.scenario import scenario_from_dict

GOLDEN = Path(__file__).parent / "golden" / "confidence.csv"
SCENARIO = {
    "title": "Golden: Bolton and Wigan, a year from July 2009",
    "seed": 3,
    "replications": 3,
    "psa": True,
    "period": {"start": "2009-07-01", "end": "2010-06-30"},
    "population": {"scale": 0.03, "authorities": ["E08000001", "E08000010"]},
    "outputs": {"event_logs": False, "report": False},
    "arms": [
        {"name": "none", "regimes": [{"regime": "none"}]},
        {"name": "contactpoint", "regimes": [{"regime": "contactpoint"}]},
    ],
}


def confidence_text(out: Path) -> str:
    run_experiment(scenario_from_dict(SCENARIO, "golden scenario"), out)
    return (out / "confidence.csv").read_text()


def test_confidence_csv_matches_the_golden_file(tmp_path):
    """Same scenario, same seed: the same confidence.csv, byte for byte."""
    assert confidence_text(tmp_path / "run") == GOLDEN.read_text()


if __name__ == "__main__":  # regenerate the golden file after a deliberate change
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        GOLDEN.write_text(confidence_text(Path(scratch) / "run"))
    sys.stdout.write(f"wrote {GOLDEN}\n")
