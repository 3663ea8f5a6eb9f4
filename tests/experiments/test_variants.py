"""Variants: a ready-made scenario with a few settings changed, validated like a file."""

import pytest

from sim.errors import InputError
from sim.experiments import load_scenario
from sim.experiments.variants import arms_table, variant


def test_nested_settings_merge_and_arms_come_from_other_scenarios():
    """population and period change key by key; another file's arm joins the arms."""
    base = load_scenario("north-west")
    history = load_scenario("history-2009-2011").arms[0]
    changed = variant(
        base,
        seed=7,
        replications=2,
        period={"end": "2011-03-31"},
        population={"scale": 0.05},
        arms=[*base.arms, history],
        parameters={"metrics.costs.token_gbp": 20},
    )
    assert changed.seed == 7 and changed.replications == 2
    assert str(changed.period.start) == "2009-01-01" and str(changed.period.end) == "2011-03-31"
    assert changed.population.scale == 0.05 and changed.population.regions == ["North West"]
    assert [arm.name for arm in changed.arms] == [
        "none",
        "contactpoint",
        "signposting_2010",
        "history",
    ]
    assert changed.arms[-1].regimes[1].start.isoformat() == "2010-08-06T12:00:00"
    assert changed.parameters == {"metrics.costs.token_gbp": 20}
    assert base.population.scale == 0.5  # the base scenario is not changed


def test_a_name_is_read_from_data_scenarios():
    """A bare name is the ready-made scenario of that name."""
    assert variant("north-west", replications=1).title == load_scenario("north-west").title


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sead": 1}, "'sead' is not a scenario setting"),
        ({"population": {"regions": ["Narnia"]}}, r"population\.regions\[0\]: 'Narnia'"),
        ({"period": {"end": "2008-01-01"}}, r"period\.end"),
        ({"parameters": {"metrics.costs.token_gbp": -1}}, r"parameters\.metrics\.costs\.token_gbp"),
    ],
)
def test_bad_changes_get_the_files_one_line_errors(changes, message):
    """Unknown settings, places, dates out of order and invalid parameters are InputErrors."""
    with pytest.raises(InputError, match=message):
        variant("north-west", **changes)


def test_arms_table_lists_each_arm_with_its_regimes_and_switch_dates():
    """One row per arm, in order; a switch shows its date and time (the history arm)."""
    base = load_scenario("north-west")
    history = load_scenario("history-2009-2011").arms[0]
    table = arms_table(variant(base, arms=[*base.arms, history]))
    assert table["arm"].to_list() == ["none", "contactpoint", "signposting_2010", "history"]
    assert table["regimes"][0] == "none"
    assert table["regimes"][3] == "contactpoint_as_it_was, then none from 06 Aug 2010 12:00"
    assert table["description"][3] == history.description
