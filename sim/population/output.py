"""A population directory: one parquet file per table and a manifest with provenance."""

import json
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.outputs import staged_directory, write_json
from sim.population.synth import TABLES, SynthRequest
from sim.provenance import data_file_hashes, package_versions, sha256_file

MANIFEST = "manifest.json"


def write_population(
    tables: dict[str, pl.DataFrame], request: SynthRequest, out: Path, force: bool = False
) -> dict:
    """Write the tables and manifest to `out` atomically; returns the manifest."""
    with staged_directory(out, force) as staging:
        files = {}
        for name in TABLES:
            path = staging / f"{name}.parquet"
            tables[name].write_parquet(path, compression="zstd", statistics=True)
            files[name] = {
                "file": path.name,
                "rows": tables[name].height,
                "sha256": sha256_file(path),
            }
        manifest = {
            "kind": "cpw-population",
            "seed": request.seed,
            "scale": request.scale,
            "authorities": list(request.authority_codes),
            "tables": files,
            "versions": package_versions(),
            "data_files": data_file_hashes(),
        }
        write_json(staging / MANIFEST, manifest)
    return manifest


def read_population(directory: Path, tables: tuple[str, ...] = TABLES) -> dict[str, pl.LazyFrame]:
    """Lazy frames over a population directory made by `cpw synth`."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"{directory}: not a population directory (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    return {name: pl.scan_parquet(directory / manifest["tables"][name]["file"]) for name in tables}
