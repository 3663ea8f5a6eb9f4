"""Cookies and forms: the session cookie, and a CSRF token bound to it for every form.

The session cookie holds the facade's session id: HttpOnly (no script reads it), SameSite=Strict
(no other site's page sends it) and Secure when served over TLS (plain HTTP is allowed only on
loopback, sim.cli.serve). Before login a random pre-session cookie stands in for it, so the login
form is protected too. A form's token is an HMAC of that cookie under the server's secret:
another site can neither read nor forge it, and it dies with the session.
"""

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "cp_session"
PRE_COOKIE = "cp_pre"
CSRF_FIELD = "csrf_token"


def _cookie(response: Response, name: str, value: str, secure: bool) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=secure, path="/", max_age=None
    )


def session_id(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def form_anchor(request: Request) -> str | None:
    """The cookie a form token is bound to: the session's, else the pre-session one."""
    return session_id(request) or request.cookies.get(PRE_COOKIE) or None


def csrf_token(secret: str, anchor: str) -> str:
    return hmac.new(secret.encode(), anchor.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: str, request: Request, given: str | None) -> bool:
    anchor = form_anchor(request)
    if not anchor or not given:
        return False
    return hmac.compare_digest(csrf_token(secret, anchor), given)


def new_pre_session() -> str:
    return secrets.token_urlsafe(32)


def set_pre_session(response: Response, value: str, secure: bool) -> None:
    _cookie(response, PRE_COOKIE, value, secure)


def set_session(response: Response, value: str, secure: bool) -> None:
    _cookie(response, SESSION_COOKIE, value, secure)
    response.delete_cookie(PRE_COOKIE, path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
