"""Benchmark search and view through the ContactPoint facade, beside the data core and SQLite.

    .venv/bin/python bench/bench_index_service.py --scale 0.1    # England = 1.0 (~11 M children)

Each facade figure includes what a practitioner's request costs in service: the session check
(read from the deployment's accounts database, as every process shares it), the usage guard
(counters in the same database, one transaction), the work in the data core and the write-ahead
audit write (hash-chained, on disk before the answer, `audit_sync` in data/index/monitoring.toml,
with signed checkpoints by count and time). The audit append alone is timed too, in both sync
modes, on a log of its own. Beside them,
in the same run and on the same queries: the data core alone (bench_index.py's figures) and a
plain indexed SQLite lookup, so the cost of each layer of safeguards is visible. Targets at
England: search p50 <= 1 ms, p99 <= 10 ms with the write-ahead audit, view p50 <= 2 ms.

Users: the queries are spread over many practitioners, each well inside the usage guard's
limits, as a national service's load would be; accounts use the "simulation" hashing profile
(UNSAFE for real use) so thousands can be made quickly. Logins are not timed.
"""

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_index import _percentiles, _plain_baseline, _queries
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.index.access import AccessControl, NewAccount, token_code
from sim.index.access.enrolment import collect_letter
from sim.index.audit import AuditEvent, AuditLog, load_monitoring_rules
from sim.index.build import build_index
from sim.index.layout import Layout, audit_signing_key, token_key, write_keystore
from sim.index.search import search
from sim.index.service import ContactPoint
from sim.index.service_settings import profile_rules
from sim.index.store.backends import open_access, open_index
from sim.index.view import view_reasons, view_record
from sim.population.synth import SynthRequest, synthesise
from sim.reference.authorities import load_authorities
from sim.regimes.deployment import letters
from sim.streams import stream

START = dt.datetime(2010, 1, 5, 9, 0)
QUERIES_PER_USER = 5
PASSWORD, PIN = "benchmark passphrase", "2468"


def _users(service: ContactPoint, authorities: list[str], count: int) -> list[str]:
    """Vetted practitioners with tokens, logged in; returns their session ids."""
    sessions = []
    for n in range(count):
        code = authorities[n % len(authorities)]
        name = f"bench{n}"
        new = NewAccount(name, "Bench", f"User {letters(n + 1)}", "social care", code,
                         "local_authority", code, "practitioner")  # fmt: skip
        service.add_user(new, PASSWORD, PIN, vetted_on=dt.date(2009, 12, 1), by=None, now=START)
        sessions.append(_login(service, n, START))
    return sessions


def _login(service: ContactPoint, n: int, at: dt.datetime) -> str:
    """Practitioner `n` logs in (a fresh token is issued: its holder takes the letter)."""
    name = f"bench{n}"
    service.issue_token(name, by=None, now=at)
    secret = collect_letter(service.access.letters, name)
    token = token_code(secret, at, service.access.rules)
    return service.login(name, PASSWORD, PIN, token, network="GCSx", now=at)


def _time(call, *args, **kwargs) -> float:
    started = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - started


def _audit_appends(folder: Path, count: int) -> dict[str, list[float]]:
    """Seconds per append of a search-sized event, with each sync mode, on logs of their own."""
    timings = {}
    for mode in ("fdatasync", "write"):
        detail = {"mode": "exact", "fields": ["surname", "date_of_birth"], "matched": 1}
        key = Ed25519PrivateKey.generate()
        with AuditLog(folder / f"{mode}.jsonl", key, _with_sync(mode)) as log:
            timings[mode] = [
                _time(
                    log.append, AuditEvent(START, "bench", "search", "allowed", None, None, detail)
                )
                for _ in range(count)
            ]
    return timings


def _with_sync(mode: str):
    """The monitoring rules with `audit_sync` set to `mode` (fdatasync or write)."""
    base = load_monitoring_rules()
    return base.model_copy(
        update={"audit_sync": base.audit_sync.model_copy(update={"value": mode})}
    )


def _facade(layout: Layout, witness: Path, mode: str) -> ContactPoint:
    """The deployment's facade as ContactPoint.open makes it, its audit synced by `mode`."""
    audit = AuditLog(layout.audit, audit_signing_key(layout.keystore), _with_sync(mode),
                     witness=witness)  # fmt: skip
    rules = profile_rules("simulation")
    stores = open_access(layout.accounts, rules=rules, token_key=token_key(layout.keystore))
    access = AccessControl(stores, audit, rules=rules, letters=layout.beside("token-letters"))
    return ContactPoint(open_index(layout.index), access, audit)


