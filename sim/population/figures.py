"""Figures of the synthetic population for teaching (notebook 02): who the children are and
where they live. Each returns a matplotlib Figure made without pyplot, with a title, axes
labelled with their units and a legend; a notebook shows it by leaving it last in a cell.
"""

import datetime as dt

import matplotlib.ticker as ticker
import polars as pl
from matplotlib.figure import Figure

from sim.reference.authorities import load_authorities

GENDERS = (("male", -1, "tab:blue", "boys"), ("female", 1, "tab:orange", "girls"))


def age_pyramid_figure(children: pl.DataFrame, snapshot: dt.date, scale: float) -> Figure:
    """Children by whole years of age on `snapshot`, boys to the left and girls to the right.

    Age a on the snapshot day means born in calendar year snapshot.year - 1 - a
    (data/population/population.toml), so a child born on the day itself is left out."""
    ages = (
        children.with_columns(age=snapshot.year - 1 - pl.col("date_of_birth").dt.year())
        .filter(pl.col("age") >= 0)
        .group_by("age", "gender")
        .len()
        .cast({"len": pl.Int64})
        .sort("age")
    )
    figure = Figure(figsize=(8, 6), layout="constrained")
    axes = figure.subplots()
    for gender, sign, colour, label in GENDERS:
        rows = ages.filter(pl.col("gender") == gender)
        axes.barh(rows["age"], sign * rows["len"], color=colour, label=label)
    axes.set_xlabel("number of synthetic children (boys to the left, girls to the right)")
    axes.set_ylabel("age in whole years")
    axes.set_title(f"Age pyramid of synthetic England on {snapshot:%d %B %Y} ({scale:.1%} sample)")
    axes.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{abs(value):,.0f}"))
    axes.set_yticks(range(0, 18))
    axes.axvline(0, color="black", linewidth=0.8)
    figure.legend(loc="outside lower center", ncols=2)
    return figure


def places(authorities: pl.DataFrame) -> pl.DataFrame:
    """The population's authorities with their centres (lat, lon) and regions."""
    centres = pl.DataFrame(
        [
            {"authority_code": a.code, "lat": a.lat, "lon": a.lon, "region": a.region}
            for a in load_authorities()
        ]
    )
    return centres.join(authorities.select("authority_code", "children"), on="authority_code")


def authorities_figure(authorities: pl.DataFrame) -> Figure:
    """Each authority at its centre, a circle sized by its synthetic children and coloured by
    region: where the children are (London's 33 boroughs crowd together)."""
    located = places(authorities)
    largest = located["children"].max()
    figure = Figure(figsize=(8, 9), layout="constrained")
    axes = figure.subplots()
    for (region,), rows in located.sort("region").group_by("region", maintain_order=True):
        axes.scatter(
            rows["lon"], rows["lat"], s=rows["children"] / largest * 400, alpha=0.6, label=region
        )
    axes.set_xlabel("longitude (degrees east)")
    axes.set_ylabel("latitude (degrees north)")
    axes.set_title(f"England's {located.height} children's services authorities, sized by children")
    axes.set_aspect(1.6)
    legend = axes.legend(title="region (circle size: children)", fontsize=8, loc="upper left")
    for handle in legend.legend_handles:
        handle.set_sizes([40])
    return figure
