"""Faults a rehearsal can inject, each at a named point, to prove the gates hold.

A fault is a hook run before a step's `run`, between its `run` and `verify` ("after"), or once
its gate has passed ("end"). None of them touches the library's code paths: they change the
world (a probe that gets in, a corrupted archive file, a key copy left behind, an extract its
holder keeps, a full disk) or swap a step's tool, as a real failure would. Three are given per
step, `NAME:STEP`: `crash-after:STEP` (the process dies between STEP and the next),
`crash-during:STEP` (it dies with STEP done but not yet checked) and `disk-full:STEP` (the
evidence volume fills while STEP writes). Every fault but `unlisted-extract` must stop the run
(or kill it) with nothing destroyed before the archive validated and no certificate issued;
`unlisted-extract` must be found by the scan, destroyed and certified. After any of them a
resumed run without the fault completes, or stops again as safely (a kill at any instant
leaves a state a resume completes).
"""

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decommission.destruction import KeyNotErased
from decommission.runbook import load_runbook
from decommission.step import Context, Step
from decommission.verification import canaries_path, load_canaries
from sim.errors import InputError
from sim.postgres import server as pg
from sim.postgres.topology import Topology

DISK_ROOM = 256
"""Bytes left on the evidence volume once `disk-full:STEP` strikes: a few lines, then ENOSPC."""


class Crash(BaseException):
    """The process dies here. Not an Exception, so no step runner catches it: nothing after it
    runs and nothing is cleaned up, as with a killed process; only what was on disk remains."""


Hook = Callable[[Context, dict[str, Step]], None]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    step: str
    when: str  # "before" run, "after" run (before verify), or at the "end" (gate passed)
    hook: Hook
    stops_at: str | None  # the step whose gate stops the run; None: it completes, or a crash


def _probe_gets_in(ctx: Context, steps: dict[str, Step]) -> None:
    shutdown = steps["switch_off"]
    shutdown.probes = {**shutdown.probes, "login": lambda: "session-after-switch-off"}


