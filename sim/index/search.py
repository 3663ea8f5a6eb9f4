"""Searching the index by name, date of birth, gender and postcode, exact or fuzzy.

A shielded child shows only name, date of birth, gender and ID (SI 2007/2182 reg 6(5)-(6)). So
a search that uses any hidden field (postcode, school, GP practice) leaves shielded children
out entirely, whatever their hidden values: they cannot be found, counted, ranked or refused
through one. Scores use visible fields only, and a former name never finds a shielded child.
Postcode, school and GP practice are exact filters in both modes; fuzzy mode forgives names
(phonetic codes, a known short form such as Bob for Robert, one typo or transposition) and a
date of birth with day and month swapped.
"""

import datetime as dt
from typing import Annotated, Literal

import jellyfish
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from sim.errors import WorkbenchError
from sim.index.records import record_rules
from sim.index.search_names import forename_variants
from sim.index.search_rules import (
    QUERY_FIELDS,
    ForenameWeights,
    NameWeights,
    SearchRules,
    search_rules,
)
from sim.index.store import Block, Candidate, CandidateQuery
from sim.index.store.keys import normalise_name, normalise_postcode, phonetic_code
from sim.index.store.protocols import CandidateSearch
from sim.reference.validation import describe

__all__ = [
    "SearchHit",
    "SearchQuery",
    "SearchRefused",
    "SearchResult",
    "hidden_fields",
    "parse_query",
    "search",
    "search_rules",
]

Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class SearchRefused(WorkbenchError):
    """A search the index will not run; the message never names a child or a hidden value."""


class SearchQuery(BaseModel):
    """What a practitioner typed; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    forename: Text | None = None
    surname: Text | None = None
    date_of_birth: dt.date | None = None
    gender: Literal["male", "female", "not known"] | None = None
    index_id: Text | None = None
    postcode: Text | None = None
    school_code: Text | None = None
    gp_practice_code: Text | None = None
    mode: Literal["exact", "fuzzy"] = "exact"

    def fields_used(self) -> tuple[str, ...]:
        return tuple(name for name in QUERY_FIELDS if getattr(self, name) is not None)


class SearchHit(BaseModel):
    """One result: identity fields only, for every child, shielded or not."""

    model_config = ConfigDict(frozen=True)

    child_id: str
    forename: str
    middle_names: str | None
    surname: str
    date_of_birth: dt.date
    gender: str
    shielded: bool
    score: float


class SearchResult(BaseModel):
    """Results best first, and what a facade writes to the audit (IDs and field names only)."""

    model_config = ConfigDict(frozen=True)

    hits: tuple[SearchHit, ...]
    matched: int
    capped: bool
    mode: str
    fields_used: tuple[str, ...]

    def audit_detail(self) -> dict[str, object]:
        """No searched values: audit trails hold pseudonymous IDs only (decommissioning s5.4)."""
        return {
            "mode": self.mode,
            "fields": list(self.fields_used),
            "matched": self.matched,
            "capped": self.capped,
            "child_ids": [hit.child_id for hit in self.hits],
        }


def parse_query(data: dict[str, object]) -> SearchQuery:
    """Validate a query from a form or the CLI; the error names the field, not the value."""
    try:
        return SearchQuery.model_validate(data)
    except ValidationError as exc:
        raise SearchRefused(f"search: {describe(exc)}") from None


def hidden_fields(query: SearchQuery) -> tuple[str, ...]:
    """Query fields that read a part of the record a shield hides."""
    visible = set(record_rules().shielded_visible_fields.value)
    return tuple(f for f in query.fields_used() if QUERY_FIELDS[f] not in visible)


def search(store: CandidateSearch, query: SearchQuery) -> SearchResult:
    """Find, score and rank children; deterministic for the same index and query."""
    rules = search_rules()
    used = set(query.fields_used())
    if not any(set(fields) <= used for fields in rules.minimum_fields.value):
        options = " or ".join("+".join(fields) for fields in rules.minimum_fields.value)
        raise SearchRefused(f"search: give at least {options}")
    candidates = store.find_candidates(
        CandidateQuery(
            blocks=_blocks(query),
            postcode=normalise_postcode(query.postcode) if query.postcode else None,
            school_code=query.school_code,
            gp_practice_code=query.gp_practice_code,
            exclude_shielded=bool(hidden_fields(query)),
            limit=rules.candidate_limit.value,
        )
    )
    if len(candidates) > rules.candidate_limit.value:
        raise SearchRefused("search: too many possible matches; add a date of birth or forename")
    scored = [(_score(query, c, rules), c) for c in candidates if _admissible(query, c)]
    if query.mode == "fuzzy":
        scored = [(s, c) for s, c in scored if s >= rules.minimum_score.value]
    hits = sorted((_hit(c, s) for s, c in scored), key=_rank)
    cap = rules.result_cap.value
    return SearchResult(
        hits=tuple(hits[:cap]),
        matched=len(hits),
        capped=len(hits) > cap,
        mode=query.mode,
        fields_used=query.fields_used(),
    )


def _swapped(day: dt.date) -> dt.date | None:
    """The date with day and month transposed, if that is another valid date."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(day=day.month, month=day.day)


