"""Options `cpw simulate` and `cpw compare` share: where, how big, how many, and PSA.

Each option changes the scenario as a variant (sim.experiments.variants), so a bad region or
scale gets the same one-line error as a scenario file would.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.experiments.scenario import Scenario

ScaleOption = Annotated[
    float | None,
    typer.Option(help="Override the share of England's children simulated (0 < SCALE <= 1)."),
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--region",
        help="Simulate this region instead of the scenario's places (repeat for several; "
        "'England' for every authority).",
    ),
]
ReplicationsOption = Annotated[
    int | None, typer.Option(help="Override the scenario's number of replications.")
]
PsaOption = Annotated[
    bool | None,
    typer.Option(
        "--psa/--no-psa",
        help="Each replication draws the low-confidence parameters "
        "(data/experiments/low-confidence.toml), so intervals include parameter uncertainty.",
    ),
]


def with_run_options(
    scenario: "Scenario",
    scale: float | None = None,
    regions: list[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    psa: bool | None = None,
) -> "Scenario":
    """The scenario with the command line's changes, validated again."""
    from sim.experiments.variants import variant

    changes: dict[str, object] = {}
    population: dict[str, object] = {}
    if scale is not None:
        if not 0 < scale <= 1:
            raise InputError(f"--scale: must be above 0 and at most 1, got {scale:g}")
        population["scale"] = scale
    if regions:
        everywhere = [r for r in regions if r.lower() == "england"]
        population["regions"] = None if everywhere else list(regions)
        population["authorities"] = None
    if population:
        changes["population"] = population
    if replications is not None:
        if not 1 <= replications <= 1000:
            raise InputError(f"--replications: must be 1 to 1000, got {replications}")
        changes["replications"] = replications
    if seed is not None:
        if seed < 0:
            raise InputError(f"--seed: must be a non-negative integer, got {seed}")
        changes["seed"] = seed
    if psa is not None:
        changes["psa"] = psa
    if not changes:
        return scenario
    changed = variant(scenario, **changes)
    return changed.model_copy(update={"source": scenario.source})
