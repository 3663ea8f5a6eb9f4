"""A run's time to linkage: every replication's spells pooled, by arm and care status.

    write_linkage(run_dir, scenario)   # linkage.csv, linkage_differences.csv, curves
    linkage_rows(pl.read_csv(run_dir / "linkage.csv"))  # the report's table

Spells of different replications are different worlds, so a child is identified by
(replication, child ID) when the bootstrap draws children (sim.metrics.linkage). The words in
the tables say what is measured: the share of moves after which social care in the new
authority has *not yet* learnt of the child's previous involvement, 30 and 90 days on.
"""

import math
from pathlib import Path

import polars as pl
from matplotlib.figure import Figure

from sim.experiments.figures import arm_styles, save
from sim.experiments.scenario import Scenario
from sim.metrics.linkage import (
    CARE_LABELS,
    CARE_ORDER,
    THRESHOLDS,
    linkage_differences,
    linkage_table,
    survival_curves,
)
from sim.reporting import Table

CLUSTER = ("replication", "child_id")


def pooled_spells(run_dir: Path) -> pl.DataFrame:
    """Every replication's spells, with `replication` and `arm`."""
    frames = [
        pl.read_parquet(path).with_columns(replication=pl.lit(int(path.parent.name[1:]), pl.Int64))
        for path in sorted(run_dir.glob("replications/r*/spells.parquet"))
    ]
    return pl.concat(frames).rename({"scenario": "arm"}) if frames else pl.DataFrame()


def write_linkage(run_dir: Path, scenario: Scenario) -> None:
    """linkage.csv (per arm and care status) and linkage_differences.csv (each arm minus the
    first arm, paired over the same children), with 95% bootstrap intervals over children."""
    spells = pooled_spells(run_dir)
    if spells.is_empty():
        return
    order = pl.Enum([arm.name for arm in scenario.arms])
    spells = spells.sort(pl.col("arm").cast(order), "replication", "case")
    seed = scenario.seed
    linkage_table(spells, cluster=CLUSTER, seed=seed).write_csv(run_dir / "linkage.csv")
    reference = scenario.arms[0].name
    differences = linkage_differences(spells, reference, cluster=CLUSTER, seed=seed)
    differences.write_csv(run_dir / "linkage_differences.csv")


def _share(value: float | None, low: float | None, high: float | None) -> str:
    def pct(v: float | None) -> str:
        return "n/a" if v is None or math.isnan(v) else f"{100 * v:.1f}%"

    if low is None or math.isnan(low):
        return pct(value)
    return f"{pct(value)} ({pct(low)} to {pct(high)})"


def linkage_rows(linkage: pl.DataFrame) -> Table:
    """Per arm and care status: spells, linked, and the share still unlinked at 30 and 90 days."""
    order = {status: i for i, status in enumerate(CARE_ORDER)}
    rows = []
    for r in linkage.sort(pl.col("care_status").replace_strict(order), maintain_order=True).rows(
        named=True
    ):
        rows.append(
            [
                r["arm"],
                CARE_LABELS.get(r["care_status"], r["care_status"]),
                f"{r['spells']:,}",
                f"{r['linked']:,}",
                *(
                    _share(r[f"unlinked_{t}"], r[f"unlinked_{t}_low"], r[f"unlinked_{t}_high"])
                    for t in THRESHOLDS
                ),
            ]
        )
    header = ["arm", "care status at the move", "moves (spells, all replications)", "linked"]
    header += [f"still unlinked at {t} days (95% CI)" for t in THRESHOLDS]
    return header, rows


def linkage_difference_rows(differences: pl.DataFrame) -> Table:
    order = {status: i for i, status in enumerate(CARE_ORDER)}
    rows = [
        [
            f"{r['arm']} - {r['reference']}",
            CARE_LABELS.get(r["care_status"], r["care_status"]),
            *(
                _share(
                    r[f"difference_{t}"], r[f"difference_{t}_low"], r[f"difference_{t}_high"]
                ).replace("%", " points")
                for t in THRESHOLDS
            ),
        ]
        for r in differences.sort(
            "arm", pl.col("care_status").replace_strict(order), maintain_order=True
        ).rows(named=True)
    ]
    header = ["comparison", "care status at the move"]
    header += [f"difference in share unlinked at {t} days (95% CI)" for t in THRESHOLDS]
    return header, rows


def linkage_figure(spells: pl.DataFrame, scenario: Scenario, horizon: int = 365) -> Figure:
    """Kaplan-Meier curves per arm, one panel per care status (and all together)."""
    everyone = spells.with_columns(care_status=pl.lit("all"))
    curves = survival_curves(pl.concat([everyone, spells]), horizon)
    statuses = [s for s in CARE_ORDER if s in set(curves["care_status"].to_list())]
    columns = min(3, len(statuses))
    rows = math.ceil(len(statuses) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows), layout="constrained")
    panels = figure.subplots(rows, columns, squeeze=False).ravel()
    styles = arm_styles(scenario)
    for axes, status in zip(panels, statuses, strict=False):
        for arm, style in styles.items():
            curve = curves.filter((pl.col("arm") == arm) & (pl.col("care_status") == status))
            if curve.height:
                axes.step(curve["day"], curve["unlinked"], where="post", **style)
        for t in THRESHOLDS:
            axes.axvline(t, color="grey", linestyle=":")
        axes.set_title(CARE_LABELS.get(status, status), fontsize=10)
        axes.set_xlim(0, horizon)
        axes.set_ylim(0, 1)
        axes.set_xlabel("days since the move")
        axes.set_ylabel("share still unlinked")
        axes.grid(alpha=0.3)
    for axes in panels[len(statuses) :]:
        axes.set_visible(False)
    panels[0].legend(fontsize=7, loc="upper right")
    figure.suptitle(
        "Time until social care in the new authority learns of the previous involvement "
        "(Kaplan-Meier; censored at the next move, death, 18 or the run's end)",
        fontsize=10,
    )
    return figure


def linkage_curves(run_dir: Path, scenario: Scenario, path: Path) -> Path | None:
    spells = pooled_spells(run_dir)
    if spells.is_empty():
        return None
    return save(linkage_figure(spells, scenario), path)
