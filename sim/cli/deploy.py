"""`cpw deploy`: make a deployment of the index from a synthetic population (thin over the API)."""

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError


def deploy(
    population: Annotated[Path, typer.Argument(help="A population directory (`cpw synth`).")],
    out: Annotated[Path, typer.Option(help="The deployment directory to create.")],
    seed: Annotated[int, typer.Option(help="Seed for canaries and demo activity.")] = 1,
    canaries: Annotated[
        int, typer.Option(help="Synthetic children planted to test destruction.")
    ] = 25,
    users: Annotated[int, typer.Option(help="Demo users (at least 5).")] = 8,
    date: Annotated[
        str, typer.Option(help="The deployment's day (demo activity, backups).")
    ] = "2010-01-04",
    profile: Annotated[
        str, typer.Option(help="production, or simulation (cheap hashing).")
    ] = "production",
    force: Annotated[bool, typer.Option(help="Replace an existing deployment.")] = False,
    from_feeds: Annotated[
        bool,
        typer.Option(
            "--from-feeds",
            help="Load the index from the matched source feeds (duplicates, missed links), "
            "not from the population's truth.",
        ),
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            help="sqlite (files), or postgres: also a PostgreSQL primary, streaming replica, "
            "WAL archive and sealed base backups inside the deployment."
        ),
    ] = "sqlite",
) -> None:
    """Build a deployment: index, replica, encrypted backups, extracts, audit, keys, accounts."""
    from sim.deployment.deploy import deploy as make_deployment

    if backend not in ("sqlite", "postgres"):
        raise InputError(f"--backend: {backend!r}; choose sqlite or postgres")
    if backend == "postgres":
        from sim.postgres.deploy import deploy_postgres as make_deployment

    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise InputError(f"--date: {date!r} is not a date (YYYY-MM-DD)") from None
    if seed < 0:
        raise InputError(f"--seed: must be a non-negative integer, got {seed}")
    if force:  # a PostgreSQL deployment being replaced: its servers stop before its files go
        from sim.postgres.topology import Topology, stop_all

        if Topology(out).exists():
            stop_all(out, mode="immediate")
    report = make_deployment(
        population,
        out,
        seed=seed,
        canaries=canaries,
        users=users,
        on=day,
        profile=profile,
        force=force,
        from_feeds=from_feeds,
    )
    typer.echo(
        f"deployment {report.path}: {report.children:,} children ({report.canaries} canaries), "
        f"{report.users} demo users, {report.audit_entries} audit entries, {report.stores} stores "
        f"in the inventory ({len(report.unlisted)} extracts left out of it), {report.seconds:.1f} s"
    )
    if backend == "postgres":
        typer.echo(
            f"PostgreSQL: primary and streaming replica running under {report.path}/postgres "
            "(WAL archive, sealed base backups in the inventory); the index and accounts are "
            "served from the primary (backend.toml), no SQLite copy kept; they keep running "
            f"until `cpw postgres stop {report.path}` (stop them before deleting the directory "
            "by hand; `cpw decommission` destroys them in its own steps)"
        )
    side = report.path.parent / report.path.name
    typer.echo(f"outside the tree: {side}.canaries.json, {side}.credentials.json (0600), "
               f"{side}.audit-public-key, {side}.audit-witness (0600)")  # fmt: skip
    if from_feeds:
        typer.echo(f"each index ID's true child (scoring only): {side}.feed-truth.parquet")
    typer.echo(f"audit key fingerprint: {report.audit_fingerprint}  (keep it: `cpw index audit "
               "verify --fingerprint` checks the public key against it)")  # fmt: skip
