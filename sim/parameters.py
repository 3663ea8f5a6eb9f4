"""The model's parameters as one frozen object, built from data/ plus overrides, passed explicitly.

    params = model_parameters({"regimes.paths.compliance": 0.5})
    world = World(people, WorldConfig(seed=1), params=params)

A key path names the file under data/ and the key in it: `regimes.paths.compliance` is the
`compliance` value of data/regimes/paths.toml. An override replaces the value only; its unit,
source and year stay, and its confidence becomes 'scenario'. Each section is validated by its
file's own model, so an override the model refuses (a share above 1, a list of the wrong
length) is a one-line error naming the key path, and so is an unknown key.

The object is handed to the world, the regimes and the metrics (nothing reads a cached loader
during a run), pickles to worker processes and Dask workers with the task, and its overrides
are what a run records in its manifest. Population synthesis parameters (data/population) are
not here: the population is made once per scenario and is the same in every replication.
"""

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import InputError, ReferenceDataError
from sim.metrics.parameters import COSTS_FILE, CostParams
from sim.reference.paths import data_dir
from sim.reference.validation import describe
from sim.regimes.parameters import REGIMES_FILE, PathParams, RegimeParams
from sim.world.encounters import ENCOUNTERS_FILE, PATHS_FILE, EncounterParams
from sim.world.parameters import (
    CARE_FILE,
    DEMOGRAPHY_FILE,
    MOVES_FILE,
    SERVICES_FILE,
    CareParams,
    DemographyParams,
    MoveParams,
    ServiceChangeParams,
)

# field of ModelParameters -> (its data file, the file's model)
SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "demography": (DEMOGRAPHY_FILE, DemographyParams),
    "moves": (MOVES_FILE, MoveParams),
    "services": (SERVICES_FILE, ServiceChangeParams),
    "care": (CARE_FILE, CareParams),
    "encounters": (ENCOUNTERS_FILE, EncounterParams),
    "paths": (PATHS_FILE, PathParams),
    "regimes": (REGIMES_FILE, RegimeParams),
    "costs": (COSTS_FILE, CostParams),
}
PARAMETER_FILES = {relative: section for section, (relative, _) in SECTIONS.items()}


class ModelParameters(BaseModel):
    """Every parameter of the world, the regimes and the metrics, read-only, with the overrides
    (key path -> value) that made it differ from data/."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    demography: DemographyParams
    moves: MoveParams
    services: ServiceChangeParams
    care: CareParams
    encounters: EncounterParams
    paths: PathParams
    regimes: RegimeParams
    costs: CostParams
    overrides: dict[str, Any] = Field(default_factory=dict)

    def __reduce__(self) -> tuple:
        # Param[...] is a generic model whose parametrised classes pickle by name and cannot be
        # found again; the plain values can, and validating them gives the same object back.
        return (ModelParameters.model_validate, (self.model_dump(),))


def _prefix(relative: str) -> str:
    return relative.removesuffix(".toml").replace("/", ".")


def raw_file(relative: str, root: Path | None = None) -> dict[str, Any]:
    """A parameter file's TOML document, unvalidated (one-line error on bad syntax)."""
    path = (root or data_dir()) / relative
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ReferenceDataError(f"data/{relative}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"data/{relative}: {exc}") from None


def split_key(key_path: str, root: Path | None = None) -> tuple[str, str]:
    """'regimes.paths.compliance' -> ('regimes/paths.toml', 'compliance'), or InputError."""
    head, _, key = key_path.rpartition(".")
    relative = head.replace(".", "/") + ".toml"
    if relative not in PARAMETER_FILES:
        known = ", ".join(_prefix(f) for f in PARAMETER_FILES)
        raise InputError(f"{key_path}: no parameter file {head!r}; files are {known}")
    if key not in raw_file(relative, root):
        raise InputError(f"{key_path}: data/{relative} has no parameter {key!r}")
    return relative, key


def defaults(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every overridable parameter by key path: value, unit, source, year, confidence."""
    table = {}
    for relative in PARAMETER_FILES:
        for key, entry in raw_file(relative, root).items():
            if isinstance(entry, dict) and "value" in entry:
                kept = {k: entry[k] for k in entry if k != "description"}
                table[f"{_prefix(relative)}.{key}"] = kept
    return table


def model_parameters(
    overrides: Mapping[str, Any] | None = None, root: Path | None = None, where: str = "parameters"
) -> ModelParameters:
    """data/ (or `root`) with `overrides` by key path, every section validated by its model.

    Errors are InputError naming `where` and the key path (e.g. 'scenario.toml: parameters.
    regimes.paths.compliance: Input should be less than or equal to 1'); a data file the models
    refuse with no override involved is a ReferenceDataError naming the file."""
    overrides = dict(overrides or {})
    by_file: dict[str, dict[str, Any]] = {}
    for key_path, value in overrides.items():
        try:
            relative, key = split_key(key_path, root)
        except InputError as exc:
            raise InputError(f"{where}.{exc}") from None
        by_file.setdefault(relative, {})[key] = value
    sections: dict[str, Any] = {}
    for section, (relative, model) in SECTIONS.items():
        document = raw_file(relative, root)
        changed = by_file.get(relative, {})
        for key, value in changed.items():
            document[key] = {**document[key], "value": value}
        try:
            sections[section] = model.model_validate(document)
        except ValidationError as exc:
            detail = describe(exc).replace("Value error, ", "")
            for key in changed:  # name the overridden key the model refused, if it says
                if detail.startswith(f"{key}.value: "):
                    reason = detail.removeprefix(f"{key}.value: ")
                    raise InputError(f"{where}.{_prefix(relative)}.{key}: {reason}") from None
            if changed:
                first = f"{_prefix(relative)}.{next(iter(changed))}"
                raise InputError(f"{where}.{first}: {detail}") from None
            raise ReferenceDataError(f"data/{relative}: {detail}") from None
    return ModelParameters(**sections, overrides=overrides)


def value_of(params: ModelParameters, key_path: str) -> Any:
    """The value in force for a key path, e.g. value_of(p, 'regimes.paths.compliance')."""
    relative, key = split_key(key_path)
    return getattr(getattr(params, PARAMETER_FILES[relative]), key).value
