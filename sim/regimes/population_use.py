"""Practitioners meet every child: the whole population's encounters, lookups and enquiries.

The vulnerable movers' cases (sim.world.encounters) decide linkage; this layer measures what a
regime costs and exposes across all children. Encounters of every child:

- in-year school admissions and GP registrations: the world's own school_change and gp_change
  events; a social worker's referral and assessment: the world's referral events;
- unscheduled care, health visiting (under the age limit), police and youth offending (at or
  over the minimum age): Poisson processes at the population rates of
  data/regimes/encounters.toml, drawn each day for the present children by thinning.

At each encounter a practitioner with access looks the child up at the kind's lookup
propensity (data/regimes/paths.toml, times compliance and the share with access), and needs
to find something out from elsewhere at the kind's `enquiry_share` (who else works with the
child; is the child registered with a school and a GP). A lookup that shows a record answers
the enquiry in `lookup_minutes`; otherwise the practitioner rings round (`phone_round_hours`).
Every lookup is counted by scenario, month, kind of practitioner, whether the child was ever
known to social care in the run (a referral, or a child-in-need, plan or care episode), and
whether it showed a record (a *view*); each scenario also marks which children were viewed,
and by how many kinds of service (services per viewed child). Counts are kept in dense numpy
arrays and per-child bit masks, never one object per child or per lookup, so England fits.

Every lookup is also kept as a row (`lookups`, written to lookups.parquet): scenario, date and
time, the kind of practitioner and their authority (who looked), the child, whether the child
was ever known to social care, and whether the lookup showed a record; a few bytes per lookup
in numpy chunks until the end.

The draws come from their own stream (key ENCOUNTER_STREAM + 1) and are shared by every
scenario (common random numbers); the world and the cases never see them. With a deployment a
scenario using ContactPoint asks its real index (`population_send` of sim.regimes.live: each
lookup through the index's batched call, with its own access check and audit entry), so a
lookup shows a record only if the index, fed from the feeds, holds and finds the child. Its
answers may come while the world goes on (lookup workers, sim.regimes.lookup_workers): the
days are counted in order once their answers are in (at the latest before any result is
read), so the counts and rows are the same as when answered at once.
"""

import datetime as dt
from collections.abc import Callable
from functools import partial

import numpy as np
import polars as pl

from sim.reference.authorities import load_authorities
from sim.regimes.lookup import Shown
from sim.regimes.parameters import PathParams
from sim.streams import stream
from sim.world.calendar import DAYS_PER_YEAR, approximate_ages, to_date
from sim.world.encounters import ENCOUNTER_STREAM, KINDS, DueEncounters, Encounters, Kind
from sim.world.events import Episode, Event, EventBatch
from sim.world.state import PRESENT

POPULATION_STREAM = ENCOUNTER_STREAM + 1
MEASURES = ("encounters", "lookups", "views", "enquiries", "phone_rounds", "hours")
KNOWN_EPISODES = (Episode.CHILD_IN_NEED, Episode.CHILD_PROTECTION_PLAN, Episode.LOOKED_AFTER)
LOOKUP_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "at": pl.Datetime("us"),
        "kind": pl.Enum(KINDS),
        "authority": pl.String,
        "child_id": pl.String,
        "known_to_social_care": pl.Boolean,
        "viewed": pl.Boolean,
    }
)
USE_SCHEMA = pl.Schema(
    {
        "scenario": pl.String,
        "month": pl.Date,
        "kind": pl.Enum(KINDS),
        "known_to_social_care": pl.Boolean,
        **{measure: pl.Float64 for measure in MEASURES},
    }
)


