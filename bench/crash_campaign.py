"""Crash campaign: `cpw decommission rehearse` killed at random instants, resumed until it ends.

    .venv/bin/python bench/crash_campaign.py --runs 150 [--seed 1] [--max-kills 6] [--workers 2]
        [--arrivals any|before-archive|none] [--minutes 30] [--workdir DIR] [--keep]

Each run copies one small deployment (`cpw deploy`, one authority at 1%) and rehearses it with
the real CLI in a subprocess, which is killed one to --max-kills times, each time in one of five
ways: SIGKILL after a random delay; SIGKILL at the Nth call of a random system call that writes
(write, pwrite64, fsync, rename, unlink: `strace -e inject=SYSCALL:signal=SIGKILL:when=N`;
strace comes with scripts/install-debian-packages.sh, and without it the campaign refuses to
start unless syscall is left out of --modes); Ctrl-C (SIGINT) or SIGTERM once the run has
journalled its start; or death on the spot (`--fault crash-after:STEP`, exit 3) once a random
step has passed its gate, which puts arrivals exactly between two steps (after the archive,
before destruction, say). After each kill the run is resumed (`--resume`), and the resume may
be killed in turn; the last resume is left to end. Between a kill and the resume a
child-protection hold or a subject access request may arrive, through the index's own API
(`--arrivals`: at any time before destruction starts, only before the archive step has run, or
never).

Invariants checked after every attempt (a breach is a violation, printed with its run and seed):
- no `cpw: internal error` and no traceback;
- an attempt that ends by itself ends completed (exit 0, run.json "completed") or stopped (exit
  1 or 130, run.json "stopped" with the reason and the resume command, and one stderr line
  naming both);
- no certificate while any file remains under the deployment;
- once destruction has begun, the archive holds every child under a hold or with a pending
  request as they stood when destruction began (read back with the custodian's key);
and after each run: it ends completed, `cpw decommission verify` passes with the deployment, and
no canary or sampled identifier is left under the deployment. Seeded and reproducible: run N of
seed S draws its kills from random.Random(f"{S}-{N}"); the same seed draws the same kills
(where a delay-based kill lands depends on the machine's speed).
"""

import argparse
import collections
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pyrage
from cryptography.exceptions import InvalidTag

from decommission import journal
from decommission.archive import HELD_FILE as MAIN_HELD
from decommission.archive import SUPPLEMENT_KEYS, held_children, unseal
from decommission.coverage import PARTS_FILE
from decommission.custody import WRAPPED_FILE as MAIN_KEYS
from decommission.inventory import load_inventory
from decommission.probes import sample_identifiers
from decommission.runbook import load_runbook
from decommission.scan import scan_tree
from decommission.verification import (
    canaries_path,
    canary_needles,
    identifier_needles,
    load_canaries,
)
from sim import cli
from sim.deployment.deploy import deploy
from sim.index.layout import Layout
from sim.index.retention import export_holds, place_protection_hold
from sim.index.sar import export_requests, receive_request
from sim.index.service import ContactPoint
from sim.population.output import write_population
from sim.population.synth import SynthRequest

CPW = [sys.executable, "-m", "sim.cli"]
ROOT = Path(__file__).resolve().parents[1]
SYSCALLS = {"write": 170, "pwrite64": 420, "fsync": 150, "rename": 45, "unlink": 35}
"""System calls a kill can strike at, each with about how many a whole rehearsal makes."""
MODES = ("delay", "syscall", "sigint", "sigterm", "step")
KILLS = {"delay": signal.SIGKILL, "sigint": signal.SIGINT, "sigterm": signal.SIGTERM}
ARRIVAL_DAY = dt.date(2010, 8, 4)
"""Holds and requests arrive on the eve of the switch-off (the runbook's 5 August 2010)."""
ATTEMPT_LIMIT = 180.0
"""Seconds an attempt may take before it counts as hung (a violation); none takes 20."""