def _corrupt_archive(ctx: Context, steps: dict[str, Step]) -> None:
    target = ctx.evidence / "archive/data/statistics/aggregate.json"
    content = bytearray(target.read_bytes())
    content[len(content) // 2] ^= 0x01
    target.write_bytes(bytes(content))


def _unlisted_extract(ctx: Context, steps: dict[str, Step]) -> None:
    rows = [",".join(c.values()) for c in load_canaries(canaries_path(ctx.deployment))]
    path = ctx.deployment / "extracts" / "E08000099-2010-08-05.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def _missing_backup(ctx: Context, steps: dict[str, Step]) -> None:
    for backup in sorted((ctx.deployment / "backups").iterdir())[:1]:
        shutil.rmtree(backup)


def _inventory_only(ctx: Context, steps: dict[str, Step]) -> None:
    steps["destroy"].scope = "inventory"


def _key_not_erased(ctx: Context, steps: dict[str, Step]) -> None:
    def refuse(keystore: Path, key_ids: list[str]) -> None:
        raise KeyNotErased(f"{keystore}: key store refused to erase {', '.join(key_ids)}")

    steps["destroy"].erase = refuse


def _key_copy_left(ctx: Context, steps: dict[str, Step]) -> None:
    keys = {f"copy-{n}": k.hex() for n, k in enumerate(ctx.state["keys"])}
    (ctx.deployment / "keys").mkdir(exist_ok=True)
    (ctx.deployment / "keys" / "escrow-copy.json").write_text(json.dumps(keys))


def _canary_in_wal(ctx: Context, steps: dict[str, Step]) -> None:
    canary = load_canaries(canaries_path(ctx.deployment))[0]
    (ctx.deployment / "replica").mkdir(exist_ok=True)
    frame = b"\x37\x7f\x06\x82" + bytes(28) + canary["surname"].encode() + bytes(64)
    (ctx.deployment / "replica" / "index.db-wal").write_bytes(frame)


def _withhold_extract(ctx: Context, steps: dict[str, Step]) -> None:
    """The last authority extract is kept by its holder: moved out of the deployment's reach."""
    extracts = sorted((ctx.deployment / "extracts").glob("*.csv"))
    if not extracts:
        return
    withheld = ctx.deployment.parent / f"{ctx.deployment.name}.withheld"
    withheld.mkdir(exist_ok=True)
    shutil.move(extracts[-1], withheld / extracts[-1].name)


def _crash(ctx: Context, steps: dict[str, Step]) -> None:
    raise Crash(f"simulated crash at {ctx.now.isoformat()}")


def _fill_disk(ctx: Context, steps: dict[str, Step]) -> None:
    ctx.disk.room = DISK_ROOM


PER_STEP = {
    "crash-after": ("the process dies after STEP passed its gate", "end", _crash),
    "crash-during": ("the process dies after STEP acted, before its gate", "after", _crash),
    "disk-full": ("the evidence volume fills up while STEP writes", "before", _fill_disk),
}


def _replica_unreachable(ctx: Context, steps: dict[str, Step]) -> None:
    """The disaster-recovery site drops off the network: its server cannot be asked anything."""
    topology = Topology(ctx.deployment)
    if (topology.replica_dir / pg.SERVER_FILE).is_file():
        pg.stop(topology.replica(), mode="immediate")


def _server_killed(ctx: Context, steps: dict[str, Step]) -> None:
    """Every database server is killed (SIGKILL: no shutdown checkpoint) as destruction starts,
    and the rehearsal dies once the data keys are erased, before any data directory is touched."""
    servers = Topology(ctx.deployment).servers()
    if not servers:
        return
    for server in servers:
        pg.kill(server)
    destroy = steps["destroy"]
    erase = destroy.erase  # type: ignore[attr-defined]

    def erase_then_die(keystore: Path, key_ids: list[str]) -> None:
        erase(keystore, key_ids)
        raise Crash("simulated crash during destruction, the database servers killed")

    destroy.erase = erase_then_die  # type: ignore[attr-defined]


def fault_named(name: str) -> Fault:
    """A fault by name: one of FAULTS or POSTGRES_FAULTS, or `crash-after:STEP`,
    `crash-during:STEP`, `disk-full:STEP` for a STEP of the runbook."""
    if name in FAULTS:
        return FAULTS[name]
    if name in POSTGRES_FAULTS:
        return POSTGRES_FAULTS[name]
    kind, _, step = name.partition(":")
    steps = [entry.id for entry in load_runbook().steps]
    if kind not in PER_STEP or step not in steps:
        raise InputError(
            f"--fault: unknown {name!r}; choose from {', '.join([*FAULTS, *POSTGRES_FAULTS])}, or "
            f"{', '.join(f'{k}:STEP' for k in PER_STEP)} with STEP one of {', '.join(steps)}"
        )
    description, when, hook = PER_STEP[kind]
    stops_at = None if kind.startswith("crash") else step
    return Fault(name, description.replace("STEP", step), step, when, hook, stops_at)


def fault_names() -> list[str]:
    """Every fault name, per-step ones spelt out for each step of the runbook."""
    steps = [entry.id for entry in load_runbook().steps]
    return [*FAULTS, *(f"{kind}:{step}" for kind in PER_STEP for step in steps)]


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "probe-gets-in",
            "the login probe gets in after switch-off",
            "switch_off",
            "before",
            _probe_gets_in,
            "switch_off",
        ),
        Fault(
            "corrupt-archive",
            "one bit of an archive payload file flips after bagging",
            "archive",
            "after",
            _corrupt_archive,
            "archive",
        ),
        Fault(
            "unlisted-extract",
            "an authority extract of canaries not in the inventory",
            "inventory",
            "before",
            _unlisted_extract,
            None,
        ),
        Fault(
            "missing-backup",
            "a backup generation listed in the inventory is missing",
            "inventory",
            "before",
            _missing_backup,
            "inventory",
        ),
        Fault(
            "inventory-only",
            "destruction works from the inventory only (the 2010 way)",
            "destroy",
            "before",
            _inventory_only,
            "verify",
        ),
        Fault(
            "key-not-erased",
            "the key store refuses to erase the backup data keys",
            "destroy",
            "before",
            _key_not_erased,
            "destroy",
        ),
        Fault(
            "key-copy-left",
            "a copy of the keys is left in the key directory",
            "destroy",
            "after",
            _key_copy_left,
            "verify",
        ),
        Fault(
            "extract-not-returned",
            "an authority keeps its extract after the notice: it is never returned to destroy",
            "notify",
            "after",
            _withhold_extract,
            "destroy",
        ),
        Fault(
            "canary-in-wal",
            "a replica process reopens its database: a WAL file with a canary reappears",
            "destroy",
            "after",
            _canary_in_wal,
            "verify",
        ),
    )
}

POSTGRES_FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "replica-unreachable",
            "the streaming replica cannot be reached at the switch-off (PostgreSQL deployments)",
            "switch_off",
            "before",
            _replica_unreachable,
            "switch_off",
        ),
        Fault(
            "server-killed-mid-destruction",
            "the database servers are killed and the run dies as destruction starts (PostgreSQL)",
            "destroy",
            "before",
            _server_killed,
            None,
        ),
    )
}
"""Faults of a deployment with database servers (`cpw deploy --backend postgres`); on one
without, they change nothing."""
