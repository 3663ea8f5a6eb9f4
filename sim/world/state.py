"""The world's hot state: one row per child and per household in numpy arrays, updated in place.

Columns, never objects (docs/architecture.md, "Scale"): England's 11 M children are ~50 bytes each.
Rows are never removed: a child who dies or leaves the index keeps its row with a status.
Arrays may be replaced when they grow, so read them through the object every time.
"""

from collections.abc import Mapping

import numpy as np
import polars as pl

from sim.reference.authorities import load_authorities

# Child status.
PRESENT = 0
KEPT_WITH_CONSENT = 1  # past 18, still on the index with consent (SI 2007/2182)
DIED = 2
LEFT = 3  # reached the adult age: leaves the index
UNBORN = 4  # on a pre-birth protection plan: lives with the household, not on the index

# Social-care involvement, one at a time; a plan or care implies an open child-in-need episode.
NO_CARE = 0
CAF = 1
IN_NEED = 2
PROTECTION_PLAN = 3
LOOKED_AFTER = 4

NONE = -1
CHILD_COLUMNS = {
    "child_id": "S9",
    "authority": np.int16,
    "household": np.int32,
    "born": np.int32,
    "male": bool,
    "status": np.int8,
    "school": np.int32,
    "gp": np.int32,
    "moves": np.int32,
    "care": np.int8,
    "care_started": np.int32,
    "plan_started": np.int32,
    "care_ends": np.int32,
    "lead_professional": bool,
    "next_sibling": np.int32,
}
HOUSEHOLD_COLUMNS = {
    "household_id": np.int64,
    "authority": np.int16,
    "head": np.int32,  # first child row of the household's sibling list
    "movers": np.int32,  # children who move with the household (see WorldState.at_home)
}


class Columns:
    """Named numpy columns with spare capacity, grown by doubling when rows are added."""

    def __init__(self, dtypes: Mapping[str, object], rows: int, capacity: int) -> None:
        self._dtypes = dict(dtypes)
        self.size = rows
        for name, dtype in self._dtypes.items():
            setattr(self, name, np.zeros(max(capacity, rows, 1), dtype=dtype))

    def add(self, count: int) -> np.ndarray:
        """Rows for `count` new entries (zeroed); returns their row numbers."""
        needed = self.size + count
        capacity = len(getattr(self, next(iter(self._dtypes))))
        if needed > capacity:
            new_capacity = max(needed, 2 * capacity)
            for name, dtype in self._dtypes.items():
                grown = np.zeros(new_capacity, dtype=dtype)
                grown[: self.size] = getattr(self, name)[: self.size]
                setattr(self, name, grown)
        rows = np.arange(self.size, needed)
        self.size = needed
        return rows


class Catalogue:
    """School URNs or GP practice codes (`labels`) as row numbers, grouped by a key.

    The key is what a child may choose among: authority ordinal x 16 + phase for schools, the
    authority ordinal for practices.
    """

    def __init__(self, labels: np.ndarray, keys: np.ndarray) -> None:
        self.labels = labels
        self.keys = keys
        order = np.argsort(keys, kind="stable")
        self.rows = order.astype(np.int32)
        self.unique, self.starts, self.counts = np.unique(
            keys[order], return_index=True, return_counts=True
        )

    def pick(self, rng: np.random.Generator, keys: np.ndarray) -> np.ndarray:
        """One row per key, uniformly among the key's rows; NONE where the key has none."""
        u = rng.random(len(keys))
        if not len(self.unique):
            return np.full(len(keys), NONE, dtype=np.int32)
        position = np.minimum(np.searchsorted(self.unique, keys), len(self.unique) - 1)
        found = self.unique[position] == keys
        offset = self.starts[position] + (u * self.counts[position]).astype(np.int64)
        return np.where(found, self.rows[np.where(found, offset, 0)], NONE).astype(np.int32)


