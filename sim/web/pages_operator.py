"""The operator's pages: switch-off, retention, subject access requests, audit verification and
the decommissioning runbook (read-only).

Switch-off is the facade's own act (it checks the administrator's scope and audits). Retention,
subject access and verification have no session of their own in the facade, so the gateway's
gate admits only a role that administers every account (a national administrator), audited
either way, before the housekeeping functions run (sim.index.lifecycle).
"""

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from decommission.rehearsal import dry_run
from decommission.runbook import load_runbook
from sim.errors import WorkbenchError
from sim.index.access import Session
from sim.index.audit import verify
from sim.index.lifecycle import progress_request, run_retention
from sim.index.service import ContactPoint
from sim.web import security
from sim.web.app import Web, act, redirect, text_field, web_of
from sim.web.gateway import OPERATOR, InvalidField, date_field, gate, number_field

router = APIRouter(prefix="/operate")

SAR_STEPS = ("fee", "identity", "disclose", "refuse")


def runbook_plan(deployment: Path) -> str:
    """The decommissioning plan over the deployment's inventory (read once, at start-up: the
    inventory is fixed when the deployment is made), or why it cannot be drawn."""
    try:
        return dry_run(deployment, load_runbook())
    except WorkbenchError as error:
        return str(error)


def _runbook(plan: str, now: dt.datetime) -> dict:
    """Each step with its scheduled time and whether the simulation clock has reached it."""
    runbook = load_runbook()
    steps = [
        {"id": s.id, "kind": s.kind, "title": s.title, "at": s.at, "requires": s.requires,
         "reached": now >= s.at}
        for s in runbook.steps
    ]  # fmt: skip
    return {"title": runbook.title, "steps": steps, "plan": plan}


def _status(service: ContactPoint, session_id: str, now: dt.datetime) -> Session:
    return gate(service, session_id, "web.operate", OPERATOR, now)


async def _page(
    web: Web, request: Request, now: dt.datetime, who: Session | None, **said: object
) -> Response:
    session_id = security.session_id(request) or ""
    try:
        who = await web.facade.call(_status, session_id, now)
    except WorkbenchError as error:
        return web.refusal(request, error, now, who)
    runbook = _runbook(web.runbook_plan, now)
    return web.render(
        request, "operate.html", now, who, runbook=runbook, sar_steps=SAR_STEPS, **said
    )


@router.get("")
async def operate(request: Request) -> Response:
    web = web_of(request)
    if security.session_id(request) is None:
        return redirect("/login")
    return await _page(web, request, web.now(), None)


def _switch_off(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    if text_field(form, "confirm") != "switch off":
        raise InvalidField("confirm", 'type "switch off" to confirm')
    revoked = service.switch_off(by=session_id, now=now)
    return {"revoked": revoked}


@router.post("/switch-off")
async def switch_off(request: Request) -> Response:
    async def done(web: Web, request: Request, now, who, revoked: int) -> Response:
        message = f"Service switched off: {revoked} account(s) revoked, every session ended."
        response = web.render(request, "login.html", now, None, message=message)
        security.clear_session(response)
        return response

    return await act(request, done, "service.close", _switch_off)


def _retention(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    day = date_field(text_field(form, "as_of"), "as of")
    gate(service, session_id, "retention.run", OPERATOR, now)
    report = run_retention(service, day, now=now)
    archived = ", ".join(f"{n:,} {cause}" for cause, n in sorted(report.archived.items()))
    blocked = len(report.purge_blocked)
    return {"message": f"Retention as of {day}: archived {archived or 'none'}; purged "
                       f"{len(report.purged):,}; purge blocked {blocked:,}."}  # fmt: skip


def _sar_receive(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    requester = text_field(form, "requester")
    if requester not in ("child", "parent"):
        raise InvalidField("requester", "child or parent")
    day = date_field(text_field(form, "received_on"), "received on")
    gate(service, session_id, "sar.receive", OPERATOR, now)
    outcome = service.receive_subject_access_request(
        text_field(form, "child_id").strip(), requester, day, now=now
    )
    request = outcome.request
    return {"message": f"Subject access request {request.request_id} received: fee due "
                       f"{request.fee_due_pence / 100:.2f} GBP."}  # fmt: skip


def _sar_step(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    step = text_field(form, "step")
    if step not in SAR_STEPS:
        raise InvalidField("step", ", ".join(SAR_STEPS))
    number = number_field(text_field(form, "request_id"), "request number")
    day = date_field(text_field(form, "on"), "on")
    try:
        amount = Decimal(text_field(form, "amount").strip() or "0")
    except InvalidOperation:
        raise InvalidField("amount", "give an amount in GBP") from None
    gate(service, session_id, f"sar.{step}", OPERATOR, now)
    outcome = progress_request(
        service, step, number, day, now=now, amount_gbp=amount,
        ground=text_field(form, "ground").strip() or None,
    )  # type: ignore[arg-type]  # fmt: skip
    said: dict[str, object] = {"message": f"Request {number}: {outcome.request.status(day)}."}
    if outcome.pack is not None:
        said["pack"] = outcome.pack.model_dump_json(indent=2)
    return said


def _verify(service: ContactPoint, form, session_id: str, now: dt.datetime, key: str | None):
    gate(service, session_id, "audit.verify", OPERATOR, now)
    if key is None:
        return {"verdict": None}
    report = verify(service.audit.path, key)
    return {"verdict": report.summary(), "verdict_ok": report.ok}


@router.post("/retention")
async def retention(request: Request) -> Response:
    return await act(request, _page, "retention.run", _retention)


@router.post("/sar/receive")
async def sar_receive(request: Request) -> Response:
    return await act(request, _page, "sar.receive", _sar_receive)


@router.post("/sar/step")
async def sar_step(request: Request) -> Response:
    return await act(request, _page, "sar.step", _sar_step)


@router.post("/audit")
async def audit(request: Request) -> Response:
    key = web_of(request).options.audit_key

    def work(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
        return _verify(service, form, session_id, now, key)

    return await act(request, _page, "audit.verify", work)
