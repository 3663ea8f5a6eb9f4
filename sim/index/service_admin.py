"""Administration through the facade: accounts and tokens, subject access requests received
from the public, and switching the service off."""

import datetime as dt
from typing import get_args

from sim.index.access import AccessRefused, Account, NewAccount
from sim.index.audit import AuditEvent
from sim.index.inputs import is_text
from sim.index.sar import Requester, SarOutcome, SarRefused, receive_request
from sim.index.service_core import ServiceCore


class Administration:
    """Acts of the national administrator and the public routes into the index."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store, self.access, self.audit = core.store, core.access, core.audit

    def add_user(
        self,
        new: NewAccount,
        password: str,
        pin: str,
        *,
        vetted_on: dt.date | None,
        by: str | None,
        now: dt.datetime,
    ) -> Account:
        """Open an account; with `vetted_on`, record CRB check, training and agreement too."""
        if self.access.service_closed():
            self.audit.append(
                AuditEvent(now, "system", "account.create", "refused", None, "service_closed")
            )
            raise AccessRefused("not_permitted")
        account = self.access.create_account(new, password, pin, by=by, now=now)
        if vetted_on is not None:
            self.access.record_crb_check(new.username, vetted_on, by=by, now=now)
            self.access.record_training(new.username, vetted_on, by=by, now=now)
            self.access.record_agreement(new.username, vetted_on, by=by, now=now)
        return account

    def issue_token(self, username: str, *, by: str | None, now: dt.datetime) -> str:
        """A new security token for the user; returns its serial. The secret is posted to the
        holder alone (sim.index.access.enrolment), never returned to the one who issues it."""
        return self.access.issue_token(username, by=by, now=now)

    def receive_subject_access_request(
        self, child_id: str, requester: Requester, received_on: dt.date, *, now: dt.datetime
    ) -> SarOutcome:
        """The public route for a written SAR (DPA 1998 s7); closed once the index is switched
        off, when the regulations ceased to apply (docs/reference.md 5h)."""
        if self.access.service_closed():
            self.audit.append(
                AuditEvent(now, "public", "sar.receive", "refused", None, "service_closed")
            )
            raise SarRefused("the ContactPoint service is closed")
        requesters = get_args(Requester)
        if not (is_text(child_id) and requester in requesters and isinstance(received_on, dt.date)):
            self.audit.append(
                AuditEvent(now, "public", "sar.receive", "refused", None, "malformed_input")
            )
            raise SarRefused("request refused: give an index ID, child or parent, and a date")
        outcome = receive_request(
            self.store, child_id, requester, received_on, actor="public", at=now
        )
        self.audit.append(outcome.event)
        return outcome

    def switch_off(self, *, by: str | None, now: dt.datetime) -> int:
        """Every account revoked and every session ended; every later login refused.

        The 2010 switch-off: docs/reference.md 5h."""
        with self.audit.exclusive():  # no answer is logged between the closing and its entry
            revoked = self.access.close_service(by=by, now=now)
        return revoked