class WorldState:
    """Children, households, schools and practices of a simulated population."""

    def __init__(self, tables: Mapping[str, pl.DataFrame], spare: int) -> None:
        ordinal_of = {a.code: i for i, a in enumerate(load_authorities())}
        # A canonical row order: the world's draws pick rows, so the same population read in
        # any order (memory, a directory, a shuffle) must give the same trajectory.
        children = tables["children"].sort("household_id", "date_of_birth", "child_id")
        n = children.height
        self.children = Columns(CHILD_COLUMNS, n, n + spare)
        c = self.children
        c.child_id[:n] = np.array(children["child_id"].to_list(), dtype="S9")
        c.authority[:n] = children["authority_code"].replace_strict(ordinal_of).to_numpy()
        c.born[:n] = children["date_of_birth"].cast(pl.Int32).to_numpy()
        c.male[:n] = (children["gender"] == "male").to_numpy()
        for name in ("care_started", "plan_started", "care_ends", "next_sibling"):
            getattr(c, name)[:n] = NONE

        ids, household = _dense(children["household_id"].to_numpy())
        c.household[:n] = household
        self.households = Columns(HOUSEHOLD_COLUMNS, len(ids), len(ids) + spare)
        h = self.households
        h.household_id[: h.size] = ids
        h.authority[household] = c.authority[:n]
        h.head[:] = NONE
        self.link_children(np.arange(n, dtype=np.int32))
        h.movers[: h.size] = np.bincount(household, minlength=h.size)  # all present at home

        schools = tables["schools"].sort("urn")
        phases = {phase: i for i, phase in enumerate(sorted(set(schools["phase"].to_list())))}
        school_authority = schools["authority_code"].replace_strict(ordinal_of).to_numpy()
        school_phase = schools["phase"].replace_strict(phases).to_numpy()
        self.schools = Catalogue(
            schools["urn"].to_numpy(), school_authority.astype(np.int64) * 16 + school_phase
        )
        c.school[:n] = _lookup(
            children["school_urn"].fill_null(NONE).to_numpy(), schools["urn"].to_numpy()
        )
        practices = tables["gp_practices"].sort("practice_code")
        codes = np.array(practices["practice_code"].to_list(), dtype="U8")
        self.practices = Catalogue(
            codes,
            practices["authority_code"].replace_strict(ordinal_of).to_numpy().astype(np.int64),
        )
        registered = np.array(children["gp_practice_code"].fill_null("").to_list(), dtype="U8")
        c.gp[:n] = _lookup(registered, codes)

    def link_children(self, rows: np.ndarray) -> None:
        """Put `rows` at the head of their households' sibling lists (rows in ascending order)."""
        c, h = self.children, self.households
        order = np.argsort(c.household[rows], kind="stable")
        rows = rows[order][::-1]
        households = c.household[rows]
        # Process each household's rows one layer at a time so repeated households chain up.
        remaining = np.ones(len(rows), dtype=bool)
        while remaining.any():
            layer = np.flatnonzero(remaining)
            _, first = np.unique(households[layer], return_index=True)
            take = layer[first]
            c.next_sibling[rows[take]] = h.head[households[take]]
            h.head[households[take]] = rows[take]
            remaining[take] = False

    def at_home(self, rows: np.ndarray) -> np.ndarray:
        """True for children who live with their household and move with it: present or
        unborn, and not looked after (a looked-after child lives in a placement)."""
        c = self.children
        status = c.status[rows]
        return ((status == PRESENT) | (status == UNBORN)) & (c.care[rows] != LOOKED_AFTER)

    def recount(self, households: np.ndarray) -> None:
        """Recount the movers of these households after births, deaths, exits or care."""
        households = np.unique(households)
        rows = self.members(households)
        mover = self.at_home(rows)
        position = np.searchsorted(households, self.children.household[rows])
        counts = np.bincount(position, weights=mover, minlength=len(households))
        self.households.movers[households] = counts.astype(np.int32)

    def members(self, households: np.ndarray) -> np.ndarray:
        """Every child row (whatever its status) of the given households."""
        c, h = self.children, self.households
        found = []
        frontier = h.head[households]
        frontier = frontier[frontier != NONE]
        while len(frontier):
            found.append(frontier)
            frontier = c.next_sibling[frontier]
            frontier = frontier[frontier != NONE]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int32)


def _dense(household_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct household IDs and each child's row among them, for IDs sorted ascending."""
    first = np.r_[True, household_ids[1:] != household_ids[:-1]][: len(household_ids)]
    return household_ids[first], np.cumsum(first) - 1


def _lookup(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row of each value in `labels`, NONE where absent."""
    order = np.argsort(labels, kind="stable")
    ranked = labels[order]
    position = np.searchsorted(ranked, values)
    if not len(ranked):
        return np.full(len(values), NONE, dtype=np.int32)
    position = np.minimum(position, len(ranked) - 1)
    found = ranked[position] == values
    return np.where(found, order[position], NONE).astype(np.int32)
