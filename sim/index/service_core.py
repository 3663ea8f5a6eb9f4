"""The facade's core: its parts, and the audit of every allowed or refused act.

The facade (sim.index.service.ContactPoint) is composed of this core and the objects that act
through it: practitioners' acts (service_practice), management (service_management) and
administration (service_admin).

Every call writes one audit event; a refusal is audited before its typed error propagates
(docs/reference.md 5f: every access is logged). The acting user's role and authority come from the
session, never from the caller.
"""

import datetime as dt
from typing import Any, NoReturn

from sim.errors import WorkbenchError
from sim.index.access import AccessControl, AccessRefused, Session, UsageGuard
from sim.index.audit import AuditEvent, AuditLog
from sim.index.derived_copies import DerivedCopies
from sim.index.inputs import CLAIM_LIMIT, is_text, shown
from sim.index.service_settings import service_rules
from sim.index.store import IndexStore

__all__ = ["CLAIM_LIMIT", "ServiceCore"]


class ServiceCore:
    """The index, access control and audit log one facade works through, and the one place
    its acts are recorded or refused; a deployment's facade also keeps its derived copies
    (extracts, replica) in step with shielding."""

    copies: DerivedCopies | None = None

    def __init__(self, store: IndexStore, access: AccessControl, audit: AuditLog) -> None:
        self.store = store
        self.access = access
        self.audit = audit
        self.guard = UsageGuard(audit, counters=access.stores.usage)
        self.rules = service_rules()

    # -- audit -----------------------------------------------------------------------------

    def record(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        child_id: str | None = None,
        reason: str | None = None,
        refused: bool = False,
        **detail: Any,
    ) -> None:
        event = self.event(now, session, action, child_id, reason, refused, **detail)
        if refused:
            self.audit.append(event)
            return
        # Write-ahead: the act is logged before it is answered, and only if, under the log's
        # lock, the session is still live and the service still open (a switch-off or a
        # revocation by any process takes the same lock, so nothing is answered after it).
        ended = self.audit.append_unless(event, lambda: self.access.still_live(session.session_id))
        if ended:
            raise AccessRefused(ended)

    def event(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        child_id: str | None = None,
        reason: str | None = None,
        refused: bool = False,
        **detail: Any,
    ) -> AuditEvent:
        """The entry `record` writes for an act (the acting user and authority from the
        session); a caller recording many acts with one write builds each with it."""
        outcome = "refused" if refused else "allowed"
        detail["authority"] = session.authority_code
        return AuditEvent(now, session.username, action, outcome, child_id, reason, detail)

    def refuse(
        self,
        error: WorkbenchError,
        now: dt.datetime,
        session: Session,
        action: str,
        reason: str,
        child_id: str | None = None,
        **detail: Any,
    ) -> NoReturn:
        self.record(now, session, action, child_id, reason, True, **detail)
        raise error

    def require_text(
        self, now: dt.datetime, session: Session, action: str, **values: object
    ) -> None:
        """Refuse (audited) any value that is not clean text: any bytes may arrive."""
        bad = sorted(name for name, value in values.items() if not is_text(value))
        if bad:
            self.refuse_malformed(now, session, action, bad, values.get("child_id"))

    def refuse_malformed(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        fields: list[str],
        child_id: object = None,
    ) -> NoReturn:
        """Refuse (audited) an act whose `fields` are of the wrong kind, naming the fields."""
        self.refuse(
            AccessRefused("malformed_input"), now, session, action, "malformed_input",
            shown(child_id) if child_id is not None else None, fields=fields,
        )  # fmt: skip

    def permit(
        self,
        now: dt.datetime,
        session: Session,
        action: str,
        roles: list[str],
        child_id: str | None,
    ) -> None:
        if session.role not in roles:
            self.refuse(
                AccessRefused("not_permitted"), now, session, action, "not_permitted", child_id
            )

    def own_authority(
        self, now: dt.datetime, session: Session, action: str, child_id: str, authority: str | None
    ) -> None:
        """Management teams act on their own authority's children (national staff on any)."""
        if session.role == "management_team" and authority != session.authority_code:
            self.refuse(
                AccessRefused("not_permitted"), now, session, action, "outside_authority", child_id
            )

    def child_authority(self, child_id: str) -> str | None:
        stored = self.store.read_record(child_id)
        return stored.record.authority_code if stored else None
