"""ContactPoint as practitioners and administrators meet it: one facade over the index's parts.

Every call checks the session (AccessControl), applies the usage guard (rate limits and
enumeration), does the work through the data core (search, view, shielding) and writes one
audit event; a refusal is audited before its typed error propagates (docs/reference.md 5f:
"every access is logged"). The security state (sessions, counters, revocations, the switched-off
state) lives in the deployment's accounts database and is read on every request, so any number
of facades, in any processes, are one service; an answer is logged (write-ahead) before it is
returned, and only while the session is still live. View and search events carry `surname`,
its search keys and `child_authority` in their detail, which the monitoring rules read. Time
comes only from the `now` arguments, so the simulation drives the clock exactly as it drives a
practitioner.
"""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.index.access import AccessControl, AccessRefused
from sim.index.audit import AuditEvent, AuditLog
from sim.index.deployment.backend import read_backend
from sim.index.deployment.layout import Layout, audit_signing_key, token_key
from sim.index.deployment.settings import profile_rules
from sim.index.inputs import shown
from sim.index.search import SearchRefused, SearchResult, parse_query, search
from sim.index.service_admin import Administration
from sim.index.service_core import CLAIM_LIMIT
from sim.index.service_management import ManagementActions
from sim.index.store import StoredRecord
from sim.index.store.keys import normalise_name, phonetic_code
from sim.index.store.locations import open_index
from sim.index.view import RecordView, ViewRefused, view_reasons, view_record

__all__ = ["CLAIM_LIMIT", "ContactPoint"]


def surname_keys(surname: str | None) -> dict[str, str]:
    """The surname in the forms search matches it by, for the monitoring rules: punctuation,
    case or a spelling variant does not hide a watched name."""
    if not surname:
        return {}
    return {"surname_key": normalise_name(surname), "surname_code": phonetic_code(surname)}


class _ReadOnce:
    """Hands view_record the record the facade has just read: one index read per view."""

    def __init__(self, stored: StoredRecord) -> None:
        self._stored = stored

    def read_record(self, child_id: str) -> StoredRecord:
        return self._stored


class ContactPoint(ManagementActions, Administration):
    """The index as practitioners and administrators meet it (management acts in
    service_management, administration in service_admin, audit helpers in service_core)."""

    @classmethod
    def open(
        cls, deployment: Path, *, profile: str = "production", witness: Path | None = None
    ) -> "ContactPoint":
        """Open a deployment made by `cpw deploy`; its stores stay where they are. Each signed
        audit checkpoint is also published to `witness` (default: DEPLOYMENT.audit-witness,
        outside the tree), the operator's copy that `cpw index audit verify` checks against."""
        layout = Layout(Path(deployment))
        if not layout.keystore.is_file():
            raise InputError(f"{deployment}: not a deployment ({layout.keystore.name} missing)")
        backend = read_backend(layout)  # SQLite files, or PostgreSQL databases (backend.toml)
        if isinstance(backend.index, Path) and not backend.index.is_file():
            raise InputError(f"{deployment}: not a deployment ({backend.index.name} missing)")
        rules = profile_rules(profile)
        witness = Path(witness) if witness else layout.beside("audit-witness")
        audit = AuditLog(layout.audit, audit_signing_key(layout.keystore), witness=witness)
        store = open_index(backend.index)
        access = AccessControl(
            backend.accounts, audit, rules=rules, token_key=token_key(layout.keystore)
        )
        return cls(store, access, audit)

    # -- practitioners ---------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        pin: str,
        token_code: str,
        *,
        network: str,
        now: dt.datetime,
    ) -> str:
        """All four factors from an accredited network; returns the session id."""
        if self.access.service_closed():
            self.audit.append(
                AuditEvent(now, shown(username), "login", "refused", None, "service_closed")
            )
            raise AccessRefused("revoked")
        return self.access.login(
            username, password, pin, token_code, network=network, now=now
        ).session_id

    def search(
        self, session_id: str, query: Mapping[str, Any], *, now: dt.datetime
    ) -> SearchResult:
        """Search by names, date of birth, gender, postcode, school or GP; capped and scored."""
        session = self.access.session(session_id, now=now)
        if not isinstance(query, Mapping):
            self._refuse_malformed(now, session, "search", ["query"])
        try:
            parsed = parse_query(dict(query))
        except SearchRefused as refused:
            self._refuse(
                refused,
                now,
                session,
                "search",
                "invalid_query",
                fields=sorted(shown(key) for key in query)[:20],
            )
        self.guard.check_search(session.username, now, parsed.surname, parsed.index_id)
        try:
            result = search(self.store, parsed)
        except SearchRefused as refused:
            fields = list(parsed.fields_used())
            self._refuse(
                refused,
                now,
                session,
                "search",
                "search_refused",
                fields=fields,
                surname=parsed.surname,
            )
        self._record(
            now,
            session,
            "search",
            parsed.index_id.upper() if parsed.index_id else None,
            surname=parsed.surname,
            **surname_keys(parsed.surname),
            **result.audit_detail(),
        )
        return result

    def view(self, session_id: str, child_id: str, reason: str, *, now: dt.datetime) -> RecordView:
        """Open one record for a stated reason from the list (data/index/record.toml)."""
        session = self.access.session(session_id, now=now)
        self._require_text(now, session, "view", child_id=child_id, reason=reason)
        child_id = child_id[:CLAIM_LIMIT]
        if reason not in view_reasons():
            refused = ViewRefused(
                "view refused: state one of the reasons for access (cpw index reasons)"
            )
            self._refuse(
                refused,
                now,
                session,
                "view",
                "no_valid_reason",
                child_id,
                stated=str(reason)[:CLAIM_LIMIT],
            )
        self.guard.check_view(session.username, child_id, now)
        stored = self.store.read_record(child_id)
        if stored is None:
            refused = ViewRefused("view refused: no record with that index ID")
            self._refuse(refused, now, session, "view", "unknown_child", child_id)
        shown = view_record(_ReadOnce(stored), child_id, reason)
        authority = stored.record.authority_code
        surname = shown.name.surname if shown.name else None
        self._record(
            now,
            session,
            "view",
            child_id,
            reason,
            surname=surname,
            **surname_keys(surname),
            child_authority=authority,
            shielded=shown.shielded,
            sections=shown.sections_shown(),
        )
        return shown

    def logout(self, session_id: str, *, now: dt.datetime) -> None:
        self.access.logout(session_id, now=now)

    def close(self) -> None:
        self.access.close()
        self.store.close()
        self.audit.close()

    def __enter__(self) -> "ContactPoint":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
