"""A bounded HTTP load client: practitioners log in with four factors and search, concurrently.

Loopback only, bounded by request count and time. Each practitioner stays inside the usage
guard's limits (data/index/monitoring.toml: searches per minute and per day, distinct surnames
in the window), as real users would, so every answer should be an allowed, audited search;
anything else is counted as a refusal or an error. Time on the server is the simulation clock:
the client reads it from the page (shown on every page) to compute token codes, and paces each
account by wall time converted at the server's clock rate.

Two ways to load the server. Closed loop (`LoadPlan.rate` None): each client sends its next
search as soon as the last is answered, so the count answered is the server's capacity, and by
Little's law each search waits about concurrency / throughput. Paced (an offered `rate` of
searches a second, spread evenly over the clients, as practitioners at work would send them):
the latency shown is what a practitioner sees at that load, timed from the moment the search was
due, so a server that falls behind shows its queue in the latencies instead of slowing the load.
"""

import asyncio
import datetime as dt
import ipaddress
import itertools
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from sim.index.access import NewAccount, load_access_rules, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.audit import load_monitoring_rules
from sim.index.service import ContactPoint
from sim.web.load_channel import Channel

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
CLOCK = re.compile(r'id="clock" data-iso="([^"]+)"')
ANSWERED = b'id="matched"'
MESSAGE = re.compile(r'id="message" role="status">([^<]*)<')
MARGIN_SIM_SECONDS = 2.0  # the server's clock reads whole seconds


@dataclass(frozen=True)
class Practitioner:
    username: str
    password: str
    pin: str
    token_secret: str
    queries: tuple[tuple[str, str], ...]  # (surname, date of birth) this user looks for


@dataclass(frozen=True)
class LoadPlan:
    url: str
    practitioners: tuple[Practitioner, ...]
    concurrency: int = 50
    seconds: float = 3.0
    max_requests: int = 100_000
    clock_rate: float = 1.0
    rate: float | None = None  # offered searches a second over all clients; None: closed loop


@dataclass
class LoadReport:
    answered: Counter = field(default_factory=Counter)  # username -> searches answered (200)
    refused: Counter = field(default_factory=Counter)  # username -> refusals shown
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, answered searches only
    # (closed loop: from sending; paced: from when the search was due)
    seconds: float = 0.0
    searching: bool = False  # every practitioner has logged in

    @property
    def total(self) -> int:
        return sum(self.answered.values())


class _Account:
    """One logged-in practitioner: cookie, form token and the times of recent searches."""

    def __init__(self, who: Practitioner, limit: int) -> None:
        self.who = who
        self.session = ""
        self.cookie = ""  # the Cookie header's value
        self.csrf = ""
        self.recent: deque[float] = deque(maxlen=limit)
        self.turn = 0


def _loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        raise ValueError(f"{url}: the load client runs against loopback only")


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return ""


async def _login(client: httpx.AsyncClient, account: _Account, rate: float) -> None:
    page = await client.get("login")
    pre = _cookie(page, "cp_pre")
    clock = dt.datetime.fromisoformat(CLOCK.search(page.text).group(1))
    read = time.monotonic()
    csrf = CSRF.search(page.text).group(1)
    now = clock + dt.timedelta(seconds=(time.monotonic() - read) * rate)
    who = account.who
    code = token_code(who.token_secret, now, load_access_rules())
    form = {"csrf_token": csrf, "username": who.username, "password": who.password,
            "pin": who.pin, "token_code": code}  # fmt: skip
    answer = await client.post("login", data=form, headers={"Cookie": f"cp_pre={pre}"})
    account.session = _cookie(answer, "cp_session")
    if answer.status_code != 303 or not account.session:
        shown = MESSAGE.search(answer.text)
        raise RuntimeError(f"login of {who.username} refused ({answer.status_code}): "
                           f"{shown.group(1) if shown else answer.text[:200]}")  # fmt: skip
    search = await client.get("search", headers={"Cookie": f"cp_session={account.session}"})
    found = CSRF.search(search.text) if search.status_code == 200 else None
    if found is None:
        shown = MESSAGE.search(search.text)
        raise RuntimeError(f"{who.username}: search page refused ({search.status_code}): "
                           f"{shown.group(1) if shown else search.text[:200]}")  # fmt: skip
    account.csrf = found.group(1)
    account.cookie = f"cp_session={account.session}"
    client.cookies.clear()


def _ready(account: _Account, window: float, now: float) -> bool:
    recent = account.recent
    return len(recent) < (recent.maxlen or 0) or now - recent[0] >= window


