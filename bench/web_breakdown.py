"""Where an audited search's server CPU goes: each part timed in process.

Used by bench_web.py beside its HTTP figures. Every part is measured on the same deployment as
the load, with practitioners of its own (inside the usage guard's limits), by CPU time rather
than wall time so that other jobs on a shared machine inflate it less:

- the facade's parts as one search alone meets them (ContactPoint.checked_search): the session
  check and the usage guard in one accounts-database transaction (the session read and its idle
  clock written, two reads and the counted use), the data core's search, and the write-ahead
  audit append (the liveness read under the log's lock, the entry hashed and written);
- the whole facade as `cpw serve` calls it, a worker's queued searches in one batch
  (ContactPoint.search_many: one transaction, one audit write), a search's share, in batches of
  one search from each client a worker serves (the most it can hold; a real batch is smaller);
- the web's parts: the form parsed and its CSRF token checked, the search page rendered (Jinja2),
  and one trip to a facade thread and back (once a batch).

The rest of bench_web's server CPU per search under load (uvicorn's HTTP and socket writes, the
middleware (search and view skip FastAPI's routing: sim.web.app.DirectRoutes), threads handing
over the GIL, waits under contention, and each part's cost inside a real request beyond its own
tight loop, whose caches stay warm) is printed by difference. The whole request timed in process
one at a time is no guide: alone, every request pays a sleeping
thread's wake-up that concurrent requests share.
"""

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from sim.index.access import token_code
from sim.index.access.usage import surname_key
from sim.index.audit import load_monitoring_rules
from sim.index.search import parse_query, search
from sim.index.service import ContactPoint, SearchRequest
from sim.web import security
from sim.web.app import create_app
from sim.web.load import Practitioner, enrol_practitioners
from sim.web.pages_practitioner import results_page
from sim.web.settings import ServeOptions

TRIP = "trip to a facade thread and back"
STEP = 10  # simulated seconds between one practitioner's searches (6 a minute, under the limit)


def _logins(service: ContactPoint, users: tuple[Practitioner, ...], at: dt.datetime) -> list[str]:
    rules = service.access.rules
    return [
        service.login(u.username, u.password, u.pin, token_code(u.token_secret, at, rules),
                      network="GCSx", now=at)
        for u in users
    ]  # fmt: skip


