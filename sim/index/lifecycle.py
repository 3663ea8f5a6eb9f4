"""The index's housekeeping through a deployment's facade: retention runs and subject access.

These are the responsible authority's and the operator's jobs, not a practitioner's, so they act
on the facade's store directly; like every other path, each change and each refusal is audited.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from sim.index.audit import AuditEvent
from sim.index.retention import RetentionReport, apply_retention
from sim.index.sar import (
    SarOutcome,
    SarRefused,
    SubjectAccessRequest,
    disclose,
    pending_requests,
    record_fee,
    record_identity,
    refuse_request,
)
from sim.index.service import ContactPoint

OPERATOR = "system"
SAR_OFFICER = "sar-officer"
SarStep = Literal["fee", "identity", "disclose", "refuse"]


def run_retention(service: ContactPoint, as_of: dt.date, *, now: dt.datetime) -> RetentionReport:
    """Archive and purge what is due at `as_of` (SI 2007/2182 reg 7), auditing every change."""
    report = apply_retention(service.store, as_of)
    for event in report.audit_events(OPERATOR, now):
        service.audit.append(event)
    return report


def progress_request(
    service: ContactPoint,
    step: SarStep,
    request_id: int,
    on: dt.date,
    *,
    now: dt.datetime,
    amount_gbp: Decimal | None = None,
    ground: str | None = None,
) -> SarOutcome:
    """Record a fee or identity, disclose, or refuse a SAR (DPA 1998 s7); refusals are audited."""
    try:
        if step == "fee":
            outcome = record_fee(
                service.store, request_id, on, amount_gbp or Decimal(0), actor=SAR_OFFICER, at=now
            )
        elif step == "identity":
            outcome = record_identity(service.store, request_id, on, actor=SAR_OFFICER, at=now)
        elif step == "refuse":
            outcome = refuse_request(
                service.store, request_id, ground or "", on, actor=SAR_OFFICER, at=now
            )
        else:
            outcome = disclose(
                service.store, request_id, on, actor=SAR_OFFICER, at=now,
                audit_log=service.audit.path,
            )  # fmt: skip
    except SarRefused as refused:
        detail = {"request_id": request_id, **refused.detail}
        service.audit.append(
            AuditEvent(now, SAR_OFFICER, f"sar.{step}", "refused", None, str(refused), detail)
        )
        raise
    service.audit.append(outcome.event)
    return outcome


def open_requests(service: ContactPoint, as_of: dt.date) -> list[SubjectAccessRequest]:
    """Requests not yet answered at `as_of`: what decommissioning must keep.

    Why: docs/index-design.md, "Subject access"."""
    return pending_requests(service.store, as_of)
