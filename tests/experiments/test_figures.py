"""The report's figures: switch-offs marked (or their absence said), titles and labelled axes,
and no change to whatever plotting backend the caller (a notebook) uses."""

import datetime as dt
import os
import subprocess
import sys

import polars as pl

from sim.experiments import figures
from sim.experiments.scenario import scenario_from_dict
from sim.experiments.sweep import Range
from sim.experiments.tornado import tornado_figure

ARMS_WITH_SWITCH = [
    {"name": "none", "regimes": [{"regime": "none"}]},
    {
        "name": "history",
        "regimes": [{"regime": "contactpoint"}, {"regime": "none", "start": "2010-08-06T12:00"}],
    },
]


def _scenario(arms: list[dict]):
    return scenario_from_dict(
        {
            "title": "t",
            "seed": 1,
            "replications": 1,
            "period": {"start": "2010-01-01", "end": "2010-12-31"},
            "population": {"scale": 0.01, "authorities": ["E08000001"]},
            "arms": arms,
        },
        "test",
    )


def _metrics(arms: list[str]) -> pl.DataFrame:
    rows = []
    for arm in arms:
        for m in range(1, 13):
            month = dt.date(2010, m, 1)
            for level, area in (("all", "all"), ("authority", "E08000001")):
                rows += [
                    (arm, level, area, month, "eligible_90", 10.0),
                    (arm, level, area, month, "lost_90", 3.0),
                    (arm, level, area, month, "records_held", 100.0 * m),
                ]
    columns = ["arm", "level", "area", "month", "metric", "value"]
    return pl.DataFrame(rows, schema=columns, orient="row")


def _legend(figure) -> list[str]:
    return figure.get_axes()[0].get_legend_handles_labels()[1]


def test_the_lost_rate_over_time_marks_the_switch_off():
    """The regime switch is a dashed line whose legend entry names the arm, regime and time."""
    figure = figures.lost_over_time_figure(
        _metrics(["none", "history"]), _scenario(ARMS_WITH_SWITCH)
    )
    assert "history: none from 06 Aug 2010 12:00" in _legend(figure)
    axes = figure.get_axes()[0]
    assert axes.get_title() and axes.get_xlabel() == "month of the move"
    assert "per 1,000" in axes.get_ylabel()


def test_the_lost_rate_over_time_says_when_there_is_no_switch_off():
    """A scenario without a regime switch says so in the legend, rather than marking nothing."""
    figure = figures.lost_over_time_figure(_metrics(["none"]), _scenario(ARMS_WITH_SWITCH[:1]))
    assert "no regime switch (no switch-off) in this scenario" in _legend(figure)


def test_exposure_marks_the_switch_off_too():
    """Records held fall at the switch-off: the line is there to read it against."""
    figure = figures.exposure_figure(_metrics(["none", "history"]), _scenario(ARMS_WITH_SWITCH))
    assert "history: none from 06 Aug 2010 12:00" in _legend(figure)


def test_saving_a_figure_leaves_the_plotting_backend_alone(tmp_path):
    """Figures are drawn without pyplot: importing them and writing the report from a notebook
    must not switch the notebook's backend (here 'svg' stands in for the inline one)."""
    script = (
        "import matplotlib.pyplot\n"
        "import sim.experiments.report\n"
        "from sim.experiments.figures import save\n"
        "from matplotlib.figure import Figure\n"
        f"save(Figure(), __import__('pathlib').Path({str(tmp_path / 'f.png')!r}))\n"
        "print(matplotlib.get_backend())\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_tornado_puts_the_widest_swing_on_top_and_shows_both_ends():
    """Bars for low and high sit side by side (both show even when they point the same way);
    the parameter that moves the figure most is at the top; values read '150 m', '36 k'."""
    ranges = [Range("metrics.costs.setup_gbp", 150e6, 300e6), Range("a.b.compliance", 0.5, 1.0)]
    sweep = pl.DataFrame(
        {
            "point": [0, 1, 2, 3, 4],
            "arm": ["contactpoint"] * 5,
            "metric": ["lost_90_per_1000"] * 5,
            "mean": [200.0, 260.0, 230.0, 100.0, 400.0],
        }
    )
    figure = tornado_figure(sweep, ranges, "contactpoint", panels=(("lost_90_per_1000", "lost"),))
    axes = figure.get_axes()[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["setup gbp\n(150 m to 300 m)", "compliance\n(0.5 to 1)"]  # top is last
    widths = sorted(round(patch.get_width()) for patch in axes.patches)
    assert widths == [-100, 30, 60, 200]  # setup: +60 and +30, both drawn


def test_a_tornado_of_paired_differences_draws_the_difference_and_says_so():
    """With the effect panels the bars are the change in contactpoint minus none (from the
    base run's difference, -50), not in either arm's level, and the title says so."""
    from sim.experiments.tornado import effect_panels

    ranges = [Range("regimes.paths.compliance", 0.5, 1.0)]
    sweep = pl.DataFrame(
        {
            "point": [0, 1, 2, 0, 1, 2],
            "arm": ["contactpoint"] * 6,
            "metric": ["lost_90_per_1000"] * 3 + ["lost_90_per_1000_effect"] * 3,
            "mean": [300.0, 320.0, 280.0, -50.0, -20.0, -90.0],
        }
    )
    panels = effect_panels("contactpoint", "none")[:1]
    figure = tornado_figure(sweep, ranges, "contactpoint", panels=panels)
    widths = sorted(round(patch.get_width()) for patch in figure.get_axes()[0].patches)
    assert widths == [-40, 30]
    assert "paired difference" in figure.get_suptitle()
    assert "contactpoint minus none" in figure.get_axes()[0].get_title()