@dataclass
class Tally:
    runs: int = 0
    attempts: int = 0
    crashes: int = 0
    modes: collections.Counter = field(default_factory=collections.Counter)
    arrivals: int = 0
    completed: int = 0
    violations: list[str] = field(default_factory=list)

    def merge(self, other: "Tally") -> None:
        self.runs += other.runs
        self.attempts += other.attempts
        self.crashes += other.crashes
        self.modes.update(other.modes)
        self.arrivals += other.arrivals
        self.completed += other.completed
        self.violations += other.violations


@dataclass(frozen=True)
class Attempt:
    mode: str | None
    returncode: int
    stderr: str
    killed: bool


def build_template(root: Path) -> Path:
    """One small deployment (a real `cpw deploy`), copied for every run."""
    deployment = root / "template" / "dep"
    if not (deployment / "inventory.toml").is_file():
        write_population(SynthRequest(1, 0.01, ("E08000001",)), root / "template" / "population")
        deploy(root / "template" / "population", deployment, canaries=5, profile="simulation")
    return deployment


def copy_deployment(template: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copytree(template, target / template.name)
    for beside in template.parent.glob(f"{template.name}.*"):
        if not beside.name.endswith(".lock"):
            shutil.copy2(beside, target / beside.name)
    return target / template.name


def attempt(command: list[str], mode: str | None, rng: random.Random, evidence: Path) -> Attempt:
    """Run one attempt of `cpw ...` (`command` without `cpw`); kill it as `mode` says (None: let
    it end). A strace-injected kill runs the CLI in a new interpreter under strace; the others
    run it in a process forked from this one, which has imported the CLI already (the same code
    in a process of its own, without a second of imports per attempt)."""
    started = len(journal.read(evidence / journal.JOURNAL_FILE))
    if mode == "step":  # dies on the spot once a random step still to run has passed its gate
        events = journal.read(evidence / journal.JOURNAL_FILE)
        passed = {event["step"] for event in journal.passed(events)}
        steps = [entry.id for entry in load_runbook().steps if entry.id not in passed]
        command = [*command, "--fault", f"crash-after:{rng.choice(steps or ['certify'])}"]
    if mode == "syscall":
        call = rng.choice(sorted(SYSCALLS))
        inject = f"inject={call}:signal=SIGKILL:when={rng.randint(1, SYSCALLS[call])}"
        process: Forked | subprocess.Popen = subprocess.Popen(
            ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={call}", "-e", inject,
             "--", *CPW, *command],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=_here(),
        )  # fmt: skip
    else:
        process = Forked(command)
    deadline = time.monotonic() + ATTEMPT_LIMIT
    if mode == "delay" and rng.random() < 0.25:  # while it starts: checks, logins, sampling
        _wait(process, rng.uniform(0.0, 0.6))
        _signal(process, signal.SIGKILL)
    elif mode in ("delay", "sigint", "sigterm"):
        while process.poll() is None and time.monotonic() < deadline:
            if len(journal.read(evidence / journal.JOURNAL_FILE)) > started:
                break  # the run has begun (and its signal handlers are installed)
            time.sleep(0.002)
        _wait(process, rng.uniform(0.0, 0.5))
        _signal(process, KILLS[mode])
    try:
        _, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        return Attempt(mode, -999, "hung", True)
    code = process.returncode
    killed = code in (-signal.SIGKILL, 128 + signal.SIGKILL) or (mode == "step" and code == 3)
    return Attempt(mode, code, stderr.decode(errors="replace"), killed)


class Forked:
    """`cpw ARGS` in a forked child (stdout discarded, stderr kept), with Popen's interface."""

    def __init__(self, args: list[str], output: bool = False) -> None:
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by communicate)
        self.returncode: int | None = None
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 1
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(self.errors.fileno() if output else null, 1)
                os.dup2(self.errors.fileno(), 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the child's own stdout,
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115  whoever wrapped ours)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                sys.argv = ["cpw", *args]
                try:
                    cli.main()
                    code = 0
                except SystemExit as done:
                    code = done.code if isinstance(done.code, int) else int(done.code is not None)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int:
        end = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > end:
                raise subprocess.TimeoutExpired(["cpw"], timeout)
            time.sleep(0.002)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float) -> tuple[None, bytes]:
        self.wait(timeout)
        self.errors.seek(0)
        content = self.errors.read()
        self.errors.close()
        return None, content


