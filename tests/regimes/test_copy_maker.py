"""A live index's staffed working copy made by a helper process (sim.regimes.copy_maker) while
the run builds its world: the copy the run's own process would make, its accounts able to log
in, refusals in the run's process, and no helper left behind whatever happens."""

import datetime as dt
import multiprocessing

import numpy as np
import pytest

from sim.errors import InputError, WorkbenchError
from sim.index.layout import Layout, backend_file
from sim.regimes import Identities
from sim.regimes.copy_maker import CopyMaker
from sim.regimes.deployment import (
    CASE_ACCOUNTS,
    SIMULATED,
    held_by_authority,
    run_accounts,
    staff_copy,
    working_copy,
)
from sim.regimes.inside import LiveRun
from sim.regimes.live import DeploymentIndex
from sim.regimes.lookup import LookupRequests

DAY = dt.date(2010, 3, 1)


def _makers() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "copy-maker"]


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_the_helpers_copy_is_the_one_the_run_would_make(live_deployment, tmp_path):
    """The same files, the same population accounts in each authority under the same names;
    only the secrets differ (drawn afresh for every copy)."""
    deployment, tables = live_deployment
    held = held_by_authority(tables["children"])
    maker = CopyMaker(deployment, tmp_path / "helper", held, DAY)
    assert maker.copied() == tmp_path / "helper" / deployment.name
    made = maker.result()
    here = staff_copy(working_copy(deployment, tmp_path / "here"), held, DAY)
    assert not _makers()
    assert made.root == tmp_path / "helper" / deployment.name
    names = [
        {code: [who.username for who in group] for code, group in copy.staff.items()}
        for copy in (made, here)
    ]
    assert names[0] == names[1]
    assert sum(len(group) for group in names[0].values()) == sum(run_accounts(held).values())
    assert _files(made.root) == _files(here.root)
    secrets = [
        [who.password for group in copy.staff.values() for who in group] for copy in (made, here)
    ]
    assert not set(secrets[0]) & set(secrets[1])


def test_both_kinds_of_account_open_at_once_and_log_in(live_deployment, tmp_path):
    """A live index on the helper's copy opens the case lookups' accounts while the helper
    opens the population's, in the same stores: every account is there, and the case
    accounts log in and find the child."""
    deployment, tables = live_deployment
    children = tables["children"]
    held = held_by_authority(children)
    maker = CopyMaker(deployment, tmp_path / "live", held, DAY)
    index = DeploymentIndex(
        deployment, tmp_path / "live", children, Identities(children), seed=1, replication=0,
        start=DAY, switch_off=None, answers_population=False, maker=maker,
    )  # fmt: skip
    try:
        assert not _makers()
        child, home = children["child_id"][0], children["authority_code"][0]
        at = [dt.datetime.combine(DAY, dt.time(9))]
        answers = index.lookup(LookupRequests([child], [home], at, np.ones(1), np.zeros(1, bool)))
        names = index.service.access.accounts_frame()["username"].to_list()
    finally:
        index.close()
    assert answers.found.tolist() == [True] and not answers.refused.any()
    opened = sum(run_accounts(held).values())
    assert sum(name.startswith(CASE_ACCOUNTS) for name in names) == opened
    assert sum(name.startswith(SIMULATED) for name in names) == 2 * opened
    assert not (tmp_path / "live" / f"{deployment.name}.token-letters").exists()


def test_a_copy_for_another_place_is_refused(live_deployment, tmp_path):
    deployment, tables = live_deployment
    maker = CopyMaker(deployment, tmp_path / "a", held_by_authority(tables["children"]), DAY)
    with pytest.raises(AssertionError):
        DeploymentIndex(
            deployment, tmp_path / "b", tables["children"], Identities(tables["children"]),
            seed=1, replication=0, start=DAY, switch_off=None, maker=maker,
        )  # fmt: skip
    assert not _makers()  # the index that could not open it stopped its helper


def test_a_failure_in_the_helper_is_one_line_naming_it(live_deployment, tmp_path):
    """The copy's place taken already: the helper fails, the run hears it in one line naming
    the helper, the error and where, and no helper is left."""
    deployment, tables = live_deployment
    (tmp_path / "live" / deployment.name).mkdir(parents=True)
    maker = CopyMaker(deployment, tmp_path / "live", held_by_authority(tables["children"]), DAY)
    pattern = r"^the maker of the working copy in .*live failed: FileExistsError: .* \(\w+:\d+\)$"
    with pytest.raises(WorkbenchError, match=pattern):
        maker.copied()
    assert not _makers()


def test_a_postgres_deployment_is_refused_before_any_helper_starts(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    backend_file(Layout(served)).write_text(
        'backend = "postgres"\nindex = "dbname=index"\naccounts = "dbname=accounts"\n'
    )
    with pytest.raises(InputError, match=r"served from PostgreSQL; a run's working copy"):
        CopyMaker(served, tmp_path / "live", {"E08000001": 10}, DAY)
    assert not _makers()


def test_a_copy_nobody_took_ends_with_the_run(live_deployment, tmp_path):
    """A run that fails before it needs the copy (here: closed at once) stops the helper and
    removes what it made."""
    deployment, tables = live_deployment
    live = LiveRun(deployment, tables, tmp_path, seed=1, replication=0, start=DAY,
                   lookup_workers=2)  # fmt: skip
    live.prepare(["contactpoint_kept"])
    assert len(_makers()) == 1
    live.close()
    assert not _makers()
    assert not (tmp_path / ".live-indexes").exists()


def test_without_lookup_workers_the_copy_is_made_in_the_runs_process(live_deployment, tmp_path):
    deployment, tables = live_deployment
    with LiveRun(deployment, tables, tmp_path, seed=1, replication=0, start=DAY,
                 lookup_workers=1) as live:  # fmt: skip
        live.prepare(["contactpoint_kept"])
        assert not _makers()
        index = live.index_for("contactpoint_kept")
        assert sum(index.accounts.values()) > 0
