"""One day's updates from the index's source feeds, as the live feed hands them to a store."""

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Delivery:
    """One day's updates, by feed; a frame may be empty or None.

    births: child_id, authority_code, gender, date_of_birth (ISO), household_key, forename,
      surname (used when the household has no named child yet), address_line, town, postcode
      (used when the household is new to the index);
    moves: child_id, authority_code, household_key, address_line, town, postcode;
    deaths: child_id, died_on (ISO);
    services: child_id, kind ('school' or 'gp_practice'), code, name.
    """

    births: pl.DataFrame | None = None
    moves: pl.DataFrame | None = None
    deaths: pl.DataFrame | None = None
    services: pl.DataFrame | None = None
