"""Tornado charts: how far each parameter, from its low to its high value, moves a figure.

The table is a sweep's (sim.experiments.sweep, or sim.experiments.sensitivity for unit costs):
point 0 the base run, points 2i+1 and 2i+2 range i at low and high; arm, metric and mean.
"""

from typing import TYPE_CHECKING

import matplotlib.ticker as ticker
import polars as pl
from matplotlib.figure import Figure

if TYPE_CHECKING:  # sweep draws its tornado with this module: import for types only
    from sim.experiments.sweep import Range

TORNADO_PANELS = (
    ("lost_90_per_1000", "lost at 90 days per 1,000 movers"),
    ("cost_per_child_found_gbp", "cost per child reconnected (GBP)"),
)


def effect_panels(arm: str, reference: str) -> tuple[tuple[str, str], ...]:
    """Panels of paired differences (sim.experiments.sensitivity.with_effects), arm minus
    reference: lost at 30 and 90 days per 1,000 and practitioner hours."""
    return (
        ("lost_90_per_1000_effect", f"lost at 90 days per 1,000: {arm} minus {reference}"),
        ("lost_30_per_1000_effect", f"lost at 30 days per 1,000: {arm} minus {reference}"),
        ("hours_effect", f"practitioner hours: {arm} minus {reference}"),
    )


def _amount(value: float) -> str:
    """1.5e8 -> '150 m', 36000 -> '36 k', 420 -> '420', 0.25 -> '0.25': short and readable."""
    for threshold, size, suffix in ((1e6, 1e6, " m"), (1e4, 1e3, " k")):
        if abs(value) >= threshold:
            return f"{value / size:,.4g}{suffix}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _span(r: "Range") -> str:
    """'0.4 to 1', '36 k to 72 k', or for a multiplier (a whole list scaled) '0.8x to 1.2x'."""
    if r.multiplier:
        return r.describe()
    return f"{_amount(r.low)} to {_amount(r.high)}"


def tornado_figure(
    sweep: pl.DataFrame, ranges: "list[Range]", arm: str, panels: tuple = TORNADO_PANELS
) -> Figure:
    """For one arm: how far each parameter, low to high, moves each panel's figure from the
    base run (point 0; points 2i+1 and 2i+2 are range i at low and high); widest at the top."""
    figure = Figure(figsize=(4 + 3.6 * len(panels), 1.9 + 0.6 * len(ranges)), layout="constrained")
    axes_row = figure.subplots(1, len(panels), squeeze=False)[0]
    for axes, (metric, label) in zip(axes_row, panels, strict=True):
        rows = sweep.filter((pl.col("arm") == arm) & (pl.col("metric") == metric))
        mean = dict(zip(rows["point"].to_list(), rows["mean"].to_list(), strict=True))
        base = mean.get(0, float("nan"))
        bars = []
        for i, r in enumerate(ranges):
            low, high = mean.get(1 + 2 * i, base), mean.get(2 + 2 * i, base)
            name = r.key.rsplit(".", 1)[-1].replace("_", " ")
            bars.append(
                (
                    abs(high - low),
                    f"{name}\n({_span(r)})",
                    low - base,
                    high - base,
                )
            )
        bars.sort()
        for y, (_, _name, low, high) in enumerate(bars):  # side by side: both always show
            axes.barh(y + 0.2, low, 0.4, color="C0", label="parameter at LOW" if y == 0 else None)
            axes.barh(y - 0.2, high, 0.4, color="C3", label="parameter at HIGH" if y == 0 else None)
        axes.set_yticks(range(len(bars)), [b[1] for b in bars], fontsize=8)
        axes.axvline(0, color="black", linewidth=0.8)
        axes.xaxis.set_major_locator(ticker.MaxNLocator(5))
        axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _amount(v)))
        axes.set_xlabel(f"change from the base run ({_amount(base)})")
        axes.set_title(label, fontsize=10)
        axes.grid(axis="x", alpha=0.3)
    handles, labels = axes_row[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8)
    if all(metric.endswith("_effect") for metric, _ in panels):
        figure.suptitle(f"Sensitivity of the paired difference of arm '{arm}' (one at a time)")
    else:
        figure.suptitle(f"Sensitivity of arm '{arm}' (one parameter at a time)")
    return figure
