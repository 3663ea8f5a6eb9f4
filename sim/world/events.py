"""The world's event log: what happened to which child, when and where; streamed to parquet.

One row per child per event, in the order the world made them (by day). Columns (SCHEMA):

- `date` (Date): the day of the event (for `episode_open`, the run's first day);
- `event` (Enum EVENTS): birth, death, left_index (reached 18), kept_with_consent (stays past
  18 with consent), move, school_change, gp_change, referral, episode_open (open on the first
  day: the warm start), episode_start, episode_end;
- `child_id` (String): the index ID; `household_id` (Int64): the child's household;
- `authority` (String): the child's authority after the event (GSS code);
- `from_authority` (String, moves only): where the household lived before;
- `episode` (Enum EPISODES, episode events only): child_in_need, child_protection_plan,
  looked_after, caf, lead_professional; a plan or care implies an open child_in_need episode;
- `started` (Date, episode events only): when the episode began (before the run for
  `episode_open`), so an end row carries its duration;
- `school_urn` (Int64, school_change only), `gp_practice_code` (String, gp_change only, a
  newborn's first registration included): the new registration;
- `origin` (String, moves only): "rest of England" for a household arriving from outside the
  simulated authorities (a region run's open boundary, sim.world.destinations: drawn as the
  household that would have left, so `from_authority` is where that household lived), null for
  a move between simulated authorities or within one.

Listeners (`World.subscribe`) receive the same events as `EventBatch`es of raw codes and state
rows as they are made, before they are decoded and written.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from sim.reference.authorities import load_authorities
from sim.world.state import NONE, WorldState


class Event(IntEnum):
    BIRTH = 0
    DEATH = 1
    LEFT_INDEX = 2
    KEPT_WITH_CONSENT = 3
    MOVE = 4
    SCHOOL_CHANGE = 5
    GP_CHANGE = 6
    REFERRAL = 7
    EPISODE_OPEN = 8
    EPISODE_START = 9
    EPISODE_END = 10


class Episode(IntEnum):
    CHILD_IN_NEED = 0
    CHILD_PROTECTION_PLAN = 1
    LOOKED_AFTER = 2
    CAF = 3
    LEAD_PROFESSIONAL = 4


EVENTS = tuple(e.name.lower() for e in Event)
EPISODES = tuple(e.name.lower() for e in Episode)
SCHEMA = pl.Schema(
    {
        "date": pl.Date,
        "event": pl.Enum(EVENTS),
        "child_id": pl.String,
        "household_id": pl.Int64,
        "authority": pl.String,
        "from_authority": pl.String,
        "episode": pl.Enum(EPISODES),
        "started": pl.Date,
        "school_urn": pl.Int64,
        "gp_practice_code": pl.String,
        "origin": pl.String,
    }
)
RAW_COLUMNS = ("day", "event", "child", "authority", "from_authority", "episode", "started")
RAW_COLUMNS += ("school", "gp", "origin")
ORIGINS = ("rest of England",)  # the raw `origin` codes' labels
OUTSIDE = 0  # raw `origin` of an arrival from the rest of England


@dataclass
class EventBatch:
    """Events of one kind on one day, as raw codes and state rows (what listeners receive)."""

    event: Event
    day: int
    child: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return self.columns.get(name, np.full(len(self.child), NONE, dtype=np.int64))


Listener = Callable[[EventBatch], None]


class EventLog:
    """Collects event batches, tells listeners, and writes parquet row groups of `chunk_rows`."""

    def __init__(self, state: WorldState, path: Path | None, chunk_rows: int = 250_000) -> None:
        self.state, self.path, self.chunk_rows = state, path, chunk_rows
        self.listeners: list[Listener] = []
        self.counts = np.zeros(len(Event), dtype=np.int64)
        self._buffer: list[EventBatch] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._codes = np.array([a.code for a in load_authorities()], dtype=object)

    def record(self, event: Event, day: int, child: np.ndarray, **columns: np.ndarray) -> None:
        if not len(child):
            return
        batch = EventBatch(event, day, np.asarray(child, dtype=np.int64), columns)
        for listener in self.listeners:
            listener(batch)
        self.counts[event] += len(child)
        self._buffer.append(batch)
        self._buffered += len(child)
        if self._buffered >= self.chunk_rows:
            self.flush()

    def flush(self) -> pl.DataFrame:
        """Decode the buffered events, append them to the parquet file, and return them."""
        frame = self.decode(self._buffer)
        self._buffer, self._buffered = [], 0
        if self.path is not None and frame.height:
            table = frame.to_arrow()
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._writer.write_table(table)
        return frame

    def close(self) -> None:
        self.flush()
        if self.path is not None and self._writer is None:
            self.decode([]).write_parquet(self.path)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def decode(self, batches: list[EventBatch]) -> pl.DataFrame:
        """Raw batches as rows of SCHEMA."""
        if not batches:
            return pl.DataFrame(schema=SCHEMA)
        raw = {
            "day": np.concatenate([np.full(len(b.child), b.day) for b in batches]),
            "event": np.concatenate([np.full(len(b.child), int(b.event)) for b in batches]),
            "child": np.concatenate([b.child for b in batches]),
        }
        for name in RAW_COLUMNS[3:]:
            raw[name] = np.concatenate([b.column(name) for b in batches]).astype(np.int64)
        c, h = self.state.children, self.state.households
        frame = pl.DataFrame(
            {
                "date": pl.Series(raw["day"]).cast(pl.Int32).cast(pl.Date),
                "event": pl.Series(np.array(EVENTS)[raw["event"]]),
                "child_id": pl.Series(c.child_id[raw["child"]]).cast(pl.String),
                "household_id": h.household_id[c.household[raw["child"]]],
                "authority": self._codes[raw["authority"]],
                "from_authority": _nullable(self._codes, raw["from_authority"]),
                "episode": _nullable(np.array(EPISODES, dtype=object), raw["episode"]),
                "started": pl.Series(raw["started"]).cast(pl.Int32).cast(pl.Date),
                "school_urn": _nullable(self.state.schools.labels, raw["school"]),
                "gp_practice_code": _nullable(self.state.practices.labels, raw["gp"]),
                "origin": _nullable(np.array(ORIGINS, dtype=object), raw["origin"]),
            },
            strict=False,
        )
        return frame.with_columns(
            pl.when(pl.Series(raw["started"] != NONE)).then(pl.col("started"))
        ).cast(dict(SCHEMA))


def _nullable(labels: np.ndarray, rows: np.ndarray) -> pl.Series:
    """labels[rows] with nulls where rows is NONE."""
    present = rows != NONE
    values = pl.Series(labels[np.where(present, rows, 0)] if len(labels) else rows)
    return pl.select(pl.when(pl.Series(present)).then(values)).to_series()
