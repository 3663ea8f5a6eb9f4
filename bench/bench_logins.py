"""A day's logins in one call (ContactPoint.login_many): CPU per login beside its argon2 floor.

    .venv/bin/python bench/bench_logins.py [--accounts 240] [--days 100] [--workdir DIR]

Deploys a small population ('simulation' hashing, as a run's accounts), opens a working copy as a
run opens it (index, audit log and accounts database written without fsync), provisions
`--accounts` vetted practitioners with tokens, and makes each log in once a day for `--days`
days, a day's logins in one `login_many` call: every check and audit entry of a single login.
North West at scale 0.1 has 241 accounts; a run's accounts log in about 0.7 times a day each.

Prints the CPU time (this process's, less disturbed by other work than the clock) and wall time
per login, beside the floor measured in the same run: the two argon2 verifications (password,
PIN) a login makes, which the login keeps. No timed assertion: figures only.
"""

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim.deployment.deploy import deploy
from sim.index.access import AccessRefused, LoginAttempt
from sim.index.access.rules import load_access_rules
from sim.index.access.tokens import TokenCodes
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest
from sim.regimes.deployment import provision_practitioners, working_copy

BOLTON = "E08000001"
FLOOR_ROUNDS = 2000


def _floor(service: ContactPoint, who) -> float:
    """CPU seconds of the two argon2 verifications of one login, from this account's hashes."""
    account = service.access.account(who.username)
    hasher = PasswordHasher()
    started = time.process_time()
    for _ in range(FLOOR_ROUNDS):
        hasher.verify(account.password_hash, who.password)
        hasher.verify(account.pin_hash, who.pin)
    return (time.process_time() - started) / FLOOR_ROUNDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=240)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        write_population(SynthRequest(seed=1, scale=0.01, authority_codes=(BOLTON,)), root / "pop")
        deploy(root / "pop", root / "dep", profile="simulation", from_feeds=False)
        service = ContactPoint.open(working_copy(root / "dep", root / "copy"), profile="simulation")
        service.store.scratch()
        service.access.stores.accounts.scratch()
        service.audit.without_sync()  # as a run's working copy (sim.regimes.live)
        opened = dt.datetime(2010, 3, 1, 7)
        staff = provision_practitioners(service, {BOLTON: args.accounts}, opened)[BOLTON]
        rules = load_access_rules()
        tokens = {who.username: TokenCodes(who.token_secret, rules) for who in staff}
        days = []
        for day in range(args.days):
            start = opened + dt.timedelta(days=day + 1, hours=1)
            moments = [start + dt.timedelta(seconds=97 * k) for k in range(len(staff))]
            days.append([
                LoginAttempt(who.username, who.password, who.pin,
                             tokens[who.username].code(at), who.network, at)
                for who, at in zip(staff, moments, strict=True)
            ])  # fmt: skip
        refused = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for attempts in days:
            answers = service.login_many(attempts)
            refused += sum(isinstance(a, AccessRefused) for a in answers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        floor = _floor(service, staff[0])
        service.close()
    logins = sum(map(len, days))
    print(f"{logins:,} logins ({args.accounts} accounts x {args.days} days, {refused} refused)")
    print(f"per login: {cpu / logins * 1e6:.1f} us CPU, {wall / logins * 1e6:.1f} us wall; "
          f"its two argon2 verifications alone: {floor * 1e6:.1f} us CPU "
          f"({cpu / logins / floor:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
