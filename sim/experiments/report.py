"""The run report: Markdown and HTML from the run directory's tables, with the figures.

Sections: what was run; means with 95% CIs; paired differences; time to linkage by care
status (Kaplan-Meier, sim.experiments.linkage); costs against children linked (ICER) and cost
per hour saved (sim.experiments.economics); the published claims beside the model's England
equivalents (sim.experiments.claims); calibration (simulated 2009-10 figures beside the scaled
reference, sim.world.calibration); figures; and the assumptions in plain language, listing
every low-confidence parameter the run used.
"""

import math
from pathlib import Path

import polars as pl

from sim.experiments import figures as plots
from sim.experiments.claims import claims_table, claims_text
from sim.experiments.economics import icer_rows, icer_table
from sim.experiments.intrusion import intrusion_rows
from sim.experiments.linkage import (
    linkage_curves,
    linkage_difference_rows,
    linkage_rows,
    pooled_spells,
)
from sim.experiments.low_confidence import low_confidence_figures
from sim.experiments.psa import interval_kind
from sim.experiments.run import read_resolved
from sim.experiments.scenario import Scenario
from sim.experiments.stats import HEADLINE, LABELS
from sim.reporting import Figure, Section, Table, write_document
from sim.reporting import markdown_table as markdown_table  # re-exported for its callers


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.1f}"


def _ci(mean: float, low: float, high: float) -> str:
    if math.isnan(low):
        return _number(mean)
    return f"{_number(mean)} ({_number(low)} to {_number(high)})"


def confidence_rows(confidence: pl.DataFrame) -> Table:
    arms = confidence["arm"].unique(maintain_order=True).to_list()
    rows = []
    present = set(confidence["metric"].to_list())
    for metric in (m for m in HEADLINE if m in present):
        cells = []
        for arm in arms:
            row = confidence.filter((pl.col("arm") == arm) & (pl.col("metric") == metric))
            cells.append(_ci(*row.select("mean", "ci_low", "ci_high").row(0)) if row.height else "")
        rows.append([LABELS[metric], *cells])
    return ["figure", *arms], rows


def difference_rows(differences: pl.DataFrame) -> Table:
    rows = [
        [
            f"{r['arm']} - {r['reference']}",
            LABELS[r["metric"]],
            _ci(r["mean"], r["ci_low"], r["ci_high"]),
        ]
        for r in differences.iter_rows(named=True)
    ]
    return ["comparison", "figure", "paired difference (95% CI)"], rows


def calibration_rows(calibration: pl.DataFrame) -> Table:
    rows = [
        [
            r["measure"].replace("_", " "),
            _number(r["simulated"]),
            _number(r["reference"]),
            f"{r['ratio']:.3f}",
            "yes" if abs(r["ratio"] - 1) <= 0.1 else "no",
        ]
        for r in calibration.iter_rows(named=True)
    ]
    return ["measure (2009-10)", "simulated", "reference x scale", "ratio", "within 10%"], rows


def assumption_rows(parameters: dict[str, dict]) -> Table:
    rows = [
        [key, str(entry["value"]), entry["unit"], entry["source"]]
        for key, entry in sorted(parameters.items())
        if entry["confidence"] in ("low", "scenario")
    ]
    return ["parameter", "value", "unit", "source or assumption"], rows


def mean_calibration(run_dir: Path) -> pl.DataFrame | None:
    """Calibration averaged over replications (None if the period misses 2009-10)."""
    files = sorted(run_dir.glob("replications/r*/calibration.csv"))
    if not files:
        return None
    frame = pl.concat(pl.read_csv(f) for f in files)
    return (
        frame.group_by("measure", maintain_order=True)
        .agg(pl.col("simulated").mean(), pl.col("reference").first())
        .with_columns(ratio=pl.col("simulated") / pl.col("reference"))
    )


