"""Practitioners' pages: log in with four factors, search, open a record for a stated reason.

The accredited network is never claimed by the user: it is the network the client's address
belongs to in the deployment's settings (sim.web.settings). Where one range stands for several
networks (loopback in a demo), the one the account's organisation uses is taken; an address in
no accredited network is passed to the facade as such, which refuses and audits the login.
"""

import datetime as dt
import ipaddress
from functools import cache, partial

from fastapi import APIRouter
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from sim.errors import WorkbenchError
from sim.index.access import Session
from sim.index.search import SearchResult
from sim.index.service import ContactPoint, SearchRequest
from sim.index.view import RecordView, view_reasons
from sim.web import security
from sim.web.app import Web, act, redirect, signed_in, text_field, web_of
from sim.web.settings import Network, networks_of

router = APIRouter()

SEARCH_FIELDS = ("surname", "forename", "date_of_birth", "gender", "postcode", "index_id",
                 "school_code", "gp_practice_code")  # fmt: skip
NETWORK_LIMIT = 64


@cache
def reason_options() -> Markup:
    """The reason list's <option>s, escaped once: every hit of every search page repeats it."""
    options = [Markup('<option value="">state a reason</option>')]
    options += [Markup("<option>{}</option>").format(reason) for reason in view_reasons()]
    return Markup("").join(options)


def _network(
    service: ContactPoint, username: str, address: str, ranges: dict[str, tuple[Network, ...]]
) -> str:
    candidates = networks_of(address, ranges)
    if not candidates:
        return f"unlisted address {address}"[:NETWORK_LIMIT]
    if len(candidates) > 1:
        account = service.access.account(username)
        if account is not None:
            usable = service.access.rules.networks_for(account.organisation_kind)
            candidates = [name for name in candidates if name in usable] or candidates
    return candidates[0]


def _login(
    service: ContactPoint,
    fields: dict[str, str],
    address: str,
    ranges: dict[str, tuple[Network, ...]],
    now: dt.datetime,
) -> str:
    network = _network(service, fields["username"], address, ranges)
    return service.login(
        fields["username"],
        fields["password"],
        fields["pin"],
        fields["token_code"],
        network=network,
        now=now,
    )


def _client(request: Request) -> str:
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host[:NETWORK_LIMIT]


@router.get("/")
async def home(request: Request) -> Response:
    return redirect("/search" if security.session_id(request) else "/login")


@router.get("/login")
async def login_page(request: Request) -> Response:
    web = web_of(request)
    return web.render(request, "login.html", web.now())


@router.post("/login")
async def login(request: Request) -> Response:
    web = web_of(request)
    now = web.now()
    try:
        form = await web.form(request, "login", now)
        fields = {k: text_field(form, k) for k in ("username", "password", "pin", "token_code")}
        session_id = await web.facade.call(_login, fields, _client(request), web.networks, now)
    except WorkbenchError as error:
        status = 403
        return web.render(request, "login.html", now, None, status, message=str(error))
    response = redirect("/search")
    security.set_session(response, session_id, web.options.tls)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    web = web_of(request)
    now = web.now()
    try:
        await web.form(request, "logout", now)
        session_id = security.session_id(request) or ""
        await web.facade.call(ContactPoint.logout, session_id, now=now)
    except WorkbenchError as error:
        return web.refusal(request, error, now)
    response = web.render(request, "login.html", now, message="You have logged out.")
    security.clear_session(response)
    return response


async def results_page(
    web: Web,
    request: Request,
    now: dt.datetime,
    who: Session,
    result: SearchResult | None,
    query: dict,
) -> Response:
    shown = {field: query.get(field, "") for field in SEARCH_FIELDS}  # read by index, not .get
    return web.render(
        request, "search.html", now, who, result=result, shown=shown,
        reason_options=reason_options(),
    )  # fmt: skip


@router.get("/search")
async def search_page(request: Request) -> Response:
    return await signed_in(request, partial(results_page, result=None, query={}))


def _query(form: FormData) -> dict[str, str]:
    """The search fields filled in (what the page shows back)."""
    return {k: text_field(form, k) for k in SEARCH_FIELDS if text_field(form, k).strip()}


def _view(
    service: ContactPoint, form: FormData, session_id: str, now: dt.datetime
) -> tuple[Session, dict]:
    child_id, reason = text_field(form, "child_id"), text_field(form, "reason")
    who, record = service.checked_view(session_id, child_id, reason, now=now)
    return who, {"record": record}


async def _record_page(
    web: Web, request: Request, now: dt.datetime, who: Session, record: RecordView
) -> Response:
    return web.render(request, "record.html", now, who, record=record, sections=_sections(record))


async def search(request: Request) -> Response:
    """A search, answered with the other searches queued in this worker (Gateway.search)."""
    web = web_of(request)
    now = web.now()
    session_id = security.session_id(request) or ""
    try:
        form = await web.form(request, "search", now)
        query = _query(form)
        mode = "fuzzy" if text_field(form, "fuzzy") else "exact"
        answer = await web.facade.search(SearchRequest(session_id, query | {"mode": mode}, now))
    except WorkbenchError as error:
        return web.refusal(request, error, now)
    if answer.refused is not None:
        return web.refusal(request, answer.refused, now, answer.session)
    assert answer.session is not None
    return await results_page(web, request, now, answer.session, answer.result, query)


async def view(request: Request) -> Response:
    return await act(request, _record_page, "view", _view, checks_session=True)


# Answered by sim.web.app.DirectRoutes, outside FastAPI's routing: the practitioner's hot path.
DIRECT = {("POST", "/search"): search, ("POST", "/view"): view}


def _sections(shown: RecordView) -> list[tuple[str, list[dict]]]:
    """Each section shown, as a list of flat rows (label -> value) for the template."""
    out = []
    for section in shown.sections_shown()[1:]:
        value = getattr(shown, section)
        items = value if isinstance(value, tuple) else (value,)
        rows = []
        for item in items:
            if hasattr(item, "model_dump"):
                rows.append(_flat(item.model_dump(mode="json", exclude_none=True)))
            else:
                rows.append({"": str(item)})
        out.append((section.replace("_", " "), rows))
    return out


def _flat(data: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        label = f"{prefix}{key.replace('_', ' ')}"
        if isinstance(value, dict):
            flat |= _flat(value, f"{label}: ")
        else:
            flat[label] = "yes" if value is True else "no" if value is False else str(value)
    return flat
