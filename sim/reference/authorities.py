"""England's 152 children's services authorities of 2009-10."""

from functools import cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import InputError
from sim.reference.tables import load_rows

AUTHORITIES_FILE = "reference/authorities.csv"


class Authority(BaseModel):
    """One authority; `children_0_17` is the 2011 Census count.

    How it was made: data/reference/authorities_SOURCES.md."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^E(06|08|09|10)\d{6}$")
    name: str = Field(min_length=2)
    region: str
    region_code: str = Field(pattern=r"^E12\d{6}$")
    la_type: Literal["UA", "MD", "LB", "SC"]
    dfe_la_code: int = Field(ge=200, le=999)
    children_0_17: int = Field(gt=0)
    total_population: int = Field(gt=0)
    children_source: Literal["census2011_bands", "estimate"]
    lat: float = Field(ge=49.8, le=55.9)
    lon: float = Field(ge=-6.5, le=1.8)
    note: str | None = None


@cache
def load_authorities() -> tuple[Authority, ...]:
    """All 152 authorities in file order; the order fixes each authority's random stream."""
    rows = tuple(load_rows(AUTHORITIES_FILE, Authority))
    codes = [row.code for row in rows]
    if len(set(codes)) != len(codes):
        raise InputError(f"data/{AUTHORITIES_FILE}: duplicate authority code")
    return rows


def select_authorities(
    regions: list[str] | None = None, authorities: list[str] | None = None
) -> tuple[Authority, ...]:
    """Authorities in the named regions or with the named codes/names (all when both are empty).

    Names match case-insensitively; an unknown name is an error, never silently dropped.
    """
    everyone = load_authorities()
    if not regions and not authorities:
        return everyone
    region_names = {a.region.lower(): a.region for a in everyone}
    region_names |= {a.region_code.lower(): a.region for a in everyone}
    by_key = {a.code.lower(): a for a in everyone} | {a.name.lower(): a for a in everyone}
    chosen: set[str] = set()
    for region in regions or []:
        key = region.strip().lower()
        if key not in region_names:
            known = ", ".join(sorted(set(region_names.values())))
            raise InputError(f"--regions: unknown region {region!r} (known: {known})")
        chosen |= {a.code for a in everyone if a.region == region_names[key]}
    for name in authorities or []:
        key = name.strip().lower()
        if key not in by_key:
            raise InputError(f"--authorities: unknown authority {name!r} (use a name or GSS code)")
        chosen.add(by_key[key].code)
    return tuple(a for a in everyone if a.code in chosen)


EARTH_RADIUS_KM = 6371.0


def centroid_distances(authorities: tuple[Authority, ...]) -> np.ndarray:
    """Great-circle distances in km between the authorities' centroids (haversine)."""
    lat = np.radians([a.lat for a in authorities])
    lon = np.radians([a.lon for a in authorities])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
