"""Scenario overrides by key path: flattened from a scenario file and checked before any run.

The parameters themselves are one frozen object built from data/ plus the overrides
(sim.parameters.model_parameters) and passed explicitly into the world, the regimes and the
metrics; nothing here touches the data directory, the environment or a loader's cache.
"""

from collections.abc import Mapping
from typing import Any

from sim.parameters import PARAMETER_FILES, defaults, model_parameters, split_key

__all__ = ["PARAMETER_FILES", "check_overrides", "defaults", "flatten", "split_key"]


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'regimes': {'paths': {'compliance': 0.5}}} -> {'regimes.paths.compliance': 0.5}."""
    flat: dict[str, Any] = {}
    for key, value in nested.items():
        path = f"{prefix}.{key}" if prefix else key
        file = path.replace(".", "/") + ".toml"
        if isinstance(value, Mapping) and file not in PARAMETER_FILES:
            flat.update(flatten(value, path))
        elif isinstance(value, Mapping):
            flat.update({f"{path}.{k}": v for k, v in value.items()})
        else:
            flat[path] = value
    return flat


def check_overrides(overrides: Mapping[str, Any], where: str) -> None:
    """Validate overrides with the files' own models; errors name `where` and the key path."""
    model_parameters(overrides, where=f"{where}: parameters")
