"""Canaries: known synthetic children planted in a deployment so its destruction can be tested.

Each canary has a distinctive name (data/index/deployment.toml), a real-looking address in its
authority and the school and GP practice of a neighbour, so it travels into every copy a real
child would: the index, replica, backups, extracts. After destruction a byte scan for any canary's
name or ID must find nothing (docs/decommissioning-standards.md 5.4 and 9.A.2). The list of canaries
is kept outside the deployment, or the scan would find the list itself.
"""

import datetime as dt
import string

import numpy as np
import polars as pl

from sim.deployment.settings import deployment_settings
from sim.population.identifiers import index_ids, serial_modulus
from sim.reference.authorities import load_authorities
from sim.streams import stream

CANARY_STREAM = 101


def _suffix(number: int) -> str:
    """a, b, ..., z, ba, bb, ...: a distinct lower-case tail per canary."""
    letters = string.ascii_lowercase
    text = letters[number % 26]
    while number >= 26:
        number //= 26
        text = letters[number % 26] + text
    return text


def _fresh_ids(codes: list[str], taken: pl.Series, rng: np.random.Generator) -> list[str]:
    """One valid, unused index ID per canary, from its authority's prefixes (a column scan per
    draw, not a set of every ID: cheap even at England scale)."""
    ordinal = {a.code: n for n, a in enumerate(load_authorities())}
    ids: list[str] = []
    for code in codes:
        while True:
            serial = rng.integers(0, serial_modulus(), size=1)
            candidate = index_ids(ordinal[code], serial)[0].decode()
            if candidate not in ids and not (taken == candidate).any():
                ids.append(candidate)
                break
    return ids


def plant_canaries(
    tables: dict[str, pl.DataFrame], count: int, seed: int, on: dt.date
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The tables with `count` canaries added (one household and carer each), and their list."""
    if count == 0:
        return tables, pl.DataFrame()
    settings = deployment_settings()
    rng = stream(seed, "index", CANARY_STREAM)
    children, households = tables["children"], tables["households"]
    codes = sorted(children["authority_code"].unique().to_list())
    chosen = [codes[n % len(codes)] for n in range(count)]
    neighbours = pl.concat(
        [
            children.filter(pl.col("authority_code") == code)
            .sample(1, seed=int(rng.integers(2**31)))
            .join(households.select("household_id", "town", "postcode"), on="household_id")
            for code in chosen
        ]
    )
    first_household = int(households["household_id"].max()) + 1
    first_carer = int(tables["carers"]["carer_id"].max()) + 1
    ages = rng.integers(365 * 2, 365 * 15, size=count)
    forenames = settings.canary_forenames.value
    stem = settings.canary_surname_stem.value
    canaries = pl.DataFrame(
        {
            "child_id": _fresh_ids(chosen, children["child_id"], rng),
            "authority_code": chosen,
            "forename": [forenames[n % len(forenames)] for n in range(count)],
            "middle_names": [None] * count,
            "surname": [f"{stem}{_suffix(n)}" for n in range(count)],
            "gender": rng.choice(["female", "male"], size=count).tolist(),
            "date_of_birth": [on - dt.timedelta(days=int(days)) for days in ages],
            "household_id": list(range(first_household, first_household + count)),
            "school_urn": neighbours["school_urn"],
            "gp_practice_code": neighbours["gp_practice_code"],
        },
        schema=children.schema,
    )
    homes = pl.DataFrame(
        {
            "household_id": canaries["household_id"],
            "authority_code": chosen,
            "address_line": [f"{n + 1} Sentinel Row" for n in range(count)],
            "town": neighbours["town"],
            "postcode": neighbours["postcode"],
        },
        schema=households.schema,
    )
    carers = pl.DataFrame(
        {
            "carer_id": list(range(first_carer, first_carer + count)),
            "household_id": canaries["household_id"],
            "forename": ["Robin"] * count,
            "middle_names": [None] * count,
            "surname": canaries["surname"],
            "gender": ["female"] * count,
            "date_of_birth": [on - dt.timedelta(days=365 * 35)] * count,
            "relationship": ["parent"] * count,
            "phone": [None] * count,
        },
        schema=tables["carers"].schema,
    )
    planted = {
        **tables,
        "children": pl.concat([children, canaries]),
        "households": pl.concat([households, homes]),
        "carers": pl.concat([tables["carers"], carers]),
    }
    listed = canaries.select(
        "child_id", "forename", "surname", pl.col("date_of_birth").dt.to_string("%Y-%m-%d")
    ).with_columns(homes["postcode"])
    return planted, listed
