"""Figures and tables of notebook 02: synthetic England, its moves and care, and matching."""

import datetime as dt

import matplotlib.dates as mdates
import polars as pl
import pytest
from matplotlib.figure import Figure

from sim.feeds import make_feeds
from sim.feeds.matching.figures import (
    compare_matching,
    matching_figure,
    matching_table,
    one_child_in_feeds,
)
from sim.population.figures import age_pyramid_figure, authorities_figure, places
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities
from sim.teaching.england import england_request
from sim.world import World, WorldConfig
from sim.world.figures import (
    event_counts,
    moves_by_month_figure,
    open_episodes_figure,
    region_flows,
    region_flows_figure,
)

CODES = ("E08000001", "E08000010", "E09000001", "E06000052")  # Bolton, Wigan, City, Cornwall
START, END = dt.date(2009, 1, 1), dt.date(2009, 6, 30)


@pytest.fixture(scope="module")
def population():
    return synthesise(SynthRequest(seed=2, scale=0.02, authority_codes=CODES))


@pytest.fixture(scope="module")
def world(population, tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "events.parquet"
    run = World(population, WorldConfig(seed=2, start=START, end=END), log_path=path).run()
    return run, pl.scan_parquet(path)


def readable(figure: Figure) -> None:
    """A title, both axes labelled, and a legend (on the axes or the figure)."""
    axes = figure.axes[0]
    assert axes.get_title(), "no title"
    assert axes.get_xlabel() and axes.get_ylabel(), "an axis without a label"
    assert axes.get_legend() or figure.legends, "no legend"


def test_england_request_names_every_authority():
    """Notebook 02 makes all 152 authorities of 2009-10."""
    request = england_request(1, 0.001)
    assert len(request.authority_codes) == len(load_authorities()) == 152


def test_age_pyramid_counts_every_child_once(population):
    """Boys drawn left (negative) and girls right; together the bars count every child born
    before the snapshot's year (a child born on the day itself has no whole year of age)."""
    children = population["children"]
    figure = age_pyramid_figure(children, dt.date(2009, 1, 1), 0.02)
    readable(figure)
    widths = [patch.get_width() for patch in figure.axes[0].patches]
    born_before = children.filter(pl.col("date_of_birth").dt.year() < 2009).height
    assert born_before > 0
    assert sum(abs(w) for w in widths) == born_before
    assert min(widths) < 0 < max(widths)


def test_authorities_are_placed_at_their_centres(population):
    """Each authority of the population is one circle at its centroid."""
    located = places(population["authorities"])
    assert sorted(located["authority_code"]) == sorted(CODES)
    figure = authorities_figure(population["authorities"])
    readable(figure)
    assert sum(len(c.get_offsets()) for c in figure.axes[0].collections) == len(CODES)


def test_event_counts_and_region_flows_add_up(world):
    """The events table matches the run's counts; the region grid counts every move between
    authorities exactly once."""
    run, log = world
    counts = event_counts(run)
    assert dict(counts.iter_rows()) == {k: v for k, v in run.events.items()}
    grid = region_flows(log)
    between = (
        log.filter((pl.col("event") == "move") & (pl.col("from_authority") != pl.col("authority")))
        .select(pl.len())
        .collect()
        .item()
    )
    assert grid.drop("from").to_numpy().sum() == between
    assert grid["from"].to_list() == grid.columns[1:]


def test_world_figures_have_dated_axes(world):
    """Moves and episodes over time have month dates on the x axis; the flows map is labelled."""
    _, log = world
    for figure in (moves_by_month_figure(log, 0.02), open_episodes_figure(log, START, END, 0.02)):
        readable(figure)
        formatter = figure.axes[0].xaxis.get_major_formatter()
        assert isinstance(formatter, mdates.DateFormatter)
    flows = region_flows_figure(log, START, END)
    assert flows.axes[0].get_title() and flows.axes[0].get_xlabel()
    assert "Jan 2009 - Jun 2009" in flows.axes[0].get_title()


def test_matching_compares_exact_keys_with_probabilistic_matching(population):
    """The feeds of one child disagree somewhere; probabilistic matching makes fewer duplicate
    index records than exact keys; the table and figure show both methods."""
    pair = synthesise(SynthRequest(seed=2, scale=0.02, authority_codes=CODES[:2]))
    feeds = make_feeds(pair, 2)
    child = one_child_in_feeds(feeds)
    assert child["truth_child_id"].n_unique() == 1 and child.height >= 2
    assert child.select("forename", "surname", "date_of_birth", "postcode").n_unique() > 1
    reports = compare_matching(feeds, pair["authorities"], 2)
    exact, matched = reports["exact keys only"], reports["probabilistic matching"]
    assert matched.duplicate_rate < exact.duplicate_rate
    table = matching_table(reports)
    assert table["method"].to_list() == list(reports)
    readable(matching_figure(reports))
