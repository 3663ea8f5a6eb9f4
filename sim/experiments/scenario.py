"""Scenario files: a question stated as data (data/scenarios/*.toml), validated with pydantic.

A scenario names its period, population (scale and regions or authorities), seed, number of
replications, parameter overrides, whether each replication draws the uncertain parameters
(`psa`, sim.experiments.psa), and one or more *arms*: each arm is a regime schedule, the
regimes it runs and the dates they switch (the engine holds no policy; the dates are here).
Every arm of every replication runs on the same world (docs/architecture.md,
"Common random numbers").

Errors name the file, the key path and what was expected, e.g.
`data/scenarios/x.toml: arms[0].regimes[1].start: 2010-13-01 is not a date`.
"""

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.errors import InputError
from sim.experiments.parameters import check_overrides, flatten
from sim.population.parameters import population_params
from sim.reference.authorities import load_authorities
from sim.reference.paths import data_dir
from sim.reference.validation import describe
from sim.regimes.regimes import REGIMES

SCENARIOS_DIR = "scenarios"
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _when(value: Any) -> Any:
    """A date or date-time, from TOML or a string; anything else 'is not a date'."""
    if isinstance(value, dt.datetime | dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _day(value: Any) -> Any:
    when = _when(value)
    return when.date() if isinstance(when, dt.datetime) else when


class Step(Strict):
    """One regime in force from `start` (the period's start if omitted, first step only)."""

    regime: Literal[REGIMES]  # type: ignore[valid-type]
    start: dt.datetime | None = None

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        when = _when(value)
        return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())


class Arm(Strict):
    """A named regime schedule: the regimes in force and the dates they switch."""

    name: Name
    description: str = ""
    regimes: list[Step] = Field(min_length=1)


class Period(Strict):
    start: dt.date
    end: dt.date

    _dates = field_validator("start", "end", mode="before")(_day)


class PopulationSpec(Strict):
    """Which children: a share of England's, in some regions or authorities (all if neither)."""

    scale: float = Field(gt=0.0, le=1.0)
    regions: list[str] | None = None
    authorities: list[str] | None = None


class IndexSpec(Strict):
    """The real index inside the run: a `cpw deploy` output made from the run's population
    (same seed, scale and authorities; checked at the start of the run). A relative path is
    read from the working directory. `switch_off`, if given, switches every arm's index off
    by the decommissioning runbook at that moment; by default an arm's index is switched off
    when its ContactPoint ends (sim.regimes.inside). `lookup_workers` processes answer every
    child's lookups (sim.regimes.lookup_workers; default one per core, 1: in the run's process)."""

    deployment: str = Field(min_length=1)
    switch_off: dt.datetime | None = None
    lookup_workers: int | None = Field(default=None, ge=1)

    @field_validator("switch_off", mode="before")
    @classmethod
    def _switch_off(cls, value: Any) -> Any:
        if value is None:
            return None
        when = _when(value)
        return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())


class Outputs(Strict):
    event_logs: bool = True
    report: bool = True


class Scenario(Strict):
    """A scenario file, validated; `parameters` holds overrides by key path."""

    title: str
    description: str = ""
    seed: int = Field(ge=0)
    replications: int = Field(ge=1, le=1000)
    period: Period
    population: PopulationSpec
    arms: list[Arm] = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    index: IndexSpec | None = None
    psa: bool = False  # each replication draws the uncertain parameters (sim.experiments.psa)
    outputs: Outputs = Outputs()
    source: str = ""  # the file it came from, for messages and the manifest

    @field_validator("parameters", mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        return flatten(value) if isinstance(value, dict) else value

    def authority_codes(self) -> tuple[str, ...]:
        """The authorities simulated, in the reference table's order."""
        wanted_regions = set(self.population.regions or [])
        wanted = set(self.population.authorities or [])
        everyone = not wanted_regions and not wanted
        return tuple(
            a.code
            for a in load_authorities()
            if everyone or a.region in wanted_regions or a.code in wanted
        )


def _checks(scenario: Scenario) -> None:
    """What the models cannot see alone: dates in order and in the period, known places."""
    period = scenario.period
    if period.end <= period.start:
        raise InputError(f"period.end: {period.end} is not after period.start {period.start}")
    snapshot = population_params().snapshot_date.value
    if period.start < snapshot:
        raise InputError(f"period.start: {period.start} is before the population's {snapshot}")
    names = [arm.name for arm in scenario.arms]
    for i, arm in enumerate(scenario.arms):
        if names.count(arm.name) > 1:
            raise InputError(f"arms[{i}].name: {arm.name!r} is used twice")
        previous = None
        for j, step in enumerate(arm.regimes):
            where = f"arms[{i}].regimes[{j}].start"
            if step.start is None and j > 0:
                raise InputError(f"{where}: missing (only the first regime may omit it)")
            start = step.start or dt.datetime.combine(period.start, dt.time())
            if previous is not None and start <= previous:
                raise InputError(f"{where}: {start} is not after the previous regime's start")
            if start.date() > period.end:
                raise InputError(f"{where}: {start} is after period.end {period.end}")
            previous = start
    index = scenario.index
    if index is not None:
        if not Path(index.deployment).is_dir():
            raise InputError(
                f"index.deployment: {index.deployment} is not a directory (make one with "
                "`cpw synth` then `cpw deploy`)"
            )
        off = index.switch_off
        if off is not None and not period.start <= off.date() <= period.end:
            raise InputError(f"index.switch_off: {off} is outside the period")
    regions = {a.region for a in load_authorities()}
    codes = {a.code for a in load_authorities()}
    for i, region in enumerate(scenario.population.regions or []):
        if region not in regions:
            known = ", ".join(sorted(regions))
            raise InputError(f"population.regions[{i}]: {region!r} is not a region ({known})")
    for i, code in enumerate(scenario.population.authorities or []):
        if code not in codes:
            raise InputError(f"population.authorities[{i}]: {code!r} is not an authority code")


def _message(exc: ValidationError) -> str:
    return describe(exc).replace("Value error, ", "")


def _toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the scenario file ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        lines = text.splitlines()
        if found and 0 < int(found[1]) <= len(lines):
            shown = lines[int(found[1]) - 1].strip()
            raise InputError(f"{path}: line {found[1]}: {shown}: not valid TOML ({exc})") from None
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def scenario_from_dict(document: dict[str, Any], source: str) -> Scenario:
    """Validate a scenario document; errors start with `source`."""
    try:
        scenario = Scenario.model_validate({**document, "source": source})
    except ValidationError as exc:
        raise InputError(f"{source}: {_message(exc)}") from None
    try:
        _checks(scenario)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    check_overrides(scenario.parameters, source)
    return scenario


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; a bare name means data/scenarios/NAME.toml."""
    path = Path(path)
    if not path.suffix and not path.exists():
        path = data_dir() / SCENARIOS_DIR / f"{path}.toml"
    return scenario_from_dict(_toml(path), str(path))


def scenario_files() -> list[Path]:
    return sorted((data_dir() / SCENARIOS_DIR).glob("*.toml"))


def load_scenarios() -> dict[str, Scenario]:
    """Every ready-made scenario in data/scenarios, validated (the catalog's loader)."""
    return {path.stem: load_scenario(path) for path in scenario_files()}
