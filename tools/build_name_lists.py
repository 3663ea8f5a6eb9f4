"""Build data/population/surnames.csv and forenames.csv (run by hand; the generator never does).

    .venv/bin/python tools/build_name_lists.py

The vocabulary comes from Faker's person lists (MIT licence), which this script alone imports.
The shares do not: the commonest names take their published England and Wales shares, and
every other name a share from a power law in rank that continues from the last published name
and is solved so the shares add up to one (data/population/names_SOURCES.md). The order of the
modelled names follows Faker's own frequency lists, mixed by the locale shares in
data/population/names.toml. The files are written once and committed, so a population depends
on data/ only, not on the installed Faker.
"""

import importlib
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.population.parameters import (  # noqa: E402
    births_by_year,
    name_params,
    population_params,
)

OUT = ROOT / "data" / "population"
FORENAME_LISTS = {"male": "first_names_male", "female": "first_names_female"}

# Percent of entries, England and Wales death registrations 1984-97 (GRO), as tabulated in
# P. Dance, "Comparative Table of 300 Leading Surnames" (names_SOURCES.md, surnames).
PUBLISHED_SURNAMES = {
    "Smith": 1.37, "Jones": 1.14, "Williams": 0.73, "Taylor": 0.63, "Brown": 0.58,
    "Davies": 0.58, "Evans": 0.47, "Thomas": 0.41, "Wilson": 0.39, "Roberts": 0.38,
    "Johnson": 0.37, "Robinson": 0.33, "Wright": 0.32, "Thompson": 0.31, "Walker": 0.31,
    "White": 0.31, "Edwards": 0.30, "Green": 0.30, "Hall": 0.30, "Wood": 0.30,
    "Harris": 0.29, "Hughes": 0.29,
}  # fmt: skip

# Live births registered in England and Wales in 2006 with the first name (ONS, names_SOURCES.md,
# forenames), over the boys or girls born that year (data/population/births.csv 2006 and the
# sex ratio in data/population/population.toml).
COUNT_YEAR = 2006
PUBLISHED_FORENAME_COUNTS = {
    "male": {
        "Jack": 6_928, "Thomas": 5_921, "Joshua": 5_808, "Oliver": 5_208, "Harry": 5_006,
        "James": 4_783, "William": 4_327, "Samuel": 4_320, "Daniel": 4_303,
    },
    "female": {"Jessica": 4_416},
}  # fmt: skip
# The rest of the 2006 top ten, without a published count: they lead the modelled tail.
TOP_TEN_2006_UNCOUNTED = {
    "male": ["Charlie"],
    "female": ["Olivia", "Grace", "Ruby", "Emily", "Sophie", "Chloe", "Lucy", "Lillie", "Ellie"],
}


def locale_list(locale: str, attribute: str) -> dict[str, float]:
    """One Faker list as shares; a list without frequencies counts each name once."""
    words = getattr(importlib.import_module(f"faker.providers.person.{locale}").Provider, attribute)
    if isinstance(words, dict):
        weights = {str(w): float(f) for w, f in words.items()}
    else:
        weights = {str(w): 1.0 for w in words}
    total = sum(weights.values())
    return {word: weight / total for word, weight in weights.items()}


def mixed_order(locale_shares: dict[str, float], attribute: str) -> list[str]:
    """Every name of the lists, commonest first by the locale-weighted Faker frequencies."""
    merged: dict[str, float] = {}
    for locale, share in sorted(locale_shares.items()):
        if share == 0 or not getattr(
            importlib.import_module(f"faker.providers.person.{locale}").Provider, attribute, None
        ):
            continue
        for word, weight in locale_list(locale, attribute).items():
            merged[word] = merged.get(word, 0.0) + share * weight
    return sorted(merged, key=lambda w: (-merged[w], w))


def power_tail(
    anchor_share: float, anchor_rank: int, count: int, mass: float
) -> tuple[list[float], float]:
    """Shares anchor * (r / anchor_rank) ** -a for the next `count` ranks, adding up to `mass`,
    and the exponent a. The tail's total falls as a grows, so bisection on [0.01, 5] finds a."""
    ranks = range(anchor_rank + 1, anchor_rank + count + 1)

    def total(a: float) -> float:
        return sum(anchor_share * (r / anchor_rank) ** -a for r in ranks)

    low, high = 0.01, 5.0
    if not total(high) <= mass <= total(low):
        raise SystemExit(f"no tail exponent in [{low}, {high}] gives a tail of {mass:g}")
    while high - low > 1e-13:
        middle = (low + high) / 2
        low, high = (middle, high) if total(middle) > mass else (low, middle)
    exponent = (low + high) / 2
    return [anchor_share * (r / anchor_rank) ** -exponent for r in ranks], exponent


def weighted(published: dict[str, float], order: list[str], lead: list[str]) -> pl.DataFrame:
    """Published shares, then the modelled tail in `lead` + `order` order."""
    tail_names = [n for n in dict.fromkeys([*lead, *order]) if n not in published]
    anchor = min(published.values())
    shares, exponent = power_tail(
        anchor, len(published), len(tail_names), 1 - sum(published.values())
    )
    print(f"  {len(published)} published, {len(tail_names)} modelled, tail exponent {exponent:.4f}")
    return pl.DataFrame(
        {
            "name": [*published, *tail_names],
            "share": [*published.values(), *shares],
            "basis": ["published"] * len(published) + ["modelled"] * len(tail_names),
        }
    ).with_columns(pl.col("share").round(9))


def main() -> None:
    params = name_params()
    published = {name: pct / 100 for name, pct in PUBLISHED_SURNAMES.items()}
    surnames = weighted(published, mixed_order(params.surname_locales.value, "last_names"), [])
    surnames = surnames.rename({"name": "surname"})
    print(f"surnames: sum of squared shares {(surnames['share'] ** 2).sum():.6f}")
    surnames.write_csv(OUT / "surnames.csv")

    male_share = population_params().male_share.value
    births = {row.year: row.births_england_wales for row in births_by_year()}[COUNT_YEAR]
    frames = []
    for sex, attribute in FORENAME_LISTS.items():
        born = births * (male_share if sex == "male" else 1 - male_share)
        counts = PUBLISHED_FORENAME_COUNTS[sex]
        frame = weighted(
            {name: count / born for name, count in counts.items()},
            mixed_order(params.forename_locales.value, attribute),
            TOP_TEN_2006_UNCOUNTED[sex],
        )
        frames.append(frame.rename({"name": "forename"}).with_columns(sex=pl.lit(sex)))
    forenames = pl.concat(frames).select("forename", "sex", "share", "basis")
    forenames.write_csv(OUT / "forenames.csv")


if __name__ == "__main__":
    main()
