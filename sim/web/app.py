"""The web application: one facade per worker, server-rendered pages, thin routes.

`create_app(options)` builds it (tests, benchmarks); `app_from_environment()` is what each
uvicorn worker calls (`cpw serve`). The routes live in pages_practitioner, pages_management and
pages_operator; this module holds what they share: the clock, the facade gateway, the
templates, form checking and the rendering of refusals.
"""

import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sim.errors import WorkbenchError
from sim.index.access import AccessRefused, Session
from sim.index.audit import AuditEvent
from sim.web import security
from sim.web.clock import SimClock
from sim.web.gateway import Gateway, InvalidField, audit_invalid
from sim.web.settings import ServeOptions
from sim.web.supervision import end_with_supervisor

HERE = Path(__file__).parent
SESSION_ENDED = ("unknown_session", "session_expired", "session_revoked")
FIELD_LIMIT = 64  # characters of a submitted value kept in an audit entry
NO_STORE = {"Cache-Control": "no-store"}  # every page: never kept by a browser or a proxy


class FormRefused(WorkbenchError):
    """A form without its valid CSRF token (audited before this is raised)."""


class Web:
    """What every route needs: clock, facade gateway, templates and the form secret."""

    def __init__(self, options: ServeOptions, wall: Callable[[], float]) -> None:
        self.options = options
        self.clock = SimClock(options.start_time(), options.origin, options.rate, wall)
        self.networks = options.address_ranges()
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.auto_reload = False  # templates are package files: never re-read
        self.gateway: Gateway | None = None
        self.runbook_plan = ""  # the operator page's plan, drawn at start-up

    @property
    def facade(self) -> Gateway:
        assert self.gateway is not None, "the application has not started"
        return self.gateway

    def now(self) -> dt.datetime:
        return self.clock.now()

    async def whoami(self, request: Request, now: dt.datetime) -> Session:
        """The live session behind the cookie, checked by the facade (its refusal is audited)."""
        session_id = security.session_id(request) or ""
        return await self.facade.call(lambda s: s.access.session(session_id, now=now))

    async def form(self, request: Request, action: str, now: dt.datetime) -> FormData:
        """The submitted form, if it carries this session's CSRF token; else an audited refusal."""
        form = await request.form()
        given = form.get(security.CSRF_FIELD)
        if security.csrf_ok(
            self.options.secret, request, given if isinstance(given, str) else None
        ):
            return form
        await self.facade.call(_audit_bad_form, action, request.url.path, now)
        raise FormRefused("refused: this form has expired; reload the page and try again")

    def render(
        self,
        request: Request,
        template: str,
        now: dt.datetime,
        who: Session | None = None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        anchor = security.form_anchor(request)
        fresh = None
        if anchor is None:
            anchor = fresh = security.new_pre_session()
        context |= {
            "clock": now,
            "clock_iso": now.isoformat(),  # formatted here: a call inside a template costs more
            "clock_text": now.strftime("%a %d %b %Y %H:%M:%S"),
            "who": who,
            "csrf": security.csrf_token(self.options.secret, anchor),
            "csrf_field": security.CSRF_FIELD,
        }
        page = self.templates.get_template(template).render(context)  # no page reads `request`
        response = HTMLResponse(page, status_code=status, headers=NO_STORE)
        if fresh is not None:
            security.set_pre_session(response, fresh, self.options.tls)
        return response

    def refusal(
        self, request: Request, error: WorkbenchError, now: dt.datetime, who: Session | None = None
    ) -> Response:
        """Show the facade's refusal; an ended session goes back to the login page."""
        if isinstance(error, AccessRefused) and error.reason_code in SESSION_ENDED:
            response = self.render(request, "login.html", now, None, 401, message=str(error))
            security.clear_session(response)
            return response
        status = 403 if isinstance(error, AccessRefused | FormRefused) else 400
        return self.render(request, "refused.html", now, who, status, message=str(error))


def _audit_bad_form(service, action: str, path: str, now: dt.datetime) -> None:
    detail = {"path": path[:FIELD_LIMIT]}
    service.audit.append(
        AuditEvent(now, "web", action, "refused", None, "csrf_token_mismatch", detail)
    )


def _as_user(
    service, session_id: str, now: dt.datetime, action: str, work: Callable, form: FormData
) -> tuple[Session, Any, WorkbenchError | None]:
    """On the facade's thread: the session check, then the work; a refusal of the work comes
    back with the user it refused (for the page header), a refused session is raised."""
    who = service.access.session(session_id, now=now)
    try:
        return who, work(service, form, session_id, now), None
    except InvalidField as error:
        audit_invalid(service, who.username, action, error.field, now)
        return who, None, error
    except WorkbenchError as error:
        return who, None, error


def _checked_by_work(
    service, session_id: str, now: dt.datetime, action: str, work: Callable, form: FormData
) -> tuple[Session, Any, WorkbenchError | None]:
    """As `_as_user`, for work that checks the session itself and returns it with what it said
    (a search or a view: the check is in the usage guard's transaction, one read of the session
    a request). A refusal after that check comes back with its user, read again for the page
    header (at the moment just checked: no write); a refused session is raised."""
    try:
        who, said = work(service, form, session_id, now)
        return who, said, None
    except AccessRefused as error:
        if error.reason_code in SESSION_ENDED:
            raise
        refused: WorkbenchError = error
    except WorkbenchError as error:
        refused = error
    return service.access.session(session_id, now=now), None, refused


async def act(
    request: Request, page: Callable, action: str, work: Callable, *, checks_session: bool = False
) -> Response:
    """Check the form's CSRF token, then the session and `work(service, form, session_id, now)`
    in one trip to the facade's thread, then show `page` with what the work said; every refusal
    shown is the audited one, with the refused user in the header when there is one. With
    `checks_session`, the work checks the session and returns (session, what it said)."""
    web = web_of(request)
    now = web.now()
    session_id = security.session_id(request) or ""
    trip = _checked_by_work if checks_session else _as_user
    try:
        form = await web.form(request, action, now)
        who, said, error = await web.facade.call(trip, session_id, now, action, work, form)
    except WorkbenchError as error:
        return web.refusal(request, error, now)
    if error is not None:
        return web.refusal(request, error, now, who)
    return await page(web, request, now, who, **said)


async def signed_in(request: Request, page: Callable) -> Response:
    """A page for the live session: `page(web, request, now, who)`; without a session cookie,
    the login page; a refused session, the facade's audited refusal."""
    web = web_of(request)
    now = web.now()
    if security.session_id(request) is None:
        return redirect("/login")
    try:
        who = await web.whoami(request, now)
    except WorkbenchError as error:
        return web.refusal(request, error, now)
    return await page(web, request, now, who)


class SecurityHeaders:
    """Headers on every answer: no framing, no sniffing, no referrer, only this origin's
    resources and forms (a plain ASGI middleware: it costs microseconds)."""

    HEADERS = (
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy",
         b"default-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    )  # fmt: skip

    def __init__(self, app: Callable, tls: bool) -> None:
        self.app = app
        self.headers = list(self.HEADERS)
        if tls:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


class DirectRoutes:
    """The busiest routes answered straight from the ASGI call as Starlette requests.

    A practitioner's search is the service's hot path: FastAPI's routing, its exception
    wrappers and its dependency injection cost about 0.2 ms of the server's CPU per search, more
    than the page itself (bench/bench_web.py). These routes need none of it: each handler takes
    the Starlette request and returns a response, and an HTTP error (a form Starlette cannot
    parse) gets FastAPI's own answer. Every other request passes through to FastAPI, and the
    middleware outside this one (security headers, the server-error handler) applies to all."""

    def __init__(self, app: Callable, routes: dict[tuple[str, str], Callable]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        handler = None
        if scope["type"] == "http":
            handler = self.routes.get((scope["method"], scope["path"]))
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except HTTPException as error:
            response = await http_exception_handler(request, error)
        await response(scope, receive, send)


def text_field(form: FormData, name: str) -> str:
    """A form field as text; absent, or a file upload, reads as empty."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def redirect(to: str) -> Response:
    return RedirectResponse(to, status_code=303)


def web_of(request: Request) -> Web:
    return request.app.state.web


def create_app(options: ServeOptions, *, wall: Callable[[], float] = time.time) -> FastAPI:
    """The application over one deployment; the facade opens at startup, closes at shutdown."""
    from sim.web import pages_management, pages_operator, pages_practitioner

    web = Web(options, wall)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        web.gateway = Gateway(Path(options.deployment), options.profile, options.facade_threads)
        web.runbook_plan = pages_operator.runbook_plan(Path(options.deployment))
        try:
            yield
        finally:
            web.gateway.close()

    app = FastAPI(title="ContactPoint", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.web = web
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (pages_practitioner, pages_management, pages_operator):
        app.include_router(module.router)
    app.add_middleware(DirectRoutes, routes=pages_practitioner.DIRECT)
    app.add_middleware(SecurityHeaders, tls=options.tls)

    return app


def app_from_environment() -> FastAPI:
    """The uvicorn factory for `cpw serve` workers: options from the environment. A worker
    process dies with `cpw serve` (sim.web.supervision)."""
    options = ServeOptions.from_environment()
    end_with_supervisor(options.supervisor)
    return create_app(options)


__all__ = ["Web", "act", "create_app", "redirect", "signed_in", "text_field", "web_of"]
