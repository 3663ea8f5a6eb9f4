"""Helpers the index tests share: monitoring rules with other checkpoint intervals, private
copies of a template deployment, and a desk (access control and audit log) to make users on."""

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from sim.deployment.deploy import SIDE_FILES
from sim.index.access import AccessControl, NewAccount, load_access_rules, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.audit import (
    AuditLog,
    MonitoringRules,
    create_key_store,
    load_monitoring_rules,
    load_signing_key,
    public_key_hex,
    read_audit,
)
from sim.index.store.backends import open_access


def checkpoint_rules(every: int, seconds: int = 3600) -> MonitoringRules:
    """The data's monitoring rules, signing a checkpoint every `every` entries or `seconds`."""
    base = load_monitoring_rules()
    return base.model_copy(
        update={
            "audit_checkpoint_every": base.audit_checkpoint_every.model_copy(
                update={"value": every}
            ),
            "audit_checkpoint_seconds": base.audit_checkpoint_seconds.model_copy(
                update={"value": seconds}
            ),
        }
    )


def copy_deployment(template: Path, copy: Path) -> Path:
    """A fresh copy of the deployment at `template` (and the files beside it) at `copy`."""
    shutil.copytree(template, copy)
    for side in SIDE_FILES:
        shutil.copy2(f"{template}.{side}", f"{copy}.{side}")
    return copy


NOW = dt.datetime(2009, 12, 1, 10, 0)
BOLTON, SHEFFIELD, LEEDS = "E08000001", "E08000019", "E08000035"


def fast_rules(**values):
    """The data's access rules with cheap argon2 (tests only) and any other values replaced."""
    base = load_access_rules()
    values = {"argon2_time_cost": 1, "argon2_memory_kib": 8, **values}
    return base.model_copy(
        update={k: getattr(base, k).model_copy(update={"value": v}) for k, v in values.items()}
    )


@dataclass
class Desk:
    """An access control over a fresh accounts.db and audit log, with helpers to make users."""

    control: AccessControl
    log: AuditLog
    folder: Path
    public: str

    def person(self, username="jo", authority=BOLTON, role="practitioner", **kw):
        kind = kw.pop("organisation_kind", "local_authority")
        organisation = kw.pop("organisation", authority or "DCSF")
        return NewAccount(
            username, "Jo", kw.pop("surname", "Bloggs"), "social care", organisation, kind,
            authority, role,
        )  # fmt: skip

    def vetted(self, new: NewAccount, when=NOW, by=None) -> str:
        """Create, vet, train, sign and issue a token; returns the token secret."""
        c = self.control
        c.create_account(new, "correct horse", "2468", by=by, now=when)
        c.record_crb_check(new.username, dt.date(2009, 1, 5), by=by, now=when)
        c.record_training(new.username, dt.date(2009, 2, 1), by=by, now=when)
        c.record_agreement(new.username, dt.date(2009, 2, 1), by=by, now=when)
        c.issue_token(new.username, by=by, now=when)
        return collect_letter(c.letters, new.username)

    def login(self, username, secret, when=NOW, network="GCSx"):
        code = token_code(secret, when, self.control.rules)
        return self.control.login(
            username, "correct horse", "2468", code, network=network, now=when
        )

    def last(self):
        return read_audit(self.log.path).row(-1, named=True)


def make_desk(folder: Path, accounts: Path | str | None = None, **rule_values) -> Desk:
    """A desk over `accounts` (a SQLite file, default folder/accounts.db, or a conninfo)."""
    public = create_key_store(folder / "audit.key")
    log = AuditLog(folder / "audit.jsonl", load_signing_key(folder / "audit.key"))
    rules = fast_rules(**rule_values)
    where = accounts or folder / "accounts.db"
    if isinstance(where, str):  # a PostgreSQL database
        where = open_access(where, rules=rules, backend_name="postgres")
    control = AccessControl(where, log, rules=rules, letters=folder / "token-letters")
    return Desk(control, log, folder, public_key_hex(public))