def _blocks(query: SearchQuery) -> tuple[Block, ...]:
    blocks = []
    if query.index_id:
        blocks.append(Block("child_id", query.index_id.upper()))
    dates: tuple[str, ...] = ()
    if query.date_of_birth:
        swapped = _swapped(query.date_of_birth) if query.mode == "fuzzy" else None
        dates = tuple(d.isoformat() for d in (query.date_of_birth, swapped) if d)
    if not dates and query.postcode is None:
        return tuple(blocks)
    if query.surname:
        blocks.append(Block("surname_norm", normalise_name(query.surname), dates))
        code = phonetic_code(query.surname)
        if query.mode == "fuzzy" and code:
            blocks.append(Block("surname_code", code, dates))
    if query.forename and dates and (query.mode == "fuzzy" or not query.surname):
        names = [query.forename]
        if query.mode == "fuzzy":
            names += sorted(forename_variants(normalise_name(query.forename)))
        codes = dict.fromkeys(phonetic_code(name) for name in names)
        blocks += [Block("forename_code", code, dates) for code in codes if code]
    return tuple(blocks)


def _admissible(query: SearchQuery, candidate: Candidate) -> bool:
    """Exact mode: every given visible field agrees exactly (on some name of the child)."""
    if query.mode == "fuzzy":
        return True
    if query.date_of_birth and candidate.date_of_birth != query.date_of_birth.isoformat():
        return False
    if query.gender and candidate.gender != query.gender:
        return False
    if query.index_id and candidate.child_id != query.index_id.upper():
        return False
    surname = normalise_name(query.surname) if query.surname else None
    forename = normalise_name(query.forename) if query.forename else None
    return any(
        (surname is None or n.surname_norm == surname)
        and (forename is None or n.forename_norm == forename)
        for n in candidate.names
    )


def _name_points(
    typed: str, name: str, code: str, weights: NameWeights | ForenameWeights, near: float
) -> float:
    normal = normalise_name(typed)
    if normal == name:
        return weights.exact
    if phonetic_code(typed) == code and code:
        return weights.phonetic
    if isinstance(weights, ForenameWeights) and name in forename_variants(normal):
        return weights.nickname
    similar = jellyfish.jaro_winkler_similarity(normal, name) >= near
    if similar or jellyfish.damerau_levenshtein_distance(normal, name) <= 1:
        return weights.near
    return weights.differs


def _score(query: SearchQuery, candidate: Candidate, rules: SearchRules) -> float:
    """Share of the best possible points, over visible fields only; the best name counts."""
    parts: list[tuple[float, float]] = []  # (best possible, scored) per field
    if query.date_of_birth:
        weights = rules.date_of_birth_weights.value
        swapped = _swapped(query.date_of_birth)
        if candidate.date_of_birth == query.date_of_birth.isoformat():
            parts.append((weights.exact, weights.exact))
        elif swapped and candidate.date_of_birth == swapped.isoformat():
            parts.append((weights.exact, weights.swapped))
        else:
            parts.append((weights.exact, weights.differs))
    if query.gender:
        weights = rules.gender_weights.value
        agrees = candidate.gender == query.gender
        parts.append((weights.exact, weights.exact if agrees else weights.differs))
    typed = [
        (text, weights, part)
        for text, weights, part in (
            (query.surname, rules.surname_weights.value, "surname"),
            (query.forename, rules.forename_weights.value, "forename"),
        )
        if text
    ]
    if typed and candidate.names:
        near = rules.near_name_similarity.value
        scored = max(
            sum(
                _name_points(text, getattr(n, f"{part}_norm"), getattr(n, f"{part}_code"), w, near)
                for text, w, part in typed
            )
            for n in candidate.names
        )
        parts.append((sum(w.exact for _, w, _ in typed), scored))
    best = sum(b for b, _ in parts)
    return round(max(sum(p for _, p in parts), 0.0) / best, 4) if best else 1.0


def _hit(candidate: Candidate, score: float) -> SearchHit:
    current = next(n for n in candidate.names if n.current)
    return SearchHit(
        child_id=candidate.child_id,
        forename=current.forename,
        middle_names=current.middle_names,
        surname=current.surname,
        date_of_birth=dt.date.fromisoformat(candidate.date_of_birth),
        gender=candidate.gender,
        shielded=candidate.shielded,
        score=score,
    )


def _rank(hit: SearchHit) -> tuple:
    """Best score first, then by name, date of birth and ID: never by a hidden field."""
    return (-hit.score, hit.surname.upper(), hit.forename.upper(), hit.date_of_birth, hit.child_id)