def _figures(run_dir: Path, scenario: Scenario) -> list[tuple[str, str]]:
    target = run_dir / "figures"
    target.mkdir(exist_ok=True)
    metrics = pl.read_parquet(run_dir / "metrics.parquet")
    outcomes = pl.concat(
        pl.read_parquet(p) for p in sorted(run_dir.glob("replications/r*/outcomes.parquet"))
    )
    made = [
        (
            "Lost-child rate over time",
            plots.lost_over_time(metrics, scenario, target / "lost_over_time.png"),
        ),
        (
            "Time to reconnection",
            plots.reconnection_times(outcomes, scenario, target / "reconnection_times.png"),
        ),
        (
            "Cost breakdown",
            plots.cost_breakdown(
                pl.read_parquet(run_dir / "figures.parquet"), target / "costs.png"
            ),
        ),
        ("Privacy exposure", plots.exposure(metrics, scenario, target / "exposure.png")),
        (
            "Time to linkage by care status",
            linkage_curves(run_dir, scenario, target / "linkage.png"),
        ),
        (
            "Authorities by lost-child rate",
            plots.authority_map(metrics, scenario, target / "authority_map.png"),
        ),
    ]
    return [(title, str(path.relative_to(run_dir))) for title, path in made if path is not None]


CONTACTPOINT = ("contactpoint", "contactpoint_as_it_was")


def reference_arm(scenario: Scenario) -> str:
    """The arm differences are taken from: one with no index throughout, else the first."""
    for arm in scenario.arms:
        if all(step.regime == "none" for step in arm.regimes):
            return arm.name
    return scenario.arms[0].name


def claims_arm(scenario: Scenario) -> str:
    """The arm the published ContactPoint claims are set beside: the first that uses it."""
    for arm in scenario.arms:
        if any(step.regime in CONTACTPOINT for step in arm.regimes):
            return arm.name
    return scenario.arms[0].name


def _table(frame: pl.DataFrame) -> Table:
    return frame.columns, [[str(v) for v in row] for row in frame.rows()]


def _economics(run_dir: Path, scenario: Scenario) -> list[tuple[str, str | Table]]:
    """Linkage by care status, the ICER and the claims table: every report has them."""
    sections: list[tuple[str, str | Table]] = []
    figures = pl.read_parquet(run_dir / "figures.parquet")
    reference = reference_arm(scenario)
    if (run_dir / "linkage.csv").is_file():
        sections.append(
            (
                "Time to linkage: moves after which social care in the new authority had not yet "
                "learnt of the previous involvement (Kaplan-Meier share; 95% bootstrap interval "
                "over children, between-world variation only)",
                linkage_rows(pl.read_csv(run_dir / "linkage.csv")),
            )
        )
        differences = pl.read_csv(run_dir / "linkage_differences.csv")
        if differences.height:
            sections.append(
                (
                    f"Time to linkage: each arm minus {scenario.arms[0].name} (same children, "
                    "paired bootstrap)",
                    linkage_difference_rows(differences),
                )
            )
        spells = pooled_spells(run_dir)
        if reference in figures["arm"].to_list() and figures["arm"].n_unique() > 1:
            icer = icer_table(figures, spells, reference, seed=scenario.seed)
            sections.append(
                (
                    f"Cost per additional child linked, against {reference} (simulated area, "
                    "whole run; 95% interval resampling replications)",
                    icer_rows(icer),
                )
            )
    confidence = pl.read_csv(run_dir / "confidence.csv")
    if "population_lookups" in confidence["metric"].to_list():
        sections.append(
            (
                "Every child: lookups, records shown and practitioner hours, England equivalents "
                "(95% t-interval across replications)",
                intrusion_rows(confidence, scenario),
            )
        )
    arm = claims_arm(scenario)
    claims = claims_text(claims_table(figures, scenario, arm=arm, reference=reference))
    sections.append(
        (
            f"Published claims beside the model ({arm} against {reference}, England equivalents)",
            _table(claims),
        )
    )
    return sections


