"""The management team's pages: shielding requests and decisions, and the accounts they run.

Shielding and account changes are facade calls (each checks the role and authority and audits
the act or the refusal). The page itself lists accounts, so it first passes the gateway's gate:
only a role that administers accounts (data/index/access.toml role_administers) sees it.
"""

import datetime as dt

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sim.errors import WorkbenchError
from sim.index.access import ROLES, NewAccount, Session
from sim.index.records import record_rules
from sim.index.service import ContactPoint
from sim.web import security
from sim.web.app import Web, act, signed_in, text_field
from sim.web.gateway import ADMINISTRATORS, date_field, gate, number_field

router = APIRouter(prefix="/manage")

ACCOUNT_COLUMNS = ("username", "forename", "surname", "role", "authority_code", "organisation",
                   "crb_checked_on", "failed_logins", "locked_until", "revoked_at")  # fmt: skip


def _accounts(service: ContactPoint, session_id: str, now: dt.datetime) -> list[dict]:
    """The accounts the manager administers, by the facade's own rule (one rule, one place)."""
    who = gate(service, session_id, "web.accounts", ADMINISTRATORS, now)
    frame = service.access.administered_accounts(who)
    return frame.select(ACCOUNT_COLUMNS).sort("username").to_dicts()


async def _page(
    web: Web, request: Request, now: dt.datetime, who: Session | None, **message: object
) -> Response:
    session_id = security.session_id(request) or ""
    try:
        accounts = await web.facade.call(_accounts, session_id, now)
    except WorkbenchError as error:
        return web.refusal(request, error, now, who)
    return web.render(
        request,
        "manage.html",
        now,
        who,
        accounts=accounts,
        criteria=record_rules().shielding_criteria.value,
        roles=ROLES,
        **message,
    )


@router.get("")
async def manage(request: Request) -> Response:
    return await signed_in(request, _page)


def _request_shield(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    event = service.request_shielding(
        session_id, text_field(form, "child_id"), text_field(form, "criterion"), now=now
    )
    return {"message": f"Shielding request {event.request_id}: {event.child_id}, "
                       f"{event.criterion}. Another member of the team decides it."}  # fmt: skip


def _decide_shield(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    number = number_field(text_field(form, "request_id"), "request number")
    approve = text_field(form, "decision") == "approve"
    event = service.decide_shielding(session_id, number, approve, now=now)
    return {"message": f"{event.action}: request {event.request_id}, {event.child_id}"}


def _add_account(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    authority = text_field(form, "authority").strip() or None
    new = NewAccount(
        text_field(form, "username").strip(),
        text_field(form, "forename").strip(),
        text_field(form, "surname").strip(),
        text_field(form, "sector").strip() or "social care",
        text_field(form, "organisation").strip() or (authority or ""),
        text_field(form, "organisation_kind").strip() or "local_authority",
        authority,
        text_field(form, "role"),  # type: ignore[arg-type]
    )
    vetted = (
        date_field(text_field(form, "vetted_on"), "vetted on")
        if text_field(form, "vetted_on")
        else None
    )
    service.add_user(
        new,
        text_field(form, "password"),
        text_field(form, "pin"),
        vetted_on=vetted,
        by=session_id,
        now=now,
    )
    return {"message": f"Account {new.username} opened ({new.role}); another administrator "
                       "issues its token."}  # fmt: skip


def _issue_token(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    username = text_field(form, "username").strip()
    serial = service.issue_token(username, by=session_id, now=now)
    return {"message": f"Token {serial} issued for {username}; its secret was posted to "
                       f"{username} alone (never shown here)."}  # fmt: skip


def _revoke(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    username = text_field(form, "username").strip()
    service.access.revoke(username, by=session_id, now=now)
    return {"message": f"Account {username} revoked; its sessions have ended."}


def _unlock(service: ContactPoint, form, session_id: str, now: dt.datetime) -> dict:
    username = text_field(form, "username").strip()
    service.access.unlock(username, by=session_id, now=now)
    return {"message": f"Account {username} unlocked."}


@router.post("/shield/request")
async def request_shield(request: Request) -> Response:
    return await act(request, _page, "shielding.request", _request_shield)


@router.post("/shield/decide")
async def decide_shield(request: Request) -> Response:
    return await act(request, _page, "shielding.decide", _decide_shield)


@router.post("/accounts/add")
async def add_account(request: Request) -> Response:
    return await act(request, _page, "account.create", _add_account)


@router.post("/accounts/token")
async def issue_token(request: Request) -> Response:
    return await act(request, _page, "token.issue", _issue_token)


@router.post("/accounts/revoke")
async def revoke(request: Request) -> Response:
    return await act(request, _page, "account.revoke", _revoke)


@router.post("/accounts/unlock")
async def unlock(request: Request) -> Response:
    return await act(request, _page, "account.unlock", _unlock)
