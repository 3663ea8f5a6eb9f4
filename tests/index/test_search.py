"""Search: exact and fuzzy modes, scores, the cap, deterministic order, injection-proof fields."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.index import search as search_module
from sim.index.nicknames import nickname_frame
from sim.index.records import parse_record
from sim.index.search import SearchQuery, SearchRefused, parse_query, search, search_rules
from sim.index.search_names import forename_variants

TEXT_FIELDS = ["forename", "surname", "index_id", "postcode", "school_code", "gp_practice_code"]
INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE child; --",
    "Smith'); DELETE FROM name; --",
    '" OR 1=1 --',
    "%' UNION SELECT postcode FROM household --",
]


@pytest.fixture
def child(index_population):
    """A child of the population who has a school, a GP and a day of birth <= 12."""
    children = index_population["children"].filter(
        pl.col("school_urn").is_not_null()
        & pl.col("gp_practice_code").is_not_null()
        & (pl.col("date_of_birth").dt.day() <= 12)
        & (pl.col("date_of_birth").dt.day() != pl.col("date_of_birth").dt.month())
    )
    return children.row(0, named=True)


def _ids(result) -> list[str]:
    return [hit.child_id for hit in result.hits]


def test_exact_search_by_surname_and_date_of_birth(index_store, child):
    """The child is found, with a full score, and every hit agrees on both fields."""
    result = search(
        index_store, SearchQuery(surname=child["surname"], date_of_birth=child["date_of_birth"])
    )
    assert child["child_id"] in _ids(result)
    assert all(
        h.surname == child["surname"] and h.date_of_birth == child["date_of_birth"]
        for h in result.hits
    )
    assert all(h.score == 1.0 for h in result.hits)


def test_exact_search_is_case_and_space_insensitive(index_store, child):
    """'smith ' finds Smith: names are compared in normalised form."""
    query = SearchQuery(
        surname=f" {child['surname'].lower()} ", date_of_birth=child["date_of_birth"]
    )
    assert child["child_id"] in _ids(search(index_store, query))


def test_gender_and_forename_narrow_exact_search(index_store, child):
    """A wrong gender or forename excludes the child in exact mode."""
    other = "female" if child["gender"] == "male" else "male"
    query = SearchQuery(
        surname=child["surname"], date_of_birth=child["date_of_birth"], gender=other
    )
    assert child["child_id"] not in _ids(search(index_store, query))
    query = SearchQuery(forename=child["forename"], date_of_birth=child["date_of_birth"])
    assert child["child_id"] in _ids(search(index_store, query))


def test_search_by_postcode_school_and_gp(index_store, index_population, child):
    """Hidden fields narrow a search to children at that postcode, school or practice."""
    postcode = index_population["households"].filter(
        pl.col("household_id") == child["household_id"]
    )["postcode"][0]
    base = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
    assert child["child_id"] in _ids(
        search(index_store, SearchQuery(surname=child["surname"], postcode=postcode))
    )
    assert child["child_id"] in _ids(
        search(index_store, SearchQuery(**base, school_code=str(child["school_urn"])))
    )
    assert child["child_id"] in _ids(
        search(index_store, SearchQuery(**base, gp_practice_code=child["gp_practice_code"]))
    )
    assert _ids(search(index_store, SearchQuery(**base, gp_practice_code="Z99999"))) == []


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: {
            "surname": c["surname"][0] + c["surname"][2] + c["surname"][1] + c["surname"][3:]
        },
        lambda c: {
            "date_of_birth": c["date_of_birth"].replace(
                day=c["date_of_birth"].month, month=c["date_of_birth"].day
            )
        },
        lambda c: {
            "surname": c["surname"] + "e" if not c["surname"].endswith("e") else c["surname"][:-1]
        },
    ],
    ids=["transposed letters", "day and month swapped", "phonetic variant"],
)
def test_fuzzy_finds_what_exact_misses(index_store, child, typed):
    """Fuzzy mode finds the child despite a typing error that exact mode does not forgive."""
    fields = {
        "forename": child["forename"],
        "surname": child["surname"],
        "date_of_birth": child["date_of_birth"],
    }
    fields.update(typed(child))
    assert child["child_id"] not in _ids(search(index_store, SearchQuery(**fields)))
    fuzzy = search(index_store, SearchQuery(**fields, mode="fuzzy"))
    assert child["child_id"] in _ids(fuzzy)
    hit = next(h for h in fuzzy.hits if h.child_id == child["child_id"])
    assert search_rules().minimum_score.value <= hit.score < 1.0


def test_former_name_finds_the_child(index_store, make_record, new_ids):
    """A search by a former surname finds an unshielded child under the current name."""
    record = parse_record(
        make_record(new_ids(1)[0], former_names=[{"forename": "Amelia", "surname": "Pike"}])
    )
    index_store.write_records([record])
    hits = search(index_store, SearchQuery(surname="Pike", date_of_birth=dt.date(2004, 3, 7))).hits
    assert [(h.child_id, h.surname) for h in hits] == [(record.index_id, "Thwaite")]


def test_results_are_capped_ranked_and_repeatable(index_store, make_record, new_ids):
    """More matches than the cap: the best `result_cap` are returned, in a stable order."""
    cap = search_rules().result_cap.value
    ids = new_ids(cap + 5)
    names = ["Zoe", "Adam", "Mia", "Leo", "Ava"]
    index_store.write_records(
        [
            parse_record(make_record(i, name={"forename": names[n % 5], "surname": "Thwaite"}))
            for n, i in enumerate(ids)
        ]
    )
    query = SearchQuery(
        surname="Thwaite", forename="Mia", date_of_birth=dt.date(2004, 3, 7), mode="fuzzy"
    )
    first, second = search(index_store, query), search(index_store, query)
    assert first == second
    assert first.capped and len(first.hits) == cap and first.matched > cap
    assert first.hits[0].forename == "Mia"
    keys = [(-h.score, h.surname, h.forename, h.child_id) for h in first.hits]
    assert keys == sorted(keys)


def test_too_broad_a_search_is_refused(index_store, make_record, new_ids, monkeypatch):
    """Beyond the candidate limit the search is refused, not answered with a subset."""
    rules = search_rules()
    small = rules.model_copy(
        update={"candidate_limit": rules.candidate_limit.model_copy(update={"value": 10})}
    )
    monkeypatch.setattr(search_module, "search_rules", lambda: small)
    index_store.write_records([parse_record(make_record(i)) for i in new_ids(11)])
    with pytest.raises(SearchRefused, match="too many"):
        search(index_store, SearchQuery(surname="Thwaite", date_of_birth=dt.date(2004, 3, 7)))


@pytest.mark.parametrize(
    "fields",
    [
        {"surname": "Smith"},
        {"postcode": "BL1 1AA"},
        {"school_code": "156000"},
        {"date_of_birth": "2004-01-01"},
        {},
    ],
)
def test_search_needs_minimum_fields(index_store, fields):
    """A postcode, school or surname alone would list children: refused."""
    with pytest.raises(SearchRefused, match="give at least"):
        search(index_store, parse_query(fields))


def test_unknown_query_field_refused():
    """A query key that is not a search field is refused by name."""
    with pytest.raises(SearchRefused, match="address"):
        parse_query({"surname": "Smith", "address": "1 Mill Lane"})


def test_audit_detail_holds_ids_not_values(index_store, child):
    """What a facade audits names the fields and the child IDs, never the searched values."""
    result = search(
        index_store, SearchQuery(surname=child["surname"], date_of_birth=child["date_of_birth"])
    )
    detail = result.audit_detail()
    assert detail["fields"] == ["surname", "date_of_birth"]
    assert child["child_id"] in detail["child_ids"]
    assert child["surname"] not in str(detail)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.sampled_from(INJECTIONS) | st.text(min_size=1, max_size=40),
    field=st.sampled_from(TEXT_FIELDS),
    mode=st.sampled_from(["exact", "fuzzy"]),
)
def test_injection_in_any_field_does_no_harm(index_store, payload, field, mode):
    """Property: any text in any field is a value, never SQL: tables intact, no SQL error."""
    before = index_store.table_counts()
    fields = {"surname": "Smith", "date_of_birth": "2004-01-01", "mode": mode, field: payload}
    try:
        result = search(index_store, parse_query(fields))
    except SearchRefused:
        result = None
    assert index_store.table_counts() == before
    if result is not None:
        assert all(h.child_id for h in result.hits)


@pytest.fixture
def nicknamed(index_population):
    """A child whose forename has a short form in the nickname table, and one such form that
    sounds different (so only the table, not the phonetic code, links them)."""
    table = nickname_frame()
    children = (
        index_population["children"]
        .join(table, on="forename")
        .filter(pl.col("forename").str.slice(0, 1) != pl.col("short_form").str.slice(0, 1))
    )
    assert children.height > 0
    return children.sort("child_id").row(0, named=True)


def test_fuzzy_search_finds_a_child_by_a_short_form_of_the_forename(index_store, nicknamed):
    """Searching 'Bob' finds Robert in fuzzy mode, scored below the exact forename; exact mode
    does not treat a short form as the name."""
    short, full = nicknamed["short_form"], nicknamed["forename"]
    born = nicknamed["date_of_birth"]
    for fields in ({"surname": nicknamed["surname"]}, {}):  # with a surname, and without one
        by_short = search(
            index_store, SearchQuery(forename=short, date_of_birth=born, mode="fuzzy", **fields)
        )
        by_full = search(
            index_store, SearchQuery(forename=full, date_of_birth=born, mode="fuzzy", **fields)
        )
        score = {h.child_id: h.score for h in by_short.hits}
        exact = {h.child_id: h.score for h in by_full.hits}
        assert nicknamed["child_id"] in score
        assert score[nicknamed["child_id"]] < exact[nicknamed["child_id"]]
    exact_mode = SearchQuery(forename=short, surname=nicknamed["surname"], date_of_birth=born)
    assert nicknamed["child_id"] not in _ids(search(index_store, exact_mode))


def test_short_forms_go_both_ways():
    """A full form lists its short forms and a short form its full form; unknown names none."""
    for row in nickname_frame().iter_rows(named=True):
        full, short = row["forename"].upper(), row["short_form"].upper()
        assert short in forename_variants(full) and full in forename_variants(short)
    assert forename_variants("ZZYZX") == frozenset()
