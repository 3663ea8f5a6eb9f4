"""`cpw index audit verify|alerts`: re-check an audit trail and run the monitoring rules."""

from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InputError

LogArg = Annotated[Path, typer.Argument(help="The audit log (JSON lines), e.g. audit.jsonl.")]


def _public_key(value: str, fingerprint: str | None) -> str:
    """A public key given as 64 hex digits, or as a file that holds them (then pinned by its
    fingerprint)."""
    path = Path(value)
    from_file = path.is_file()
    text = path.read_text().strip() if from_file else value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise InputError(f"--public-key: {value!r} is neither 64 hex digits nor a file of them")
    from sim.index.audit.keys import pinned_public_key

    return pinned_public_key(text, from_file, fingerprint)


def audit_verify(
    log: LogArg,
    public_key: Annotated[
        str, typer.Option(help="Audit public key: 64 hex digits, or a file holding them.")
    ],
    witness: Annotated[
        Path,
        typer.Option(help="The witness file: the signed head the service last published."),
    ],
    fingerprint: Annotated[
        str | None,
        typer.Option(help="The key's fingerprint shown at deploy time (sha256:...)."),
    ] = None,
) -> None:
    """Re-check every entry, signed checkpoint and the witness; exit 1 naming the first bad
    entry. The key (or its fingerprint) must come from the operator, not from beside the log."""
    from sim.index.audit.verify import verify

    if not log.is_file():
        raise InputError(f"{log}: no such audit log")
    if not witness.is_file():
        raise InputError(f"--witness: {witness}: no such file")
    report = verify(log, _public_key(public_key, fingerprint), witness)
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


def audit_alerts(
    log: LogArg,
    accounts: Annotated[
        Path, typer.Option(help="Accounts as parquet or CSV (username, surname, authority_code).")
    ],
) -> None:
    """Run the monitoring rules (data/index/monitoring.toml) over the log and list the alerts."""
    import polars as pl

    from sim.index.audit.monitoring import alerts_from, read_rule_columns
    from sim.index.audit.settings import load_monitoring_rules

    if not log.is_file() or not accounts.is_file():
        raise InputError(f"{log if not log.is_file() else accounts}: file not found")
    users = pl.read_parquet(accounts) if accounts.suffix == ".parquet" else pl.read_csv(accounts)
    rules = load_monitoring_rules()
    alerts = alerts_from(read_rule_columns(log, rules), users, rules)
    typer.echo(f"alerts: {alerts.height}")
    for row in alerts.iter_rows(named=True):
        typer.echo(f"{row['first_time']}  {row['rule']:<18} {row['actor']:<24} x{row['count']}")