def _sections(run_dir: Path, scenario: Scenario) -> list[tuple[str, str | Table]]:
    resolved = read_resolved(run_dir)
    places = ", ".join(
        scenario.population.regions or scenario.population.authorities or ["England"]
    )
    arms = "; ".join(
        f"**{arm.name}**: "
        + ", then ".join(
            step.regime + (f" from {step.start:%d %B %Y %H:%M}" if step.start else "")
            for step in arm.regimes
        )
        for arm in scenario.arms
    )
    sections: list[tuple[str, str | Table]] = [
        (
            "What was run",
            (
                f"{scenario.description}\n\n{places} at scale {scenario.population.scale:g} "
                f"of England's children, {scenario.period.start} to {scenario.period.end}; "
                f"seed {scenario.seed}, "
                f"{scenario.replications} replication(s). Arms (every arm of a replication runs on "
                f"the same simulated world): {arms}."
            ),
        ),
        ("What the intervals cover", uncertainty_text(scenario)),
        (
            "Figures by arm: mean over replications (95% t-interval)",
            confidence_rows(pl.read_csv(run_dir / "confidence.csv")),
        ),
    ]
    differences = pl.read_csv(run_dir / "differences.csv")
    if differences.height:
        sections.append(
            ("Paired differences (same worlds; 95% t-interval)", difference_rows(differences))
        )
    sections += _economics(run_dir, scenario)
    calibration = mean_calibration(run_dir)
    if calibration is not None:
        sections.append(
            ("Calibration: simulated 2009-10 against the reference", calibration_rows(calibration))
        )
    sections.append(
        (
            "Assumptions in plain language",
            (
                "The children are synthetic; the world's rates come from the 2009-10 figures in "
                "data/ with their sources. A child is lost when practitioners in the new authority "
                "have not "
                "learnt who was involved before within 30 or 90 days of the move. The intervals "
                f"across replications cover {interval_kind(scenario.psa)}. The parameters below "
                "are assumptions or "
                "uncertain figures (confidence 'low', or set by this scenario); vary them before "
                "drawing conclusions."
            ),
        )
    )
    sections.append(
        ("Low-confidence and scenario parameters", assumption_rows(resolved["parameters"]))
    )
    return sections


def uncertainty_text(scenario: Scenario) -> str:
    """Which kind of uncertainty the run's intervals include, and where the rest is measured."""
    if scenario.psa:
        drawn = ", ".join(d.parameter for d in low_confidence_figures().distributions)
        kind = (
            f"The intervals across replications (figures, paired differences, ICER) cover "
            f"{interval_kind(True)}. Drawn in each "
            f"replication (distributions and sources in data/experiments/low-confidence.toml): "
            f"{drawn}. A parameter this scenario sets stays at its value. Each replication's "
            "draws are in replications/rNNN/parameters.json and manifest.json. The Kaplan-Meier "
            "intervals resample children from the pooled replications: they mix the draws but "
            "understate the parameter uncertainty."
        )
    else:
        kind = (
            f"Every interval in this report covers {interval_kind(False)}; none includes "
            "uncertainty in the parameters. Run with `--psa` (cpw compare or cpw simulate) for "
            "intervals that also include the low-confidence parameters' uncertainty."
        )
    return (
        f"{kind} Which parameters drive the headline differences: `cpw sensitivity SCENARIO "
        "--method morris` (a global, Morris, screening with SALib; table and chart), and a "
        "tornado of a paired difference with `cpw sweep SCENARIO --method tornado --vary ...`."
    )


def write_report(run_dir: Path, scenario: Scenario) -> Path:
    """Write report.md, report.html and figures/*.png into the run directory."""
    sections = [Section(heading, [body]) for heading, body in _sections(run_dir, scenario)]
    images = [Figure(title, relative) for title, relative in _figures(run_dir, scenario)]
    return write_document(run_dir, scenario.title, [*sections, Section("Figures", images)])
