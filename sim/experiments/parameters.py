"""Model parameters a scenario may override, by key path, with their defaults from data/.

A key path names the file under data/ and the key in it: `regimes.paths.compliance` is the
`compliance` value of data/regimes/paths.toml. An override replaces the value only; its unit,
source and year stay, and its confidence becomes 'scenario' in the resolved scenario.

Overrides take effect through the data directory itself ($CPW_DATA, sim.reference.paths): an
overlay directory links every file of data/ and rewrites the overridden ones, and the cached
loaders are cleared so they read it. The whole model therefore sees one consistent set of
parameters, and the overlay is the record of what ran. Not thread-safe: one run per process
at a time (local workers and Dask workers run one task per process).
"""

import os
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.errors import InputError, ReferenceDataError
from sim.metrics.parameters import cost_params
from sim.reference.paths import data_dir
from sim.regimes.parameters import path_params, regime_params
from sim.world import parameters as world
from sim.world.encounters import encounter_params

# The files a scenario may vary and the loader that validates each (as sim.catalog does).
PARAMETER_FILES: dict[str, Callable[[], Any]] = {
    "regimes/encounters.toml": encounter_params,
    "regimes/paths.toml": path_params,
    "regimes/regimes.toml": regime_params,
    "world/demography.toml": world.demography_params,
    "world/moves.toml": world.move_params,
    "world/services.toml": world.service_change_params,
    "world/care.toml": world.care_params,
    "metrics/costs.toml": cost_params,
}


def _raw(relative: str, root: Path | None = None) -> dict[str, Any]:
    with ((root or data_dir()) / relative).open("rb") as handle:
        return tomllib.load(handle)


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


def split_key(key_path: str) -> tuple[str, str]:
    """'regimes.paths.compliance' -> ('regimes/paths.toml', 'compliance'), or InputError."""
    head, _, key = key_path.rpartition(".")
    relative = head.replace(".", "/") + ".toml"
    if relative not in PARAMETER_FILES:
        known = ", ".join(f.removesuffix(".toml").replace("/", ".") for f in PARAMETER_FILES)
        raise InputError(f"{key_path}: no parameter file {head!r}; files are {known}")
    if key not in _raw(relative):
        raise InputError(f"{key_path}: data/{relative} has no parameter {key!r}")
    return relative, key


def defaults() -> dict[str, dict[str, Any]]:
    """Every overridable parameter by key path: value, unit, source, year, confidence."""
    table = {}
    for relative in PARAMETER_FILES:
        prefix = relative.removesuffix(".toml").replace("/", ".")
        for key, entry in _raw(relative).items():
            if isinstance(entry, dict) and "value" in entry:
                table[f"{prefix}.{key}"] = {k: entry[k] for k in entry if k != "description"}
    return table


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value)


def _write_toml(path: Path, document: dict[str, dict[str, Any]]) -> None:
    lines = []
    for table, entry in document.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
        lines.append("")
    path.write_text("\n".join(lines))


def write_overlay(overrides: Mapping[str, Any], target: Path) -> Path:
    """A data directory at `target`: data/ linked file by file, overridden files rewritten."""
    root = data_dir()
    by_file: dict[str, dict[str, Any]] = {}
    for key_path, value in overrides.items():
        relative, key = split_key(key_path)
        by_file.setdefault(relative, {})[key] = value
    for source in sorted(root.rglob("*")):
        if not source.is_file():
            continue
        relative = str(source.relative_to(root))
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if relative in by_file:
            document = _raw(relative, root)
            for key, value in by_file[relative].items():
                document[key] = {**document[key], "value": value}
            _write_toml(destination, document)
        else:
            destination.symlink_to(source.resolve())
    return target


def clear_loader_caches() -> None:
    """Forget every cached loader in the workbench so the next call reads the data directory."""
    for name, module in list(sys.modules.items()):
        if name == "sim" or name.startswith("sim."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and getattr(value, "__module__", None) == name:
                    clear()


@contextmanager
def overridden(overrides: Mapping[str, Any]) -> Iterator[None]:
    """Run the block with `overrides` in force (nothing to do if there are none)."""
    if not overrides:
        yield
        return
    previous = os.environ.get("CPW_DATA")
    with tempfile.TemporaryDirectory(prefix="cpw-parameters-") as scratch:
        write_overlay(overrides, Path(scratch) / "data")
        os.environ["CPW_DATA"] = str(Path(scratch) / "data")
        clear_loader_caches()
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("CPW_DATA", None)
            else:
                os.environ["CPW_DATA"] = previous
            clear_loader_caches()


def check_overrides(overrides: Mapping[str, Any], where: str) -> None:
    """Validate overrides with the files' own models; errors name `where` and the key path."""
    by_file: dict[str, list[str]] = {}
    for key_path in overrides:
        try:
            relative, _ = split_key(key_path)
        except InputError as exc:
            raise InputError(f"{where}: parameters.{exc}") from None
        by_file.setdefault(relative, []).append(key_path)
    with overridden(overrides):
        for relative, keys in by_file.items():
            try:
                PARAMETER_FILES[relative]()
            except ReferenceDataError as exc:
                detail = str(exc).split(": ", 1)[-1]
                for key_path in keys:  # name the overridden key the model refused, if it says
                    prefix = key_path.rpartition(".")[2] + ".value: "
                    if detail.startswith(prefix):
                        raise InputError(
                            f"{where}: parameters.{key_path}: {detail.removeprefix(prefix)}"
                        ) from None
                raise InputError(f"{where}: parameters.{keys[0]}: {detail}") from None
