"""Every file in data/ and the loader that validates it; a file not listed here is an error."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from decommission.runbook import load_runbook
from decommission.standards import load_standards
from sim.deployment.settings import deployment_settings
from sim.errors import ReferenceDataError
from sim.experiments.low_confidence import low_confidence_figures
from sim.experiments.scenario import load_scenarios
from sim.feeds.matching.parameters import matching_params
from sim.feeds.parameters import feed_params
from sim.index.access import load_access_rules
from sim.index.audit import load_monitoring_rules
from sim.index.nicknames import nicknames
from sim.index.records import record_rules
from sim.index.retention import retention_rules
from sim.index.sar import sar_rules
from sim.index.search import search_rules
from sim.index.service_settings import service_rules
from sim.metrics.parameters import cost_params
from sim.population import parameters
from sim.population.addresses import DISTRICTS_FILE, districts_by_authority
from sim.postgres.settings import postgres_settings
from sim.reference.authorities import AUTHORITIES_FILE, load_authorities
from sim.reference.paths import data_dir
from sim.reference.rollout import ROLLOUT_FILE, load_rollout
from sim.regimes.parameters import path_params, regime_params
from sim.world import parameters as world
from sim.world.encounters import encounter_params

DATA_FILES: dict[str, tuple[str, Callable[[], Any]]] = {
    AUTHORITIES_FILE: ("children's services authorities 2009-10", load_authorities),
    DISTRICTS_FILE: ("postcode districts by authority", districts_by_authority),
    ROLLOUT_FILE: ("roll-out groups and dates", load_rollout),
    "population/population.toml": ("population level and snapshot", parameters.population_params),
    "population/births.csv": ("live births by year", parameters.births_by_year),
    "population/households.toml": ("families and carers", parameters.household_params),
    "population/names.toml": ("name vocabulary weights", parameters.name_params),
    parameters.SURNAMES_FILE: ("surnames and their shares", parameters.surname_rows),
    parameters.FORENAMES_FILE: ("forenames by sex and their shares", parameters.forename_rows),
    "population/services.toml": ("schools and GP practices", parameters.service_params),
    "rules/identifiers.toml": ("index ID scheme", parameters.identifier_rules),
    "workforce/practitioners.csv": ("planned index users by role", parameters.practitioner_groups),
    "index/access.toml": ("vetting, credentials, lockout, sessions, roles", load_access_rules),
    "index/monitoring.toml": ("audit monitoring rules and rate limits", load_monitoring_rules),
    "index/feeds.toml": ("source feeds: coverage, errors and lags", feed_params),
    "index/nicknames.csv": ("forename short forms used by feeds", nicknames),
    "index/matching.toml": ("record matching: blocking, weights, thresholds", matching_params),
    "index/record.toml": ("what a record may hold (SI 2007/2182 Sch 1)", record_rules),
    "index/search.toml": ("search modes, scores, caps and view reasons", search_rules),
    "index/retention.toml": ("retention to 18/25, archive, purge, holds", retention_rules),
    "index/sar.toml": ("subject access requests under DPA 1998 s7", sar_rules),
    "index/service.toml": ("service profiles; shielding and record roles", service_rules),
    "index/deployment.toml": ("deployment copies, requests, holds, canaries", deployment_settings),
    "index/postgres.toml": ("PostgreSQL WAL: checkpoints, compression", postgres_settings),
    "world/demography.toml": ("births, deaths, leaving the index", world.demography_params),
    "world/moves.toml": ("moves by age and destination kernel", world.move_params),
    "world/services.toml": ("school and GP changes after a move", world.service_change_params),
    "world/care.toml": ("social-care referrals and episodes", world.care_params),
    "regimes/encounters.toml": ("encounters with practitioners", encounter_params),
    "regimes/paths.toml": ("ways practitioners learn who was involved", path_params),
    "regimes/regimes.toml": ("regimes, roll-out and switch-off", regime_params),
    "metrics/costs.toml": ("unit costs and hourly rates", cost_params),
    "decommission/runbook-2010.toml": ("the August 2010 runbook as steps", load_runbook),
    "scenarios/history-2009-2011.toml": ("scenario: roll-out, switch-off, none", load_scenarios),
    "scenarios/keep-contactpoint.toml": ("scenario: ContactPoint kept", load_scenarios),
    "scenarios/signposting-2011.toml": ("scenario: signposting from 2011", load_scenarios),
    "scenarios/no-index.toml": ("scenario: no index at all", load_scenarios),
    "scenarios/north-west.toml": ("scenario: the demo (North West, three regimes)", load_scenarios),
    "scenarios/two-authorities.toml": (
        "scenario: two authorities, for runs with a deployment inside",
        load_scenarios,
    ),
    "decommission/standards.toml": ("sanitisation, archive and certificate rules", load_standards),
    "experiments/low-confidence.toml": (
        "low-confidence figures of docs/reference.md, their parameters and PSA distributions",
        low_confidence_figures,
    ),
}
DOCUMENTATION_SUFFIXES = (".md",)


@dataclass(frozen=True)
class Checked:
    path: str
    description: str
    size: int


def _size(value: Any) -> int:
    if hasattr(value, "__len__"):
        return len(value)
    return len(type(value).model_fields) if hasattr(type(value), "model_fields") else 1


def validate_all() -> list[Checked]:
    """Load every data file; raise ReferenceDataError on the first problem or unlisted file."""
    root = data_dir()
    present = {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix not in DOCUMENTATION_SUFFIXES
    }
    unlisted = sorted(present - DATA_FILES.keys())
    if unlisted:
        raise ReferenceDataError(f"data/{unlisted[0]}: not in the data catalog (sim/catalog.py)")
    checked = []
    for path, (description, loader) in DATA_FILES.items():
        checked.append(Checked(f"data/{path}", description, _size(loader())))
    return checked
