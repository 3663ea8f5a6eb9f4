"""A population directory: each table as one parquet file per authority, and a manifest.

Each authority is written by the worker that made it, so England never has to pass through one
process; `read_population` scans a table's files as one lazy frame.
"""

import json
from pathlib import Path

import polars as pl

from sim.errors import InputError
from sim.outputs import staged_directory, write_json
from sim.population.synth import (
    TABLES,
    SynthRequest,
    job_sizes,
    map_authorities,
    ordinals_of,
    synthesise_authority,
)
from sim.provenance import data_file_hashes, lock_record, package_versions, sha256_file

MANIFEST = "manifest.json"


def _make_and_write(args: tuple[int, int, float, str]) -> dict:
    seed, ordinal, scale, directory = args
    tables = synthesise_authority(seed, ordinal, scale)
    code = tables["authorities"]["authority_code"][0]
    files = {}
    for name in TABLES:
        path = Path(directory) / name / f"{code}.parquet"
        # zstd level 1: as small as the default level here, and a fifth faster to write.
        tables[name].write_parquet(path, compression="zstd", compression_level=1, statistics=True)
        files[f"{name}/{path.name}"] = sha256_file(path)
    region = tables["authorities"]["region"][0]
    counts = pl.DataFrame(
        {"authority_code": [code], "region": [region]}
        | {name: [tables[name].height] for name in TABLES if name != "authorities"}
    )
    return {"counts": counts, "files": files, "code": code}


def write_population(
    request: SynthRequest,
    out: Path,
    force: bool = False,
    workers: int = 1,
    on_authority=None,
) -> dict:
    """Make and write the population to `out` atomically; returns the manifest and counts."""
    with staged_directory(out, force) as staging:
        for name in TABLES:
            (staging / name).mkdir()
        ordinals = ordinals_of(request.authority_codes)
        args = [(request.seed, ordinal, request.scale, str(staging)) for ordinal in ordinals]
        results = map_authorities(
            _make_and_write,
            args,
            workers,
            on_done=lambda r: on_authority and on_authority(r),
            sizes=job_sizes(ordinals, request.scale),
        )
        counts = pl.concat([r["counts"] for r in results])
        manifest = {
            "kind": "cpw-population",
            "seed": request.seed,
            "scale": request.scale,
            "authorities": list(request.authority_codes),
            "rows": {name: int(counts[name].sum()) for name in TABLES if name in counts.columns},
            "files": {path: digest for r in results for path, digest in r["files"].items()},
            "versions": package_versions(),
            "lock": lock_record(),
            "data_files": data_file_hashes(),
        }
        write_json(staging / MANIFEST, manifest)
    return {"manifest": manifest, "counts": counts}


def read_population(directory: Path, tables: tuple[str, ...] = TABLES) -> dict[str, pl.LazyFrame]:
    """Lazy frames over a population directory made by `cpw synth`."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"{directory}: not a population directory (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("kind") != "cpw-population":
        raise InputError(f"{manifest_path}: not a population manifest")
    return {name: pl.scan_parquet(directory / name / "*.parquet") for name in tables}