async def _worker(
    url: str,
    accounts: list[_Account],
    report: LoadReport,
    budget: list[int],
    window: float,
    deadline: float,
    due: Iterator[float] | None,
) -> None:
    """One client's searches: as fast as answered, or at the moments `due` gives (paced)."""
    turn = 0
    channel: Channel | None = None
    slot: float | None = None  # paced: when the next search is due
    try:
        while time.monotonic() < deadline and budget[0] > 0:
            if due is not None:
                slot = next(due) if slot is None else slot
                if slot >= deadline:
                    break
                if slot > time.monotonic():
                    await asyncio.sleep(slot - time.monotonic())
            now = time.monotonic()
            ready = [a for a in accounts if _ready(a, window, now)]
            if not ready:  # a paced search stays due: its lateness is in its latency
                await asyncio.sleep(0.02)
                continue
            account = ready[turn % len(ready)]
            turn += 1
            budget[0] -= 1
            surname, born = account.who.queries[account.turn % len(account.who.queries)]
            account.turn += 1
            form = {"csrf_token": account.csrf, "surname": surname, "date_of_birth": born}
            started, slot = slot if slot is not None else time.monotonic(), None
            try:
                if channel is None or not channel.open_now:  # first, or closed while idle
                    channel = await Channel.open(url)
                status, body = await channel.post("/search", form, account.cookie)
            except OSError as error:  # ChannelClosed included: the server has gone
                report.errors.append(f"{account.who.username}: {type(error).__name__}")
                return
            account.recent.append(time.monotonic())
            if status == 200 and ANSWERED in body:
                report.answered[account.who.username] += 1
                report.latencies.append(time.monotonic() - started)
            elif status == 403:
                report.refused[account.who.username] += 1
            else:
                report.errors.append(f"{account.who.username}: HTTP {status}")
    finally:
        if channel is not None:
            channel.close()


async def run_load(
    plan: LoadPlan,
    report: LoadReport | None = None,
    on_searching: Callable[[], None] | None = None,
) -> LoadReport:
    """Log every practitioner in, then search from `concurrency` clients until time or count
    runs out; a transport error ends that client (the server has gone). `report` is filled as
    answers arrive, so another thread may watch it; `on_searching` is called once every
    practitioner has logged in."""
    _loopback(plan.url)
    rules = load_monitoring_rules()
    window = (60 + MARGIN_SIM_SECONDS) / plan.clock_rate
    limit = rules.searches_per_minute.value
    accounts = [_Account(who, limit) for who in plan.practitioners]
    groups = [accounts[n :: plan.concurrency] for n in range(plan.concurrency)]
    report = report if report is not None else LoadReport()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=plan.url, limits=limits, timeout=30) for _ in groups]
    try:
        await asyncio.gather(
            *(
                _login_all(client, group, plan.clock_rate)
                for client, group in zip(clients, groups, strict=True)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    if on_searching is not None:
        on_searching()
    started = time.monotonic()
    report.searching = True
    budget = [plan.max_requests]
    deadline = started + plan.seconds
    clients = [group for group in groups if group]
    await asyncio.gather(
        *(
            _worker(plan.url, group, report, budget, window, deadline,
                    _schedule(started, n, len(clients), plan.rate) if plan.rate else None)
            for n, group in enumerate(clients)
        )
    )  # fmt: skip
    report.seconds = time.monotonic() - started
    return report


def _schedule(start: float, client: int, clients: int, rate: float) -> Iterator[float]:
    """When client `client` of `clients` sends each search, for `rate` a second over them all:
    every clients / rate seconds, the clients staggered evenly within that interval."""
    interval = clients / rate
    first = start + interval * client / clients
    return (first + interval * n for n in itertools.count())


async def _login_all(client: httpx.AsyncClient, group: list[_Account], rate: float) -> None:
    for account in group:
        await _login(client, account, rate)


PASSWORD, PIN = "load test passphrase", "2468"


def _letters(number: int) -> str:
    """A number spelt in letters (0 -> "A", 27 -> "Bb"): names hold letters only."""
    word = ""
    while True:
        number, digit = divmod(number, 26)
        word = chr(ord("a") + digit) + word
        if number == 0:
            return word.capitalize()


def enrol_practitioners(
    deployment: Path,
    count: int,
    authority: str,
    queries: list[tuple[str, str]],
    at: dt.datetime,
    per_user: int = 3,
    prefix: str = "load",
) -> tuple[Practitioner, ...]:
    """Open `count` vetted practitioner accounts with tokens, as the operator would with
    `cpw index user add` and `cpw index token issue` (simulation hashing: quick, UNSAFE for
    real use); each looks for `per_user` of the (surname, date of birth) `queries`."""
    made = []
    with ContactPoint.open(deployment, profile="simulation") as service:
        for n in range(count):
            name = f"{prefix}{n:04d}-{authority.lower()}"
            new = NewAccount(name, "Load", f"Tester-{_letters(n)}", "social care", authority,
                             "local_authority", authority, "practitioner")  # fmt: skip
            vetted = at.date() - dt.timedelta(days=30)
            service.add_user(new, PASSWORD, PIN, vetted_on=vetted, by=None, now=at)
            service.issue_token(name, by=None, now=at)
            secret = collect_letter(service.access.letters, name)  # the holder takes it
            mine = tuple(queries[(n * per_user + k) % len(queries)] for k in range(per_user))
            made.append(Practitioner(name, PASSWORD, PIN, secret, mine))
    return tuple(made)