def _wait(process: "Forked | subprocess.Popen", seconds: float) -> None:
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=seconds)


def _signal(process: "Forked | subprocess.Popen", number: int) -> None:
    if process.poll() is None:
        process.send_signal(number)


def destruction_begun(evidence: Path) -> bool:
    events = journal.read(evidence / journal.JOURNAL_FILE)
    return any(e.get("event") == "start" and e.get("step") == "destroy" for e in events)


def archived_children(evidence: Path, custodian: pyrage.x25519.Identity) -> set[str] | None:
    """Child IDs in the archive's held records: the first part and every supplementary part
    recorded (decommission.coverage), each part's keys opened with the custodian's age identity
    through pyrage itself (None: no part can be read)."""
    bag = evidence / "archive"
    parts = [(MAIN_KEYS, MAIN_HELD)]
    try:
        recorded = json.loads((evidence / PARTS_FILE).read_text())["parts"]
    except (OSError, ValueError):
        recorded = []
    for part in recorded:
        if part.get("file"):  # a part "too late" to keep anything archives nothing
            number = part["number"]
            parts.append((SUPPLEMENT_KEYS.format(number=number), part["file"]))
    children: set[str] | None = None
    for keys_name, held_name in parts:
        try:
            keys = json.loads(pyrage.decrypt((bag / keys_name).read_bytes(), [custodian]))
            sealed = (bag / held_name).read_bytes()
            records = json.loads(unseal(bytes.fromhex(keys["holds"]), sealed, held_name))
        except (OSError, ValueError, KeyError, InvalidTag, pyrage.DecryptError):
            continue
        children = (children or set()) | set(records["child_ids"])
    return children


def arrive(deployment: Path, rng: random.Random, held: set[str]) -> str | None:
    """A hold or a pending request for a child not yet held, through the index's API; the
    deployment's holds and requests files are re-exported as the index does."""
    layout = Layout(deployment)
    with closing(sqlite3.connect(f"file:{layout.index}?mode=ro", uri=True)) as db:
        children = sorted({row[0] for row in db.execute("SELECT child_id FROM child")} - held)
    if not children:
        return None
    child = rng.choice(children)
    with ContactPoint.open(deployment) as service:
        at = dt.datetime.combine(ARRIVAL_DAY, dt.time(9, 0))
        if rng.random() < 0.5:
            event = place_protection_hold(service.store, child, "s47 enquiry", actor="system",
                                          at=at)  # fmt: skip
            service.audit.append(event)
            export_holds(service.store, layout.holds)
        else:
            outcome = receive_request(service.store, child, "parent", ARRIVAL_DAY, actor="system",
                                      at=at)  # fmt: skip
            service.audit.append(outcome.event)
            export_requests(service.store, layout.sar, ARRIVAL_DAY)
    return child


def check_attempt(result: Attempt, deployment: Path, evidence: Path) -> list[str]:
    problems = []
    if "internal error" in result.stderr or "Traceback" in result.stderr:
        problems.append(f"internal error: {' | '.join(result.stderr.strip().splitlines())}")
    if result.returncode == -999:
        problems.append("the attempt hung")
    run = _run_record(evidence)
    if not result.killed and result.returncode != -999:
        status = run.get("status")
        if result.returncode == 0 and status != "completed":
            problems.append(f"exit 0 but run.json says {status}")
        elif result.returncode in (1, 130):
            lines = [line for line in result.stderr.splitlines() if "resume with:" in line]
            if status != "stopped" or not run.get("resume_with") or not run.get("reason"):
                problems.append(f"exit {result.returncode} but run.json says {status}")
            if not lines:
                problems.append(f"exit {result.returncode} without a resume command on stderr")
        elif result.returncode != 0:
            problems.append(f"exit {result.returncode}: {result.stderr.strip()[-200:]}")
    if result.mode == "step" and result.killed and "resume with:" not in result.stderr:
        problems.append("died on a step without printing the resume command")
    certificates = evidence / "certificates"
    if certificates.is_dir() and any(certificates.iterdir()):
        left = [p for p in deployment.rglob("*") if p.is_file()]
        if left:
            problems.append(f"certificates while {len(left)} file(s) remain, e.g. {left[0]}")
    return problems


