"""The one door from the web layer to the facade: every call runs on the facade's own threads.

The event loop stays free to parse and render while the facade works. The facade is built for
threads (the accounts database's shared connection runs each statement under its lock,
sim.index.store.sqlite_connection; the audit log's group commit lets concurrent appends share one
write and sync). `cpw serve` gives each worker one (`--facade-threads`): with the audit log
written but not synced per answer (audit_sync = "write"), more threads only hand the GIL back and
forth around each SQLite statement (bench/bench_web.py: 1,036 searches/s with one, 876/s with
four, on a quiet machine); with fdatasync, several let appends share one sync.

Searches are answered in groups: a search joins every other search queued in the worker at that
moment (up to SEARCH_BATCH), and the facade's thread answers them together
(ContactPoint.search_many: one accounts transaction, one audit write, each search answered or
refused on its own, none before the write), then hands every answer back to the event loop in
one wake-up. With 50 concurrent clients each worker has many searches waiting, and the costs a
search paid on its own (a transaction, an audit write, two thread hand-overs) are shared.

Operator and management pages that have no facade method of their own (housekeeping, account
lists, audit verification) pass a gate here that checks the session through the facade and
audits a refusal exactly as the facade does, before any work is done.
"""

import asyncio
import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sim.errors import InputError
from sim.index.access import AccessRefused, Session
from sim.index.audit import AuditEvent
from sim.index.service import ContactPoint, SearchAnswer, SearchRequest

T = TypeVar("T")
SEARCH_BATCH = 64  # searches answered together at most: a bound on the first one's wait
Waiting = list[tuple[SearchRequest, "asyncio.Future[SearchAnswer]"]]


class Gateway:
    """One facade per worker process, used only from its own threads."""

    def __init__(self, deployment: Path, profile: str, threads: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="facade")
        self._service: ContactPoint = self._executor.submit(
            ContactPoint.open, Path(deployment), profile=profile
        ).result()
        self._lock = threading.Lock()  # guards the two below (the loop's and the facade's)
        self._searches: Waiting = []
        self._answering = False  # a batch of searches is queued on, or running on, the facade

    async def search(self, request: SearchRequest) -> SearchAnswer:
        """The search answered (or refused) with every search queued with it (module doc)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SearchAnswer] = loop.create_future()
        with self._lock:
            self._searches.append((request, future))
            start, self._answering = not self._answering, True
        if start:
            self._executor.submit(self._answer_searches, loop)
        return await future

    def _answer_searches(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the facade's thread: answer the searches queued now; another batch follows (after
        any other facade call submitted meanwhile) while more are waiting."""
        with self._lock:
            batch = self._searches[:SEARCH_BATCH]
            del self._searches[:SEARCH_BATCH]
        try:
            answers = self._service.search_many([request for request, _ in batch])
        except Exception as error:  # every waiting request gets it (a 500)
            loop.call_soon_threadsafe(_fail, batch, error)
        else:
            loop.call_soon_threadsafe(_deliver, batch, answers)
        finally:
            with self._lock:
                more = self._answering = bool(self._searches)
            if more:
                self._executor.submit(self._answer_searches, loop)

    async def call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `work(service, *args, **kwargs)` on the facade's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, partial(work, self._service, *args, **kwargs)
        )

    def close(self) -> None:
        self._executor.submit(self._service.close).result()
        self._executor.shutdown()


def _deliver(batch: Waiting, answers: list[SearchAnswer]) -> None:
    for (_, future), answer in zip(batch, answers, strict=True):
        if not future.done():  # a client gone meanwhile: its search is audited all the same
            future.set_result(answer)


def _fail(batch: Waiting, error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def administering_scope(service: ContactPoint, session: Session) -> str:
    """What a role administers (data/index/access.toml role_administers): none, authority, all."""
    return service.access.rules.role_administers.value[session.role]


def gate(
    service: ContactPoint, session_id: str, action: str, scopes: tuple[str, ...], now: dt.datetime
) -> Session:
    """The live session if its role administers one of `scopes`, else an audited refusal."""
    session = service.access.session(session_id, now=now)
    if administering_scope(service, session) not in scopes:
        detail = {"authority": session.authority_code}
        service.audit.append(
            AuditEvent(now, session.username, action, "refused", None, "not_permitted", detail)
        )
        raise AccessRefused("not_permitted")
    return session


OPERATOR = ("all",)
ADMINISTRATORS = ("authority", "all")


class InvalidField(InputError):
    """A form field the web layer could not hand to the facade (audited by `audit_invalid`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"refused: {field}: {message}")
        self.field = field


def audit_invalid(
    service: ContactPoint, actor: str, action: str, field: str, now: dt.datetime
) -> None:
    detail = {"field": field}
    service.audit.append(AuditEvent(now, actor, action, "refused", None, "invalid_field", detail))


def number_field(value: str, label: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidField(label, "give a number")
    return int(value)


def date_field(value: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidField(label, "give a date, YYYY-MM-DD") from None
