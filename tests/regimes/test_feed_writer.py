"""A live index's feeds written by a process of their own (sim.regimes.feed_writer): the
index ends as the run's own process would leave it, nothing reads it while a day's feeds are
out, and a dead writer ends the run in one line."""

import datetime as dt
import multiprocessing
import os
import signal
import sqlite3
import time
from contextlib import closing

import polars as pl
import pytest

from sim.deployment.backend import open_deployment_index
from sim.errors import WorkbenchError
from sim.feeds.live import LiveFeed
from sim.index.layout import Layout
from sim.index.store.delivery import Delivery
from sim.regimes import Identities, path_params
from sim.regimes.deployment import working_copy
from sim.regimes.feed_writer import FeedWriter
from sim.regimes.live import DeploymentIndex
from sim.regimes.lookup import FacadeLookup
from sim.regimes.population_index import PopulationLookups

DAY = dt.date(2010, 3, 1)
TABLES = ("child", "name", "household", "involvement", "service", "death")


def _delivery(tables) -> Delivery:
    """A day of every feed: a birth into a known family, a household's move to another
    authority, a school change and a death."""
    children = tables["children"]
    family = children.group_by("household_id").len().filter(pl.col("len") >= 2)
    household = children.filter(pl.col("household_id") == family["household_id"].min())
    other = next(c for c in children["authority_code"].unique().sort() if c != household[
        "authority_code"][0])  # fmt: skip
    pupil = children.filter(pl.col("school_urn").is_not_null())[0]
    schools = tables["schools"].filter(pl.col("urn") != pupil["school_urn"][0])
    births = pl.DataFrame({
        "child_id": ["ZZ0000001"], "authority_code": [household["authority_code"][0]],
        "gender": ["female"], "date_of_birth": [DAY.isoformat()],
        "household_key": [household["household_id"][0]], "forename": ["Ada"],
        "surname": ["Unused"], "address_line": ["1 New Street"], "town": ["Bolton"],
        "postcode": ["BL1 1AA"],
    })  # fmt: skip
    ids = household["child_id"].to_list()
    moves = pl.DataFrame({
        "child_id": ids, "authority_code": [other] * len(ids),
        "household_key": household["household_id"].to_list(),
        "address_line": ["2 Moved Lane"] * len(ids), "town": ["Wigan"] * len(ids),
        "postcode": ["WN1 1ZZ"] * len(ids),
    })  # fmt: skip
    services = pl.DataFrame({
        "child_id": pupil["child_id"], "kind": ["school"], "code": [str(schools["urn"][0])],
        "name": [schools["name"][0]],
    })  # fmt: skip
    deaths = pl.DataFrame({"child_id": [children["child_id"][3]], "died_on": [DAY.isoformat()]})
    return Delivery(births=births, moves=moves, services=services, deaths=deaths)


def _dump(root) -> dict[str, list]:
    with closing(sqlite3.connect(Layout(root).index)) as db:
        return {t: sorted(map(repr, db.execute(f"SELECT * FROM {t}"))) for t in TABLES}


def test_a_day_written_by_the_writer_is_the_day_written_here(live_deployment, tmp_path):
    """The same day's updates applied by the writer process and by the run's own store leave
    the two copies' tables the same, and changed."""
    deployment, tables = live_deployment
    delivery = _delivery(tables)
    here, there = (
        working_copy(deployment, tmp_path / "here"),
        working_copy(deployment, tmp_path / "there"),
    )
    before = _dump(here)
    store = open_deployment_index(Layout(here))
    try:
        store.deliver(delivery)
    finally:
        store.close()
    writer = FeedWriter(there)
    try:
        writer.deliver(delivery)
        assert writer.pending
        writer.written()
        assert not writer.pending and writer.cpu_seconds > 0
    finally:
        writer.close()
    written = _dump(there)
    assert written == _dump(here)
    assert all(written[t] != before[t] for t in ("child", "name", "household", "death"))