class PopulationUse:
    """Attach to a world with the runner's schedules; call `on_day` after the world's day."""

    def __init__(self, world, schedules: list, encounters: Encounters, paths: PathParams) -> None:
        context = world.context
        self.state, self.schedules, self.encounters = context.state, schedules, encounters
        self.params = p = encounters.params
        # kind, encounters per child a year, and the ages [low, high) it applies to
        self.poisson_kinds = (
            (Kind.UNSCHEDULED_CARE, p.unscheduled_care_per_year.value, 0, 18),
            (
                Kind.HEALTH_VISITOR,
                p.health_visitor_per_year.value,
                0,
                p.health_visitor_age_limit.value,
            ),
            (Kind.POLICE, p.population_police_per_year.value, 0, 18),
            (
                Kind.YOUTH_OFFENDING,
                p.population_youth_offending_per_year.value,
                p.youth_offending_min_age.value,
                18,
            ),
        )
        self.first_day = context.first_day
        self.rng = stream(context.seed, "world", context.replication, POPULATION_STREAM)
        self.propensity = np.asarray(paths.lookup_propensity.value) * paths.compliance.value
        self.enquiry = np.asarray(self.params.enquiry_share.value)
        self.miss = paths.search_miss_rate.value
        self.lookup_hours = paths.lookup_minutes.value / 60.0
        self.phone_hours = paths.phone_round_hours.value
        self.start = to_date(context.first_day).replace(day=1)
        months = self._month(context.last_day) + 1
        self.counts = np.zeros((len(schedules), months, len(KINDS), 2, len(MEASURES)))
        size = self.state.children.child_id.shape[0]
        self.known = np.zeros(size, dtype=bool)
        self.viewed = np.zeros((len(schedules), size), dtype=np.uint8)  # bit per kind
        self._today: list[tuple[np.ndarray, int]] = []  # the world's encounters, met at day end
        self._lookups: list[dict[str, np.ndarray]] = []  # per-lookup rows, as column chunks
        self._unsent: list[tuple[list, Callable]] = []  # days' lookups made, not yet sent
        self._tallies: list[Callable[[], None]] = []  # days counted once their answers are in
        self.codes = np.array([a.code for a in load_authorities()], dtype=object)
        world.subscribe(self.on_batch)

    def _grow(self) -> None:
        size = self.state.children.child_id.shape[0]
        if len(self.known) < size:
            self.known = np.r_[self.known, np.zeros(size - len(self.known), dtype=bool)]
            grown = np.zeros((len(self.schedules), size), dtype=np.uint8)
            grown[:, : self.viewed.shape[1]] = self.viewed
            self.viewed = grown

    def on_batch(self, batch: EventBatch) -> None:
        """The world's encounters: school and GP changes, referrals; who becomes known."""
        self._grow()
        if batch.event == Event.REFERRAL:
            self.known[batch.child] = True
            self._today.append((batch.child, Kind.SOCIAL_WORKER))
        elif batch.event in (Event.EPISODE_OPEN, Event.EPISODE_START):
            known = np.isin(batch.column("episode"), KNOWN_EPISODES)
            self.known[batch.child[known]] = True
        elif batch.event == Event.SCHOOL_CHANGE:
            self._today.append((batch.child, Kind.SCHOOL_ADMISSION))
        elif batch.event == Event.GP_CHANGE:
            self._today.append((batch.child, Kind.GP_REGISTRATION))

    def on_day(self, day: int) -> None:
        """The day's encounters: the world's, and Poisson ones of the present children; their
        lookups are made ready here and sent by `dispatch` (the caller, sim.regimes.runner,
        makes them while a real index's workers still answer the day before, and sends them
        after the day's case lookups)."""
        self._grow()
        met, self._today = self._today, []
        c = self.state.children
        for kind, rate, low, high in self.poisson_kinds:
            # thinning: candidates among all rows at the rate, kept if present and of age
            rows = self.rng.integers(0, c.size, self.rng.poisson(rate * c.size / DAYS_PER_YEAR))
            ages = approximate_ages(c.born[rows], day)
            keep = (c.status[rows] == PRESENT) & (ages >= low) & (ages < high)
            met.append((rows[keep], kind))
        if met:
            children = np.concatenate([rows for rows, _ in met])
            kinds = np.concatenate([np.full(len(rows), int(kind)) for rows, kind in met])
            self._meet(day, children, kinds)

    def _meet(self, day: int, children: np.ndarray, kinds: np.ndarray) -> None:
        c = self.state.children
        present = c.status[children] == PRESENT
        children, kinds = children[present], kinds[present]
        n = len(children)
        if not n:
            return
        u = self.rng.random((n, 4))
        due = DueEncounters(
            day=day,
            case=children,
            kind=kinds,
            minute=(u[:, 0] * 1440).astype(np.int64),
            u_look=u[:, 1],
            u_find=u[:, 2],
            u_phone=u[:, 3],
            u_delay=u[:, 3],
        )
        authority = c.authority[children].astype(np.int64)
        known = self.known[children]  # as it is today (a copy: later days may change it)
        needs = u[:, 3] < self.enquiry[kinds]
        parts = []  # per layer: who looked, and what each regime's lookups showed
        for schedule in self.schedules:
            step = schedule.index_at(day, due.minute)
            looks = np.zeros(n, dtype=bool)
            answers = []
            for index, regime in enumerate(schedule.regimes):
                here = np.flatnonzero(step == index)
                if not len(here):
                    continue
                sub = due.take(here)
                share = regime.access(sub, authority[here])
                looked = sub.u_look < self.propensity[sub.kind] * share
                looks[here] = looked
                asked = here[looked]
                if not len(asked):
                    continue
                index = getattr(regime, "lookup", None)
                if getattr(index, "answers_population", False):
                    ready = index.population_prepare(
                        *self._asked(children[asked], authority[asked], day, due.minute[asked])
                    )
                    answers.append((asked, partial(index.population_send, ready)))
                else:
                    shown = regime.shows_record(children[asked], day, due.u_find[asked], self)
                    answers.append((asked, partial(Shown.ready, shown)))
            parts.append((looks, answers))

        def tally(sent: list) -> None:
            for layer, (looks, answers) in enumerate(sent):
                shown = np.zeros(n, dtype=bool)
                for asked, answer in answers:
                    shown[asked] = answer.result()
                self._count(layer, day, children, kinds, due.minute, authority, known, needs,
                            looks, shown)  # fmt: skip

        self._unsent.append((parts, tally))

    def dispatch(self) -> None:
        """Send the lookups `on_day` made ready (a real index's go to its lookup workers);
        each day is counted once its answers are in (`settle`)."""
        unsent, self._unsent = self._unsent, []
        for parts, tally in unsent:
            sent = [
                (looks, [(asked, send()) for asked, send in answers]) for looks, answers in parts
            ]
            self._tallies.append(partial(tally, sent))
            if not any(answer.pending for _, answers in sent for _, answer in answers):
                self.settle()

    def _count(self, layer: int, day: int, children, kinds, minute, authority, known, needs,
               looks, shown) -> None:  # fmt: skip
        """One layer's lookups of the day: rows, counts, hours and the children viewed."""
        n = len(children)
        cell = kinds * 2 + known  # kind x known, as self.counts orders them
        cells = len(KINDS) * 2
        month = self._month(day)
        asked = np.flatnonzero(looks)
        self._lookups.append(
            {
                "layer": np.full(len(asked), layer, dtype=np.int16),
                "day": np.full(len(asked), day, dtype=np.int32),
                "minute": minute[asked].astype(np.int16),
                "kind": kinds[asked].astype(np.int8),
                "authority": authority[asked].astype(np.int16),
                "child": children[asked].astype(np.int32),
                "known": known[asked],
                "viewed": shown[asked],
            }
        )
        rings = needs & ~shown
        hours = looks * self.lookup_hours + rings * self.phone_hours
        measures = (np.ones(n), looks, shown, needs, rings, hours)
        tally = np.stack([np.bincount(cell, weights=m, minlength=cells) for m in measures])
        self.counts[layer, month] += tally.T.reshape(len(KINDS), 2, len(MEASURES))
        bits = np.left_shift(1, kinds[shown]).astype(np.uint8)
        np.bitwise_or.at(self.viewed[layer], children[shown], bits)

    def settle(self, keep: int = 0) -> None:
        """Count every day's lookups sent and still waiting for the real index's answers, in
        order, but the last `keep` days' (their answers may still be on the way)."""
        cut = max(len(self._tallies) - keep, 0)
        tallies, self._tallies = self._tallies[:cut], self._tallies[cut:]
        for tally in tallies:
            tally()

    def _asked(self, children, authority, day: int, minute) -> tuple[list, list, list]:
        """Lookups as a real index is asked them: child IDs, authority codes, times."""
        midnight = dt.datetime.combine(to_date(day), dt.time())
        return (
            self.state.children.child_id[children].astype("U9").tolist(),
            self.codes[authority].tolist(),
            [midnight + dt.timedelta(minutes=int(m)) for m in minute],
        )

    def _month(self, day: int) -> int:
        date = to_date(day)
        return (date.year - self.start.year) * 12 + date.month - self.start.month

    def _month_start(self, month: int) -> dt.date:
        months = self.start.month - 1 + month
        return dt.date(self.start.year + months // 12, months % 12 + 1, 1)

    # --- what the regimes' `shows_record` read --------------------------------------------

    def found(self, u_find: np.ndarray) -> np.ndarray:
        return np.asarray(u_find) >= self.miss

    # --- results -------------------------------------------------------------------------

    def frame(self) -> pl.DataFrame:
        """Counts by scenario, month, kind and whether the child was known (USE_SCHEMA)."""
        self.dispatch()
        self.settle()
        layers, months, kinds, flags, _ = self.counts.shape
        index = np.indices((layers, months, kinds, flags)).reshape(4, -1)
        values = self.counts.reshape(-1, len(MEASURES))
        keep = values[:, 0] > 0
        return pl.DataFrame(
            {
                "scenario": [self.schedules[i].name for i in index[0][keep]],
                "month": [self._month_start(i) for i in index[1][keep]],
                "kind": [KINDS[i] for i in index[2][keep]],
                "known_to_social_care": index[3][keep].astype(bool),
                **{measure: values[keep, i] for i, measure in enumerate(MEASURES)},
            },
            schema=USE_SCHEMA,
        )

    def lookups(self) -> pl.DataFrame:
        """Every lookup (LOOKUP_SCHEMA), in order of day, scenario and encounter."""
        self.dispatch()
        self.settle()
        if not self._lookups:
            return pl.DataFrame(schema=LOOKUP_SCHEMA)
        raw = {name: np.concatenate([c[name] for c in self._lookups]) for name in self._lookups[0]}
        names = np.array([schedule.name for schedule in self.schedules], dtype=object)
        minutes = raw["day"].astype(np.int64) * 1440 + raw["minute"]
        return pl.DataFrame(
            {
                "scenario": names[raw["layer"]],
                "at": (minutes * 60_000_000).astype("datetime64[us]"),
                "kind": np.array(KINDS, dtype=object)[raw["kind"]],
                "authority": self.codes[raw["authority"]],
                "child_id": self.state.children.child_id[raw["child"]].astype("U9"),
                "known_to_social_care": raw["known"],
                "viewed": raw["viewed"],
            },
            strict=False,
        ).cast(dict(LOOKUP_SCHEMA))

    def summary(self) -> pl.DataFrame:
        """Per scenario, over the run: lookups and views (never-known children's apart),
        distinct children viewed, services per viewed child, routine enquiries and hours."""
        self.dispatch()
        self.settle()
        rows = []
        totals = self.counts.sum(axis=(1, 2))  # layer, known, measure
        size = min(self.viewed.shape[1], len(self.known))
        for layer, schedule in enumerate(self.schedules):
            bits = self.viewed[layer, :size]
            viewed = bits > 0
            services = np.unpackbits(bits[viewed, None], axis=1).sum()
            never = totals[layer, 0]
            rows.append(
                {
                    "scenario": schedule.name,
                    "population_encounters": float(totals[layer, :, 0].sum()),
                    "population_lookups": float(totals[layer, :, 1].sum()),
                    "population_views": float(totals[layer, :, 2].sum()),
                    "views_never_known": float(never[2]),
                    "children_viewed": float(viewed.sum()),
                    "never_known_children_viewed": float((viewed & ~self.known[:size]).sum()),
                    "services_per_viewed_child": (
                        float(services / viewed.sum()) if viewed.any() else 0.0
                    ),
                    "routine_enquiries": float(totals[layer, :, 3].sum()),
                    "routine_phone_rounds": float(totals[layer, :, 4].sum()),
                    "routine_hours": float(totals[layer, :, 5].sum()),
                }
            )
        return pl.DataFrame(rows)
