"""The report: its Markdown tables against a golden file, and a whole report from a tiny run."""

from pathlib import Path

import polars as pl

from sim.experiments.report import (
    assumption_rows,
    calibration_rows,
    confidence_rows,
    difference_rows,
    markdown_table,
    write_report,
)
from sim.experiments.run import run_experiment
from sim.experiments.scenario import load_scenario

GOLDEN = Path(__file__).parent / "golden" / "report_tables.md"


def _tables() -> str:
    confidence = pl.DataFrame(
        {
            "arm": ["none", "none", "contactpoint", "contactpoint"],
            "metric": ["lost_90_per_1000", "hours"] * 2,
            "replications": [3] * 4,
            "mean": [367.36, 93.0, 237.2, 59.44],
            "ci_low": [334.11, 62.56, 199.86, float("nan")],
            "ci_high": [400.61, 123.44, 274.54, float("nan")],
        }
    )
    differences = pl.DataFrame(
        {
            "arm": ["contactpoint"],
            "reference": ["none"],
            "metric": ["lost_90_per_1000"],
            "replications": [3],
            "mean": [-130.16],
            "ci_low": [-165.04],
            "ci_high": [-95.28],
        }
    )
    calibration = pl.DataFrame(
        {"measure": ["referrals", "moves_between_authorities"], "simulated": [4052.75, 2152.8]}
    ).with_columns(reference=pl.Series([3995.57, 2974.12]), ratio=pl.Series([1.0143, 0.7238]))
    parameters = {
        "regimes.paths.compliance": {
            "value": 0.5,
            "unit": "share",
            "source": "S | T",
            "confidence": "scenario",
        },
        "metrics.costs.token_gbp": {
            "value": 15,
            "unit": "GBP",
            "source": "Assumption",
            "confidence": "low",
        },
        "world.care.referrals_per_year": {
            "value": 603700,
            "unit": "a year",
            "source": "DfE",
            "confidence": "high",
        },
    }
    return (
        "\n\n".join(
            markdown_table(table)
            for table in (
                confidence_rows(confidence),
                difference_rows(differences),
                calibration_rows(calibration),
                assumption_rows(parameters),
            )
        )
        + "\n"
    )


def test_markdown_tables_match_the_golden_file():
    """Means with CIs (n/a width when undefined), differences, calibration flags within 10%,
    and only low-confidence or scenario-set parameters in the assumptions, '|' escaped."""
    assert _tables() == GOLDEN.read_text()


def test_a_tiny_run_writes_a_full_report(tmp_path, tiny):
    """report.md and report.html name every section and embed the five figures."""
    scenario = load_scenario(tiny)
    run_experiment(scenario, tmp_path / "run", report=write_report)
    markdown = (tmp_path / "run" / "report.md").read_text()
    for heading in (
        "What was run",
        "mean over replications",
        "Paired differences",
        "Assumptions in plain language",
        "Low-confidence",
    ):
        assert heading in markdown
    pngs = sorted(p.name for p in (tmp_path / "run" / "figures").glob("*.png"))
    assert len(pngs) == 5 and all(f"figures/{name}" in markdown for name in pngs)
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("<img ") == 5 and "<table>" in html