def run(scale: float, queries: int, seed: int, workers: int) -> None:
    codes = tuple(a.code for a in load_authorities())
    tables = synthesise(SynthRequest(seed=seed, scale=scale, authority_codes=codes), workers)
    children = tables["children"]
    rng = stream(seed, "index", 0)
    picks = rng.choice(children.height, size=min(queries, children.height), replace=False)
    sample = (
        children[np.sort(picks)]
        .join(tables["households"].select("household_id", "postcode"), on="household_id")
        .sample(fraction=1.0, shuffle=True, seed=seed)
    )
    asked = _queries(sample, rng)
    reason = view_reasons()[0]
    default_sync = load_monitoring_rules().audit_sync.value
    with tempfile.TemporaryDirectory(prefix="cpw-bench-service-") as tmp:
        layout = Layout(Path(tmp) / "deployment")
        for path in (layout.index, layout.audit, layout.accounts, layout.keystore):
            path.parent.mkdir(parents=True)
        stats = build_index(tables, layout.index)
        write_keystore(layout.keystore, Ed25519PrivateKey.generate(), {}, os.urandom(32))
        service = ContactPoint.open(
            layout.root, profile="simulation", witness=Path(tmp) / "audit-witness"
        )
        users = max(1, len(asked) // QUERIES_PER_USER)
        sessions = _users(service, sorted(children["authority_code"].unique().to_list()), users)
        step = dt.timedelta(seconds=2)
        facade_search, facade_view, core_search, core_view = [], [], [], []
        for n, (query, child_id) in enumerate(zip(asked, sample["child_id"], strict=True)):
            session, now = sessions[n % users], START + dt.timedelta(minutes=1) + n * step
            mapping = query.model_dump(exclude_none=True)
            facade_search.append(_time(service.search, session, mapping, now=now))
            facade_view.append(_time(service.view, session, child_id, reason, now=now))
            core_search.append(_time(search, service.store, query))
            core_view.append(_time(view_record, service.store, child_id, reason))
        service.close()
        other = "write" if default_sync == "fdatasync" else "fdatasync"
        other_search = []
        with _facade(layout, Path(tmp) / "audit-witness", other) as again:
            later = START + dt.timedelta(hours=1)
            sessions = [_login(again, n, later) for n in range(users)]
            for n, query in enumerate(asked):
                session, now = sessions[n % users], later + dt.timedelta(minutes=1) + n * step
                mapping = query.model_dump(exclude_none=True)
                other_search.append(_time(again.search, session, mapping, now=now))
            entries = again.audit.entries
        audit_mb = layout.audit.stat().st_size / 1e6
        plain = _plain_baseline(children, sample, Path(tmp) / "plain.db")
        appends = _audit_appends(Path(tmp), min(len(asked), 1000))
    rows = [
        (f"search, facade ({default_sync}, default)", *_percentiles(facade_search)),
        (f"search, facade ({other})", *_percentiles(other_search)),
        ("search, data core", *_percentiles(core_search)),
        ("view, facade", *_percentiles(facade_view)),
        ("view, data core", *_percentiles(core_view)),
        ("plain indexed lookup", plain["p50"], plain["p99"]),
        ("audit append, fdatasync", *_percentiles(appends["fdatasync"])),
        ("audit append, write", *_percentiles(appends["write"])),
    ]
    print(f"ContactPoint facade benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"scale {scale}: {stats.children:,} children; index built in {stats.seconds:.1f} s")
    print(f"{len(asked)} searches and views by {users} practitioners; {entries:,} audit entries "
          f"({audit_mb:.1f} MB)")  # fmt: skip
    print(f"{'':34}{'p50 us':>10}{'p99 us':>10}{'p50 / plain':>13}")
    for label, p50, p99 in rows:
        print(f"{label:34}{p50:10.0f}{p99:10.0f}{p50 / plain['p50']:12.1f}x")
    s50, s99 = rows[0][1:]
    v50 = rows[3][1]
    print(f"targets at England: search p50 {s50 / 1000:.2f} ms (<= 1), p99 {s99 / 1000:.2f} ms "
          f"(<= 10), view p50 {v50 / 1000:.2f} ms (<= 2), with the default audit_sync = "
          f"{default_sync!r}")  # fmt: skip
    print(
        "audit_sync: 'write' (the default) has each entry in the file before the answer, so "
        "a kill -9 loses none; 'fdatasync' also survives a power cut, at one disk sync per "
        "answer (docs/index-design.md 12)"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end of the run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of England (1.0 = all)")
    parser.add_argument("--queries", type=int, default=2000, help="searches and views")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="processes for synthesis")
    args = parser.parse_args()
    run(args.scale, args.queries, args.seed, args.workers)


if __name__ == "__main__":
    main()