def _run_record(evidence: Path) -> dict:
    try:
        return json.loads((evidence / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def one_run(number: int, seed: int, options: argparse.Namespace, work: Path, tally: Tally,
            template: Path, baseline: set[str], needles: list) -> None:  # fmt: skip
    rng = random.Random(f"{seed}-{number}")
    root = work / f"run-{number:04d}"
    deployment = copy_deployment(template, root)
    evidence = root / "evidence"
    custodian = pyrage.x25519.Identity.generate()  # the custodian's age identity, this run's
    command = ["decommission", "rehearse", str(deployment), "--out", str(evidence),
               "--custodian-key", str(custodian.to_public())]  # fmt: skip
    modes = options.modes.split(",")
    kills, held, resume = rng.randint(1, options.max_kills), set(baseline), False
    label = f"run {number} (seed {seed})"
    for number_of in range(kills + 2):
        mode = rng.choice(modes) if number_of < kills else None
        resume = resume and evidence.is_dir()  # as the refusal says: never begun, start it
        result = attempt(command + (["--resume"] if resume else []), mode, rng, evidence)
        tally.attempts += 1
        tally.crashes += result.killed or (mode in ("sigint", "sigterm") and result.returncode != 0)
        tally.modes[mode or "none"] += 1
        problems = check_attempt(result, deployment, evidence)
        if destruction_begun(evidence):
            archived = archived_children(evidence, custodian)
            lost = held - (archived or set())
            if lost:
                problems.append(f"destruction began with {len(lost)} held child(ren) not archived")
        tally.violations += [f"{label}, attempt {number_of + 1} ({mode}): {p}" for p in problems]
        resume = True
        if mode is None and result.returncode == 0:
            break
        if mode and _arrival_allowed(options.arrivals, evidence) and rng.random() < 0.8:
            child = arrive(deployment, rng, held)
            if child:
                held.add(child)
                tally.arrivals += 1
    run = _run_record(evidence)
    tally.runs += 1
    if run.get("status") != "completed":
        tally.violations.append(f"{label}: ended {run.get('status')}: {run.get('reason')}")
        return
    tally.completed += 1
    key = f"{evidence}.custodian-record.json"  # the key pinned before the run, outside it
    verify = Forked(["decommission", "verify", str(evidence), "--public-key", key,
                     "--deployment", str(deployment)], output=True)  # fmt: skip
    _, said = verify.communicate(ATTEMPT_LIMIT)
    if verify.returncode != 0:
        tally.violations.append(f"{label}: verify fails: {said.decode().strip()[:300]}")
    if deployment.exists() and scan_tree(deployment, needles).hits:
        tally.violations.append(f"{label}: identifiers left under the deployment")
    if not options.keep:
        shutil.rmtree(root)


def _arrival_allowed(arrivals: str, evidence: Path) -> bool:
    if arrivals == "none" or destruction_begun(evidence):
        return False
    if arrivals == "before-archive":
        started = journal.read(evidence / journal.JOURNAL_FILE)
        return not any(e.get("step") == "archive" for e in started)
    return True


def check_modes(modes: str) -> None:
    """Every way to die asked for can be used: an unknown mode, or system-call kills without
    strace, stop the campaign at once (never skipped in silence)."""
    unknown = sorted(set(modes.split(",")) - set(MODES))
    if unknown:
        raise SystemExit(f"crash_campaign: --modes: unknown {', '.join(unknown)}")
    if "syscall" in modes.split(",") and not shutil.which("strace"):
        raise SystemExit(
            "crash_campaign: system-call kills need strace (scripts/install-debian-packages.sh "
            "installs it), or leave syscall out of --modes"
        )


def campaign(options: argparse.Namespace) -> Tally:
    check_modes(options.modes)
    scratch = "/dev/shm" if Path("/dev/shm").is_dir() else None  # fsync is free on tmpfs
    work = Path(options.workdir or tempfile.mkdtemp(prefix="crash-campaign-", dir=scratch))
    work.mkdir(parents=True, exist_ok=True)
    template = build_template(work)
    baseline = set(held_children(template, load_inventory(template))[0])
    canaries = load_canaries(canaries_path(template))
    needles = canary_needles(canaries) + identifier_needles(sample_identifiers(template, 20))
    tally, started = Tally(), time.monotonic()
    for number in range(options.first, options.first + options.runs):
        if time.monotonic() - started > options.minutes * 60:
            print(f"time budget of {options.minutes} min spent after {tally.runs} runs")
            break
        one_run(number, options.seed, options, work, tally, template, baseline, needles)
        if options.progress:
            print(f"runs {tally.runs}: {tally.crashes} crashes, "
                  f"{len(tally.violations)} violations", flush=True)  # fmt: skip
    if not options.workdir and not options.keep:
        shutil.rmtree(work)
    return tally


def _here() -> dict[str, str]:
    """The environment for a new interpreter that must run this checkout's code."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def side_by_side(options: argparse.Namespace) -> Tally:
    """--workers N: N copies of this script, each with its share of the runs (same seed, so the
    same runs as one process would make), their tallies merged."""
    share = -(-options.runs // options.workers)
    children = []
    for worker in range(options.workers):
        first = options.first + worker * share
        runs = min(share, options.first + options.runs - first)
        if runs <= 0:
            break
        argv = [sys.executable, __file__, "--runs", str(runs), "--first", str(first),
                "--seed", str(options.seed), "--max-kills", str(options.max_kills),
                "--arrivals", options.arrivals, "--minutes", str(options.minutes),
                "--modes", options.modes,
                "--json"]  # fmt: skip
        children.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=_here()))
    tally = Tally()
    for child in children:
        output, _ = child.communicate()
        part = json.loads(output.strip().splitlines()[-1])
        part["modes"] = collections.Counter(part["modes"])
        tally.merge(Tally(**part))
    return tally


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="number of the first run (replay)")
    parser.add_argument("--max-kills", type=int, default=6)
    parser.add_argument("--modes", default=",".join(MODES), help="ways to die, comma-separated")
    parser.add_argument("--arrivals", choices=("any", "before-archive", "none"), default="any")
    parser.add_argument("--minutes", type=float, default=60.0, help="stop starting runs after")
    parser.add_argument("--workdir", help="keep the template here (default: a temporary dir)")
    parser.add_argument("--workers", type=int, default=1, help="runs side by side")
    parser.add_argument("--keep", action="store_true", help="keep every run's directories")
    parser.add_argument("--json", action="store_true", help="print the tally as one JSON line")
    parser.add_argument("--progress", action="store_true", help="one line per run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    check_modes(options.modes)
    began = time.monotonic()
    tally = side_by_side(options) if options.workers > 1 else campaign(options)
    if options.json:
        fields = {f.name: getattr(tally, f.name) for f in dataclasses.fields(tally)}
        print(json.dumps({**fields, "modes": dict(tally.modes)}))
        return 0
    print(f"runs {tally.runs}, attempts {tally.attempts}, crashes {tally.crashes} "
          f"({', '.join(f'{m} {n}' for m, n in sorted(tally.modes.items()))}), "
          f"arrivals {tally.arrivals}, completed {tally.completed}, "
          f"violations {len(tally.violations)}; {time.monotonic() - began:.0f} s")  # fmt: skip
    for violation in tally.violations:
        print(f"VIOLATION {violation}")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
