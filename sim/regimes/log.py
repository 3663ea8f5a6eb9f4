"""The regime log: what each scenario's regime layer did, one row per case, lookup,
phone-round or reconnection; written to parquet beside the world's event log.

Columns (REGIME_SCHEMA): `scenario`; `date`; `event` (case_open, lookup, phone_round,
reconnection); `regime` in force (lookups); `case` and `child_id`; `authority` (the new
authority) and `from_authority`; `care` (the involvement at the move: caf, child_in_need,
child_protection_plan, looked_after, lead_professional); `unborn` (the child was not yet born
at the move, on a pre-birth plan); `opened` (the move's date); `kind` of
encounter; `found`, `contacts_shown`, `stale` (the index still had the old address), `shielded`
and `refused` for lookups (`found` also for phone-rounds: whether it will reach anyone); `path`
of a reconnection; `hours` of practitioner time.
"""

import numpy as np
import polars as pl

from sim.reference.authorities import load_authorities
from sim.regimes.regimes import REGIMES
from sim.world.encounters import KINDS, Encounters
from sim.world.state import CAF, IN_NEED, LOOKED_AFTER, NO_CARE, PROTECTION_PLAN

REGIME_EVENTS = ("case_open", "lookup", "phone_round", "reconnection")
CARE = ("lead_professional", "caf", "child_in_need", "child_protection_plan", "looked_after")
assert (NO_CARE, CAF, IN_NEED, PROTECTION_PLAN, LOOKED_AFTER) == (0, 1, 2, 3, 4)
PATH_NAMES = ("records_transfer", "lookup", "notification", "phone_round")
REGIME_NAMES = REGIMES
REGIME_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "date": pl.Date,
        "event": pl.Enum(REGIME_EVENTS),
        "regime": pl.Enum(REGIME_NAMES),
        "case": pl.Int64,
        "child_id": pl.String,
        "authority": pl.String,
        "from_authority": pl.String,
        "care": pl.Enum(CARE),
        "unborn": pl.Boolean,
        "opened": pl.Date,
        "kind": pl.Enum(KINDS),
        "found": pl.Boolean,
        "contacts_shown": pl.Boolean,
        "stale": pl.Boolean,
        "shielded": pl.Boolean,
        "refused": pl.Boolean,
        "path": pl.Enum(PATH_NAMES),
        "hours": pl.Float64,
    }
)


class RegimeLog:
    """Rows as column chunks, decoded once at the end (the volume is small: vulnerable movers)."""

    def __init__(self, scenario: str, encounters: Encounters) -> None:
        self.scenario, self.encounters = scenario, encounters
        self._chunks: list[dict[str, object]] = []
        self._codes = np.array([a.code for a in load_authorities()], dtype=object)

    def _add(self, event: str, day: int, cases: np.ndarray, **columns: object) -> None:
        if len(cases):
            self._chunks.append({"event": event, "day": day, "case": cases, **columns})

    def cases_opened(self, cases: np.ndarray) -> None:
        for day in np.unique(self.encounters.cases.opened[cases]):
            self._add("case_open", int(day), cases[self.encounters.cases.opened[cases] == day])

    def lookups(self, day: int, due, regime: str, answers, minutes: float) -> None:
        self._add(
            "lookup",
            day,
            due.case,
            regime=regime,
            kind=due.kind,
            found=answers.found,
            contacts_shown=answers.reconnects,
            stale=answers.stale,
            shielded=answers.shielded,
            refused=answers.refused,
            hours=minutes / 60.0,
        )

    def phone_rounds(self, day: int, due, hours: float, found: np.ndarray) -> None:
        """Phone-rounds made (hours spent); `found`: those that will reach who was involved."""
        self._add("phone_round", day, due.case, kind=due.kind, hours=hours, found=found)

    def reconnections(self, day: int, cases: np.ndarray, paths: np.ndarray) -> None:
        self._add("reconnection", day, cases, path=paths)

    def frame(self) -> pl.DataFrame:
        """Every row so far, in the order made, as REGIME_SCHEMA."""
        if not self._chunks:
            return pl.DataFrame(schema=REGIME_SCHEMA)
        k, c = self.encounters.cases, self.encounters.state.children
        parts = []
        for chunk in self._chunks:
            cases = np.asarray(chunk["case"], dtype=np.int64)
            n = len(cases)
            care = k.care[cases].astype(np.int64)  # state codes 0-4 are CARE's order
            parts.append(
                pl.DataFrame(
                    {
                        "scenario": [self.scenario] * n,
                        "date": pl.Series(np.full(n, chunk["day"])).cast(pl.Int32).cast(pl.Date),
                        "event": [chunk["event"]] * n,
                        "regime": _names(chunk.get("regime"), n),
                        "case": cases,
                        "child_id": pl.Series(c.child_id[k.child[cases]]).cast(pl.String),
                        "authority": self._codes[k.to_authority[cases]],
                        "from_authority": self._codes[k.from_authority[cases]],
                        "care": np.array(CARE, dtype=object)[care],
                        "unborn": k.unborn[cases],
                        "opened": pl.Series(k.opened[cases]).cast(pl.Int32).cast(pl.Date),
                        "kind": _labels(chunk.get("kind"), KINDS, n),
                        "found": _flags(chunk.get("found"), n),
                        "contacts_shown": _flags(chunk.get("contacts_shown"), n),
                        "stale": _flags(chunk.get("stale"), n),
                        "shielded": _flags(chunk.get("shielded"), n),
                        "refused": _flags(chunk.get("refused"), n),
                        "path": _labels(chunk.get("path"), PATH_NAMES, n),
                        "hours": pl.Series([chunk.get("hours")] * n, dtype=pl.Float64),
                    },
                    strict=False,
                ).cast(dict(REGIME_SCHEMA))
            )
        return pl.concat(parts)


def _names(value: object, n: int) -> pl.Series:
    return pl.Series([value] * n, dtype=pl.String)


def _labels(codes: object, labels: tuple[str, ...], n: int) -> pl.Series:
    if codes is None:
        return pl.Series([None] * n, dtype=pl.String)
    return pl.Series(np.array(labels, dtype=object)[np.asarray(codes, dtype=np.int64)])


def _flags(values: object, n: int) -> pl.Series:
    if values is None:
        return pl.Series([None] * n, dtype=pl.Boolean)
    return pl.Series(np.asarray(values, dtype=bool))