def _query(users: tuple[Practitioner, ...], n: int) -> tuple[int, str, str]:
    user = n % len(users)
    surname, born = users[user].queries[(n // len(users)) % len(users[user].queries)]
    return user, surname, born


class _Clock:
    """CPU seconds (this thread) per named part, summed."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}

    def time(self, name: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        begun = time.thread_time()
        try:
            return call(*args, **kwargs)
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.thread_time() - begun


def _admitted(service: ContactPoint, session_id: str, now: dt.datetime, surname: str | None):
    """The session checked and the search counted in one transaction, as checked_search does."""
    guard = service.guard
    with guard.counters.counting() as usage:
        who, ended = service.access.check_session(session_id, now)
        assert ended is None, ended
        refusal = guard.admit(usage, who.username, "search", now, surname_key(surname), None)
        assert refusal is None, refusal
    return who


def _facade_parts(
    deployment: Path, users: tuple[Practitioner, ...], at: dt.datetime, count: int
) -> dict[str, float]:
    clock = _Clock()
    with ContactPoint.open(deployment, profile="simulation") as service:
        sessions = _logins(service, users, at)
        for n in range(count):
            user, surname, born = _query(users, n)
            session_id = sessions[user]
            now = at + dt.timedelta(seconds=STEP * (n // len(users)) + 1)
            query = parse_query({"surname": surname, "date_of_birth": born, "mode": "exact"})
            who = clock.time("session check + usage guard (transaction)", _admitted, service,
                             session_id, now, query.surname)  # fmt: skip
            result = clock.time("data core search", search, service.store, query)
            clock.time("audit append (write-ahead)", service.core.record, now, who, "search",
                       None, surname=query.surname, **result.audit_detail())  # fmt: skip
    return {name: seconds / count for name, seconds in clock.parts.items()}


def _batched_facade(
    deployment: Path, users: tuple[Practitioner, ...], at: dt.datetime, count: int, size: int
) -> float:
    """CPU seconds per search of the whole facade (ContactPoint.search_many) in batches of
    `size` searches, each of another practitioner: what `cpw serve` answers a worker's queued
    searches with (sim.web.gateway)."""
    with ContactPoint.open(deployment, profile="simulation") as service:
        sessions = _logins(service, users, at)
        requests = []
        for n in range(count):
            user, surname, born = _query(users, n)
            now = at + dt.timedelta(seconds=STEP * (n // len(users)) + 1)
            query = {"surname": surname, "date_of_birth": born, "mode": "exact"}
            requests.append(SearchRequest(sessions[user], query, now))
        begun = time.thread_time()
        for first in range(0, count, size):
            answers = service.search_many(requests[first : first + size])
            assert all(answer.refused is None for answer in answers)
        return (time.thread_time() - begun) / count


def _scope(session_id: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/search", "raw_path": b"/search", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"cp_session={session_id}".encode()),
                    (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip


async def _web_parts(
    deployment: Path, users: tuple[Practitioner, ...], at: dt.datetime, count: int
) -> dict[str, float]:
    """The web's own parts of a search, each in a loop of `count`."""
    options = ServeOptions(deployment=str(deployment), start=at.isoformat(), origin=time.time(),
                           secret=secrets.token_hex(32), profile="simulation")  # fmt: skip
    app = create_app(options)
    parts: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        web = app.state.web
        sessions = await web.facade.call(lambda service: _logins(service, users, at))
        _, surname, born = _query(users, 0)
        session_id = sessions[0]
        token = security.csrf_token(options.secret, session_id)
        body = urlencode({"csrf_token": token, "surname": surname, "date_of_birth": born}).encode()
        now = web.now()

        async def receive_form() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        begun = time.process_time()
        for _ in range(count):
            request = Request(_scope(session_id, body), receive_form)
            form = await request.form()
            security.csrf_ok(options.secret, request, form.get("csrf_token"))
        parts["form parsed, CSRF checked"] = (time.process_time() - begun) / count

        def searched(service: ContactPoint) -> tuple[Any, Any]:
            query = {"surname": surname, "date_of_birth": born}
            return service.checked_search(session_id, query | {"mode": "exact"}, now=now)

        who, result = await web.facade.call(searched)
        request = Request({**_scope(session_id, body), "app": app})
        shown = {"surname": surname, "date_of_birth": born}
        begun = time.process_time()
        for _ in range(count):
            await results_page(web, request, now, who, result, shown)
        parts["search page rendered"] = (time.process_time() - begun) / count
        begun = time.process_time()
        for _ in range(count):
            await web.facade.call(lambda service: None)
        parts[TRIP] = (time.process_time() - begun) / count
    return parts


@dataclass(frozen=True)
class Breakdown:
    """CPU seconds per search of each part (see the module's docstring)."""

    alone: dict[str, float]  # the facade's parts, one search at a time
    batch: int  # the searches a batch holds
    batched: float  # the whole facade in batches of `batch`, per search
    web: dict[str, float]  # the web's parts; the trip to the facade thread once per batch


def breakdown(
    deployment: Path,
    make_users: Callable[[int, str, dt.datetime], tuple[Practitioner, ...]],
    at: dt.datetime,
    count: int,
    batch: int,
) -> Breakdown:
    """Each part (see the module's docstring); `make_users(n, prefix, at)` enrols n
    practitioners vetted by `at`."""
    per_user = load_monitoring_rules().searches_per_day.value // 2  # well inside a day's limit
    n_users = max(batch, -(-count // per_user))
    alone = _facade_parts(deployment, make_users(n_users, "partsf", at), at, count)
    later = at + dt.timedelta(minutes=30)
    batched = _batched_facade(deployment, make_users(n_users, "partsb", later), later, count,
                              batch)  # fmt: skip
    later = at + dt.timedelta(hours=1)
    web = asyncio.run(_web_parts(deployment, make_users(1, "partsw", later), later, count))
    return Breakdown(alone, batch, batched, web)


def print_breakdown(parts: Breakdown, http_ms: float) -> None:
    """The parts in microseconds, and the rest of the server's CPU per search by difference."""
    print("where a search's server CPU goes: each part timed in process (CPU us)")
    print("  the facade, one search at a time:")
    for name, seconds in parts.alone.items():
        print(f"    {name:44}{seconds * 1e6:8.0f}")
    label = f"the facade in batches of {parts.batch}, a search's share"
    print(f"  {label:46}{parts.batched * 1e6:8.0f}")
    served = parts.batched
    for name, seconds in parts.web.items():
        if name == TRIP:
            seconds /= parts.batch
            name = f"{name}, / {parts.batch}"
        print(f"  {name:46}{seconds * 1e6:8.0f}")
        served += seconds
    rest = http_ms * 1000 - served * 1e6
    print(f"  {'the rest (uvicorn, middleware, threads, waits)':46}{rest:8.0f}")
    print(f"  {'= server CPU per search under load (above)':46}{http_ms * 1000:8.0f}")


def enroller(deployment: Path, authority: str, queries: list[tuple[str, str]]):
    """`make_users` for `breakdown`: practitioners of `authority` looking for `queries`."""

    def make(count: int, prefix: str, at: dt.datetime) -> tuple[Practitioner, ...]:
        return enrol_practitioners(deployment, count, authority, queries, at, prefix=prefix)

    return make