def test_nothing_reads_or_writes_the_index_while_a_days_feeds_are_out(
    live_deployment, tmp_path, real_run, monkeypatch
):
    """With lookup workers the feeds go to a writer process; every case lookup, population
    send, retention run and the end of the run find its last delivery written."""
    deployment, tables = live_deployment
    writers: list[FeedWriter] = []
    seen: dict[str, list[bool]] = {"case": [], "send": [], "retention": []}
    made = FeedWriter.__init__

    def made_watched(self, root):
        writers.append(self)
        made(self, root)

    def watch(kind, original):
        def watched(*args, **kwargs):
            seen[kind].append(any(writer.pending for writer in writers))
            return original(*args, **kwargs)

        return watched

    monkeypatch.setattr(FeedWriter, "__init__", made_watched)
    monkeypatch.setattr(FacadeLookup, "lookup", watch("case", FacadeLookup.lookup))
    monkeypatch.setattr(PopulationLookups, "send", watch("send", PopulationLookups.send))
    import sim.regimes.live as live

    monkeypatch.setattr(live, "run_retention", watch("retention", live.run_retention))
    real_run(tables, deployment, tmp_path / "run", path_params(), population_through_index=True,
             lookup_workers=2)  # fmt: skip
    assert len(writers) == 1 and writers[0].cpu_seconds > 0  # the feeds went through it
    assert all(seen.values()), seen
    assert not any(pending for calls in seen.values() for pending in calls)


def _open(live_deployment, workdir) -> DeploymentIndex:
    deployment, tables = live_deployment
    children = tables["children"]
    return DeploymentIndex(
        deployment, workdir, children, Identities(children), seed=3, replication=0,
        start=DAY, switch_off=None, lookup_workers=2,
    )  # fmt: skip


def _writers() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "feed-writer"]


def test_a_dead_feed_writer_ends_the_run_with_a_one_line_error(live_deployment, tmp_path):
    """The writer killed mid-run: the day's feeds raise an error naming it, at once, and no
    writer is left running."""
    index = _open(live_deployment, tmp_path / "live")
    try:
        assert index.writer is not None and len(_writers()) == 1
        deaths = pl.DataFrame({"child_id": [live_deployment[1]["children"]["child_id"][3]],
                               "died_on": [DAY.isoformat()]})  # fmt: skip
        index.feed.submit("deaths", DAY, deaths)
        os.kill(_writers()[0].pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(WorkbenchError, match=r"^the feed writer of .* died \(exit code -9\)$"):
            index.start_day(max(index.feed.pending) + dt.timedelta(days=1))
            index.fed()
        assert time.monotonic() - started < 30
        assert not _writers()
    finally:
        index.close()


def test_the_feed_writer_stops_when_the_run_ends(live_deployment, tmp_path):
    """Closing the index stops its writer, which exits cleanly; without worker processes the
    run's own process writes the feeds."""
    index = _open(live_deployment, tmp_path / "live")
    writer = _writers()
    index.close()
    assert len(writer) == 1 and writer[0].exitcode == 0
    assert not _writers()
    deployment, tables = live_deployment
    alone = DeploymentIndex(
        deployment, tmp_path / "alone", tables["children"], Identities(tables["children"]),
        seed=3, replication=0, start=DAY, switch_off=None, lookup_workers=1,
    )  # fmt: skip
    try:
        assert alone.writer is None and not _writers()
    finally:
        alone.close()


def test_tomorrows_feeds_go_in_when_today_ends(live_deployment, tmp_path, real_run, monkeypatch):
    """Every update arrives at least a day after its event, so a day's updates are written
    when the day before ends (while the world makes the day): the start of a day, but the
    first, finds nothing left to deliver."""
    deployment, tables = live_deployment
    delivered: list[tuple[str, dt.date, dt.date, int]] = []  # where, today, for, updates
    today: list[tuple[str, dt.date]] = []
    deliver = LiveFeed.deliver

    def watched_deliver(self, day):
        count = deliver(self, day)
        delivered.append((*today[-1], day, count))
        return count

    def at(where, original):
        def watched(self, date, *rest):
            today.append((where, date))
            return original(self, date, *rest)

        return watched

    monkeypatch.setattr(LiveFeed, "deliver", watched_deliver)
    monkeypatch.setattr(DeploymentIndex, "start_day", at("start", DeploymentIndex.start_day))
    monkeypatch.setattr(DeploymentIndex, "end_day", at("end", DeploymentIndex.end_day))
    real_run(tables, deployment, tmp_path / "run", path_params(), population_through_index=True,
             lookup_workers=2)  # fmt: skip
    first = delivered[0][1]
    assert all(
        count == 0 for where, date, _, count in delivered if where == "start" and date > first
    )
    at_end = [(date, day, count) for where, date, day, count in delivered if where == "end"]
    assert all(day == date + dt.timedelta(days=1) for date, day, _ in at_end)
    assert sum(count for _, _, count in at_end) > 0
