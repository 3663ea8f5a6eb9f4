"""`cpw index ...`: administering the ContactPoint index (a thin layer over sim.index)."""

import typer

from sim.index.audit.commands import audit_alerts, audit_verify

app = typer.Typer(
    help="The ContactPoint index: audit now; build, users, search and more to come.",
    no_args_is_help=True,
)
audit = typer.Typer(
    help="The audit trail: verify the hash chain and run monitoring rules.", no_args_is_help=True
)
audit.command("verify")(audit_verify)
audit.command("alerts")(audit_alerts)
app.add_typer(audit, name="audit")
