"""Build an index from a synthetic population: one columnar pass per table, then a bulk load.

All joins and keys are polars expressions; phonetic codes are computed once per distinct name.
The store's backend loads it whole or not at all (SQLite: a side file renamed into place when
complete), so a failed build never leaves a half-loaded index at the target path.
"""

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.index.store.backends import load_index
from sim.index.store.keys import with_name_keys
from sim.population.output import read_population

POPULATION_TABLES = ("children", "households", "carers", "schools", "gp_practices", "practitioners")


@dataclass(frozen=True)
class BuildStats:
    path: Path
    rows: dict[str, int]
    seconds: float

    @property
    def children(self) -> int:
        return self.rows["child"]


def index_frames(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The index's tables (schema.TABLES) from a population's tables."""
    children = (
        tables["children"]
        .with_row_index("child_key", offset=1)
        .with_columns(
            pl.col("child_key").cast(pl.Int64),
            pl.col("date_of_birth").dt.to_string("%Y-%m-%d"),
            pl.col("household_id").alias("household_key"),
        )
    )
    named = with_name_keys(with_name_keys(children, "forename"), "surname")
    households = tables["households"].select(
        pl.col("household_id").alias("household_key"),
        "address_line",
        "town",
        "postcode",
        pl.col("postcode").str.replace_all(" ", "").str.to_uppercase().alias("postcode_norm"),
    )
    carers = tables["carers"].select(
        pl.col("carer_id").alias("carer_key"),
        pl.col("household_id").alias("household_key"),
        "forename",
        "middle_names",
        "surname",
        "relationship",
        "phone",
    )
    contacts, services = service_frames(tables)
    return {
        "household": households,
        "child": children,
        "name": named.with_columns(current=pl.lit(1)),
        "carer": carers,
        "contact": contacts,
        "service": services,
        "involvement": involvements(children, services),
        "flag": pl.DataFrame(),
    }


def service_frames(tables: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Schools and GP practices, each with one practitioner as its contact (Sch 1 para 5)."""
    organisations = pl.concat(
        [
            tables["schools"].select(
                pl.lit("school").alias("kind"), pl.col("urn").cast(pl.String).alias("code"), "name"
            ),
            tables["gp_practices"].select(
                pl.lit("gp_practice").alias("kind"), pl.col("practice_code").alias("code"), "name"
            ),
        ]
    )
    contacts = (
        tables["practitioners"]
        .filter(pl.col("organisation_kind").is_in(["school", "gp_practice"]))
        .sort("practitioner_id")
        .group_by("organisation_kind", "organisation", maintain_order=True)
        .first()
        .select(
            pl.col("practitioner_id").alias("contact_key"),
            pl.concat_str("forename", "surname", separator=" ").alias("name"),
            "role",
            pl.lit(None, dtype=pl.String).alias("phone"),
            pl.col("organisation_kind").alias("kind"),
            pl.col("organisation").alias("code"),
        )
    )
    services = (
        organisations.join(
            contacts.select("kind", "code", "contact_key"), on=["kind", "code"], how="left"
        )
        .with_row_index("service_key", offset=1)
        .with_columns(pl.col("service_key").cast(pl.Int64))
    )
    return contacts.drop("kind", "code"), services


def involvements(children: pl.DataFrame, services: pl.DataFrame) -> pl.DataFrame:
    """Each child's school and GP practice, where the child has one."""
    keyed = services.select("kind", "code", "service_key")
    parts = []
    for kind, column in (("school", "school_urn"), ("gp_practice", "gp_practice_code")):
        parts.append(
            children.select("child_key", pl.col(column).cast(pl.String).alias("code"))
            .drop_nulls("code")
            .join(keyed.filter(pl.col("kind") == kind), on="code", how="inner")
            .select(
                "child_key",
                "service_key",
                pl.lit(None, dtype=pl.Int64).alias("contact_key"),
                pl.lit(0).alias("consent_recorded"),
            )
        )
    return pl.concat(parts).sort("child_key", "service_key")


def _population_tables(population: dict[str, pl.DataFrame] | Path) -> dict[str, pl.DataFrame]:
    if isinstance(population, Path):
        lazy = read_population(population, POPULATION_TABLES)
        return {name: frame.collect() for name, frame in lazy.items()}
    missing = [name for name in POPULATION_TABLES if name not in population]
    if missing:
        raise InputError(f"population: missing table(s) {', '.join(missing)}")
    return population


def build_index(population: dict[str, pl.DataFrame] | Path, db_path: Path) -> BuildStats:
    """Build a new index at `db_path` from population tables or a `cpw synth` directory."""
    started = time.perf_counter()
    tables = _population_tables(population)
    if db_path.exists():
        raise InputError(f"{db_path}: already exists; an index is built once, then updated")
    rows = write_index(index_frames(tables), db_path)
    return BuildStats(db_path, rows, time.perf_counter() - started)


def build_index_postgres(
    population: dict[str, pl.DataFrame] | Path, conninfo: str
) -> dict[str, int]:
    """Build a new index in the empty PostgreSQL database `conninfo` names (COPY, in one
    transaction: a failed load leaves the index empty); rows per table."""
    frames = index_frames(_population_tables(population))
    return load_index(conninfo, [frames], backend_name="postgres")


def write_index(frames: dict[str, pl.DataFrame], db_path: Path) -> dict[str, int]:
    """Bulk-load index frames into a side file, then rename it to `db_path`; rows per table."""
    return write_index_batches([frames], db_path)


def write_index_batches(
    batches: Iterable[Mapping[str, pl.DataFrame]], db_path: Path
) -> dict[str, int]:
    """Bulk-load batches of index frames (taken one at a time from an iterable, so a generator
    bounds the memory) into a new index at `db_path`, whole or not at all; rows per table."""
    return load_index(db_path, batches)
