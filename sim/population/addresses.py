"""Addresses: a building number, a street, the post town and a postcode in the authority's area.

Postcode districts (the outward code, e.g. `BL1`) come from data/reference/postcode_districts.csv,
so every postcode lies in its authority; the inward code (`4QT`) is synthetic.
"""

from functools import cache

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import ReferenceDataError
from sim.population.names import surnames
from sim.population.parameters import name_params
from sim.reference.authorities import load_authorities
from sim.reference.tables import load_rows

DISTRICTS_FILE = "reference/postcode_districts.csv"
# Letters used in the unit part of an inward code (Royal Mail: never C, I, K, M, O or V).
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


class PostcodeDistrict(BaseModel):
    model_config = ConfigDict(frozen=True)
    district: str = Field(pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")
    la_code: str = Field(pattern=r"^E(06|08|09|10)\d{6}$")
    post_town: str = Field(min_length=2)
    lat: float | None = Field(default=None, ge=49.8, le=55.9)
    lon: float | None = Field(default=None, ge=-6.5, le=1.8)
    method: str


@cache
def districts_by_authority() -> dict[str, pl.DataFrame]:
    """Each authority's postcode districts and post towns; every authority must have one."""
    rows = load_rows(DISTRICTS_FILE, PostcodeDistrict)
    frame = pl.DataFrame([row.model_dump() for row in rows])
    grouped = {key[0]: part for key, part in frame.group_by("la_code", maintain_order=True)}
    missing = [a.code for a in load_authorities() if a.code not in grouped]
    if missing:
        raise ReferenceDataError(f"data/{DISTRICTS_FILE}: no district for {', '.join(missing)}")
    return {code: part.sort("district") for code, part in grouped.items()}


def sample_addresses(rng: np.random.Generator, authority_code: str, count: int) -> pl.DataFrame:
    """`count` addresses in the authority: address_line, town, postcode, district."""
    districts = districts_by_authority()[authority_code]
    pick = rng.integers(0, districts.height, count)
    sector = rng.integers(0, 10, count)
    letters = np.frombuffer(UNIT_LETTERS.encode(), dtype=np.uint8)
    inward = np.empty((count, 3), dtype=np.uint8)
    inward[:, 0] = ord("0") + sector
    inward[:, 1] = letters[rng.integers(0, len(letters), count)]
    inward[:, 2] = letters[rng.integers(0, len(letters), count)]
    suffixes = pl.Series(name_params().street_suffixes.value)
    street_words = surnames()
    number = np.minimum(rng.geometric(1 / 40, count), 400)
    return pl.DataFrame(
        {
            "number": number,
            "street": street_words.gather(street_words.sample(rng, count)),
            "suffix": suffixes.gather(rng.integers(0, len(suffixes), count)),
            "town": districts["post_town"].gather(pick),
            "district": districts["district"].gather(pick),
            "inward": pl.Series(inward.view("S3").ravel()).cast(pl.String),
        }
    ).select(
        pl.concat_str(
            pl.col("number").cast(pl.String), pl.lit(" "), "street", pl.lit(" "), "suffix"
        ).alias("address_line"),
        "town",
        pl.concat_str("district", pl.lit(" "), "inward").alias("postcode"),
        "district",
    )
